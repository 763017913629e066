/**
 * One rule per kind of misuse, whichever API is used: the client over either transport
 * (describeOnEachTarget) and, where the call exists, the in-process Broker directly. Closing
 * refuses new work with CLOSED; a value of the wrong JS type is INVALID_REQUEST naming its field;
 * a group-only setting on a tail reader is INVALID_CONFIG naming the option; a value that is not
 * JSON makes json() throw a BrookError.
 */
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import type { Client } from '@brook/client';
import { describeOnEachTarget, unique, type TargetSuite } from './fixtures/client-targets.js';

/** The error `operation` fails with (thrown or rejected), or 'ok'. */
async function outcomeOf(operation: () => unknown): Promise<unknown> {
  try {
    await operation();
    return 'ok';
  } catch (error) {
    return error;
  }
}

/**
 * A client whose close() has begun and is still draining: it waits for a message its loop holds.
 * `settle` acks that message, which lets the drain finish.
 */
async function closingClient(suite: TargetSuite, topic: string): Promise<{ client: Client; closing: Promise<void>; settle(): Promise<void> }> {
  const client = await suite.target.connect();
  await client.producer().send(topic, [{ value: 'held' }]);
  const held = (await client.consume({ topic, group: unique('g') })[Symbol.asyncIterator]().next()).value!;
  const closing = client.close();
  let drained = false;
  void closing.then(() => (drained = true));
  return {
    client,
    closing,
    async settle() {
      expect(drained, 'close() was still draining').toBe(false);
      await held.ack();
      await closing;
    },
  };
}

describeOnEachTarget('client.close() refuses new work', (suite) => {
  it('once close() has begun, subscribe() rejects, consume() ends its loop and producer() throws, all with CLOSED', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    const { client, settle } = await closingClient(suite, topic);
    const stream = client.consume({ topic, group });
    expect(await outcomeOf(() => client.subscribe({ topic, group }, () => undefined))).toMatchObject({ code: 'CLOSED' });
    expect(() => client.producer()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    await expect(stream.ready).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'CLOSED' });
    await settle();
    expect((await suite.client.admin.listGroups(topic)).map((found) => found.group)).not.toContain(group);
  });

  it('once close() has begun, admin calls and fetch() reject with CLOSED, as they do after it', async () => {
    const topic = await suite.topic();
    const { client, settle } = await closingClient(suite, topic);
    const reads = (): (() => Promise<unknown>)[] => [
      () => client.admin.listTopics(), () => client.admin.describeTopic(topic), () => client.admin.listGroups(),
      () => client.admin.describeGroup(topic, unique('g')), () => client.admin.createTopic(unique('t')),
      () => client.fetch({ topic, partition: 0, offset: 0n }),
    ];
    for (const read of reads()) expect(await outcomeOf(read)).toMatchObject({ code: 'CLOSED' });
    await settle();
    for (const read of reads()) expect(await outcomeOf(read)).toMatchObject({ code: 'CLOSED' });
  });
});

describe('Broker admin reads after close', () => {
  it('after broker.close() every admin read throws CLOSED, as describeGroup does (the client: see above)', async () => {
    const broker = await Broker.open({ storage: 'memory' });
    const topic = unique('t');
    await broker.createTopic(topic);
    await broker.close();
    const reads: [string, () => unknown][] = [
      ['listTopics', () => broker.listTopics()], ['describeTopic', () => broker.describeTopic(topic)],
      ['listGroups', () => broker.listGroups()], ['describeGroup', () => broker.describeGroup(topic, unique('g'))],
    ];
    for (const [name, read] of reads) expect(await outcomeOf(read), name).toMatchObject({ code: 'CLOSED' });
  });
});

describeOnEachTarget('values of the wrong JS type', (suite) => {
  it('are INVALID_REQUEST naming the field, from the client and from Broker alike', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    await suite.client.producer().send(topic, [{ value: 'v' }]);
    await (await suite.client.subscribe({ topic, group }, () => undefined)).close();
    const { client } = suite;
    const { broker } = suite.target;
    const five = 5 as unknown as string;
    const cases: [string, string, () => unknown, () => unknown][] = [
      ['produce', 'topic', () => client.producer().send(five, [{ value: 'v' }]), () => broker.produce(five, [{ value: 'v' }])],
      ['subscribe', 'topic', () => client.subscribe({ topic: five, group }, () => undefined), () => broker.subscribe({ topic: five, group }, () => undefined)],
      ['subscribe', 'group', () => client.subscribe({ topic, group: five }, () => undefined), () => broker.subscribe({ topic, group: five }, () => undefined)],
      ['subscribe', 'name', () => client.subscribe({ topic, group, name: five }, () => undefined), () => broker.subscribe({ topic, group, name: five }, () => undefined)],
      ['consume', 'group', () => client.consume({ topic, group: five }).ready, () => broker.consume({ topic, group: five }).ready],
      ['consume', 'name', () => client.consume({ topic, name: five }).ready, () => broker.consume({ topic, name: five }).ready],
      ['fetch', 'topic', () => client.fetch({ topic: five, partition: 0, offset: 0n }), () => broker.fetch({ topic: five, partition: 0, offset: 0n })],
      ['fetch', 'partition', () => client.fetch({ topic, partition: '0' as unknown as number, offset: 0n }), () => broker.fetch({ topic, partition: '0' as unknown as number, offset: 0n })],
      ['createTopic', 'name', () => client.admin.createTopic(five), () => broker.createTopic(five)],
      ['deleteTopic', 'name', () => client.admin.deleteTopic(five), () => broker.deleteTopic(five)],
      ['describeTopic', 'name', () => client.admin.describeTopic(five), () => broker.describeTopic(five)],
      ['listGroups', 'topic', () => client.admin.listGroups(five), () => broker.listGroups(five)],
      ['describeGroup', 'topic', () => client.admin.describeGroup(five, group), () => broker.describeGroup(five, group)],
      ['describeGroup', 'group', () => client.admin.describeGroup(topic, five), () => broker.describeGroup(topic, five)],
      ['resetGroup', 'group', () => client.admin.resetGroup(topic, five, 'earliest'), () => broker.resetGroup(topic, five, 'earliest')],
      ['deleteGroup', 'group', () => client.admin.deleteGroup(topic, five), () => broker.deleteGroup(topic, five)],
      ['redrive', 'deadLetterTopic', () => client.admin.redrive(five), () => broker.redrive(five)],
    ];
    for (const [call, field, overClient, inProcess] of cases) {
      const expected = { code: 'INVALID_REQUEST', details: expect.objectContaining({ field }) };
      expect(await outcomeOf(overClient), `client ${call} ${field}`).toMatchObject(expected);
      expect(await outcomeOf(inProcess), `broker ${call} ${field}`).toMatchObject(expected);
    }
    expect(await client.admin.listGroups(topic)).toEqual([{ topic, group }]);
  });
});

describeOnEachTarget('tail reader settings', (suite) => {
  it('a group-only setting on a subscription without a group is INVALID_CONFIG naming it; from, maxInFlight and name are taken', async () => {
    const topic = await suite.topic();
    const groupOnly: Record<string, unknown>[] = [
      { ordering: 'key' }, { ackTimeoutMs: 5_000 }, { maxDeliveries: 3 }, { backoff: { initialMs: 10 } }, { deadLetterTopic: unique('dlq') },
    ];
    const apis: [string, (options: Record<string, unknown>) => Promise<unknown>][] = [
      ['client subscribe', (options) => suite.client.subscribe({ topic, ...options }, () => undefined)],
      ['broker subscribe', (options) => suite.target.broker.subscribe({ topic, ...options }, () => undefined)],
      ['client consume', (options) => suite.client.consume({ topic, ...options }).ready],
      ['broker consume', (options) => suite.target.broker.consume({ topic, ...options }).ready],
    ];
    for (const [api, subscribe] of apis) {
      for (const options of groupOnly) {
        const option = Object.keys(options)[0]!;
        expect(await outcomeOf(() => subscribe(options)), `${api} ${option}`).toMatchObject({ code: 'INVALID_CONFIG', details: { option } });
      }
    }
    const taken = await suite.client.subscribe({ topic, from: 'earliest', maxInFlight: 3, name: 'tail' }, () => undefined);
    await taken.close();
    expect(await suite.client.admin.listTopics()).toEqual(expect.not.arrayContaining([expect.stringMatching(/^dlq-/)]));
  });

  it('a bad from is INVALID_CONFIG naming it, as for a group, whatever the API', async () => {
    const topic = await suite.topic();
    // Past the end is no bad from: it is clamped to the log, as a group's is.
    const bad: unknown[] = ['bogus', 42, {}, { offset: -1n }, { timestamp: -1 }, { timestamp: 1.5 }, { timestamp: '0' }];
    // The client refuses a number offset itself (it cannot be sent as the bigint it stands for).
    const brokerOnly: unknown[] = [{ offset: 5 }, { offset: 1.5 }];
    const apis: [string, (options: Record<string, unknown>) => Promise<unknown>, boolean][] = [
      ['client subscribe', (options) => suite.client.subscribe({ topic, ...options }, () => undefined), false],
      ['broker subscribe', (options) => suite.target.broker.subscribe({ topic, ...options }, () => undefined), true],
      ['client consume', (options) => suite.client.consume({ topic, ...options }).ready, false],
      ['broker consume', (options) => suite.target.broker.consume({ topic, ...options }).ready, true],
    ];
    const shown = (from: unknown) => String(JSON.stringify(from, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
    for (const [api, subscribe, broker] of apis) {
      for (const from of broker ? [...bad, ...brokerOnly] : bad) {
        for (const group of [{}, { group: unique('g') }]) {
          expect(await outcomeOf(() => subscribe({ from, ...group })), `${api} ${'group' in group ? 'group' : 'tail reader'} ${shown(from)}`)
            .toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'from' } });
        }
      }
    }
  });
});

describeOnEachTarget('json() of a value that is not JSON', (suite) => {
  it('throws INVALID_REQUEST with the SyntaxError as cause, from Message and Delivery alike', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'not json {' }]);
    const streams = [
      ['client', suite.client.consume({ topic, from: 'earliest' })],
      ['broker', suite.target.broker.consume({ topic, from: 'earliest' })],
    ] as const;
    for (const [api, stream] of streams) {
      const message = (await stream[Symbol.asyncIterator]().next()).value!;
      let thrown: unknown;
      try {
        message.json();
      } catch (error) {
        thrown = error;
      }
      expect(thrown, api).toMatchObject({ name: 'BrookError', code: 'INVALID_REQUEST', retriable: false });
      expect((thrown as Error).cause, api).toBeInstanceOf(SyntaxError);
      stream.abort();
    }
  });
});

describeOnEachTarget('ending a consume() loop that was refused', (suite) => {
  it('next() throws the refusal once, then is done; close(), return() and await using resolve, from the client and Broker alike: the refusal is not thrown again by its disposal', async () => {
    const streams = [
      ['client', () => suite.client.consume({ topic: unique('missing'), group: unique('g') })],
      ['broker', () => suite.target.broker.consume({ topic: unique('missing'), group: unique('g') })],
    ] as const;
    for (const [api, consume] of streams) {
      const refused = consume();
      await expect(refused.ready, api).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
      // Once, then done, as an iterator that threw is (and as a loop ended by a topic delete is).
      const iterator = refused[Symbol.asyncIterator]();
      expect(await outcomeOf(() => iterator.next()), `${api} next()`).toMatchObject({ code: 'UNKNOWN_TOPIC' });
      await expect(iterator.next(), `${api} next() again`).resolves.toEqual({ value: undefined, done: true });
      expect(await outcomeOf(() => refused.close()), `${api} close()`).toBe('ok');
      expect(await outcomeOf(() => refused[Symbol.asyncIterator]().return!()), `${api} return()`).toBe('ok');
      // A SuppressedError here would hide the UNKNOWN_TOPIC a caller tests for.
      const loop = async (): Promise<void> => {
        await using stream = consume();
        for await (const _message of stream) throw new Error('a refused loop reads nothing');
      };
      expect(await outcomeOf(loop), `${api} await using`).toMatchObject({ name: 'BrookError', code: 'UNKNOWN_TOPIC' });
    }
  });
});
