import { describe, expect, it } from 'vitest';
import { CloseCode, FrameKind, PROTOCOL_VERSION, decodeBatch } from '@brook/protocol';
import { batchOf, sessionFixture, text } from './session-fixture.js';

describe('Session: end to end in process', () => {
  it('handshakes, creates a topic, produces, fetches, subscribes and settles', async () => {
    const f = await sessionFixture();
    const welcome = await f.hello();
    expect(welcome.kind).toBe(FrameKind.WELCOME);
    expect(welcome.json).toMatchObject({ version: PROTOCOL_VERSION, server: 'brook', limits: { frameBytesMax: 8 * 1024 * 1024, subscriptionsMax: 64, requestsInFlightMax: 64, batchRecordsMax: 10_000 } });
    expect(await f.ok('createTopic', { name: 'orders', partitions: 2 })).toEqual({});
    expect(await f.ok('produce', { topic: 'orders', partition: 1 }, batchOf(['a', 'b']))).toEqual({ baseOffset: '0', lastOffset: '1', duplicate: false });
    const fetched = await f.request('fetch', { topic: 'orders', partition: 1, offset: '1' });
    expect(fetched.json).toEqual({ count: 1 });
    const { records, header } = decodeBatch(fetched.data);
    expect(header.baseOffset).toBe(1n);
    expect(records.map((r) => text(r.value))).toEqual(['b']);

    const sub = await f.ok('subscribe', { topic: 'orders', group: 'billing' });
    expect(sub).toEqual({ subscription: 1, memberId: 'billing-0', maxInFlight: 100, ackTimeoutMs: 30_000 });
    const delivered = await f.deliveries(1);
    expect(delivered.map((d) => [d.partition, d.offset, d.deliveryCount, text(d.value)])).toEqual([[1, 0n, 1, 'a'], [1, 1n, 1, 'b']]);
    expect(await f.ok('settle', { subscription: 1, ack: [[0, 1]] })).toEqual({});
    const group = await f.ok('describeGroup', { topic: 'orders', group: 'billing' });
    expect(group['lag']).toBe('0');
    expect(f.peer.closed).toBeUndefined();
    await f.close();
    expect(f.peer.closed?.code).toBe(CloseCode.GOING_AWAY);
    expect(f.peer.of(FrameKind.END).map((e) => [e.requestId, e.json['code']])).toEqual([[1, 'CLOSED']]);
  });
});

describe('END', () => {
  it('a subscription the broker ends before its subscribe RESPONSE went out gets END right after the RESPONSE', async () => {
    const f = await sessionFixture();
    await f.hello();
    await f.ok('createTopic', { name: 'gone-early' });
    // The topic is deleted while the member joins, so its subscription has ended (UNKNOWN_TOPIC)
    // before the session sends the RESPONSE that names it.
    const attach = f.broker.attach.bind(f.broker);
    f.broker.attach = async (options, sink) => {
      const attached = await attach(options, sink);
      await f.broker.deleteTopic('gone-early');
      return attached;
    };
    const { subscription } = await f.ok('subscribe', { topic: 'gone-early', group: 'g' });
    const end = await f.peer.next((frame) => frame.kind === FrameKind.END && frame.requestId === subscription);
    expect(end.json['code']).toBe('UNKNOWN_TOPIC');
    expect(f.peer.frames.findIndex((frame) => frame === end)).toBeGreaterThan(f.peer.frames.findIndex((frame) => frame.kind === FrameKind.RESPONSE && frame.json['subscription'] === subscription));
    await f.close();
  });
});
