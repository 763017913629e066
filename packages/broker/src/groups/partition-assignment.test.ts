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
    const causes: string[] = [];
    broker.on('rebalanced', (e) => {
      assignments.push(e.assignment);
      causes.push(`${e.reason} ${e.member}`);
    });
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
    expect(causes).toEqual(['memberJoined g-sticky-4-0', 'memberJoined g-sticky-4-1', 'memberJoined g-sticky-4-2', 'memberLeft g-sticky-4-1']);
    expect(takenBack).toHaveLength(3);
    // What the survivors hold is still current: their acks count.
    for (const d of survivorsHold) await d.ack();
    await members[2]!.held.find((d) => d.text() === 'p2' && !d.stale)!.ack();
    expect(broker.describeGroup('sticky-4', 'g-sticky-4').lag).toBe(0n);
  });

  it('a partition left over after a leave goes, between members owning as many, to the earliest joined', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('tie-3', { partitions: 3 });
    const assignments: Record<string, number[]>[] = [];
    broker.on('rebalanced', (e) => assignments.push(e.assignment));
    const subs = [];
    for (let i = 0; i < 3; i++) subs.push(await broker.subscribe({ topic: 'tie-3', group: 'g-tie-3', ordering: 'partition' }, () => undefined));
    expect(assignments.at(-1)).toEqual({ 'g-tie-3-0': [0], 'g-tie-3-1': [2], 'g-tie-3-2': [1] });
    subs[2]!.abort();
    await settle();
    expect(assignments.at(-1)).toEqual({ 'g-tie-3-0': [0, 1], 'g-tie-3-1': [2] });
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

  it('a member that closes gives its partitions up when it begins to close, and says so (rebalanced: memberClosing)', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('closing-2', { partitions: 2 });
    const causes: string[] = [];
    broker.on('rebalanced', (e) => causes.push(`${e.reason} ${e.member} ${JSON.stringify(e.assignment)}`));
    const options = { topic: 'closing-2', group: 'g-closing-2', ordering: 'partition' as const };
    const first = await broker.subscribe(options, () => undefined);
    await broker.subscribe(options, () => undefined);
    await settle();
    await first.close();
    expect(causes).toEqual([
      'memberJoined g-closing-2-0 {"g-closing-2-0":[0,1]}',
      'memberJoined g-closing-2-1 {"g-closing-2-0":[0],"g-closing-2-1":[1]}',
      'memberClosing g-closing-2-0 {"g-closing-2-1":[0,1]}',
    ]);
  });
  it('a member that closes keeps only the partitions where it holds records: another moves at once, and its waiting records go to the new owner then, not at the next ack', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('closing-3', { partitions: 3 });
    await broker.produce('closing-3', [0, 0, 1].map((partition, i) => ({ value: `r${i}`, partition })));
    const options = { topic: 'closing-3', group: 'g-closing-3', ordering: 'partition' as const, maxInFlight: 2 };
    const first = parking();
    const closing = await broker.subscribe(options, first.handler);
    await settle();
    expect(first.held.map((d) => d.text())).toEqual(['r0', 'r1']); // partition 0's; r2 waits for room
    const second = parking();
    await broker.subscribe(options, second.handler); // takes partition 2
    const closed = closing.close();
    await settle();
    const owners = broker.describeGroup('closing-3', 'g-closing-3').partitions.map((p) => p.owner);
    expect(owners).toEqual(['g-closing-3-0', 'g-closing-3-1', 'g-closing-3-1']);
    expect(second.held.map((d) => d.text())).toEqual(['r2']);
    for (const d of first.held) await d.ack();
    await closed;
  });
});

describe("ordering 'partition': rebalance on lease loss", () => {
  it("a member whose lease runs out loses its partitions to a member that is not stuck, until it settles something again", async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('lost-2', { partitions: 2 });
    const assignments: Record<string, number[]>[] = [];
    const causes: string[] = [];
    broker.on('rebalanced', (e) => {
      assignments.push(e.assignment);
      causes.push(`${e.reason} ${e.member}`);
    });
    const leaseLost = () => broker.describeGroup('lost-2', 'g-lost-2').members.map((m) => m.leaseLost);
    const stuck = parking();
    const acked: string[] = [];
    const options = { topic: 'lost-2', group: 'g-lost-2', ordering: 'partition' as const, ackTimeoutMs: 1000, maxDeliveries: 2 };
    await broker.subscribe(options, stuck.handler);
    await broker.subscribe(options, (d) => void acked.push(`${d.text()}#${d.deliveryCount}`));
    await broker.produce('lost-2', [0, 1].map((partition) => ({ value: `p${partition}`, partition })));
    await settle();
    expect(assignments.at(-1)).toEqual({ 'g-lost-2-0': [0], 'g-lost-2-1': [1] });
    expect(stuck.held.map((d) => d.text())).toEqual(['p0']);
    // Its handler hangs: the lease runs out, and with it the member's claim to partition 0.
    expect(leaseLost()).toEqual([false, false]);
    await advance(1000);
    expect(assignments.at(-1)).toEqual({ 'g-lost-2-1': [0, 1] });
    expect(causes.at(-1)).toBe('leaseLost g-lost-2-0');
    expect(leaseLost()).toEqual([true, false]);
    await advance(60_000); // past the lease-expiry backoff
    expect(acked.sort()).toEqual(['p0#2', 'p1#1']);
    expect(broker.describeGroup('lost-2', 'g-lost-2').lag).toBe(0n);
    expect(broker.describeGroup('lost-2', 'g-lost-2').partitions.map((p) => p.deadLettered)).toEqual([0, 0]);
    // Its handler finishes at last: the ack is stale, but the member is back, and takes its share again.
    await expect(stuck.held[0]!.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
    await settle();
    expect(assignments.at(-1)).toEqual({ 'g-lost-2-0': [1], 'g-lost-2-1': [0] });
    expect(causes.at(-1)).toBe('leaseRegained g-lost-2-0');
    expect(leaseLost()).toEqual([false, false]);
    await broker.produce('lost-2', [{ value: 'again', partition: 1 }]);
    await settle();
    expect(stuck.held.map((d) => d.text())).toEqual(['p0', 'again']);
  });

  it('a member that regains its lease takes its share from the member owning the most, which keeps one more: one partition moves, not two', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('regain-3', { partitions: 3 });
    const assignments: Record<string, number[]>[] = [];
    broker.on('rebalanced', (e) => assignments.push(e.assignment));
    const stuck = parking();
    const options = { topic: 'regain-3', group: 'g-regain-3', ordering: 'partition' as const, ackTimeoutMs: 1000 };
    await broker.subscribe(options, stuck.handler);
    await broker.subscribe(options, () => undefined);
    await broker.produce('regain-3', [{ value: 'p0', partition: 0 }]);
    await settle();
    expect(assignments.at(-1)).toEqual({ 'g-regain-3-0': [0, 1], 'g-regain-3-1': [2] });
    await advance(1000);
    expect(assignments.at(-1)).toEqual({ 'g-regain-3-1': [0, 1, 2] });
    await expect(stuck.held[0]!.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
    await settle();
    expect(assignments.at(-1)).toEqual({ 'g-regain-3-0': [2], 'g-regain-3-1': [0, 1] });
  });

  it('a lone member whose lease runs out keeps its partitions: nobody else could take them', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('lost-alone', { partitions: 2 });
    const rebalances: unknown[] = [];
    broker.on('rebalanced', (e) => rebalances.push(e.assignment));
    const stuck = parking();
    await broker.subscribe({ topic: 'lost-alone', group: 'g-lost-alone', ordering: 'partition', ackTimeoutMs: 1000 }, stuck.handler);
    await broker.produce('lost-alone', [{ value: 'only', partition: 0 }]);
    await settle();
    await advance(1000);
    await advance(60_000);
    expect(rebalances).toEqual([{ 'g-lost-alone-0': [0, 1] }]);
    // Redelivered to it, attempt after attempt (up to maxDeliveries), with no rebalance.
    expect(stuck.held.slice(0, 2).map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['only#1', 'only#2']);
  });
});
