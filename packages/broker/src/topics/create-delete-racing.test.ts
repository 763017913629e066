/**
 * createTopic and deleteTopic racing each other and close: one of two creates wins, a create
 * waits for a delete of its name, a delete failing past its commit point, close waiting for a delete.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '@brook/protocol';
import { memoryBroker } from '../memory-broker.test-support.js';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

describe('Broker concurrency', () => {
  it('two concurrent creates of one topic: one wins, the other gets TOPIC_EXISTS', async () => {
    const broker = await memoryBroker();
    const results = await Promise.allSettled([broker.createTopic('race'), broker.createTopic('race')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'TOPIC_EXISTS', details: { topic: 'race' } } });
    expect(broker.listTopics()).toEqual(['race']);
  });

  it('a create issued while a delete of the same name runs waits for it: the new topic starts empty and keeps what it is sent', async () => {
    const fs = new MemoryFileSystem();
    const broker = await memoryBroker({ fs, fsync: 'always' });
    await broker.createTopic('again');
    await broker.produce('again', [{ value: 'old' }]);
    await Promise.all([broker.deleteTopic('again'), broker.createTopic('again')]);
    expect(await broker.fetch({ topic: 'again', partition: 0, offset: 0n })).toEqual([]);
    expect(await broker.produce('again', [{ value: 'new' }])).toEqual([{ partition: 0, offset: 0n }]);
    await broker.close();
    const reopened = await memoryBroker({ fs, fsync: 'always' });
    expect((await reopened.fetch({ topic: 'again', partition: 0, offset: 0n })).map((r) => text(r.value))).toEqual(['new']);
  });

  it('a delete that fails after its commit point resolves but leaves files behind; a topic created later under the name still starts empty', async () => {
    const fs = new MemoryFileSystem();
    const broker = await memoryBroker({ fs });
    await broker.createTopic('stuck');
    await broker.produce('stuck', [{ value: 'old' }]);
    fs.failNext('rmdir', { errno: 'EIO', path: `${broker.dataDir}/topics/stuck` });
    await broker.deleteTopic('stuck');
    expect(broker.listTopics()).toEqual([]);
    expect(await fs.exists(`${broker.dataDir}/topics/stuck/0`)).toBe(true);
    await broker.createTopic('stuck');
    expect(await broker.fetch({ topic: 'stuck', partition: 0, offset: 0n })).toEqual([]);
    expect(broker.describeTopic('stuck').partitions[0]!.endOffset).toBe(0n);
  });

  it('close waits for a delete under way: when it resolves, the topic directory is gone', async () => {
    const fs = new MemoryFileSystem();
    const broker = await memoryBroker({ fs });
    await broker.createTopic('leaving');
    const deleting = broker.deleteTopic('leaving');
    await broker.close();
    expect(await fs.exists(`${broker.dataDir}/topics/leaving`)).toBe(false);
    await deleting;
    const reopened = await memoryBroker({ fs });
    expect(reopened.openedClean).toBe(true);
    expect(reopened.listTopics()).toEqual([]);
  });

  it('a create waiting for a delete of its name when close begins fails with CLOSED and makes nothing: the broker closes clean without it', async () => {
    const fs = new MemoryFileSystem();
    const broker = await memoryBroker({ fs });
    await broker.createTopic('late');
    const deleting = broker.deleteTopic('late');
    const creating = broker.createTopic('late');
    await broker.close();
    await deleting;
    await expect(creating).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await fs.exists(`${broker.dataDir}/topics/late`)).toBe(false);
    const reopened = await memoryBroker({ fs });
    expect(reopened.openedClean).toBe(true);
    expect(reopened.listTopics()).toEqual([]);
  });
});
