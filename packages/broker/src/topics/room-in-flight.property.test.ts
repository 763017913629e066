/**
 * Property test of discard 'new' with produces in flight: fast-check draws a maxBytes, a burst of
 * sends not awaited in between (broker.produce to one partition or spanning both, plain wire
 * batches, idempotent producers' pipelined batches and retries of them; random sizes), and maybe
 * a failed segment write. Once all settle:
 * - no partition holds more than maxBytes (the log only grows here, so it never did);
 * - each send that resolved has its records at exactly the offsets it was told;
 * - each send that failed, failed with a code its kind allows; the logs hold only records of sends
 *   that resolved (the original or a retry of it) or whose write failed, each once.
 * BROOK_PROPERTY_RUNS raises the number of runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBatch, isBrookError } from '@brook/protocol';
import { engineFixture } from '../groups/group-fixture.js';

const NUM_RUNS = Number(process.env['BROOK_PROPERTY_RUNS'] ?? 40);
const TOPIC = 'room-property';
const PRODUCERS = 2;

/** 'retry': the last idempotent batch sent on its producer's partition again (a fresh one if none). */
type Kind = 'produce' | 'spanning' | 'wire' | 'idempotent' | 'retry';
interface Send { kind: Kind; partition: number; valueBytes: number; producer: number }

const sendArbitrary: fc.Arbitrary<Send> = fc.record({
  kind: fc.constantFrom<Kind>('produce', 'spanning', 'wire', 'idempotent', 'retry'),
  partition: fc.nat({ max: 1 }),
  valueBytes: fc.nat({ max: 400 }),
  producer: fc.nat({ max: PRODUCERS - 1 }),
});

/**
 * What a send of `kind` may fail with, besides TOPIC_FULL and MESSAGE_TOO_LARGE: an idempotent
 * batch behind its producer's refused one is a sequence gap (UNKNOWN_PRODUCER_ID if the refused
 * one was the producer's first on the partition).
 */
function tolerated(kind: Kind, writeFails: boolean): string[] {
  const idempotent = kind === 'idempotent' || kind === 'retry';
  return [...(idempotent ? ['OUT_OF_ORDER_SEQUENCE', 'UNKNOWN_PRODUCER_ID'] : []), ...(writeFails ? ['IO_ERROR'] : [])];
}

/** Where each record of a resolved send went, or why it failed. */
type Outcome = { ok: true; placed: { partition: number; offset: bigint; value: string }[] } | { ok: false; code: string };

async function runBurst(maxBytes: number, sends: readonly Send[], writeFails: boolean) {
  const { broker, fs } = await engineFixture();
  await broker.createTopic(TOPIC, { partitions: 2, retention: { maxBytes, discard: 'new' } });
  const producers = await Promise.all(Array.from({ length: PRODUCERS }, () => broker.initProducer()));
  const sequences = new Map<string, number>();
  /** Each stream's last idempotent batch, for a retry to send again; and which sends carried each original. */
  const lastSent = new Map<string, { batch: Uint8Array; value: string; original: number }>();
  const carriers = sends.map((_, i) => [i]);
  if (writeFails) fs.failNext('write', { errno: 'EIO', path: new RegExp(`/topics/${TOPIC}/`) });
  const calls = sends.map(async (send, i): Promise<Outcome> => {
    let value = `s${i}:`.padEnd(send.valueBytes, 'x');
    const bytes = (text: string) => new TextEncoder().encode(text);
    try {
      if (send.kind === 'produce' || send.kind === 'spanning') {
        const partitions = send.kind === 'produce' ? [send.partition] : [0, 1];
        const results = await broker.produce(TOPIC, partitions.map((partition) => ({ value: `${value}p${partition}`, partition, timestamp: 0 })));
        return { ok: true, placed: results.map(({ partition, offset }) => ({ partition, offset, value: `${value}p${partition}` })) };
      }
      const { producerId, producerEpoch } = producers[send.producer]!;
      const stream = `${send.producer}/${send.partition}`;
      const again = send.kind === 'retry' ? lastSent.get(stream) : undefined;
      let batch: Uint8Array;
      if (again) {
        ({ batch, value } = again);
        carriers[again.original]!.push(i);
      } else {
        const baseSequence = sequences.get(stream) ?? 0;
        const idempotent = send.kind !== 'wire';
        if (idempotent) sequences.set(stream, baseSequence + 1);
        batch = encodeBatch([{ key: null, value: bytes(value), timestamp: 0 }], idempotent ? { producerId, producerEpoch, baseSequence } : undefined);
        if (idempotent) lastSent.set(stream, { batch, value, original: i });
      }
      const { baseOffset } = await broker.produceBatch({ topic: TOPIC, partition: send.partition, batch });
      return { ok: true, placed: [{ partition: send.partition, offset: baseOffset, value }] };
    } catch (error) {
      if (!isBrookError(error)) throw error;
      return { ok: false, code: error.code };
    }
  });
  const outcomes = await Promise.all(calls);
  const logs = await Promise.all([0, 1].map(async (partition) => {
    const records = await broker.fetch({ topic: TOPIC, partition, offset: 0n });
    return new Map(records.map((record) => [record.offset, new TextDecoder().decode(record.value!)]));
  }));
  return { outcomes, carriers, logs, sizes: broker.describeTopic(TOPIC).partitions.map((p) => p.sizeBytes) };
}

describe("discard 'new' with produces in flight (property)", () => {
  it('never holds more than maxBytes; resolved sends are where they were told, refused ones append nothing', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 4000 }), fc.array(sendArbitrary, { minLength: 1, maxLength: 24 }), fc.boolean(),
      async (maxBytes, sends, writeFails) => {
        const { outcomes, carriers, logs, sizes } = await runBurst(maxBytes, sends, writeFails);
        for (const size of sizes) expect(size).toBeLessThanOrEqual(maxBytes);
        outcomes.forEach((outcome, i) => {
          if (outcome.ok) for (const { partition, offset, value } of outcome.placed) expect(logs[partition]!.get(offset)).toBe(value);
          else expect(['TOPIC_FULL', 'MESSAGE_TOO_LARGE', ...tolerated(sends[i]!.kind, writeFails)]).toContain(outcome.code);
        });
        // Nothing else is in the logs: no record of a refused send, and none twice. (A failed write
        // fails only its own partition's batch: a produce spanning both may have its other batch in.)
        const values = logs.flatMap((log) => [...log.values()]);
        expect(new Set(values).size).toBe(values.length);
        for (const value of values) {
          const carried = carriers[Number(value.slice(1, value.indexOf(':')))]!.map((i) => outcomes[i]!);
          expect(carried.some((outcome) => outcome.ok || outcome.code === 'IO_ERROR')).toBe(true);
        }
      },
    ), { numRuns: NUM_RUNS });
  });
});
