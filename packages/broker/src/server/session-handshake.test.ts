/**
 * Session, connection level: the handshake paths, frames it cannot follow (docs/protocol.md's
 * bad-input table, first rows), backpressure at requestsInFlightMax, and ending.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode, FrameKind, JSON_DEPTH_MAX, PROTOCOL_VERSION, VirtualClock, encodeFrame } from '@brook/protocol';
import { Broker } from '../broker.js';
import { LIMITS } from '../config/defaults.js';
import { resolveServerLimits } from '../config/server-options.js';
import { FakePeer, batchOf, sessionFixture } from './session-fixture.js';
import { Session } from './session.js';
import { INTERNAL_ERROR_WARNING } from './session-hub.js';

const utf8 = new TextEncoder();

function rawFrame(kind: number, requestId: number, json: Uint8Array, declaredLength = json.length): Uint8Array {
  const bytes = new Uint8Array(9 + json.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, requestId);
  view.setUint32(5, declaredLength);
  bytes.set(json, 9);
  return bytes;
}

describe('handshake', () => {
  it('WELCOME announces the limits and the data directory\'s incarnation; the handshake timer stops', async () => {
    const f = await sessionFixture({ limits: { subscriptionsMax: 3, requestsInFlightMax: 5, frameBytesMax: 4096 } });
    const welcome = await f.hello();
    expect(welcome.json).toEqual({ version: 2, server: 'brook', sessionId: 'test', incarnation: f.broker.incarnation, limits: { frameBytesMax: 4096, batchRecordsMax: 10_000, batchBytesMax: 1024 * 1024, subscriptionsMax: 3, requestsInFlightMax: 5, timestampAheadMsMax: 3_600_000 }, features: [] });
    f.clock.advance(60_000);
    expect(f.peer.closed).toBeUndefined();
  });

  it('closes 4002 when HELLO does not come within handshakeTimeoutMs, not a millisecond before', async () => {
    const f = await sessionFixture({ limits: { handshakeTimeoutMs: 500 } });
    f.clock.advance(499);
    expect(f.peer.closed).toBeUndefined();
    f.clock.advance(1);
    expect(f.peer.closed?.code).toBe(CloseCode.HANDSHAKE_TIMEOUT);
  });

  it.each([
    ['no token', { version: PROTOCOL_VERSION, client: 'c' }],
    ['a wrong token', { version: PROTOCOL_VERSION, client: 'c', token: 'nope' }],
    ['a token of another type', { version: PROTOCOL_VERSION, client: 'c', token: ['sesame'] }],
  ])('answers UNAUTHORIZED and closes 4001 for %s', async (_name, hello) => {
    const f = await sessionFixture({ token: 'sesame' });
    const error = await f.hello(hello);
    expect(error.json).toMatchObject({ code: 'UNAUTHORIZED', retriable: false });
    expect(f.peer.closed?.code).toBe(CloseCode.UNAUTHORIZED);
  });

  it('accepts the right token', async () => {
    const f = await sessionFixture({ token: 'sesame' });
    expect((await f.hello({ version: PROTOCOL_VERSION, client: 'c', token: 'sesame' })).kind).toBe(FrameKind.WELCOME);
  });

  it.each([[1], [3], [0], ['2'], [undefined]])('answers INVALID_REQUEST and closes 4000 for version %j', async (version) => {
    const f = await sessionFixture();
    const error = await f.hello({ version, client: 'c' });
    expect(error.json).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'version', supported: [PROTOCOL_VERSION] } });
    expect(f.peer.closed?.code).toBe(CloseCode.UNSUPPORTED_VERSION);
  });

  it('WELCOME names the features of HELLO it knows (a later client may ask for more); features not a list of strings closes 1002', async () => {
    const f = await sessionFixture();
    const welcome = await f.hello({ version: PROTOCOL_VERSION, client: 'c', features: ['fromTheFuture', 'takenBack', 'nackReason', 'takenBack'] });
    expect(welcome.json['features']).toEqual(['takenBack', 'nackReason']);
    for (const features of ['takenBack', [1], null]) {
      const bad = await sessionFixture();
      expect((await bad.hello({ version: PROTOCOL_VERSION, client: 'c', features })).json).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'features' } });
      expect(bad.peer.closed?.code).toBe(CloseCode.PROTOCOL_ERROR);
    }
  });

  it('closes 1002 for a HELLO without a client name, and for a REQUEST before HELLO', async () => {
    const nameless = await sessionFixture();
    expect((await nameless.hello({ version: PROTOCOL_VERSION })).json).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'client', reason: 'bad-hello' } });
    expect(nameless.peer.closed?.code).toBe(CloseCode.PROTOCOL_ERROR);
    const early = await sessionFixture();
    early.session.receive(encodeFrame(FrameKind.REQUEST, 1, '{"op":"listTopics"}'));
    const error = await early.peer.next((frame) => frame.requestId === 0);
    expect(error.json).toMatchObject({ code: 'INVALID_REQUEST', details: { reason: 'expected-hello' } });
    expect(early.peer.closed?.code).toBe(CloseCode.PROTOCOL_ERROR);
  });

  it('a second HELLO after WELCOME is a frame other than REQUEST: ERROR unexpected-kind, close 1002, no second WELCOME', async () => {
    const f = await sessionFixture();
    await f.hello();
    f.session.receive(encodeFrame(FrameKind.HELLO, 0, JSON.stringify({ version: PROTOCOL_VERSION, client: 'again' })));
    expect(f.peer.frames.map((frame) => frame.kind)).toEqual([FrameKind.WELCOME, FrameKind.ERROR]);
    expect(f.peer.frames[1]!.json).toMatchObject({ code: 'INVALID_REQUEST', details: { reason: 'unexpected-kind' } });
    expect(f.peer.closed?.code).toBe(CloseCode.PROTOCOL_ERROR);
  });
});

describe('frames the session cannot follow: ERROR, then close 1002', () => {
  it('a HELLO nested as deep as its bytes allow (a 2 MB frame): ERROR too-deep and close 1002, nothing thrown', async () => {
    const f = await sessionFixture();
    const levels = 1_000_000;
    f.session.receive(rawFrame(FrameKind.HELLO, 0, utf8.encode(`{"client":"x","version":${'['.repeat(levels)}${']'.repeat(levels)}}`)));
    expect(f.peer.of(FrameKind.ERROR)[0]!.json).toMatchObject({ code: 'INVALID_REQUEST', details: { reason: 'too-deep' } });
    expect(f.peer.closed?.code).toBe(CloseCode.PROTOCOL_ERROR);
  });

  it.each([
    ['truncated', new Uint8Array([3, 0, 0]), 0],
    ['unknown-kind', rawFrame(99, 7, utf8.encode('{}')), 7],
    ['bad-json-length', rawFrame(FrameKind.REQUEST, 7, utf8.encode('{}'), 3), 7],
    ['bad-utf8', rawFrame(FrameKind.REQUEST, 7, new Uint8Array([0x7b, 0xff, 0x7d])), 7],
    ['bad-json', rawFrame(FrameKind.REQUEST, 7, utf8.encode('{op:')), 7],
    ['not-an-object', rawFrame(FrameKind.REQUEST, 7, utf8.encode('[1]')), 7],
    ['too-deep', rawFrame(FrameKind.REQUEST, 7, utf8.encode(`{"op":"listTopics","x":${'['.repeat(JSON_DEPTH_MAX)}${']'.repeat(JSON_DEPTH_MAX)}}`)), 7],
    ['unexpected-kind', rawFrame(FrameKind.RESPONSE, 7, utf8.encode('{}')), 7],
  ])('%s', async (reason, bytes, requestId) => {
    const f = await sessionFixture();
    await f.hello();
    f.session.receive(bytes);
    const error = f.peer.of(FrameKind.ERROR)[0]!;
    expect([error.requestId, error.json['code'], (error.json['details'] as { reason: string }).reason]).toEqual([requestId, 'INVALID_REQUEST', reason]);
    expect(f.peer.closed?.code).toBe(CloseCode.PROTOCOL_ERROR);
    f.session.receive(encodeFrame(FrameKind.REQUEST, 8, '{"op":"listTopics"}'));
    expect(f.peer.frames).toHaveLength(2); // WELCOME and the ERROR: nothing after the close
  });

  it('closes 1009 for a frame larger than frameBytesMax; a frame of exactly frameBytesMax is read', async () => {
    const f = await sessionFixture({ limits: { frameBytesMax: 1024 } });
    await f.hello();
    const json = `{"op":"listTopics","pad":"${'x'.repeat(1024 - 9 - 28)}"}`;
    expect(json.length + 9).toBe(1024);
    f.session.receive(encodeFrame(FrameKind.REQUEST, 1, json));
    expect((await f.peer.next((fr) => fr.requestId === 1)).kind).toBe(FrameKind.RESPONSE);
    f.session.receive(encodeFrame(FrameKind.REQUEST, 2, json.replace('"pad"', '"pads"')));
    expect(f.peer.closed?.code).toBe(CloseCode.MESSAGE_TOO_BIG);
  });
});

describe('backpressure', () => {
  it('pauses the peer at requestsInFlightMax pending requests and resumes below it', async () => {
    const f = await sessionFixture({ limits: { requestsInFlightMax: 2 } });
    await f.hello();
    await f.ok('createTopic', { name: 't' });
    const first = f.request('produce', { topic: 't', partition: 0 }, batchOf(['a']));
    expect(f.peer.paused).toBe(false);
    const second = f.request('produce', { topic: 't', partition: 0 }, batchOf(['b']));
    expect(f.peer.paused).toBe(true);
    await Promise.all([first, second]);
    expect(f.peer.paused).toBe(false);
  });

  it('unsubscribes, answered at once or from behind held requests, neither widen nor narrow the window; answering says a request is pending', async () => {
    const f = await sessionFixture({ limits: { requestsInFlightMax: 2 } });
    const session = f.session as Session;
    await f.hello();
    await f.ok('createTopic', { name: 't' });
    const subscriptions = [];
    for (const group of ['window-a', 'window-b']) subscriptions.push((await f.ok('subscribe', { topic: 't', group }))['subscription']);
    const produce = () => f.request('produce', { topic: 't', partition: 0 }, batchOf(['x']));
    // Nothing held: the unsubscribe goes at once, uncounted.
    expect(await f.ok('unsubscribe', { subscription: subscriptions[0], abort: true })).toEqual({});
    const full = [produce(), produce()];
    expect([f.peer.paused, session.answering]).toEqual([true, true]);
    // Behind a held request: it waits its turn, uncounted all the same.
    const behind = [produce(), f.request('unsubscribe', { subscription: subscriptions[1], abort: true })];
    await Promise.all([...full, ...behind]);
    expect([f.peer.paused, session.answering]).toEqual([false, false]);
    const one = produce();
    expect(f.peer.paused).toBe(false);
    const two = produce();
    expect(f.peer.paused).toBe(true);
    await Promise.all([one, two]);
  });

  it('an unsubscribe on a congested connection with nothing held is answered at once, and once', async () => {
    const f = await sessionFixture({ limits: { sendBufferBytesMax: LIMITS.sendBufferBytesMax.min } });
    await f.hello();
    await f.ok('createTopic', { name: 'filler' });
    await f.ok('produce', { topic: 'filler', partition: 0 }, batchOf(['x'.repeat(LIMITS.sendBufferBytesMax.min + 1)]));
    const { subscription } = await f.ok('subscribe', { topic: 'filler', group: 'g-congested' });
    f.peer.stopReading();
    await f.ok('fetch', { topic: 'filler', partition: 0, offset: '0' }); // its answer fills the socket
    expect(f.peer.paused).toBe(true);
    const answered = f.peer.of(FrameKind.RESPONSE).length;
    const unsubscribed = f.ok('unsubscribe', { subscription, abort: true });
    await f.clock.advanceAsync(0);
    expect(f.peer.of(FrameKind.RESPONSE).length).toBe(answered + 1); // no drain needed, and one answer
    expect(await unsubscribed).toEqual({});
  });
});

describe('ending', () => {
  it('disconnected() drops pending answers', async () => {
    const f = await sessionFixture();
    await f.hello();
    await f.ok('createTopic', { name: 't' });
    const requestId = 99;
    f.session.receive(encodeFrame(FrameKind.REQUEST, requestId, '{"op":"produce","partition":0,"topic":"t"}', batchOf(['a'])));
    f.session.disconnected();
    await f.broker.close();
    expect(f.peer.frames.filter((frame) => frame.requestId === requestId)).toEqual([]);
    expect(f.peer.closed).toBeUndefined();
  });

  it('a frame that comes after the session closed is not read: its request does nothing', async () => {
    const f = await sessionFixture();
    await f.hello();
    await f.ok('createTopic', { name: 't' });
    f.session.disconnected();
    f.session.receive(encodeFrame(FrameKind.REQUEST, 99, '{"op":"produce","partition":0,"topic":"t"}', batchOf(['late'])));
    await f.clock.advanceAsync(0);
    expect(f.broker.describeTopic('t').partitions[0]!.endOffset).toBe(0n);
    expect(f.peer.frames.filter((frame) => frame.requestId === 99)).toEqual([]);
  });

  it('onEnd runs once however often the session is closed, disconnected or shut down; the peer is closed once', async () => {
    const clock = new VirtualClock();
    const broker = await Broker.open({ storage: 'memory', clock });
    const peer = new FakePeer();
    let ends = 0;
    const closes: number[] = [];
    peer.close = (code) => void closes.push(code);
    const session = new Session(broker, peer, {
      sessionId: 'once', remote: 'test', limits: resolveServerLimits({}), token: undefined, clock,
      batchLimits: { batchRecordsMax: LIMITS.batchRecordsMax.default, batchBytesMax: LIMITS.batchBytesMax.default, timestampAheadMsMax: LIMITS.timestampAheadMsMax.default },
      onInternalError: () => undefined, onEnd: () => void (ends += 1),
    });
    session.close(CloseCode.GOING_AWAY, 'first');
    session.close(CloseCode.PROTOCOL_ERROR, 'second');
    session.disconnected();
    session.shutdown();
    expect([ends, closes]).toEqual([1, [CloseCode.GOING_AWAY]]);
    await broker.close();
  });
});

describe('a failure that is not a BrookError (a bug)', () => {
  it('only such a failure is reported: a BrookError is the answer and nothing more', async () => {
    const f = await sessionFixture({ limits: {} });
    await f.hello();
    expect((await f.request('describeTopic', { name: 'nowhere' })).json).toMatchObject({ code: 'UNKNOWN_TOPIC' });
    expect(f.internalErrors).toEqual([]);
  });

  it('is answered ERROR IO_ERROR with details.internal and reported; the connection stays', async () => {
    const f = await sessionFixture({ limits: {} });
    await f.hello();
    f.broker.listTopics = () => {
      throw new TypeError('boom');
    };
    const error = await f.request('listTopics');
    expect(error.json).toMatchObject({ code: 'IO_ERROR', retriable: true, details: { internal: true, name: 'TypeError' } });
    expect(f.internalErrors).toEqual([new TypeError('boom')]);
    expect(f.peer.closed).toBeUndefined();
  });

  it('becomes a process warning with code BROOK_INTERNAL_ERROR on a broker session', async () => {
    const f = await sessionFixture();
    await f.hello();
    f.broker.listTopics = () => {
      throw new TypeError('boom');
    };
    const warned = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve));
    expect((await f.request('listTopics')).json).toMatchObject({ code: 'IO_ERROR' });
    const warning = await warned;
    expect(warning.code).toBe(INTERNAL_ERROR_WARNING);
    // Where, which session and client, and the stack: what a bug report needs.
    expect(warning.message).toMatch(/^internal error in op listTopics \(session s\d+, test\): TypeError: boom\n\s+at /);
  });

  it('names a thrown value that is no Error as it is', async () => {
    const f = await sessionFixture();
    await f.hello();
    f.broker.listTopics = () => {
      throw 'boom'; // a bug that throws no Error
    };
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    expect((await f.request('listTopics')).json).toMatchObject({ code: 'IO_ERROR', details: { internal: true, name: 'string' } });
    expect((await warned).message).toMatch(/^internal error in op listTopics \(session s\d+, test\): boom$/);
  });
});
