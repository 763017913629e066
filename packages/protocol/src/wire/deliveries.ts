/**
 * The data of a DELIVER frame: which records a subscription gets, and on which attempt.
 *
 *   Deliveries =>                    (the frame's json is { first, count })
 *     Entry × count
 *       partition      int32
 *       offset         int64         the record's offset in its partition
 *       deliveryCount  int32         attempts so far, this one included (1 = first delivery)
 *     records          RecordBatch   v2, the count records in entry order: offsetDelta = entry
 *                                    index, baseOffset 0, real timestamps, keys, values, headers
 *
 * Entry i gets delivery id first + i: the client settles deliveries by these ids (settle
 * request, acks as ranges). Ids are per connection and increase by one per delivery, so a
 * client that acks in order sends one range however many records it acked.
 */
import { BrookError } from '../errors.js';
import { decodeBatch, encodeBatch, type LogRecord, type RecordHeader } from '../record-batch.js';

export const DELIVERY_ENTRY_BYTES = 16;

export interface WireDelivery {
  partition: number;
  offset: bigint;
  deliveryCount: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: readonly RecordHeader[];
}

export interface DecodedDelivery extends WireDelivery {
  deliveryId: number;
}

/** Encodes the data of a DELIVER frame; its json is { first, count: deliveries.length }. */
export function encodeDeliveries(deliveries: readonly WireDelivery[]): Uint8Array {
  const [table, batch] = encodeDeliveryParts(deliveries);
  const data = new Uint8Array(table.length + batch.length);
  data.set(table, 0);
  data.set(batch, table.length);
  return data;
}

/**
 * The data of a DELIVER frame as its two parts, the entry table and the record batch, for
 * encodeFrame to copy once into the frame (a server sends thousands of records a frame).
 */
export function encodeDeliveryParts(deliveries: readonly WireDelivery[]): [table: Uint8Array, batch: Uint8Array] {
  const table = new Uint8Array(deliveries.length * DELIVERY_ENTRY_BYTES);
  const view = new DataView(table.buffer);
  for (let index = 0; index < deliveries.length; index++) {
    const delivery = deliveries[index]!;
    const at = index * DELIVERY_ENTRY_BYTES;
    view.setInt32(at, delivery.partition);
    view.setBigInt64(at + 4, delivery.offset);
    view.setInt32(at + 12, delivery.deliveryCount);
  }
  return [table, encodeBatch(deliveries)];
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
 * Decodes a DELIVER frame's data and hands each entry to `visit`, in order, with its record (the
 * record's own offset is its index in the frame): a consumer builds its message object straight
 * from them, with no object per entry in between. The whole frame is checked before the first
 * visit. Throws BrookError CORRUPT_BATCH / INVALID_REQUEST on bad bytes.
 */
export function readDeliveries(first: number, count: number, data: Uint8Array, visit: DeliveryVisitor): void {
  const tableBytes = count * DELIVERY_ENTRY_BYTES;
  if (!Number.isSafeInteger(first) || first < 0 || !Number.isInteger(count) || count < 1 || tableBytes > data.length) {
    throw new BrookError('INVALID_REQUEST', `DELIVER frame: bad first ${first} / count ${count} for ${data.length} data bytes`, { first, count });
  }
  const { records } = decodeBatch(data, tableBytes);
  if (records.length !== count) {
    throw new BrookError('INVALID_REQUEST', `DELIVER frame: ${count} entries but ${records.length} records`, { count, records: records.length });
  }
  const view = new DataView(data.buffer, data.byteOffset, tableBytes);
  for (let index = 0; index < count; index++) {
    const at = index * DELIVERY_ENTRY_BYTES;
    visit(first + index, view.getInt32(at), view.getBigInt64(at + 4), view.getInt32(at + 12), records[index]!);
  }
}
