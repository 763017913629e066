/** A Producer on a FakeServer, and helpers to read the produce requests it sends: for the producer's unit tests. */
import { decodeBatch, readBatchHeader, type Frame, type Random } from '@brook/protocol';
import { FakeServer, openFake, tick } from '../fake-server.test-support.js';
import { resolveProducerOptions, type ProducerOptions } from '../options.js';
import { Producer } from './producer.js';
import { TopicPartitions } from './topic-partitions.js';

export async function setup(options: ProducerOptions = {}, random?: Random, reconnectAttemptsMax = Number.POSITIVE_INFINITY) {
  const server = new FakeServer();
  const { connection, clock } = await openFake(server, { requestTimeoutMs: 60_000, reconnect: { initialDelayMs: 0, maxDelayMs: 0, attemptsMax: reconnectAttemptsMax } });
  const producer = new Producer(connection, new TopicPartitions(connection), resolveProducerOptions(options), clock, random ?? connection.random, () => undefined);
  /** The next produce request, after answering the lookups it needs first. */
  const nextProduce = async (producerId = '7', incarnation?: string): Promise<Frame> => {
    for (;;) {
      await tick();
      const ops = server.requests.map((frame) => frame.json['op']);
      if (ops.includes('produce')) return server.take('produce');
      if (ops.includes('describeTopic')) server.respond(server.take('describeTopic'), { name: 't', partitions: [{ partition: 0, startOffset: '0', endOffset: '0' }] });
      else if (ops.includes('initProducer')) server.respond(server.take('initProducer'), { producerId, producerEpoch: 0, ...(incarnation !== undefined && { incarnation }) });
      else await server.waitForRequests(1);
    }
  };
  return { server, clock, producer, nextProduce };
}

/**
 * A producer that sent two records (`sent`) whose connection dropped after the first attempt:
 * returns once their resend (`resent`, the same bytes as `original`) waits for an answer.
 */
export async function resentAfterDrop() {
  const context = await setup();
  const sent = context.producer.send('t', values(2));
  const original = await context.nextProduce();
  context.server.drop(1006);
  await tick();
  context.clock.advance(0);
  const resent = await context.nextProduce();
  return { ...context, sent, original, resent };
}

export const header = (frame: Frame) => readBatchHeader(frame.data);
export const sentValues = (frame: Frame) => decodeBatch(frame.data).records.map((record) => Buffer.from(record.value!).toString());
export const values = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ({ value: `v${from + i}` }));
