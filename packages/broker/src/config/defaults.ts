/**
 * Every tunable of the broker core, its default, and its limits, in one frozen table.
 * Units are last in each name. `validateLimits` checks a merged options object against this table
 * at construction, so a bad option fails early with INVALID_CONFIG instead of misbehaving later.
 */
import { DEFAULT_MAX_BATCH_BYTES, MAX_IN_FLIGHT_DEFAULT, checkLimitValue, parseFsyncPolicy, type FsyncPolicy, type Limit } from '@brook/protocol';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The largest batch a log holds (64 MiB): what its scans and the decoders take, a larger length
 * field being corrupt. Produces are held to batchBytesMax, whose max stays
 * STORED_COPY_ROOM_BYTES below it: a dead-letter copy of a record taken at the limit carries a
 * trailer (up to 2 KiB each, one more each time it is given up on again) and must still fit.
 */
export const STORED_BATCH_BYTES_MAX = DEFAULT_MAX_BATCH_BYTES;
const STORED_COPY_ROOM_BYTES = 64 * KiB;

export type { FsyncPolicy, Limit };

export const LIMITS = Object.freeze({
  segmentBytesMax: {
    default: 64 * MiB, min: 4 * KiB, max: 2 * GiB - 1,
    doc: 'A segment rolls before a batch would take it past this size (a lone larger batch still fits). Index positions are u32, hence the max.',
  },
  segmentMsMax: {
    default: 7 * DAY_MS, min: 1, max: 365 * DAY_MS,
    doc: "A segment rolls at the next append once its first record's timestamp is this old.",
  },
  timestampAheadMsMax: {
    default: 60 * 60 * 1000, min: 0, max: Number.MAX_SAFE_INTEGER,
    doc: "How far ahead of the broker's wall clock a produced record's timestamp may be (INVALID_REQUEST beyond), as Kafka's message.timestamp.after.max.ms: maxAgeMs retention keeps a segment until its newest record is old, so one record stamped in the year 3000 would keep its partition's records for good.",
  },
  indexIntervalBytes: {
    default: 4 * KiB, min: 64, max: 1 * MiB,
    doc: 'Log bytes between two sparse index entries: a read scans at most about this much before its offset.',
  },
  logTailCacheBytes: {
    default: 1 * MiB, min: 0, max: 256 * MiB,
    doc: "Per partition: bytes of the latest appended batches kept in memory, so consumers at the tail get them without a file read and its CRC check. 0 turns it off.",
  },
  batchBytesMax: {
    default: 1 * MiB, min: 1 * KiB, max: STORED_BATCH_BYTES_MAX - STORED_COPY_ROOM_BYTES,
    doc: 'Largest encoded record batch a produce may append (MESSAGE_TOO_LARGE beyond). The max is 64 KiB under the 64 MiB a stored batch may have, room for the trailers of dead-letter copies.',
  },
  batchRecordsMax: {
    default: 10_000, min: 1, max: 1_000_000,
    doc: 'Most records one produce call may append to one partition.',
  },
  partitionsMax: {
    default: 1024, min: 1, max: 1024,
    doc: 'Most partitions one topic may have.',
  },
  fetchRecordsMax: {
    default: 10_000, min: 1, max: 1_000_000,
    doc: 'Most records one fetch may return.',
  },
  fetchBytesMax: {
    default: 4 * MiB, min: 1 * KiB, max: 256 * MiB,
    doc: 'Most log bytes one fetch reads; a fetch always returns at least one batch if any is there.',
  },
  retentionCheckIntervalMs: {
    default: 30_000, min: 1, max: DAY_MS,
    doc: 'How often the broker applies each topic\'s retention policy.',
  },
  maxInFlight: {
    default: MAX_IN_FLIGHT_DEFAULT, min: 1, max: 100_000,
    doc: 'Per consumer: most deliveries it holds unacked at once (the prefetch / credit window).',
  },
  ackTimeoutMs: {
    default: 30_000, min: 1, max: DAY_MS,
    doc: "Lease: how long a consumer has to ack, nack or extend a delivery before it is redelivered (under 'partition' its member also loses its partitions until it settles again).",
  },
  maxDeliveries: {
    default: 1_000_000, min: 1, max: 1_000_000,
    doc: "Failed attempts (nack, lease run out, crash) after which a record is dead-lettered; a 'partition' go-back or rebalance is none. The default is effectively unlimited, like NATS MaxDeliver -1; set it low to get a dead-letter topic.",
  },
  groupUnackedRecordsMax: {
    default: 10_000, min: 1, max: 1_000_000,
    doc: 'Per group and partition: most records held between ackFloor and the read position (in flight, backing off, blocked behind a key). Reading pauses at the limit.',
  },
  groupJournalBytesMax: {
    default: 4 * MiB, min: 4 * KiB, max: 1 * GiB,
    doc: 'A group journal is compacted into a snapshot once it grows past this.',
  },
  backoffInitialMs: {
    default: 100, min: 0, max: DAY_MS,
    doc: 'Delay before the second attempt of a record after a nack or lease expiry.',
  },
  backoffMaxMs: {
    default: 60_000, min: 0, max: DAY_MS,
    doc: 'Cap on the redelivery delay.',
  },
  producersPerPartitionMax: {
    default: 1024, min: 1, max: 1_000_000,
    doc: 'Idempotent producers one partition remembers; beyond it the least recently used is forgotten (its next batch gets UNKNOWN_PRODUCER_ID unless it starts a new sequence at 0).',
  },
  producerSnapshotIntervalMs: {
    default: 30_000, min: 1, max: DAY_MS,
    doc: "How often a partition's producer state is written to its snapshot file if the log moved: bounds what a restart must replay.",
  },
  frameBytesMax: {
    default: 8 * MiB, min: 1 * KiB, max: 256 * MiB,
    doc: 'Server: largest WebSocket frame accepted (ws maxPayload); a larger one closes the connection with 1009.',
  },
  connectionsMax: {
    default: 1024, min: 1, max: 1_000_000,
    doc: 'Server: concurrent WebSocket connections; the next one is closed with 1013 (try again later).',
  },
  subscriptionsMax: {
    default: 64, min: 1, max: 100_000,
    doc: 'Server: subscriptions one connection may hold; one more is refused with INVALID_REQUEST { limit: "subscriptionsMax" }.',
  },
  requestsInFlightMax: {
    default: 64, min: 1, max: 100_000,
    doc: 'Server: requests one connection may have pending; at the limit the server stops reading the socket until answers drain.',
  },
  sendBufferBytesMax: {
    default: 4 * MiB, min: 64 * KiB, max: 1 * GiB,
    doc: "Server: bytes a connection's socket may hold unsent (ws bufferedAmount) before the server stops reading that client's requests and holds its DELIVER frames back, until the socket drains. The min is above the socket's write high-water mark (16 KiB on Node 20, 64 KiB from Node 22; the test is a strict >), so going over it always ends in a 'drain' event.",
  },
  deliverRecordsMax: {
    default: 1000, min: 1, max: 100_000,
    doc: 'Server: most records in one DELIVER frame.',
  },
  handshakeTimeoutMs: {
    default: 5000, min: 1, max: DAY_MS,
    doc: 'Server: time a new connection has to send HELLO before it is closed with 4002.',
  },
  idleTimeoutMs: {
    default: 30_000, min: 1, max: DAY_MS,
    doc: 'Server: a ping goes out every idleTimeoutMs; a connection with no pong (or other message) by the next ping, that took none of the bytes queued for it either, is closed with 4003.',
  },
  closeGraceMs: {
    default: 2_000, min: 0, max: 60_000,
    doc: "Server: how long a client has to answer the server's close frame (1001 at broker.close(), a protocol error, a refused handshake) before its socket is cut, freeing its connectionsMax slot. A client that stopped reading never answers; ws alone would wait its closeTimeout (30 s).",
  },
} as const satisfies Record<string, Limit>);

export const DEFAULT_FSYNC: FsyncPolicy = 'always';

/**
 * Throws INVALID_CONFIG unless `value` is an integer within `LIMITS[name]`. The error names
 * `option`, the key as the caller wrote it, where that differs from the table's name.
 */
export function checkLimit(name: keyof typeof LIMITS, value: unknown, option: string = name): number {
  return checkLimitValue(option, LIMITS[name], value);
}

/** Returns `value` checked against its limit, or the limit's default when `value` is undefined. */
export function limitOrDefault(name: keyof typeof LIMITS, value: unknown, option: string = name): number {
  return value === undefined ? LIMITS[name].default : checkLimit(name, value, option);
}

/** The broker's fsync option; { intervalMs } at least 1 ms. */
export function checkFsyncPolicy(value: unknown): FsyncPolicy {
  return parseFsyncPolicy(value, DEFAULT_FSYNC, FSYNC_INTERVAL_MS);
}

export const FSYNC_INTERVAL_MS: Limit = { default: 10, min: 1, max: DAY_MS, doc: 'fsync { intervalMs }: the time between two fsyncs (at most a day, as for the WAL).' };
