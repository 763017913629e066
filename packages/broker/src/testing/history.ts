/**
 * The history of a simulation: every produce, delivery, side effect, settlement, broker event,
 * fault and crash, in the order it happened, with the virtual time since the start (`t`, ms).
 * Records are named by the id the kit stamps on them (`r1`, `r2`, ... in produce order, in the
 * `brook.sim.id` header), not by offset: after a power cut an offset can be given to another record.
 * Events are plain data, so the same seed gives a byte-identical `format()` and `JSON.stringify`.
 */
import type { RedeliveryReason } from '../events.js';
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
  | { type: 'produce'; step: number; topic: string; ids: string[] }
  | { type: 'produced'; step: number; topic: string; records: { id: string; key: string | null; partition: number; offset: number }[] }
  | { type: 'produceFailed'; step: number; topic: string; ids: string[]; error: string; indeterminate: boolean }
  | (RecordPlace & { type: 'deliver'; consumer: string; key: string | null; value: string | null; deliveryCount: number; duplicate?: true })
  | (RecordPlace & { type: 'effect'; consumer: string; kind: string; effectId: string })
  | (RecordPlace & { type: 'settle'; consumer: string; how: 'ack' | 'nack' | 'reject'; dropped?: 'lostAck' | 'brokerRestarted'; delayedMs?: number })
  | (RecordPlace & { type: 'processed'; consumer: string })
  | (RecordPlace & { type: 'handlerError'; consumer: string; error: string })
  | (RecordPlace & { type: 'acked'; consumer: string })
  | (RecordPlace & { type: 'leaseExpired'; consumer: string })
  | (RecordPlace & { type: 'redelivered'; reason: RedeliveryReason; nextDeliveryCount: number; delayMs: number })
  | (RecordPlace & { type: 'deadLettered'; deliveryCount: number; reason: string })
  | { type: 'rebalanced'; group: string; assignment: Record<string, number[]> }
  | { type: 'fault'; index: number; description: string; consumer?: string; id?: string }
  | { type: 'consumer'; consumer: string; what: 'join' | 'crash' | 'leave' | 'pause' | 'resume' }
  | { type: 'brokerRestart'; crash: BrokerCrash }
  | { type: 'end'; reason: EndReason };

export type HistoryEvent = HistoryEventBody & { readonly seq: number; readonly t: number };

export class History {
  readonly events: HistoryEvent[] = [];

  constructor(private readonly clock: { now(): number }, private readonly startMs: number) {}

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
  const who = 'consumer' in event && event.consumer !== undefined ? event.consumer : event.type.startsWith('produce') ? 'producer' : 'broker';
  return `${formatTime(event.t)}  ${who.padEnd(10)} ${describe(event)}`;
}

const CONSUMER_MARKS = { join: '+ join', crash: '✖ crash', leave: '- leave', pause: '⏸ pause', resume: '▶ resume' } as const;

function describe(event: HistoryEvent): string {
  const at = (e: RecordPlace) => `${e.id} (${e.group} p${e.partition}@${e.offset})`;
  switch (event.type) {
    case 'produce': return `produce #${event.step} to ${event.topic}: ${event.ids.join(' ')}`;
    case 'produced': return `produced #${event.step}: ${event.records.map((r) => `${r.id}=p${r.partition}@${r.offset}`).join(' ')}`;
    case 'produceFailed': return `produce #${event.step} ${event.indeterminate ? 'indeterminate' : 'failed'}: ${event.error}`;
    case 'deliver': return `◀ deliver ${at(event)} key=${JSON.stringify(event.key)} value=${JSON.stringify(event.value)} #${event.deliveryCount}${event.duplicate ? ' (duplicate)' : ''}`;
    case 'effect': return `✓ effect ${event.kind}(${event.effectId}) for ${event.id}`;
    case 'settle': return `${event.how} ${at(event)}${event.dropped ? ` — dropped (${event.dropped})` : ''}${event.delayedMs ? ` — delayed ${event.delayedMs}ms` : ''}`;
    case 'processed': return `handler done ${event.id}`;
    case 'handlerError': return `handler threw on ${event.id}: ${event.error}`;
    case 'acked': return `acked ${at(event)}`;
    case 'leaseExpired': return `lease expired ${at(event)}`;
    case 'redelivered': return `will redeliver ${at(event)} (${event.reason}) as #${event.nextDeliveryCount} after ${event.delayMs}ms`;
    case 'deadLettered': return `dead-lettered ${at(event)} after ${event.deliveryCount} deliveries: ${event.reason}`;
    case 'rebalanced': return `rebalanced ${event.group}: ${JSON.stringify(event.assignment)}`;
    case 'fault': return `⚡ fault #${event.index + 1}: ${event.description}${event.id ? ` (holding ${event.id})` : ''}`;
    case 'consumer': return CONSUMER_MARKS[event.what];
    case 'brokerRestart': return `⚡ broker restart (${event.crash})`;
    case 'end': return `end (${event.reason})`;
  }
}
