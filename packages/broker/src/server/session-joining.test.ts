/**
 * Session subscriptions around their join: requests and disconnects that come while a member
 * joins, subscribe options that go through to the broker as they are, and several subscriptions
 * of one connection served by one flush.
 */
import { describe, expect, it } from 'vitest';
import { FrameKind, encodeFrame, stableJson } from '@brook/protocol';
import { batchOf, sessionFixture, text, type SessionFixture } from './session-fixture.js';

async function withTopic(name: string, records: string[] = []): Promise<SessionFixture> {
  const f = await sessionFixture();
  await f.hello();
  await f.ok('createTopic', { name });
  if (records.length > 0) await f.ok('produce', { topic: name, partition: 0 }, batchOf(records));
  return f;
}

/** Sends a REQUEST without waiting for its answer (the fixture's requestIds start at 1: these use their own). */
function send(f: SessionFixture, requestId: number, op: string, args: Record<string, unknown>): Promise<unknown> {
  f.session.receive(encodeFrame(FrameKind.REQUEST, requestId, stableJson({ ...args, op })));
  return f.peer.next((frame) => (frame.kind === FrameKind.RESPONSE || frame.kind === FrameKind.ERROR) && frame.requestId === requestId);
}

describe('while a member joins', () => {
  it('a connection that drops leaves the group at once: the member holds nothing, another gets the records with no attempt counted', async () => {
    const f = await withTopic('join-drop', ['a', 'b']);
    f.session.receive(encodeFrame(FrameKind.REQUEST, 100, stableJson({ op: 'subscribe', topic: 'join-drop', group: 'g-drop' })));
    f.session.disconnected();
    await f.clock.advanceAsync(0);
    const group = await f.broker.describeGroup('join-drop', 'g-drop');
    expect(group.members).toEqual([]);
    const other = await sessionFixture({ broker: f.broker, clock: f.clock });
    await other.hello();
    const { subscription } = await other.ok('subscribe', { topic: 'join-drop', group: 'g-drop' });
    expect((await other.deliveries(subscription as number)).map((d) => [text(d.value), d.deliveryCount])).toEqual([['a', 1], ['b', 1]]);
    await f.close();
  });

  it('a settle naming its number (before the RESPONSE told it) is answered: nothing it names is outstanding, so acks and rejects are stale', async () => {
    const f = await withTopic('join-settle');
    const subscribed = send(f, 100, 'subscribe', { topic: 'join-settle', group: 'g-settle' });
    const settled = send(f, 101, 'settle', { subscription: 1, ack: [[0, 1]], reject: [[5, 'bad']], nack: [[2, null]], extend: [[3, null]], release: [[4, 4]] });
    expect(((await settled) as { json: unknown }).json).toEqual({ stale: [[0, 1], [5, 5]] });
    expect(((await subscribed) as { json: unknown }).json).toMatchObject({ subscription: 1 });
    expect(f.internalErrors).toEqual([]);
    await f.close();
  });

  it("what the member is handed before its RESPONSE went out waits for it, even if the socket drains meanwhile", async () => {
    const f = await withTopic('join-drain', ['a', 'b']);
    // The socket drains (a flush) after the member has its records, before the RESPONSE names it.
    const attach = f.broker.attach.bind(f.broker);
    f.broker.attach = async (options, sink) => {
      const attached = await attach(options, sink);
      await f.clock.advanceAsync(0);
      f.drain();
      await f.clock.advanceAsync(0);
      return attached;
    };
    const { subscription } = await f.ok('subscribe', { topic: 'join-drain', group: 'g-drain' });
    expect((await f.deliveries(subscription as number)).map((d) => text(d.value))).toEqual(['a', 'b']);
    const response = f.peer.frames.findIndex((frame) => frame.kind === FrameKind.RESPONSE && frame.json['subscription'] === subscription);
    expect(f.peer.frames.findIndex((frame) => frame.kind === FrameKind.DELIVER)).toBeGreaterThan(response);
    await f.close();
  });
});

describe('subscribe options over the wire', () => {
  it("`name` names the member (describeGroup), and `deadLetterTopic` is where a reject goes", async () => {
    const f = await withTopic('opts', ['poison']);
    await f.ok('createTopic', { name: 'opts-parked' });
    const { subscription } = await f.ok('subscribe', { topic: 'opts', group: 'g-opts', name: 'worker-7', deadLetterTopic: 'opts-parked' });
    expect((await f.ok('describeGroup', { topic: 'opts', group: 'g-opts' }))['members']).toMatchObject([{ name: 'worker-7' }]);
    const [delivery] = await f.deliveries(subscription as number);
    expect(await f.ok('settle', { subscription, reject: [[delivery!.deliveryId, 'unparseable']] })).toEqual({});
    expect((await f.broker.describeTopic('opts-parked')).partitions[0]!.endOffset).toBe(1n);
    await f.close();
  });
});

describe('one flush, several subscriptions', () => {
  it('one produce reaches every subscription of the connection at once', async () => {
    const f = await withTopic('fan');
    const subscriptions = [];
    for (const group of ['g-fan-a', 'g-fan-b', 'g-fan-c']) subscriptions.push((await f.ok('subscribe', { topic: 'fan', group }))['subscription']);
    await f.broker.produce('fan', [{ value: 'x' }]);
    await f.clock.advanceAsync(0);
    expect(f.peer.of(FrameKind.DELIVER).map((frame) => frame.requestId).sort()).toEqual(subscriptions);
    await f.close();
  });
});
