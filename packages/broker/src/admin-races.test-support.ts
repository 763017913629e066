/**
 * Helpers of the admin-races property test (admin-races.property.test.ts): a file system whose
 * calls wait random turns, checks of descriptions, waiting on virtual time, and the state a clean
 * close keeps. Test-only.
 */
import { expect } from 'vitest';
import type { GroupDescription, MemoryFileSystem, TopicDescription } from '@brook/protocol';
import type { Broker } from './broker.js';
import type { EngineFixture } from './groups/group-fixture.js';

const FS_CALLS = new Set(['open', 'readFile', 'writeFile', 'rename', 'unlink', 'mkdir', 'rmdir', 'readdir', 'exists', 'syncDir']);
const HANDLE_CALLS = new Set(['size', 'write', 'readInto', 'sync', 'truncate', 'close']);

/**
 * `fs` whose calls each wait a number of turns drawn from `seed` before they run: the memory file
 * system answers in one turn, which leaves few interleavings of calls racing on the files.
 */
export function jitteredFs(fs: MemoryFileSystem, seed: number, maxTurns: number): MemoryFileSystem {
  let state = seed >>> 0;
  const turns = () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state % (maxTurns + 1);
  };
  const delayed = <T extends object>(target: T, names: Set<string>, wrapResult: (name: string, value: unknown) => unknown): T => new Proxy(target, {
    get(object, name) {
      const value: unknown = Reflect.get(object, name, object);
      if (typeof value !== 'function') return value;
      if (typeof name !== 'string' || !names.has(name)) return value.bind(object);
      return async (...args: unknown[]) => {
        for (let turn = turns(); turn > 0; turn--) await Promise.resolve();
        return wrapResult(name, await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args));
      };
    },
  });
  return delayed(fs, FS_CALLS, (name, result) => (name === 'open' ? delayed(result as object, HANDLE_CALLS, (_, r) => r) : result));
}

/** Offsets that never go backwards, in any description taken in the middle of the races. */
export function checkTopicDescription({ name, partitions }: TopicDescription): void {
  for (const { partition, startOffset, endOffset } of partitions) {
    if (startOffset > endOffset) throw new Error(`${name}/${partition}: startOffset ${startOffset} past endOffset ${endOffset}`);
  }
}

export function checkGroupDescription({ topic: name, group: groupName, partitions, lag }: GroupDescription): void {
  let sum = 0n;
  for (const { partition, ackFloor, endOffset, lag: partitionLag } of partitions) {
    if (ackFloor > endOffset || partitionLag < 0n) throw new Error(`${name}/${groupName}/${partition}: ackFloor ${ackFloor}, endOffset ${endOffset}, lag ${partitionLag}`);
    sum += partitionLag;
  }
  if (sum !== lag) throw new Error(`${name}/${groupName}: lag ${lag}, its partitions' ${sum}`);
}

/** Waits for `condition`, time moving on (a redelivery may wait out a backoff or a lease): fails after 30 s of virtual time. */
export async function eventually(world: EngineFixture, condition: () => boolean) {
  for (let round = 0; round < 300 && !condition(); round++) await world.advance(100);
  expect(condition()).toBe(true);
}

/** What a clean close keeps: each topic's settings and offsets, each group's settings and ack floors. */
export function durableState(broker: Broker) {
  return {
    topics: broker.listTopics().sort().map((name) => {
      const { settings, partitions } = broker.describeTopic(name);
      return { name, settings, partitions: partitions.map((p) => [p.startOffset, p.endOffset]) };
    }),
    groups: broker.listGroups().map(({ topic: name, group: groupName }) => {
      const { config, partitions } = broker.describeGroup(name, groupName);
      return { name, groupName, config, ackFloors: partitions.map((p) => p.ackFloor) };
    }),
  };
}
