/**
 * The client's options: every default in one frozen table, every value checked once at the API
 * boundary (INVALID_CONFIG naming the option), every key too (checkOptionKeys), units in the names.
 */
import { BrookError, checkOptionKeys, showValue, type Clock, type OptionKeys, type Random } from '@brook/protocol';
import type { HeartbeatPolicy } from './transport/heartbeat.js';

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialDelayMs: number;
  /** Cap on the exponential delay before jitter: one delay is at most maxDelayMs × (1 + jitter). */
  maxDelayMs: number;
  /** Each further attempt multiplies the delay by this. */
  multiplier: number;
  /** 0..1: each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
}

export interface ReconnectPolicy extends BackoffPolicy {
  /** Attempts after a drop before the client gives up and closes with DISCONNECTED. */
  attemptsMax: number;
}

export interface ConnectOptions {
  /** Sent in HELLO; a server started with a token refuses connections without it (UNAUTHORIZED). */
  token?: string;
  /** Sent in HELLO, and the name describeGroup gives this client's group members (a subscribe's own `name` wins). */
  name?: string;
  /** WebSocket only: reconnect after a dropped connection (default true), or tune the backoff. */
  reconnect?: boolean | Partial<ReconnectPolicy>;
  /**
   * How long opening a connection may take, the socket's opening and the HELLO / WELCOME
   * handshake together, for connect() and for each reconnect attempt: a server (or a path) that
   * takes the TCP connection and never answers fails the attempt with TIMEOUT (retriable, so a
   * reconnect goes on to its next attempt, up to reconnect.attemptsMax).
   */
  connectTimeoutMs?: number;
  /** How long any request may wait for its answer before failing with TIMEOUT. */
  requestTimeoutMs?: number;
  /**
   * WebSocket only: ping the server this often, so that a connection whose peer vanished without
   * closing it (a stalled network, no FIN) is noticed without any request. 0 sends no pings: such a
   * connection is then noticed only by a request timing out.
   */
  heartbeatIntervalMs?: number;
  /**
   * WebSocket only: if nothing comes from the server (pong, frame, ping) within this long of a
   * ping, the client drops the connection and reconnects as after any drop. Not while the server
   * holds requestsInFlightMax requests of ours (it reads no pings then): they time out first.
   */
  heartbeatTimeoutMs?: number;
  /**
   * WebSocket only: how long close() waits for the server to answer the close frame before it
   * drops the socket (a stalled peer never answers).
   */
  closeTimeoutMs?: number;
  /** Time source for timeouts, linger and backoff. Default: a SystemClock. */
  clock?: Clock;
  /** Jitter source for backoff. Default: a SeededRandom seeded from the clock. */
  random?: Random;
}

export interface ProducerOptions {
  /** Wait this long for more records before sending a batch; 0 sends at the end of the current tick. A full batch (batchRecordsMax, batchBytesMax) does not wait. */
  lingerMs?: number;
  /** Most records in one batch (also capped by the server's batchRecordsMax). */
  batchRecordsMax?: number;
  /** Most encoded record bytes in one batch (also capped by the server's batchBytesMax and frameBytesMax, less the batch header). */
  batchBytesMax?: number;
  /**
   * A send fails with TIMEOUT unless its records are persisted within this long of the send()
   * call, everything included: the partition lookup of a first send to a topic, waiting for
   * buffer room (bufferBytesMax) and every retry share this one bound.
   */
  deliveryTimeoutMs?: number;
  /**
   * Most record bytes held in unfinished batches (collecting, in flight or retrying). A send that
   * would pass it waits until earlier batches are persisted: backpressure for a caller that does
   * not await its sends, instead of unbounded memory. A single send larger than this fails with
   * MESSAGE_TOO_LARGE.
   */
  bufferBytesMax?: number;
  /** Producer id + per-partition sequence numbers, so resends never duplicate. Default true. */
  idempotent?: boolean;
  /** Backoff between resends of a batch after a retriable error. */
  retryBackoff?: Partial<BackoffPolicy>;
  /**
   * How long a topic's partition count, looked up by the first send to it, is used before it is
   * looked up again, in the background (Kafka's metadata.max.age.ms): sends go on by the count
   * they have until the answer, so a topic created again with more partitions gets keyed records
   * by its new count about this long after (topic-partitions.ts, `current`).
   */
  metadataMaxAgeMs?: number;
}

export const DEFAULTS = Object.freeze({
  name: 'brook-client',
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  heartbeatIntervalMs: 10_000,
  heartbeatTimeoutMs: 10_000,
  closeTimeoutMs: 2_000,
  reconnect: Object.freeze({ initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2, jitter: 0.5, attemptsMax: Number.POSITIVE_INFINITY }),
  producer: Object.freeze({
    lingerMs: 0,
    batchRecordsMax: 10_000,
    batchBytesMax: 1024 * 1024,
    deliveryTimeoutMs: 120_000,
    bufferBytesMax: 32 * 1024 * 1024,
    idempotent: true,
    retryBackoff: Object.freeze({ initialDelayMs: 50, maxDelayMs: 2_000, multiplier: 2, jitter: 0.2 }),
    metadataMaxAgeMs: 300_000,
  }),
});

const BACKOFF_KEYS: OptionKeys<BackoffPolicy> = { initialDelayMs: true, maxDelayMs: true, multiplier: true, jitter: true };
const RECONNECT_KEYS: OptionKeys<ReconnectPolicy> = { ...BACKOFF_KEYS, attemptsMax: true };
const CONNECT_KEYS: OptionKeys<ConnectOptions> = {
  token: true, name: true, reconnect: true, connectTimeoutMs: true, requestTimeoutMs: true, heartbeatIntervalMs: true, heartbeatTimeoutMs: true, closeTimeoutMs: true,
  clock: true, random: true,
};
const PRODUCER_KEYS: OptionKeys<ProducerOptions> = {
  lingerMs: true, batchRecordsMax: true, batchBytesMax: true, deliveryTimeoutMs: true, bufferBytesMax: true, idempotent: true, retryBackoff: true,
  metadataMaxAgeMs: true,
};

export interface ResolvedConnectOptions {
  token: string | undefined;
  name: string;
  reconnect: ReconnectPolicy | undefined;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  heartbeat: HeartbeatPolicy;
  closeTimeoutMs: number;
}

export type ResolvedProducerOptions = Required<Omit<ProducerOptions, 'retryBackoff'>> & { retryBackoff: BackoffPolicy };

export function resolveConnectOptions(options: ConnectOptions): ResolvedConnectOptions {
  checkOptionKeys(options, CONNECT_KEYS);
  // Said by its type only: a secret given as a number (read from a config file) is still a secret.
  if (options.token !== undefined && typeof options.token !== 'string') {
    throw new BrookError('INVALID_CONFIG', `token must be a string, got a ${typeof options.token} (its value not shown)`, { option: 'token' });
  }
  const name = orDefault(options.name, DEFAULTS.name);
  if (typeof name !== 'string' || name.length === 0) throw invalid('name', name, 'a non-empty string');
  const reconnect = orDefault(options.reconnect, true);
  if (typeof reconnect !== 'boolean' && (typeof reconnect !== 'object' || reconnect === null)) throw invalid('reconnect', reconnect, 'a boolean or a backoff policy');
  return {
    token: options.token,
    name,
    reconnect: reconnect === false ? undefined : resolveReconnect(reconnect === true ? {} : reconnect),
    connectTimeoutMs: positive('connectTimeoutMs', orDefault(options.connectTimeoutMs, DEFAULTS.connectTimeoutMs)),
    requestTimeoutMs: positive('requestTimeoutMs', orDefault(options.requestTimeoutMs, DEFAULTS.requestTimeoutMs)),
    heartbeat: {
      intervalMs: nonNegative('heartbeatIntervalMs', orDefault(options.heartbeatIntervalMs, DEFAULTS.heartbeatIntervalMs)),
      timeoutMs: positive('heartbeatTimeoutMs', orDefault(options.heartbeatTimeoutMs, DEFAULTS.heartbeatTimeoutMs)),
    },
    closeTimeoutMs: positive('closeTimeoutMs', orDefault(options.closeTimeoutMs, DEFAULTS.closeTimeoutMs)),
  };
}

function resolveReconnect(policy: Partial<ReconnectPolicy>): ReconnectPolicy {
  checkOptionKeys(policy, RECONNECT_KEYS, 'reconnect');
  const attemptsMax = orDefault(policy.attemptsMax, DEFAULTS.reconnect.attemptsMax);
  if (!(attemptsMax === Number.POSITIVE_INFINITY || (Number.isInteger(attemptsMax) && attemptsMax >= 1))) {
    throw invalid('reconnect.attemptsMax', attemptsMax, 'a positive integer or Infinity');
  }
  return { ...resolveBackoff('reconnect', policy, DEFAULTS.reconnect), attemptsMax };
}

export function resolveProducerOptions(options: ProducerOptions): ResolvedProducerOptions {
  checkOptionKeys(options, PRODUCER_KEYS);
  const defaults = DEFAULTS.producer;
  const idempotent = orDefault(options.idempotent, defaults.idempotent);
  if (typeof idempotent !== 'boolean') throw invalid('idempotent', idempotent, 'a boolean');
  return {
    lingerMs: nonNegative('lingerMs', orDefault(options.lingerMs, defaults.lingerMs)),
    batchRecordsMax: positive('batchRecordsMax', orDefault(options.batchRecordsMax, defaults.batchRecordsMax)),
    batchBytesMax: positive('batchBytesMax', orDefault(options.batchBytesMax, defaults.batchBytesMax)),
    deliveryTimeoutMs: positive('deliveryTimeoutMs', orDefault(options.deliveryTimeoutMs, defaults.deliveryTimeoutMs)),
    bufferBytesMax: positive('bufferBytesMax', orDefault(options.bufferBytesMax, defaults.bufferBytesMax)),
    idempotent,
    retryBackoff: resolveRetryBackoff(options.retryBackoff),
    metadataMaxAgeMs: resolveMetadataMaxAge(options.metadataMaxAgeMs),
  };
}

/** The producers' `metadataMaxAgeMs` (the WAL producer's too). */
export function resolveMetadataMaxAge(value: number | undefined): number {
  return positive('metadataMaxAgeMs', orDefault(value, DEFAULTS.producer.metadataMaxAgeMs));
}

/** The producers' `retryBackoff` (the WAL producer's too). */
export function resolveRetryBackoff(policy: Partial<BackoffPolicy> = {}): BackoffPolicy {
  checkOptionKeys(policy, BACKOFF_KEYS, 'retryBackoff');
  return resolveBackoff('retryBackoff', policy, DEFAULTS.producer.retryBackoff);
}

function resolveBackoff(option: string, policy: Partial<BackoffPolicy>, defaults: BackoffPolicy): BackoffPolicy {
  const resolved = {
    initialDelayMs: nonNegative(`${option}.initialDelayMs`, orDefault(policy.initialDelayMs, defaults.initialDelayMs)),
    maxDelayMs: nonNegative(`${option}.maxDelayMs`, orDefault(policy.maxDelayMs, defaults.maxDelayMs)),
    multiplier: orDefault(policy.multiplier, defaults.multiplier),
    jitter: orDefault(policy.jitter, defaults.jitter),
  };
  if (typeof resolved.multiplier !== 'number' || !(resolved.multiplier >= 1)) throw invalid(`${option}.multiplier`, resolved.multiplier, 'a number >= 1');
  if (typeof resolved.jitter !== 'number' || !(resolved.jitter >= 0 && resolved.jitter <= 1)) throw invalid(`${option}.jitter`, resolved.jitter, 'a number in [0, 1]');
  if (resolved.maxDelayMs < resolved.initialDelayMs) throw invalid(`${option}.maxDelayMs`, resolved.maxDelayMs, `>= initialDelayMs (${resolved.initialDelayMs})`);
  return resolved;
}

/** `value`, or `fallback` when it is absent: only undefined takes the default, null is refused as any bad value is. */
function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

function positive(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(option, value, 'a positive integer');
  return value;
}

function nonNegative(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalid(option, value, 'a non-negative integer');
  return value;
}

export function invalid(option: string, value: unknown, expected: string): BrookError {
  return new BrookError('INVALID_CONFIG', `${option} must be ${expected}, got ${showValue(value)}`, { option });
}
