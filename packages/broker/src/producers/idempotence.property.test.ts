/**
 * Property test of idempotent produce through the Broker, on a MemoryFileSystem and a virtual
 * clock, fsync 'always'.
 *
 * Three producers write to a topic of two partitions: six streams (producer, partition), each
 * numbering its own records. fast-check draws a list of commands: bursts of concurrent sends (new
 * batches, some sent twice at once; resends of a stream's oldest unacknowledged batch, as the
 * producer's write-ahead log does after a failure; retries of acknowledged batches; plain batches
 * without a producer id), optionally with a failed segment write or a power cut at the nth file
 * operation of the burst; clean restarts; power cuts between commands; clock advances (which
 * write the periodic snapshots).
 *
 * Checked after every command that reopens the broker, and at the end, on what `fetch` returns:
 * - each stream's records are its sequences 0, 1, 2, ... in offset order: no gap, no duplicate;
 * - every acknowledged batch is there, at exactly the offsets it was acknowledged with;
 * and on every answer: all answers for one batch name the same offsets; without an injected
 * fault, a send that nothing before it can disturb must succeed (the "strict" sends below).
 *
 * A failure prints the seed and the shrunk command list; replay with `{ seed, path }` in
 * fc.assert's options. BROOK_PROPERTY_RUNS raises the number of runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrookError, encodeBatch, isBrookError } from '@brook/protocol';
import { engineFixture, type EngineFixture } from '../groups/group-fixture.js';
import { RECENT_BATCHES_PER_PRODUCER } from './producer-entry.js';

const NUM_RUNS = Number(process.env['BROOK_PROPERTY_RUNS'] ?? 40);
const TOPIC = 't';
const PARTITIONS = 2;
const PRODUCERS = 3;
const STREAMS = PRODUCERS * PARTITIONS;
const SNAPSHOT_INTERVAL_MS = 1000;
/** What a send may fail with when a fault was injected or an earlier batch of its stream is missing. */
const TOLERATED = new Set(['OUT_OF_ORDER_SEQUENCE', 'IO_ERROR', 'CLOSED']);

type Op =
  | { kind: 'new'; stream: number; records: number; copies: number }
  | { kind: 'resend'; stream: number }
  | { kind: 'retryAcked'; stream: number; back: number }
  | { kind: 'plain'; partition: number };
type Fault = 'none' | 'failWrite' | { cutAtOp: number };
type Command = { kind: 'burst'; ops: Op[]; fault: Fault } | { kind: 'restart' } | { kind: 'powerCut' } | { kind: 'advance' };

interface Offsets {
  baseOffset: bigint;
  lastOffset: bigint;
}

interface SentBatch {
  readonly firstSeq: number;
  readonly records: number;
  acked?: Offsets;
}

interface Stream {
  readonly producerId: bigint;
  readonly partition: number;
  readonly batches: SentBatch[];
  nextSeq: number;
}

/** One send and what the model demands of it. */
interface Send {
  readonly stream: Stream | undefined;
  readonly batch: SentBatch;
  readonly bytes: Uint8Array;
  readonly partition: number;
  /** Must succeed; with `duplicateOf`, as a duplicate with those offsets. */
  readonly strict: boolean;
  readonly duplicateOf?: Offsets;
}

class Harness {
  readonly streams: Stream[];
  readonly plain: { batch: SentBatch; partition: number; value: string }[] = [];

  constructor(readonly fixture: EngineFixture, producerIds: bigint[]) {
    this.streams = Array.from({ length: STREAMS }, (_, i) => ({
      producerId: producerIds[i % PRODUCERS]!, partition: Math.floor(i / PRODUCERS), batches: [], nextSeq: 0,
    }));
  }

  async run(command: Command): Promise<void> {
    const { fixture } = this;
    if (command.kind === 'advance') return fixture.advance(SNAPSHOT_INTERVAL_MS);
    if (command.kind === 'restart') await fixture.broker.close();
    if (command.kind === 'burst') {
      const cut = await this.burst(command.ops, command.fault);
      if (!cut) return;
    }
    await fixture.restart();
    await this.checkLog();
  }

  /** Runs the ops concurrently; returns whether the power was cut during them. */
  private async burst(ops: Op[], fault: Fault): Promise<boolean> {
    const sends = this.plan(ops, fault === 'none');
    const faults = this.injectFault(fault);
    const outcomes = await Promise.allSettled(sends.map((send) => this.fixture.broker.produceBatch({ topic: TOPIC, partition: send.partition, batch: send.bytes })));
    await this.fixture.settle();
    this.fixture.fs.onOperation = undefined;
    outcomes.forEach((outcome, i) => this.record(sends[i]!, outcome));
    return faults.cut;
  }

  /** Turns ops into sends, in order, deciding which must succeed (only if no fault is injected). */
  private plan(ops: Op[], faultless: boolean): Send[] {
    const cleanAtStart = new Set(this.streams.filter((s) => s.batches.every((b) => b.acked)));
    const newBefore = new Map<Stream, number>();
    const sends: Send[] = [];
    for (const op of ops) {
      if (op.kind === 'plain') {
        const value = `plain/${this.plain.length}`;
        const batch: SentBatch = { firstSeq: 0, records: 1 };
        this.plain.push({ batch, partition: op.partition, value });
        sends.push({ stream: undefined, batch, bytes: encodeBatch([{ key: null, value: utf8(value), timestamp: 0 }]), partition: op.partition, strict: faultless });
        continue;
      }
      const stream = this.streams[op.stream]!;
      const clean = faultless && cleanAtStart.has(stream);
      const earlierNew = newBefore.get(stream) ?? 0;
      if (op.kind === 'new') {
        const batch: SentBatch = { firstSeq: stream.nextSeq, records: op.records };
        stream.nextSeq += op.records;
        stream.batches.push(batch);
        newBefore.set(stream, earlierNew + 1);
        for (let copy = 0; copy < op.copies; copy++) sends.push(this.send(stream, batch, clean));
      } else if (op.kind === 'resend') {
        const index = stream.batches.findIndex((b) => !b.acked);
        if (index < 0) continue;
        // If it is in the log, the batches after it are few enough for the table to remember it.
        const remembered = stream.batches.length - 1 - index + earlierNew < RECENT_BATCHES_PER_PRODUCER;
        sends.push(this.send(stream, stream.batches[index]!, faultless && remembered));
      } else {
        const acked = stream.batches.filter((b) => b.acked);
        const batch = acked[acked.length - 1 - op.back];
        if (!batch) continue;
        const remembered = clean && op.back + earlierNew < RECENT_BATCHES_PER_PRODUCER;
        sends.push({ ...this.send(stream, batch, remembered), duplicateOf: remembered ? batch.acked : undefined });
      }
    }
    return sends;
  }

  private send(stream: Stream, batch: SentBatch, strict: boolean): Send {
    const records = Array.from({ length: batch.records }, (_, i) => ({
      key: null, value: utf8(`${stream.producerId}/${batch.firstSeq + i}`), timestamp: 0,
    }));
    const bytes = encodeBatch(records, { producerId: stream.producerId, producerEpoch: 0, baseSequence: batch.firstSeq });
    return { stream, batch, bytes, partition: stream.partition, strict };
  }

  /**
   * Arms the burst's fault through the file system hook: a failed write to a segment (once), or
   * a power cut at the nth mutating operation, after which the dead process can change nothing.
   */
  private injectFault(fault: Fault): { cut: boolean } {
    const state = { cut: false, operations: 0, failed: false };
    if (fault === 'none') return state;
    this.fixture.fs.onOperation = (op) => {
      if (state.cut) throw new BrookError('CLOSED', 'the process is dead', { op: op.kind, path: op.path });
      state.operations += 1;
      if (fault === 'failWrite' && !state.failed && op.kind === 'write' && /\/topics\/.*\.log$/.test(op.path)) {
        state.failed = true;
        throw new BrookError('IO_ERROR', 'injected write failure', { op: 'write', path: op.path, errno: 'EIO' });
      }
      if (typeof fault === 'object' && state.operations === fault.cutAtOp) {
        state.cut = true;
        this.fixture.fs.powerCut();
      }
    };
    return state;
  }

  private record(send: Send, outcome: PromiseSettledResult<{ baseOffset: bigint; lastOffset: bigint; duplicate: boolean }>): void {
    const what = `${send.stream ? `producer ${send.stream.producerId}` : 'plain'} partition ${send.partition} seq ${send.batch.firstSeq}`;
    if (outcome.status === 'rejected') {
      const code = isBrookError(outcome.reason) ? outcome.reason.code : String(outcome.reason);
      // No producer is ever forgotten here, so "unknown" is right only while none of its batches was acknowledged.
      const unknownOk = code === 'UNKNOWN_PRODUCER_ID' && send.stream?.batches.every((b) => !b.acked);
      if (send.strict || !(TOLERATED.has(code) || unknownOk)) throw new Error(`${what}: unexpected ${String(outcome.reason)}`);
      return;
    }
    const { baseOffset, lastOffset, duplicate } = outcome.value;
    if (send.duplicateOf) expect({ baseOffset, lastOffset, duplicate }, what).toEqual({ ...send.duplicateOf, duplicate: true });
    if (send.batch.acked) expect({ baseOffset, lastOffset }, `${what}: answers disagree`).toEqual(send.batch.acked);
    send.batch.acked = { baseOffset, lastOffset };
    expect(lastOffset - baseOffset, what).toBe(BigInt(send.batch.records - 1));
  }

  async checkLog(): Promise<void> {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const values = await this.readPartition(partition);
      for (const stream of this.streams.filter((s) => s.partition === partition)) {
        const seqs = [...values.values()].filter((v) => v.startsWith(`${stream.producerId}/`)).map((v) => Number(v.split('/')[1]));
        expect(seqs, `producer ${stream.producerId} partition ${partition}: sequences in the log`).toEqual(seqs.map((_, i) => i));
        expect(seqs.length).toBeLessThanOrEqual(stream.nextSeq);
        for (const batch of stream.batches.filter((b) => b.acked)) {
          for (let i = 0; i < batch.records; i++) {
            expect(values.get(batch.acked!.baseOffset + BigInt(i)), `acknowledged seq ${batch.firstSeq + i}`).toBe(`${stream.producerId}/${batch.firstSeq + i}`);
          }
        }
      }
      for (const plain of this.plain.filter((p) => p.partition === partition && p.batch.acked)) {
        expect(values.get(plain.batch.acked!.baseOffset), plain.value).toBe(plain.value);
      }
    }
  }

  private async readPartition(partition: number): Promise<Map<bigint, string>> {
    const values = new Map<bigint, string>();
    const { endOffset } = this.fixture.broker.describeTopic(TOPIC).partitions[partition]!;
    for (let offset = 0n; offset < endOffset;) {
      const records = await this.fixture.broker.fetch({ topic: TOPIC, partition, offset });
      for (const record of records) values.set(record.offset, new TextDecoder().decode(record.value!));
      offset = records[records.length - 1]!.offset + 1n;
    }
    return values;
  }
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

const streamArb = fc.nat({ max: STREAMS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('new' as const), stream: streamArb, records: fc.integer({ min: 1, max: 3 }), copies: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resend' as const), stream: streamArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retryAcked' as const), stream: streamArb, back: fc.nat({ max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('plain' as const), partition: fc.nat({ max: PARTITIONS - 1 }) }) },
);
const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('none' as const) },
  { weight: 1, arbitrary: fc.constant('failWrite' as const) },
  { weight: 1, arbitrary: fc.record({ cutAtOp: fc.integer({ min: 1, max: 12 }) }) },
);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('burst' as const), ops: fc.array(opArb, { minLength: 1, maxLength: 5 }), fault: faultArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'powerCut' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'advance' as const }) },
);

async function runScenario(commands: Command[]): Promise<void> {
  const fixture = await engineFixture({ fsync: 'always', segmentBytesMax: 4096, producerSnapshotIntervalMs: SNAPSHOT_INTERVAL_MS });
  await fixture.broker.createTopic(TOPIC, { partitions: PARTITIONS });
  const producerIds = [];
  for (let i = 0; i < PRODUCERS; i++) producerIds.push((await fixture.broker.initProducer()).producerId);
  const harness = new Harness(fixture, producerIds);
  for (const command of commands) await harness.run(command);
  await harness.checkLog();
}

describe('idempotent produce (property)', () => {
  it('every acknowledged batch is in the log exactly once, in sequence order per producer, through faults and restarts', async () => {
    await fc.assert(fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 30 }), runScenario), { numRuns: NUM_RUNS });
  });
});
