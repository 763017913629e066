/**
 * A scripted server behind a fake transport, for unit tests of the client without a broker: it
 * answers HELLO with WELCOME (or refuses it), records every REQUEST, and lets the test answer,
 * fail, deliver or drop the connection frame by frame. Frames cross in microtasks, like the
 * in-process transport.
 */
import {
  BrookError, FrameKind, PROTOCOL_VERSION, SeededRandom, VirtualClock, decodeFrame, encodeFrame, stableJson,
  type Frame, type SessionLimits, type WireError,
} from '@brook/protocol';
import { Connection } from './connection.js';
import { resolveConnectOptions, type ConnectOptions } from './options.js';
import type { Transport, TransportFactory, TransportHandlers } from './transport/transport.js';

export const TEST_LIMITS: SessionLimits = { frameBytesMax: 1 << 20, batchRecordsMax: 1000, batchBytesMax: 1 << 20, subscriptionsMax: 8, requestsInFlightMax: 4 };

export class FakeServer implements TransportFactory {
  readonly description = 'fake';
  /** Requests received and not yet answered, oldest first. */
  readonly requests: Frame[] = [];
  opened = 0;
  limits = TEST_LIMITS;
  /** The data directory incarnation WELCOME announces; none while undefined. */
  incarnation: string | undefined;
  /** Set to refuse the next handshakes: ERROR with this code, then close with closeCode. */
  refuse: { code: string; closeCode: number } | undefined;
  /** Set to make open() fail as an unreachable server would. */
  unreachable = false;
  private handlers: TransportHandlers | undefined;
  private waiters: { count: number; resolve: () => void }[] = [];

  async open(handlers: TransportHandlers): Promise<Transport> {
    if (this.unreachable) throw new BrookError('DISCONNECTED', 'cannot connect to fake');
    this.opened += 1;
    this.handlers = handlers;
    let open = true;
    return {
      send: (bytes) => queueMicrotask(() => open && this.receive(decodeFrame(bytes))),
      close: async () => void (open = false),
      terminate: () => {
        open = false;
        this.drop(1006);
      },
    };
  }

  /** Resolves once `count` requests are waiting for an answer. */
  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Takes the oldest unanswered request with this op. */
  take(op: string): Frame {
    const at = this.requests.findIndex((frame) => frame.json['op'] === op);
    if (at < 0) throw new Error(`no pending ${op} among ${this.requests.map((frame) => frame.json['op']).join(', ')}`);
    return this.requests.splice(at, 1)[0]!;
  }

  respond(request: Frame, json: object = {}, data?: Uint8Array): void {
    this.send(encodeFrame(FrameKind.RESPONSE, request.requestId, stableJson(json), data));
  }

  fail(request: Frame, code: string, retriable = false): void {
    const error: WireError = { code, message: `${code}: scripted`, retriable };
    this.send(encodeFrame(FrameKind.ERROR, request.requestId, stableJson(error)));
  }

  /** The connection drops (or the server closes it with `code`). */
  drop(code: number, reason = ''): void {
    const handlers = this.handlers;
    this.handlers = undefined;
    this.requests.length = 0;
    if (handlers) queueMicrotask(() => handlers.closed(code, reason));
  }

  send(frame: Uint8Array): void {
    const handlers = this.handlers;
    if (handlers) queueMicrotask(() => handlers.frame(frame));
  }

  private receive(frame: Frame): void {
    if (frame.kind === FrameKind.HELLO) {
      if (this.refuse) {
        const { code, closeCode } = this.refuse;
        this.send(encodeFrame(FrameKind.ERROR, 0, stableJson({ code, message: 'refused', retriable: false })));
        this.drop(closeCode);
      } else {
        this.send(encodeFrame(FrameKind.WELCOME, 0, stableJson({
          version: PROTOCOL_VERSION, server: 'brook', sessionId: `s${this.opened}`, limits: this.limits, ...(this.incarnation !== undefined && { incarnation: this.incarnation }),
        })));
      }
      return;
    }
    this.requests.push(frame);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.requests.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }
}

/** A connection to `server` on a virtual clock, opened. */
export async function openFake(server: FakeServer, options: ConnectOptions = {}): Promise<{ connection: Connection; clock: VirtualClock }> {
  const clock = new VirtualClock();
  const connection = new Connection(server, resolveConnectOptions({ requestTimeoutMs: 1_000, ...options }), clock, new SeededRandom(1));
  await connection.open();
  return { connection, clock };
}

/** Lets queued microtasks and immediates run (frames crossing the fake transport). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
