/** What the testing kit gives the user's handler: the delivery, and the simulated process around it. */
import type { Random } from '@brook/protocol';
import type { ProduceResult } from '../broker.js';
import type { Delivery } from '../groups/delivery.js';
import type { SubscribeOptions } from '../groups/subscribe-options.js';
import type { ProduceRecord } from '../topics/record-input.js';
import type { VirtualTimers } from './virtual-timers.js';

/** The part of a Delivery a handler uses; a real `Delivery` is one, so the same handler runs in production. */
export type SimDelivery = Pick<Delivery,
  'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers' | 'timestamp' | 'deliveryCount' | 'redelivered' | 'settled'
  | 'ack' | 'nack' | 'extend' | 'reject' | 'text' | 'json' | 'header'>;

/** What the kit gives a handler beside its delivery. */
export interface ConsumerContext {
  readonly consumer: string;
  /** The record's simulation id (`r1`, ...). */
  readonly recordId: string;
  /** setTimeout & co. on virtual time, dying with the process (see virtual-timers.ts). */
  readonly timers: VirtualTimers;
  /** Seeded per consumer. */
  readonly random: Random;
  now(): number;
  sleep(ms: number): Promise<void>;
  /**
   * Records a side effect (an email sent, a row written) under an identity: the same identity
   * twice is a duplicate side effect. A crash fault may fire here: 'beforeEffect' throws (the
   * effect does not happen; do not catch that error), 'afterEffect' kills the process once the
   * synchronous code after the effect has run. On a dead process it throws.
   */
  effect(kind: string, effectId: string): void;
  /**
   * Produces records to a topic (a stream processor's output, a database's change log). They get
   * ids like the steps' records. On a dead process it throws; it rejects if the records may not
   * have reached the log.
   */
  produce(topic: string, records: ProduceRecord[]): Promise<ProduceResult[]>;
  /** The process's memory: empty at each join, gone with a crash (a batch being built, a cache). */
  readonly memory: Map<string, unknown>;
}

/** Resolve = ack, throw = nack, unless the handler settled the delivery itself (as with `subscribe`). */
export type SimHandler = (delivery: SimDelivery, ctx: ConsumerContext) => unknown;

export interface ConsumerSpec {
  name: string;
  subscribe: SubscribeOptions & { group: string };
  handler: SimHandler;
  /** Virtual time of the first join. Default 0. */
  joinAtMs?: number;
}
