/**
 * A power cut at every crash point of a FileBuffer's life. A clean run counts the mutating file
 * system operations (writes, fsyncs, renames, creates, deletes: MemoryFileSystem.onOperation);
 * then for every n the same run loses power just before operation n, under three fates for the
 * unsynced data (all lost, all kept, the last write torn), and a new process reopens the WAL,
 * drains it, and checks every promise in WalHistory. The scenario rolls and deletes segments,
 * seals by count, by size and by flush, and emits and commits while putting.
 */
import { describe, expect, it } from 'vitest';
import { keepAllPending, tearLastWrite, type KeepPolicy } from '@brook/protocol';
import type { FileBuffer, FileBufferOptions } from '../packages/client/src/wal/index.js';
import { SimulatedHost, WAL_DIR, numbersOf, value } from './fixtures/wal-harness.js';
import { WalHistory } from './fixtures/wal-history.js';

class PowerCut extends Error {}

const FATES: Record<string, KeepPolicy | undefined> = { 'nothing kept': undefined, 'everything kept': keepAllPending, 'last write torn': tearLastWrite(5) };

/** Fills a record to `size` bytes while keeping its number readable. */
function record(n: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size).fill(0x30);
  bytes.set(value(n), size - value(n).length);
  return bytes;
}

type Step = (buffer: FileBuffer, history: WalHistory) => Promise<void>;

const put = (from: number, to: number, size = 20): Step => async (buffer, history) => {
  const puts = [];
  for (let n = from; n <= to; n++) puts.push(buffer.put({ value: record(n, size) }).then(() => history.acked.add(n)));
  await Promise.all(puts);
};
const deliverOne: Step = async (buffer, history) => {
  const batch = buffer.emit();
  history.sawEmit(batch);
  if (batch === undefined) return;
  // Every batch within the limits, a batch reopened open after the cut included.
  expect(batch.records.length).toBeLessThanOrEqual(OPTIONS.maxRecords!);
  expect(batch.encodedBytes).toBeLessThanOrEqual(OPTIONS.maxBytes!);
  history.delivered(batch);
  await buffer.commit(batch.sequence);
};
const deliverAll: Step = async (buffer, history) => {
  while (buffer.shouldEmit()) await deliverOne(buffer, history);
};

const OPTIONS: Partial<FileBufferOptions> = { maxRecords: 4, maxBytes: 1024, segmentBytesMax: 4096, walBytesMax: 64 * 1024 };

const SCENARIO: Step[] = [
  put(1, 3), async (b) => b.flush(), deliverOne, put(4, 13), deliverOne,
  put(14, 20, 300), deliverAll, put(21, 40, 250), deliverOne, put(41, 42), async (b) => b.flush(), deliverAll,
  put(43, 45), async (b) => b.close(),
];

async function runScenario(host: SimulatedHost, fsync: FileBufferOptions['fsync'], cut: () => boolean, history: WalHistory, opened?: (buffer: FileBuffer) => void): Promise<void> {
  const buffer = await host.open({ ...OPTIONS, fsync });
  opened?.(buffer);
  for (const step of SCENARIO) {
    await step(buffer, history);
    if (cut()) throw new PowerCut();
  }
}

/** Runs the scenario with power lost before operation `at` (never, if past the end); returns the op count. */
async function runWithCut(fsync: FileBufferOptions['fsync'], at: number, keep: KeepPolicy | undefined, history: WalHistory): Promise<number> {
  const host = new SimulatedHost();
  let ops = 0;
  let cut = false;
  host.fs.onOperation = () => {
    if (ops++ === at) {
      cut = true;
      host.fs.onOperation = undefined;
      host.fs.powerCut({ keep });
    }
  };
  try {
    await runScenario(host, fsync, () => cut, history);
  } catch (error) {
    if (!cut) throw error; // only the power cut may stop the run
  }
  host.fs.onOperation = undefined;
  const reopened = await host.open({ ...OPTIONS, fsync: 'always' });
  await put(46, 48)(reopened, history); // joins whatever open batch survived: its sequence must be new
  await reopened.flush();
  await deliverAll(reopened, history);
  expect(reopened.stats.records).toBe(0);
  await reopened.close();
  expect((await host.fs.readdir(WAL_DIR)).filter((name) => name.startsWith('wal.lock'))).toEqual([]);
  return ops;
}

describe.each([['always', true], ['never', false], [{ intervalMs: 10 }, false]] as const)('power cut at every crash point, fsync %j', (fsync, strict) => {
  it('keeps every promise under every fate of the unsynced data', async () => {
    const clean = new WalHistory();
    const total = await runWithCut(fsync, Number.POSITIVE_INFINITY, undefined, clean);
    expect(clean.check({ requireAcked: true })).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    expect(total).toBeGreaterThan(40);
    for (let at = 0; at < total; at++) {
      for (const [fate, keep] of Object.entries(FATES)) {
        const history = new WalHistory();
        await runWithCut(fsync, at, keep, history);
        try {
          const records = history.check({ requireAcked: strict || keep === keepAllPending });
          expect(records.slice(-3), 'records put after the reboot').toEqual([46, 47, 48]);
        } catch (error) {
          throw new Error(`power cut before operation ${at} of ${total}, ${fate}: ${(error as Error).message}`, { cause: error });
        }
      }
    }
  });
});

/**
 * The process is killed before operation `at` (that operation fails and the WAL stops, as the
 * process died there), a new one reopens the WAL and puts 46..48, then the power goes, taking
 * everything unsynced: what the new process acknowledged must survive, whatever the dead one
 * left half done (a segment created whose directory entry was never synced, above all).
 */
async function runWithKillThenPowerCut(at: number, history: WalHistory): Promise<number> {
  const host = new SimulatedHost();
  let ops = 0;
  let killed = false;
  let dead: FileBuffer | undefined;
  host.fs.onOperation = () => {
    if (ops++ !== at) return;
    killed = true;
    host.fs.onOperation = undefined;
    throw new PowerCut('killed');
  };
  try {
    await runScenario(host, 'always', () => killed, history, (buffer) => (dead = buffer));
  } catch (error) {
    if (!killed) throw error;
  }
  host.fs.onOperation = undefined;
  if (dead) host.crash(dead);
  const reopened = await host.open(OPTIONS);
  await put(46, 48)(reopened, history);
  host.crash(reopened, {});
  const rebooted = await host.open(OPTIONS);
  await rebooted.flush();
  await deliverAll(rebooted, history);
  await rebooted.close();
  return ops;
}

describe('a process killed at every crash point, then a power cut after its successor put more', () => {
  it('loses nothing any process acknowledged', async () => {
    const total = await runWithKillThenPowerCut(Number.POSITIVE_INFINITY, new WalHistory());
    expect(total).toBeGreaterThan(40);
    for (let at = 0; at < total; at++) {
      const history = new WalHistory();
      await runWithKillThenPowerCut(at, history);
      try {
        expect(history.check({ requireAcked: true }).slice(-3), 'records put after the restart').toEqual([46, 47, 48]);
      } catch (error) {
        throw new Error(`killed before operation ${at} of ${total}: ${(error as Error).message}`, { cause: error });
      }
    }
  });
});

describe('power cut at every crash point of clear()', () => {
  /** Puts 1..12 over several segments (one batch delivered), clears, puts 13..15; returns whether clear() resolved. */
  async function clearScenario(host: SimulatedHost, history: WalHistory, cut: () => boolean): Promise<{ cleared: boolean; before: number[] }> {
    const survive = (error: unknown): undefined => {
      if (!cut()) throw error;
      return undefined;
    };
    const buffer = await host.open(OPTIONS).catch(survive);
    let cleared = false;
    let before: number[] = [];
    if (buffer === undefined) return { cleared, before };
    const clear: Step = async (b) => {
      before = [...history.acked];
      await b.clear();
      cleared = true;
    };
    const steps: Step[] = [put(1, 12, 900), deliverOne, clear, put(13, 15)];
    for (const step of steps) {
      await step(buffer, history).catch(survive);
      if (cut()) break;
    }
    host.crash(buffer); // the process dies either way; the power cut, if any, already happened
    return { cleared, before };
  }

  it('leaves all of the cleared records or none, and every record put after it', async () => {
    for (let at = 0, total = Number.POSITIVE_INFINITY; at <= total; at++) {
      const host = new SimulatedHost();
      const history = new WalHistory();
      let ops = 0;
      host.fs.onOperation = () => {
        if (ops++ !== at) return;
        host.fs.onOperation = undefined;
        host.fs.powerCut();
      };
      const { cleared, before } = await clearScenario(host, history, () => ops > at);
      if (ops <= at) total = ops; // the clean run: its op count bounds the loop
      host.fs.onOperation = undefined;
      const delivered = new Set(history.sinkRecords({ contiguous: false }));
      const reopened = await host.open(OPTIONS);
      await reopened.flush();
      const recovered = new Set<number>();
      for (let batch = reopened.emit(); batch; batch = reopened.emit()) {
        history.delivered(batch);
        for (const n of numbersOf(batch)) recovered.add(n);
        await reopened.commit();
      }
      await reopened.close();
      history.check({ requireAcked: false, contiguous: false });
      const clearedRecords = before.filter((n) => !delivered.has(n));
      const survivors = clearedRecords.filter((n) => recovered.has(n));
      const why = `power cut before operation ${at}`;
      expect(survivors.length === 0 || survivors.length === clearedRecords.length, `${why}: clear() half applied`).toBe(true);
      if (cleared) expect(survivors, `${why}: clear() resolved`).toEqual([]);
      for (const n of [13, 14, 15]) if (history.acked.has(n)) expect(recovered.has(n), `${why}: ${n} lost`).toBe(true);
    }
  });
});
