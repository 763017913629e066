/**
 * The WebSocket server's limits (frameBytesMax, connectionsMax, idleTimeoutMs, closeGraceMs) as a
 * client sees them: a real broker.listen() on port 0, raw `ws` clients, and raw TCP sockets for the
 * bytes (and the silences) no ws client would send.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CloseCode, FrameKind, PROTOCOL_VERSION, VirtualClock, encodeFrame } from '@brook/protocol';
import { RawClient } from './fixtures/server-raw-client.js';
import { serveAfterEach } from './fixtures/server-ws-harness.js';

const { serve, connect, track } = serveAfterEach();

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
    expect(await refused.closed).toEqual({ code: CloseCode.TRY_AGAIN_LATER, reason: 'connectionsMax reached' });
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
    track(silent);
    const pinged = Promise.all([lively, silent].map((c) => new Promise((resolve) => c.socket.once('ping', resolve))));
    clock.advance(1000);
    await pinged;
    // The pong went out before this request on the same socket: once answered, the server has seen it.
    await lively.ok('listTopics');
    clock.advance(1000);
    expect(await silent.closed).toEqual({ code: CloseCode.IDLE_TIMEOUT, reason: 'no pong within idleTimeoutMs' });
    expect(await lively.ok('listTopics')).toEqual({ topics: [] });
  });

  it('idleTimeoutMs: a client that only answers pings, sending nothing else, stays round after round', async () => {
    const clock = new VirtualClock();
    const { server } = await serve({ idleTimeoutMs: 1000 }, clock);
    const client = await connect(server.url);
    for (let round = 1; round <= 3; round++) {
      const pinged = new Promise((resolve) => client.socket.once('ping', () => resolve('pinged')));
      clock.advance(1000);
      expect(await Promise.race([pinged, client.closed])).toBe('pinged');
      // ws sent the pong before it told of the ping; a round trip on another connection: the server has read it.
      await (await fetch(`http://127.0.0.1:${server.port}/healthz`)).text();
    }
    expect(await client.ok('listTopics')).toEqual({ topics: [] });
  });

  it('idleTimeoutMs: a connection yet to send HELLO is pinged at its first round, not closed (no ping has gone unanswered)', async () => {
    const clock = new VirtualClock();
    const { server } = await serve({ idleTimeoutMs: 1000, handshakeTimeoutMs: 5000 }, clock);
    const client = track(await RawClient.connect(server.url));
    const pinged = new Promise((resolve) => client.socket.once('ping', () => resolve('pinged')));
    clock.advance(1000);
    expect(await Promise.race([pinged, client.closed])).toBe('pinged');
    expect((await client.hello()).kind).toBe(FrameKind.WELCOME);
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

  it('a frame past frameBytesMax from a client that never answers the 1009 close frame is cut after closeGraceMs, freeing its slot', { timeout: 10_000 }, async () => {
    const clock = new VirtualClock();
    const { server } = await serve({ connectionsMax: 1, frameBytesMax: 1024, closeGraceMs: 500 }, clock);
    const sender = await upgradeRaw(server.port);
    // Its end of the socket stays open once the server's is done: a client that has stopped reading.
    sender.allowHalfOpen = true;
    const closeCode = serverCloseCode(sender);
    const serverDone = new Promise((resolve) => sender.once('end', resolve));
    // A binary frame announcing 5000 bytes: ws fails it on its header, closes 1009 and ends its side.
    sender.write(Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x13, 0x88, 1, 2, 3, 4]));
    expect(await closeCode).toBe(CloseCode.MESSAGE_TOO_BIG);
    await serverDone;
    // It never answers: ws alone would hold the socket, and the only slot, for 30 s.
    clock.advance(500);
    await connectionsDropTo(server.port, 0);
    const next = await connect(server.url);
    expect(await next.ok('listTopics')).toEqual({ topics: [] });
    sender.destroy();
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
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
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
