/**
 * Set-up for the delivery engine's tests: a memory broker on a VirtualClock, and `settle`, which
 * lets queued promise continuations run (no time passes) until a condition holds. It is not a
 * sleep: every step is a real turn of the event loop with the virtual clock standing still, and
 * a condition still false after `maxTurns` fails the test with a message. Test-only.
 */
import { MemoryFileSystem, VirtualClock, type Clock, type Timer } from '@brook/protocol';
import { Broker, type BrokerOptions } from '../broker.js';

export interface EngineFixture {
  broker: Broker;
  clock: VirtualClock;
  fs: MemoryFileSystem;
  /**
   * Runs pending continuations until `condition()` is true (failing after `maxTurns`), or, with
   * no condition, for `maxTurns` turns: enough for everything already started to finish.
   */
  settle(condition?: () => boolean, maxTurns?: number): Promise<void>;
  /** Moves virtual time forward, letting continuations run after each timer. */
  advance(ms: number): Promise<void>;
  /**
   * Simulates a crash and restart: power cut (unsynced bytes lost; `{ powerCut: false }` for a
   * process kill, which keeps them) and a new broker on the same disk. The old broker's timers
   * die with it, as its process would: no lease or backoff of the dead broker fires later and
   * writes to the disk the new one uses.
   */
  restart(options?: { powerCut?: boolean }): Promise<Broker>;
}

export async function engineFixture(options: BrokerOptions = {}): Promise<EngineFixture> {
  const clock = new VirtualClock();
  const fs = new MemoryFileSystem();
  let processClock = new ProcessClock(clock);
  const open = () => Broker.open({ storage: 'memory', fs, clock: processClock, retentionCheckIntervalMs: 3_600_000, ...options });
  const fixture: EngineFixture = {
    broker: await open(),
    clock,
    fs,
    async settle(condition, maxTurns = condition ? 200 : 20) {
      for (let turn = 0; turn < maxTurns; turn++) {
        if (condition?.()) return;
        await clock.advanceAsync(0);
      }
      if (condition && !condition()) throw new Error(`settle: condition still false after ${maxTurns} turns`);
    },
    async advance(ms) {
      await clock.advanceAsync(ms);
      await clock.advanceAsync(0);
    },
    async restart({ powerCut = true } = {}) {
      if (powerCut) fs.powerCut();
      processClock.kill();
      processClock = new ProcessClock(clock);
      fixture.broker = await open();
      return fixture.broker;
    },
  };
  return fixture;
}

/** The clock of one broker process: the shared virtual time, with timers that die with the process. */
class ProcessClock implements Clock {
  private readonly timers = new Set<Timer>();
  private dead = false;

  constructor(private readonly clock: VirtualClock) {}

  now(): number {
    return this.clock.now();
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    if (this.dead) return { cancel: () => undefined };
    const timer = this.clock.setTimer(delayMs, () => {
      this.timers.delete(timer);
      callback();
    });
    this.timers.add(timer);
    return {
      cancel: () => {
        this.timers.delete(timer);
        timer.cancel();
      },
    };
  }

  kill(): void {
    this.dead = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }
}
