import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock, type FileSystem } from '@brook/protocol';
import { Broker } from '../index.js';
import { segmentPath } from '../log/segment-files.js';
import { TOPIC, fixtureWithTopic, send, values } from './idempotent-broker-fixture.js';
import { snapshotPath } from './producer-snapshot.js';

/**
 * `fs`, but the first `open` of a path `matches` once armed waits until released: a write held
 * up where a slow fsync before it would hold it. `held` resolves when one is waiting.
 */
function holdingOpen(fs: FileSystem, matches: (path: string) => boolean) {
  let release!: () => void;
  let onHeld!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held = new Promise<void>((resolve) => (onHeld = resolve));
  const control = { armed: false, held, release: () => release(), fs };
  control.fs = new Proxy(fs, {
    get(target, name, receiver) {
      const member = Reflect.get(target, name, receiver) as unknown;
      if (name !== 'open' || typeof member !== 'function') return member;
      return async (path: string, ...rest: unknown[]) => {
        if (control.armed && matches(path)) {
          control.armed = false;
          onHeld();
          await gate;
        }
        return (member as (...args: unknown[]) => Promise<unknown>).call(target, path, ...rest);
      };
    },
  });
  return control;
}

describe('Broker producer state across restarts and retention', () => {
  it("retention deleting a producer's last batches: a retry is a duplicate, across a clean restart too; after a power cut UNKNOWN_PRODUCER_ID; never appended twice", async () => {
    const fixture = await fixtureWithTopic({}, { partitions: 1, segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    const [p, q] = [await fixture.broker.initProducer(), await fixture.broker.initProducer()];
    const last = await send(fixture.broker, { producerId: p.producerId, firstSeq: 0, records: 5 });
    for (let seq = 0; seq < 150; seq++) await send(fixture.broker, { producerId: q.producerId, firstSeq: seq });
    await fixture.broker.enforceRetention();
    const endOffset = () => fixture.broker.describeTopic(TOPIC).partitions[0]!.endOffset;
    const end = endOffset();
    expect(fixture.broker.describeTopic(TOPIC).partitions[0]!.startOffset).toBeGreaterThan(last.lastOffset);
    const retry = () => send(fixture.broker, { producerId: p.producerId, firstSeq: 0, records: 5 });
    await expect(retry()).resolves.toEqual({ ...last, duplicate: true });
    await fixture.broker.close();
    await fixture.restart();
    await expect(retry()).resolves.toEqual({ ...last, duplicate: true });
    await fixture.restart(); // a power cut: the snapshot left by the clean close still covers P
    await expect(retry()).resolves.toEqual({ ...last, duplicate: true });
    expect(endOffset()).toBe(end);
    await send(fixture.broker, { producerId: p.producerId, firstSeq: 5 }); // and its sequence goes on
    expect(endOffset()).toBe(end + 1n);
    // Retention passes the snapshot too: after a power cut P is forgotten, and its retry is refused.
    for (let seq = 150; seq < 300; seq++) await send(fixture.broker, { producerId: q.producerId, firstSeq: seq });
    await fixture.broker.enforceRetention();
    const before = endOffset();
    await fixture.restart();
    await expect(send(fixture.broker, { producerId: p.producerId, firstSeq: 5 })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    expect(endOffset()).toBe(before);
  });

  it('keeps the idempotence table across a clean restart and a power cut', async () => {
    const fixture = await fixtureWithTopic();
    const { producerId } = await fixture.broker.initProducer();
    const acks = [];
    for (let seq = 0; seq < 4; seq++) acks.push(await send(fixture.broker, { producerId, firstSeq: seq }));
    await fixture.broker.close();
    await fixture.restart();
    await expect(send(fixture.broker, { producerId, firstSeq: 3 })).resolves.toEqual({ ...acks[3], duplicate: true });
    acks.push(await send(fixture.broker, { producerId, firstSeq: 4 }));
    await fixture.restart(); // a power cut, no close
    await expect(send(fixture.broker, { producerId, firstSeq: 4 })).resolves.toEqual({ ...acks[4], duplicate: true });
    await expect(send(fixture.broker, { producerId, firstSeq: 6 })).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { expected: 5 } });
  });

  // The disk loses the end of the last batch, say to bit rot, and recovery cuts it; or an
  // earlier open cut it and crashed before anything else, which leaves this open nothing to cut.
  const tornTail = (size: number) => size - 5;
  const lastBatchGone = (size: number) => (size / 3) * 2; // three batches of one size
  it.each([
    ['the same run', tornTail, false],
    ['a clean restart', tornTail, true],
    ['the same run, the tail cut by an open that crashed', lastBatchGone, false],
  ])('a snapshot ahead of a log whose tail was lost is not used, even after plain produces grew the log past it (before %s)', async (_, cutTo, closeBetween) => {
    const fixture = await fixtureWithTopic({ producerSnapshotIntervalMs: 1000 });
    const { producerId } = await fixture.broker.initProducer();
    for (let seq = 0; seq < 3; seq++) await send(fixture.broker, { producerId, firstSeq: seq });
    await fixture.advance(1000); // the snapshot covers offsets 0..2
    const file = await fixture.fs.open(segmentPath(`${fixture.broker.dataDir}/topics/${TOPIC}/0`, 0n, '.log'), 'rw');
    await file.truncate(cutTo(await file.size()));
    await file.sync();
    await file.close();
    await fixture.restart();
    await fixture.broker.produce(TOPIC, ['a', 'b'].map((value) => ({ value, partition: 0 })));
    if (closeBetween) {
      await fixture.broker.close();
      await fixture.restart();
    }
    // The producer state is built now, with the log at 4: the lost batch is appended, not answered with the offset of 'a'.
    await expect(send(fixture.broker, { producerId, firstSeq: 2 })).resolves.toEqual({ baseOffset: 4n, lastOffset: 4n, duplicate: false });
    expect(await values(fixture.broker)).toEqual(['p0-e0-s0', 'p0-e0-s1', 'a', 'b', 'p0-e0-s2']);
  });

  it('a log damaged where open does not scan, without a snapshot: the broker still opens (every partition\'s state is rebuilt at open); only that partition\'s reads and idempotent produce fail', async () => {
    const fixture = await fixtureWithTopic({ indexIntervalBytes: 64 }, { segmentBytesMax: 4096 });
    for (let i = 0; i < 60; i++) await fixture.broker.produce(TOPIC, [{ value: 'x'.repeat(100), partition: 0 }]);
    await fixture.broker.close();
    const dir = `${fixture.broker.dataDir}/topics/${TOPIC}/0`;
    const sealed = segmentPath(dir, 0n, '.log');
    const bytes = await fixture.fs.readFile(sealed);
    const second = 12 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(8); // the second batch: its baseOffset claims 40
    new DataView(bytes.buffer, bytes.byteOffset).setBigInt64(second, 40n);
    await fixture.fs.writeFile(sealed, bytes);
    await fixture.fs.unlink(snapshotPath(dir)); // a log written before every partition had one
    await fixture.restart({ powerCut: false });
    await expect(fixture.broker.fetch({ topic: TOPIC, partition: 0, offset: 0n })).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' });
    const { producerId } = await fixture.broker.initProducer();
    await expect(send(fixture.broker, { producerId, firstSeq: 0 })).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' });
    await expect(send(fixture.broker, { producerId, firstSeq: 0 }, 1)).resolves.toMatchObject({ baseOffset: 0n, duplicate: false });
  });

  it('a snapshot ahead of a log whose tail was lost is removed at open even where the table cannot be rebuilt then (a damaged sealed segment): once retention takes the damage away, the lost batch is appended', async () => {
    const fixture = await fixtureWithTopic({ indexIntervalBytes: 64, producerSnapshotIntervalMs: 1000 }, { partitions: 1, segmentBytesMax: 4096, retention: { maxBytes: 4096 } });
    const dir = `${fixture.broker.dataDir}/topics/${TOPIC}/0`;
    const partition = () => fixture.broker.describeTopic(TOPIC).partitions[0]!;
    for (let i = 0; i < 30; i++) await fixture.broker.produce(TOPIC, [{ value: 'x'.repeat(100), partition: 0 }]);
    const { producerId } = await fixture.broker.initProducer();
    for (let seq = 0; seq < 3; seq++) await send(fixture.broker, { producerId, firstSeq: seq });
    await fixture.advance(1000); // the snapshot covers the producer's three batches
    const snapshotAt = partition().endOffset;
    // The first segment's second batch claims another baseOffset, where open does not scan.
    const sealed = await fixture.fs.open(segmentPath(dir, 0n, '.log'), 'rw');
    const firstLength = new Uint8Array(4);
    await sealed.readInto(firstLength, 0, 4, 8);
    const baseOffset = new Uint8Array(8);
    new DataView(baseOffset.buffer).setBigInt64(0, 40n);
    await sealed.write(baseOffset, 12 + new DataView(firstLength.buffer).getInt32(0));
    await sealed.sync();
    await sealed.close();
    // And the disk loses the end of the producer's last batch, in the active segment: recovery cuts it.
    const segments = (await fixture.fs.readdir(dir)).filter((name) => name.endsWith('.log')).sort();
    expect(segments).toHaveLength(2);
    const active = await fixture.fs.open(`${dir}/${segments[1]}`, 'rw');
    await active.truncate((await active.size()) - 5);
    await active.sync();
    await active.close();
    await fixture.restart();
    expect(partition().endOffset).toBe(snapshotAt - 1n);
    // The table cannot be rebuilt: replay from startOffset meets the damage.
    await expect(send(fixture.broker, { producerId, firstSeq: 2 })).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' });
    await fixture.broker.produce(TOPIC, ['a', 'b'].map((value) => ({ value, partition: 0 }))); // the log grows past the snapshot's offset
    await fixture.broker.enforceRetention(); // the damaged segment goes
    expect(partition().startOffset).toBe(BigInt(segments[1]!.slice(0, -'.log'.length)));
    // The table is rebuilt now, without the snapshot: the lost batch is appended, not answered with the offset of 'a'.
    await expect(send(fixture.broker, { producerId, firstSeq: 2 })).resolves.toEqual({ baseOffset: snapshotAt + 1n, lastOffset: snapshotAt + 1n, duplicate: false });
    const records = await fixture.broker.fetch({ topic: TOPIC, partition: 0, offset: snapshotAt - 3n });
    expect(records.map((record) => new TextDecoder().decode(record.value!))).toEqual(['p0-e0-s0', 'p0-e0-s1', 'a', 'b', 'p0-e0-s2']);
  });

  it('snapshots producer state every producerSnapshotIntervalMs while the log moves', async () => {
    const fixture = await fixtureWithTopic({ producerSnapshotIntervalMs: 1000 });
    const { producerId } = await fixture.broker.initProducer();
    await send(fixture.broker, { producerId, firstSeq: 0 });
    const path = snapshotPath(`${fixture.broker.dataDir}/topics/${TOPIC}/0`);
    const offset = async () => (JSON.parse(new TextDecoder().decode(await fixture.fs.readFile(path))) as { offset: string }).offset;
    expect(await offset()).toBe('0'); // written when the partition's state was first built
    await fixture.advance(1000);
    expect(await offset()).toBe('1');
    await send(fixture.broker, { producerId, firstSeq: 1 });
    await fixture.advance(999);
    expect(await offset()).toBe('1');
    await fixture.advance(1);
    expect(await offset()).toBe('2');
  });

  it('arms the snapshot timer only while the log moves: a broker that idempotent produce went to goes idle (runUntilIdle ends)', async () => {
    const clock = new VirtualClock();
    const fs = new MemoryFileSystem();
    await using broker = await Broker.open({ storage: 'memory', fs, clock, producerSnapshotIntervalMs: 1000 });
    await broker.createTopic(TOPIC);
    const { producerId } = await broker.initProducer();
    await send(broker, { producerId, firstSeq: 0 });
    await expect(clock.runUntilIdle({ maxTimers: 50 })).resolves.toBeLessThan(50);
    const path = snapshotPath(`${broker.dataDir}/topics/${TOPIC}/0`);
    const offset = async () => (JSON.parse(new TextDecoder().decode(await fs.readFile(path))) as { offset: string }).offset;
    expect(await offset()).toBe('1');
    // A plain produce moves the log too: the timer comes back, one interval later.
    await broker.produce(TOPIC, [{ value: 'plain', partition: 0 }]);
    await clock.advanceAsync(999);
    expect(await offset()).toBe('1');
    await clock.advanceAsync(1);
    expect(await offset()).toBe('2');
    await expect(clock.runUntilIdle({ maxTimers: 50 })).resolves.toBeLessThan(50);
  });

  it("a periodic snapshot that fails (nobody awaits it) shows in describeTopic's producerSnapshotFailure until one is written; the previous snapshot stays", async () => {
    const fixture = await fixtureWithTopic({ producerSnapshotIntervalMs: 1000 });
    const partition = (p = 0) => fixture.broker.describeTopic(TOPIC).partitions[p]!;
    const { producerId } = await fixture.broker.initProducer();
    await send(fixture.broker, { producerId, firstSeq: 0 });
    expect(partition().producerSnapshotFailure).toBeNull();
    fixture.fs.failNext('rename', { errno: 'ENOSPC', path: new RegExp(`/topics/${TOPIC}/0/producer-state\\.snapshot`), times: 2 });
    await fixture.advance(1000);
    expect(partition().producerSnapshotFailure).toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/ENOSPC/) });
    expect(partition(1).producerSnapshotFailure, 'the other partition has nothing new to write').toBeNull();
    await fixture.advance(1000);
    expect(partition().producerSnapshotFailure, 'tried again at the next tick').toMatchObject({ code: 'IO_ERROR' });
    await fixture.advance(1000);
    expect(partition().producerSnapshotFailure).toBeNull();
    const path = snapshotPath(`${fixture.broker.dataDir}/topics/${TOPIC}/0`);
    expect((JSON.parse(new TextDecoder().decode(await fixture.fs.readFile(path))) as { offset: string }).offset).toBe('1');
  });
  it('an open on a full disk removes a snapshot that disagrees with the log when it cannot write a new one, and writes one once there is room', async () => {
    const fixture = await fixtureWithTopic({ producerSnapshotIntervalMs: 1000 }, { partitions: 1 });
    const { producerId } = await fixture.broker.initProducer();
    await send(fixture.broker, { producerId, firstSeq: 0 });
    const path = snapshotPath(`${fixture.broker.dataDir}/topics/${TOPIC}/0`);
    await fixture.broker.close();
    await fixture.fs.writeFile(path, new TextEncoder().encode('not a snapshot'));
    fixture.fs.failNext('write', { errno: 'ENOSPC', path: /producer-state\.snapshot\.tmp$/ });
    const broker = await fixture.restart({ powerCut: false });
    expect(await fixture.fs.exists(path), 'left, it could pass for valid once the log grew past it').toBe(false);
    await expect(send(broker, { producerId, firstSeq: 0 }), 'rebuilt from the log all the same').resolves.toMatchObject({ duplicate: true });
    await fixture.advance(1000);
    expect(await fixture.fs.exists(path)).toBe(true);
  });
});

describe('Broker.deleteTopic and producer state', () => {
  it('a snapshot being written when its topic is deleted does not land in the topic created again under the name', async () => {
    const disk = holdingOpen(new MemoryFileSystem(), (path) => path.endsWith(`${snapshotPath('')}.tmp`));
    const fixture = await fixtureWithTopic({ fs: disk.fs, producerSnapshotIntervalMs: 1000 }, { partitions: 1 });
    const { producerId } = await fixture.broker.initProducer();
    for (let seq = 0; seq < 3; seq++) await send(fixture.broker, { producerId, firstSeq: seq });
    disk.armed = true;
    await fixture.advance(1000);
    await disk.held; // the timer's snapshot of offsets 0..2 is on its way to disk
    const recreated = (async () => {
      await fixture.broker.deleteTopic(TOPIC);
      await fixture.broker.createTopic(TOPIC, { partitions: 1 });
      await fixture.broker.produce(TOPIC, ['a', 'b', 'c', 'd'].map((value) => ({ value })));
    })();
    await fixture.settle();
    disk.release();
    await recreated;
    await fixture.broker.close();
    await fixture.restart({ powerCut: false });
    // The new topic knows nothing of the producer: its first batch is appended, not answered with the offset of 'a'.
    await expect(send(fixture.broker, { producerId, firstSeq: 0 })).resolves.toEqual({ baseOffset: 4n, lastOffset: 4n, duplicate: false });
  });
});
