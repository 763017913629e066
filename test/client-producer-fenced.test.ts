/**
 * A plain producer whose id another instance took over (initProducer with bumpEpoch) is fenced
 * for good, on both transports: docs/semantics.md, "What is not promised".
 */
import { expect, it } from 'vitest';
import { isBrookError } from '@brook/client';
import { describeOnEachTarget } from './fixtures/client-targets.js';

describeOnEachTarget('a fenced producer', (suite) => {
  it('fails every send after the fence with PRODUCER_FENCED (not retriable), appending nothing; a new producer writes on', async () => {
    const topic = await suite.topic();
    // Ids are handed out in order: the producer's first send takes the one after this.
    const before = await suite.target.broker.initProducer();
    const producer = suite.client.producer({ lingerMs: 0 });
    await producer.send(topic, [{ value: 'before the fence' }]);
    const taken = await suite.target.broker.initProducer({ producerId: before.producerId + 1n, bumpEpoch: true });
    expect(taken.producerEpoch).toBe(1);

    for (const value of ['after the fence', 'and again']) {
      const failure = await producer.send(topic, [{ value }]).catch((error: unknown) => error);
      expect(isBrookError(failure, 'PRODUCER_FENCED')).toBe(true);
      expect((failure as { retriable: boolean }).retriable).toBe(false);
    }
    expect(suite.target.broker.describeTopic(topic).partitions[0]!.endOffset).toBe(1n);

    expect(await suite.client.producer({ lingerMs: 0 }).send(topic, [{ value: 'a new producer' }])).toEqual([{ partition: 0, offset: 1n }]);
  });
});
