/**
 * `brook bench`: a quick end-to-end figure for the server at --url. It creates a topic of its own,
 * joins a group of consumers, produces records of a given size as fast as the server takes them
 * and waits until every one is consumed and acked; progress on stderr every second in which records moved; at the end
 * produce and end-to-end rates and produce → handler latency. The topic is deleted afterwards.
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
/** The first 8 bytes of each value: performance.now() at send, for the latency. */
const STAMP_BYTES = 8;

const USAGE = `usage: brook bench [--records N] [--size BYTES] [--partitions N] [--consumers N]

Produces N records of BYTES bytes into a fresh topic while a group of consumers acks them; prints
records/s for produce and end to end, and the produce → handler latency (p50, p99).

  --records N      records to send (default 100000)
  --size BYTES     value size, at least ${STAMP_BYTES} (default 100)
  --partitions N   partitions of the bench topic, at most ${LIMITS.partitionsMax.max} (default 4)
  --consumers N    members of the consuming group (default 2)
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
    const result = await withClient(args, env, (client) => bench(client, options));
    process.stdout.write(args.flag('json') ? `${toJson(result)}\n` : formatResult(result));
    return EXIT.ok;
  },
);

/** Held to the rules of every other command's numbers (no 1e3 or 0x10), --partitions to the broker's limit before connecting. */
function benchOptions(args: ParsedArgs): BenchOptions {
  return {
    records: args.integer('records', { min: 1 }) ?? 100_000,
    sizeBytes: args.integer('size', { min: STAMP_BYTES }) ?? 100,
    partitions: args.integer('partitions', { min: 1, max: LIMITS.partitionsMax.max }) ?? 4,
    consumers: args.integer('consumers', { min: 1 }) ?? 2,
  };
}

async function bench(client: Client, options: BenchOptions): Promise<BenchResult> {
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
    for (let i = 0; i < options.consumers; i++) subscriptions.push(await client.subscribe({ topic, group: 'bench', maxInFlight: 1000 }, handler));
    const startedAtMs = performance.now();
    let sent = 0;
    const stopProgress = startProgress(
      () => sent + latenciesMs.length,
      (elapsedMs) => `${countAndRate(sent, 'record', elapsedMs, 'produced')}, ${countAndRate(latenciesMs.length, 'record', elapsedMs, 'consumed')}`,
    );
    try {
      const producer = client.producer({ lingerMs: 1 });
      const window = new SendWindow();
      for (let from = 0; from < options.records; from += CHUNK_RECORDS) {
        const chunk = Array.from({ length: Math.min(CHUNK_RECORDS, options.records - from) }, () => ({ value: stamped(options.sizeBytes) }));
        await window.add(() => producer.send(topic, chunk).then(() => void (sent += chunk.length)));
      }
      await window.finish();
      const producedMs = performance.now() - startedAtMs;
      await consumed;
      const endToEndMs = performance.now() - startedAtMs;
      latenciesMs.sort((a, b) => a - b);
      return {
        ...options,
        produceRecordsPerSec: Math.round((options.records * 1000) / producedMs),
        endToEndRecordsPerSec: Math.round((options.records * 1000) / endToEndMs),
        latencyP50Ms: round(latenciesMs[Math.floor(latenciesMs.length * 0.5)]!),
        latencyP99Ms: round(latenciesMs[Math.floor(latenciesMs.length * 0.99)]!),
      };
    } finally {
      stopProgress();
    }
  } finally {
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await client.admin.deleteTopic(topic);
  }
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
