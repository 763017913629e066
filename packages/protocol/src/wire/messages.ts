/**
 * The control payloads of the wire protocol: the JSON of HELLO / WELCOME / ERROR / END, and of
 * each REQUEST op with its RESPONSE. docs/protocol.md documents each with its grammar. Offsets
 * are bigints in the API and decimal strings in JSON (JSON numbers lose precision past 2^53).
 */
import type { WireGroupDescription } from './group-description.js';
import type { WireTopicDescription } from './topic-description.js';
import type { OptionKeys } from '../option-keys.js';

export const PROTOCOL_VERSION = 2;

/** WebSocket close codes the server uses; the client maps them to BrookError codes. */
export const CloseCode = {
  NORMAL: 1000,
  /** The server is shutting down. Reconnect elsewhere or later. */
  GOING_AWAY: 1001,
  /** A frame could not be decoded (see FrameFailure), or HELLO was not the first frame. */
  PROTOCOL_ERROR: 1002,
  /** A text message: Brook speaks binary frames only. */
  UNSUPPORTED_DATA: 1003,
  /** HELLO's token is missing or wrong. */
  UNAUTHORIZED: 4001,
  /** A frame larger than frameBytesMax (ws sends 1009 itself when it sees the length). */
  MESSAGE_TOO_BIG: 1009,
  /** connectionsMax reached. */
  TRY_AGAIN_LATER: 1013,
  /** HELLO asked for a protocol version this server does not speak. */
  UNSUPPORTED_VERSION: 4000,
  /** No HELLO within handshakeTimeoutMs. */
  HANDSHAKE_TIMEOUT: 4002,
  /** No pong within idleTimeoutMs of a ping, and none of the bytes queued for the client taken. */
  IDLE_TIMEOUT: 4003,
} as const;

export interface Hello {
  version: number;
  /** Free text for logs and describeGroup (member names). */
  client: string;
  token?: string;
  /** Optional features the client understands (taken-back.ts `Feature`); absent from a client from before them. */
  features?: string[];
}

/** Limits the server enforces, announced so a client can stay inside them. */
export interface SessionLimits {
  frameBytesMax: number;
  batchRecordsMax: number;
  /** The broker's batchBytesMax: the largest produce batch, header included. */
  batchBytesMax: number;
  subscriptionsMax: number;
  requestsInFlightMax: number;
  /**
   * The broker's timestampAheadMsMax: how far ahead of its wall clock a produced record's
   * timestamp may be (0 or more). Optional, as every field added within a protocol version: a
   * broker from before it sends none (and takes any timestamp).
   */
  timestampAheadMsMax?: number;
}

export interface Welcome {
  version: number;
  server: 'brook';
  sessionId: string;
  /**
   * The broker's data directory incarnation (initProducer's `incarnation`). Optional: a broker
   * from before incarnations sends none.
   */
  incarnation?: string;
  limits: SessionLimits;
  /** The features of HELLO's that this session uses; absent from a broker from before features. */
  features?: string[];
}

export interface WireError {
  code: string;
  message: string;
  retriable: boolean;
  /** The BrookError's details; its bigints as decimal strings, their keys in `bigintDetails`. */
  details?: Record<string, unknown>;
  /**
   * The keys of `details` whose values were bigints (offsets, producer ids) and are now decimal
   * strings: the client turns exactly these back into bigints, so an error's details have the
   * same types in process and over the client, and a string the user sent stays a string.
   */
  bigintDetails?: string[];
}

export type WireStartPosition = 'earliest' | 'latest' | { offset: string } | { timestamp: number };

export interface WireRetention {
  maxBytes?: number;
  maxAgeMs?: number;
  discard?: 'old' | 'new';
}

/** The keys of a retention policy, of a group's backoff and of redrive's options, in process and on the wire alike. */
export const RETENTION_OPTION_KEYS: OptionKeys<WireRetention> = { maxBytes: true, maxAgeMs: true, discard: true };
export const REDRIVE_OPTION_KEYS: OptionKeys<Omit<RequestArgs<'redrive'>, 'deadLetterTopic'>> = { maxRecords: true, endOffsets: true };
export const BACKOFF_OPTION_KEYS: OptionKeys<NonNullable<WireSubscribeOptions['backoff']>> = {
  initialMs: true, maxMs: true, multiplier: true, jitter: true,
};

export interface WireSubscribeOptions {
  topic: string;
  group?: string;
  name?: string;
  ordering?: 'none' | 'key' | 'partition';
  maxInFlight?: number;
  ackTimeoutMs?: number;
  /**
   * Failed attempts after which a record is dead-lettered. A 'partition' go-back or rebalance is
   * none, so deliveryCount may pass it (docs/semantics.md, "Redelivery").
   */
  maxDeliveries?: number;
  backoff?: { initialMs?: number; maxMs?: number; multiplier?: number; jitter?: number };
  deadLetterTopic?: string;
  from?: WireStartPosition;
}

/** Ranges of delivery ids, inclusive both ends: [[first, last], ...]. */
export type IdRanges = [number, number][];

/** Delivery ids as sorted inclusive ranges: [5, 3, 4, 9] → [[3, 5], [9, 9]] (sorts `ids` in place if need be). */
export function toRanges(ids: number[]): IdRanges {
  if (ids.length === 0) return [];
  let sorted = true;
  for (let i = 1; i < ids.length && sorted; i++) sorted = ids[i - 1]! < ids[i]!;
  if (!sorted) ids.sort((a, b) => a - b);
  const ranges: IdRanges = [];
  let first = ids[0]!;
  let last = first;
  for (let i = 1; i < ids.length; i++) {
    const id = ids[i]!;
    if (id === last) continue;
    if (id !== last + 1) {
      ranges.push([first, last]);
      first = id;
    }
    last = id;
  }
  ranges.push([first, last]);
  return ranges;
}

/** Request op → [arguments, result]. */
export interface Requests {
  createTopic: [{ name: string; partitions?: number; retention?: WireRetention }, Record<string, never>];
  deleteTopic: [{ name: string }, Record<string, never>];
  listTopics: [Record<string, never>, { topics: string[] }];
  describeTopic: [{ name: string }, WireTopicDescription];
  /** `incarnation` is absent from the answer of a broker from before incarnations. */
  initProducer: [{ producerId?: string; bumpEpoch?: boolean; incarnation?: string }, { producerId: string; producerEpoch: number; incarnation?: string }];
  /** data: one RecordBatch v2 for the partition; `incarnation`: the one its producer id was issued under. */
  produce: [{ topic: string; partition: number; incarnation?: string }, { baseOffset: string; lastOffset: string; duplicate: boolean }];
  /** The first offset whose record's timestamp is >= timestampMs (the partition's endOffset if none). */
  offsetForTimestamp: [{ topic: string; partition: number; timestampMs: number }, { offset: string }];
  /** Response data: one RecordBatch of consecutive records from `offset` (empty if none). */
  fetch: [{ topic: string; partition: number; offset: string; maxRecords?: number; maxBytes?: number }, { count: number }];
  /** `maxInFlight` (the member's credit, the broker's default filled in) is absent from the answer of a broker from before it. */
  subscribe: [WireSubscribeOptions, { subscription: number; memberId: string | null; maxInFlight?: number; ackTimeoutMs?: number | null }];
  /** abort: leave at once (what it holds is redelivered, but `release`: ids its consumer never saw, given back first with no attempt); otherwise wait until settled. */
  unsubscribe: [{ subscription: number; abort?: boolean; release?: IdRanges; receivedThrough?: number }, Record<string, never>];
  settle: [
    {
      subscription: number;
      ack?: IdRanges;
      /** `[id, delayMs]`, or `[id, delayMs, reason]`: what failed (a broker from before reasons refuses the triple). */
      nack?: ([number, number | null] | [number, number | null, string])[];
      extend?: [number, number | null][];
      reject?: [number, string][];
      /** Delivered ids the consumer never saw (its client let them go unread): given back, no attempt. */
      release?: IdRanges;
      /**
       * The consumer can take the next message, though it has nothing to settle (TAKEN_BACK dropped
       * what it held unseen): proof that it runs, as a settlement is. Sent only to a server that
       * sends TAKEN_BACK; one from before the field ignores it.
       */
      alive?: boolean;
    },
    /** stale: the acked and rejected ids that did nothing (taken back, or not outstanding); absent if none. */
    { stale?: IdRanges },
  ];
  listGroups: [{ topic?: string }, { groups: { topic: string; group: string }[] }];
  describeGroup: [{ topic: string; group: string }, WireGroupDescription];
  resetGroup: [{ topic: string; group: string; to: WireStartPosition }, { positions: string[] }];
  deleteGroup: [{ topic: string; group: string }, Record<string, never>];
  /** skipped: records left in the dead-letter topic because their origin topic or partition is gone (docs/semantics.md). */
  redrive: [{ deadLetterTopic: string; maxRecords?: number; endOffsets?: string[] }, { moved: number; skipped: number }];
}

export type RequestOp = keyof Requests;
export type RequestArgs<Op extends RequestOp> = Requests[Op][0];
export type RequestResult<Op extends RequestOp> = Requests[Op][1];

/**
 * The in-process seam: a broker object hands out sessions that speak the same frames as a
 * WebSocket connection, so `connect(broker)` behaves exactly like `connect(url)` (one server
 * code path, one client code path). The client sees the broker only through this interface.
 */
export interface FramePeer {
  /** Takes one frame from the session (server → client). */
  send(frame: Uint8Array): void;
  /** The session ends the connection. */
  close(code: number, reason: string): void;
  /**
   * Bytes sent and not yet taken by the other side (ws bufferedAmount; 0 in-process). A peer that
   * can report more than 0 must tell the broker's session when its buffer empties (the WebSocket
   * server calls `Session.drained()` on the socket's 'drain'): a session held for sendBufferBytesMax
   * waits for that.
   */
  readonly bufferedAmount: number;
  /** Stop reading frames from the client (requestsInFlightMax reached): TCP backpressure. */
  pause(): void;
  resume(): void;
}

export interface FrameSession {
  /** One frame from the client. */
  receive(frame: Uint8Array): void;
  /** The client went away: abort its subscriptions, forget its requests. */
  disconnected(): void;
}

export interface SessionHost {
  openSession(peer: FramePeer, info: { remote: string }): FrameSession;
}
