/**
 * Test support for Session: a fake FramePeer that decodes what the session sends, and a broker on
 * a VirtualClock with memory storage, so each test drives one connection frame by frame.
 */
import {
  FrameKind, PROTOCOL_VERSION, VirtualClock, decodeDeliveries, decodeFrame, encodeBatch, encodeFrame, stableJson,
  type DecodedDelivery, type Frame, type FramePeer, type FrameSession, type RecordInput,
} from '@brook/protocol';
import { Broker } from '../broker.js';
import { resolveServerLimits, type ServerLimits } from '../config/server-options.js';
import { LIMITS } from '../config/defaults.js';
import { Session } from './session.js';

export class FakePeer implements FramePeer {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  /** Bytes sent that the client has not read: they pile up after stopReading(). */
  bufferedAmount = 0;
  paused = false;
  private reading = true;
  private readonly claimed = new Set<Frame>();
  private waiters: { match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }[] = [];

  send(bytes: Uint8Array): void {
    if (!this.reading) this.bufferedAmount += bytes.length;
    const frame = decodeFrame(bytes);
    this.frames.push(frame);
    const waiter = this.waiters.find((w) => w.match(frame));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(frame);
    }
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }

  /** The client stops reading its socket: what is sent from now on stays in bufferedAmount. */
  stopReading(): void {
    this.reading = false;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** The first frame (already sent or still to come) matching `match`, each frame taken once. */
  next(match: (frame: Frame) => boolean): Promise<Frame> {
    const taken = this.frames.find((frame) => match(frame) && !this.claimed.has(frame));
    if (taken) {
      this.claimed.add(taken);
      return Promise.resolve(taken);
    }
    return new Promise((resolve) => this.waiters.push({ match: (f) => match(f) && !this.claimed.has(f), resolve: (f) => (this.claimed.add(f), resolve(f)) }));
  }

  of(kind: number): Frame[] {
    return this.frames.filter((frame) => frame.kind === kind);
  }
}

export interface SessionFixture {
  readonly clock: VirtualClock;
  readonly broker: Broker;
  readonly peer: FakePeer;
  readonly session: FrameSession;
  /** Failures that were not BrookErrors (only for a fixture with its own limits or token). */
  readonly internalErrors: unknown[];
  hello(json?: Record<string, unknown>): Promise<Frame>;
  /** Sends a REQUEST; resolves with its RESPONSE or ERROR. */
  request(op: string, args?: Record<string, unknown>, data?: Uint8Array): Promise<Frame>;
  /** Sends a REQUEST; resolves with its RESPONSE json, failing the test on ERROR. */
  ok(op: string, args?: Record<string, unknown>, data?: Uint8Array): Promise<Record<string, unknown>>;
  /** The next DELIVER frame of `subscription`, decoded. */
  deliveries(subscription: number): Promise<DecodedDelivery[]>;
  /** The client reads what the peer has buffered (and goes on as before): the session hears 'drain'. */
  drain(): void;
  close(): Promise<void>;
}

export async function sessionFixture(options: { limits?: Partial<ServerLimits>; token?: string; broker?: Broker; clock?: VirtualClock } = {}): Promise<SessionFixture> {
  const clock = options.clock ?? new VirtualClock();
  const broker = options.broker ?? (await Broker.open({ storage: 'memory', clock }));
  const peer = new FakePeer();
  const internalErrors: unknown[] = [];
  // Custom limits or a token need a Session of its own; otherwise the broker's, as connect(broker) gets.
  // The broker's sessions are Sessions too; drained() is the WebSocket server's call, not FrameSession's.
  const session = options.limits === undefined && options.token === undefined ? broker.openSession(peer, { remote: 'test' }) as Session : new Session(broker, peer, {
    sessionId: 'test', remote: 'test', limits: resolveServerLimits(options.limits), token: options.token, batchLimits: { batchRecordsMax: LIMITS.batchRecordsMax.default, batchBytesMax: LIMITS.batchBytesMax.default, timestampAheadMsMax: LIMITS.timestampAheadMsMax.default }, clock,
    onInternalError: (error) => void internalErrors.push(error),
    onEnd: () => undefined,
  });
  let nextRequestId = 1;
  const request = (op: string, args: Record<string, unknown> = {}, data?: Uint8Array): Promise<Frame> => {
    const requestId = nextRequestId++;
    session.receive(encodeFrame(FrameKind.REQUEST, requestId, stableJson({ ...args, op }), data));
    return peer.next((f) => (f.kind === FrameKind.RESPONSE || f.kind === FrameKind.ERROR) && f.requestId === requestId);
  };
  return {
    clock, broker, peer, session, request, internalErrors,
    hello: (json = { version: PROTOCOL_VERSION, client: 'test' }) => {
      session.receive(encodeFrame(FrameKind.HELLO, 0, stableJson(json)));
      return peer.next((f) => f.requestId === 0);
    },
    ok: async (op, args, data) => {
      const frame = await request(op, args, data);
      if (frame.kind !== FrameKind.RESPONSE) throw new Error(`${op} failed: ${JSON.stringify(frame.json)}`);
      return frame.json;
    },
    deliveries: async (subscription) => {
      const frame = await peer.next((f) => f.kind === FrameKind.DELIVER && f.requestId === subscription);
      return decodeDeliveries(frame.json['first'] as number, frame.json['count'] as number, frame.data);
    },
    drain: () => {
      peer.bufferedAmount = 0;
      session.drained();
    },
    close: () => broker.close(),
  };
}

export function batchOf(values: string[], options: { timestamp?: number } = {}): Uint8Array {
  const records: RecordInput[] = values.map((value) => ({ key: null, value: new TextEncoder().encode(value), timestamp: options.timestamp ?? 1_700_000_000_000 }));
  return encodeBatch(records);
}

export const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : new TextDecoder().decode(bytes));
