/**
 * A read of one partition by offset, with no group: the argument of Broker.fetch in process and
 * of Client.fetch over either transport (the `fetch` request on the wire), so both take the same.
 */
export interface FetchRequest {
  topic: string;
  partition: number;
  /** The first offset wanted: at least the partition's startOffset, at most its endOffset. */
  offset: bigint;
  /** Default and most: the broker's fetchRecordsMax (10 000). */
  maxRecords?: number;
  /** Log bytes to read at most; default and most: the broker's fetchBytesMax (4 MiB). At least one batch comes back if there is one. */
  maxBytes?: number;
}
