/**
 * The WebSocket server as a client sees it: a real broker.listen() on port 0 and a raw `ws`
 * client sending hand-built frames (docs/protocol.md is the contract checked here).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, FrameKind, VirtualClock, decodeBatch, decodeDeliveries, encodeBatch } from '@brook/protocol';
import { Broker, type BrookServer, type ListenOptions } from '@brook/broker';
import { RawClient } from './fixtures/server-raw-client.js';

const utf8 = new TextEncoder();
const batchOf = (...values: string[]) => encodeBatch(values.map((value) => ({ key: null, value: utf8.encode(value), timestamp: 1_700_000_000_000 })));

let broker: Broker | undefined;
const clients: RawClient[] = [];

async function serve(options: ListenOptions = {}, clock?: VirtualClock): Promise<{ broker: Broker; server: BrookServer }> {
  broker = await Broker.open({ storage: 'memory', ...(clock && { clock }) });
  const server = await broker.listen({ port: 0, ...options });
  return { broker, server };
}

async function connect(url: string, hello?: Record<string, unknown>): Promise<RawClient> {
  const client = await RawClient.open(url, hello);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await broker?.close();
  broker = undefined;
});

describe('handshake', () => {
  it('answers HELLO with WELCOME, then requests', async () => {
    const { server } = await serve();
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}/`);
    const client = await connect(server.url);
    expect(await client.ok('listTopics')).toEqual({ topics: [] });
  });

  it('refuses a missing or wrong token with UNAUTHORIZED and 4001, accepts the right one', async () => {
    const { server } = await serve({ token: 'sesame' });
    for (const hello of [{}, { token: 'open' }, { token: 42 }]) {
      const client = await RawClient.connect(server.url);
      const error = await client.hello(hello);
      expect([error.kind, error.json['code']]).toEqual([FrameKind.ERROR, 'UNAUTHORIZED']);
      expect((await client.closed).code).toBe(CloseCode.UNAUTHORIZED);
    }
    const client = await connect(server.url, { token: 'sesame' });
    expect(await client.ok('listTopics')).toEqual({ topics: [] });
  });

  it('refuses another protocol version with INVALID_REQUEST and 4000', async () => {
    const { server } = await serve();
    const client = await RawClient.connect(server.url);
    const error = await client.hello({ version: 2 });
    expect(error.json).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'version' } });
    expect((await client.closed).code).toBe(CloseCode.UNSUPPORTED_VERSION);
  });

  it('closes 1002 on a REQUEST before HELLO, 1003 on a text message', async () => {
    const { server } = await serve();
    const early = await RawClient.connect(server.url);
    early.send('listTopics');
    expect((await early.closed).code).toBe(CloseCode.PROTOCOL_ERROR);
    const text = await connect(server.url);
    text.sendRaw('{"op":"listTopics"}');
    expect((await text.closed).code).toBe(CloseCode.UNSUPPORTED_DATA);
  });

  it('closes 4002 when no HELLO comes within handshakeTimeoutMs (broker clock)', async () => {
    const clock = new VirtualClock();
    const { server } = await serve({ handshakeTimeoutMs: 1000 }, clock);
    const client = await RawClient.connect(server.url);
    // The server made the session (and its timer) before answering the upgrade that opened the client.
    clock.advance(999);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    clock.advance(1);
    expect((await client.closed).code).toBe(CloseCode.HANDSHAKE_TIMEOUT);
  });
});

describe('requests over the socket', () => {
  it('produces, fetches, subscribes, delivers and settles', async () => {
    const { server } = await serve();
    const client = await connect(server.url);
    await client.ok('createTopic', { name: 'orders' });
    expect(await client.ok('produce', { topic: 'orders', partition: 0 }, batchOf('a', 'b', 'c'))).toEqual({ baseOffset: '0', lastOffset: '2', duplicate: false });
    const fetched = await client.request('fetch', { topic: 'orders', partition: 0, offset: '0' });
    expect(decodeBatch(fetched.data).records.map((r) => r.offset)).toEqual([0n, 1n, 2n]);
    const { subscription } = await client.ok('subscribe', { topic: 'orders', group: 'g' });
    const deliver = await client.next((f) => f.kind === FrameKind.DELIVER && f.requestId === subscription);
    const deliveries = decodeDeliveries(deliver.json['first'] as number, deliver.json['count'] as number, deliver.data);
    expect(deliveries.map((d) => d.offset)).toEqual([0n, 1n, 2n]);
    await client.ok('settle', { subscription, ack: [[deliveries[0]!.deliveryId, deliveries[2]!.deliveryId]] });
    expect((await client.ok('describeGroup', { topic: 'orders', group: 'g' }))['lag']).toBe('0');
  });

  it('a bad frame closes only its own connection; acked data survives', async () => {
    const { server } = await serve();
    const good = await connect(server.url);
    await good.ok('createTopic', { name: 't' });
    await good.ok('produce', { topic: 't', partition: 0 }, batchOf('kept'));
    const bad = await connect(server.url);
    bad.sendRaw(new Uint8Array([FrameKind.REQUEST, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]));
    const error = await bad.next((f) => f.kind === FrameKind.ERROR);
    expect(error.json).toMatchObject({ code: 'INVALID_REQUEST', details: { reason: 'bad-json-length' } });
    expect(error.requestId).toBe(1);
    expect((await bad.closed).code).toBe(CloseCode.PROTOCOL_ERROR);
    expect((await good.ok('fetch', { topic: 't', partition: 0, offset: '0' }))['count']).toBe(1);
  });

  it('broker.close() ends subscriptions with END CLOSED and closes 1001', async () => {
    const { broker: b, server } = await serve();
    const client = await connect(server.url);
    await client.ok('createTopic', { name: 't' });
    const { subscription } = await client.ok('subscribe', { topic: 't' });
    await b.close();
    const end = await client.next((f) => f.kind === FrameKind.END);
    expect([end.requestId, end.json['code']]).toEqual([subscription, 'CLOSED']);
    expect((await client.closed).code).toBe(CloseCode.GOING_AWAY);
  });
});
