/**
 * The REQUEST ops that map one-to-one onto a broker call: topics, producers, produce, fetch and
 * group admin. Each reads its arguments with `Args`: names, ids and offsets by their JSON type (a
 * wrong one is INVALID_REQUEST naming the field); settings of any type go to the broker, which
 * checks them as it checks a JS caller's, so a bad setting gets the same code over the wire as
 * in process (INVALID_CONFIG for topic settings, INVALID_REQUEST for fetch's maxRecords, ...). Subscriptions live in subscriptions.ts: they hold per-connection state.
 */
import { encodeBatch } from '@brook/protocol';
import type { Broker } from '../broker.js';
import type { Args } from './args.js';
import type { RetentionPolicy } from '../log/retention.js';

export interface Reply {
  /** The RESPONSE json (bigints become decimal strings). */
  readonly json: object;
  readonly data?: Uint8Array;
  /** Runs right after the RESPONSE is sent (subscribe: deliveries may follow from then on). */
  readonly afterSend?: () => void;
}

export type BrokerRequestHandler = (broker: Broker, args: Args, data: Uint8Array) => Reply | Promise<Reply>;

const EMPTY: Reply = { json: {} };

async function createTopic(broker: Broker, args: Args): Promise<Reply> {
  await broker.createTopic(args.string('name'), {
    partitions: args.optionalSetting<number>('partitions'),
    // Whole, keys and type included: a misspelled key dropped here made a topic without that limit.
    retention: args.optionalSetting<RetentionPolicy>('retention'),
  });
  return EMPTY;
}

async function initProducer(broker: Broker, args: Args): Promise<Reply> {
  // An argument left out is undefined, which the broker takes as absent.
  const identity = await broker.initProducer({
    producerId: args.optionalDecimal('producerId'), bumpEpoch: args.optionalBoolean('bumpEpoch'), incarnation: args.optionalString('incarnation'),
  });
  return { json: identity };
}

async function produce(broker: Broker, args: Args, data: Uint8Array): Promise<Reply> {
  const result = await broker.produceBatch({
    topic: args.string('topic'), partition: args.int('partition', 0), batch: data, incarnation: args.optionalString('incarnation'),
  });
  return { json: result };
}

/** The records come back as one batch of consecutive offsets: the log's own batches may start before `offset`. */
async function fetch(broker: Broker, args: Args): Promise<Reply> {
  const records = await broker.fetch({
    topic: args.string('topic'), partition: args.int('partition', 0), offset: args.offset('offset'),
    maxRecords: args.optionalSetting<number>('maxRecords'), maxBytes: args.optionalSetting<number>('maxBytes'),
  });
  const first = records[0];
  return { json: { count: records.length }, ...(first && { data: encodeBatch(records, { baseOffset: first.offset }) }) };
}

async function offsetForTimestamp(broker: Broker, args: Args): Promise<Reply> {
  const offset = await broker.offsetForTimestamp(args.string('topic'), args.int('partition', 0), args.int('timestampMs'));
  return { json: { offset } };
}

async function resetGroup(broker: Broker, args: Args): Promise<Reply> {
  const positions = await broker.resetGroup(args.string('topic'), args.string('group'), args.startPosition('to'));
  return { json: { positions } };
}

export const BROKER_REQUESTS: ReadonlyMap<string, BrokerRequestHandler> = new Map<string, BrokerRequestHandler>([
  ['createTopic', createTopic],
  ['deleteTopic', async (broker, args) => (await broker.deleteTopic(args.string('name')), EMPTY)],
  ['listTopics', (broker) => ({ json: { topics: broker.listTopics() } })],
  ['describeTopic', (broker, args) => ({ json: broker.describeTopic(args.string('name')) })],
  ['initProducer', initProducer],
  ['produce', produce],
  ['fetch', fetch],
  ['offsetForTimestamp', offsetForTimestamp],
  ['listGroups', (broker, args) => ({ json: { groups: broker.listGroups(args.optionalString('topic')) } })],
  ['describeGroup', (broker, args) => ({ json: broker.describeGroup(args.string('topic'), args.string('group')) })],
  ['resetGroup', resetGroup],
  ['deleteGroup', async (broker, args) => (await broker.deleteGroup(args.string('topic'), args.string('group')), EMPTY)],
  ['redrive', async (broker, args) => ({
    json: await broker.redrive(args.string('deadLetterTopic'), { maxRecords: args.optionalSetting<number>('maxRecords'), endOffsets: args.optionalDecimals('endOffsets') }),
  })],
]);
