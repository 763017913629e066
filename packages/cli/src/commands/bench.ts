/**
 * `brook bench`: a quick end-to-end figure for the server at --url. It creates a topic of its own,
 * joins a group of consumers, produces records of a given size as fast as the server takes them
 * and waits until every one is consumed and acked; progress on stderr every second in which records moved; at the end
 * produce and end-to-end rates and produce → handler latency. The topic is deleted afterwards,
 * also after a failure or a Ctrl-C (exit 130, no result).
 *
 * It measures one client process against one server; the side-by-side comparison with Redis and
 * NATS is `npx -y pnpm@10 bench:peers` (docs/benchmarks.md).
 */
import { LIMITS } from '@brook/broker';
import type { Client, Message } from '@brook/client';
import { defineCommand, type ParsedArgs } from '../cli-args.js';
import { EXIT } from '../exit.js';
import { plural, toJson } from '../format.js';
import { countAndRate, startProgress } from '../progress.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, withClient } from '../remote.js';
import { SendWindow } from '../send-window.js';

const CHUNK_RECORDS = 1000;
/** Value bytes one chunk holds at most: 1000 records of --size 512 KiB would be half a GB at once. */
const CHUNK_BYTES_MAX = 4 * 1024 * 1024;
/** The first 8 bytes of each value: performance.now() at send, for the latency. */
const STAMP_BYTES = 8;
/** Half the broker's default batchBytesMax (1 MiB): one record of it fits a batch whatever its framing. */
export const BENCH_SIZE_BYTES_MAX = LIMITS.batchBytesMax.default / 2;
/** One latency (8 bytes) is kept per record until the end, for p50/p99: 80 MB at most. */
export const BENCH_RECORDS_MAX = 10_000_000;
/**
 * Every consumer is a subscription on the command's one connection: a server's default
 * subscriptionsMax (64) refuses one more, which would fail the run part-way.
 */
export const BENCH_CONSUMERS_MAX = LIMITS.subscriptionsMax.default;

const USAGE = `usage: brook bench [--records N] [--size BYTES] [--partitions N] [--consumers N]

Produces N records of BYTES bytes into a fresh topic while a group of consumers acks them; prints
records/s for produce and end to end, and the produce → handler latency (p50, p99). The topic
is deleted at the end, also after a failure or Ctrl-C (exit 130, no result; again to exit at once).

  --records N      records to send, at most ${BENCH_RECORDS_MAX} (default 100000)
  --size BYTES     value size, ${STAMP_BYTES} to ${BENCH_SIZE_BYTES_MAX} (default 100)
  --partitions N   partitions of the bench topic, at most ${LIMITS.partitionsMax.max} (default 4)
  --consumers N    members of the consuming group, at most ${BENCH_CONSUMERS_MAX}: all on one connection,
                   a server's default subscriptionsMax (default 2)
${REMOTE_USAGE}`;

interface BenchOptions {
  records: number;
  sizeBytes: number;
  partitions: number;
  consumers: number;
}

export interface BenchResult extends BenchOptions {
  produceRecordsPerSec: number;
  endToEndRecordsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export const benchCommand = defineCommand(
  {
    name: 'bench', summary: 'measure produce and end-to-end throughput and latency against a server', usage: USAGE,
    options: { ...REMOTE_OPTIONS, records: { type: 'string' }, size: { type: 'string' }, partitions: { type: 'string' }, consumers: { type: 'string' } },
  },
  async (args, env) => {
    const options = benchOptions(args);
    // Ctrl-C stops the run and deletes its topic before exiting: killed, it left brook-bench-* behind.
    const interrupted = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted.signal.aborted) process.exit(EXIT.interrupted);
      process.stderr.write(`brook: ${signal}: stopping, deleting the bench topic (again to exit at once)\n`);
      interrupted.abort();
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    try {
      const result = await withClient(args, env, (client) => bench(client, options, interrupted.signal));
      if (result === undefined) return EXIT.interrupted;
      process.stdout.write(args.flag('json') ? `${toJson(result)}\n` : formatResult(result));
      return EXIT.ok;
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
  },
);

/** Held to the rules of every other command's numbers (no 1e3 or 0x10), --partitions to the broker's limit before connecting. */
function benchOptions(args: ParsedArgs): BenchOptions {
  return {
    records: args.integer('records', { min: 1, max: BENCH_RECORDS_MAX }) ?? 100_000,
    sizeBytes: args.integer('size', { min: STAMP_BYTES, max: BENCH_SIZE_BYTES_MAX }) ?? 100,
    partitions: args.integer('partitions', { min: 1, max: LIMITS.partitionsMax.max }) ?? 4,
    consumers: args.integer('consumers', { min: 1, max: BENCH_CONSUMERS_MAX }) ?? 2,
  };
}

/** Resolves once `signal` aborts (at once if it has). */
function abortedOf(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

/** The run on a topic of its own, deleted at the end whatever happened; undefined if `stop` aborted it. */
async function bench(client: Client, options: BenchOptions, stop: AbortSignal): Promise<BenchResult | undefined> {
  const topic = `brook-bench-${Date.now()}`;
  await client.admin.createTopic(topic, { partitions: options.partitions });
  const latenciesMs: number[] = [];
  let everyoneDone!: () => void;
  const consumed = new Promise<void>((resolve) => (everyoneDone = resolve));
  const handler = (msg: Message): void => {
    latenciesMs.push(performance.now() - Buffer.from(msg.value!.buffer, msg.value!.byteOffset, STAMP_BYTES).readDoubleLE(0));
    if (latenciesMs.length === options.records) everyoneDone();
  };
  const subscriptions = [];
  try {
    for (let i = 0; i < options.consumers && !stop.aborted; i++) subscriptions.push(await client.subscribe({ topic, group: 'bench', maxInFlight: 1000 }, handler));
    const startedAtMs = performance.now();
    const sent = { count: 0 };
    const stopProgress = startProgress(
      () => sent.count + latenciesMs.length,
      (elapsedMs) => `${countAndRate(sent.count, 'record', elapsedMs, 'produced')}, ${countAndRate(latenciesMs.length, 'record', elapsedMs, 'consumed')}`,
    );
    try {
      await produceAll(client, topic, options, sent, stop);
      const producedMs = performance.now() - startedAtMs;
      await Promise.race([consumed, abortedOf(stop)]);
      if (stop.aborted) return undefined;
      return result(options, latenciesMs, producedMs, performance.now() - startedAtMs);
    } finally {
      stopProgress();
    }
  } finally {
    // Settled, not all: one close failing must not keep the topic from being deleted.
    await Promise.allSettled(subscriptions.map((subscription) => subscription.close()));
    await client.admin.deleteTopic(topic);
  }
}

/** Sends `options.records` stamped records in chunks, counting them in `sent`, until done or `stop` aborts. */
async function produceAll(client: Client, topic: string, options: BenchOptions, sent: { count: number }, stop: AbortSignal): Promise<void> {
  const producer = client.producer({ lingerMs: 1 });
  const window = new SendWindow();
  const chunkRecords = Math.max(1, Math.min(CHUNK_RECORDS, Math.floor(CHUNK_BYTES_MAX / options.sizeBytes)));
  for (let from = 0; from < options.records && !stop.aborted; from += chunkRecords) {
    const chunk = Array.from({ length: Math.min(chunkRecords, options.records - from) }, () => ({ value: stamped(options.sizeBytes) }));
    await window.add(() => producer.send(topic, chunk).then(() => void (sent.count += chunk.length)));
  }
  await window.finish();
}

function result(options: BenchOptions, latenciesMs: number[], producedMs: number, endToEndMs: number): BenchResult {
  latenciesMs.sort((a, b) => a - b);
  return {
    ...options,
    produceRecordsPerSec: Math.round((options.records * 1000) / producedMs),
    endToEndRecordsPerSec: Math.round((options.records * 1000) / endToEndMs),
    latencyP50Ms: round(latenciesMs[Math.floor(latenciesMs.length * 0.5)]!),
    latencyP99Ms: round(latenciesMs[Math.floor(latenciesMs.length * 0.99)]!),
  };
}

function stamped(sizeBytes: number): Uint8Array {
  const value = Buffer.alloc(sizeBytes, 0x62);
  value.writeDoubleLE(performance.now(), 0);
  return value;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function formatResult(result: BenchResult): string {
  return `${plural(result.records, 'record')} of ${result.sizeBytes} B, ${plural(result.partitions, 'partition')}, ${plural(result.consumers, 'consumer')}\n` +
    `  produce:     ${result.produceRecordsPerSec} records/s\n` +
    `  end to end:  ${result.endToEndRecordsPerSec} records/s (every record consumed and acked)\n` +
    `  latency:     p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms (produce -> handler)\n`;
}
