/**
 * Backpressure over a real socket (docs/protocol.md, "Requests and responses"): a raw client that
 * pipelines requests and never reads the answers. Past sendBufferBytesMax of unread answers the
 * server stops reading, so the client's own sends back up (TCP pushes back) instead of the server
 * buffering answers without bound; once the client reads, the socket's 'drain' lets it go on.
 * And the idle check (idleTimeoutMs) while the server is held that way: a client that reads,
 * however slowly, is not idle; one that stopped reading is. Nor is a client whose requests the
 * broker is still working on (held for requestsInFlightMax behind a slow disk).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind, MemoryFileSystem, VirtualClock, decodeDeliveries, encodeBatch, type DecodedDelivery } from '@brook/protocol';
import { Broker, LIMITS } from '@brook/broker';
import { holdingSyncsOf } from '../packages/broker/src/log/log-fixture.js';
import { RawClient } from './fixtures/server-raw-client.js';

const RECORD_BYTES = 32 * 1024;
/** Enough to fill the kernel's buffers on both sides of a loopback socket (a few MiB), not much more. */
const REQUESTS_MAX = 2000;
const BACKED_UP_BYTES = 1024 * 1024;

let broker: Broker | undefined;
let client: RawClient | undefined;
let otherClient: RawClient | undefined;

afterEach(async () => {
  client?.socket.terminate();
  otherClient?.socket.terminate();
  await broker?.close();
  broker = client = otherClient = undefined;
});

describe('a client that does not read its answers', () => {
  it('gets its requests read only as fast as it reads the answers; all are answered once it reads', { timeout: 20_000 }, async () => {
    broker = await Broker.open({ storage: 'memory' });
    const server = await broker.listen({ port: 0, sendBufferBytesMax: LIMITS.sendBufferBytesMax.min, requestsInFlightMax: 4 });
    client = await RawClient.open(server.url);
    await client.ok('createTopic', { name: 't' });
    await client.ok('produce', { topic: 't', partition: 0 }, encodeBatch([{ key: null, value: new Uint8Array(RECORD_BYTES), timestamp: 1_700_000_000_000 }]));
    client.socket.pause();
    // Each request is half its answer's size: were the server to read on, answering each, the
    // client's sends would never back up, and the server would hold every answer.
    const pad = 'x'.repeat(RECORD_BYTES / 2);
    const ids: number[] = [];
    while (client.socket.bufferedAmount < BACKED_UP_BYTES) {
      expect(ids.length, 'the server kept reading requests whose answers nobody read').toBeLessThan(REQUESTS_MAX);
      for (let i = 0; i < 16; i++) ids.push(client.send('fetch', { topic: 't', partition: 0, offset: '0', pad }));
      // Lets both ends of the socket move bytes (the server is in this process).
      await new Promise((resolve) => setImmediate(resolve));
    }
    client.socket.resume();
    const answers = await Promise.all(ids.map((id) => client!.answer(id)));
    expect(answers.every((frame) => frame.kind === FrameKind.RESPONSE && frame.json['count'] === 1)).toBe(true);
  });

  it('broker.close() does not wait for it: its socket is cut after closeGraceMs (ws alone would wait 30 s)', { timeout: 10_000 }, async () => {
    broker = await Broker.open({ storage: 'memory' });
    const server = await broker.listen({ port: 0, closeGraceMs: 50 });
    client = await RawClient.open(server.url);
    client.socket.pause();
    const closed = broker.close();
    broker = undefined;
    await closed;
  });
});

/** The server's own gauges: each scrape is a round trip to it, so it has run its socket events. */
async function gauges(port: number): Promise<{ connections: number; unsentBytes: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const gauge = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
  return { connections: gauge('brook_connections'), unsentBytes: gauge('brook_unsent_bytes') };
}

describe('idleTimeoutMs while the server holds a slow reader (sendBufferBytesMax)', () => {
  const BIG_RECORD_BYTES = 512 * 1024;
  const SEND_BUFFER_BYTES_MAX = 16 * 1024 * 1024;
  const IDLE_TIMEOUT_MS = 1000;

  it('a client still taking bytes is not closed 4003, though its pongs go unread; once it stops, it is', { timeout: 20_000 }, async () => {
    const clock = new VirtualClock();
    broker = await Broker.open({ storage: 'memory', clock });
    const server = await broker.listen({ port: 0, idleTimeoutMs: IDLE_TIMEOUT_MS, sendBufferBytesMax: SEND_BUFFER_BYTES_MAX });
    const raw = await RawClient.open(server.url);
    client = raw;
    await raw.ok('createTopic', { name: 'idle-slow-reader' });
    await raw.ok('produce', { topic: 'idle-slow-reader', partition: 0 }, encodeBatch([{ key: null, value: new Uint8Array(BIG_RECORD_BYTES), timestamp: 1_700_000_000_000 }]));
    raw.socket.pause();
    // 64 MiB of answers: the server answers until over sendBufferBytesMax, then holds the rest.
    const ids = Array.from({ length: 128 }, () => raw.send('fetch', { topic: 'idle-slow-reader', partition: 0, offset: '0' }));
    while ((await gauges(server.port)).unsentBytes < SEND_BUFFER_BYTES_MAX - 2 * BIG_RECORD_BYTES);
    let read = 0;
    /** The client reads answer by answer until the server sees bytes leave after this point. */
    const readSome = async (): Promise<void> => {
      const { unsentBytes } = await gauges(server.port);
      raw.socket.resume();
      for (;;) {
        await raw.answer(ids[read++]!);
        const now = await gauges(server.port);
        if (now.unsentBytes < unsentBytes) break;
      }
      raw.socket.pause();
    };
    for (let round = 1; round <= 3; round++) {
      clock.advance(IDLE_TIMEOUT_MS); // pings; from round 2 on, judges the round before
      expect(await gauges(server.port)).toMatchObject({ connections: 1 });
      await readSome();
      // Draining, not drained: no 'drain', and the ping still waits behind the unread bytes.
      expect((await gauges(server.port)).unsentBytes).toBeGreaterThan(0);
    }
    // The client stops reading: once its socket takes no more, the next round closes it.
    for (let round = 0; (await gauges(server.port)).connections > 0; round++) {
      expect(round, 'a client that stopped reading is never closed').toBeLessThan(20);
      clock.advance(IDLE_TIMEOUT_MS);
    }
  });
});

describe('idleTimeoutMs while the broker works on a held client\'s requests (requestsInFlightMax)', () => {
  it('a client whose pongs go unread only because its requests wait for the disk is not closed 4003; it is answered once the fsync ends', { timeout: 10_000 }, async () => {
    const IDLE_TIMEOUT_MS = 1000;
    const clock = new VirtualClock();
    const memory = new MemoryFileSystem();
    const syncs = holdingSyncsOf(memory, (path) => path.endsWith('.log'));
    broker = await Broker.open({ dataDir: '/data', fs: syncs.fs, fsync: 'always', clock });
    const server = await broker.listen({ port: 0, idleTimeoutMs: IDLE_TIMEOUT_MS, requestsInFlightMax: 1 });
    const raw = await RawClient.open(server.url);
    client = raw;
    await raw.ok('createTopic', { name: 'idle-held-by-disk' });
    syncs.hold();
    // The produce's fsync hangs: one request in flight, so the server stops reading the socket.
    const produce = raw.send('produce', { topic: 'idle-held-by-disk', partition: 0 }, encodeBatch([{ key: null, value: new Uint8Array(8), timestamp: 1_700_000_000_000 }]));
    try {
      while (syncs.state.held === 0) await gauges(server.port);
      for (let round = 1; round <= 3; round++) {
        clock.advance(IDLE_TIMEOUT_MS); // pings; from round 2 on, judges the round before
        expect(await gauges(server.port), `ping round ${round}`).toMatchObject({ connections: 1 });
      }
    } finally {
      syncs.release(); // else broker.close() waits for the held fsync
    }
    expect((await raw.answer(produce)).kind).toBe(FrameKind.RESPONSE);
    await raw.ok('describeTopic', { name: 'idle-held-by-disk' });
  });
});

describe('a group member whose client stops reading its socket (sendBufferBytesMax)', () => {
  it('takes nothing new; what the server held for it unsent goes to the member that reads, with deliveryCount 1, not dead-lettered at maxDeliveries 1', { timeout: 20_000 }, async () => {
    /** 24 MiB: more than the kernel's buffers of a loopback socket take, so the server holds some. */
    const RECORDS = 96;
    const ACK_TIMEOUT_MS = 1000;
    const clock = new VirtualClock();
    broker = await Broker.open({ storage: 'memory', clock });
    const server = await broker.listen({ port: 0, sendBufferBytesMax: LIMITS.sendBufferBytesMax.min });
    const slow = (client = await RawClient.open(server.url));
    const fast = (otherClient = await RawClient.open(server.url));
    const topic = 'stalled-member';
    const settings = { topic, group: 'g-stalled-member', ackTimeoutMs: ACK_TIMEOUT_MS, maxDeliveries: 1 };
    await slow.ok('createTopic', { name: topic });
    await slow.ok('subscribe', { ...settings, maxInFlight: RECORDS });
    slow.socket.pause();
    for (let i = 0; i < RECORDS; i++) await broker.produce(topic, [{ value: new Uint8Array(256 * 1024) }]);
    // Backed up: the server found more than sendBufferBytesMax unread and paused the member. (Not
    // the unsent-bytes gauge: it counts what the kernel has not taken, and how far the last write
    // overshoots the limit once the kernel's buffers are full depends on how the frames fell into
    // writes, so it may stay under the limit while the member is held.)
    const paused = () => broker!.describeGroup(topic, settings.group).members[0]!.paused;
    for (let round = 0; !paused(); round++) {
      expect(round, 'the stalled socket never backed up').toBeLessThan(1000);
      await gauges(server.port); // a round trip: the sockets move meanwhile
    }
    await fast.ok('subscribe', { ...settings, maxInFlight: RECORDS });
    // What the stalled member was sent runs out of leases (its last attempts: dead-lettered); what
    // the server held for it unsent was no attempt, and goes to the member that reads.
    clock.advance(ACK_TIMEOUT_MS);
    const got: DecodedDelivery[] = [];
    const deadLettered = () => broker!.describeGroup(topic, settings.group).partitions[0]!.deadLettered;
    for (let round = 0; got.length + deadLettered() < RECORDS; round++) {
      expect(round, `${got.length} delivered, ${deadLettered()} dead-lettered of ${RECORDS}`).toBeLessThan(1000);
      await gauges(server.port); // a round trip: the sockets move meanwhile
      for (const frame of fast.frames.splice(0)) {
        if (frame.kind === FrameKind.DELIVER) got.push(...decodeDeliveries(frame.json['first'] as number, frame.json['count'] as number, frame.data));
      }
    }
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((delivery) => delivery.deliveryCount === 1)).toBe(true);
    expect(new Set(got.map((delivery) => delivery.offset)).size).toBe(got.length);
  });
});
