/**
 * Bad input through every public call: random sequences of calls whose arguments are values of
 * every kind (null, NaN, bigints, arrays, nested objects, strings that are almost names) or
 * objects with the right keys and wrong values. Each call either works or fails with a
 * BrookError whose code is in the one table, never a TypeError or RangeError out of the middle of
 * the broker; nothing is left half done (the broker goes on working after each run); no promise
 * rejects unhandled. The same holds for the in-process engine (`Broker`) and for the client over
 * both transports (`connect(broker)` and WebSocket), whose checks are its own.
 *
 * BROOK_PROPERTY_RUNS raises the number of runs.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Broker } from '@brook/broker';
import { connect, type Client } from '@brook/client';
import { ErrorCodes, VirtualClock, isBrookError } from '@brook/protocol';
import { collectUnhandledRejections } from '../packages/broker/src/unhandled-rejections.test-support.js';

const NUM_RUNS = Number(process.env['BROOK_PROPERTY_RUNS'] ?? 200);
const TOPICS = ['fz-a', 'fz-b', 'fz-a.dlq'] as const;

/** Values of every kind, the edges of numbers and names included. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '', ' ', '-1', '1e3', {}, [], 0n, -1n, 2n ** 64n),
  fc.integer(), fc.double(), fc.bigInt(), fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 8 }),
  fc.anything({ maxDepth: 2, maxKeys: 3 }),
);
const name = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...TOPICS, 'g1', 'g2') }, { weight: 1, arbitrary: junk });
/** Mostly a value `valid` allows, sometimes anything: so that calls get past their first check. */
const field = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: junk });
/** An object of `requiredKeys` and some more of `spec`'s keys (now and then one that is none of them), or anything. */
function fields(spec: Record<string, fc.Arbitrary<unknown>>, requiredKeys: string[] = []): fc.Arbitrary<unknown> {
  const shaped = fc.tuple(fc.record(spec, { requiredKeys }), fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ bogus: junk }) }))
    .map(([object, extra]) => ({ ...object, ...extra }));
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 1, arbitrary: junk });
}
const count = field(fc.integer({ min: 0, max: 5 }));
const offset = field(fc.bigInt({ min: -1n, max: 6n }));
const position = field(fc.oneof(fc.constantFrom('earliest', 'latest'), fields({ offset }), fields({ timestamp: field(fc.integer({ min: 0, max: 2 ** 41 })) })));
const bytesOrText = fc.oneof(fc.string({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), fc.constant(null), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }));

const topicOptions = fields({
  partitions: field(fc.integer({ min: 1, max: 4 })),
  retention: fields({ maxBytes: field(fc.integer({ min: 1, max: 1 << 20 })), maxAgeMs: field(fc.integer({ min: 1, max: 1e9 })), discard: field(fc.constantFrom('old', 'new')) }),
  segmentBytesMax: field(fc.integer({ min: 4096, max: 1 << 20 })),
  segmentMsMax: field(fc.integer({ min: 1, max: 1e9 })),
});
const record = fields({
  key: field(bytesOrText), value: field(bytesOrText), partition: field(fc.integer({ min: 0, max: 2 })), timestamp: field(fc.integer({ min: 0, max: 2 ** 41 })),
  headers: field(fc.array(fields({ key: field(fc.string({ maxLength: 4 })), value: field(bytesOrText) }), { maxLength: 2 })),
}, ['value']);
const records = field(fc.array(record, { minLength: 1, maxLength: 3 }));
const subscribeOptions = fields({
  topic: name, group: name, ordering: field(fc.constantFrom('none', 'key', 'partition')), maxInFlight: field(fc.integer({ min: 1, max: 10 })),
  ackTimeoutMs: field(fc.integer({ min: 1, max: 60_000 })), maxDeliveries: field(fc.integer({ min: 1, max: 5 })),
  backoff: fields({ initialMs: count, maxMs: field(fc.integer({ min: 5, max: 100 })), multiplier: field(fc.double({ min: 1, max: 3, noNaN: true })), jitter: field(fc.double({ min: 0, max: 1, noNaN: true })) }),
  deadLetterTopic: name, from: position, name: field(fc.string({ maxLength: 6 })),
}, ['topic']);
const fetchRequest = fields({ topic: name, partition: count, offset, maxRecords: count, maxBytes: field(fc.integer({ min: 1024, max: 1 << 20 })) });
const redriveOptions = fields({ maxRecords: count, endOffsets: field(fc.array(offset, { maxLength: 3 })) });

/** One call of the public API: its label and how to make it on an engine or a client. */
interface Call {
  readonly label: string;
  readonly onBroker: (broker: Broker) => unknown;
  readonly onClient: (client: Client) => unknown;
}

// `as any` throughout: the point is to pass what the types forbid.
const calls: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(name, topicOptions).map(([n, o]): Call => ({ label: `createTopic(${show(n)}, ${show(o)})`, onBroker: (b) => b.createTopic(n as any, o as any), onClient: (c) => c.admin.createTopic(n as any, o as any) })),
  name.map((n): Call => ({ label: `deleteTopic(${show(n)})`, onBroker: (b) => b.deleteTopic(n as any), onClient: (c) => c.admin.deleteTopic(n as any) })),
  name.map((n): Call => ({ label: `describeTopic(${show(n)})`, onBroker: (b) => b.describeTopic(n as any), onClient: (c) => c.admin.describeTopic(n as any) })),
  fc.tuple(name, records).map(([n, r]): Call => ({ label: `produce(${show(n)}, ${show(r)})`, onBroker: (b) => b.produce(n as any, r as any), onClient: (c) => c.producer({ lingerMs: 0 }).send(n as any, r as any) })),
  fetchRequest.map((f): Call => ({ label: `fetch(${show(f)})`, onBroker: (b) => b.fetch(f as any), onClient: (c) => c.fetch(f as any) })),
  fc.tuple(name, count, field(fc.integer({ min: 0, max: 2 ** 41 }))).map(([n, p, t]): Call => ({ label: `offsetForTimestamp(${show(n)}, ${show(p)}, ${show(t)})`, onBroker: (b) => b.offsetForTimestamp(n as any, p as any, t as any), onClient: (c) => c.admin.offsetForTimestamp(n as any, p as any, t as any) })),
  subscribeOptions.map((o): Call => ({ label: `subscribe(${show(o)})`, onBroker: (b) => b.subscribe(o as any, () => undefined), onClient: (c) => c.subscribe(o as any, () => undefined) })),
  fc.tuple(name, name).map(([t, g]): Call => ({ label: `describeGroup(${show(t)}, ${show(g)})`, onBroker: (b) => b.describeGroup(t as any, g as any), onClient: (c) => c.admin.describeGroup(t as any, g as any) })),
  fc.tuple(name, name, position).map(([t, g, to]): Call => ({ label: `resetGroup(${show(t)}, ${show(g)}, ${show(to)})`, onBroker: (b) => b.resetGroup(t as any, g as any, to as any), onClient: (c) => c.admin.resetGroup(t as any, g as any, to as any) })),
  fc.tuple(name, name).map(([t, g]): Call => ({ label: `deleteGroup(${show(t)}, ${show(g)})`, onBroker: (b) => b.deleteGroup(t as any, g as any), onClient: (c) => c.admin.deleteGroup(t as any, g as any) })),
  fc.tuple(name, redriveOptions).map(([t, o]): Call => ({ label: `redrive(${show(t)}, ${show(o)})`, onBroker: (b) => b.redrive(t as any, o as any), onClient: (c) => c.admin.redrive(t as any, o as any) })),
  name.map((t): Call => ({ label: `listGroups(${show(t)})`, onBroker: (b) => b.listGroups(t as any), onClient: (c) => c.admin.listGroups(t as any) })),
);

function show(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes(${v.length})` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

/** What a call came to: ok, or the failure, which must be a BrookError of a known code. */
async function outcome(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return error;
  }
}

function expectCoded(error: unknown, label: string): void {
  if (error === undefined) return;
  expect(isBrookError(error) && error.code in ErrorCodes, `${label} threw ${String(error)}\n${(error as Error)?.stack ?? ''}`).toBe(true);
}

/** The broker still works: a topic of its own takes a record and gives it back. */
async function stillWorks(produce: (topic: string) => Promise<unknown>, fetchOne: (topic: string) => Promise<unknown[]>, create: (topic: string) => Promise<unknown>, run: number) {
  const topic = `fz-check-${run}`;
  await create(topic);
  await produce(topic);
  expect(await fetchOne(topic)).toHaveLength(1);
}

const unhandled = collectUnhandledRejections();

describe('bad input through the public API', () => {
  it('the engine: every call works or fails with a coded BrookError, and the broker goes on working', async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.array(calls, { minLength: 1, maxLength: 8 }), async (sequence) => {
      run += 1;
      const broker = await Broker.open({ storage: 'memory', clock: new VirtualClock() });
      try {
        await broker.createTopic('fz-a', { partitions: 2 });
        await broker.produce('fz-a', [{ key: 'k', value: 'a' }, { key: 'l', value: 'b' }]);
        for (const call of sequence) expectCoded(await outcome(() => call.onBroker(broker)), call.label);
        await stillWorks(
          (topic) => broker.produce(topic, [{ value: 'v' }]),
          (topic) => broker.fetch({ topic, partition: 0, offset: 0n }),
          (topic) => broker.createTopic(topic),
          run,
        );
      } finally {
        await broker.close().catch(() => undefined);
      }
    }), { numRuns: NUM_RUNS });
    expect(unhandled).toEqual([]);
  });

  for (const transport of ['in-process', 'websocket'] as const) {
    it(`the client over the ${transport} transport: every call works or fails with a coded BrookError, and the connection goes on working`, async () => {
      // The client stamps its records with the system clock: the broker's reads the same (timestampAheadMsMax).
      const broker = await Broker.open({ storage: 'memory', clock: new VirtualClock({ startMs: Date.now() }) });
      const server = transport === 'websocket' ? await broker.listen({ port: 0 }) : undefined;
      let run = 0;
      try {
        await fc.assert(fc.asyncProperty(fc.array(calls, { minLength: 1, maxLength: 6 }), async (sequence) => {
          run += 1;
          const client = await connect(server ? server.url : broker, { reconnect: false });
          try {
            // Some calls of the last run may have deleted it.
            if (!(await client.admin.listTopics()).includes('fz-a')) await client.admin.createTopic('fz-a', { partitions: 2 });
            await client.producer({ lingerMs: 0 }).send('fz-a', [{ key: 'k', value: 'a' }]);
            for (const call of sequence) expectCoded(await outcome(() => call.onClient(client)), call.label);
            await stillWorks(
              (topic) => client.producer({ lingerMs: 0 }).send(topic, [{ value: 'v' }]),
              (topic) => client.fetch({ topic, partition: 0, offset: 0n }),
              (topic) => client.admin.createTopic(topic),
              run,
            );
          } finally {
            await client.close();
          }
        }), { numRuns: NUM_RUNS });
      } finally {
        await server?.close();
        await broker.close().catch(() => undefined);
      }
      expect(unhandled).toEqual([]);
    });
  }
});
