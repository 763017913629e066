/**
 * The history of a simulation: every produce, delivery, side effect, settlement, broker event,
 * fault and crash, in the order it happened, with the virtual time since the start (`t`, ms).
 * Records are named by the id the kit stamps on them (`r1`, `r2`, ... in produce order, in the
 * `brook.sim.id` header), not by offset: after a power cut an offset can be given to another record.
 * Events are plain data, so the same seed gives a byte-identical `format()` and `JSON.stringify`.
 */
import type { RebalanceReason, RedeliveryReason } from '../events.js';
import type { BrokerCrash } from './fault-plan.js';

/** Header carrying a record's simulation id. */
export const SIM_ID_HEADER = 'brook.sim.id';

/** Where a record sits: in every consumer-side and broker-side event about it. */
export interface RecordPlace {
  readonly id: string;
  readonly group: string;
  readonly partition: number;
  readonly offset: number;
}

export type EndReason = 'quiescent' | 'idle' | 'timeLimit' | 'stepLimit';

export type HistoryEventBody =
  // `producer`: a named producer of the steps, or the consumer whose handler produced (ctx.produce).
  | { type: 'produce'; step: number; topic: string; ids: string[]; producer?: string }
  | { type: 'produced'; step: number; topic: string; records: { id: string; key: string | null; partition: number; offset: number }[]; producer?: string }
  | { type: 'produceFailed'; step: number; topic: string; ids: string[]; error: string; code?: string; indeterminate: boolean; producer?: string; retryAfterMs?: number }
  | (RecordPlace & { type: 'deliver'; consumer: string; key: string | null; value: string | null; deliveryCount: number; duplicate?: true })
  // `deliveryCount`: of the delivery whose handler did it (another of the record may be running too).
  | (RecordPlace & { type: 'effect'; consumer: string; kind: string; effectId: string; deliveryCount: number })
  // `reason`: a nack's, when it gave one (the kit's own nack of a handler that threw gives what it threw).
  | (RecordPlace & { type: 'settle'; consumer: string; how: 'ack' | 'nack' | 'reject'; reason?: string; dropped?: 'lostAck' | 'brokerRestarted'; delayedMs?: number })
  // The broker refused a settlement it was sent (DELIVERY_STALE: the delivery had been taken back).
  | (RecordPlace & { type: 'settleRefused'; consumer: string; how: 'ack' | 'reject'; code: string })
  | (RecordPlace & { type: 'processed'; consumer: string })
  | (RecordPlace & { type: 'handlerError'; consumer: string; error: string })
  | (RecordPlace & { type: 'acked'; consumer: string })
  | (RecordPlace & { type: 'leaseExpired'; consumer: string })
  | (RecordPlace & { type: 'redelivered'; reason: RedeliveryReason; nextDeliveryCount: number; delayMs: number })
  | (RecordPlace & { type: 'deadLettered'; deliveryCount: number; reason: string })
  | { type: 'rebalanced'; group: string; reason: RebalanceReason; member: string; assignment: Record<string, number[]> }
  | { type: 'groupReset'; topic: string; group: string; offsets: number[] }
  | { type: 'groupDeleted'; topic: string; group: string }
  | { type: 'fault'; index: number; description: string; consumer?: string; id?: string }
  | { type: 'consumer'; consumer: string; what: 'join' | 'crash' | 'leave' | 'pause' | 'resume' }
  // A ctx.timers callback threw: the process's uncaught exception, which crashes it.
  | { type: 'uncaught'; consumer: string; error: string }
  | { type: 'brokerRestart'; crash: BrokerCrash }
  | { type: 'retentionDropped'; topic: string; partition: number; startOffset: number; group?: string; lostRecords: number }
  | { type: 'admin'; what: string; notes?: string[] }
  | { type: 'lag'; group: string; topic: string; lag: number }
  | { type: 'end'; reason: EndReason };

export type HistoryEvent = HistoryEventBody & { readonly seq: number; readonly t: number };

export class History {
  readonly events: HistoryEvent[] = [];

  constructor(private readonly clock: { now(): number }, readonly startMs: number) {}

  record(body: HistoryEventBody): void {
    this.events.push({ seq: this.events.length, t: this.clock.now() - this.startMs, ...body });
  }

  /** `JSON.stringify(history)` is the event list. */
  toJSON(): readonly HistoryEvent[] {
    return this.events;
  }

  format(events: readonly HistoryEvent[] = this.events): string {
    return events.map(formatEvent).join('\n');
  }
}

/** `00:01:02.345`: virtual time since the start. */
export function formatTime(ms: number): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1_000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(Math.floor(ms % 1_000), 3)}`;
}

export function formatEvent(event: HistoryEvent): string {
  return `${formatTime(event.t)}  ${laneOf(event).padEnd(10)} ${describe(event)}`;
}

/** Who an event is about: a consumer, a producer (`producer` unless named) or the broker. */
export function laneOf(event: HistoryEvent): string {
  if ('consumer' in event && event.consumer !== undefined) return event.consumer;
  if (event.type.startsWith('produce')) return 'producer' in event && event.producer !== undefined ? event.producer : 'producer';
  return 'broker';
}

export const CONSUMER_MARKS = { join: '+ join', crash: '✖ crash', leave: '- leave', pause: '⏸ pause', resume: '▶ resume' } as const;

function describe(event: HistoryEvent): string {
  const at = (e: RecordPlace) => `${e.id} (${e.group} p${e.partition}@${e.offset})`;
  switch (event.type) {
    case 'produce': return `produce #${event.step} to ${event.topic}: ${event.ids.join(' ')}`;
    case 'produced': return `produced #${event.step}: ${event.records.map((r) => `${r.id}=p${r.partition}@${r.offset}`).join(' ')}`;
    case 'produceFailed': return `produce #${event.step} ${event.indeterminate ? 'indeterminate' : 'failed'}: ${event.error}${event.retryAfterMs === undefined ? '' : `; retry in ${event.retryAfterMs}ms`}`;
    case 'deliver': return `◀ deliver ${at(event)} key=${JSON.stringify(event.key)} value=${JSON.stringify(event.value)} #${event.deliveryCount}${event.duplicate ? ' (duplicate)' : ''}`;
    case 'effect': return `✓ effect ${event.kind}(${event.effectId}) for ${event.id}`;
    case 'settle': return `${event.how} ${at(event)}${event.reason === undefined ? '' : `: ${event.reason}`}${event.dropped ? ` — dropped (${event.dropped})` : ''}${event.delayedMs ? ` — delayed ${event.delayedMs}ms` : ''}`;
    case 'settleRefused': return `${event.how} ${at(event)} refused: ${event.code}${event.code === 'DELIVERY_STALE' ? ' (stale: the delivery had been taken back)' : ''}`;
    case 'processed': return `handler done ${event.id}`;
    case 'handlerError': return `handler threw on ${event.id}: ${event.error}`;
    case 'acked': return `acked ${at(event)}`;
    case 'leaseExpired': return `lease expired ${at(event)}`;
    case 'redelivered': return `will redeliver ${at(event)} (${event.reason}) as #${event.nextDeliveryCount} after ${event.delayMs}ms`;
    case 'deadLettered': return `dead-lettered ${at(event)} after ${event.deliveryCount} deliveries: ${event.reason}`;
    case 'rebalanced': return `rebalanced ${event.group} (${event.reason} ${event.member}): ${JSON.stringify(event.assignment)}`;
    case 'groupReset': return `group ${event.group} reset: ${positions(event.offsets)}`;
    case 'groupDeleted': return `group ${event.group} deleted`;
    case 'fault': return `⚡ fault #${event.index + 1}: ${event.description}${event.id ? ` (holding ${event.id})` : ''}`;
    case 'consumer': return CONSUMER_MARKS[event.what];
    case 'uncaught': return `uncaught exception in a timer callback: ${event.error}`;
    case 'brokerRestart': return `⚡ broker restart (${event.crash})`;
    case 'retentionDropped': return event.group === undefined
      ? `retention: ${event.topic} p${event.partition} starts at ${event.startOffset} (${event.lostRecords} records deleted)`
      : `retention: group ${event.group} lost ${event.lostRecords} unacked records of ${event.topic} p${event.partition}`;
    case 'admin': return `⚙ ${event.what}${event.notes?.length ? `: ${event.notes.join('; ')}` : ''}`;
    case 'lag': return `lag ${event.group}: ${event.lag}`;
    case 'end': return `end (${event.reason})`;
  }
}

/** `p0@3 p1@0`: where a reset put each partition. */
export function positions(offsets: readonly number[]): string {
  return offsets.map((offset, partition) => `p${partition}@${offset}`).join(' ');
}
