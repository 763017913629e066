/**
 * Brook next to its peers: `npx -y pnpm@10 bench:peers` (bench/peers/README.md).
 *
 * Starts each server in a child process on a loopback port with a temp data dir, runs the same
 * workloads (workload.ts) against Redis Streams, NATS JetStream, a raw WebSocket relay (the floor:
 * ws and two processes, no broker) and Brook over WebSocket, one
 * workload at a time for every peer in turn, stops the servers, and prints one table of every
 * run, Brook's ratio to each peer, and the issue's targets.
 * BENCH_QUICK=1 for a short run; BENCH_PEERS=redis,nats,relay,brook to pick peers; BENCH_MODES=produce,end-to-end,paced
 * to pick workloads; BENCH_BYTES=100,1024 to pick value sizes; BENCH_ROUNDS=n for n rounds of each workload
 * (3 by default, 1 with BENCH_QUICK).
 *
 * Rounds: this VM's speed moves by 10-30 % within minutes, more than one change or one peer's
 * lead. Each workload runs BENCH_ROUNDS times, every peer in turn each round, and a ratio is taken
 * within a round (neighbouring runs) and reported as the median over the rounds with its range.
 */
import { availableParallelism, loadavg } from 'node:os';
import { startNats } from './nats.js';
import { startRedis } from './redis.js';
import { fmtMs, fmtRate, fmtRatio } from './stats.js';
import { BATCH, CONSUMER_WINDOW, PACED_RATE, WINDOW, runWorkload, type Mode, type Peer, type Result } from './workload.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const PEERS = (process.env['BENCH_PEERS'] ?? 'redis,nats,relay,brook').split(',');
const MODES = (process.env['BENCH_MODES'] ?? 'produce,end-to-end,paced').split(',');
const BYTES = (process.env['BENCH_BYTES'] ?? '100,1024').split(',').map(Number);
const PACED_SECONDS = QUICK ? 2 : 5;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? (QUICK ? 1 : 3));
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, got ${process.env['BENCH_ROUNDS']}`);

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
] as Workload[]).filter((w) => MODES.includes(w.mode) && BYTES.includes(w.bytes));

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
  {
    name: 'relay',
    async start() {
      const { startRelay } = await import('./relay.js');
      const relay = await startRelay();
      return { peers: [relay.peer], stop: () => relay.stop() };
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

/** label -> workload name -> one result per round (undefined: that round's run failed) */
const results = new Map<string, Map<string, (Result | undefined)[]>>();
const roundsOf = (label: string, w: Workload) => results.get(label)?.get(workloadName(w)) ?? [];

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

// The VM may be shared: the load average at the start says whether the figures had the machine to themselves.
console.log(`peer benchmark${QUICK ? ' (BENCH_QUICK)' : ''}: ${ROUNDS} round(s); batches of ${BATCH}, ${WINDOW} in flight; group of 2 consumers, ${CONSUMER_WINDOW} in flight each; `
  + `node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}\n`);
console.log(row(['peer', 'workload', 'round', 'records', 'records/s', 'MiB/s', 'p50 ms', 'p99 ms', 'CPU µs/rec client', 'server', 'total', 'warm-up records']));
console.log(row(['---', '---', ...Array<string>(10).fill('---:')]));
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
    for (let round = 0; round < ROUNDS; round++) {
      for (const peer of peers) {
        try {
          await runOne(peer, workload, round);
        } catch (error) {
          fail(`${peer.label}, ${workloadName(workload)}, round ${round + 1}`, error);
        }
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

async function runOne(peer: Peer, workload: Workload, round: number): Promise<void> {
  const name = workloadName(workload);
  if (!results.has(peer.label)) results.set(peer.label, new Map());
  const rounds = results.get(peer.label)!.get(name) ?? [];
  results.get(peer.label)!.set(name, rounds);
  const r = await runWorkload(peer, `${name.replace(/[^a-z0-9]+/gi, '-')}-r${round + 1}`, workload.mode, workload.records, workload.bytes);
  rounds[round] = r;
  console.log(row([peer.label, name, String(round + 1), String(r.records), fmtRate(r.recordsPerSec), (r.recordsPerSec * workload.bytes / 2 ** 20).toFixed(1),
    fmtMs(r.p50), fmtMs(r.p99), r.clientMicrosPerRecord.toFixed(1), r.serverMicrosPerRecord.toFixed(1),
    (r.clientMicrosPerRecord + r.serverMicrosPerRecord).toFixed(1), String(r.warmupRecords)]));
}

/** a / b in each round both ran: the median, and the range when there are several. */
function pairedRatio(a: readonly (Result | undefined)[], b: readonly (Result | undefined)[], f: (r: Result) => number): { median: number; text: string } {
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const x = a[round];
    const y = b[round];
    if (x && y) ratios.push(f(x) / f(y));
  }
  if (ratios.length === 0) return { median: NaN, text: '-' };
  ratios.sort((p, q) => p - q);
  const middle = ratios.length >> 1;
  const median = ratios.length % 2 === 1 ? ratios[middle]! : (ratios[middle - 1]! + ratios[middle]!) / 2;
  const range = ratios.length > 1 ? ` (${fmtRatio(ratios[0]!)}–${fmtRatio(ratios[ratios.length - 1]!)})` : '';
  return { median, text: `${fmtRatio(median)}${range}` };
}

function rate(r: Result): number {
  return r.recordsPerSec;
}

function p99(r: Result): number {
  return r.p99;
}

function printRatios(): void {
  const brooks = [...results.keys()].filter((label) => label.startsWith('brook'));
  const others = [...results.keys()].filter((label) => !label.startsWith('brook'));
  if (brooks.length === 0 || others.length === 0) return;
  console.log(`\nBrook / peer: records/s ratio (higher is better); for the paced run, p99 ratio (lower is better); median of ${ROUNDS} round(s), range in brackets\n`);
  console.log(row(['brook', 'workload', ...others]));
  console.log(row(['---', '---', ...others.map(() => '---:')]));
  for (const brook of brooks) {
    for (const w of WORKLOADS) {
      const cells = others.map((other) => pairedRatio(roundsOf(brook, w), roundsOf(other, w), w.mode === 'paced' ? p99 : rate).text);
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
  const check = (target: string, a: string, b: string, w: Workload, f: (r: Result) => number, goal: number, lowerIsBetter = false) => {
    const { median, text } = pairedRatio(roundsOf(a, w), roundsOf(b, w), f);
    lines.push([`${workloadName(w)}: ${a} / ${b}, ${target}`, Number.isFinite(median) ? text : 'not run', `${lowerIsBetter ? '<=' : '>='} ${goal}x`,
      !Number.isFinite(median) ? '-' : (lowerIsBetter ? median <= goal : median >= goal) ? 'met' : '**not met**']);
  };
  for (const w of e2e) check('records/s', never, redis, w, rate, 5);
  for (const w of e2e) check('records/s', always, never, w, rate, 0.8);
  if (paced) check('p99', never, redis, paced, p99, 0.5, true);
  console.log(`\nTargets (issue): the median over ${ROUNDS} round(s) of the ratio within each round, range in brackets\n`);
  console.log(row(['target', 'measured', 'goal', '']));
  console.log(row(['---', '---:', '---:', '---']));
  for (const line of lines) console.log(row(line));
}
