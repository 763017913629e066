/**
 * A topic's settings as createTopic takes them (topic.ts, resolveTopicConfig): retention limits
 * and discard checked at their boundaries, and describeTopic showing what was given, no more.
 */
import { describe, expect, it } from 'vitest';
import { memoryBroker } from '../memory-broker.test-support.js';

describe('createTopic settings', () => {
  it.each([
    ['retention.maxBytes', { maxBytes: 0 }],
    ['retention.maxBytes', { maxBytes: 1.5 }],
    ['retention.maxBytes', { maxBytes: '1000' }],
    ['retention.maxAgeMs', { maxAgeMs: 0 }],
    ['retention.maxAgeMs', { maxAgeMs: 1.5 }],
    ['retention.discard', { maxBytes: 1000, discard: 'oldest' }],
    ['retention.discard', { discard: 'new' }], // with no maxBytes to be full at
  ])('refuses a createTopic with a bad %s (%j): INVALID_CONFIG naming it, and no topic', async (option, retention) => {
    const broker = await memoryBroker();
    await expect(broker.createTopic('t', { retention } as never)).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option } });
    expect(broker.listTopics()).toEqual([]);
  });

  it('takes retention limits down to 1, and describes a topic with the retention settings it was given, no more', async () => {
    const broker = await memoryBroker();
    await broker.createTopic('smallest', { retention: { maxBytes: 1, maxAgeMs: 1, discard: 'new' } });
    await broker.createTopic('by-age', { retention: { maxAgeMs: 60_000 } });
    await broker.createTopic('kept', { segmentBytesMax: 4096, segmentMsMax: 60_000 });
    // Strictly: a limit not set is no key at all, so the description reads the same in process and as JSON.
    expect(broker.describeTopic('smallest').settings.retention).toStrictEqual({ maxBytes: 1, maxAgeMs: 1, discard: 'new' });
    expect(broker.describeTopic('by-age').settings.retention).toStrictEqual({ maxAgeMs: 60_000, discard: 'old' });
    expect(broker.describeTopic('kept').settings).toStrictEqual({ retention: { discard: 'old' }, segmentBytesMax: 4096, segmentMsMax: 60_000 });
  });
});
