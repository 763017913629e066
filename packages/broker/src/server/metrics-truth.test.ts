/**
 * GET /metrics tells what describeTopic and describeGroup tell, in valid Prometheus text.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '@brook/protocol';
import type { Delivery } from '../groups/delivery.js';
import { engineFixture, parking, type EngineFixture } from '../groups/group-fixture.js';
import type { BrookServer } from './ws-server.js';

let server: BrookServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A memory file system whose removals (unlink, rmdir, rename) wait while `hold()` is on: a delete stays under way. */
class HeldRemovals extends MemoryFileSystem {
  private held: Promise<void> | undefined;
  private unhold: () => void = () => undefined;

  hold(): void {
    this.held = new Promise<void>((resolve) => (this.unhold = resolve));
  }

  release(): void {
    this.held = undefined;
    this.unhold();
  }

  override async unlink(path: string): Promise<void> {
    await this.held;
    return super.unlink(path);
  }

  override async rmdir(path: string): Promise<void> {
    await this.held;
    return super.rmdir(path);
  }

  override async rename(from: string, to: string): Promise<void> {
    await this.held;
    return super.rename(from, to);
  }
}

interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parses the text format (0.0.4) strictly: every sample after its family's HELP and TYPE, no series twice. */
function parseExposition(text: string): Sample[] {
  expect(text.endsWith('\n')).toBe(true);
  const described = new Map<string, { help: boolean; type: string | undefined }>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      const family = described.get(meta[2]!) ?? { help: false, type: undefined };
      if (meta[1] === 'HELP') family.help = true;
      else family.type = meta[3];
      described.set(meta[2]!, family);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+]+)$/.exec(line);
    expect(sample, `a sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name, labelText = '', value] = sample!;
    expect(described.get(name!), `${name} has HELP and TYPE before its samples`).toMatchObject({ help: true, type: expect.stringMatching(/^(gauge|counter)$/) });
    const labels: Record<string, string> = {};
    for (const pair of labelText.match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"/g) ?? []) {
      const at = pair.indexOf('=');
      labels[pair.slice(0, at)] = pair.slice(at + 2, -1);
    }
    expect(Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(','), 'labels parse whole').toBe(labelText);
    const key = `${name}{${labelText}}`;
    expect(seen.has(key), `${key} once`).toBe(false);
    seen.add(key);
    samples.push({ name: name!, labels, value: Number(value) });
  }
  return samples;
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}

describe('GET /metrics', () => {
  it('after nacks, a lease expiry, dead letters and acks: every number is what describeGroup and describeTopic say', async () => {
    const { broker, settle, advance } = await engineFixture();
    server = await broker.listen({ port: 0 });
    await broker.createTopic('mt-orders', { partitions: 2 });
    await broker.createTopic('mt-orders.dead');
    await broker.produce('mt-orders', Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    const held: Delivery[] = [];
    const park = (d: Delivery) => { held.push(d); return new Promise<void>(() => undefined); };
    const options = { topic: 'mt-orders', ackTimeoutMs: 1000, maxDeliveries: 2, deadLetterTopic: 'mt-orders.dead', backoff: { initialMs: 0, jitter: 0 } };
    await broker.subscribe({ ...options, group: 'mt-billing' }, park);
    await broker.subscribe({ ...options, group: 'mt-audit' }, () => undefined);
    await settle(() => held.length === 6 && broker.describeGroup('mt-orders', 'mt-audit').lag === 0n);
    held[0]!.nack();
    await held[1]!.reject('bad');
    await held[2]!.ack();
    await settle(() => held.length === 7);
    held[6]!.nack(); // its last attempt: dead-lettered
    await advance(1000); // the rest expire and come again
    await settle(() => held.length === 10);
    const samples = parseExposition(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text());
    for (const topic of broker.listTopics()) {
      for (const { partition, endOffset } of broker.describeTopic(topic).partitions) {
        expect(valueOf(samples, 'brook_partition_end_offset', { topic, partition: String(partition) })).toBe(Number(endOffset));
      }
    }
    for (const group of ['mt-billing', 'mt-audit']) {
      const description = broker.describeGroup('mt-orders', group);
      const labels = { topic: 'mt-orders', group };
      const sum = (of: (p: (typeof description.partitions)[number]) => number) => description.partitions.reduce((n, p) => n + of(p), 0);
      expect(valueOf(samples, 'brook_group_lag', labels)).toBe(Number(description.lag));
      expect(valueOf(samples, 'brook_group_in_flight', labels)).toBe(sum((p) => p.inFlight.length));
      expect(valueOf(samples, 'brook_redeliveries_total', labels) ?? 0).toBe(sum((p) => p.redeliveries));
      expect(valueOf(samples, 'brook_dead_letters_total', labels) ?? 0).toBe(sum((p) => p.deadLettered));
    }
    expect(broker.describeGroup('mt-orders', 'mt-billing')).toMatchObject({ lag: 3n });
    expect(valueOf(samples, 'brook_redeliveries_total', { topic: 'mt-orders', group: 'mt-billing' })).toBe(4);
    expect(valueOf(samples, 'brook_dead_letters_total', { topic: 'mt-orders', group: 'mt-billing' })).toBe(2);
    expect(valueOf(samples, 'brook_connections', {})).toBe(0);
  });

  it('a deleted group has no series from the delete on, and a scrape during the delete answers', async () => {
    const { broker, settle } = await engineFixture();
    server = await broker.listen({ port: 0 });
    await broker.createTopic('mt-deleted');
    await broker.produce('mt-deleted', [{ value: 'a' }]);
    const members = await Promise.all(['mt-gone', 'mt-kept'].map((group) => broker.subscribe({ topic: 'mt-deleted', group }, () => undefined)));
    await settle(() => broker.describeGroup('mt-deleted', 'mt-gone').lag === 0n && broker.describeGroup('mt-deleted', 'mt-kept').lag === 0n);
    await Promise.all(members.map((member) => member.close()));
    const scrape = async () => {
      const response = await fetch(`http://127.0.0.1:${server!.port}/metrics`);
      expect(response.status).toBe(200);
      return parseExposition(await response.text()).filter((s) => s.labels['topic'] === 'mt-deleted' && 'group' in s.labels);
    };
    const deleting = broker.deleteGroup('mt-deleted', 'mt-gone');
    const during = await scrape();
    await deleting;
    for (const samples of [during, await scrape()]) expect(new Set(samples.map((s) => s.labels['group']))).toEqual(new Set(['mt-kept']));
  });
});

/** Produces one record to `topic` (made if missing) that `group` nacks `nacks` times, then acks. */
async function redeliverThenAck(world: EngineFixture, topic: string, group: string, nacks: number): Promise<void> {
  const { broker, settle } = world;
  if (!broker.listTopics().includes(topic)) await broker.createTopic(topic);
  let attempts = 0;
  const sub = await broker.subscribe({ topic, group, from: 'latest', backoff: { initialMs: 0, jitter: 0 } }, () => {
    attempts += 1;
    if (attempts <= nacks) throw new Error('again');
  });
  await broker.produce(topic, [{ value: 'v' }]);
  await settle(() => broker.describeGroup(topic, group).lag === 0n && attempts > nacks);
  await sub.close();
}

describe('GET /metrics after deleteTopic or deleteGroup', () => {
  it("drops the deleted topic's group counters, and a topic created again under the name counts from zero", async () => {
    const world = await engineFixture();
    server = await world.broker.listen({ port: 0 });
    const scrape = async () => parseExposition(await (await fetch(`http://127.0.0.1:${server!.port}/metrics`)).text());
    const labels = { topic: 'mt-gone', group: 'mt-gone-g' };
    await redeliverThenAck(world, 'mt-gone', 'mt-gone-g', 2);
    expect(valueOf(await scrape(), 'brook_redeliveries_total', labels)).toBe(2);
    await world.broker.deleteTopic('mt-gone');
    expect((await scrape()).filter((s) => s.labels['topic'] === 'mt-gone')).toEqual([]);
    await redeliverThenAck(world, 'mt-gone', 'mt-gone-g', 2);
    expect(valueOf(await scrape(), 'brook_redeliveries_total', labels)).toBe(2);
  });

  it.each([
    ['whose topic is deleted and created again', (world: EngineFixture, topic: string) => world.broker.deleteTopic(topic)],
    ['deleted and joined again', (world: EngineFixture, topic: string, group: string) => world.broker.deleteGroup(topic, group)],
  ])('a group %s between two scrapes counts from zero', async (_what, remove) => {
    const world = await engineFixture();
    server = await world.broker.listen({ port: 0 });
    const scrape = async () => parseExposition(await (await fetch(`http://127.0.0.1:${server!.port}/metrics`)).text());
    const [topic, group] = ['mt-again', 'mt-again-g'];
    await redeliverThenAck(world, topic, group, 1);
    expect(valueOf(await scrape(), 'brook_redeliveries_total', { topic, group })).toBe(1);
    await remove(world, topic, group);
    await redeliverThenAck(world, topic, group, 1);
    expect(world.broker.describeGroup(topic, group).partitions[0]!.redeliveries).toBe(1);
    expect(valueOf(await scrape(), 'brook_redeliveries_total', { topic, group })).toBe(1);
  });
});

describe('GET /metrics: a group overtaken by retention', () => {
  it("brook_group_lost_records_total is the group's lostToRetention; it goes with the group", async () => {
    const { broker } = await engineFixture();
    server = await broker.listen({ port: 0 });
    const scrape = async () => parseExposition(await (await fetch(`http://127.0.0.1:${server!.port}/metrics`)).text());
    const [topic, group] = ['mt-lost', 'mt-lost-g'];
    await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 100; i++) await broker.produce(topic, [{ value: `m${i}`.padEnd(200, '.') }]);
    // Holding its first record unsettled (maxInFlight 1): retention overtakes it.
    const member = await broker.subscribe({ topic, group, from: 'earliest', maxInFlight: 1 }, parking().handler);
    expect(valueOf(await scrape(), 'brook_group_lost_records_total', { topic, group })).toBeUndefined();
    await broker.enforceRetention();
    const lost = broker.describeGroup(topic, group).partitions[0]!.lostToRetention;
    expect(lost).toBeGreaterThan(0n);
    expect(valueOf(await scrape(), 'brook_group_lost_records_total', { topic, group })).toBe(Number(lost));
    member.abort();
    await broker.deleteGroup(topic, group);
    expect((await scrape()).filter((sample) => sample.labels['group'] === group)).toEqual([]);
  });
});

/** A tail reader of a new `topic` holding its first record unsettled (maxInFlight 1), so that the next retention pass overtakes it. */
async function overtakenTailReader(broker: EngineFixture['broker'], topic: string) {
  await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
  for (let i = 0; i < 100; i++) await broker.produce(topic, [{ value: `m${i}`.padEnd(200, '.') }]);
  return broker.subscribe({ topic, from: 'earliest', maxInFlight: 1 }, parking().handler);
}

describe('GET /metrics: tail readers overtaken by retention', () => {
  it('brook_tail_reader_lost_records_total counts, per partition, what each tail reader lost (its lostToRetention); a deleted topic has no series', async () => {
    const { broker } = await engineFixture();
    server = await broker.listen({ port: 0 });
    const scrape = async () => parseExposition(await (await fetch(`http://127.0.0.1:${server!.port}/metrics`)).text());
    const topic = 'mt-tail';
    await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 100; i++) await broker.produce(topic, [{ value: `m${i}`.padEnd(200, '.') }]);
    // Two readers, each holding its first record unsettled (maxInFlight 1): retention overtakes both.
    const readers = await Promise.all([0, 1].map(() => broker.subscribe({ topic, from: 'earliest', maxInFlight: 1 }, parking().handler)));
    expect(valueOf(await scrape(), 'brook_tail_reader_lost_records_total', { topic, partition: '0' })).toBeUndefined();
    const kept = await overtakenTailReader(broker, 'mt-tail-kept');
    await broker.enforceRetention();
    const lost = readers.map((reader) => reader.lostToRetention!);
    expect(lost[0]).toBeGreaterThan(0n);
    expect(valueOf(await scrape(), 'brook_tail_reader_lost_records_total', { topic, partition: '0' })).toBe(Number(lost[0]! + lost[1]!));
    await broker.deleteTopic(topic);
    const after = await scrape();
    expect(after.filter((sample) => sample.labels['topic'] === topic)).toEqual([]);
    // Another topic's series stays.
    expect(valueOf(after, 'brook_tail_reader_lost_records_total', { topic: 'mt-tail-kept', partition: '0' })).toBe(Number(kept.lostToRetention!));
  });

  it('a topic deleted and made again before the next scrape starts from no series: the old count went with its topicDeleted', async () => {
    const { broker } = await engineFixture();
    server = await broker.listen({ port: 0 });
    const scrape = async () => parseExposition(await (await fetch(`http://127.0.0.1:${server!.port}/metrics`)).text());
    const topic = 'mt-tail-again';
    const settings = { segmentBytesMax: 4096, retention: { maxBytes: 8192 } };
    await broker.createTopic(topic, settings);
    for (let i = 0; i < 100; i++) await broker.produce(topic, [{ value: `m${i}`.padEnd(200, '.') }]);
    await broker.subscribe({ topic, from: 'earliest', maxInFlight: 1 }, parking().handler);
    await broker.enforceRetention();
    expect(valueOf(await scrape(), 'brook_tail_reader_lost_records_total', { topic, partition: '0' })).toBeGreaterThan(0);
    await broker.deleteTopic(topic);
    await broker.createTopic(topic, settings);
    expect(valueOf(await scrape(), 'brook_tail_reader_lost_records_total', { topic, partition: '0' })).toBeUndefined();
  });
});

describe('GET /metrics while a deleteTopic is under way', () => {
  it("shows none of the topic's series, neither its groups' counters nor its tail readers' losses, although their events have not come yet", async () => {
    const fs = new HeldRemovals();
    const world = await engineFixture({ fs });
    const { broker } = world;
    server = await broker.listen({ port: 0 });
    const scrape = async () => parseExposition(await (await fetch(`http://127.0.0.1:${server!.port}/metrics`)).text());
    const [topic, tailTopic] = ['mt-deleting', 'mt-deleting-tail'];
    await redeliverThenAck(world, topic, 'mt-deleting-g', 1);
    await overtakenTailReader(broker, tailTopic);
    await broker.enforceRetention();
    const before = await scrape();
    expect(valueOf(before, 'brook_redeliveries_total', { topic, group: 'mt-deleting-g' })).toBe(1);
    expect(valueOf(before, 'brook_tail_reader_lost_records_total', { topic: tailTopic, partition: '0' })).toBeGreaterThan(0);
    fs.hold();
    const deletions = [broker.deleteTopic(topic), broker.deleteTopic(tailTopic)];
    const during = await scrape();
    expect(broker.listTopics()).toEqual([]); // unlisted from the delete on, removed once it ends
    fs.release();
    await Promise.all(deletions);
    for (const deleted of [topic, tailTopic]) expect(during.filter((sample) => sample.labels['topic'] === deleted)).toEqual([]);
  });
});

describe('a listener that closed', () => {
  it('leaves no listener of its counters on the broker: its events cost nothing again', async () => {
    const { broker } = await engineFixture();
    const events = ['redelivered', 'deadLettered', 'groupDeleted', 'topicDeleted', 'retentionDropped'] as const;
    const listening = await broker.listen({ port: 0 });
    expect(events.map((event) => broker.listenerCount(event))).toEqual([1, 1, 1, 1, 1]);
    await listening.close();
    expect(events.map((event) => broker.listenerCount(event))).toEqual([0, 0, 0, 0, 0]);
  });
});

/** The status line and body of one HTTP/1.1 request written by hand (`target` as sent, which fetch would not do). */
async function requestRaw(port: number, target: string): Promise<{ status: string; body: string }> {
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await new Promise((resolve) => socket.on('close', resolve));
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  return { status: head.split('\r\n')[0]!, body };
}

describe('GET /metrics and /healthz: the request target', () => {
  it('in absolute-form (http://host/path, which RFC 9112 3.2.2 says a server must accept) is its path, query string ignored', async () => {
    const { broker } = await engineFixture();
    server = await broker.listen({ port: 0 });
    const origin = `http://127.0.0.1:${server.port}`;
    expect(await requestRaw(server.port, `${origin}/healthz`)).toMatchObject({ status: 'HTTP/1.1 200 OK' });
    const metrics = await requestRaw(server.port, `${origin}/metrics?name=brook_connections`);
    expect(metrics.status).toBe('HTTP/1.1 200 OK');
    expect(metrics.body).toContain('# TYPE brook_connections gauge');
    expect(await requestRaw(server.port, `${origin}/nope`)).toMatchObject({ status: 'HTTP/1.1 404 Not Found' });
  });
});
