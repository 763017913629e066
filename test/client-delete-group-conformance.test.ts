/**
 * client.admin.deleteGroup, the same over both transports: a group without members goes with its
 * progress (the name then starts afresh at `from`); one with members is refused with
 * GROUP_NOT_EMPTY; absent ones with UNKNOWN_TOPIC / UNKNOWN_GROUP (docs/semantics.md, "Deleting a group").
 */
import { expect, it } from 'vitest';
import { deferred, describeOnEachTarget, unique } from './fixtures/client-targets.js';

describeOnEachTarget('admin.deleteGroup', (suite) => {
  it('deletes a group without members: listGroups and describeGroup no longer know it, and a subscribe of the name starts at its `from`', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    await suite.client.producer().send(topic, [{ value: 'a' }, { value: 'b' }]);
    const seenTwice = deferred();
    const seen: string[] = [];
    const first = await suite.client.subscribe({ topic, group, from: 'earliest' }, (message) => {
      seen.push(message.text()!);
      if (seen.length === 2) seenTwice.resolve();
    });
    await seenTwice.promise;
    await first.close();

    await suite.client.admin.deleteGroup(topic, group);

    expect(await suite.client.admin.listGroups(topic)).toEqual([]);
    await expect(suite.client.admin.describeGroup(topic, group)).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
    const again = deferred();
    const second = await suite.client.subscribe({ topic, group, from: 'earliest' }, (message) => {
      seen.push(message.text()!);
      if (seen.length === 4) again.resolve();
    });
    await again.promise;
    await second.close();
    expect(seen).toEqual(['a', 'b', 'a', 'b']);
  });

  it('refuses a group with a subscription or a consume() loop with GROUP_NOT_EMPTY (not retriable), and deletes it once they have closed', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    const subscription = await suite.client.subscribe({ topic, group }, () => undefined);
    const stream = suite.client.consume({ topic, group });
    await stream.ready;
    for (const members of [2, 1]) {
      await expect(suite.client.admin.deleteGroup(topic, group)).rejects.toMatchObject({
        code: 'GROUP_NOT_EMPTY', retriable: false, details: { topic, group, members },
      });
      await (members === 2 ? subscription.close() : stream.close());
    }
    await suite.client.admin.deleteGroup(topic, group);
    expect(suite.target.broker.listGroups(topic)).toEqual([]);
  });

  it('refuses an unknown topic with UNKNOWN_TOPIC, an unknown group with UNKNOWN_GROUP, a missing argument with INVALID_REQUEST', async () => {
    const topic = await suite.topic();
    await expect(suite.client.admin.deleteGroup(unique('missing'), 'g')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(suite.client.admin.deleteGroup(topic, unique('nobody'))).rejects.toMatchObject({ code: 'UNKNOWN_GROUP', retriable: false });
    await expect(suite.client.admin.deleteGroup(topic, undefined as never)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'group' } });
  });
});
