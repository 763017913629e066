/**
 * GET /metrics in the Prometheus text format (version 0.0.4), and GET /healthz (health()). Gauges
 * are read from the broker when scraped; the counters are fed by broker events while a
 * listener runs (events cost nothing when nobody listens, so the counters exist only while a
 * server does). A group's
 * counters go with its `groupDeleted` (deleteGroup, deleteTopic): a server that outlives many
 * short-lived topics (a test suite's, each with its own names) would otherwise report every one
 * of them for good, and a group made again under the name before the next scrape would go on
 * from the old group's count. Counted again later, they start from zero, a reset Prometheus's
 * rate() expects of a counter. While a delete runs the group is not listed, and neither are its
 * counters. The tail readers' losses are counted per partition of a topic (a reader is
 * ephemeral: its id would make a series per subscription) and go with the topic's
 * `topicDeleted`, for the same reasons.
 */
import type { Broker } from '../broker.js';
import type { BrokerEvents } from '../events.js';
import { describeFailedLog } from '../failed-logs.js';

type Labels = Record<string, string | number>;

export class Metrics {
  /** By `topic\0group`. */
  private readonly redeliveries = new Map<string, number>();
  private readonly deadLetters = new Map<string, number>();
  private readonly onRedelivered: BrokerEvents['redelivered'] = (event) => bump(this.redeliveries, event.topic, event.group);
  private readonly onDeadLettered: BrokerEvents['deadLettered'] = (event) => bump(this.deadLetters, event.topic, event.group);
  /** By `topic\0group`: records retention deleted before the group acked them. */
  private readonly groupLosses = new Map<string, number>();
  /** By `topic\0partition`: records retention deleted before a tail reader read them. */
  private readonly tailReaderLosses = new Map<string, number>();
  private readonly onRetentionDropped: BrokerEvents['retentionDropped'] = ({ topic, partition, group, reader, lostRecords }) => {
    if (group !== undefined) bump(this.groupLosses, topic, group, Number(lostRecords));
    else if (reader !== undefined) bump(this.tailReaderLosses, topic, String(partition), Number(lostRecords));
  };
  private readonly onGroupDeleted: BrokerEvents['groupDeleted'] = ({ topic, group }) => {
    for (const counts of [this.redeliveries, this.deadLetters, this.groupLosses]) counts.delete(keyOf(topic, group));
  };
  private readonly onTopicDeleted: BrokerEvents['topicDeleted'] = ({ topic }) => {
    for (const key of this.tailReaderLosses.keys()) if (key.startsWith(keyOf(topic, ''))) this.tailReaderLosses.delete(key);
  };

  constructor(
    private readonly broker: Broker,
    private readonly connections: () => number,
    private readonly unsentBytes: () => number,
  ) {
    broker.on('redelivered', this.onRedelivered);
    broker.on('deadLettered', this.onDeadLettered);
    broker.on('groupDeleted', this.onGroupDeleted);
    broker.on('topicDeleted', this.onTopicDeleted);
    broker.on('retentionDropped', this.onRetentionDropped);
  }

  dispose(): void {
    this.broker.off('redelivered', this.onRedelivered);
    this.broker.off('deadLettered', this.onDeadLettered);
    this.broker.off('groupDeleted', this.onGroupDeleted);
    this.broker.off('topicDeleted', this.onTopicDeleted);
    this.broker.off('retentionDropped', this.onRetentionDropped);
  }

  /**
   * GET /healthz: 200 'ok', or 503 with a line per log that refuses writes until the broker is
   * reopened, a topic partition's or a group journal's (both stop the broker doing its job: a
   * failed journal fails every ack of its group), naming it and why.
   */
  health(): { status: number; text: string } {
    const failed = this.broker.failedLogs();
    return failed.length === 0 ? { status: 200, text: 'ok' } : { status: 503, text: `${failed.map(describeFailedLog).join('\n')}\n` };
  }

  render(): string {
    const lines: string[] = [];
    const family = (name: string, type: 'gauge' | 'counter', help: string, samples: [Labels, number | bigint][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${formatLabels(labels)} ${value}`);
    };
    const partitions = this.broker.listTopics().flatMap((topic) => this.broker.describeTopic(topic).partitions.map((p) => ({ labels: { topic, partition: p.partition }, p })));
    family('brook_partition_end_offset', 'gauge', 'Offset the next record of the partition will get.', partitions.map(({ labels, p }) => [labels, p.endOffset]));
    family('brook_partition_log_failed', 'gauge', 'Whether the partition log failed and refuses writes until the broker is reopened (1) or not (0).',
      partitions.map(({ labels, p }) => [labels, p.failure ? 1 : 0]));
    family('brook_partition_retention_failed', 'gauge', 'Whether the last retention run on the partition could not finish (1; tried again at every pass) or not (0).',
      partitions.map(({ labels, p }) => [labels, p.retentionFailure ? 1 : 0]));
    family('brook_partition_producer_snapshot_failed', 'gauge', "Whether the partition's last periodic producer-state snapshot could not be written (1; tried again every producerSnapshotIntervalMs) or not (0).",
      partitions.map(({ labels, p }) => [labels, p.producerSnapshotFailure ? 1 : 0]));
    const groups = this.broker.listGroups().map(({ topic, group }) => ({ labels: { topic, group }, description: this.broker.describeGroup(topic, group) }));
    const live = new Set(groups.map(({ labels }) => keyOf(labels.topic, labels.group)));
    family('brook_group_lag', 'gauge', 'Records of the topic the group has not acked yet.', groups.map(({ labels, description }) => [labels, description.lag]));
    const failedJournals = new Set(this.broker.failedLogs().flatMap((failed) => ('group' in failed ? [keyOf(failed.topic, failed.group)] : [])));
    family('brook_group_journal_failed', 'gauge', "Whether the group's journal failed and refuses writes until the broker is reopened (1) or not (0).",
      groups.map(({ labels }) => [labels, failedJournals.has(keyOf(labels.topic, labels.group)) ? 1 : 0]));
    family('brook_group_in_flight', 'gauge', 'Records delivered to the group and not yet settled.', groups.map(({ labels, description }) => [
      labels, description.partitions.reduce((sum, partition) => sum + partition.inFlight.length, 0),
    ]));
    family('brook_redeliveries_total', 'counter', 'Records scheduled for redelivery (nack, lease expiry, member left, rebalance, go-back, given back unsent) since the server started.', samplesOf(this.redeliveries, live));
    family('brook_dead_letters_total', 'counter', 'Records dead-lettered since the server started.', samplesOf(this.deadLetters, live));
    family('brook_group_lost_records_total', 'counter', 'Records retention deleted before the group acked them (its lostToRetention), since the server started.', samplesOf(this.groupLosses, live));
    family('brook_tail_reader_lost_records_total', 'counter', 'Records retention deleted before a tail reader (a subscription without a group) read them, summed over its readers, since the server started.',
      this.tailReaderLossSamples());
    family('brook_connections', 'gauge', 'Open WebSocket connections.', [[{}, this.connections()]]);
    family('brook_unsent_bytes', 'gauge', 'Bytes queued on WebSocket connections that the network has not taken yet (slow or stuck clients).', [[{}, this.unsentBytes()]]);
    return `${lines.join('\n')}\n`;
  }

  /** The tail readers' losses of the topics listed now (one being deleted is not). */
  private tailReaderLossSamples(): [Labels, number][] {
    const topics = new Set(this.broker.listTopics());
    const samples: [Labels, number][] = [];
    for (const [key, lost] of this.tailReaderLosses) {
      const [topic = '', partition = ''] = key.split('\u0000');
      if (topics.has(topic)) samples.push([{ topic, partition: Number(partition) }, lost]);
    }
    return samples;
  }
}

function keyOf(topic: string, group: string): string {
  return `${topic}\u0000${group}`;
}

/** Adds `by` to the count of (topic, group or partition). Prometheus values are doubles anyway. */
function bump(counts: Map<string, number>, topic: string, second: string, by = 1): void {
  const key = keyOf(topic, second);
  counts.set(key, (counts.get(key) ?? 0) + by);
}

function samplesOf(counts: Map<string, number>, live: ReadonlySet<string>): [Labels, number][] {
  return [...counts].filter(([key]) => live.has(key)).map(([key, value]) => {
    const [topic = '', group = ''] = key.split('\u0000');
    return [{ topic, group }, value];
  });
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${String(value).replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}
