/**
 * The batch records are put into until it is sealed: its records in put order and two running
 * sizes, the encoded RecordBatch v2 size the producer will send (checked against maxBytes,
 * exactly, so a sealed batch never exceeds it) and the WAL bytes its frames take (counted
 * against walBytesMax until the batch is committed).
 */
import { BATCH_HEADER_BYTES } from '@brook/protocol';
import { recordBytesInBatch, type BufferedRecord } from './record-codec.js';

export interface BatchContents {
  readonly records: readonly BufferedRecord[];
  readonly encodedBytes: number;
  readonly walBytes: number;
}

export class OpenBatch {
  private records: BufferedRecord[] = [];
  private encodedBytes = BATCH_HEADER_BYTES;
  private frameBytes = 0;

  /** A batch of records already in the WAL (recovery rebuilds sizes this way). */
  static of(records: readonly BufferedRecord[]): OpenBatch {
    const batch = new OpenBatch();
    for (const record of records) batch.add(record);
    return batch;
  }

  get count(): number {
    return this.records.length;
  }

  get walBytes(): number {
    return this.frameBytes;
  }

  get newest(): BufferedRecord | undefined {
    return this.records.at(-1);
  }

  /** The batch's encoded size if a record of `singleBatchBytes` and `timestamp` were added. */
  encodedBytesWith(singleBatchBytes: number, timestamp: number): number {
    const first = this.records[0];
    const timestampDelta = first === undefined ? 0 : timestamp - first.record.timestamp;
    return this.encodedBytes + recordBytesInBatch(singleBatchBytes, this.records.length, timestampDelta);
  }

  add(record: BufferedRecord): void {
    this.encodedBytes = this.encodedBytesWith(record.singleBatchBytes, record.record.timestamp);
    this.frameBytes += record.frameBytes;
    this.records.push(record);
  }

  /** Hands over the contents and starts empty. */
  take(): BatchContents {
    const contents = { records: this.records, encodedBytes: this.encodedBytes, walBytes: this.frameBytes };
    this.records = [];
    this.encodedBytes = BATCH_HEADER_BYTES;
    this.frameBytes = 0;
    return contents;
  }
}
