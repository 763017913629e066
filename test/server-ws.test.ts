/**
 * The WebSocket server as a client sees it: a real broker.listen() on port 0 and a raw `ws`
 * client sending hand-built frames (docs/protocol.md is the contract checked here).
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, FrameKind, PROTOCOL_VERSION, VirtualClock, decodeBatch, decodeDeliveries, encodeBatch, encodeFrame } from '@brook/protocol';
import { Broker, type BrookServer, type ListenOptions } from '@brook/broker';
import { RawClient } from './fixtures/server-raw-client.js';

const utf8 = new TextEncoder();
const batchOf = (...values: string[]) => encodeBatch(values.map((value) => ({ key: null, value: utf8.encode(value), timestamp: 1_700_000_000_000 })));

let broker: Broker | undefined;
const clients: RawClient[] = [];

async function serve(options: ListenOptions = {}, clock?: VirtualClock): Promise<{ broker: Broker; server: BrookServer }> {
  broker = await Broker.open({ storage: 'memory', ...(clock && { clock }) });
  const server = await broker.listen({ port: 0, ...options });
  return { broker, server };
}

async function connect(url: string, hello?: Record<string, unknown>): Promise<RawClient> {
  const client = await RawClient.open(url, hello);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await broker?.close();
  broker = undefined;
});

describe('listen', () => {
  it('a port in use is IO_ERROR naming the errno, and the broker goes on (it can listen elsewhere)', async () => {
    const { server } = await serve();
    const error = await broker!.listen({ port: server.port }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'IO_ERROR', details: { op: 'listen', errno: 'EADDRINUSE', host: '127.0.0.1', port: server.port } });
    expect((error as Error).message).toMatch(/EADDRINUSE, the port is in use/);
    const other = await broker!.listen({ port: 0 });
    expect(other.port).not.toBe(server.port);
  });
});

describe('listen on other hosts', () => {
  it('an IPv6 host is bracketed in the url, and served there', async () => {
    const { server } = await serve({ host: '::1' });
    expect([server.url, server.host]).toEqual([`ws://[::1]:${server.port}/`, '::1']);
    const client = await connect(server.url);
    expect(await client.ok('listTopics')).toEqual({ topics: [] });
  });

  it('an address this machine does not have is IO_ERROR EADDRNOTAVAIL, saying so in its message', async () => {
    broker = await Broker.open({ storage: 'memory' });
    const error = await broker.listen({ host: '192.0.2.1', port: 0 }).then(() => undefined, (e: unknown) => e); // TEST-NET-1, no one's
    expect(error).toMatchObject({ code: 'IO_ERROR', details: { op: 'listen', errno: 'EADDRNOTAVAIL', host: '192.0.2.1', port: 0 } });
    expect((error as Error).message).toMatch(/EADDRNOTAVAIL, no such address on this machine/);
  });
});

describe('handshake', () => {
  it('answers HELLO with WELCOME, then requests', async () => {
    const { server } = await serve();
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}/`);
    const client = await connect(server.url);
    expect(await client.ok('listTopics')).toEqual({ topics: [] });
  });

  it("WELCOME's sessionId is unique per broker: s1, s2, ... across its listeners", async () => {
    const { broker, server } = await serve();
    const other = await broker.listen({ port: 0 });
    const ids: unknown[] = [];
    for (const url of [server.url, other.url, server.url]) {
      const client = await RawClient.connect(url);
      clients.push(client);
      ids.push((await client.hello()).json['sessionId']);
    }
    expect(ids).toEqual(['s1', 's2', 's3']);
  });

  it('refuses a missing or wrong token with UNAUTHORIZED and 4001, accepts the right one', async () => {
    const { server } = await serve({ token: 'sesame' });
    for (const hello of [{}, { token: 'open' }, { token: 42 }]) {
      const client = await RawClient.connect(server.url);
      const error = await client.hello(hello);
      expect([error.kind, error.json['code']]).toEqual([FrameKind.ERROR, 'UNAUTHORIZED']);
      expect((await client.closed).code).toBe(CloseCode.UNAUTHORIZED);
    }
    const client = await connect(server.url, { token: 'sesame' });
    expect(await client.ok('listTopics')).toEqual({ topics: [] });
  });

  it('refuses another protocol version with INVALID_REQUEST and 4000', async () => {
    const { server } = await serve();
    const client = await RawClient.connect(server.url);
    const error = await client.hello({ version: 1 }); // version 1 framed DELIVER differently
    expect(error.json).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'version' } });
    expect((await client.closed).code).toBe(CloseCode.UNSUPPORTED_VERSION);
  });

  it('closes 1002 on a REQUEST before HELLO, 1003 on a text message', async () => {
    const { server } = await serve();
    const early = await RawClient.connect(server.url);
    early.send('listTopics');
    expect((await early.closed).code).toBe(CloseCode.PROTOCOL_ERROR);
    const text = await connect(server.url);
    text.sendRaw('{"op":"listTopics"}');
    expect((await text.closed).code).toBe(CloseCode.UNSUPPORTED_DATA);
  });

  it('closes 4002 when no HELLO comes within handshakeTimeoutMs (broker clock)', async () => {
    const clock = new VirtualClock();
    const { server } = await serve({ handshakeTimeoutMs: 1000 }, clock);
    const client = await RawClient.connect(server.url);
    // The server made the session (and its timer) before answering the upgrade that opened the client.
    clock.advance(999);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    clock.advance(1);
    expect((await client.closed).code).toBe(CloseCode.HANDSHAKE_TIMEOUT);
  });
});

describe('requests over the socket', () => {
  it('produces, fetches, subscribes, delivers and settles', async () => {
    const { server } = await serve();
    const client = await connect(server.url);
    await client.ok('createTopic', { name: 'orders' });
    expect(await client.ok('produce', { topic: 'orders', partition: 0 }, batchOf('a', 'b', 'c'))).toEqual({ baseOffset: '0', lastOffset: '2', duplicate: false });
    const fetched = await client.request('fetch', { topic: 'orders', partition: 0, offset: '0' });
    expect(decodeBatch(fetched.data).records.map((r) => r.offset)).toEqual([0n, 1n, 2n]);
    const { subscription } = await client.ok('subscribe', { topic: 'orders', group: 'g' });
    const deliver = await client.next((f) => f.kind === FrameKind.DELIVER && f.requestId === subscription);
    const deliveries = decodeDeliveries(deliver.json['first'] as number, deliver.json['count'] as number, deliver.data);
    expect(deliveries.map((d) => d.offset)).toEqual([0n, 1n, 2n]);
    await client.ok('settle', { subscription, ack: [[deliveries[0]!.deliveryId, deliveries[2]!.deliveryId]] });
    expect((await client.ok('describeGroup', { topic: 'orders', group: 'g' }))['lag']).toBe('0');
  });

  it('a bad frame closes only its own connection; acked data survives', async () => {
    const { server } = await serve();
    const good = await connect(server.url);
    await good.ok('createTopic', { name: 't' });
    await good.ok('produce', { topic: 't', partition: 0 }, batchOf('kept'));
    const bad = await connect(server.url);
    bad.sendRaw(new Uint8Array([FrameKind.REQUEST, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]));
    const error = await bad.next((f) => f.kind === FrameKind.ERROR);
    expect(error.json).toMatchObject({ code: 'INVALID_REQUEST', details: { reason: 'bad-json-length' } });
    expect(error.requestId).toBe(1);
    expect((await bad.closed).code).toBe(CloseCode.PROTOCOL_ERROR);
    expect((await good.ok('fetch', { topic: 't', partition: 0, offset: '0' }))['count']).toBe(1);
  });

  it("an upgrade completed while the listener closes is refused: close() does not wait for that client", { timeout: 5_000 }, async () => {
    // Broker clock: closeGraceMs never runs out, so only the refusal lets close() finish.
    const { server } = await serve({}, new VirtualClock());
    const late = connectTcp(server.port, '127.0.0.1');
    late.on('error', () => undefined);
    late.write('GET / HTTP/1.1\r\nHost: brook\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n');
    // A round trip on another connection: the server has read the first half of the upgrade by then.
    await (await fetch(`http://127.0.0.1:${server.port}/healthz`)).text();
    const closing = server.close();
    late.write('Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await closing;
    late.destroy();
  });

  it('a client gone mid-frame with produces in flight: every acknowledged record is stored; nothing rejects unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { server } = await serve();
      const producer = await connect(server.url);
      await producer.ok('createTopic', { name: 'gone-mid-frame' });
      const acknowledged: string[] = [];
      const answers = Array.from({ length: 40 }, (_, i) => producer.request('produce', { topic: 'gone-mid-frame', partition: 0 }, batchOf(`v${i}`)).then((answer) => {
        if (answer.kind === FrameKind.RESPONSE) acknowledged.push(`v${i}`);
      }));
      await answers[9]; // some acknowledged, the rest still being appended
      // The header of a 4 KiB binary frame and 2 bytes of it, then the socket is gone.
      const stream = (producer.socket as unknown as { _socket: Socket })._socket;
      stream.write(Buffer.from([0x82, 0xfe, 0x10, 0x00, 1, 2, 3, 4, 5, 6]));
      stream.destroy();
      await producer.closed;
      const reader = await connect(server.url);
      const fetched = await reader.request('fetch', { topic: 'gone-mid-frame', partition: 0, offset: '0' });
      const stored = fetched.json['count'] === 0 ? [] : decodeBatch(fetched.data).records.map((record) => new TextDecoder().decode(record.value!));
      expect(acknowledged.length).toBeGreaterThanOrEqual(10);
      expect(stored).toEqual(expect.arrayContaining(acknowledged));
      await broker?.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('broker.close() ends subscriptions with END CLOSED and closes 1001', async () => {
    const { broker: b, server } = await serve();
    const client = await connect(server.url);
    await client.ok('createTopic', { name: 't' });
    const { subscription } = await client.ok('subscribe', { topic: 't' });
    await b.close();
    const end = await client.next((f) => f.kind === FrameKind.END);
    expect([end.requestId, end.json['code']]).toEqual([subscription, 'CLOSED']);
    expect((await client.closed).code).toBe(CloseCode.GOING_AWAY);
  });
});

describe('limits', () => {
  // Each limit's own range (INVALID_CONFIG at listen): packages/broker/src/config/limits.test.ts.
  it('listen() holds port to [0, 65535]: INVALID_CONFIG naming it', async () => {
    const { broker: b } = await serve();
    await expect(b.listen({ port: 70_000 })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'port' } });
    // A bigint, which JSON.stringify throws on: the refusal's message once threw a TypeError instead.
    await expect(b.listen({ port: 7070n as never })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'port' } });
  });

  it('frameBytesMax: a frame of exactly that size is read, one byte more closes 1009', async () => {
    const { server } = await serve({ frameBytesMax: 1024 });
    const client = await connect(server.url);
    const request = (padBytes: number) => encodeFrame(FrameKind.REQUEST, 1, JSON.stringify({ op: 'listTopics', pad: 'x'.repeat(padBytes) }));
    const exact = request(1024 - 9 - '{"op":"listTopics","pad":""}'.length);
    expect(exact.length).toBe(1024);
    client.sendRaw(exact);
    expect((await client.answer(1)).kind).toBe(FrameKind.RESPONSE);
    client.sendRaw(request(1024 - 9 - '{"op":"listTopics","pad":""}'.length + 1));
    expect((await client.closed).code).toBe(CloseCode.MESSAGE_TOO_BIG);
  });

  it('connectionsMax: that many connections work, the next is closed 1013, and a freed slot is reused', async () => {
    const { server } = await serve({ connectionsMax: 2 });
    const first = await connect(server.url);
    await connect(server.url);
    const refused = await RawClient.connect(server.url);
    expect((await refused.closed).code).toBe(CloseCode.TRY_AGAIN_LATER);
    await first.close();
    const again = await connect(server.url);
    expect(await again.ok('listTopics')).toEqual({ topics: [] });
  });

  it('connectionsMax: a refused connection that sends a bad frame before its close is read does not take the server down', async () => {
    const { server } = await serve({ connectionsMax: 1, frameBytesMax: 1024 });
    const served = await connect(server.url);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const refused = await upgradeRaw(server.port);
      // A binary frame announcing 5000 bytes, past frameBytesMax: ws fails it as soon as it reads the header.
      refused.end(Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x13, 0x88, 1, 2, 3, 4]));
      await new Promise((resolve) => refused.once('close', resolve));
      expect(await served.ok('listTopics')).toEqual({ topics: [] });
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it('idleTimeoutMs: a client that answers pings stays; one that does not is closed 4003 after the next ping', async () => {
    const clock = new VirtualClock();
    const { server } = await serve({ idleTimeoutMs: 1000 }, clock);
    const lively = await connect(server.url);
    const silent = await RawClient.open(server.url, {}, { autoPong: false });
    clients.push(silent);
    const pinged = Promise.all([lively, silent].map((c) => new Promise((resolve) => c.socket.once('ping', resolve))));
    clock.advance(1000);
    await pinged;
    // The pong went out before this request on the same socket: once answered, the server has seen it.
    await lively.ok('listTopics');
    clock.advance(1000);
    expect((await silent.closed).code).toBe(CloseCode.IDLE_TIMEOUT);
    expect(await lively.ok('listTopics')).toEqual({ topics: [] });
  });

  it('a peer closed 4002 or 4003 that never answers the close frame frees its connectionsMax slot at once', { timeout: 10_000 }, async () => {
    const clock = new VirtualClock();
    const { server } = await serve({ connectionsMax: 1, handshakeTimeoutMs: 1000, idleTimeoutMs: 1000 }, clock);
    // ws would wait its closeTimeout (30 s) for the close frames these clients never read.
    const mute = await RawClient.connect(server.url);
    mute.socket.pause();
    clock.advance(1000);
    await connectionsDropTo(server.port, 0);
    const silent = await RawClient.open(server.url);
    silent.socket.pause();
    clock.advance(1000); // pinged
    clock.advance(1000); // no pong: 4003
    await connectionsDropTo(server.port, 0);
    const next = await connect(server.url);
    expect(await next.ok('listTopics')).toEqual({ topics: [] });
    for (const client of [mute, silent]) client.socket.terminate();
  });
});

describe('closeGraceMs', () => {
  it('a client refused (wrong token, 4001) that never answers the close frame is cut after closeGraceMs, freeing its slot', { timeout: 10_000 }, async () => {
    const clock = new VirtualClock();
    const { server } = await serve({ connectionsMax: 1, token: 'right', closeGraceMs: 500 }, clock);
    const refused = await upgradeRaw(server.port);
    const closeCode = serverCloseCode(refused);
    const cut = new Promise((resolve) => refused.once('close', resolve));
    refused.write(maskedBinaryFrame(encodeFrame(FrameKind.HELLO, 0, JSON.stringify({ version: PROTOCOL_VERSION, client: 'raw', token: 'wrong' }))));
    expect(await closeCode).toBe(CloseCode.UNAUTHORIZED); // an ERROR frame, then the close frame
    // It never answers: ws alone would hold the socket, and the only slot, for 30 s.
    clock.advance(499);
    const notYet = await Promise.race([cut.then(() => 'cut'), (await fetch(`http://127.0.0.1:${server.port}/healthz`)).text()]);
    expect(notYet).toBe('ok');
    clock.advance(1);
    await cut;
    await connectionsDropTo(server.port, 0);
    const next = await connect(server.url, { token: 'right' });
    expect(await next.ok('listTopics')).toEqual({ topics: [] });
  });

  it('a session held at requestsInFlightMax reads the close frame its client answers the 1001 of a closing listener with: no wait for closeGraceMs', { timeout: 5_000 }, async () => {
    // Broker clock: closeGraceMs never runs out, so only reading the client's answer ends the connection.
    const { broker: b, server } = await serve({ requestsInFlightMax: 1 }, new VirtualClock());
    const client = await connect(server.url);
    await client.ok('createTopic', { name: 'held-at-close' });
    let started!: () => void;
    const slow = new Promise<void>((resolve) => (started = resolve));
    b.deleteGroup = () => (started(), new Promise<void>(() => undefined)); // a disk that never answers
    client.send('deleteGroup', { topic: 'held-at-close', group: 'g' });
    await slow; // the session has paused its socket (one request pending)
    const closing = server.close();
    expect((await client.closed).code).toBe(CloseCode.GOING_AWAY);
    await closing;
  });
});

/** The code of the first close frame the server sends on a raw socket (server frames are unmasked). */
function serverCloseCode(socket: Socket): Promise<number> {
  let bytes = Buffer.alloc(0);
  return new Promise((resolve) => socket.on('data', (chunk: Buffer) => {
    bytes = Buffer.concat([bytes, chunk]);
    for (let at = 0; at + 2 <= bytes.length;) {
      const short = bytes[at + 1]! & 0x7f;
      const [length, start] = short === 126 ? [bytes.readUInt16BE(at + 2), at + 4] : [short, at + 2];
      if (start + length > bytes.length) return;
      if ((bytes[at]! & 0x0f) === 0x8) return resolve(bytes.readUInt16BE(start));
      at = start + length;
    }
  }));
}

/** A client's binary WebSocket frame (masked, as RFC 6455 requires of clients), for a raw socket. */
function maskedBinaryFrame(payload: Uint8Array): Buffer {
  if (payload.length > 0xffff) throw new Error('maskedBinaryFrame writes frames up to 64 KiB');
  const mask = [1, 2, 3, 4];
  const header = payload.length < 126 ? [0x82, 0x80 | payload.length] : [0x82, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
  return Buffer.from([...header, ...mask, ...payload.map((byte, i) => byte ^ mask[i % 4]!)]);
}

/** A WebSocket upgrade by hand, so the test can write bytes no ws client would; resolves once the server answered it. */
async function upgradeRaw(port: number): Promise<Socket> {
  const socket = connectTcp(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write('GET / HTTP/1.1\r\nHost: brook\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await new Promise((resolve) => socket.once('data', resolve));
  return socket;
}

/** Waits for the server's own count of connections: each scrape is a round trip to it, not a timer. */
async function connectionsDropTo(port: number, count: number): Promise<void> {
  for (;;) {
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (Number(/^brook_connections (\d+)$/m.exec(metrics)?.[1]) === count) return;
  }
}

describe('HTTP on the same port', () => {
  it('GET /healthz is 200 ok; other paths 404', async () => {
    const { server } = await serve();
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect([health.status, health.headers.get('content-type'), await health.text()]).toEqual([200, 'text/plain', 'ok']);
    const probed = await fetch(`http://127.0.0.1:${server.port}/healthz?probe=1`); // a query string is ignored
    expect([probed.status, await probed.text()]).toEqual([200, 'ok']);
    expect((await fetch(`http://127.0.0.1:${server.port}/nope`)).status).toBe(404);
  });

  it('HEAD is answered as GET without the body; another method on /healthz or /metrics is 405 naming GET and HEAD', async () => {
    const { server } = await serve();
    for (const path of ['/healthz', '/metrics']) {
      const get = await fetch(`http://127.0.0.1:${server.port}${path}`);
      const head = await fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'HEAD' });
      expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([200, get.headers.get('content-type'), '']);
      await get.text();
      const post = await fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'POST' });
      expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
      await post.text();
    }
    expect((await fetch(`http://127.0.0.1:${server.port}/nope`, { method: 'HEAD' })).status).toBe(404);
  });

  it('GET /metrics: end offsets, group lag and in-flight, redeliveries, dead letters, connections, unsent bytes', async () => {
    const { server } = await serve();
    const client = await connect(server.url);
    await client.ok('createTopic', { name: 'orders' });
    await client.ok('produce', { topic: 'orders', partition: 0 }, batchOf('a', 'b', 'c'));
    const { subscription } = await client.ok('subscribe', { topic: 'orders', group: 'billing', backoff: { initialMs: 0, maxMs: 0 } });
    const deliver = await client.next((f) => f.kind === FrameKind.DELIVER);
    const first = deliver.json['first'] as number;
    await client.ok('settle', { subscription, ack: [[first, first]], nack: [[first + 1, 0]], reject: [[first + 2, 'bad']] });
    await client.next((f) => f.kind === FrameKind.DELIVER); // the nacked record, again
    const scraped = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(scraped.headers.get('content-type')).toBe('text/plain; version=0.0.4'); // Prometheus text format 0.0.4
    const metrics = await scraped.text();
    expect(metrics).toContain('# TYPE brook_partition_end_offset gauge');
    expect(metrics).toContain('brook_partition_end_offset{topic="orders",partition="0"} 3');
    expect(metrics).toContain('brook_group_lag{topic="orders",group="billing"} 1');
    expect(metrics).toContain('brook_group_in_flight{topic="orders",group="billing"} 1');
    expect(metrics).toContain('brook_redeliveries_total{topic="orders",group="billing"} 1');
    expect(metrics).toContain('brook_dead_letters_total{topic="orders",group="billing"} 1');
    expect(metrics).toContain('brook_connections 1');
    expect(metrics).toContain('brook_unsent_bytes 0'); // the client has read everything
  });
});
