/**
 * One send() call in flight: its records may be spread over several batches (one per
 * partition, or more when a batch fills up). The call resolves once every batch holding one of
 * its records is persisted, with each record's partition and offset in input order; it rejects
 * with the first error of any of its batches (records in other batches may still be written).
 */
import type { BrookError } from '@brook/protocol';

export interface ProduceResult {
  readonly partition: number;
  readonly offset: bigint;
}

export class SendTicket {
  readonly results: ProduceResult[];
  private remaining: number;
  private done = false;

  constructor(
    recordCount: number,
    private readonly resolve: (results: ProduceResult[]) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.results = new Array<ProduceResult>(recordCount);
    this.remaining = recordCount;
  }

  get settled(): boolean {
    return this.done;
  }

  /** The records at `positions` were written to `partition` at consecutive offsets from `baseOffset`. */
  written(positions: readonly number[], partition: number, baseOffset: bigint): void {
    if (this.done) return;
    let offset = baseOffset; // a running sum: one BigInt per record, not two
    for (const position of positions) {
      this.results[position] = { partition, offset };
      offset += 1n;
    }
    this.remaining -= positions.length;
    if (this.remaining === 0) {
      this.done = true;
      this.resolve(this.results);
    }
  }

  fail(error: BrookError | unknown): void {
    if (this.done) return;
    this.done = true;
    this.reject(error);
  }
}
