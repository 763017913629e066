/**
 * WAL producer benchmark, end to end: `npx tsx bench/wal-producer.bench.ts` (docs/benchmarks.md,
 * section WAL). In one run, against one in-process broker (storage 'memory', so the broker's own
 * disk is out of the comparison; connect(broker), no socket), 100 B records sent as sends of 100
 * records, 8 sends in flight, until every record is in the broker's log:
 *
 *   - the plain producer (send resolves at the broker's ack);
 *   - the WAL producer, WAL on the local disk, fsync 'always' and 'never' (send resolves once in
 *     the WAL; the clock stops when flush() says the broker has everything).
 *
 * Set BENCH_QUICK=1 for a tenth of the records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../packages/broker/src/index.js';
import { connect, type FsyncPolicy } from '../packages/client/src/index.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const RECORDS = QUICK ? 20_000 : 200_000;
const PER_SEND = 100;
const IN_FLIGHT = 8;
const value = 'x'.repeat(100);
const root = mkdtempSync(join(tmpdir(), 'brook-wal-producer-bench-'));
let runs = 0;

type Sender = { send(topic: string, records: { value: string }[]): Promise<unknown>; flush(): Promise<void> };

/** Sends RECORDS records through `producer`, IN_FLIGHT sends at a time; records/s until flushed. */
async function drive(producer: Sender, topic: string): Promise<number> {
  const batch = Array.from({ length: PER_SEND }, () => ({ value }));
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < RECORDS) {
      next += PER_SEND;
      await producer.send(topic, batch);
    }
  }));
  await producer.flush();
  return RECORDS / ((performance.now() - started) / 1000);
}

async function run(label: string, wal: FsyncPolicy | undefined): Promise<{ what: string; perSec: number }> {
  const broker = await Broker.open({ storage: 'memory' });
  const topic = `bench-${runs++}`;
  await broker.createTopic(topic, { partitions: 1 });
  const client = await connect(broker);
  const producer = wal === undefined ? client.producer() : client.producer({ wal: { dir: join(root, topic), fsync: wal, maxRecords: 1000, maxAgeMs: 5 } });
  const perSec = await drive(producer, topic);
  await producer.close();
  await client.close();
  await broker.close();
  return { what: label, perSec };
}

const fmtRate = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));

try {
  console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${RECORDS} records of 100 B, sends of ${PER_SEND}, ${IN_FLIGHT} in flight\n`);
  const rows: { what: string; perSec: number }[] = [];
  for (let round = 0; round < 2; round++) {
    rows.push(await run('plain producer', undefined), await run('WAL producer, fsync always', 'always'), await run('WAL producer, fsync never', 'never'));
  }
  console.log('| what | records/s | vs plain (same round) |\n| --- | ---: | ---: |');
  rows.forEach((row, i) => {
    const plain = rows[i - (i % 3)]!.perSec;
    console.log(`| ${row.what} | ${fmtRate(row.perSec)} | ${(row.perSec / plain).toFixed(2)} |`);
  });
} finally {
  rmSync(root, { recursive: true, force: true });
}
