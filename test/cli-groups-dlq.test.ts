/**
 * `brook groups` and `brook dlq` as a user runs them: the real command, spawned, against one
 * in-memory broker on a free port. Dead letters are made in process (a handler that rejects).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker, REDRIVE_GROUP, type BrookServer } from '@brook/broker';
import { BrookError } from '@brook/protocol';
import { REDRIVE_REQUEST_RECORDS_MAX } from '../packages/cli/src/commands/dlq.js';
import { brook, jsonLines } from './fixtures/cli-run.js';

let broker: Broker;
let server: BrookServer;
let env: Record<string, string>;

beforeAll(async () => {
  broker = await Broker.open({ storage: 'memory' });
  server = await broker.listen({ port: 0, host: '127.0.0.1' });
  env = { BROOK_URL: server.url };
});

afterAll(() => broker.close());

const NOT_DEAD_LETTER = "not a dead-letter record (its headers do not end with the broker's brook.origin.* ones)";

describe('brook groups', () => {
  it('lists and describes a group, and a reset to earliest replays every record', async () => {
    await broker.createTopic('cli-replay', { partitions: 2 });
    await broker.produce('cli-replay', ['a', 'b', 'c', 'd'].map((key) => ({ key, value: `v-${key}` })));
    const first = jsonLines((await brook(['consume', 'cli-replay', '--group', 'r', '--ordering', 'key', '--count', '4', '--json'], { env })).stdout);
    expect(first.map((r) => r['value']).sort()).toEqual(['v-a', 'v-b', 'v-c', 'v-d']);

    const listed = JSON.parse((await brook(['groups', 'list', 'cli-replay', '--json'], { env })).stdout);
    expect(listed).toEqual([{ topic: 'cli-replay', group: 'r', ordering: 'key', members: 0, lag: '0' }]);
    const described = await brook(['groups', 'describe', 'cli-replay', 'r'], { env });
    expect(described.stdout).toMatch(/^group r on cli-replay: 0 members, lag 0$/m);
    expect(described.stdout).toMatch(/ordering key/);
    expect(described.stdout).toMatch(/^PARTITION +ACK FLOOR +END +LAG +IN FLIGHT +REDELIVERED +DEAD-LETTERED +LOST$/m); // no owners in 'key'

    const reset = await brook(['groups', 'reset', 'cli-replay', 'r', '--to', 'earliest', '--json'], { env });
    expect(JSON.parse(reset.stdout)).toEqual({ topic: 'cli-replay', group: 'r', positions: ['0', '0'] });
    expect(broker.describeGroup('cli-replay', 'r').lag).toBe(4n);
    const replay = jsonLines((await brook(['consume', 'cli-replay', '--group', 'r', '--count', '4', '--json'], { env })).stdout);
    expect(replay.map((r) => r['value']).sort()).toEqual(['v-a', 'v-b', 'v-c', 'v-d']);
    expect(broker.describeGroup('cli-replay', 'r').lag).toBe(0n);
  });

  it("--count under ordering 'key' ends with records of one key (a held ack would lock the key)", async () => {
    await broker.createTopic('cli-one-key');
    await broker.produce('cli-one-key', [1, 2, 3].map((i) => ({ key: 'same', value: `v${i}` })));
    const run = await brook(['consume', 'cli-one-key', '--group', 'k', '--ordering', 'key', '--count', '3', '--json'], { env });
    expect(jsonLines(run.stdout).map((r) => r['value'])).toEqual(['v1', 'v2', 'v3']);
    expect(broker.describeGroup('cli-one-key', 'k').lag).toBe(0n);
  });

  it("describe of a 'partition' group names each partition's owner (where a lease loss or a join moved it)", async () => {
    await broker.createTopic('cli-owners', { partitions: 2 });
    const sub = await broker.subscribe({ topic: 'cli-owners', group: 'o', ordering: 'partition' }, () => undefined);
    try {
      const described = await brook(['groups', 'describe', 'cli-owners', 'o'], { env });
      expect(described.stdout).toMatch(/^PARTITION +ACK FLOOR +END +LAG +IN FLIGHT +REDELIVERED +DEAD-LETTERED +LOST +OWNER$/m);
      expect(described.stdout).toMatch(/^0 +0 +0 +0 +0 +0 +0 +0 +o-\d+$/m);
      expect(described.stdout).toMatch(/^1 +0 +0 +0 +0 +0 +0 +0 +o-\d+$/m);
    } finally {
      await sub.close();
    }
  });

  it("consume without --ordering joins an existing group with the group's own settings: not refused while its members run, not reconfigured to the defaults once they left", async () => {
    await broker.createTopic('cli-own-settings');
    await broker.produce('cli-own-settings', ['a', 'b', 'c'].map((key) => ({ key, value: key })));
    const settings = { ordering: 'key', ackTimeoutMs: 5000, maxDeliveries: 3, backoff: { initialMs: 10, maxMs: 1000, multiplier: 3, jitter: 0 }, deadLetterTopic: 'cli-own-settings.parked' } as const;
    const member = await broker.subscribe({ topic: 'cli-own-settings', group: 'app', maxInFlight: 1, ...settings }, () => new Promise(() => undefined));
    const beside = await brook(['consume', 'cli-own-settings', '--group', 'app', '--count', '1'], { env });
    expect(beside.stderr).not.toMatch(/INVALID_CONFIG/);
    expect(beside.code).toBe(0);
    await member.abort();
    const alone = await brook(['consume', 'cli-own-settings', '--group', 'app', '--count', '1'], { env });
    expect(alone.code).toBe(0);
    expect(broker.describeGroup('cli-own-settings', 'app').config).toEqual(settings);
  });

  it('list of an unknown topic is UNKNOWN_TOPIC (exit 1); of a topic without groups, says so (exit 0)', async () => {
    const unknown = await brook(['groups', 'list', 'cli-no-such-topic'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^brook: UNKNOWN_TOPIC: /);
    await broker.createTopic('cli-groupless');
    expect(await brook(['groups', 'list', 'cli-groupless'], { env })).toMatchObject({ code: 0, stdout: 'no groups\n' });
  });

  it('reset needs --to (exit 2); an unknown group is UNKNOWN_GROUP (exit 1)', async () => {
    await broker.createTopic('cli-nogroup');
    const missing = await brook(['groups', 'reset', 'cli-nogroup', 'g'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/INVALID_CONFIG: missing --to/);
    const unknown = await brook(['groups', 'describe', 'cli-nogroup', 'g'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^brook: UNKNOWN_GROUP: /);
  });
});

describe('brook groups delete', () => {
  it('refuses a group with members with GROUP_NOT_EMPTY (exit 1); once they have left, deletes it (exit 0) and the name starts afresh', async () => {
    await broker.createTopic('cli-delete');
    await broker.produce('cli-delete', [{ value: 'a' }]);
    const member = await broker.subscribe({ topic: 'cli-delete', group: 'cli-stale' }, () => undefined);
    const refused = await brook(['groups', 'delete', 'cli-delete', 'cli-stale'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^brook: GROUP_NOT_EMPTY: /);
    await member.close();

    expect(await brook(['groups', 'delete', 'cli-delete', 'cli-stale'], { env })).toMatchObject({ code: 0, stdout: 'deleted group cli-stale on cli-delete\n' });
    expect(broker.listGroups('cli-delete')).toEqual([]);
    const again = jsonLines((await brook(['consume', 'cli-delete', '--group', 'cli-stale', '--from', 'earliest', '--count', '1', '--json'], { env })).stdout);
    expect(again.map((r) => r['value'])).toEqual(['a']);
    const json = await brook(['groups', 'delete', 'cli-delete', 'cli-stale', '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual({ topic: 'cli-delete', group: 'cli-stale', deleted: true });
  });

  it('an unknown group is UNKNOWN_GROUP, an unknown topic UNKNOWN_TOPIC (exit 1); a missing GROUP is bad usage (exit 2)', async () => {
    await broker.createTopic('cli-delete-none');
    const group = await brook(['groups', 'delete', 'cli-delete-none', 'nobody'], { env });
    expect(group.code).toBe(1);
    expect(group.stderr).toMatch(/^brook: UNKNOWN_GROUP: /);
    const topic = await brook(['groups', 'delete', 'cli-delete-no-such-topic', 'nobody'], { env });
    expect(topic.code).toBe(1);
    expect(topic.stderr).toMatch(/^brook: UNKNOWN_TOPIC: /);
    expect((await brook(['groups', 'delete', 'cli-delete-none'], { env })).code).toBe(2);
  });
});

describe('brook dlq', () => {
  it('lists a dead-lettered record with its origin (in --json too), redrives it, and then nothing waits', async () => {
    await broker.createTopic('cli-orders');
    const deadLettered = new Promise<void>((resolve) => broker.once('deadLettered', () => resolve()));
    const subscription = await broker.subscribe({ topic: 'cli-orders', group: 'billing', maxDeliveries: 1 }, (delivery) => {
      if (delivery.text() === 'poison') return delivery.reject('cannot parse');
      return delivery.ack();
    });
    await broker.produce('cli-orders', [{ key: 'k1', value: 'fine' }, { key: 'k2', value: 'poison' }]);
    await deadLettered;
    await subscription.close();

    const topics = JSON.parse((await brook(['dlq', 'list', '--json'], { env })).stdout);
    expect(topics).toEqual([{ topic: 'cli-orders.dlq', from: ['cli-orders/billing'], records: '1', waiting: '1' }]);
    const waiting = await brook(['dlq', 'list', 'cli-orders.dlq'], { env });
    expect(waiting.stdout).toBe('partition=0 offset=0 origin=cli-orders/0@1 group=billing deliveryCount=1 reason="rejected: cannot parse" key="k2" value=poison\n');

    const redriven = await brook(['dlq', 'redrive', 'cli-orders.dlq'], { env });
    expect(redriven.stdout).toBe('moved 1 record from cli-orders.dlq back to their origin topics\n');
    expect(broker.describeTopic('cli-orders').partitions[0]!.endOffset).toBe(3n);
    const after = await brook(['dlq', 'list', 'cli-orders.dlq'], { env });
    expect(after.stdout).toBe('');
    expect(after.stderr).toMatch(/0 records waiting in cli-orders\.dlq/);
    const all = await brook(['dlq', 'list', 'cli-orders.dlq', '--all', '--json'], { env });
    expect(jsonLines(all.stdout)).toEqual([
      expect.objectContaining({
        value: 'poison', headers: expect.objectContaining({ 'brook.origin.topic': 'cli-orders', 'brook.reason': 'rejected: cannot parse' }),
        deadLetter: { origin: { topic: 'cli-orders', partition: 0, offset: '1' }, group: 'billing', deliveryCount: 1, reason: 'rejected: cannot parse' },
      }),
    ]);
  });

  it("list shows a dead letter's deliveryCount in its origin group (from brook.delivery-count), not the list's own reading of it", async () => {
    await broker.createTopic('cli-attempts');
    const deadLettered = new Promise<void>((resolve) => broker.once('deadLettered', () => resolve()));
    const subscription = await broker.subscribe({ topic: 'cli-attempts', group: 'flaky', maxDeliveries: 3, backoff: { initialMs: 1, maxMs: 1 } }, () => {
      throw new Error('fails every time');
    });
    await broker.produce('cli-attempts', [{ key: 'k', value: 'poison' }]);
    await deadLettered;
    await subscription.close();
    const text = await brook(['dlq', 'list', 'cli-attempts.dlq'], { env });
    // The reason says what the handler threw on its last attempt, not only that attempts ran out.
    expect(text.stdout).toMatch(/^partition=0 offset=0 origin=cli-attempts\/0@0 group=flaky deliveryCount=3 reason="nack on attempt 3 of maxDeliveries 3; last failure: Error: fails every time" /);
    const [listed] = jsonLines((await brook(['dlq', 'list', 'cli-attempts.dlq', '--json'], { env })).stdout);
    expect(listed).not.toHaveProperty('deliveryCount'); // the list's own tail read of the copy: always 1, and no attempt of anyone
    expect(listed!['deadLetter']).toMatchObject({ group: 'flaky', deliveryCount: 3 });
  });

  it('list of a topic whose records are not dead letters says so instead of printing empty origin fields', async () => {
    await broker.createTopic('cli-plain');
    await broker.produce('cli-plain', [{ key: 'k', value: 'hello' }]);
    const run = await brook(['dlq', 'list', 'cli-plain'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`partition=0 offset=0 ${NOT_DEAD_LETTER} key="k" value=hello\n`);
    expect(run.stderr).toBe("brook: cli-plain is not a dead-letter topic: 1 record listed, none ending with the broker's dead-letter headers (brook.origin.*)\n");
  });

  it('list and redrive agree on a record dead-lettered twice: its origin is the last hop (the trailing headers)', async () => {
    await broker.createTopic('cli-twice');
    await broker.createTopic('cli-twice.dlq');
    let deadLettered = 0;
    const bothDeadLettered = new Promise<void>((resolve) => broker.on('deadLettered', () => ++deadLettered === 2 && resolve()));
    const first = await broker.subscribe({ topic: 'cli-twice', group: 'first', maxDeliveries: 1 }, (delivery) => delivery.reject('cannot parse'));
    const second = await broker.subscribe({ topic: 'cli-twice.dlq', group: 'second', maxDeliveries: 1 }, (delivery) => delivery.reject('still bad'));
    await broker.produce('cli-twice', [{ key: 'k', value: 'poison' }]);
    await bothDeadLettered;
    await Promise.all([first.close(), second.close()]);

    const waiting = await brook(['dlq', 'list', 'cli-twice.dlq.dlq'], { env });
    expect(waiting.stdout).toBe('partition=0 offset=0 origin=cli-twice.dlq/0@0 group=second deliveryCount=1 reason="rejected: still bad" key="k" value=poison\n');
    const redriven = await brook(['dlq', 'redrive', 'cli-twice.dlq.dlq'], { env });
    expect(redriven.stdout).toBe('moved 1 record from cli-twice.dlq.dlq back to their origin topics\n');
    expect(broker.describeTopic('cli-twice.dlq').partitions[0]!.endOffset).toBe(2n);
  });

  it("list (text and --json) and redrive agree that a record with a brook.origin.topic header of its own is no dead letter", async () => {
    await broker.createTopic('cli-lookalike');
    await broker.produce('cli-lookalike', [{ key: 'k', value: 'mine', headers: { 'brook.origin.topic': 'cli-lookalike' } }]);
    const run = await brook(['dlq', 'list', 'cli-lookalike'], { env });
    expect(run.stdout).toBe(`partition=0 offset=0 ${NOT_DEAD_LETTER} key="k" value=mine\n`);
    const json = await brook(['dlq', 'list', 'cli-lookalike', '--json'], { env });
    expect(jsonLines(json.stdout)).toEqual([expect.objectContaining({ value: 'mine', headers: { 'brook.origin.topic': 'cli-lookalike' }, deadLetter: null })]);
    const redriven = await brook(['dlq', 'redrive', 'cli-lookalike'], { env });
    expect(redriven.stdout).toMatch(/^moved 0 records from cli-lookalike back to their origin topics; skipped 1 record /);
  });

  it(`redrive moves a dead-letter topic of more than ${REDRIVE_REQUEST_RECORDS_MAX} records in requests of at most that many, each within the request timeout`, async () => {
    const total = REDRIVE_REQUEST_RECORDS_MAX + 50;
    await broker.createTopic('cli-big');
    let copied = 0;
    const allCopied = new Promise<void>((resolve) => broker.on('deadLettered', (e) => void (e.topic === 'cli-big' && ++copied === total && resolve())));
    const subscription = await broker.subscribe({ topic: 'cli-big', group: 'big-group', maxInFlight: 1000 }, (delivery) => delivery.reject('bad'));
    for (let sent = 0; sent < total; sent += 10_000) {
      await broker.produce('cli-big', Array.from({ length: Math.min(10_000, total - sent) }, (_, i) => ({ value: `v${sent + i}` })));
    }
    await allCopied;
    await subscription.close();
    const asked: (number | undefined)[] = [];
    const redrive = broker.redrive.bind(broker);
    broker.redrive = (topic, options) => {
      asked.push(options?.maxRecords);
      // The first run's second request is refused: its error says what the first one moved.
      if (asked.length === 2) return Promise.reject(new BrookError('TOPIC_FULL', 'origin full', { topic: 'cli-big' }));
      return redrive(topic, options);
    };
    try {
      const refused = await brook(['dlq', 'redrive', 'cli-big.dlq'], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`^brook: TOPIC_FULL: ${REDRIVE_REQUEST_RECORDS_MAX} records moved by earlier requests; then origin full`));
      const redriven = await brook(['dlq', 'redrive', 'cli-big.dlq', '--json'], { env });
      expect(JSON.parse(redriven.stdout)).toEqual({ topic: 'cli-big.dlq', moved: 50, skipped: 0 });
    } finally {
      broker.redrive = redrive;
    }
    expect(asked).toEqual([REDRIVE_REQUEST_RECORDS_MAX, 50, 50]);
    expect(broker.describeTopic('cli-big').partitions[0]!.endOffset).toBe(BigInt(2 * total));
  }, 60_000);

  it('redrive in requests moves what waited when it began, not records dead-lettered again meanwhile ahead of those in a later partition', async () => {
    const total = REDRIVE_REQUEST_RECORDS_MAX + 1;
    await broker.createTopic('cli-again', { partitions: 2 });
    await broker.createTopic('cli-again.dlq', { partitions: 2 });
    let copied = 0;
    const allCopied = new Promise<void>((resolve) => broker.on('deadLettered', (e) => void (e.topic === 'cli-again' && ++copied === total && resolve())));
    const subscription = await broker.subscribe({ topic: 'cli-again', group: 'again', maxInFlight: 1000 }, (delivery) => delivery.reject('bad'));
    for (let sent = 0; sent < REDRIVE_REQUEST_RECORDS_MAX; sent += 10_000) {
      await broker.produce('cli-again', Array.from({ length: 10_000 }, (_, i) => ({ value: `v${sent + i}`, partition: 0 })));
    }
    await broker.produce('cli-again', [{ value: 'last', partition: 1 }]);
    await allCopied;
    await subscription.close();
    const redrive = broker.redrive.bind(broker);
    broker.redrive = async (topic, options) => {
      const result = await redrive(topic, options);
      // A consumer giving up again on a record that came back: a dead letter in partition 0 again.
      const [again] = await broker.fetch({ topic: 'cli-again.dlq', partition: 0, offset: 0n, maxRecords: 1 });
      await broker.produce('cli-again.dlq', [{ key: again!.key, value: again!.value, headers: again!.headers, partition: 0 }]);
      return result;
    };
    try {
      const redriven = await brook(['dlq', 'redrive', 'cli-again.dlq', '--json'], { env });
      expect(JSON.parse(redriven.stdout)).toEqual({ topic: 'cli-again.dlq', moved: total, skipped: 0 });
    } finally {
      broker.redrive = redrive;
    }
    // The record of partition 1 went back; those dead-lettered again wait for the next redrive.
    expect(broker.describeGroup('cli-again.dlq', REDRIVE_GROUP).partitions.map((p) => p.lag)).toEqual([2n, 0n]);
  }, 60_000);

  it('list --max N lists at most N waiting records and says it stopped there', async () => {
    await broker.createTopic('cli-listmax');
    let copied = 0;
    const allCopied = new Promise<void>((resolve) => broker.on('deadLettered', (e) => void (e.topic === 'cli-listmax' && ++copied === 5 && resolve())));
    const subscription = await broker.subscribe({ topic: 'cli-listmax', group: 'listmax-group' }, (delivery) => delivery.reject('bad'));
    await broker.produce('cli-listmax', Array.from({ length: 5 }, (_, i) => ({ value: `v${i}` })));
    await allCopied;
    await subscription.close();
    const listed = await brook(['dlq', 'list', 'cli-listmax.dlq', '--max', '2'], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n').map((line) => /value=(\S+)/.exec(line)?.[1])).toEqual(['v0', 'v1']);
    expect(listed.stderr).toBe('brook: 2 records waiting in cli-listmax.dlq (stopped at --max 2)\n');
    const whole = await brook(['dlq', 'list', 'cli-listmax.dlq'], { env });
    expect(whole.stderr).toBe('brook: 5 records waiting in cli-listmax.dlq\n');
  });

  it('redrive reports records whose origin topic is gone as skipped, and they stay waiting', async () => {
    await broker.createTopic('cli-gone');
    const deadLettered = new Promise<void>((resolve) => broker.once('deadLettered', () => resolve()));
    const subscription = await broker.subscribe({ topic: 'cli-gone', group: 'gone-group' }, (delivery) => delivery.reject('cannot parse'));
    await broker.produce('cli-gone', [{ value: 'orphan' }]);
    await deadLettered;
    await subscription.close();
    await broker.deleteTopic('cli-gone');

    const redriven = await brook(['dlq', 'redrive', 'cli-gone.dlq'], { env });
    expect(redriven.code).toBe(0);
    expect(redriven.stdout).toBe('moved 0 records from cli-gone.dlq back to their origin topics; skipped 1 record that cannot go back '
      + '(origin topic or partition gone, too large for it, or not a dead-letter record), still waiting in cli-gone.dlq\n');
    // Moving nothing, it made no redrive group (docs/semantics.md "Redrive"): the record waits from earliest.
    expect(broker.listGroups('cli-gone.dlq')).toEqual([]);
    const listed = jsonLines((await brook(['dlq', 'list', 'cli-gone.dlq', '--json'], { env })).stdout);
    expect(listed.map((r) => r['value'])).toEqual(['orphan']);
  });

  it('list (no topic) keeps a dead-letter topic whose origin topic and groups are gone while it holds records, though no redrive could move one', async () => {
    await broker.createTopic('cli-orphaned');
    const deadLettered = new Promise<void>((resolve) => broker.once('deadLettered', () => resolve()));
    const subscription = await broker.subscribe({ topic: 'cli-orphaned', group: 'orphan-group' }, (delivery) => delivery.reject('bad'));
    await broker.produce('cli-orphaned', [{ value: 'orphan' }]);
    await deadLettered;
    await subscription.close();
    await broker.deleteTopic('cli-orphaned');
    // Every record skipped: no redrive group is made (docs/semantics.md "Redrive"), and no group names the topic.
    expect(await broker.redrive('cli-orphaned.dlq')).toEqual({ moved: 0, skipped: 1 });
    const listed = JSON.parse((await brook(['dlq', 'list', '--json'], { env })).stdout);
    expect(listed).toContainEqual({ topic: 'cli-orphaned.dlq', from: [], records: '1', waiting: '1' });
  });

  it('list counts as waiting only what redrive left: a record moved after a skipped one is not waiting', async () => {
    await broker.createTopic('cli-mixed-gone');
    await broker.createTopic('cli-mixed-kept');
    let deadLettered = 0;
    const bothDeadLettered = new Promise<void>((resolve) => broker.on('deadLettered', () => ++deadLettered === 2 && resolve()));
    const subscriptions = await Promise.all(['cli-mixed-gone', 'cli-mixed-kept'].map((topic) => broker.subscribe({ topic, group: 'mixed', deadLetterTopic: 'cli-mixed.dlq' }, (delivery) => delivery.reject('bad'))));
    await broker.produce('cli-mixed-gone', [{ value: 'orphan' }]);
    await new Promise<void>((resolve) => broker.once('deadLettered', () => resolve()));
    await broker.produce('cli-mixed-kept', [{ value: 'returns' }]);
    await bothDeadLettered;
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await broker.deleteTopic('cli-mixed-gone');
    expect(await broker.redrive('cli-mixed.dlq')).toEqual({ moved: 1, skipped: 1 });

    const listed = JSON.parse((await brook(['dlq', 'list', '--json'], { env })).stdout);
    expect(listed).toContainEqual({ topic: 'cli-mixed.dlq', from: ['cli-mixed-kept/mixed'], records: '2', waiting: '1' });
  });

  it('list marks what was redriven: below the redrive floor, and above it when the counts leave no doubt; --all shows them, each marked', async () => {
    await broker.createTopic('cli-marked-gone');
    await broker.createTopic('cli-marked-kept');
    const subscriptions = await Promise.all(['cli-marked-gone', 'cli-marked-kept'].map((topic) => broker.subscribe({ topic, group: 'marked', deadLetterTopic: 'cli-marked.dlq' }, (delivery) => delivery.reject('bad'))));
    // One at a time, so the dead-letter offsets follow this order: kept, gone, kept.
    for (const [topic, value] of [['cli-marked-kept', 'k0'], ['cli-marked-gone', 'g1'], ['cli-marked-kept', 'k2']] as const) {
      const deadLettered = new Promise<void>((resolve) => broker.once('deadLettered', () => resolve()));
      await broker.produce(topic, [{ value }]);
      await deadLettered;
    }
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await broker.deleteTopic('cli-marked-gone');
    // Moves offset 0, skips 1 (its origin is gone), moves 2: the floor stays at 1.
    expect(await broker.redrive('cli-marked.dlq')).toEqual({ moved: 2, skipped: 1 });

    const waiting = await brook(['dlq', 'list', 'cli-marked.dlq'], { env });
    expect(waiting.stdout.trim().split('\n').map((line) => /offset=(\d+)/.exec(line)?.[1])).toEqual(['1']);
    expect(waiting.stderr).toBe('brook: 1 record waiting in cli-marked.dlq\n');
    const all = await brook(['dlq', 'list', 'cli-marked.dlq', '--all'], { env });
    expect(all.stdout.trim().split('\n').map((line) => /^partition=0 offset=(\d+) (redriven=\w+) origin=/.exec(line)?.slice(1).join(' '))).toEqual([
      '0 redriven=yes', '1 redriven=no', '2 redriven=yes',
    ]);
    expect(all.stderr).toBe('brook: 3 records in cli-marked.dlq, 2 of them redriven already\n');
    const json = jsonLines((await brook(['dlq', 'list', 'cli-marked.dlq', '--all', '--json'], { env })).stdout);
    expect(json.map((r) => [r['value'], r['redriven']])).toEqual([['k0', true], ['g1', false], ['k2', true]]);
  });

  it('a redrive stopped by a full origin topic prints how many it moved and the dead-letter record it stopped at (exit 1)', async () => {
    await broker.createTopic('cli-part-roomy');
    await broker.createTopic('cli-part-cramped', { retention: { maxBytes: 400, discard: 'new' } });
    const subscriptions = await Promise.all(['cli-part-roomy', 'cli-part-cramped'].map((topic) => broker.subscribe({ topic, group: 'part', deadLetterTopic: 'cli-part.dlq' }, (delivery) => delivery.reject('bad'))));
    for (const topic of ['cli-part-roomy', 'cli-part-cramped']) {
      const deadLettered = new Promise<void>((resolve) => broker.once('deadLettered', () => resolve()));
      await broker.produce(topic, [{ value: 'back' }]);
      await deadLettered;
    }
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await broker.produce('cli-part-cramped', [{ value: 'x'.repeat(250) }]);

    const redriven = await brook(['dlq', 'redrive', 'cli-part.dlq'], { env });
    expect(redriven.code).toBe(1);
    expect(redriven.stderr).toMatch(/^brook: TOPIC_FULL: redrive of cli-part\.dlq stopped at cli-part\.dlq\/0@1 \(moved 1, skipped 0 before it\): /);
  });
});
