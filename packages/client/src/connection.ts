/**
 * One logical connection to a Brook server over any Transport: the handshake (its messages are
 * welcome.ts), requests (their timeouts, the requestsInFlightMax window, withdrawal; the table of
 * them is request-table.ts), frame dispatch to subscriptions, and reconnecting with jittered
 * backoff after a drop.
 *
 * Sessions. Every successful handshake starts a new session (numbered from 1). Delivery ids and
 * subscription numbers belong to a session, so requests that name them (settle, unsubscribe) are
 * `sessionBound`: a drop fails them with DISCONNECTED instead of replaying them on the next
 * session, and one made while reconnecting fails at once. Every other request waiting for the window, or made while reconnecting, simply goes
 * out on the next session; requests already sent when the connection dropped fail with
 * DISCONNECTED (their fate is unknown), and the caller decides whether resending is safe.
 */
import { EventEmitter } from 'eventemitter3';
import {
  BrookError, CloseCode, Feature, FrameKind, decodeFrame, encodeFrame, isBrookError, stableJson,
  type Clock, type Frame, type Random, type RequestArgs, type RequestOp, type RequestResult, type SessionLimits, type Timer, type WireError,
} from '@brook/protocol';
import type { ReconnectPolicy, ResolvedConnectOptions } from './options.js';
import { backoffDelayMs } from './transport/backoff.js';
import { closeError } from './transport/close-codes.js';
import { answerToHello, handshakeFrame, helloFrame } from './welcome.js';
import { wireError } from './wire-error.js';
import { RequestTable, type Pending, type RequestOptions, type Response, type Withdrawal } from './request-table.js';
import type { Transport, TransportFactory } from './transport/transport.js';

/** What a subscription receives: DELIVER and TAKEN_BACK frames and the END of the subscription. */
export interface SubscriptionListener {
  deliver(json: Record<string, unknown>, data: Uint8Array): void;
  takenBack(json: Record<string, unknown>): void;
  end(error: BrookError): void;
}

export interface ConnectionEvents {
  /** A handshake completed: `session` 1 is the first connection, later ones are reconnects. */
  ready: (session: number, limits: SessionLimits) => void;
  /** The connection dropped; the client is reconnecting. */
  down: (error: BrookError) => void;
  /** The connection is over for good: close(), or an error not worth retrying. */
  closed: (error: BrookError | undefined) => void;
}

export class Connection extends EventEmitter<ConnectionEvents> {
  private transport: Transport | undefined;
  private sessionNumber = 0;
  private state: 'connecting' | 'open' | 'reconnecting' | 'closed' = 'connecting';
  private closeReason: BrookError | undefined;
  private readonly requests = new RequestTable();
  private readonly subscribers = new Map<number, SubscriptionListener>();
  private limits: SessionLimits | undefined;
  private brokerIncarnation: string | undefined;
  private serverFeatures: readonly string[] = [];
  /** The handshake under way, if any: its deadline, and close() giving it up. */
  private handshaking: AbortController | undefined;
  /** The wait before the next reconnect attempt, if one is due. */
  private reconnectTimer: Timer | undefined;
  /** An ERROR with requestId 0 explains the close that follows it (UNAUTHORIZED before 4001). */
  private connectionError: BrookError | undefined;

  constructor(
    private readonly factory: TransportFactory,
    private readonly options: ResolvedConnectOptions,
    readonly clock: Clock,
    readonly random: Random,
  ) {
    super();
  }

  /** Opens the first session; rejects (and closes) if it cannot. */
  async open(): Promise<void> {
    try {
      await this.handshake();
    } catch (error) {
      this.finish(error as BrookError);
      throw error;
    }
  }

  /** connect()'s `name`: sent in HELLO, and the label of the group members this client's subscriptions make. */
  get name(): string {
    return this.options.name;
  }

  /** The current session number (0 before the first handshake); changes on every reconnect. */
  get session(): number {
    return this.state === 'open' ? this.sessionNumber : 0;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** A request made now goes out at once (or waits only for the requestsInFlightMax window), not for a reconnect. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** How reconnects back off, and how many are tried; undefined with `reconnect: false` (a drop then ends the connection). */
  get reconnectPolicy(): ReconnectPolicy | undefined {
    return this.options.reconnect;
  }

  /** How long a request waits for its answer (connect()'s option). */
  get requestTimeoutMs(): number {
    return this.options.requestTimeoutMs;
  }

  /** The limits the server announced in its last WELCOME. */
  get serverLimits(): SessionLimits {
    if (!this.limits) throw new BrookError('CLOSED', 'not connected yet');
    return this.limits;
  }

  /**
   * The broker's data directory incarnation from the last WELCOME (undefined from a broker that
   * announces none): producer ids issued under another one are void on this broker.
   */
  get incarnation(): string | undefined {
    return this.brokerIncarnation;
  }

  /** Whether the server of the current session takes a nack's reason (Feature.NACK_REASON). */
  get takesNackReason(): boolean {
    return this.serverFeatures.includes(Feature.NACK_REASON);
  }

  /** Sends a request and resolves with its response; rejects with the ERROR as a BrookError, or TIMEOUT. */
  request<Op extends RequestOp>(op: Op, args: RequestArgs<Op>, options: RequestOptions<Op> = {}): Promise<Response<Op>> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    // What it names (a subscription number, delivery ids) belonged to the session that dropped.
    if (options.sessionBound && this.state !== 'open') return Promise.reject(new BrookError('DISCONNECTED', `connection lost: ${op} names the state of a lost session`, { op }));
    if (options.withdrawal?.done) return Promise.reject(options.withdrawal.withdrawnReason);
    const requestId = this.requests.takeRequestId();
    let frame: Uint8Array;
    try {
      frame = this.encodeRequest(requestId, op, args, options.data);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Response<Op>>((resolve, reject) => {
      const pending: Pending = {
        requestId, op, frame, sessionBound: options.sessionBound ?? false, sentOn: 0,
        onResponse: options.onResponse as Pending['onResponse'], onLateResponse: options.onLateResponse as Pending['onLateResponse'],
        resolve: resolve as (response: Response<RequestOp>) => void, reject, timer: undefined, unwatch: undefined,
      };
      if (!options.untimed) pending.timer = this.clock.setTimer(this.options.requestTimeoutMs, () => this.timedOut(pending));
      const sendNow = this.state === 'open' && this.requests.mayGoNow(op, this.serverLimits.requestsInFlightMax);
      this.requests.add(pending, !sendNow);
      if (sendNow) {
        this.sendPending(pending);
      } else if (options.withdrawal) {
        // Only a request still waiting can be withdrawn: its withdrawal is watched until it goes
        // out (most requests go out at once, and a listener each would cost them all).
        this.watch(pending, options.withdrawal);
      }
    });
  }

  private watch(pending: Pending, withdrawal: Withdrawal): void {
    pending.unwatch = withdrawal.whenDone(() => {
      if (pending.sentOn !== 0) return;
      this.requests.forget(pending);
      // Whatever the withdrawal gives, as an aborted signal's reason was: its owner is done and reads none.
      pending.reject(withdrawal.withdrawnReason as BrookError);
    });
  }

  /**
   * The request's frame. One over the server's frameBytesMax is refused here with
   * MESSAGE_TOO_LARGE: sent, it would make the server close the connection (1009), failing
   * everything else in flight and ending the client.
   */
  private encodeRequest(requestId: number, op: RequestOp, args: object, data: Uint8Array | undefined): Uint8Array {
    const frame = encodeFrame(FrameKind.REQUEST, requestId, stableJson({ ...args, op }), data);
    const refusal = this.oversized(op, frame);
    if (refusal) throw refusal;
    return frame;
  }

  /** MESSAGE_TOO_LARGE if `frame` is over the frameBytesMax of the last WELCOME. */
  private oversized(op: RequestOp, frame: Uint8Array): BrookError | undefined {
    const frameBytesMax = this.limits?.frameBytesMax;
    if (frameBytesMax === undefined || frame.length <= frameBytesMax) return undefined;
    return new BrookError('MESSAGE_TOO_LARGE', `${op} request of ${frame.length} bytes is over the server's frameBytesMax ${frameBytesMax}`, {
      op, bytes: frame.length, limit: frameBytesMax,
    });
  }

  /** Routes DELIVER, TAKEN_BACK and END frames for `subscription` (of the current session) to `listener`. */
  listen(subscription: number, listener: SubscriptionListener): void {
    this.subscribers.set(subscription, listener);
  }

  unlisten(subscription: number): void {
    this.subscribers.delete(subscription);
  }

  /**
   * Ends the connection with close code 1000; everything still waiting fails with CLOSED at once.
   * Resolves once the socket is gone (after the transport's close timeout at the latest).
   */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    const gone = this.transport?.close(1000, 'client closed');
    this.finish(undefined);
    return gone ?? Promise.resolve();
  }

  /** Drops the current connection without a closing handshake, as a network failure would. */
  terminate(): void {
    this.transport?.terminate();
  }

  private async handshake(): Promise<void> {
    this.connectionError = undefined;
    const session = this.sessionNumber + 1;
    const timeoutMs = this.options.connectTimeoutMs;
    // One deadline for the whole handshake, the socket's opening included: a server (or a path)
    // that takes the TCP connection and never answers must not hold connect() or a reconnect
    // forever. close() gives the attempt up the same way.
    const attempt = (this.handshaking = new AbortController());
    const timer = this.clock.setTimer(timeoutMs, () => attempt.abort(
      new BrookError('TIMEOUT', `no WELCOME from ${this.factory.description} within ${timeoutMs} ms (connectTimeoutMs)`, { op: 'connect', timeoutMs }),
    ));
    let welcomed: ((frame: Frame) => void) | undefined;
    let failed: ((error: BrookError) => void) | undefined;
    const welcome = new Promise<Frame>((resolve, reject) => ((welcomed = resolve), (failed = reject)));
    let transport: Transport | undefined;
    try {
      transport = await this.factory.open({
        frame: (bytes) => (this.sessionNumber === session ? this.received(bytes) : handshakeFrame(bytes, welcomed!, failed!)),
        closed: (code, reason) => (this.sessionNumber === session ? this.dropped(code, reason) : failed?.(this.connectionError ?? closeError(code, reason))),
        serverBusy: () => this.sessionNumber === session && this.state === 'open' && this.requests.windowFull(this.serverLimits.requestsInFlightMax),
      }, attempt.signal);
      attempt.signal.throwIfAborted();
      attempt.signal.addEventListener('abort', () => failed?.(attempt.signal.reason as BrookError), { once: true });
      this.transport = transport;
      transport.send(helloFrame(this.options.name, this.options.token));
      ({ limits: this.limits, incarnation: this.brokerIncarnation, features: this.serverFeatures } = answerToHello(await welcome));
    } catch (error) {
      // A peer that stopped answering would not answer a close frame either.
      if (attempt.signal.aborted) transport?.terminate();
      else void transport?.close(1000, 'handshake failed');
      throw error;
    } finally {
      timer.cancel();
      this.handshaking = undefined;
    }
    this.sessionNumber = session;
    this.state = 'open';
    this.emit('ready', session, this.limits);
    this.pump();
  }

  /**
   * A frame this client cannot take (it does not parse, an unknown kind, a DELIVER whose CRC fails,
   * a TAKEN_BACK without id ranges) is a broken server's: the connection closes 1002 and ends with
   * that error (not retriable), as the server treats a broken client's frame. Thrown on, it would
   * escape into the socket's event handler: an uncaught exception, the process's end.
   */
  private received(bytes: Uint8Array): void {
    try {
      this.onFrame(bytes);
    } catch (error) {
      if (!isBrookError(error)) throw error;
      if (this.state !== 'open') return;
      void this.transport?.close(CloseCode.PROTOCOL_ERROR, error.code);
      this.connectionError = error;
      this.dropped(CloseCode.PROTOCOL_ERROR, error.message);
    }
  }

  private onFrame(bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    switch (frame.kind) {
      case FrameKind.RESPONSE:
      case FrameKind.ERROR:
        if (frame.requestId === 0) this.connectionError = wireError(frame.json as unknown as WireError);
        else this.answered(frame);
        return;
      case FrameKind.DELIVER:
        this.subscribers.get(frame.requestId)?.deliver(frame.json, frame.data);
        return;
      case FrameKind.TAKEN_BACK:
        this.subscribers.get(frame.requestId)?.takenBack(frame.json);
        return;
      case FrameKind.END:
        this.subscribers.get(frame.requestId)?.end(wireError({ retriable: false, ...(frame.json as { code: string; message: string }) }));
        return;
      default:
        // A server speaking out of turn (a second WELCOME, a HELLO) is ignored rather than trusted.
        return;
    }
  }

  private answered(frame: Frame): void {
    const overdue = this.requests.takeOverdue(frame.requestId);
    if (overdue) {
      if (frame.kind === FrameKind.RESPONSE) overdue.onLateResponse!(frame.json as RequestResult<RequestOp>);
      return;
    }
    const pending = this.requests.get(frame.requestId);
    if (!pending || pending.sentOn !== this.sessionNumber) return; // timed out, or from an old session
    this.requests.forget(pending);
    if (frame.kind === FrameKind.RESPONSE) pending.onResponse?.(frame.json as RequestResult<RequestOp>);
    if (frame.kind === FrameKind.RESPONSE) pending.resolve({ json: frame.json as RequestResult<RequestOp>, data: frame.data });
    else pending.reject(wireError(frame.json as unknown as WireError));
    this.pump();
  }

  private dropped(code: number, reason: string): void {
    const error = this.connectionError ?? closeError(code, reason);
    this.transport = undefined;
    this.subscribers.clear();
    this.requests.clearOverdue();
    if (!error.retriable || !this.options.reconnect || this.state === 'closed') {
      this.finish(error);
      return;
    }
    this.state = 'reconnecting';
    for (const pending of this.requests.all()) {
      if (pending.sentOn !== 0 || pending.sessionBound) {
        this.requests.forget(pending);
        pending.reject(new BrookError('DISCONNECTED', `connection lost before the answer to ${pending.op}`, { op: pending.op }, { cause: error }));
      }
    }
    this.emit('down', error);
    this.reconnect(0, error);
  }

  private reconnect(attempt: number, lastError: BrookError): void {
    const policy = this.options.reconnect!;
    if (attempt >= policy.attemptsMax) {
      this.finish(new BrookError('DISCONNECTED', `gave up reconnecting after ${attempt} attempts`, { attempts: attempt }, { cause: lastError }));
      return;
    }
    this.reconnectTimer = this.clock.setTimer(backoffDelayMs(policy, attempt, this.random), () => {
      this.reconnectTimer = undefined;
      this.handshake().catch((error: BrookError) => {
        if (this.state !== 'reconnecting') return;
        if (error.retriable) this.reconnect(attempt + 1, error);
        else this.finish(error);
      });
    });
  }

  /**
   * Sends waiting requests while the window has room. One that waited for a reconnect was checked
   * against the previous server's frameBytesMax: a server that came back with a lower one would
   * close the connection with 1009, for good, so it is refused here instead, as it would be now.
   */
  private pump(): void {
    if (this.state !== 'open') return;
    const windowMax = this.serverLimits.requestsInFlightMax;
    for (let next = this.requests.nextToSend(windowMax); next; next = this.requests.nextToSend(windowMax)) {
      const refusal = this.oversized(next.op, next.frame);
      if (refusal) {
        this.requests.forget(next);
        next.reject(refusal);
      } else {
        this.sendPending(next);
      }
    }
  }

  private sendPending(pending: Pending): void {
    this.requests.sent(pending, this.sessionNumber);
    this.transport!.send(pending.frame);
  }

  private timedOut(pending: Pending): void {
    pending.timer = undefined;
    this.requests.forget(pending);
    if (pending.onLateResponse && pending.sentOn !== 0) this.requests.keepOverdue(pending);
    pending.reject(new BrookError('TIMEOUT', `no answer to ${pending.op} within ${this.options.requestTimeoutMs} ms`, { op: pending.op, timeoutMs: this.options.requestTimeoutMs }));
    this.pump();
  }

  private finish(error: BrookError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = error;
    this.reconnectTimer?.cancel();
    this.handshaking?.abort(this.closedError());
    this.transport = undefined;
    this.subscribers.clear();
    this.requests.clearOverdue();
    const failure = this.closedError();
    for (const pending of this.requests.all()) {
      this.requests.forget(pending);
      pending.reject(failure);
    }
    this.emit('closed', error);
  }

  private closedError(): BrookError {
    return this.closeReason ?? new BrookError('CLOSED', 'the client is closed');
  }
}
