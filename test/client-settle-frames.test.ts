/**
 * A consumer's settlements of one tick go in one settle request, unless together they would be
 * over the server's frameBytesMax (the client refuses such a frame with MESSAGE_TOO_LARGE, and a
 * handler never looks at its acks' promises): then in as many requests as it takes, each within
 * it, so that every ack and reject that fits a frame on its own takes effect.
 */
import { expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Message } from '@brook/client';
import { closeAfterEach } from './fixtures/close-after-each.js';
import { unique } from './fixtures/client-targets.js';

const opened = closeAfterEach();
/** The least a server may be given: a few hundred acks or two long reasons fill it. */
const FRAME_BYTES_MAX = 1024;

async function served(records: number) {
  const broker = opened(await Broker.open({ storage: 'memory' }));
  const server = opened(await broker.listen({ port: 0, frameBytesMax: FRAME_BYTES_MAX }));
  const client = opened(await connect(server.url, { reconnect: false }));
  const topic = unique('settle-frames');
  await client.admin.createTopic(topic);
  await client.producer().send(topic, Array.from({ length: records }, (_, i) => ({ value: `${i}` })));
  const group = unique('g');
  const stream = client.consume({ topic, group, maxInFlight: records });
  const iterator = stream[Symbol.asyncIterator]();
  const messages: Message[] = [];
  while (messages.length < records) messages.push((await iterator.next()).value as Message);
  return { client, topic, group, messages, stream };
}

it('acks of one tick whose ranges together pass frameBytesMax all take effect', async () => {
  const { client, topic, group, messages, stream } = await served(300);
  // Every other one: 150 ranges, about 1.4 KiB of JSON, no two of them mergeable.
  const evens = messages.filter((_, i) => i % 2 === 0).map((message) => message.ack());
  await expect(Promise.all(evens)).resolves.toBeDefined();
  await Promise.all(messages.filter((_, i) => i % 2 === 1).map((message) => message.ack()));
  expect((await client.admin.describeGroup(topic, group))['lag']).toBe(0n);
  await stream.close();
});

it('two rejects whose reasons each fit a frame, but not together, both dead-letter their record', async () => {
  const { client, topic, group, messages, stream } = await served(2);
  const reason = (i: number) => `${i}`.repeat(600);
  await expect(Promise.all(messages.map((message, i) => message.reject(reason(i))))).resolves.toBeDefined();
  expect((await client.admin.describeGroup(topic, group))['lag']).toBe(0n);
  const dead = await client.fetch({ topic: `${topic}.dlq`, partition: 0, offset: 0n });
  expect(dead.map((record) => Buffer.from(record.value!).toString())).toEqual(['0', '1']);
  await stream.close();
});

it('a reject whose reason would not fit a frame even alone still dead-letters its record, the reason cut to what fits', async () => {
  const { client, topic, group, messages, stream } = await served(1);
  const reason = 'é'.repeat(512); // DEAD_LETTER_REASON_BYTES_MAX exactly: the broker would keep it whole
  await expect(messages[0]!.reject(reason)).resolves.toBeUndefined();
  expect((await client.admin.describeGroup(topic, group))['lag']).toBe(0n);
  const [dead] = await client.fetch({ topic: `${topic}.dlq`, partition: 0, offset: 0n });
  const kept = Buffer.from(dead!.headers.find((header) => header.key === 'brook.reason')!.value!).toString();
  expect(kept).toMatch(/^rejected: (é)+…$/);
  expect(kept.length).toBeLessThan(`rejected: ${reason}`.length);
  await stream.close();
});
