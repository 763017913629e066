/**
 * The one workload every peer runs, written against the small `Peer` interface so Redis, NATS
 * and Brook differ only in how they send a batch and how their two consumers ack.
 *
 * - produce-only: `records` values in batches of BATCH, WINDOW batches in flight; from the first
 *   send to the last acknowledgement. Latency: send -> acknowledgement, per batch.
 * - end-to-end: the group's two consumers subscribe first, then the same produce runs; from the
 *   first send to the last consumer ack. Latency: produce time (in the value's first 8 bytes,
 *   performance.now() of this process) -> receipt in a consumer.
 * - paced: 100 B values at PACED_RATE records/s for PACED_SECONDS, sent as soon as they are due
 *   (a timer tick of about 1 ms, so a few records per send); latency as end-to-end.
 */
import { warmUntilSettled } from '../warm-up.js';
import { cpuWindow, Samples } from './stats.js';

export const BATCH = 100;
/**
 * Batches in flight from the producer. 8 unless BENCH_WINDOW says otherwise: an experiment knob
 * (a closed loop's rate is WINDOW x BATCH over one round trip, so what an fsync adds to the round
 * trip weighs less with more in flight); the tables in docs/benchmarks.md use 8.
 */
export const WINDOW = positiveIntegerFromEnv('BENCH_WINDOW', 8);
/** Per consumer: records delivered and not yet acked (Redis COUNT, NATS max_messages, Brook maxInFlight). */
export const CONSUMER_WINDOW = 1000;
export const PACED_RATE = 5000;

export interface Consumers {
  /** Resolves once `expected` records have been received and every ack is confirmed by the server. */
  readonly done: Promise<void>;
}

/** One fresh stream/topic with its consumer group, on a running server. */
export interface PeerRun {
  /** Resolves once the server has acknowledged every value in the batch. */
  send(values: Buffer[]): Promise<void>;
  /** Resolves once both consumers of the group are subscribed. */
  startConsumers(expected: number, onRecord: (value: Uint8Array) => void): Promise<Consumers>;
  /** Stops the consumers and deletes the stream/topic. */
  close(): Promise<void>;
}

export interface Peer {
  readonly label: string;
  /** The server process whose CPU time counts as "server". */
  readonly serverPid: number;
  open(name: string): Promise<PeerRun>;
}

export type Mode = 'produce' | 'end-to-end' | 'paced';

export interface Result {
  records: number;
  recordsPerSec: number;
  p50: number;
  p99: number;
  clientMicrosPerRecord: number;
  serverMicrosPerRecord: number;
  /** Records moved end to end, unmeasured, before this run (warmUp). */
  warmupRecords: number;
}

/** Counts acked records towards `expected`; any failure on the way fails `done`. */
export class AckCounter implements Consumers {
  readonly done: Promise<void>;
  private acked = 0;
  private resolve: () => void = () => undefined;
  private reject: (error: unknown) => void = () => undefined;

  constructor(private readonly expected: number) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A failure before anyone awaits `done` must not count as unhandled.
    this.done.catch(() => undefined);
  }

  add(count: number): void {
    this.acked += count;
    if (this.acked >= this.expected) this.resolve();
  }

  fail(error: unknown): void {
    this.reject(error);
  }
}

/**
 * `count` values of `bytes` bytes stamped with now, cut from one allocation per batch. The harness
 * runs in the client process, so its costs land in every peer's client CPU: a `Buffer.alloc` per
 * value cost ~440 ns a record (~90 ns cut from one buffer, a micro-benchmark on this VM), 12 % of
 * the client's samples in a `perf` profile of a warm Brook end-to-end run.
 */
function values(count: number, bytes: number): Buffer[] {
  const now = performance.now();
  const slab = Buffer.alloc(count * bytes);
  const batch = new Array<Buffer>(count);
  for (let i = 0; i < count; i++) {
    const value = slab.subarray(i * bytes, (i + 1) * bytes);
    value.writeDoubleLE(now, 0);
    batch[i] = value;
  }
  return batch;
}

/** Reads a value's stamp through one scratch array instead of a Buffer view per record. */
const stampBytes = new Uint8Array(8);
const stamp = new DataView(stampBytes.buffer);

function receiptLatency(samples: Samples) {
  return (value: Uint8Array) => {
    for (let i = 0; i < 8; i++) stampBytes[i] = value[i]!;
    samples.add(performance.now() - stamp.getFloat64(0, true));
  };
}

function positiveIntegerFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${text}`);
  return value;
}

async function produceAll(run: PeerRun, records: number, bytes: number, ackLatency: Samples | null): Promise<void> {
  let next = 0;
  // WINDOW lanes each keep one batch in flight.
  const lane = async () => {
    while (next < records) {
      const count = Math.min(BATCH, records - next);
      next += count;
      const started = performance.now();
      await run.send(values(count, bytes));
      ackLatency?.add(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
}

async function producePaced(run: PeerRun, records: number, bytes: number): Promise<void> {
  const started = performance.now();
  const sends: Promise<void>[] = [];
  let sent = 0;
  while (sent < records) {
    const due = Math.min(records, Math.floor(((performance.now() - started) / 1000) * PACED_RATE));
    if (due > sent) {
      sends.push(run.send(values(due - sent, bytes)));
      sent = due;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(sends);
}

async function measure(peer: Peer, name: string, mode: Mode, records: number, bytes: number): Promise<Omit<Result, 'warmupRecords'>> {
  const run = await peer.open(name);
  try {
    const samples = new Samples();
    const consumers = mode === 'produce' ? null : await run.startConsumers(records, receiptLatency(samples));
    const cpu = cpuWindow(peer.serverPid);
    const started = performance.now();
    if (mode === 'paced') await producePaced(run, records, bytes);
    else await produceAll(run, records, bytes, mode === 'produce' ? samples : null);
    await consumers?.done;
    const seconds = (performance.now() - started) / 1000;
    const { clientMicros, serverMicros } = cpu.end();
    return {
      records,
      recordsPerSec: records / seconds,
      p50: samples.percentile(0.5),
      p99: samples.percentile(0.99),
      clientMicrosPerRecord: clientMicros / records,
      serverMicrosPerRecord: serverMicros / records,
    };
  } finally {
    await run.close();
  }
}

/** Records in each unmeasured end-to-end warm-up round (or the run's count, if smaller). */
const WARMUP_ROUND_RECORDS = 100_000;

/**
 * Warms a peer up (bench/warm-up.ts has the rule and why) with end-to-end rounds, each on a
 * stream/topic of its own; returns the records they moved. Every peer gets the same rule.
 */
async function warmUp(peer: Peer, name: string, records: number, bytes: number): Promise<number> {
  const roundRecords = Math.min(records, WARMUP_ROUND_RECORDS);
  let round = 0;
  const rounds = await warmUntilSettled(async () => {
    round += 1;
    return (await measure(peer, `${name}-warmup-${round}`, 'end-to-end', roundRecords, bytes)).recordsPerSec;
  });
  return rounds * roundRecords;
}

/** One measured run after warming up (warmUp) on streams/topics of its own. */
export async function runWorkload(peer: Peer, name: string, mode: Mode, records: number, bytes: number): Promise<Result> {
  const warmupRecords = await warmUp(peer, name, records, bytes);
  return { ...(await measure(peer, name, mode, records, bytes)), warmupRecords };
}
