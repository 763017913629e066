/**
 * A history as swimlanes: one column per producer, per consumer and for the broker, one event
 * per line in the column of whoever it is about. Reading down one column is one process's story
 * (what it got, which attempt, what it did, when it crashed); reading across a line is one
 * instant. Made for people learning the phenomena (the DDIA demos) and for long failure slices.
 *
 *   time          producer      consumer-1     consumer-2     broker
 *   00:00:00.000 │▶ r1..r5 → messages (5)
 *   00:00:00.002 │             │◀ r1 m1 #1
 *   00:00:00.104 │             │              │✖ crash
 *   00:00:00.104 │             │              │              │↻ r3 as #2 now (memberLeft)
 */
import { CONSUMER_MARKS, formatTime, laneOf, positions, type HistoryEvent } from './history.js';

export interface LaneOptions {
  /** Lanes from left to right. Default: producers, then consumers, in order of appearance, then `broker`. */
  lanes?: readonly string[];
  /** Event types left out. Default LANES_HIDDEN: the calls and confirmations that repeat what is shown. */
  hide?: ReadonlySet<HistoryEvent['type']>;
}

/** 'produce' repeats 'produced', 'acked' repeats the consumer's ack, 'processed' its last step. */
export const LANES_HIDDEN: ReadonlySet<HistoryEvent['type']> = new Set(['produce', 'acked', 'processed']);

const TIME_WIDTH = 13;
const LANE_WIDTH_MAX = 26;
const VALUE_SHOWN_MAX = 12;
const IDS_LISTED_MAX = 4;

export function formatLanes(events: readonly HistoryEvent[], options: LaneOptions = {}): string {
  const hide = options.hide ?? LANES_HIDDEN;
  const shown = events.filter((e) => !hide.has(e.type));
  const lanes = [...(options.lanes ?? defaultLanes(shown))];
  for (const e of shown) if (!lanes.includes(laneOf(e))) lanes.splice(lanes.length - 1, 0, laneOf(e));
  const cells = shown.map((e) => ({ lane: lanes.indexOf(laneOf(e)), lines: laneCell(e).split('\n'), t: e.t }));
  const widths = lanes.map((name, i) => Math.min(LANE_WIDTH_MAX, Math.max(name.length + 2, ...cells.filter((c) => c.lane === i).map((c) => c.lines[0]!.length + 2))));
  const header = ('time'.padEnd(TIME_WIDTH) + lanes.map((name, i) => ` ${name.padEnd(widths[i]! - 1)}`).join('')).trimEnd();
  const rows = cells.flatMap(({ lane, lines, t }) => lines.map((text, n) => row(n === 0 ? formatTime(t) : '', lane, text, widths)));
  return [header, ...rows].join('\n');
}

/** A line with the event's text in its lane; the lane bars go on to the right as long as the text leaves room. */
function row(time: string, lane: number, text: string, widths: readonly number[]): string {
  let line = time.padEnd(TIME_WIDTH);
  for (let i = 0; i < lane; i++) line += '│'.padEnd(widths[i]!);
  line += `│${text}`;
  if (text.length + 1 > widths[lane]!) return line.trimEnd();
  line = line.padEnd(line.length + widths[lane]! - text.length - 1);
  for (let i = lane + 1; i < widths.length; i++) line += '│'.padEnd(widths[i]!);
  return line.trimEnd();
}

function defaultLanes(events: readonly HistoryEvent[]): string[] {
  const producers = new Set<string>();
  const consumers = new Set<string>();
  for (const e of events) {
    const lane = laneOf(e);
    if (lane === 'broker') continue;
    if (e.type.startsWith('produce') && !('consumer' in e)) producers.add(lane);
    else consumers.add(lane);
  }
  for (const name of producers) consumers.delete(name);
  return [...producers, ...consumers, 'broker'];
}

/** The short text of an event in its lane. */
export function laneCell(e: HistoryEvent): string {
  switch (e.type) {
    case 'produce': return `send ${ids(e.ids)} → ${e.topic}`;
    case 'produced': return e.records.length > IDS_LISTED_MAX
      ? `▶ ${ids(e.records.map((r) => r.id))} → ${e.topic} (${e.records.length})`
      : `▶ ${e.records.map((r) => `${r.id}${r.key === null ? '' : ` [${r.key}]`} p${r.partition}@${r.offset}`).join(', ')}`;
    case 'produceFailed': return `✗ ${ids(e.ids)} ${e.code ?? (e.indeterminate ? 'indeterminate' : 'failed')}${e.retryAfterMs === undefined ? '' : `, retry in ${e.retryAfterMs}ms`}`;
    case 'deliver': {
      const value = e.value !== null && e.value.length <= VALUE_SHOWN_MAX ? ` ${e.value}` : '';
      return `◀ ${e.id}${value} #${e.deliveryCount}${e.duplicate ? ' (dup)' : ''}`;
    }
    case 'effect': return `★ ${e.kind}(${e.effectId})`;
    case 'settle': {
      const mark = { ack: '✓', nack: '✗', reject: '☠' }[e.how];
      const note = e.dropped === 'lostAck' ? ' (lost)' : e.dropped ? ' (dropped)' : e.delayedMs ? ` (+${e.delayedMs}ms)` : '';
      return `${mark} ${e.how} ${e.id}${note}${e.reason === undefined ? '' : `: ${e.reason}`}`;
    }
    case 'settleRefused': return `⊘ ${e.how} ${e.id} ${e.code === 'DELIVERY_STALE' ? 'stale' : e.code}`;
    case 'processed': return `done ${e.id}`;
    case 'handlerError': return `✗ ${e.id} threw: ${e.error}`;
    case 'acked': return `acked ${e.id}`;
    case 'leaseExpired': return `⌛ lease expired ${e.id}`;
    case 'redelivered': return `↻ ${e.id} as #${e.nextDeliveryCount} ${e.delayMs > 0 ? `in ${e.delayMs}ms` : 'now'} (${e.reason})`;
    case 'deadLettered': return `☠ ${e.id} dead-lettered after ${e.deliveryCount}: ${e.reason}`;
    case 'rebalanced': return `⇄ ${e.group} ${e.reason} ${e.member}: ${Object.entries(e.assignment).map(([member, ps]) => `${member}=[${ps.join(',')}]`).join(' ')}`;
    case 'groupReset': return `⟲ ${e.group} reset: ${positions(e.offsets)}`;
    case 'groupDeleted': return `✕ ${e.group} deleted`;
    case 'fault': return `⚡ ${e.description}`;
    case 'consumer': return CONSUMER_MARKS[e.what];
    case 'uncaught': return `✗ uncaught: ${e.error}`;
    case 'brokerRestart': return `⚡ broker restart (${e.crash})`;
    case 'retentionDropped': return e.group === undefined
      ? `✂ ${e.topic} p${e.partition}: segments deleted, startOffset ${e.startOffset}`
      : `✂ ${e.group} lost ${e.lostRecords} unacked records (p${e.partition})`;
    case 'admin': return [`⚙ ${e.what}`, ...(e.notes ?? []).map((note) => `  ${note}`)].join('\n');
    case 'lag': return `lag ${e.group}=${e.lag}`;
    case 'end': return `end (${e.reason})`;
  }
}

/** `r1 r2 r3`, or `r1..r9` for a longer run. */
function ids(list: readonly string[]): string {
  return list.length > IDS_LISTED_MAX ? `${list[0]}..${list[list.length - 1]}` : list.join(' ');
}
