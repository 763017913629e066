/**
 * Every entry of LIMITS at its configuration boundary, through the API that takes it: min and max
 * are accepted, one past either end (and a fraction) is INVALID_CONFIG naming the option as the
 * caller wrote it. The table is keyed by LIMITS, so a new limit without a row fails to compile.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '@brook/protocol';
import { Broker, LIMITS, type BrokerOptions, type SubscribeOptions } from '../index.js';
import { FSYNC_INTERVAL_MS } from './defaults.js';

type LimitName = keyof typeof LIMITS;

interface Row {
  /** The option's name in the API that takes it (details.option of the refusal). */
  readonly option: string;
  /** Applies `value` through that API, then undoes whatever it opened. */
  readonly apply: (value: number) => Promise<void>;
}

let topics = 0;

async function openBroker(options: BrokerOptions = {}): Promise<Broker> {
  return Broker.open({ storage: 'memory', clock: new VirtualClock(), ...options });
}

async function withBroker(run: (broker: Broker) => Promise<void>): Promise<void> {
  const broker = await openBroker();
  try {
    await run(broker);
  } finally {
    await broker.close();
  }
}

const brokerOption = (option: LimitName): Row => ({ option, apply: async (value) => (await openBroker({ [option]: value })).close() });

const listenOption = (option: LimitName): Row => ({
  option, apply: (value) => withBroker(async (broker) => (await broker.listen({ port: 0, [option]: value })).close()),
});

const partitions: Row = {
  option: 'partitions',
  apply: (value) => withBroker(async (broker) => {
    const topic = `limits-topic-${topics++}`;
    await broker.createTopic(topic, { partitions: value });
    expect(broker.describeTopic(topic).partitions).toHaveLength(value);
  }),
};

const subscribeOption = (option: string, options: (value: number) => Partial<SubscribeOptions>): Row => ({
  option,
  apply: (value) => withBroker(async (broker) => {
    const topic = `limits-subscribe-${topics++}`;
    await broker.createTopic(topic);
    await (await broker.subscribe({ topic, group: `${topic}-group`, ...options(value) }, () => undefined)).close();
  }),
});

const ROWS: Record<LimitName, Row> = {
  segmentBytesMax: brokerOption('segmentBytesMax'),
  segmentMsMax: brokerOption('segmentMsMax'),
  timestampAheadMsMax: brokerOption('timestampAheadMsMax'),
  indexIntervalBytes: brokerOption('indexIntervalBytes'),
  logTailCacheBytes: brokerOption('logTailCacheBytes'),
  batchBytesMax: brokerOption('batchBytesMax'),
  batchRecordsMax: brokerOption('batchRecordsMax'),
  fetchRecordsMax: brokerOption('fetchRecordsMax'),
  fetchBytesMax: brokerOption('fetchBytesMax'),
  retentionCheckIntervalMs: brokerOption('retentionCheckIntervalMs'),
  groupUnackedRecordsMax: brokerOption('groupUnackedRecordsMax'),
  groupJournalBytesMax: brokerOption('groupJournalBytesMax'),
  producersPerPartitionMax: brokerOption('producersPerPartitionMax'),
  producerSnapshotIntervalMs: brokerOption('producerSnapshotIntervalMs'),
  frameBytesMax: listenOption('frameBytesMax'),
  connectionsMax: listenOption('connectionsMax'),
  subscriptionsMax: listenOption('subscriptionsMax'),
  requestsInFlightMax: listenOption('requestsInFlightMax'),
  sendBufferBytesMax: listenOption('sendBufferBytesMax'),
  deliverRecordsMax: listenOption('deliverRecordsMax'),
  handshakeTimeoutMs: listenOption('handshakeTimeoutMs'),
  idleTimeoutMs: listenOption('idleTimeoutMs'),
  closeGraceMs: listenOption('closeGraceMs'),
  partitionsMax: partitions,
  maxInFlight: subscribeOption('maxInFlight', (maxInFlight) => ({ maxInFlight })),
  ackTimeoutMs: subscribeOption('ackTimeoutMs', (ackTimeoutMs) => ({ ackTimeoutMs })),
  maxDeliveries: subscribeOption('maxDeliveries', (maxDeliveries) => ({ maxDeliveries })),
  // The other end of the backoff pair is set so that maxMs >= initialMs holds at either boundary.
  backoffInitialMs: subscribeOption('backoff.initialMs', (initialMs) => ({ backoff: { initialMs, maxMs: LIMITS.backoffMaxMs.max } })),
  backoffMaxMs: subscribeOption('backoff.maxMs', (maxMs) => ({ backoff: { initialMs: 0, maxMs } })),
};

describe('LIMITS at the configuration boundary', () => {
  it('is one frozen table, units last in the names, every default within its limits', () => {
    expect(Object.isFrozen(LIMITS)).toBe(true);
    for (const limit of Object.values(LIMITS)) {
      expect(limit.min).toBeLessThanOrEqual(limit.default);
      expect(limit.default).toBeLessThanOrEqual(limit.max);
    }
  });

  it.each(Object.entries(ROWS))('%s: min and max are accepted, one past either end is INVALID_CONFIG', async (name, { option, apply }) => {
    const { min, max } = LIMITS[name as LimitName];
    await apply(min);
    await apply(max);
    for (const bad of [min - 1, max + 1, min + 0.5]) {
      await expect(apply(bad)).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: expect.objectContaining({ option }) });
    }
  });

  // Not in LIMITS: it is a field of the fsync option, not an option of its own.
  it('fsync.intervalMs: min and max are accepted, one past either end (and a fraction) is INVALID_CONFIG', async () => {
    const { min, max } = FSYNC_INTERVAL_MS;
    const apply = async (intervalMs: number): Promise<void> => (await openBroker({ fsync: { intervalMs } })).close();
    await apply(min);
    await apply(max);
    for (const bad of [min - 1, max + 1, min + 0.5]) {
      await expect(apply(bad)).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: expect.objectContaining({ option: 'fsync.intervalMs' }) });
    }
  });
});
