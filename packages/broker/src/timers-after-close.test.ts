/**
 * After broker.close() resolves no broker timer is left to fire into a closed broker (fsync
 * interval, lease expiry, nack backoff, retention; a WebSocket server's: test/timers-after-close.test.ts),
 * and no file stays open. The broker runs on a VirtualClock whose armed timers are counted.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock } from '@brook/protocol';
import { Broker } from './broker.js';
import type { FsyncPolicy } from './config/defaults.js';
import { trackOpenHandles } from './open-handles.test-support.js';

/**
 * A held delivery (lease running), one nacked (backoff running), retention by age and by size
 * (two topics whose creates each arm retention: one timer), a consume loop left early.
 */
async function exercise(broker: Broker, clock: VirtualClock, topic: string): Promise<void> {
  await broker.createTopic(topic, { partitions: 2, retention: { maxAgeMs: 60_000 } });
  await broker.createTopic(`${topic}-sized`, { retention: { maxBytes: 1_000_000 } });
  await broker.produce(topic, [{ key: 'a', value: '1' }, { key: 'b', value: '2' }, { key: 'c', value: '3' }]);
  await broker.subscribe({ topic, group: `${topic}-held`, ackTimeoutMs: 60_000 }, () => new Promise<void>(() => undefined));
  await broker.subscribe({ topic, group: `${topic}-nacks`, backoff: { initialMs: 60_000 } }, () => Promise.reject(new Error('nack')));
  for await (const msg of broker.consume({ topic, group: `${topic}-loop` })) {
    await msg.ack();
    break;
  }
  await clock.advanceAsync(10);
}

describe('no broker timer outlives broker.close()', () => {
  const policies: FsyncPolicy[] = ['always', 'never', { intervalMs: 50 }];
  it.each(policies.flatMap((fsync) => [{ fsync, storage: 'memory' }, { fsync, storage: 'disk' }]))('$storage storage, fsync $fsync', async ({ fsync, storage }) => {
    const clock = new VirtualClock();
    const files = trackOpenHandles(new MemoryFileSystem());
    const broker = await Broker.open(storage === 'memory' ? { storage: 'memory', fsync, clock } : { dataDir: '/data', fs: files.fs, fsync, clock });
    await exercise(broker, clock, 'timers');
    await broker.close();
    expect(clock.pendingTimers()).toBe(0);
    expect(files.openPaths(/./)).toEqual([]);
  });
});

describe('a periodic retention pass under way at close()', () => {
  it('arms no timer once it ends', async () => {
    const clock = new VirtualClock();
    const fs = new MemoryFileSystem();
    const broker = await Broker.open({ storage: 'memory', fs, clock, retentionCheckIntervalMs: 1000 });
    await broker.createTopic('closing-pass', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 100; i++) await broker.produce('closing-pass', [{ value: 'x'.repeat(200) }]);
    let closed: Promise<void> | undefined;
    // close() as the pass deletes its first segment file.
    fs.onOperation = (op) => {
      if (op.kind === 'unlink' && closed === undefined) closed = broker.close();
    };
    await clock.advanceAsync(1000);
    expect(closed).toBeDefined();
    await closed;
    for (let turn = 0; turn < 20; turn++) await clock.advanceAsync(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});
