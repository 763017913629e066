/**
 * A broker world on virtual time: a memory broker on a VirtualClock and a MemoryFileSystem that
 * can lose power. It is the base of the testing kit's `simulate` and of the engine's own tests
 * (groups/group-fixture.ts).
 *
 * `settle` lets queued promise continuations run (no time passes) until a condition holds. It is
 * not a sleep: every step is a real turn of the event loop with the virtual clock standing still,
 * and a condition still false after `maxTurns` fails with a message.
 */
import { MemoryFileSystem, VirtualClock, type Clock, type KeepPolicy, type Timer } from '@brook/protocol';
import { Broker, type BrokerOptions } from '../broker.js';

export interface RestartOptions {
  /** Unsynced bytes are lost (default); `false` is a process kill, which keeps them. */
  powerCut?: boolean;
  /** With a power cut: what survives of each file's unsynced writes (e.g. `tearLastWrite(n)`). */
  keep?: KeepPolicy;
}

export interface World {
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
   * Simulates a crash and restart: power cut (see RestartOptions) and a new broker on the same
   * disk. The old broker's timers die with it, as its process would: no lease or backoff of the
   * dead broker fires later and writes to the disk the new one uses.
   */
  restart(options?: RestartOptions): Promise<Broker>;
}

/**
 * Opens a memory broker with `options` (storage and clock are the world's). `options.fs`, if a
 * MemoryFileSystem, is the world's `fs` (restart() cuts its power); another file system (a
 * wrapper that holds or fails calls) is the broker's, and `fs` is then not what the broker uses:
 * power cuts go to the MemoryFileSystem behind the wrapper, which its maker holds.
 */
export async function openWorld(options: BrokerOptions = {}, clock = new VirtualClock()): Promise<World> {
  const fs = options.fs instanceof MemoryFileSystem ? options.fs : new MemoryFileSystem();
  let processClock = new ProcessClock(clock);
  const open = () => Broker.open({ storage: 'memory', fs, clock: processClock, retentionCheckIntervalMs: 3_600_000, ...options });
  const world: World = {
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
    async restart({ powerCut = true, keep } = {}) {
      if (powerCut) fs.powerCut(keep ? { keep } : {});
      processClock.kill();
      processClock = new ProcessClock(clock);
      world.broker = await open();
      return world.broker;
    },
  };
  return world;
}

/**
 * The clock of one process (a broker, a consumer): the shared virtual time, with timers that die
 * with the process, so nothing a dead process scheduled runs after its death.
 */
export class ProcessClock implements Clock {
  private readonly timers = new Set<Timer>();
  private dead = false;

  constructor(private readonly clock: Clock) {}

  now(): number {
    return this.clock.now();
  }

  monotonicMs(): number {
    return this.clock.monotonicMs();
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

  get alive(): boolean {
    return !this.dead;
  }

  kill(): void {
    this.dead = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }
}
