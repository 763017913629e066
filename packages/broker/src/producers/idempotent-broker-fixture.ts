/**
 * Set-up for the broker-level idempotence tests: a memory broker world with one topic, and an
 * idempotent producer's batches sent to it through Broker.produceBatch. Test-only.
 */
import type { Broker, BrokerOptions } from '../index.js';
import { engineFixture, type EngineFixture } from '../groups/group-fixture.js';
import { producerBatch, type BatchSpec } from './producer-fixture.js';

export const TOPIC = 'orders';

/** A world whose broker has topic TOPIC (two partitions unless `topic` says otherwise). */
export async function fixtureWithTopic(options: BrokerOptions = {}, topic: Parameters<Broker['createTopic']>[1] = {}): Promise<EngineFixture> {
  const fixture = await engineFixture(options);
  await fixture.broker.createTopic(TOPIC, { partitions: 2, ...topic });
  return fixture;
}

export function send(broker: Broker, spec: BatchSpec, partition = 0) {
  return broker.produceBatch({ topic: TOPIC, partition, batch: producerBatch(spec) });
}

/** The values of the partition's records, from offset 0. */
export async function values(broker: Broker, partition = 0): Promise<string[]> {
  const records = await broker.fetch({ topic: TOPIC, partition, offset: 0n });
  return records.map((record) => new TextDecoder().decode(record.value!));
}
