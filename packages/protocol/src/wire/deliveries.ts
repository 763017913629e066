/**
 * A DELIVER frame: which records a subscription gets, and on which attempt.
 *
 *   Deliveries =>                    (the frame's json is { first, count, lostToRetention? })
 *     crc            uint32          CRC-32C of the rest of the data: entries and records
 *     Entry × count
 *       partition      int32
 *       offset         int64         the record's offset in its partition
 *       deliveryCount  int32         attempts so far, this one included (1 = first delivery)
 *       timestamp      int64         the record's timestamp, ms since the epoch
 *     records        Record × count  in entry order, each in RecordBatch v2's Record grammar
 *                                    (record-batch.ts), exactly as its partition's log stores it
 *
 * A record's own timestampDelta and offsetDelta are relative to the batch that stored it, which
 * the frame does not carry: a reader skips them and takes the entry's offset and timestamp. That
 * is what lets the server copy stored records as they are (neighbouring records of one stored
 * batch in one copy) instead of decoding them and encoding a new batch. The CRC covers every
 * byte from server to client.
 *
 * Entry i gets delivery id first + i: the client settles deliveries by these ids (settle
 * request, acks as ranges). Ids are per connection and increase by one per delivery, so a
 * client that acks in order sends one range however many records it acked.
 *
 * `lostToRetention` (a tail reader's frames only, absent when 0): the records retention deleted
 * before the reader handed them out, since its previous frame, as a decimal string.
 */
import { crc32c } from '../crc32c.js';
import { BrookError, assert } from '../errors.js';
import { getInt64AsNumber, setSafeInteger64 } from '../int64.js';
import type { LogRecord, RecordHeader } from '../record-batch.js';
import type { StoredRecord } from '../stored-record.js';
import { RecordDecoder, corruptBatch } from '../record-decoder.js';
import { FRAME_HEADER_BYTES, FrameKind, allocateFrame } from './frame.js';
import { stableJson } from './stable-json.js';
import { showValue } from '../show-value.js';

export const DELIVERY_ENTRY_BYTES = 24;
const CRC_BYTES = 4;

/**
 * The most a DELIVER frame takes beside its entries and records: the frame header, the CRC and the
 * longest json (every number at its widest: ids and counts up to 2^53, lostToRetention up to
 * 2^63). A server cutting deliveries to frameBytesMax must count this much; a fixed 64 bytes
 * let a tail reader's frame with a lostToRetention pass the limit by tens of bytes.
 */
export const DELIVER_FRAME_OVERHEAD_BYTES_MAX = FRAME_HEADER_BYTES + CRC_BYTES
  + stableJson({ first: Number.MAX_SAFE_INTEGER, count: Number.MAX_SAFE_INTEGER, lostToRetention: String((1n << 63n) - 1n) }).length;

/** What the server knows of a delivery when it frames it. */
export interface WireDelivery {
  readonly partition: number;
  readonly deliveryCount: number;
  readonly record: StoredRecord;
}

export interface DecodedDelivery {
  deliveryId: number;
  partition: number;
  offset: bigint;
  deliveryCount: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: readonly RecordHeader[];
}

/** The bytes a delivery adds to a DELIVER frame's data: its entry and its record. */
export function deliveryBytes(delivery: WireDelivery): number {
  return DELIVERY_ENTRY_BYTES + delivery.record.sourceEnd - delivery.record.sourceStart;
}

/** The DELIVER frame for `subscription` whose deliveries get ids first, first + 1, ... */
export function encodeDeliverFrame(subscription: number, first: number, deliveries: readonly WireDelivery[], lostToRetention = 0n): Uint8Array {
  let dataLength = CRC_BYTES;
  for (const delivery of deliveries) dataLength += deliveryBytes(delivery);
  const json = stableJson({ first, count: deliveries.length, ...(lostToRetention > 0n && { lostToRetention: String(lostToRetention) }) });
  const { frame, dataStart } = allocateFrame(FrameKind.DELIVER, subscription, json, dataLength);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let entryAt = dataStart + CRC_BYTES;
  let recordAt = entryAt + deliveries.length * DELIVERY_ENTRY_BYTES;
  // The run of stored bytes not yet copied: records that lie next to each other in one source.
  let run: Uint8Array | undefined;
  let runStart = 0;
  let runEnd = 0;
  for (const { partition, deliveryCount, record } of deliveries) {
    view.setInt32(entryAt, partition);
    view.setBigInt64(entryAt + 4, record.offset);
    view.setInt32(entryAt + 12, deliveryCount);
    setSafeInteger64(view, entryAt + 16, record.timestamp);
    entryAt += DELIVERY_ENTRY_BYTES;
    if (record.source === run && record.sourceStart === runEnd) {
      runEnd = record.sourceEnd;
      continue;
    }
    if (run) recordAt = copyRun(frame, recordAt, run, runStart, runEnd);
    run = record.source;
    runStart = record.sourceStart;
    runEnd = record.sourceEnd;
  }
  if (run) recordAt = copyRun(frame, recordAt, run, runStart, runEnd);
  assert(recordAt === frame.length, 'DELIVER records did not fill the frame', { recordAt, frameBytes: frame.length });
  view.setUint32(dataStart, crc32c(frame, dataStart + CRC_BYTES, frame.length));
  return frame;
}

function copyRun(frame: Uint8Array, at: number, source: Uint8Array, start: number, end: number): number {
  frame.set(source.subarray(start, end), at);
  return at + end - start;
}

/** Decodes a DELIVER frame's data. Throws BrookError CORRUPT_BATCH / INVALID_REQUEST on bad bytes. */
export function decodeDeliveries(first: number, count: number, data: Uint8Array): DecodedDelivery[] {
  const decoded: DecodedDelivery[] = [];
  readDeliveries(first, count, data, (deliveryId, partition, offset, deliveryCount, record) => {
    decoded.push({ deliveryId, partition, offset, deliveryCount, timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers });
  });
  return decoded;
}

/** One entry of a DELIVER frame, as readDeliveries hands it over. */
export type DeliveryVisitor = (deliveryId: number, partition: number, offset: bigint, deliveryCount: number, record: LogRecord) => void;

/**
 * The last delivery id of a DELIVER frame's json `{ first, count }`. A server's frame is not
 * trusted: unless both are integers, `first` >= 0 and `count` >= 1, with that last id still a safe
 * integer, it is INVALID_REQUEST (a client closes the connection 1002 on it).
 */
export function lastDeliveryId(first: unknown, count: unknown): number {
  if (Number.isSafeInteger(first) && (first as number) >= 0 && Number.isSafeInteger(count) && (count as number) >= 1) {
    const last = (first as number) + ((count as number) - 1); // not first + count - 1: first + count may round past 2^53
    if (Number.isSafeInteger(last)) return last;
  }
  throw new BrookError('INVALID_REQUEST', `DELIVER frame: bad first ${showValue(first)} / count ${showValue(count)}`, { first, count });
}

/**
 * Decodes a DELIVER frame's data and hands each entry to `visit`, in order, with its record: a
 * consumer builds its message object straight from them, with no object per entry in between.
 * The whole frame is checked before the first visit. Throws BrookError CORRUPT_BATCH (bad CRC,
 * bad record) or INVALID_REQUEST (first / count do not fit the data).
 */
export function readDeliveries(first: number, count: number, data: Uint8Array, visit: DeliveryVisitor): void {
  lastDeliveryId(first, count);
  const recordsStart = CRC_BYTES + count * DELIVERY_ENTRY_BYTES;
  if (recordsStart > data.length) {
    throw new BrookError('INVALID_REQUEST', `DELIVER frame: ${count} entries do not fit ${data.length} data bytes`, { first, count });
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stored = view.getUint32(0);
  const computed = crc32c(data, CRC_BYTES, data.length);
  if (stored !== computed) throw corruptBatch('bad-crc', 0, `DELIVER frame: stored CRC-32C ${stored}, computed ${computed}`);
  const records = new DeliveredRecordDecoder(data, view, count).decodeAll();
  for (let index = 0; index < count; index++) {
    const at = CRC_BYTES + index * DELIVERY_ENTRY_BYTES;
    const record = records[index]!;
    visit(first + index, view.getInt32(at), record.offset, view.getInt32(at + 12), record);
  }
}

/** A DELIVER frame's records: each one's offset and timestamp come from its entry. */
class DeliveredRecordDecoder extends RecordDecoder {
  constructor(data: Uint8Array, private readonly view: DataView, count: number) {
    super(data, 0, CRC_BYTES + count * DELIVERY_ENTRY_BYTES, data.length, count);
  }

  protected place(_offsetDelta: number, _timestampDelta: number, build: boolean): void {
    const at = CRC_BYTES + this.index * DELIVERY_ENTRY_BYTES;
    this.offset = build ? this.view.getBigInt64(at + 4) : 0n;
    this.timestamp = getInt64AsNumber(this.view, at + 16);
  }
}
