/**
 * describeGroup of a group that retention overtook before a broker restart, not yet told (it is
 * at its first read of the partition): the same answer over both transports as in process, its
 * lag only the records left, its loss in lostToRetentionUntold until told, then in lostToRetention.
 */
import { describe, expect, it } from 'vitest';
import { CLIENT_TARGETS, unique } from './fixtures/client-targets.js';
import { diskWithUntoldLoss, UNTOLD_RECORDS, UNTOLD_START_OFFSET } from './fixtures/untold-loss.js';

for (const [label, factory] of CLIENT_TARGETS) {
  describe(`describeGroup of a group retention overtook before a restart, over ${label}`, () => {
    it('lag counts only the records left; lostToRetentionUntold the lost ones until the group reads, then lostToRetention (once)', async () => {
      const [topic, group] = [unique('t'), unique('g')];
      const target = await factory({ fs: await diskWithUntoldLoss(topic, group) });
      const client = await target.connect();
      try {
        const left = BigInt(UNTOLD_RECORDS) - UNTOLD_START_OFFSET;
        const untold = await client.admin.describeGroup(topic, group);
        expect(untold).toEqual(target.broker.describeGroup(topic, group));
        expect(untold.lag).toBe(left);
        expect(untold.partitions[0]).toMatchObject({ ackFloor: 0n, lag: left, lostToRetention: 0n, lostToRetentionUntold: UNTOLD_START_OFFSET });

        const stream = client.consume({ topic, group, maxInFlight: 1 });
        const { value: first } = await stream[Symbol.asyncIterator]().next();
        expect(first?.offset).toBe(UNTOLD_START_OFFSET);
        const told = await client.admin.describeGroup(topic, group);
        expect(told.partitions[0]).toMatchObject({ ackFloor: UNTOLD_START_OFFSET, lag: left, lostToRetention: UNTOLD_START_OFFSET, lostToRetentionUntold: 0n });
        stream.abort();
      } finally {
        await client.close();
        await target.close();
      }
    });
  });
}
