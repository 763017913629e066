/**
 * Fuzzing the client: a real broker behind a relay that breaks one in RATE of the frames it sends
 * (fixtures/mutating-relay.ts: fields retyped or set to hostile JSON, bytes flipped, frames cut,
 * kinds changed, copies sent to other ids), and SESSIONS clients each running a small workload
 * through it: admin calls, a send, a fetch, a handler subscription and a consume() loop.
 *
 * What must hold, however broken the server's frames: the process neither crashes nor leaks an
 * unhandled rejection (the client refuses a frame it cannot take by closing the connection,
 * docs/protocol.md "Close codes", and each call settles); every call that fails does so with a
 * BrookError, never a TypeError of the client's own; and a client straight to the broker is
 * served afterwards. The relay's choices follow BROOK_FUZZ_SEED; the frames' order is the
 * network's, so a seed replays the same mutations, not always on the same frames.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Broker, type BrookServer } from '@brook/broker';
import { connect, isBrookError, type Client } from '@brook/client';
import { SeededRandom } from '@brook/protocol';
import { MutatingRelay } from './fixtures/mutating-relay.js';

const SESSIONS = 240;
const LANES = 6;
/** One in RATE server frames is broken. */
const RATE = 4;
const SEED = Number(process.env['BROOK_FUZZ_SEED'] ?? 20_261);
/**
 * How long one session's calls may take to settle, close() included. Every wait in it is bounded
 * well below this: requests by requestTimeoutMs, the send by deliveryTimeoutMs, a graceful close
 * by the members' leases (ACK_TIMEOUT_MS), the close handshake by closeTimeoutMs.
 */
const SESSION_DEADLINE_MS = 10_000;
const ACK_TIMEOUT_MS = 2_000;
const TOPIC = 'fuzzed';

let broker: Broker;
let server: BrookServer;
let relay: MutatingRelay;
const escaped: { kind: string; error: unknown }[] = [];
const onUncaught = (error: unknown) => escaped.push({ kind: 'uncaughtException', error });
const onUnhandled = (error: unknown) => escaped.push({ kind: 'unhandledRejection', error });

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  broker = await Broker.open({ storage: 'memory' });
  server = await broker.listen({ port: 0 });
  await broker.createTopic(TOPIC, { partitions: 2 });
  await broker.produce(TOPIC, Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 3}`, value: `seed-${i}` })));
  relay = await MutatingRelay.start(server.url, new SeededRandom(SEED), RATE);
});

afterAll(async () => {
  await relay.close();
  await server.close();
  await broker.close();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUnhandled);
});

/** A failure that is not a BrookError: the client's own TypeError, say. */
interface Foreign {
  call: string;
  error: unknown;
}

/** Settles `promise`, keeping a rejection that is not a BrookError. */
async function settled(call: string, promise: Promise<unknown>, foreign: Foreign[]): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!isBrookError(error)) foreign.push({ call, error });
  }
}

/** One client's workload through the relay; every call it makes settles before it returns. */
async function session(index: number, foreign: Foreign[]): Promise<void> {
  let client: Client;
  try {
    client = await connect(relay.url, {
      name: `fuzz-${index}`, requestTimeoutMs: 1_000, connectTimeoutMs: 1_000, heartbeatIntervalMs: 0,
      reconnect: { initialDelayMs: 1, maxDelayMs: 20, attemptsMax: 2 },
    });
  } catch (error) {
    if (!isBrookError(error)) foreign.push({ call: 'connect', error });
    return;
  }
  const calls: Promise<void>[] = [];
  const pending = new Set<string>();
  const call = (name: string, run: () => Promise<unknown>) => {
    try {
      pending.add(name);
      calls.push(settled(name, run(), foreign).finally(() => pending.delete(name)));
    } catch (error) {
      // A closed client refuses at once (producer() throws CLOSED): that is a settled call too.
      if (!isBrookError(error)) foreign.push({ call: name, error });
    }
  };
  call('listTopics', () => client.admin.listTopics());
  call('describeTopic', () => client.admin.describeTopic(TOPIC));
  call('describeGroup', () => client.admin.describeGroup(TOPIC, 'handlers'));
  call('fetch', () => client.fetch({ topic: TOPIC, partition: index % 2, offset: 0n, maxRecords: 5 }));
  call('send', () => client.producer({ deliveryTimeoutMs: 1_500 }).send(TOPIC, [{ key: `k${index}`, value: { index } }, { value: 'text' }]));
  call('subscribe', async () => {
    const subscription = await client.subscribe({ topic: TOPIC, group: 'handlers', maxInFlight: 3, ackTimeoutMs: ACK_TIMEOUT_MS }, (msg) => {
      msg.text();
      if (index % 3 === 0) return msg.nack({ delayMs: 10 });
      return index % 3 === 1 ? msg.extend(50) : undefined;
    });
    await subscription.close();
    await settled('ended', subscription.ended, foreign);
  });
  call('consume', async () => {
    const stream = client.consume({ topic: TOPIC, group: 'loop', ordering: index % 2 === 0 ? 'partition' : 'key', maxInFlight: 2, ackTimeoutMs: ACK_TIMEOUT_MS });
    await stream.ready;
    const iterator = stream[Symbol.asyncIterator]();
    const first = await Promise.race([iterator.next(), Promise.allSettled(calls.slice(0, 5)).then(() => undefined)]);
    if (first !== undefined && !first.done) await first.value.ack();
    await iterator.return?.();
  });
  const finished = Promise.allSettled(calls).then(() => {
    pending.add('close');
    return settled('close', client.close(), foreign);
  });
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (deadline = setTimeout(() => resolve('late'), SESSION_DEADLINE_MS)));
  if ((await Promise.race([finished, late])) === 'late') foreign.push({ call: `session ${index}: ${[...pending].join(', ')} unsettled after ${SESSION_DEADLINE_MS} ms`, error: undefined });
  clearTimeout(deadline);
}

it(`a client survives a server whose frames are broken one in ${RATE} (seed ${SEED}): no crash, every call settles with a BrookError or its value`, async () => {
  const foreign: Foreign[] = [];
  let next = 0;
  const lane = async () => {
    while (next < SESSIONS) await session(next++, foreign);
  };
  await Promise.all(Array.from({ length: LANES }, lane));

  expect(relay.counts.broken).toBeGreaterThan(SESSIONS);
  expect(escaped.map(({ kind, error }) => `${kind}: ${error instanceof Error ? error.stack : String(error)}`)).toEqual([]);
  expect(foreign.map(({ call, error }) => `${call}: ${error instanceof Error ? error.stack : String(error)}`)).toEqual([]);

  await using healthy = await connect(server.url);
  expect(await healthy.admin.listTopics()).toContain(TOPIC);
  expect((await healthy.producer().send(TOPIC, [{ value: 'after' }])).length).toBe(1);
}, 180_000);
