/**
 * Set-up shared by the redrive tests: records dead-lettered through a group that rejects them,
 * and the values a topic partition holds. Test-only.
 */
import type { Broker } from '../broker.js';
import type { EngineFixture } from './group-fixture.js';

const text = (bytes: Uint8Array | null) => new TextDecoder().decode(bytes!);

export async function values(broker: Broker, topic: string, partition = 0, offset = 0n): Promise<string[]> {
  return (await broker.fetch({ topic, partition, offset })).map((r) => text(r.value));
}

/** Produces `records` to `topic` and has group `group` reject each, waiting until all are dead-lettered. */
export async function deadLetter(
  fixture: EngineFixture, topic: string, group: string,
  records: Parameters<Broker['produce']>[1], deadLetterTopic = `${topic}.dlq`,
): Promise<void> {
  const { broker, settle } = fixture;
  // One produce a record when the broker takes one record a batch (batchRecordsMax 1).
  for (const record of records) await broker.produce(topic, [record]);
  const sub = await broker.subscribe({ topic, group, deadLetterTopic }, (d) => d.reject('bad'));
  await settle(() => broker.describeGroup(topic, group).lag === 0n);
  await sub.close();
}
