/**
 * A server that breaks the protocol (docs/protocol.md: a frame that does not parse, a kind the
 * client does not know, a DELIVER whose data fails its CRC, a TAKEN_BACK without id ranges): the
 * client refuses the frame, closes the connection 1002 and ends with the error, which a consume()
 * loop's next() rejects with. Nothing escapes as an uncaught exception. A raw WebSocket server
 * stands in for the broken one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { connect } from '@brook/client';
import { CloseCode, FrameKind, PROTOCOL_VERSION, VirtualClock, decodeFrame, decodeStoredBatch, encodeBatch, encodeDeliverFrame, encodeFrame, stableJson, type Frame } from '@brook/protocol';
import { deferred } from './fixtures/client-targets.js';

const LIMITS = { frameBytesMax: 1 << 20, batchRecordsMax: 1000, batchBytesMax: 1 << 20, subscriptionsMax: 8, requestsInFlightMax: 8 };

let server: WebSocketServer | undefined;
afterEach(() => server?.close());

/**
 * A server that welcomes the client and hands every later frame to `requested`; `closeCode` is the
 * close code the client's connection ended with.
 */
async function scriptedServer(requested: (socket: WebSocket, frame: Frame) => void): Promise<{ url: string; closeCode: Promise<number> }> {
  server = new WebSocketServer({ port: 0 });
  await new Promise((resolve) => server!.once('listening', resolve));
  let closed!: (code: number) => void;
  const closeCode = new Promise<number>((resolve) => (closed = resolve));
  server.on('connection', (socket: WebSocket) => {
    socket.on('close', (code) => closed(code));
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(data);
      if (frame.kind === FrameKind.HELLO) {
        socket.send(encodeFrame(FrameKind.WELCOME, 0, stableJson({ version: PROTOCOL_VERSION, server: 'brook', sessionId: 's', limits: LIMITS, features: ['takenBack'] })));
      } else {
        requested(socket, frame);
      }
    });
  });
  return { url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`, closeCode };
}

/** Answers a subscribe as subscription 1 (a member of 5 places, a 30 s lease). */
function subscribed(socket: WebSocket, frame: Frame): void {
  socket.send(encodeFrame(FrameKind.RESPONSE, frame.requestId, stableJson({ subscription: 1, memberId: 'g-0', maxInFlight: 5, ackTimeoutMs: 30_000 })));
}

/** Welcomes the client, answers its subscribe (subscription 1), then sends `broken`; resolves with the close code the client sent. */
function brokenServer(broken: Uint8Array): Promise<{ url: string; closeCode: Promise<number> }> {
  return scriptedServer((socket, frame) => {
    if (frame.json['op'] !== 'subscribe') return;
    subscribed(socket, frame);
    socket.send(broken);
  });
}

/** A DELIVER frame of one entry whose data (zeros) does not match its stored CRC (0). */
function badCrcDeliver(): Uint8Array {
  return encodeFrame(FrameKind.DELIVER, 1, stableJson({ first: 0, count: 1 }), new Uint8Array(32));
}

describe('a broken server', () => {
  it.each([
    ['a TAKEN_BACK whose ids are not ranges', encodeFrame(FrameKind.TAKEN_BACK, 1, stableJson({ ids: 'all' })), 'INVALID_REQUEST'],
    ['a frame of a kind the client does not know', encodeFrame(FrameKind.END, 1, '{}').map((byte, index) => (index === 0 ? 99 : byte)), 'INVALID_REQUEST'],
    ['a DELIVER whose data fails its CRC', badCrcDeliver(), 'CORRUPT_BATCH'],
    // String() of {"toString": 0} throws: the client's own check of first once threw a TypeError, uncaught.
    ['a DELIVER whose first is an object String() cannot show', encodeFrame(FrameKind.DELIVER, 1, stableJson({ first: { toString: 0 }, count: 1 }), new Uint8Array(32)), 'INVALID_REQUEST'],
    ['a DELIVER whose ids pass 2^53', encodeFrame(FrameKind.DELIVER, 1, stableJson({ first: Number.MAX_SAFE_INTEGER, count: 2 }), new Uint8Array(60)), 'INVALID_REQUEST'],
  ])('%s: the client closes 1002 and a consume() loop ends with the error; nothing is thrown uncaught', async (_name, frame, code) => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): number => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const { url, closeCode } = await brokenServer(frame);
      const client = await connect(url);
      const stream = client.consume({ topic: 't', group: 'g' });
      await stream.ready;
      const failure = await stream[Symbol.asyncIterator]().next().then(() => undefined, (error: unknown) => error);
      expect(failure).toMatchObject({ code });
      expect(await closeCode).toBe(CloseCode.PROTOCOL_ERROR);
      await client.close();
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  }, 10_000);
});

/** A server that answers HELLO with `welcome` as its WELCOME's json. */
async function welcomingServer(welcome: Record<string, unknown>): Promise<string> {
  server = new WebSocketServer({ port: 0 });
  await new Promise((resolve) => server!.once('listening', resolve));
  server.on('connection', (socket: WebSocket) => {
    socket.on('message', (data: Buffer) => {
      if (decodeFrame(data).kind === FrameKind.HELLO) socket.send(encodeFrame(FrameKind.WELCOME, 0, JSON.stringify(welcome)));
    });
  });
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('a WELCOME the client cannot use', () => {
  const welcome = { version: PROTOCOL_VERSION, server: 'brook', sessionId: 's', limits: LIMITS, features: ['takenBack'] };
  // Each once passed the handshake: the first send then failed with a TypeError (String() of
  // {"toString": 0} throws), or went by a limit that is no number.
  it.each<[string, Record<string, unknown>, string]>([
    ['no limits', { ...welcome, limits: undefined }, 'limits'],
    ['a limit String() cannot show', { ...welcome, limits: { ...LIMITS, frameBytesMax: { toString: 0 } } }, 'limits.frameBytesMax'],
    ['a limit of 0', { ...welcome, limits: { ...LIMITS, requestsInFlightMax: 0 } }, 'limits.requestsInFlightMax'],
    ['a limit as a string', { ...welcome, limits: { ...LIMITS, batchBytesMax: '1048576' } }, 'limits.batchBytesMax'],
    ['an incarnation no broker makes', { ...welcome, incarnation: 'x'.repeat(65) }, 'incarnation'],
    ['a negative timestampAheadMsMax', { ...welcome, limits: { ...LIMITS, timestampAheadMsMax: -1 } }, 'limits.timestampAheadMsMax'],
    ['a timestampAheadMsMax as a string', { ...welcome, limits: { ...LIMITS, timestampAheadMsMax: '0' } }, 'limits.timestampAheadMsMax'],
    ['features that are no list of strings', { ...welcome, features: 'nackReason' }, 'features'],
    ['a feature that is no string', { ...welcome, features: ['takenBack', 1] }, 'features'],
  ])('%s: connect() fails with INVALID_REQUEST naming the field', async (_name, json, field) => {
    const url = await welcomingServer(json);
    await expect(connect(url, { reconnect: false })).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field } });
  });
});

/**
 * A server that answers subscribe with `deliveries` deliveries and answers every settle, but never
 * a graceful unsubscribe. `request(op)` resolves once a request `op` came.
 */
async function unsubscribeNeverAnswered(deliveries: number): Promise<{ url: string; request: (op: string) => Promise<void>; closeCode: Promise<number> }> {
  const requests: string[] = [];
  const waiters: { op: string; resolve: () => void }[] = [];
  const record = decodeStoredBatch(encodeBatch([{ key: null, value: new TextEncoder().encode('held'), headers: [], timestamp: Date.now() }])).records[0]!;
  const { url, closeCode } = await scriptedServer((socket, frame) => {
    const op = frame.json['op'] as string;
    if (op === 'subscribe') {
      subscribed(socket, frame);
      if (deliveries > 0) socket.send(encodeDeliverFrame(1, 0, Array.from({ length: deliveries }, () => ({ partition: 0, deliveryCount: 1, record }))));
    } else if (op === 'settle') {
      socket.send(encodeFrame(FrameKind.RESPONSE, frame.requestId, '{}'));
    }
    requests.push(op);
    for (const waiter of waiters.filter((waiting) => waiting.op === op)) waiter.resolve();
  });
  const request = (op: string) => (requests.includes(op) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ op, resolve })));
  return { url, request, closeCode };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('a server that never answers a graceful unsubscribe', () => {
  it("close() waits for the handler, then for the answer requestTimeoutMs past the answer to its own ack, no longer, and cuts the connection", async () => {
    const { url, request, closeCode } = await unsubscribeNeverAnswered(1);
    const clock = new VirtualClock({ startMs: Date.now() });
    const client = await connect(url, { clock, requestTimeoutMs: 1_000 });
    const started = deferred();
    const finish = deferred();
    const acked = deferred();
    await client.subscribe({ topic: 't', group: 'g' }, async (message) => {
      started.resolve();
      await finish.promise;
      await message.ack();
      acked.resolve();
    });
    await started.promise;
    let closed = false;
    const closing = client.close().then(() => (closed = true));
    await request('unsubscribe');
    clock.advance(5_000); // the handler works past requestTimeoutMs, within its lease: the server may wait for it
    await turn();
    expect(closed).toBe(false);
    finish.resolve();
    await acked.promise;
    clock.advance(999);
    await turn();
    expect(closed).toBe(false);
    clock.advance(1);
    await closing;
    expect(await closeCode).toBe(1006); // cut, no closing handshake
  }, 10_000);

  it('close() of a subscription that holds nothing waits requestTimeoutMs for the answer, no longer', async () => {
    const { url, request, closeCode } = await unsubscribeNeverAnswered(0);
    const clock = new VirtualClock({ startMs: Date.now() });
    const client = await connect(url, { clock, requestTimeoutMs: 1_000 });
    const subscription = await client.subscribe({ topic: 't', group: 'g' }, () => undefined);
    const closing = subscription.close();
    await request('unsubscribe');
    clock.advance(1_000);
    await closing;
    expect(await closeCode).toBe(1006); // cut, no closing handshake
    await client.close();
  }, 10_000);
});
