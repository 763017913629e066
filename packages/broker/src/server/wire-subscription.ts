/**
 * One subscription of one connection: what the engine handed over and what the client still has
 * to settle, by delivery id.
 *
 * A delivery whose lease expired (or that a rebalance or go-back revoked) is stale: the engine
 * has already given its record out again, and the client may never settle it. The member holds
 * at most maxInFlight live deliveries, so once more than twice that are outstanding, ids whose
 * lease ran out a whole ackTimeoutMs ago are forgotten: memory stays bounded for a client that
 * drops deliveries on the floor, and a late settle of such an id is ignored, as it would be anyway.
 * (A tail reader's deliveries never go stale, and never number more than maxInFlight.)
 */
import { limitOrDefault } from '../config/defaults.js';
import type { Delivery } from '../groups/delivery.js';
import type { SubscribeOptions } from '../groups/subscribe-options.js';
import type { Subscription } from '../groups/subscription.js';

interface Outstanding {
  readonly delivery: Delivery;
  /** After this the lease has certainly run out (deadline + one more ackTimeoutMs of margin). */
  staleAfterMs: number;
}

/** Room for the frame header, its json and the batch header in a DELIVER frame. */
const FRAME_OVERHEAD_BYTES = 256;
/** Per record: its table entry (16) and a generous bound on its varint fields. */
const RECORD_OVERHEAD_BYTES = 16 + 32;

export class WireSubscription {
  readonly topic: string;
  /** Handed over by the engine, not yet in a frame. */
  buffered: Delivery[] = [];
  /** False until the subscribe RESPONSE went out: no DELIVER may precede it. */
  ready = false;
  handle: Subscription | undefined;
  private readonly unsettled = new Map<number, Outstanding>();
  private readonly ackTimeoutMs: number;
  private readonly maxInFlight: number;

  constructor(readonly id: number, options: SubscribeOptions) {
    this.topic = options.topic;
    // Checked as attach() checks them: INVALID_CONFIG naming the option.
    this.ackTimeoutMs = limitOrDefault('ackTimeoutMs', options.ackTimeoutMs);
    this.maxInFlight = limitOrDefault('maxInFlight', options.maxInFlight);
  }

  /** Deliveries just sent under ids first, first + 1, ... */
  track(first: number, deliveries: readonly Delivery[], nowMs: number): void {
    const staleAfterMs = nowMs + 2 * this.ackTimeoutMs;
    deliveries.forEach((delivery, index) => this.unsettled.set(first + index, { delivery, staleAfterMs }));
    if (this.unsettled.size > 2 * this.maxInFlight) {
      for (const [id, outstanding] of this.unsettled) if (outstanding.staleAfterMs < nowMs) this.unsettled.delete(id);
    }
  }

  extend(id: number, ms: number | undefined, nowMs: number): void {
    const outstanding = this.unsettled.get(id);
    if (!outstanding) return;
    outstanding.delivery.extend(ms);
    outstanding.staleAfterMs = nowMs + (ms ?? this.ackTimeoutMs) + this.ackTimeoutMs;
  }

  /** Removes and returns the unsettled deliveries with ids in [first, last]. */
  takeRange(first: number, last: number): Delivery[] {
    const taken: Delivery[] = [];
    // A range may be far wider than what is outstanding: walk whichever is smaller.
    if (last - first < this.unsettled.size) {
      for (let id = first; id <= last; id++) this.takeInto(id, taken);
    } else {
      for (const id of this.unsettled.keys()) if (id >= first && id <= last) this.takeInto(id, taken);
    }
    return taken;
  }

  take(id: number): Delivery | undefined {
    const outstanding = this.unsettled.get(id);
    this.unsettled.delete(id);
    return outstanding?.delivery;
  }

  /** How many ids are outstanding (tests). */
  get outstanding(): number {
    return this.unsettled.size;
  }

  forget(): void {
    this.buffered = [];
    this.unsettled.clear();
  }

  private takeInto(id: number, taken: Delivery[]): void {
    const delivery = this.take(id);
    if (delivery) taken.push(delivery);
  }
}

/**
 * Cuts deliveries into DELIVER frames of at most `recordsMax` records and about `bytesMax` bytes
 * (the client's frame limit is the server's); a single larger record goes alone.
 */
export function frameChunks(deliveries: readonly Delivery[], recordsMax: number, bytesMax: number): Delivery[][] {
  const chunks: Delivery[][] = [];
  let chunk: Delivery[] = [];
  let bytes = FRAME_OVERHEAD_BYTES;
  for (const delivery of deliveries) {
    const size = recordBytes(delivery);
    if (chunk.length > 0 && (chunk.length === recordsMax || bytes + size > bytesMax)) {
      chunks.push(chunk);
      chunk = [];
      bytes = FRAME_OVERHEAD_BYTES;
    }
    chunk.push(delivery);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function recordBytes(delivery: Delivery): number {
  let size = RECORD_OVERHEAD_BYTES + (delivery.key?.length ?? 0) + (delivery.value?.length ?? 0);
  for (const header of delivery.headers) size += 3 * header.key.length + (header.value?.length ?? 0) + 10;
  return size;
}
