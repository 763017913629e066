/**
 * The WebSocket server as a client sees it: a real broker.listen() on port 0 and a raw `ws`
 * client sending hand-built frames (docs/protocol.md is the contract checked here). Listening,
 * the handshake and requests; its limits and closing: server-ws-limits.test.ts; HTTP on the same
 * port: server-http.test.ts.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CloseCode, FrameKind, VirtualClock, decodeBatch, decodeDeliveries } from '@brook/protocol';
import { RawClient } from './fixtures/server-raw-client.js';
import { batchOf, serveAfterEach } from './fixtures/server-ws-harness.js';

const { open, serve, connect, track } = serveAfterEach();

describe('listen', () => {
  it('a port in use is IO_ERROR naming the errno, and the broker goes on (it can listen elsewhere)', async () => {
    const { broker, server } = await serve();
    const error = await broker.listen({ port: server.port }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'IO_ERROR', details: { op: 'listen', errno: 'EADDRINUSE', host: '127.0.0.1', port: server.port } });
    expect((error as Error).message).toMatch(/EADDRINUSE, the port is in use/);
    expect((error as Error).cause).toMatchObject({ code: 'EADDRINUSE', syscall: 'listen' }); // node's own error, for the stack
    const other = await broker.listen({ port: 0 });
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
    const broker = await open();
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
      track(client);
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
    expect(await text.closed).toEqual({ code: CloseCode.UNSUPPORTED_DATA, reason: 'Brook speaks binary frames only' });
  });

  it('offers no permessage-deflate to a client asking for it: frames go as they are', async () => {
    const { server } = await serve();
    const client = track(await RawClient.connect(server.url, { perMessageDeflate: true }));
    expect(client.socket.extensions).toBe('');
    expect((await client.hello()).kind).toBe(FrameKind.WELCOME);
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
    late.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n');
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
      const { broker, server } = await serve();
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
      await broker.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it("a bug in a request handler is a process warning naming the session and the client's address and port", async () => {
    const { broker, server } = await serve();
    const client = await connect(server.url);
    broker.listTopics = () => {
      throw new TypeError('boom');
    };
    const warned = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve));
    expect((await client.request('listTopics')).json).toMatchObject({ code: 'IO_ERROR', details: { internal: true } });
    const { localPort } = (client.socket as unknown as { _socket: Socket })._socket;
    const warning = await warned;
    expect(warning.code).toBe('BROOK_INTERNAL_ERROR'); // as docs/protocol.md names it, for a process.on('warning') filter
    expect(warning.message).toMatch(new RegExp(`^internal error in op listTopics \\(session s1, 127\\.0\\.0\\.1:${localPort}\\): TypeError: boom`));
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
