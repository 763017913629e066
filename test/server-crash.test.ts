/**
 * The server killed under load: `brook serve --fsync always` runs in a child process; producers
 * send at full speed through one idempotent client producer while a group consumes and acks; the
 * parent SIGKILLs the server at seeded random moments and restarts it on the same data dir, at
 * least ten times. Then the log is read back directly and must hold:
 *
 *   - every record whose send() resolved, exactly once (no duplicate of any record at all:
 *     resends after a reconnect carry the same producer id and sequences);
 *   - per partition, each writer's records in the order it sent them;
 *   - the group's progress: no record whose ack resolved is delivered to the group again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { Broker, type FetchedRecord } from '@brook/broker';
import { connect, type Client } from '@brook/client';
import { SeededRandom } from '@brook/protocol';
import { reusablePort } from './fixtures/reusable-port.js';

const MAIN = join(import.meta.dirname, '..', 'packages', 'cli', 'src', 'main.ts');
const KILLS = 10;
const WRITERS = 4;
const BATCH_RECORDS = 20;
const PARTITIONS = 3;
const TOPIC = 'crash-orders';
const GROUP = 'crash-billing';

/** Starts `brook serve` and resolves once it printed that it is ready. */
async function startServer(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--data', dataDir, '--port', String(port), '--fsync', 'always'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('Ctrl-C')) return child;
  }
  throw new Error(`brook serve exited before it was ready (code ${child.exitCode})`);
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

interface Observed {
  confirmed: Set<string>;
  acked: Set<string>;
}

/** One writer: sends `writer:seq` records (key = writer) in batches until told to stop. */
async function write(client: Client, writer: number, running: () => boolean, observed: Observed): Promise<void> {
  const producer = client.producer({ deliveryTimeoutMs: 120_000 });
  let seq = 0;
  while (running()) {
    const values = Array.from({ length: BATCH_RECORDS }, () => `${writer}:${seq++}`);
    await producer.send(TOPIC, values.map((value) => ({ key: `writer-${writer}`, value })));
    for (const value of values) observed.confirmed.add(value);
  }
}

async function consume(client: Client, observed: Observed, signal: AbortSignal): Promise<void> {
  for await (const msg of client.consume({ topic: TOPIC, group: GROUP, maxInFlight: 500, signal })) {
    const value = msg.text()!;
    msg.ack().then(() => observed.acked.add(value), () => undefined);
  }
}

async function readAll(broker: Broker, partition: number): Promise<FetchedRecord[]> {
  const records: FetchedRecord[] = [];
  for (;;) {
    const batch = await broker.fetch({ topic: TOPIC, partition, offset: BigInt(records.length), maxRecords: 10_000 });
    if (batch.length === 0) return records;
    records.push(...batch);
  }
}

it(`keeps every confirmed record exactly once, in order, and acked group progress, across ${KILLS} SIGKILLs of the server`, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'brook-server-crash-'));
  const port = await reusablePort();
  const random = new SeededRandom(20261122);
  let server = await startServer(dataDir, port);
  const client = await connect(`ws://127.0.0.1:${port}`, { name: 'crash-test', reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
  const observed: Observed = { confirmed: new Set(), acked: new Set() };
  try {
    await client.admin.createTopic(TOPIC, { partitions: PARTITIONS });
    let running = true;
    const writers = Array.from({ length: WRITERS }, (_, writer) => write(client, writer, () => running, observed));
    const consumerStop = new AbortController();
    const consumer = consume(client, observed, consumerStop.signal);
    for (let i = 0; i < KILLS; i++) {
      const confirmedBefore = observed.confirmed.size;
      // Let the load run: until more records are confirmed, plus a random stretch.
      await until(() => observed.confirmed.size > confirmedBefore + BATCH_RECORDS * 2);
      await new Promise((resolve) => setTimeout(resolve, random.int(300)));
      await kill(server);
      server = await startServer(dataDir, port);
    }
    running = false;
    await Promise.all(writers);
    consumerStop.abort();
    await consumer.catch(() => undefined);
  } finally {
    await client.close().catch(() => undefined);
    await kill(server);
  }

  const broker = await Broker.open({ dataDir });
  try {
    const seen = new Map<string, number>();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const lastSeqOfWriter = new Map<string, number>();
      for (const record of await readAll(broker, partition)) {
        const value = Buffer.from(record.value!).toString();
        seen.set(value, (seen.get(value) ?? 0) + 1);
        const [writer, seq] = value.split(':').map(Number) as [number, number];
        expect(seq, `writer ${writer} out of order in partition ${partition}`).toBeGreaterThan(lastSeqOfWriter.get(String(writer)) ?? -1);
        lastSeqOfWriter.set(String(writer), seq);
      }
    }
    const duplicates = [...seen].filter(([, count]) => count > 1).map(([value]) => value);
    expect(duplicates).toEqual([]);
    const lost = [...observed.confirmed].filter((value) => !seen.has(value));
    expect(lost).toEqual([]);
    expect(observed.confirmed.size).toBeGreaterThan(KILLS * BATCH_RECORDS * 2);

    // The group resumes where its durable acks left it: nothing acked comes back.
    const redelivered: string[] = [];
    const stream = broker.consume({ topic: TOPIC, group: GROUP, maxInFlight: 1000 });
    const remaining = () => broker.describeGroup(TOPIC, GROUP).lag;
    if (remaining() > 0n) {
      for await (const delivery of stream) {
        const value = Buffer.from(delivery.value!).toString();
        if (observed.acked.has(value)) redelivered.push(value);
        await delivery.ack();
        if (remaining() === 0n) break;
      }
    }
    await stream.close();
    expect(redelivered).toEqual([]);
    expect(observed.acked.size).toBeGreaterThan(0);
  } finally {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

/** Waits for a condition that the running load makes true (checked every few ms, not a fixed sleep). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
