/** Helpers for tests of a Subscription against a FakeServer. */
import { decodeStoredBatch, encodeBatch, encodeDeliverFrame } from '@brook/protocol';
import { FakeServer, openFake } from '../fake-server.test-support.js';
import type { Message } from './message.js';
import type { MessageSink } from './message-sink.js';
import type { SubscribeOptions } from './subscribe-options.js';
import { Subscription } from './subscription.js';

export const delivery = (offset: bigint, partition = 0) => {
  const [record] = decodeStoredBatch(encodeBatch([{ key: null, value: Buffer.from(`v${offset}`), timestamp: 1 }], { baseOffset: offset })).records;
  return { partition, deliveryCount: 1, record: record! };
};

/** A sink that records what reaches it. */
export function recordingSink() {
  const seen: Message[] = [];
  const ends: unknown[] = [];
  const sink = { credit: () => undefined, deliver: (msg: Message) => seen.push(msg) > 0, takeUnseen: () => [], oldestUnseen: () => undefined, whenReady: () => undefined, closing: () => undefined, ended: (error: unknown) => void ends.push(error) };
  return { seen, ends, sink };
}

export function deliver(server: FakeServer, subscription: number, first: number, offsets: bigint[], partition = 0): void {
  server.send(encodeDeliverFrame(subscription, first, offsets.map((offset) => delivery(offset, partition))));
}

/** A subscription of group 'g' on topic 't' into `sink`, joined as m1 on subscription 1 with the broker's `answer`. */
export async function joined(sink: MessageSink, options: Partial<SubscribeOptions> = {}, answer: object = {}) {
  const server = new FakeServer();
  const { connection } = await openFake(server);
  const subscription = new Subscription(connection, { topic: 't', group: 'g', ...options }, sink, new Set());
  const started = subscription.start();
  await server.waitForRequests(1);
  server.respond(server.take('subscribe'), { subscription: 1, memberId: 'm1', ...answer });
  await started;
  return { server, connection, subscription };
}
