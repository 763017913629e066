/**
 * Brook next to its peers: `npx -y pnpm@10 bench:peers` (bench/peers/README.md).
 *
 * Starts each server in a child process on a loopback port with a temp data dir, runs the same
 * workloads (workload.ts) against Redis Streams, NATS JetStream and Brook over WebSocket, one
 * workload at a time for every peer in turn, stops the servers, and prints one table of every
 * run, Brook's ratio to each peer, and the issue's targets.
 * BENCH_QUICK=1 for a short run; BENCH_PEERS=redis,nats,brook to pick peers; BENCH_MODES=produce,end-to-end,paced
 * to pick workloads.
 */
import { availableParallelism, loadavg } from 'node:os';
import { startNats } from './nats.js';
import { startRedis } from './redis.js';
import { fmtMs, fmtRate, fmtRatio } from './stats.js';
import { BATCH, CONSUMER_WINDOW, PACED_RATE, WINDOW, runWorkload, type Mode, type Peer, type Result } from './workload.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const PEERS = (process.env['BENCH_PEERS'] ?? 'redis,nats,brook').split(',');
const MODES = (process.env['BENCH_MODES'] ?? 'produce,end-to-end,paced').split(',');
const PACED_SECONDS = QUICK ? 2 : 5;

interface Workload {
  readonly mode: Mode;
  readonly bytes: number;
  readonly records: number;
}

const WORKLOADS: Workload[] = ([
  { mode: 'produce', bytes: 100, records: QUICK ? 20_000 : 200_000 },
  { mode: 'produce', bytes: 1024, records: QUICK ? 10_000 : 100_000 },
  { mode: 'end-to-end', bytes: 100, records: QUICK ? 20_000 : 200_000 },
  { mode: 'end-to-end', bytes: 1024, records: QUICK ? 10_000 : 100_000 },
  { mode: 'paced', bytes: 100, records: PACED_RATE * PACED_SECONDS },
] as Workload[]).filter((w) => MODES.includes(w.mode));

const workloadName = (w: Workload) => `${w.mode === 'paced' ? `paced ${PACED_RATE / 1000}k/s` : w.mode} ${w.bytes === 1024 ? '1 KiB' : `${w.bytes} B`}`;

/** A server (started at the beginning, stopped at the end) and the peer configurations it serves. */
interface ServerGroup {
  readonly name: string;
  start(): Promise<{ peers: Peer[]; stop(): Promise<void> }>;
}

const GROUPS: ServerGroup[] = [
  {
    name: 'redis',
    async start() {
      const redis = await startRedis();
      return { peers: [redis.peer('everysec'), redis.peer('always')], stop: () => redis.stop() };
    },
  },
  {
    name: 'nats',
    async start() {
      const nats = await startNats();
      return { peers: [nats.peer], stop: () => nats.stop() };
    },
  },
  ...(['never', 'always'] as const).map((fsync) => ({
    name: 'brook',
    async start() {
      // Imported here, not at the top, so BENCH_PEERS=redis,nats runs even while the client does not build.
      const { startBrook } = await import('./brook.js');
      const brook = await startBrook(fsync);
      return { peers: [brook.peer], stop: () => brook.stop() };
    },
  })),
];

/** label -> workload name -> result */
const results = new Map<string, Map<string, Result>>();
const result = (label: string, w: Workload) => results.get(label)?.get(workloadName(w));

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

// The VM may be shared: the load average at the start says whether the figures had the machine to themselves.
console.log(`peer benchmark${QUICK ? ' (BENCH_QUICK)' : ''}: batches of ${BATCH}, ${WINDOW} in flight; group of 2 consumers, ${CONSUMER_WINDOW} in flight each; `
  + `node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}\n`);
console.log(row(['peer', 'workload', 'records', 'records/s', 'MiB/s', 'p50 ms', 'p99 ms', 'CPU µs/rec client', 'server', 'total', 'warm-up records']));
console.log(row(['---', '---', ...Array<string>(9).fill('---:')]));
const failures: string[] = [];
const fail = (what: string, error: unknown) => failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
// Every server is up for the whole run and the peers take turns on each workload, so the ratios
// compare runs minutes apart at most, not a peer measured before a neighbour's load and one after.
const servers: { stop(): Promise<void> }[] = [];
const peers: Peer[] = [];
try {
  for (const group of GROUPS.filter((g) => PEERS.includes(g.name))) {
    // One peer failing (a missing binary, a broken client) must not hide the others' figures.
    try {
      const server = await group.start();
      servers.push(server);
      peers.push(...server.peers);
    } catch (error) {
      fail(group.name, error);
    }
  }
  for (const workload of WORKLOADS) {
    for (const peer of peers) {
      try {
        await runOne(peer, workload);
      } catch (error) {
        fail(`${peer.label}, ${workloadName(workload)}`, error);
      }
    }
  }
} finally {
  for (const server of servers) await server.stop();
}
printRatios();
printTargets();
if (failures.length > 0) {
  console.log(`\nFAILED:\n${failures.join('\n')}`);
  process.exitCode = 1;
}

async function runOne(peer: Peer, workload: Workload): Promise<void> {
  const name = workloadName(workload);
  const r = await runWorkload(peer, name.replace(/[^a-z0-9]+/gi, '-'), workload.mode, workload.records, workload.bytes);
  if (!results.has(peer.label)) results.set(peer.label, new Map());
  results.get(peer.label)!.set(name, r);
  console.log(row([peer.label, name, String(r.records), fmtRate(r.recordsPerSec), (r.recordsPerSec * workload.bytes / 2 ** 20).toFixed(1),
    fmtMs(r.p50), fmtMs(r.p99), r.clientMicrosPerRecord.toFixed(1), r.serverMicrosPerRecord.toFixed(1),
    (r.clientMicrosPerRecord + r.serverMicrosPerRecord).toFixed(1), String(r.warmupRecords)]));
}

function printRatios(): void {
  const brooks = [...results.keys()].filter((label) => label.startsWith('brook'));
  const others = [...results.keys()].filter((label) => !label.startsWith('brook'));
  if (brooks.length === 0 || others.length === 0) return;
  console.log('\nBrook / peer: records/s ratio (higher is better); for the paced run, p99 ratio (lower is better)\n');
  console.log(row(['brook', 'workload', ...others]));
  console.log(row(['---', '---', ...others.map(() => '---:')]));
  for (const brook of brooks) {
    for (const w of WORKLOADS) {
      const mine = result(brook, w);
      const cells = others.map((other) => {
        const theirs = result(other, w);
        if (!mine || !theirs) return '-';
        return fmtRatio(w.mode === 'paced' ? mine.p99 / theirs.p99 : mine.recordsPerSec / theirs.recordsPerSec);
      });
      console.log(row([brook, workloadName(w), ...cells]));
    }
  }
}

function printTargets(): void {
  const never = 'brook ws fsync never';
  const always = 'brook ws fsync always';
  const redis = 'redis aof everysec';
  const e2e = WORKLOADS.filter((w) => w.mode === 'end-to-end');
  const paced = WORKLOADS.find((w) => w.mode === 'paced');
  const lines: string[][] = [];
  const check = (target: string, value: number, goal: number, lowerIsBetter = false) =>
    lines.push([target, Number.isFinite(value) ? `${value.toFixed(3)}x` : 'not run', `${lowerIsBetter ? '<=' : '>='} ${goal}x`,
      !Number.isFinite(value) ? '-' : (lowerIsBetter ? value <= goal : value >= goal) ? 'met' : '**not met**']);
  const ratio = (a: Result | undefined, b: Result | undefined, f: (r: Result) => number) => (a && b ? f(a) / f(b) : NaN);
  for (const w of e2e) check(`${workloadName(w)}: ${never} / ${redis}, records/s`, ratio(result(never, w), result(redis, w), (r) => r.recordsPerSec), 5);
  for (const w of e2e) check(`${workloadName(w)}: ${always} / ${never}, records/s`, ratio(result(always, w), result(never, w), (r) => r.recordsPerSec), 0.8);
  if (paced) check(`${workloadName(paced)}: ${never} / ${redis}, p99`, ratio(result(never, paced), result(redis, paced), (r) => r.p99), 0.5, true);
  console.log('\nTargets (issue)\n');
  console.log(row(['target', 'measured', 'goal', '']));
  console.log(row(['---', '---:', '---:', '---']));
  for (const line of lines) console.log(row(line));
}
