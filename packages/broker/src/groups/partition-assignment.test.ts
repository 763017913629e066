/**
 * Which member owns which partition in 'partition' ordering (docs/semantics.md "'partition' in
 * detail"): even shares that stick to their owners, so a join or a leave takes back only what
 * must move.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture, parking } from './group-fixture.js';

describe("ordering 'partition': the assignment", () => {
  it('a join moves only the partitions the newcomer takes, a leave only the leaver\'s: the others keep what they hold', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('sticky-4', { partitions: 4 });
    await broker.produce('sticky-4', [0, 1, 2, 3].map((partition) => ({ value: `p${partition}`, partition })));
    const assignments: Record<string, number[]>[] = [];
    broker.on('rebalanced', (e) => assignments.push(e.assignment));
    const takenBack: bigint[] = [];
    broker.on('redelivered', (e) => e.reason === 'rebalance' && takenBack.push(e.offset));
    const members = [parking(), parking(), parking()];
    const subs = [];
    for (const c of members) {
      subs.push(await broker.subscribe({ topic: 'sticky-4', group: 'g-sticky-4', ordering: 'partition' }, c.handler));
      await settle();
    }
    // 4 to g-0, then 2 of them to g-1, then 1 of g-1's to g-2: 3 records taken back, each once.
    expect(assignments).toEqual([{ 'g-sticky-4-0': [0, 1, 2, 3] }, { 'g-sticky-4-0': [0, 1], 'g-sticky-4-1': [2, 3] },
      { 'g-sticky-4-0': [0, 1], 'g-sticky-4-1': [2], 'g-sticky-4-2': [3] }]);
    expect(takenBack).toHaveLength(3);
    const survivorsHold = [members[0]!, members[2]!].flatMap((c) => c.held.filter((d) => !d.stale));
    expect(survivorsHold.map((d) => d.text()).sort()).toEqual(['p0', 'p1', 'p3']);
    subs[1]!.abort();
    await settle();
    expect(assignments.at(-1)).toEqual({ 'g-sticky-4-0': [0, 1], 'g-sticky-4-2': [2, 3] });
    expect(takenBack).toHaveLength(3);
    // What the survivors hold is still current: their acks count.
    for (const d of survivorsHold) await d.ack();
    await members[2]!.held.find((d) => d.text() === 'p2' && !d.stale)!.ack();
    expect(broker.describeGroup('sticky-4', 'g-sticky-4').lag).toBe(0n);
  });

  it('with more members than partitions the extra member gets nothing, then takes over the partition of an owner that leaves', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('idle-2', { partitions: 2 });
    await broker.produce('idle-2', [0, 1].map((partition) => ({ value: `p${partition}`, partition })));
    const members = [parking(), parking(), parking()];
    const subs = [];
    for (const c of members) subs.push(await broker.subscribe({ topic: 'idle-2', group: 'g-idle-2', ordering: 'partition' }, c.handler));
    await settle();
    const owners = () => broker.describeGroup('idle-2', 'g-idle-2').partitions.map((p) => p.owner);
    expect(owners()).toEqual(['g-idle-2-0', 'g-idle-2-1']);
    expect(members[2]!.held).toEqual([]);
    subs[0]!.abort();
    await settle();
    expect(owners()).toEqual(['g-idle-2-2', 'g-idle-2-1']);
    expect(members[2]!.held.map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['p0#2']);
    const kept = members[1]!.held.filter((d) => !d.stale);
    expect(kept.map((d) => d.text())).toEqual(['p1']); // g-idle-2-1 kept its partition and its delivery
  });
});
