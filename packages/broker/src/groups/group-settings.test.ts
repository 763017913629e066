/**
 * A group's settings (docs/semantics.md "Settings of a group"): members agreeing on them, joins
 * made together, a group without members taking new ones, and keeping them across restarts.
 * All through the broker's API on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import type { Subscription } from './subscription.js';
import { engineFixture } from './group-fixture.js';

const outcome = (result: PromiseSettledResult<Subscription>) => (result.status === 'fulfilled' ? 'joined' : (result.reason as { code: string }).code);

describe('group settings agreed by joins made together', () => {
  it.each([
    ['a new group', false],
    ['a group without members', true],
  ])('on %s, the first join sets them and one asking for others is refused with INVALID_CONFIG', async (_name, existing) => {
    const { broker } = await engineFixture();
    const topic = `together-${existing}`;
    await broker.createTopic(topic);
    if (existing) await (await broker.subscribe({ topic, group: 'g-together' }, () => undefined)).close();
    const joins = await Promise.allSettled([
      broker.subscribe({ topic, group: 'g-together', ordering: 'key' }, () => undefined),
      broker.subscribe({ topic, group: 'g-together', ordering: 'partition' }, () => undefined),
    ]);
    expect(joins.map(outcome)).toEqual(['joined', 'INVALID_CONFIG']);
    const description = broker.describeGroup(topic, 'g-together');
    expect(description.config.ordering).toBe('key');
    expect(description.members).toHaveLength(1);
  });

  it('a group reconfigured by a member that joined it empty keeps the new settings across a restart', async () => {
    const world = await engineFixture({ fsync: 'always' });
    await world.broker.createTopic('kept');
    await (await world.broker.subscribe({ topic: 'kept', group: 'g-kept', ordering: 'key' }, () => undefined)).close();
    await (await world.broker.subscribe({ topic: 'kept', group: 'g-kept', ordering: 'partition', ackTimeoutMs: 1234 }, () => undefined)).close();
    await world.restart();
    expect(world.broker.describeGroup('kept', 'g-kept').config).toMatchObject({ ordering: 'partition', ackTimeoutMs: 1234 });
  });
});
