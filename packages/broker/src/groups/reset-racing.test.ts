/**
 * resetGroup racing the admin calls that replace its group (docs/semantics.md "Where a group
 * starts, replay, and retention"): a reset applies to the group it was called on, or fails with
 * UNKNOWN_GROUP, never to a group made under the same name after it began.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, type FileHandle } from '@brook/protocol';
import type { Delivery } from './delivery.js';
import { consumedAndLeft, engineFixture } from './group-fixture.js';

/**
 * A world whose file system can hold the next read of a file matching a pattern until
 * `release()`: a reset looking up its offset by time waits there, deterministically.
 */
async function heldReads() {
  let hold: { pattern: RegExp; reached: () => void; released: Promise<void> } | undefined;
  const holdingHandle = (handle: FileHandle): FileHandle => new Proxy(handle, {
    get(target, property) {
      if (property === 'readInto') {
        return async (...args: Parameters<FileHandle['readInto']>) => {
          const armed = hold;
          if (armed?.pattern.test(target.path)) {
            hold = undefined;
            armed.reached();
            await armed.released;
          }
          return target.readInto(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const fs = new Proxy(new MemoryFileSystem(), {
    get(target, property) {
      if (property === 'open') return async (...args: Parameters<MemoryFileSystem['open']>) => holdingHandle(await target.open(...args));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  /** Holds the next read of a file matching `pattern`: `reached` once it is waiting. */
  const holdNextRead = (pattern: RegExp) => {
    let reached = (): void => undefined;
    let release = (): void => undefined;
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    hold = { pattern, reached, released };
    return { reached: waiting, release };
  };
  // Without the tail cache, finding an offset by time reads the segment file.
  return { world: await engineFixture({ fs, logTailCacheBytes: 0 }), holdNextRead };
}

describe('resetGroup racing the group being replaced', () => {
  it('a group deleted and made again under its name while the reset looks up its offsets: the reset fails with UNKNOWN_GROUP and the new group keeps its position', async () => {
    const { world, holdNextRead } = await heldReads();
    const { broker } = world;
    await consumedAndLeft(world, 'rr-regroup', 'g', ['a', 'b']);
    const held = holdNextRead(/\/topics\/rr-regroup\//);
    const resetting = broker.resetGroup('rr-regroup', 'g', { timestamp: 0 }).then(() => 'reset', (e: { code: string }) => e.code);
    await held.reached;
    await broker.deleteGroup('rr-regroup', 'g');
    const seen: Delivery[] = [];
    await broker.subscribe({ topic: 'rr-regroup', group: 'g', from: 'latest' }, (d) => void seen.push(d));
    held.release();

    expect(await resetting).toBe('UNKNOWN_GROUP');
    await broker.produce('rr-regroup', [{ value: 'c' }]);
    await world.settle(() => seen.length === 1);
    await world.settle();
    expect(seen.map((d) => d.text())).toEqual(['c']);
  });

  it('a topic deleted and created again with more partitions, and the group made again, while the reset looks up its offsets: UNKNOWN_GROUP, the new group untouched', async () => {
    const { world, holdNextRead } = await heldReads();
    const { broker } = world;
    await consumedAndLeft(world, 'rr-retopic', 'g', ['a', 'b']);
    const held = holdNextRead(/\/topics\/rr-retopic\//);
    const resetting = broker.resetGroup('rr-retopic', 'g', { timestamp: 0 }).then(() => 'reset', (e: { code?: string; message: string }) => e.code ?? e.message);
    await held.reached;
    await broker.deleteTopic('rr-retopic');
    await broker.createTopic('rr-retopic', { partitions: 3 });
    await broker.produce('rr-retopic', [{ value: 'old news', partition: 2 }]);
    await broker.subscribe({ topic: 'rr-retopic', group: 'g', from: 'latest' }, () => undefined);
    held.release();

    expect(await resetting).toBe('UNKNOWN_GROUP');
    expect(broker.describeGroup('rr-retopic', 'g').partitions.map((p) => p.ackFloor)).toEqual([0n, 0n, 1n]);
  });
});
