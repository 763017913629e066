/**
 * Dead-letter cycles (docs/semantics.md, dead letters): a join whose group's topic →
 * deadLetterTopic edge would close a cycle with the edges of every other group the broker knows
 * is INVALID_CONFIG naming the cycle; deleted groups and topics take their edges with them; a
 * cycle left on disk by an older version does not stop the broker from opening.
 */
import { describe, expect, it } from 'vitest';
import { heldReads } from '../held-reads.test-support.js';
import { engineFixture } from './group-fixture.js';
import type { Broker } from '../broker.js';
import type { Group } from './group.js';

const idle = () => undefined;

async function topics(...names: string[]) {
  const world = await engineFixture();
  for (const name of names) await world.broker.createTopic(name);
  return world;
}

/** A group with no member left: it is kept, settings and all. */
async function memberless(world: { broker: Awaited<ReturnType<typeof engineFixture>>['broker'] }, topic: string, group: string, deadLetterTopic?: string) {
  await (await world.broker.subscribe({ topic, group, ...(deadLetterTopic && { deadLetterTopic }) }, idle)).close();
}

const cycleRefusal = (topic: string, group: string, cycle: string[]) => ({
  code: 'INVALID_CONFIG', retriable: false, message: expect.stringContaining(cycle.join(' → ')) as unknown,
  details: { option: 'deadLetterTopic', topic, group, cycle },
});

describe('dead-letter cycles', () => {
  it('a group on B dead-lettering into A, where a group on A dead-letters into B, is INVALID_CONFIG naming the cycle, and joins nothing', async () => {
    const { broker } = await topics('orders', 'orders.retry');
    await broker.subscribe({ topic: 'orders', group: 'g', deadLetterTopic: 'orders.retry' }, idle);
    await expect(broker.subscribe({ topic: 'orders.retry', group: 'r', deadLetterTopic: 'orders' }, idle))
      .rejects.toMatchObject(cycleRefusal('orders.retry', 'r', ['orders.retry', 'orders', 'orders.retry']));
    expect(broker.listGroups('orders.retry')).toEqual([]);
  });

  it('counts the default "<topic>.dlq", groups without members, and longer chains', async () => {
    const { broker } = await topics('a', 'a.dlq', 'c');
    await memberless({ broker }, 'a', 'g'); // a → a.dlq
    await memberless({ broker }, 'a.dlq', 'g', 'c'); // a.dlq → c
    await expect(broker.subscribe({ topic: 'c', group: 'g', deadLetterTopic: 'a' }, idle))
      .rejects.toMatchObject(cycleRefusal('c', 'g', ['c', 'a', 'a.dlq', 'c']));
    // Out of the cycle, c may dead-letter anywhere else.
    await expect(broker.subscribe({ topic: 'c', group: 'g', deadLetterTopic: 'elsewhere' }, idle)).resolves.toBeDefined();
  });

  it("a group's change of deadLetterTopic replaces its edge: refused if it closes a cycle (its settings stay), and its old edge no longer counts", async () => {
    const { broker } = await topics('x', 'y');
    await memberless({ broker }, 'x', 'g', 'y');
    await memberless({ broker }, 'y', 'g', 'elsewhere');
    await expect(broker.subscribe({ topic: 'y', group: 'g', deadLetterTopic: 'x' }, idle)).rejects.toMatchObject(cycleRefusal('y', 'g', ['y', 'x', 'y']));
    expect(broker.describeGroup('y', 'g').config.deadLetterTopic).toBe('elsewhere');
    await memberless({ broker }, 'x', 'g', 'other'); // x → y gone
    await expect(broker.subscribe({ topic: 'y', group: 'g', deadLetterTopic: 'x' }, idle)).resolves.toBeDefined();
  });

  it('two joins closing a cycle between them, made together: one is refused', async () => {
    const { broker } = await topics('p', 'q');
    const joins = await Promise.allSettled([
      broker.subscribe({ topic: 'p', group: 'g', deadLetterTopic: 'q' }, idle),
      broker.subscribe({ topic: 'q', group: 'g', deadLetterTopic: 'p' }, idle),
    ]);
    expect(joins.map((join) => join.status)).toEqual(['fulfilled', 'rejected']);
    expect(joins[1]).toMatchObject({ reason: cycleRefusal('q', 'g', ['q', 'p', 'q']) });
  });

  it('a deleted group, or the topic of a group, takes its edge with it', async () => {
    const { broker } = await topics('m', 'n');
    await memberless({ broker }, 'm', 'g', 'n');
    await broker.deleteGroup('m', 'g');
    await memberless({ broker }, 'n', 'g', 'm'); // n → m, fine now
    await memberless({ broker }, 'm', 'h', 'other');
    await expect(broker.subscribe({ topic: 'm', group: 'h', deadLetterTopic: 'n' }, idle)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await broker.deleteTopic('n');
    await expect(broker.subscribe({ topic: 'm', group: 'h', deadLetterTopic: 'n' }, idle)).resolves.toBeDefined();
  });

  it("a topic delete not yet past its commit point still counts its groups' edges (a failure there would list them again)", async () => {
    const { world, holdNextUnlink } = await heldReads();
    const { broker } = world;
    for (const name of ['j', 'k']) await broker.createTopic(name);
    await memberless({ broker }, 'k', 'g', 'j');
    const hold = holdNextUnlink(/\/topics\/k\/topic\.json$/);
    const deleting = broker.deleteTopic('k');
    await hold.reached;
    await expect(broker.subscribe({ topic: 'j', group: 'g', deadLetterTopic: 'k' }, idle)).rejects.toMatchObject(cycleRefusal('j', 'g', ['j', 'k', 'j']));
    hold.release();
    await deleting;
    await expect(broker.subscribe({ topic: 'j', group: 'g', deadLetterTopic: 'k' }, idle)).resolves.toBeDefined();
  });

  it('groups kept on disk count after a restart', async () => {
    const world = await topics('s', 's.dlq');
    await memberless(world, 's', 'g');
    await world.restart({ powerCut: false });
    await expect(world.broker.subscribe({ topic: 's.dlq', group: 'g', deadLetterTopic: 's' }, idle))
      .rejects.toMatchObject(cycleRefusal('s.dlq', 'g', ['s.dlq', 's', 's.dlq']));
  });

  it('a cycle an older version left on disk: the broker opens, its groups keep their members; a new edge into it is refused', async () => {
    const world = await topics('u', 'v');
    await memberless(world, 'u', 'g', 'v');
    await memberless(world, 'v', 'g', 'elsewhere');
    await world.broker.close();
    // What a version without the rule could write: v's group dead-letters into u.
    const path = `${world.broker.dataDir}/groups/v/g/config.json`;
    const config = JSON.parse(new TextDecoder().decode(await world.fs.readFile(path))) as Record<string, unknown>;
    await world.fs.writeFile(path, new TextEncoder().encode(JSON.stringify({ ...config, deadLetterTopic: 'u' })));
    const broker = await world.restart({ powerCut: false });
    expect(broker.describeGroup('v', 'g').config.deadLetterTopic).toBe('u');
    await expect(broker.subscribe({ topic: 'v', group: 'g', deadLetterTopic: 'u' }, idle)).resolves.toBeDefined();
    await expect(broker.subscribe({ topic: 'u', group: 'g', deadLetterTopic: 'v' }, idle)).resolves.toBeDefined();
    await expect(broker.subscribe({ topic: 'u', group: 'new', deadLetterTopic: 'v' }, idle)).rejects.toMatchObject(cycleRefusal('u', 'new', ['u', 'v', 'u']));
  });

  // A join walked the edge of every group the broker knew, so each subscribe cost O(groups): a
  // test suite's broker holding thousands of groups slowed down with every group it made.
  it("a join looks only at the groups on its dead-letter path: none of another topic's settings are read", async () => {
    const { broker } = await topics('wide', 'wide.dlq', 'narrow');
    for (let i = 0; i < 200; i++) await memberless({ broker }, 'wide', `g${i}`);
    const read = settingsRead(broker, 'wide');
    await broker.subscribe({ topic: 'narrow', group: 'g', deadLetterTopic: 'elsewhere' }, idle);
    await broker.subscribe({ topic: 'wide', group: 'new' }, idle); // wide → wide.dlq, where no group is
    await memberless({ broker }, 'wide', 'g7'); // its own settings: read, the others' not
    expect(read()).toEqual(['g7']);
    await expect(broker.subscribe({ topic: 'wide.dlq', group: 'g', deadLetterTopic: 'wide' }, idle))
      .rejects.toMatchObject(cycleRefusal('wide.dlq', 'g', ['wide.dlq', 'wide', 'wide.dlq']));
  });
});

/** The groups now on `topic` whose settings (Group.config) are read from here on, by name. */
function settingsRead(broker: Broker, topic: string): () => string[] {
  const table = (broker as unknown as { groups: { groups: { ofTopic(topic: string): Iterable<Group> } } }).groups.groups;
  const read = new Set<string>();
  for (const group of table.ofTopic(topic)) {
    let config = group.config;
    Object.defineProperty(group, 'config', {
      get: () => (read.add(group.name), config),
      set: (value: Group['config']) => void (config = value),
    });
  }
  return () => [...read];
}
