/**
 * One client connection, whatever carries its frames (a WebSocket, or `connect(broker)` in
 * process): awaiting HELLO → open → closed.
 *
 * It decodes each frame, runs the handshake, dispatches REQUESTs (request-handlers.ts for broker
 * calls, subscriptions.ts for subscribe / unsubscribe / settle) and answers each with one
 * RESPONSE or ERROR. docs/protocol.md is the contract for every answer and close code.
 *
 * Backpressure: while requestsInFlightMax requests are pending, or the peer holds more than
 * sendBufferBytesMax bytes the client has not read, the session is held: it pauses the peer (the
 * WebSocket stops reading, so TCP pushes back on the client) and starts no request. Requests that
 * still arrive (ws parses the rest of the chunk it had read when paused) wait in a backlog, which
 * is therefore bounded by one socket read. It resumes once an answer or a drain lifts the hold.
 * Checking the send buffer is what bounds a client that pipelines requests and never reads the
 * answers: counting pending requests alone does not, since each is answered at once into the
 * socket's buffer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  BrookError, CloseCode, Feature, FrameKind, PROTOCOL_VERSION, decodeFrame, encodeFrame, isBrookError, knownFeatures, stableJson,
  type Clock, type FeatureName, type Frame, type FramePeer, type FrameSession, type Timer,
} from '@brook/protocol';
import type { Broker } from '../broker.js';
import type { ServerLimits } from '../config/server-options.js';
import { Args } from './args.js';
import { BROKER_REQUESTS, type Reply } from './request-handlers.js';
import { SessionSubscriptions } from './subscriptions.js';
import { wireError } from './wire-error.js';

/** The broker's limits on one produce batch, which a client's producer must stay within. */
export interface BatchLimits {
  readonly batchRecordsMax: number;
  readonly batchBytesMax: number;
  readonly timestampAheadMsMax: number;
}

export interface SessionOptions {
  readonly sessionId: string;
  readonly remote: string;
  readonly limits: ServerLimits;
  /** When set, HELLO must carry it. */
  readonly token: string | undefined;
  /** Announced in WELCOME: the broker's limits on a produce batch. */
  readonly batchLimits: BatchLimits;
  readonly clock: Clock;
  /** A failure that is not a BrookError: a bug in Brook, for the broker to report. */
  readonly onInternalError: (error: unknown, where: string) => void;
  /** Called once, when the session ends however it ends. */
  readonly onEnd: (session: Session) => void;
}

type State = 'awaiting-hello' | 'open' | 'closed';

export class Session implements FrameSession {
  private state: State = 'awaiting-hello';
  private handshakeTimer: Timer | undefined;
  private requestsInFlight = 0;
  private paused = false;
  /** Requests read while held, started in order as the hold lifts. */
  private backlog: Frame[] = [];
  private readonly subscriptions: SessionSubscriptions;
  /** What HELLO asked for that this server knows: WELCOME names them, and the session uses them. */
  private features: FeatureName[] = [];

  constructor(
    private readonly broker: Broker,
    private readonly peer: FramePeer,
    private readonly options: SessionOptions,
  ) {
    this.subscriptions = new SessionSubscriptions(broker, peer, options.clock, options.limits, {
      canSend: () => this.state !== 'closed',
      congested: () => this.congested(),
      startHeldRequests: () => this.pump(),
      tellsTakenBack: () => this.features.includes(Feature.TAKEN_BACK),
    });
    this.handshakeTimer = options.clock.setTimer(options.limits.handshakeTimeoutMs, () => {
      this.handshakeTimer = undefined;
      this.close(CloseCode.HANDSHAKE_TIMEOUT, 'no HELLO within handshakeTimeoutMs');
    });
  }

  /** Takes one frame; its bytes become the session's (a produce batch is appended as it is). */
  receive(bytes: Uint8Array): void {
    if (this.state === 'closed') return;
    if (bytes.length > this.options.limits.frameBytesMax) {
      this.close(CloseCode.MESSAGE_TOO_BIG, `frame of ${bytes.length} bytes exceeds frameBytesMax ${this.options.limits.frameBytesMax}`);
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      this.violation(error);
      return;
    }
    if (this.state === 'awaiting-hello') this.hello(frame);
    else if (frame.kind === FrameKind.REQUEST) this.request(frame);
    else this.violation(new BrookError('INVALID_REQUEST', `a client may only send REQUEST frames after HELLO, got kind ${frame.kind}`, { reason: 'unexpected-kind', requestId: frame.requestId }));
  }

  disconnected(): void {
    if (this.state !== 'closed') this.finish();
  }

  /** The peer's send buffer emptied: start what the hold kept back and send the held deliveries. */
  drained(): void {
    if (this.state !== 'open') return;
    this.pump();
    this.subscriptions.drained();
  }

  /** The broker is closing: END every subscription, then close 1001 (a closed session has none, and close() does nothing). */
  shutdown(): void {
    this.subscriptions.endAll('CLOSED', 'the broker is closing');
    this.close(CloseCode.GOING_AWAY, 'broker closing');
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.finish();
    this.peer.close(code, reason);
  }

  private finish(): void {
    this.state = 'closed';
    this.backlog = [];
    this.handshakeTimer?.cancel();
    this.handshakeTimer = undefined;
    this.subscriptions.abortAll();
    this.options.onEnd(this);
  }

  private hello(frame: Frame): void {
    if (frame.kind !== FrameKind.HELLO) {
      this.violation(new BrookError('INVALID_REQUEST', `the first frame must be HELLO, got kind ${frame.kind}`, { reason: 'expected-hello' }));
      return;
    }
    const { version, client, token, features } = frame.json;
    if (version !== PROTOCOL_VERSION) {
      this.refuse(new BrookError('INVALID_REQUEST', `protocol version ${JSON.stringify(version)} is not supported`, { field: 'version', supported: [PROTOCOL_VERSION] }), CloseCode.UNSUPPORTED_VERSION);
      return;
    }
    if (typeof client !== 'string') {
      this.violation(new BrookError('INVALID_REQUEST', 'HELLO client must be a string', { field: 'client', reason: 'bad-hello' }));
      return;
    }
    try {
      this.features = knownFeatures(features);
    } catch (error) {
      this.violation(error);
      return;
    }
    if (this.options.token !== undefined && !tokenMatches(token, this.options.token)) {
      this.refuse(new BrookError('UNAUTHORIZED', token === undefined ? 'a token is required' : 'wrong token'), CloseCode.UNAUTHORIZED);
      return;
    }
    this.handshakeTimer?.cancel();
    this.handshakeTimer = undefined;
    this.state = 'open';
    const { frameBytesMax, subscriptionsMax, requestsInFlightMax } = this.options.limits;
    this.send(encodeFrame(FrameKind.WELCOME, 0, stableJson({
      version: PROTOCOL_VERSION, server: 'brook', sessionId: this.options.sessionId, incarnation: this.broker.incarnation,
      limits: { frameBytesMax, ...this.options.batchLimits, subscriptionsMax, requestsInFlightMax }, features: this.features,
    })));
  }

  private request(frame: Frame): void {
    // An unsubscribe behind held requests waits its turn: the client's settles sent before an
    // abort must be taken before the abort redelivers what they settle (else acked records come
    // back). With nothing held it goes at once.
    if (isUnsubscribe(frame) && this.backlog.length === 0) {
      void this.answer(frame, false);
      return;
    }
    this.backlog.push(frame);
    this.pump();
  }

  /**
   * Starts backlog requests in order while not held, then pauses or resumes reading to match. An
   * unsubscribe is not counted against requestsInFlightMax, nor held by it: a graceful one waits
   * for the client's own settles, and were it held behind the in-flight limit, a client with
   * enough of them pending would stop the server reading those very settles (a deadlock). Its
   * number is bounded by subscriptionsMax instead, and its answer is tiny.
   */
  private pump(): void {
    while (this.backlog.length > 0 && !this.congested()) {
      const counted = !isUnsubscribe(this.backlog[0]!);
      if (counted && this.requestsInFlight >= this.options.limits.requestsInFlightMax) break;
      if (counted) this.requestsInFlight += 1;
      void this.answer(this.backlog.shift()!, counted);
    }
    const pause = this.held();
    if (pause === this.paused) return;
    // Set first: resuming an in-process peer hands over its queued frames at once, re-entering here.
    this.paused = pause;
    if (pause) this.peer.pause();
    else this.peer.resume();
  }

  /**
   * True while the broker works on a request of this client. Its silence is then the broker's
   * doing, not the client's: held for requestsInFlightMax (a slow disk), the session reads
   * nothing, pongs included.
   */
  get answering(): boolean {
    return this.requestsInFlight > 0;
  }

  private held(): boolean {
    return this.requestsInFlight >= this.options.limits.requestsInFlightMax || this.congested();
  }

  private congested(): boolean {
    return this.peer.bufferedAmount > this.options.limits.sendBufferBytesMax;
  }

  /** Never rejects: every outcome becomes a RESPONSE or an ERROR. */
  private async answer(frame: Frame, counted: boolean): Promise<void> {
    const op = frame.json['op'];
    let reply: Reply | undefined;
    let answer: Uint8Array;
    try {
      reply = await this.dispatch(op, new Args(frame.json), frame.data);
      answer = encodeFrame(FrameKind.RESPONSE, frame.requestId, stableJson(reply.json), reply.data);
    } catch (error) {
      if (!isBrookError(error)) this.options.onInternalError(error, `op ${String(op)}`);
      answer = encodeError(frame.requestId, error);
    }
    // Counted out before the answer goes, so a client that sees it may send the next request.
    if (counted) this.requestsInFlight -= 1;
    this.send(answer);
    reply?.afterSend?.();
    // After the send, so that the hold sees the answer's bytes in the peer's buffer.
    if (this.state === 'open') this.pump();
  }

  private dispatch(op: unknown, args: Args, data: Uint8Array): Promise<Reply> | Reply {
    if (op === 'subscribe') return this.subscriptions.subscribe(args);
    if (op === 'unsubscribe') return this.subscriptions.unsubscribe(args);
    if (op === 'settle') return this.subscriptions.settle(args);
    const handler = typeof op === 'string' ? BROKER_REQUESTS.get(op) : undefined;
    if (!handler) throw new BrookError('INVALID_REQUEST', `unknown op ${JSON.stringify(op)}`, { field: 'op' });
    return handler(this.broker, args, data);
  }

  /** A frame the session cannot follow: ERROR (on the frame's requestId if it was readable), then close 1002. */
  private violation(error: unknown): void {
    this.refuse(error, CloseCode.PROTOCOL_ERROR);
  }

  private refuse(error: unknown, closeCode: number): void {
    const requestId = isBrookError(error) && typeof error.details['requestId'] === 'number' ? error.details['requestId'] : 0;
    this.send(encodeError(requestId, error));
    this.close(closeCode, isBrookError(error) ? error.code : 'protocol error');
  }

  private send(frame: Uint8Array): void {
    if (this.state !== 'closed') this.peer.send(frame);
  }
}

function encodeError(requestId: number, error: unknown): Uint8Array {
  return encodeFrame(FrameKind.ERROR, requestId, stableJson(wireError(error)));
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
function tokenMatches(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function isUnsubscribe(frame: Frame): boolean {
  return frame.json['op'] === 'unsubscribe';
}
