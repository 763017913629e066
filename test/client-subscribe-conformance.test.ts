/**
 * Subscribing on both transports (describeOnEachTarget): a subscribe the client gave up on before
 * its answer came leaves no member behind, a refused subscribe ends a for-await loop with the
 * refusal rather than quietly, subscribes made together agree on their group's settings, and a
 * dead-letter topic that would loop is refused alike.
 */
import { expect, it } from 'vitest';
import { VirtualClock } from '@brook/protocol';
import { LIMITS } from '@brook/broker';
import type { Client, MessageStream, SubscribeOptions } from '@brook/client';
import { deferred, describeOnEachTarget, unique, type TargetSuite } from './fixtures/client-targets.js';

const RECORDS = 5;

describeOnEachTarget('client subscribe', (suite) => {
  /**
   * A group on a fresh topic holding RECORDS records, in ordering 'partition': a member left
   * behind would own the only partition, so a second member gets the records only once it is gone.
   */
  async function partitionGroup(): Promise<SubscribeOptions> {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, Array.from({ length: RECORDS }, (_, i) => ({ value: `v${i}` })));
    return { topic, group: unique('g'), ordering: 'partition' };
  }

  it('a subscribe aborted (signal) before its answer rejects with the reason and leaves no member: another member gets the records', async () => {
    const options = await partitionGroup();
    await using first = await suite.target.connect();
    const controller = new AbortController();
    const subscribing = first.subscribe({ ...options, signal: controller.signal }, () => {
      throw new Error('an aborted subscription handles nothing');
    });
    const reason = new Error('changed my mind');
    controller.abort(reason);
    await expect(subscribing).rejects.toBe(reason);
    await expectAllRecordsReachAnotherMember(suite, options);
  });

  it('consume() with a signal already aborted ends its loop at once and joins nothing; its ready rejects with the reason, as subscribe() does', async () => {
    const options = await partitionGroup();
    const controller = new AbortController();
    const reason = new Error('aborted before it began');
    controller.abort(reason);
    const stream = suite.client.consume({ ...options, signal: controller.signal });
    await expect(stream.ready).rejects.toBe(reason);
    await expect(suite.client.subscribe({ ...options, signal: controller.signal }, () => undefined)).rejects.toBe(reason);
    const seen: unknown[] = [];
    for await (const message of stream) seen.push(message);
    expect(seen).toEqual([]);
    expect(stream.memberId).toBeUndefined();
    expect(await suite.client.admin.listGroups(options.topic)).toEqual([]);
  });

  it("a consume() aborted (signal) before its answer: ready rejects with the reason, the loop just ends, and it leaves no member", async () => {
    const options = await partitionGroup();
    await using first = await suite.target.connect();
    const controller = new AbortController();
    const stream = first.consume({ ...options, signal: controller.signal });
    const reason = new Error('changed my mind');
    controller.abort(reason);
    await expect(stream.ready).rejects.toBe(reason);
    await expect(stream[Symbol.asyncIterator]().next()).resolves.toEqual({ value: undefined, done: true });
    await expectAllRecordsReachAnotherMember(suite, options);
  });

  it('a subscribe that timed out leaves no member once its late answer comes: another member gets the records', async () => {
    const options = await partitionGroup();
    const clock = new VirtualClock({ startMs: Date.now() });
    await using first = await suite.target.connect({ clock, requestTimeoutMs: 1_000 });
    const subscribing = first.subscribe(options, () => {
      throw new Error('a timed-out subscription handles nothing');
    });
    clock.advance(1_000);
    await expect(subscribing).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expectAllRecordsReachAnotherMember(suite, options);
  });

  it('a consume() closed before its answer leaves no member: another member gets the records', async () => {
    const options = await partitionGroup();
    await using first = await suite.target.connect();
    const stream = first.consume(options);
    await stream.close();
    await expect(stream[Symbol.asyncIterator]().next()).resolves.toEqual({ value: undefined, done: true });
    await expectAllRecordsReachAnotherMember(suite, options);
  });

  it('a subscription closed while its resubscribe after a reconnect is unanswered leaves no member', async () => {
    const options = await partitionGroup();
    await using first = await suite.target.connect({ reconnect: { initialDelayMs: 1, maxDelayMs: 1 } });
    const held = deferred();
    const subscription = await first.subscribe(options, () => held.promise);
    const closed = deferred();
    first.once('reconnected', () => {
      // 'reconnected' comes before the subscription resubscribes in the same event: a microtask
      // later its subscribe is sent and not yet answered.
      queueMicrotask(() => void subscription.close().then(closed.resolve));
    });
    first.dropConnection();
    await closed.promise;
    await expectAllRecordsReachAnotherMember(suite, options);
    held.resolve();
  });

  it('consume() ends its loop with the refusal when the subscribe is refused: UNKNOWN_TOPIC, INVALID_CONFIG, CLOSED', async () => {
    const topic = await suite.topic();
    await expect(firstOf(suite.client.consume({ topic: unique('missing'), group: 'g' }))).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(firstOf(suite.client.consume({ topic, group: unique('g'), maxInFlight: 0 }))).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    const closed = await suite.target.connect();
    await closed.close();
    const stream = closed.consume({ topic, group: unique('g') });
    await expect(firstOf(stream)).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(stream.ready).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('two members joining a group together with different settings: the first sets them, the other is INVALID_CONFIG naming the conflicts', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    const joins = await Promise.allSettled([
      suite.client.subscribe({ topic, group, ordering: 'key', ackTimeoutMs: 5000 }, () => undefined),
      suite.client.subscribe({ topic, group, ordering: 'partition', ackTimeoutMs: 5000 }, () => undefined),
    ]);
    expect(joins[0]!.status).toBe('fulfilled');
    expect(joins[1]).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_CONFIG', details: { conflicts: ['ordering'] } } });
    expect(await suite.client.admin.describeGroup(topic, group)).toMatchObject({ config: { ordering: 'key' }, members: [expect.anything()] });
  });

  it("a dead-letter topic that is the group's own topic, or closes a cycle with another group's, is INVALID_CONFIG naming it, and joins nothing", async () => {
    const [topic, retry] = [await suite.topic(), await suite.topic()];
    const group = unique('g');
    await expect(suite.client.subscribe({ topic, group, deadLetterTopic: topic }, () => undefined))
      .rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'deadLetterTopic', topic } });
    await (await suite.client.subscribe({ topic, group, deadLetterTopic: retry }, () => undefined)).close();
    await expect(suite.client.subscribe({ topic: retry, group, deadLetterTopic: topic }, () => undefined)).rejects.toMatchObject({
      code: 'INVALID_CONFIG', message: expect.stringContaining(`${retry} → ${topic} → ${retry}`) as unknown,
      details: { option: 'deadLetterTopic', topic: retry, group, cycle: [retry, topic, retry] },
    });
    expect(await suite.client.admin.listGroups(retry)).toEqual([]);
  });

  // The server closes a connection that sends a frame over frameBytesMax (1009), which would end
  // the whole client: the client cuts a reason as the broker would anyway (DEAD_LETTER_REASON_BYTES_MAX),
  // so even one longer than a frame dead-letters the record, as in process, and the connection goes on.
  it('a reject reason too long for one frame is cut as in process: the record is dead-lettered and the connection goes on', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'poison' }]);
    const group = unique('g');
    const outcome = deferred<unknown>();
    const subscription = await suite.client.subscribe({ topic, group }, async (message) => {
      outcome.resolve(await message.reject('x'.repeat(LIMITS.frameBytesMax.default)).then(() => 'rejected', (error: unknown) => error));
    });
    expect(await outcome.promise).toBe('rejected');
    await subscription.close();
    expect(await suite.client.admin.listTopics()).toContain(`${topic}.dlq`);
  });

  // In-process sessions and a default listener hold the same subscriptionsMax: the boundary and
  // the refusal are the same on both transports, and the refusal joins nothing.
  it('subscriptionsMax: that many subscriptions are taken, one more is INVALID_REQUEST naming the limit and joins no group', async () => {
    const topic = await suite.topic();
    await using client = await suite.target.connect();
    const group = unique('g');
    const members = [];
    for (let i = 0; i < LIMITS.subscriptionsMax.default; i++) members.push(await client.subscribe({ topic, group }, () => undefined));
    const refused = unique('g');
    await expect(client.subscribe({ topic, group: refused }, () => undefined))
      .rejects.toMatchObject({ code: 'INVALID_REQUEST', retriable: false, details: { limit: 'subscriptionsMax' } });
    expect(await client.admin.listGroups(topic)).toEqual([{ topic, group }]);
    expect((await client.admin.describeGroup(topic, group)).members).toHaveLength(LIMITS.subscriptionsMax.default);
    // A place freed is taken again.
    await members.pop()!.close();
    await (await client.subscribe({ topic, group: refused }, () => undefined)).close();
    for (const member of members) await member.close();
  });

  // The group's limits as the client passes them: the broker's max is taken, one more is refused
  // with INVALID_CONFIG naming the option as written, and the refused subscribe leaves no group.
  it.each<[string, keyof typeof LIMITS, (value: number) => Partial<SubscribeOptions>]>([
    ['maxInFlight', 'maxInFlight', (maxInFlight) => ({ maxInFlight })],
    ['ackTimeoutMs', 'ackTimeoutMs', (ackTimeoutMs) => ({ ackTimeoutMs })],
    ['maxDeliveries', 'maxDeliveries', (maxDeliveries) => ({ maxDeliveries })],
    ['backoff.initialMs', 'backoffInitialMs', (initialMs) => ({ backoff: { initialMs, maxMs: LIMITS.backoffMaxMs.max } })],
    ['backoff.maxMs', 'backoffMaxMs', (maxMs) => ({ backoff: { maxMs } })],
  ])('%s: the max is taken, one more is INVALID_CONFIG and leaves no group', async (option, limit, options) => {
    const topic = await suite.topic();
    const { max } = LIMITS[limit];
    const taken = unique('g');
    await (await suite.client.subscribe({ topic, group: taken, ...options(max) }, () => undefined)).close();
    await expect(suite.client.subscribe({ topic, group: unique('g'), ...options(max + 1) }, () => undefined))
      .rejects.toMatchObject({ code: 'INVALID_CONFIG', details: expect.objectContaining({ option }) });
    expect(await suite.client.admin.listGroups(topic)).toEqual([{ topic, group: taken }]);
  });

  it('subscribe() refuses options that are not an object, and a handler that is not a function, with INVALID_CONFIG, in process as over the client, and joins nothing', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    const subscribes: [string, (options: unknown, handler: unknown) => Promise<unknown>][] = [
      ['client', (options, handler) => suite.client.subscribe(options as never, handler as never)],
      ['broker', (options, handler) => suite.target.broker.subscribe(options as never, handler as never)],
    ];
    for (const [api, subscribe] of subscribes) {
      await expect(subscribe(null, () => undefined), api).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'options' } });
      // Else every record would run into a TypeError, a nack, and at maxDeliveries the dead-letter topic.
      await expect(subscribe({ topic, group }, undefined), api).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'handler' } });
    }
    expect((await suite.client.admin.describeGroup(topic, group).catch((error: { code: string }) => error.code))).toBe('UNKNOWN_GROUP');
  });

  // docs/protocol.md, Arguments: only an absent setting takes its default; null is refused.
  it('a group setting given as null is INVALID_CONFIG naming it, in process as over the client, and joins nothing', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    const nulls: [string, Partial<SubscribeOptions>][] = [
      ['ordering', { ordering: null as never }],
      ['backoff.multiplier', { backoff: { multiplier: null as never } }],
      ['backoff.jitter', { backoff: { jitter: null as never } }],
    ];
    for (const [option, setting] of nulls) {
      for (const [api, subscribe] of [['client', suite.client], ['broker', suite.target.broker]] as const) {
        await expect(subscribe.subscribe({ topic, group, ...setting }, () => undefined), `${api} ${option}`).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option } });
      }
    }
    expect((await suite.client.admin.describeGroup(topic, group).catch((error: { code: string }) => error.code))).toBe('UNKNOWN_GROUP');
  });
});

/**
 * Subscribes a second member and waits until it has every record and is the group's only member.
 * A member left behind either keeps the partition (the records never come) or joined after the
 * second one took it (it never goes): either way the wait does not end.
 */
async function expectAllRecordsReachAnotherMember(suite: TargetSuite, options: SubscribeOptions): Promise<void> {
  await using second: Client = await suite.target.connect();
  const got = new Set<string>();
  const all = deferred();
  const member = await second.subscribe(options, (message) => {
    got.add(message.text()!);
    if (got.size === RECORDS) all.resolve();
  });
  await all.promise;
  const onlyMember = async () => (await suite.client.admin.describeGroup(options.topic, options.group!)).members.every((m) => m.id === member.memberId);
  while (!(await onlyMember()));
}

/** The first step of a for-await loop over `stream`. */
async function firstOf(stream: MessageStream): Promise<IteratorResult<unknown>> {
  for await (const message of stream) return { value: message, done: false };
  return { value: undefined, done: true };
}
