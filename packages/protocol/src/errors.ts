/**
 * Brook's one error type and its code table.
 *
 * Operating conditions (bad input, I/O failure, timeouts, full topics) are `BrookError`s the
 * caller handles; branch on `code`, never on `message`. A broken invariant is a bug and goes
 * through `assert` instead, which crashes loudly rather than pretending to be an error the
 * caller could handle.
 *
 * `retriable` says whether the same request may succeed if sent again unchanged (after a
 * backoff): a full topic may drain, a corrupt segment will not heal.
 */
export const ErrorCodes = {
  INVALID_REQUEST: { retriable: false, doc: 'The request is malformed or an argument is out of range.' },
  INVALID_TOPIC_NAME: { retriable: false, doc: 'Topic name is empty, too long, has characters outside [A-Za-z0-9._-], or is "." or "..".' },
  INVALID_CONFIG: { retriable: false, doc: 'An option is missing, of the wrong type or outside its limits.' },
  UNKNOWN_TOPIC: { retriable: false, doc: 'No topic of that name exists.' },
  UNKNOWN_PARTITION: { retriable: false, doc: 'The topic has no partition with that number.' },
  UNKNOWN_GROUP: { retriable: false, doc: 'No consumer group of that name exists on the topic.' },
  GROUP_NOT_EMPTY: {
    retriable: false,
    doc: 'The group has members (connected, or joining): deleteGroup refuses it until they have left. Not retriable: members leave when their consumers are stopped, not by waiting.',
  },
  TOPIC_EXISTS: { retriable: false, doc: 'A topic of that name already exists.' },
  MESSAGE_TOO_LARGE: { retriable: false, doc: 'A record or batch is larger than the configured limit.' },
  TOPIC_FULL: { retriable: true, doc: "The topic is at its retention limit with discard 'new'; retry once consumers free space." },
  OFFSET_OUT_OF_RANGE: { retriable: false, doc: 'The requested offset is below startOffset or above endOffset.' },
  CORRUPT_BATCH: { retriable: false, doc: 'A record batch failed validation (length, magic or CRC-32C).' },
  CORRUPT_SEGMENT: { retriable: false, doc: 'A sealed segment holds a bad batch; the log refuses to open rather than skip data.' },
  CORRUPT_METADATA: { retriable: false, doc: 'A metadata file (topic.json, ...) cannot be parsed or fails validation.' },
  OUT_OF_ORDER_SEQUENCE: { retriable: false, doc: "A producer batch's sequence number leaves a gap after the last one seen." },
  PRODUCER_FENCED: { retriable: false, doc: 'A newer epoch of this producer id exists; this instance must stop.' },
  UNKNOWN_PRODUCER_ID: {
    retriable: false,
    doc: 'The broker has no state for this producer id and epoch (never issued, or forgotten: evicted or removed by retention), so it cannot tell a retry from a new batch. Call initProducer again (bumpEpoch to keep the id) and restart sequences at 0.',
  },
  IO_ERROR: { retriable: true, doc: 'The file system failed a read, write or fsync (EIO, ENOSPC, ...).' },
  LOCKED: { retriable: false, doc: 'Another process holds the single-writer lock on this directory.' },
  CLOSED: { retriable: false, doc: 'The broker, log or handle was closed.' },
  TIMEOUT: { retriable: true, doc: 'The operation did not finish within its deadline.' },
  UNAUTHORIZED: { retriable: false, doc: 'The handshake token is missing or wrong.' },
  DISCONNECTED: {
    retriable: true,
    doc: 'The connection to the server dropped (or could not be opened) before the answer came: the request may or may not have taken effect. The client resends what is safe to resend (idempotent produce) after reconnecting.',
  },
  BUFFER_FULL: { retriable: true, doc: 'A bounded buffer is full and its policy is to reject, not wait.' },
  DELIVERY_STALE: {
    retriable: false,
    doc: 'The delivery was taken back before this ack or reject reached the broker (its lease expired, its member left, a rebalance or go-back took it): it did nothing, and the record is, or will be, delivered again.',
  },
} as const satisfies Record<string, { retriable: boolean; doc: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class BrookError extends Error {
  override readonly name = 'BrookError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  /** The message without its `CODE: ` prefix: what travels in an ERROR frame, so the other side
   * can rebuild the same error without doubling the prefix. */
  readonly description: string;
  /** Structured facts for logs and tests (file, position, limit, ...). Never parse `message`. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.description = message;
    this.retriable = ErrorCodes[code].retriable;
    this.details = Object.freeze({ ...details });
  }
}

export function isBrookError(error: unknown, code?: ErrorCode): error is BrookError {
  return error instanceof BrookError && (code === undefined || error.code === code);
}

/**
 * An invariant check. Failing means Brook has a bug: it throws a plain Error, never a BrookError.
 * The message is a constant; the values it concerns go in `detail`, which is turned into text
 * only when the check fails. A template string would be built on every call, numbers and bigints
 * converted to text, and some checks run once per record (one did: 2 % of the engine's time).
 */
export function assert(condition: unknown, message: string, detail?: Readonly<Record<string, unknown>>): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}${detail === undefined ? '' : ` (${formatDetail(detail)})`}`);
}

function formatDetail(detail: Readonly<Record<string, unknown>>): string {
  return Object.entries(detail).map(([name, value]) => `${name} ${String(value)}`).join(', ');
}
