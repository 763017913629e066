/**
 * Paced latency in one process: `npx -y pnpm@10 bench:latency` (BENCH_QUICK=1 for a shorter run;
 * BENCH_FSYNC=never|always|<intervalMs> picks the fsync policy, default never).
 *
 * The peer benchmark's paced run (5000 records/s of 100 B, a group of two consumers) without
 * the network and the second process, to tell apart what the engine costs at the tail and what
 * the client library and the WebSocket hop add:
 *
 * - engine: `broker.produce` and two `broker.subscribe` handlers;
 * - client in process: the same through @brook/client over `connect(broker)` (the same frames as
 *   over WebSocket, without a socket);
 * - client over WebSocket: the same over `broker.listen` on loopback, still in this one process
 *   (bench:peers runs the server in a process of its own).
 *
 * Records are sent as they fall due on a ~1 ms timer, each value carrying the `performance.now()`
 * of its send; latency is send -> handler. The first WARMUP_MS are not measured (V8 compiles the
 * path meanwhile). The GC columns count V8's pauses during the measured window (`gc` performance
 * entries): at this rate the tail is set by them, not by the broker's work.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Broker } from '@brook/broker';
import { connect } from '@brook/client';

const QUICK = process.env['BENCH_QUICK'] === '1';
/** BENCH_PATHS=engine,in-process,websocket (any subset) picks the paths. */
const PATHS = (process.env['BENCH_PATHS'] ?? 'engine,in-process,websocket').split(',');
const RATE = 5000;
const WARMUP_MS = QUICK ? 1000 : 2000;
const MEASURE_MS = QUICK ? 2000 : 5000;
const VALUE_BYTES = 100;
const FSYNC_NAME = process.env['BENCH_FSYNC'] ?? 'never';
const FSYNC = FSYNC_NAME === 'never' || FSYNC_NAME === 'always' ? FSYNC_NAME : { intervalMs: Number(FSYNC_NAME) };

type Mode = 'engine' | 'client in process' | 'client over WebSocket';

interface Path {
  send(values: Uint8Array[]): void;
  subscribe(onValue: (value: Uint8Array) => void): Promise<void>;
  close(): Promise<void>;
}

async function pathFor(mode: Mode, broker: Broker): Promise<Path> {
  await broker.createTopic('paced', { partitions: 1 });
  if (mode === 'engine') {
    return {
      send: (values) => void broker.produce('paced', values.map((value) => ({ value }))),
      subscribe: async (onValue) => {
        await broker.subscribe({ topic: 'paced', group: 'g', maxInFlight: 1000 }, (delivery) => onValue(delivery.value!));
      },
      close: async () => undefined,
    };
  }
  const server = mode === 'client over WebSocket' ? await broker.listen({ port: 0 }) : undefined;
  const target = server?.url ?? broker;
  const client = await connect(target);
  const producer = client.producer({ lingerMs: 0 });
  const consumers: Awaited<ReturnType<typeof connect>>[] = [];
  return {
    send: (values) => void producer.send('paced', values.map((value) => ({ value }))),
    subscribe: async (onValue) => {
      const consumer = await connect(target);
      consumers.push(consumer);
      await consumer.subscribe({ topic: 'paced', group: 'g', maxInFlight: 1000 }, (message) => onValue(message.value!));
    },
    close: async () => {
      for (const consumer of consumers) await consumer.close();
      await client.close();
      await server?.close();
    },
  };
}

/** V8 GC pauses (ms) while `recording` is on. */
function gcPauses() {
  const pauses: number[] = [];
  let recording = false;
  const observer = new PerformanceObserver((list) => {
    if (recording) for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  return { pauses, start: () => (recording = true), stop: () => observer.disconnect() };
}

async function run(mode: Mode) {
  const dataDir = mkdtempSync(join(tmpdir(), 'brook-latency-'));
  const broker = await Broker.open({ dataDir, fsync: FSYNC });
  const path = await pathFor(mode, broker);
  const stamp = new DataView(new ArrayBuffer(8));
  const latenciesMs: number[] = [];
  const started = performance.now();
  const total = Math.floor(((WARMUP_MS + MEASURE_MS) / 1000) * RATE);
  let received = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const onValue = (value: Uint8Array) => {
    for (let i = 0; i < 8; i++) stamp.setUint8(i, value[i]!);
    const sentAt = stamp.getFloat64(0);
    if (sentAt - started >= WARMUP_MS) latenciesMs.push(performance.now() - sentAt);
    if (++received === total) done();
  };
  for (let m = 0; m < 2; m++) await path.subscribe(onValue);
  const gc = gcPauses();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
    if (due > sent) {
      const now = performance.now();
      if (now - started >= WARMUP_MS) gc.start();
      path.send(Array.from({ length: due - sent }, () => {
        const value = new Uint8Array(VALUE_BYTES);
        new DataView(value.buffer).setFloat64(0, now);
        return value;
      }));
      sent = due;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await finished;
  gc.stop();
  await path.close();
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
  latenciesMs.sort((a, b) => a - b);
  const at = (q: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length))]!;
  return { records: latenciesMs.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), gcPauses: gc.pauses.length, gcMaxMs: Math.max(0, ...gc.pauses) };
}

console.log(`paced ${RATE} records/s of ${VALUE_BYTES} B for ${MEASURE_MS / 1000} s (after ${WARMUP_MS / 1000} s unmeasured), `
  + `one partition, a group of two, disk, fsync ${JSON.stringify(FSYNC)}\n`);
console.log('| path | records | p50 ms | p90 ms | p99 ms | max ms | GC pauses | longest GC pause ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const MODES = { engine: 'engine', 'in-process': 'client in process', websocket: 'client over WebSocket' } as const;
for (const [id, mode] of Object.entries(MODES)) {
  if (!PATHS.includes(id)) continue;
  const r = await run(mode);
  console.log(`| ${mode} | ${r.records} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} | ${r.gcPauses} | ${r.gcMaxMs.toFixed(1)} |`);
}
