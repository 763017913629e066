/**
 * A partition log (or group journal) that failed, as an operator is told of it: the broker's
 * `logFailed` event at once, describeTopic's `failure` in process and over the wire, /healthz
 * 503 naming it, the /metrics gauges, and `brook topics describe`. The failure here is the one
 * nobody waits for: the fsync { intervalMs } timer's, which no produce sees until the next one.
 * Last, a partition whose retention cannot finish: not a failed log, but shown the same ways
 * (retentionFailure, its gauge, the CLI) so that a pass nobody awaits does not fail in silence.
 * So is a partition whose periodic producer-state snapshot cannot be written (producerSnapshotFailure).
 * And a tail reader whose read meets a damaged batch: it ends with the error, not a silent stall.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock } from '@brook/protocol';
import { Broker, type BrokerEvents, type BrookServer } from '@brook/broker';
import { connect, type Client } from '@brook/client';
import { brook } from './fixtures/cli-run.js';

const opened: { broker?: Broker; client?: Client } = {};

afterEach(async () => {
  await opened.client?.close();
  // close() rejects with a failed journal's failure (close-after-failure.test.ts): the test has checked what it meant to.
  await opened.broker?.close().catch(() => undefined);
  delete opened.client;
  delete opened.broker;
});

async function world(): Promise<{ broker: Broker; fs: MemoryFileSystem; clock: VirtualClock }> {
  const fs = new MemoryFileSystem();
  const clock = new VirtualClock();
  const broker = await Broker.open({ storage: 'memory', fs, clock, fsync: { intervalMs: 100 } });
  opened.broker = broker;
  return { broker, fs, clock };
}

/** Fails the next fsync of `topic`'s partition 1 and lets its { intervalMs } timer run into it. */
async function failPartitionOne(broker: Broker, fs: MemoryFileSystem, clock: VirtualClock, topic: string): Promise<void> {
  await broker.produce(topic, [{ value: 'a', partition: 1 }]);
  fs.failNext('sync', { errno: 'EIO', path: new RegExp(`/topics/${topic}/1/`) });
  await clock.advanceAsync(100);
}

async function listen(broker: Broker): Promise<{ server: BrookServer; get: (path: string) => Promise<{ status: number; text: string }> }> {
  const server = await broker.listen({ port: 0 });
  return {
    server,
    get: async (path) => {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
      return { status: response.status, text: await response.text() };
    },
  };
}

/**
 * A failure of partition 1 of `topic` that is no failed log (its retention, its producer
 * snapshot), shown as `field` of describeTopic (null for partition 0) alike in process and over
 * the wire, as the gauge `gauge` (1 and 0), in `brook topics describe` as a line starting
 * `cliLine` (none for partition 0), while /healthz stays 200: the log still takes writes.
 */
async function expectShownForPartitionOne(
  broker: Broker, server: BrookServer, get: (path: string) => Promise<{ text: string; status: number }>,
  topic: string, field: 'retentionFailure' | 'producerSnapshotFailure', gauge: string, cliLine: string,
): Promise<void> {
  const inProcess = broker.describeTopic(topic);
  expect(inProcess.partitions.map((p) => p[field])).toEqual([null, { code: 'IO_ERROR', message: expect.stringMatching(/ENOSPC/) }]);
  expect(await opened.client!.admin.describeTopic(topic)).toEqual(inProcess);
  const metrics = (await get('/metrics')).text;
  expect(metrics).toContain(`# TYPE ${gauge} gauge\n`);
  expect(metrics).toContain(`${gauge}{topic="${topic}",partition="0"} 0\n`);
  expect(metrics).toContain(`${gauge}{topic="${topic}",partition="1"} 1\n`);
  expect(await get('/healthz'), 'the log takes writes: nothing stops the broker doing its job').toEqual({ status: 200, text: 'ok' });
  const described = (await brook(['topics', 'describe', topic], { env: { BROOK_URL: server.url } })).stdout;
  expect(described).toMatch(new RegExp(`^partition 1: ${cliLine}: IO_ERROR: .*ENOSPC`, 'm'));
  expect(described).not.toMatch(new RegExp(`^partition 0: ${cliLine}`, 'm'));
}

describe('a partition log whose { intervalMs } fsync failed', () => {
  it('logFailed comes at once, before any produce meets the failure, and once', async () => {
    const { broker, fs, clock } = await world();
    await broker.createTopic('sh-event', { partitions: 2 });
    const events: Parameters<BrokerEvents['logFailed']>[0][] = [];
    broker.on('logFailed', (event) => events.push(event));
    await failPartitionOne(broker, fs, clock, 'sh-event');
    expect(events).toEqual([{ topic: 'sh-event', partition: 1, code: 'IO_ERROR', message: expect.stringMatching(/sh-event\/1 failed.*EIO/) }]);
    const refused = await broker.produce('sh-event', [{ value: 'b', partition: 1 }]).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'IO_ERROR', message: events[0]!.message });
    await broker.produce('sh-event', [{ value: 'c', partition: 0 }]);
    await clock.advanceAsync(100);
    expect(events, 'once per failure; the healthy partition goes on').toHaveLength(1);
  });

  it('describeTopic shows it in process and over the WebSocket client alike; a healthy partition has failure null', async () => {
    const { broker, fs, clock } = await world();
    await broker.createTopic('sh-describe', { partitions: 2 });
    const { server } = await listen(broker);
    opened.client = await connect(server.url);
    expect((await opened.client.admin.describeTopic('sh-describe')).partitions.map((p) => p.failure)).toEqual([null, null]);
    await failPartitionOne(broker, fs, clock, 'sh-describe');
    const inProcess = broker.describeTopic('sh-describe');
    expect(inProcess.partitions.map((p) => p.failure)).toEqual([null, { code: 'IO_ERROR', message: expect.stringMatching(/EIO/) }]);
    expect(await opened.client.admin.describeTopic('sh-describe')).toEqual(inProcess);
  });

  it('/healthz answers 503 naming the partition and why (200 ok before), /metrics has brook_partition_log_failed 1 for it, 0 for the others', async () => {
    const { broker, fs, clock } = await world();
    await broker.createTopic('sh-health', { partitions: 2 });
    const { get } = await listen(broker);
    expect(await get('/healthz')).toEqual({ status: 200, text: 'ok' });
    expect((await get('/metrics')).text).toContain('brook_partition_log_failed{topic="sh-health",partition="1"} 0\n');
    await failPartitionOne(broker, fs, clock, 'sh-health');
    const health = await get('/healthz');
    expect(health.status).toBe(503);
    expect(health.text).toMatch(/^topic sh-health partition 1: IO_ERROR: log \S+sh-health\/1 failed and must be reopened: .*EIO.*\n$/);
    const metrics = (await get('/metrics')).text;
    expect(metrics).toContain('# TYPE brook_partition_log_failed gauge\n');
    expect(metrics).toContain('brook_partition_log_failed{topic="sh-health",partition="0"} 0\n');
    expect(metrics).toContain('brook_partition_log_failed{topic="sh-health",partition="1"} 1\n');
    expect(broker.failedLogs()).toEqual([{ topic: 'sh-health', partition: 1, failure: broker.describeTopic('sh-health').partitions[1]!.failure }]);
  });

  it('/healthz names every failed log, one line each', async () => {
    const { broker, fs, clock } = await world();
    const { get } = await listen(broker);
    for (const topic of ['sh-two-a', 'sh-two-b']) {
      await broker.createTopic(topic, { partitions: 2 });
      await failPartitionOne(broker, fs, clock, topic);
    }
    const health = await get('/healthz');
    expect(health.status).toBe(503);
    expect(health.text.split('\n').map((line) => line.replace(/:.*/, ''))).toEqual(['topic sh-two-a partition 1', 'topic sh-two-b partition 1', '']);
  });

  it('brook topics describe prints it, in text and --json', async () => {
    const { broker, fs, clock } = await world();
    await broker.createTopic('sh-cli', { partitions: 2 });
    const { server } = await listen(broker);
    await failPartitionOne(broker, fs, clock, 'sh-cli');
    const env = { BROOK_URL: server.url };
    const text = await brook(['topics', 'describe', 'sh-cli'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^partition 1 failed, refusing writes until the broker restarts: IO_ERROR: log \S+ failed and must be reopened: .*EIO/m);
    expect(text.stdout).not.toMatch(/^partition 0 failed/m);
    const json = JSON.parse((await brook(['topics', 'describe', 'sh-cli', '--json'], { env })).stdout) as { partitions: { failure: unknown }[] };
    expect(json.partitions.map((p) => p.failure)).toEqual([null, { code: 'IO_ERROR', message: expect.stringMatching(/EIO/) }]);
  });
});

describe('a group journal whose { intervalMs } fsync failed', () => {
  it('logFailed names the group at once, /healthz answers 503 naming it (every ack of it fails until a restart), /metrics has brook_group_journal_failed 1', async () => {
    const { broker, fs, clock } = await world();
    await broker.createTopic('sh-journal');
    const { get } = await listen(broker);
    await broker.produce('sh-journal', [{ value: 'a' }]);
    const held: { ack(): Promise<void> }[] = [];
    await broker.subscribe({ topic: 'sh-journal', group: 'g' }, (delivery) => {
      held.push(delivery);
      return new Promise<void>(() => undefined);
    });
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect((await get('/metrics')).text).toContain('brook_group_journal_failed{topic="sh-journal",group="g"} 0\n');
    const failed: Parameters<BrokerEvents['logFailed']>[0][] = [];
    broker.on('logFailed', (event) => failed.push(event));
    fs.failNext('sync', { errno: 'EIO', path: /\/groups\/sh-journal\/g\// });
    await clock.advanceAsync(100);
    expect(failed).toEqual([{ topic: 'sh-journal', group: 'g', code: 'IO_ERROR', message: expect.stringMatching(/EIO/) }]);
    const health = await get('/healthz');
    expect(health.status).toBe(503);
    expect(health.text).toMatch(/^group g of topic sh-journal: IO_ERROR: .*EIO.*\n$/);
    expect((await get('/metrics')).text).toContain('brook_group_journal_failed{topic="sh-journal",group="g"} 1\n');
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});

describe('a partition whose retention cannot finish (tried again at every pass)', () => {
  it("describeTopic's retentionFailure in process and over the wire, the brook_partition_retention_failed gauge and brook topics describe show it, until a pass finishes; /healthz stays 200", async () => {
    const { broker, fs } = await world();
    await broker.createTopic('sh-retention', { partitions: 2, segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 60; i++) await broker.produce('sh-retention', [{ value: 'x'.repeat(200), partition: 1 }]);
    const { server, get } = await listen(broker);
    opened.client = await connect(server.url);
    fs.failNext('rename', { errno: 'ENOSPC', path: /\/topics\/sh-retention\/1\/log-start\.json/ });
    await expect(broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expectShownForPartitionOne(broker, server, get, 'sh-retention', 'retentionFailure', 'brook_partition_retention_failed', 'retention could not finish, tried again at every pass');

    await broker.enforceRetention();
    expect(broker.describeTopic('sh-retention').partitions[1]!.retentionFailure).toBeNull();
    expect((await get('/metrics')).text).toContain('brook_partition_retention_failed{topic="sh-retention",partition="1"} 0\n');
  });
});

describe('a tail reader whose read meets a damaged batch (CORRUPT_SEGMENT: every read of it fails alike)', () => {
  it("ends over the wire too: the client's subscription ends with CORRUPT_SEGMENT rather than wait in silence", async () => {
    const fs = new MemoryFileSystem();
    const clock = new VirtualClock();
    const options = { storage: 'memory', fs, clock, indexIntervalBytes: 64 } as const;
    const first = await Broker.open(options);
    await first.createTopic('sh-damaged', { segmentBytesMax: 4096 });
    for (let i = 0; i < 60; i++) await first.produce('sh-damaged', [{ value: 'x'.repeat(100) }]);
    await first.close();
    // The first (sealed) segment's second batch claims another baseOffset, where a clean open does not scan.
    const sealed = `${first.dataDir}/topics/sh-damaged/0/00000000000000000000.log`;
    const bytes = await fs.readFile(sealed);
    new DataView(bytes.buffer, bytes.byteOffset).setBigInt64(12 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(8), 40n);
    await fs.writeFile(sealed, bytes);
    opened.broker = await Broker.open(options);
    opened.client = await connect(opened.broker, { clock });
    const subscription = await opened.client.subscribe({ topic: 'sh-damaged', from: 'earliest' }, () => undefined);
    await expect(subscription.ended).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' });
  });
});

describe("a partition whose periodic producer-state snapshot cannot be written (nobody awaits it)", () => {
  it("describeTopic's producerSnapshotFailure in process and over the wire, the brook_partition_producer_snapshot_failed gauge and brook topics describe show it, until one is written; /healthz stays 200", async () => {
    const fs = new MemoryFileSystem();
    // The client stamps its records with the system clock: the broker's reads the same (timestampAheadMsMax).
    const clock = new VirtualClock({ startMs: Date.now() });
    const broker = (opened.broker = await Broker.open({ storage: 'memory', fs, clock, producerSnapshotIntervalMs: 1000 }));
    await broker.createTopic('sh-snapshot', { partitions: 2 });
    const { server, get } = await listen(broker);
    opened.client = await connect(server.url);
    await opened.client.producer().send('sh-snapshot', [{ value: 'a', partition: 1 }]);
    fs.failNext('rename', { errno: 'ENOSPC', path: /\/topics\/sh-snapshot\/1\/producer-state\.snapshot/ });
    await clock.advanceAsync(1000);
    await expectShownForPartitionOne(broker, server, get, 'sh-snapshot', 'producerSnapshotFailure', 'brook_partition_producer_snapshot_failed', 'producer-state snapshot not written, tried again every interval');

    await clock.advanceAsync(1000);
    expect(broker.describeTopic('sh-snapshot').partitions[1]!.producerSnapshotFailure).toBeNull();
    expect((await get('/metrics')).text).toContain('brook_partition_producer_snapshot_failed{topic="sh-snapshot",partition="1"} 0\n');
  });
});
