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
import { DELIVER_FRAME_OVERHEAD_BYTES_MAX, deliveryBytes, toRanges, type IdRanges } from '@brook/protocol';
import { limitOrDefault } from '../config/defaults.js';
import { SINK_ID, type Delivery } from '../groups/delivery.js';
import type { SubscribeOptions } from '../groups/subscribe-options.js';
import type { AttachedSubscription } from '../groups/sink-control.js';

/** One DELIVER frame's deliveries, by id - first; a slot is emptied once its id is settled or forgotten. */
interface SentFrame {
  readonly first: number;
  readonly deliveries: (Delivery | undefined)[];
  /** Slots still holding a delivery. */
  open: number;
  /** After this every lease of the frame has certainly run out, unless extended (see `extendedStaleAfterMs`). */
  readonly staleAfterMs: number;
}

/** Fewer frames than this are never compacted: dropping empty ones would save nothing. */
const COMPACT_MIN_FRAMES = 32;

export class WireSubscription {
  readonly topic: string;
  /** Handed over by the engine, not yet in a frame. */
  buffered: Delivery[] = [];
  /** False until the subscribe RESPONSE went out: no DELIVER may precede it. */
  ready = false;
  /** The broker ended it before its RESPONSE went out: the END to send right after that RESPONSE. */
  endOwed: { readonly code: string; readonly message: string } | undefined;
  handle: AttachedSubscription | undefined;
  /** A graceful unsubscribe of it is under way. */
  leaving = false;
  /** A tail reader's lostToRetention as far as its frames have told the client. */
  private toldLost = 0n;
  /** The buffer's deliveries were told to the engine as held unsent: sending them must say so. */
  private withheld = false;
  /**
   * The frames sent with something still unsettled, in id order (ids only grow), found by binary
   * search: a delivery costs a slot in its frame's array, not a map entry and an object. Emptied
   * frames stay until they are at the front or make up half the list.
   */
  private frames: SentFrame[] = [];
  private emptyFrames = 0;
  /** Ids outstanding, over every frame. */
  private count = 0;
  /** The staleness of extended ids, which differs from their frame's (rare next to deliveries). */
  private readonly extendedStaleAfterMs = new Map<number, number>();
  /** Deliveries the broker took back since the last flush, sent or not (takeTakenBack). */
  private takenBack: Delivery[] = [];
  private readonly ackTimeoutMs: number;
  readonly maxInFlight: number;

  constructor(readonly id: number, options: SubscribeOptions) {
    this.topic = options.topic;
    // Checked as attach() checks them: INVALID_CONFIG naming the option.
    this.ackTimeoutMs = limitOrDefault('ackTimeoutMs', options.ackTimeoutMs);
    this.maxInFlight = limitOrDefault('maxInFlight', options.maxInFlight);
  }

  /**
   * Keeps a delivery for the next frame. At most maxInFlight wait: the engine hands over no more
   * than the credit, a paused member gets nothing new, and the first flush after a delivery comes
   * either sends it or pauses the member (pause()), so leases running out while deliveries wait
   * do not bring more.
   */
  hold(delivery: Delivery): void {
    this.buffered.push(delivery);
  }

  /** For the next frame: what a tail reader lost to retention since the last frame told (0n for a member). */
  takeNewlyLost(): bigint {
    const lost = this.handle?.lostToRetention ?? 0n;
    const news = lost - this.toldLost;
    this.toldLost = lost;
    return news;
  }

  /**
   * The socket is congested: the member gets nothing new, and what waits here is held unsent, so
   * that if it is taken back before it goes out (its lease runs out, the connection ends) it is
   * no attempt. Called on every flush that ends congested; a paused member is handed nothing, so
   * the buffer only shrinks meanwhile.
   */
  pause(): void {
    if (!this.handle) return;
    this.handle.pause();
    this.handle.holdUnsent(this.buffered);
    this.withheld = true;
  }

  /** The socket has room again: the member takes new deliveries. */
  resume(): void {
    this.handle?.resume();
    // Sent by now, unless the subscribe RESPONSE has not gone out yet.
    this.withheld = this.buffered.length > 0;
  }

  /**
   * Empties the buffer for a flush, without the deliveries that went stale while they waited: the
   * engine has given their records out again, and the client could only settle them as stale.
   */
  takeLive(): Delivery[] {
    const waiting = this.buffered;
    this.buffered = [];
    return waiting.filter((delivery) => !delivery.stale);
  }

  /** Deliveries just sent under ids first, first + 1, ... (one frame: never none); the array becomes this subscription's. */
  track(first: number, deliveries: Delivery[], nowMs: number): void {
    for (let slot = 0; slot < deliveries.length; slot++) deliveries[slot]![SINK_ID] = first + slot;
    if (this.withheld) this.handle?.sent(deliveries);
    this.frames.push({ first, deliveries, open: deliveries.length, staleAfterMs: nowMs + 2 * this.ackTimeoutMs });
    this.count += deliveries.length;
    if (this.count > 2 * this.maxInFlight) this.forgetStale(nowMs);
  }

  extend(id: number, ms: number | undefined, nowMs: number): void {
    const delivery = this.peek(id);
    if (!delivery) return;
    delivery.extend(ms);
    this.extendedStaleAfterMs.set(id, nowMs + (ms ?? this.ackTimeoutMs) + this.ackTimeoutMs);
  }

  /** Removes the unsettled deliveries with ids in [first, last], handing each to `visit` in id order. */
  takeRange(first: number, last: number, visit: (id: number, delivery: Delivery) => void): void {
    // A range may be far wider than what is outstanding: only the frames it overlaps are walked.
    for (let index = Math.max(0, this.frameIndex(first)); index < this.frames.length; index++) {
      const frame = this.frames[index]!;
      if (frame.first > last) break;
      const end = Math.min(last, frame.first + frame.deliveries.length - 1);
      for (let id = Math.max(first, frame.first); id <= end; id++) {
        const delivery = this.takeFrom(frame, id);
        if (delivery) visit(id, delivery);
      }
    }
    this.dropEmptyFrames();
  }

  take(id: number): Delivery | undefined {
    const frame = this.frames[this.frameIndex(id)];
    const delivery = frame && this.takeFrom(frame, id);
    this.dropEmptyFrames();
    return delivery;
  }

  /** The broker took back a delivery it had handed over: the next flush tells the client, if it was sent. */
  tookBack(delivery: Delivery): void {
    this.takenBack.push(delivery);
  }

  get hasTakenBack(): boolean {
    return this.takenBack.length > 0;
  }

  /**
   * The sent, unsettled deliveries the broker has taken back since the last call, as ascending id
   * ranges for a TAKEN_BACK frame; they are no longer outstanding (a settle of them is stale, as
   * it was). Each is found by its id (Delivery[SINK_ID]), so this costs what was taken back, not
   * what is outstanding, and acks cost nothing for it. One not outstanding is skipped: settled
   * or forgotten meanwhile (its slot no longer holds it), or never sent (it has no id).
   */
  takeTakenBack(): IdRanges {
    const taken = this.takenBack;
    this.takenBack = [];
    const ids: number[] = [];
    for (const delivery of taken) {
      // One never sent has id -1, before every frame: frameIndex finds none.
      const id = delivery[SINK_ID];
      const frame = this.frames[this.frameIndex(id)];
      if (frame?.deliveries[id - frame.first] !== delivery) continue;
      this.takeFrom(frame, id);
      ids.push(id);
    }
    this.dropEmptyFrames();
    return toRanges(ids);
  }

  /** How many ids are outstanding (tests). */
  get outstanding(): number {
    return this.count;
  }

  /** What the bookkeeping holds, frames and extended ids (tests: it stays bounded by what is outstanding). */
  get footprint(): number {
    return this.frames.length + this.extendedStaleAfterMs.size;
  }

  forget(): void {
    this.buffered = [];
    this.withheld = false;
    this.frames = [];
    this.emptyFrames = 0;
    this.count = 0;
    this.extendedStaleAfterMs.clear();
    this.takenBack = [];
  }

  private peek(id: number): Delivery | undefined {
    const frame = this.frames[this.frameIndex(id)];
    return frame?.deliveries[id - frame.first];
  }

  private takeFrom(frame: SentFrame, id: number): Delivery | undefined {
    const slot = id - frame.first;
    // A slot before the frame (slot < 0) reads as empty too.
    const delivery = frame.deliveries[slot];
    if (!delivery) return undefined;
    frame.deliveries[slot] = undefined;
    this.count -= 1;
    frame.open -= 1;
    if (frame.open === 0) this.emptyFrames += 1;
    if (this.extendedStaleAfterMs.size > 0) this.extendedStaleAfterMs.delete(id);
    return delivery;
  }

  /** The index of the frame whose ids could hold `id`: the last one starting at or before it (-1: none). */
  private frameIndex(id: number): number {
    let low = 0;
    let high = this.frames.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.frames[middle]!.first <= id) low = middle + 1;
      else high = middle - 1;
    }
    return high;
  }

  /** Forgets the ids whose lease ran out a whole ackTimeoutMs ago (see the file comment). */
  private forgetStale(nowMs: number): void {
    for (const frame of this.frames) {
      if (frame.open === 0 || frame.staleAfterMs >= nowMs) continue;
      for (let slot = 0; slot < frame.deliveries.length; slot++) {
        const id = frame.first + slot;
        if (frame.deliveries[slot] && (this.extendedStaleAfterMs.get(id) ?? frame.staleAfterMs) < nowMs) this.takeFrom(frame, id);
      }
    }
    this.dropEmptyFrames();
  }

  /** Drops emptied frames at the front, and all of them once they are half the list: amortized O(1) a frame. */
  private dropEmptyFrames(): void {
    let head = 0;
    while (head < this.frames.length && this.frames[head]!.open === 0) head += 1;
    if (head > 0) {
      this.frames.splice(0, head);
      this.emptyFrames -= head;
    }
    if (this.frames.length >= COMPACT_MIN_FRAMES && this.emptyFrames * 2 > this.frames.length) {
      this.frames = this.frames.filter((frame) => frame.open > 0);
      this.emptyFrames = 0;
    }
  }
}

/**
 * Cuts deliveries into DELIVER frames of at most `recordsMax` records and `bytesMax` bytes (the
 * client's frame limit is the server's); a single larger record goes alone.
 */
export function frameChunks(deliveries: readonly Delivery[], recordsMax: number, bytesMax: number): Delivery[][] {
  const chunks: Delivery[][] = [];
  let chunk: Delivery[] = [];
  let bytes = DELIVER_FRAME_OVERHEAD_BYTES_MAX;
  for (const delivery of deliveries) {
    const size = deliveryBytes(delivery);
    if (chunk.length > 0 && (chunk.length === recordsMax || bytes + size > bytesMax)) {
      chunks.push(chunk);
      chunk = [];
      bytes = DELIVER_FRAME_OVERHEAD_BYTES_MAX;
    }
    chunk.push(delivery);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
