/**
 * What the broker's topic operations take and give: produce, produceBatch, fetch, describeTopic.
 * Offsets are bigints throughout.
 */
import type { FetchRequest, LogRecord } from '@brook/protocol';

export type { FetchRequest };

export interface ProduceBatchRequest {
  topic: string;
  partition: number;
  /** One encoded RecordBatch v2. The broker takes it over: the log patches its baseOffset in place. */
  batch: Uint8Array;
  /**
   * The incarnation the batch's producer id was issued under (initProducer's answer): another
   * data directory's is UNKNOWN_PRODUCER_ID, since this one may have issued the id again.
   */
  incarnation?: string;
}

export interface ProduceBatchResult {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  /** True if the batch was a retry of one already in the log: nothing was appended, these are its offsets. */
  readonly duplicate: boolean;
}

export interface ProduceResult {
  readonly partition: number;
  readonly offset: bigint;
}

/**
 * A fetched record is the decoded record as it is: the request names its topic and partition.
 * (Copying each record to add them cost about a quarter of fetch throughput.)
 */
export type FetchedRecord = LogRecord;

