/**
 * The client's admin calls and the in-process Broker's answer alike, results and errors, over
 * both transports (describeOnEachTarget): the same arguments give the same value, of the same
 * type, or the same code with the same details.
 */
import { expect, it } from 'vitest';
import { deferred, describeOnEachTarget, unique } from './fixtures/client-targets.js';

/** What a call settles with, comparable across APIs: its value, or its error's code and details. */
async function outcomeOf(operation: () => unknown): Promise<unknown> {
  try {
    return { value: await operation() };
  } catch (error) {
    const { code, details } = error as { code?: unknown; details?: unknown };
    return { code, details };
  }
}

describeOnEachTarget('createTopic settings given as null', (suite) => {
  // docs/protocol.md, Arguments: only an absent setting takes its default; null is refused.
  it('are INVALID_CONFIG naming the option, in process as over the client, and make no topic', async () => {
    for (const [option, settings] of [['partitions', { partitions: null }], ['retention.discard', { retention: { maxBytes: 1000, discard: null } }]] as const) {
      const name = unique('t');
      const expected = { code: 'INVALID_CONFIG', details: expect.objectContaining({ option }) };
      expect(await outcomeOf(() => suite.client.admin.createTopic(name, settings as never)), `client ${option}`).toEqual(expected);
      expect(await outcomeOf(() => suite.target.broker.createTopic(name, settings as never)), `broker ${option}`).toEqual(expected);
      expect(suite.target.broker.listTopics()).not.toContain(name);
    }
  });
});

describeOnEachTarget('admin.offsetForTimestamp and Broker.offsetForTimestamp alike', (suite) => {
  it('find the first offset at or after a time (endOffset past the last record), and refuse the same bad arguments with the same code', async () => {
    const topic = await suite.topic(2);
    await suite.client.producer().send(topic, [1_000, 2_000, 3_000].map((timestamp) => ({ value: `at ${timestamp}`, partition: 1, timestamp })));
    const { admin } = suite.client;
    const { broker } = suite.target;
    const found = async (partition: number, timestampMs: number): Promise<bigint> => admin.offsetForTimestamp(topic, partition, timestampMs);
    expect(await Promise.all([0, 1_000, 1_500, 3_000, 3_001].map((at) => found(1, at)))).toEqual([0n, 0n, 1n, 2n, 3n]);
    expect(await found(0, 0)).toBe(0n); // an empty partition: its endOffset
    const cases: [string, number, number, object][] = [
      [unique('missing'), 0, 0, { code: 'UNKNOWN_TOPIC' }],
      [topic, 2, 0, { code: 'UNKNOWN_PARTITION' }],
      ...[-1, 1.5, '1', null].map((partition): [string, number, number, object] => [topic, partition as number, 0, { code: 'INVALID_REQUEST', details: { field: 'partition' } }]),
      ...[Number.NaN, Number.POSITIVE_INFINITY, 1.5, '5', undefined].map((at): [string, number, number, object] => [topic, 0, at as number, { code: 'INVALID_REQUEST', details: { field: 'timestampMs' } }]),
      [5 as unknown as string, 0, 0, { code: 'INVALID_REQUEST', details: { field: 'topic' } }],
    ];
    for (const [name, partition, at, expected] of cases) {
      const label = `${String(name)} ${String(partition)} ${String(at)}`;
      const client = await outcomeOf(() => admin.offsetForTimestamp(name, partition, at));
      expect(client, label).toMatchObject(expected);
      expect(client, label).toEqual(await outcomeOf(() => broker.offsetForTimestamp(name, partition, at)));
    }
  });

  it('a fetch from the offset found reads from that time on', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [10, 20, 30].map((timestamp) => ({ value: `t${timestamp}`, timestamp })));
    const offset = await suite.client.admin.offsetForTimestamp(topic, 0, 15);
    const records = await suite.client.fetch({ topic, partition: 0, offset });
    expect(records.map((record) => record.timestamp)).toEqual([20, 30]);
  });
});

describeOnEachTarget('a timestamp argument is an integer in 0..Number.MAX_SAFE_INTEGER wherever it is given', (suite) => {
  const MAX = Number.MAX_SAFE_INTEGER;

  it('offsetForTimestamp: -1 and MAX_SAFE_INTEGER + 1 are INVALID_REQUEST naming timestampMs, 0 and MAX_SAFE_INTEGER are answered, over the client as in process', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'at 10', timestamp: 10 }]);
    const refused = { code: 'INVALID_REQUEST', details: { field: 'timestampMs' } };
    for (const [at, expected] of [[-1, refused], [0, { value: 0n }], [MAX, { value: 1n }], [MAX + 1, refused]] as const) {
      const client = await outcomeOf(() => suite.client.admin.offsetForTimestamp(topic, 0, at));
      expect(client, String(at)).toMatchObject(expected);
      expect(client, String(at)).toEqual(await outcomeOf(() => suite.target.broker.offsetForTimestamp(topic, 0, at)));
    }
  });

  it("from and resetGroup's to: -1 and MAX_SAFE_INTEGER + 1 are INVALID_CONFIG naming the option, 0 and MAX_SAFE_INTEGER place the group, over the client as in process", async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'at 10', timestamp: 10 }]);
    const { admin } = suite.client;
    const { broker } = suite.target;
    /** Where the new group starts: a consume() loop that takes nothing acks nothing. */
    const join = (api: 'client' | 'broker', timestamp: number) => async () => {
      const group = unique('g');
      const stream = (api === 'client' ? suite.client : broker).consume({ topic, group, from: { timestamp } });
      try {
        await stream.ready;
        return broker.describeGroup(topic, group).partitions[0]!.ackFloor;
      } finally {
        stream.abort();
      }
    };
    const reset = (api: 'client' | 'broker', timestamp: number) => async () => {
      const group = unique('g');
      await (await broker.subscribe({ topic, group }, () => undefined)).close();
      return (api === 'client' ? admin : broker).resetGroup(topic, group, { timestamp });
    };
    for (const api of ['client', 'broker'] as const) {
      for (const [at, joined, resetTo] of [[0, 0n, [0n]], [MAX, 1n, [1n]]] as const) {
        expect(await outcomeOf(join(api, at)), `${api} from ${at}`).toEqual({ value: joined });
        expect(await outcomeOf(reset(api, at)), `${api} to ${at}`).toEqual({ value: resetTo });
      }
      for (const at of [-1, MAX + 1]) {
        expect(await outcomeOf(join(api, at)), `${api} from ${at}`).toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'from' } });
        expect(await outcomeOf(reset(api, at)), `${api} to ${at}`).toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'to' } });
      }
      // An offset that is not a bigint is named as resetGroup's `to` too (the client said `from`).
      const group = unique('g');
      await (await broker.subscribe({ topic, group }, () => undefined)).close();
      const badOffset = () => (api === 'client' ? admin : broker).resetGroup(topic, group, { offset: 5 } as never);
      expect(await outcomeOf(badOffset), `${api} to { offset: 5 }`).toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'to' } });
    }
  });
});

describeOnEachTarget("an offset in from or resetGroup's to past int64, of any number of digits", (suite) => {
  it('places the group at the end (clamped to the log), and a negative one is INVALID_CONFIG naming the option, over the client as in process', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'only' }]);
    const { broker } = suite.target;
    for (const offset of [1n << 63n, 10n ** 20n, 10n ** 40n, -(10n ** 40n)]) {
      const expected = offset > 0n ? { value: [1n] } : { code: 'INVALID_CONFIG', details: { option: 'to' } };
      for (const api of [suite.client.admin, broker]) {
        const group = unique('g');
        await (await broker.subscribe({ topic, group }, () => undefined)).close();
        expect(await outcomeOf(() => api.resetGroup(topic, group, { offset })), `${api === broker ? 'broker' : 'client'} to ${offset}`).toEqual(expected);
      }
    }
  });
});

describeOnEachTarget('admin.resetGroup of a group whose member holds messages', (suite) => {
  it('what its handlers hold goes stale (ack() rejects with DELIVERY_STALE); the replay comes as their places free, each record at deliveryCount 1', async () => {
    const topic = await suite.topic();
    const group = unique('g');
    await suite.client.producer().send(topic, ['a', 'b', 'c'].map((value) => ({ value })));
    const seen: string[] = [];
    const acks: string[] = [];
    const finish = deferred();
    let changed = deferred();
    const subscription = await suite.client.subscribe({ topic, group, maxInFlight: 2 }, async (message) => {
      seen.push(`${message.offset}#${message.deliveryCount}`);
      changed.resolve();
      await finish.promise;
      acks.push(await message.ack().then(() => `${message.offset} acked`, (error: { code: string }) => `${message.offset} ${error.code}`));
      changed.resolve();
    });
    const until = async (done: () => boolean) => {
      while (!done()) await changed.promise.then(() => (changed = deferred()));
    };
    await until(() => seen.length === 2);
    expect(await suite.client.admin.resetGroup(topic, group, 'earliest')).toEqual([0n]);
    expect(seen).toHaveLength(2); // both places are held by the handlers on what the reset made stale
    finish.resolve();
    await until(() => acks.length === 5);
    expect(seen).toEqual(['0#1', '1#1', '0#1', '1#1', '2#1']);
    expect(acks.sort()).toEqual(['0 DELIVERY_STALE', '0 acked', '1 DELIVERY_STALE', '1 acked', '2 acked']);
    expect(await suite.client.admin.describeGroup(topic, group)).toMatchObject({ lag: 0n, partitions: [{ ackFloor: 3n, redeliveries: 0 }] });
    await subscription.close();
  });
});

describeOnEachTarget('error details alike', (suite) => {
  it("a fetch's offset out of 0..2^63-1 is a bigint detail over the client as in process; an offset of another type is named by field alone", async () => {
    const topic = await suite.topic();
    for (const offset of [-1n, 1n << 63n, 5 as unknown as bigint]) {
      const request = { topic, partition: 0, offset };
      const client = await outcomeOf(() => suite.client.fetch(request));
      expect(client, String(offset)).toEqual({ code: 'INVALID_REQUEST', details: typeof offset === 'bigint' ? { field: 'offset', offset } : { field: 'offset' } });
      expect(client, String(offset)).toEqual(await outcomeOf(() => suite.target.broker.fetch(request)));
    }
  });

  it('an offset in an error\'s details is a bigint over the client as in process (OFFSET_OUT_OF_RANGE of a fetch)', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'only' }]);
    const request = { topic, partition: 0, offset: 5n };
    const client = await outcomeOf(() => suite.client.fetch(request));
    expect(client).toEqual({ code: 'OFFSET_OUT_OF_RANGE', details: { offset: 5n, startOffset: 0n, endOffset: 1n } });
    expect(client).toEqual(await outcomeOf(() => suite.target.broker.fetch(request)));
  });

  it("a redrive stopped by a full origin topic names the dead-letter record it stopped at with a bigint offset, over the client as in process", async () => {
    const { admin } = suite.client;
    const { broker } = suite.target;
    const [roomy, cramped, dlq] = [unique('roomy'), unique('cramped'), unique('stopped.dlq')];
    await admin.createTopic(roomy);
    await admin.createTopic(cramped, { retention: { maxBytes: 400, discard: 'new' } });
    for (const topic of [roomy, cramped]) {
      const deadLettered = new Promise<void>((resolve) => broker.once('deadLettered', () => resolve()));
      const subscription = await suite.client.subscribe({ topic, group: 'g', deadLetterTopic: dlq }, (message) => message.reject('bad'));
      await suite.client.producer().send(topic, [{ value: 'back' }]);
      await deadLettered;
      await subscription.close();
    }
    await broker.produce(cramped, [{ value: 'x'.repeat(250) }]);
    const stoppedAt = { code: 'TOPIC_FULL', details: expect.objectContaining({ deadLetterPartition: 0, deadLetterOffset: 1n }) };
    expect(await outcomeOf(() => admin.redrive(dlq))).toEqual({ ...stoppedAt, details: expect.objectContaining({ moved: 1, deadLetterOffset: 1n }) });
    expect(await outcomeOf(() => broker.redrive(dlq))).toEqual({ ...stoppedAt, details: expect.objectContaining({ moved: 0, deadLetterOffset: 1n }) });
  });
});

describeOnEachTarget('redrive endOffsets alike', (suite) => {
  it('endOffsets stops each dead-letter partition there; a later redrive moves the rest', async () => {
    const { admin } = suite.client;
    const { broker } = suite.target;
    const [origin, dlq] = [unique('ends'), unique('ends.dlq')];
    await admin.createTopic(origin);
    let copied = 0;
    const allCopied = new Promise<void>((resolve) => broker.on('deadLettered', (e) => void (e.topic === origin && ++copied === 3 && resolve())));
    const subscription = await suite.client.subscribe({ topic: origin, group: 'g', deadLetterTopic: dlq }, (message) => message.reject('bad'));
    await suite.client.producer().send(origin, ['a', 'b', 'c'].map((value) => ({ value })));
    await allCopied;
    await subscription.close();
    expect(await admin.redrive(dlq, { endOffsets: [2n] })).toEqual({ moved: 2, skipped: 0 });
    expect(await admin.redrive(dlq, { endOffsets: [2n] })).toEqual({ moved: 0, skipped: 0 });
    expect(await admin.redrive(dlq)).toEqual({ moved: 1, skipped: 0 });
  });

  it('endOffsets that are not offsets are INVALID_REQUEST naming the field, over the client as in process', async () => {
    const dlq = await suite.topic();
    for (const endOffsets of [[-1n], [1n << 63n], ['1'], 'x', [1]] as unknown as bigint[][]) {
      const client = await outcomeOf(() => suite.client.admin.redrive(dlq, { endOffsets }));
      expect(client, String(endOffsets)).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'endOffsets' } });
      expect(client, String(endOffsets)).toEqual(await outcomeOf(() => suite.target.broker.redrive(dlq, { endOffsets })));
    }
  });

  it('endOffsets with a hole, or more entries than the dead-letter topic has partitions, are INVALID_REQUEST naming the field', async () => {
    const dlq = await suite.topic(2);
    for (const endOffsets of [[, 5n], [0n, 0n, 0n]] as bigint[][]) {
      const label = `${endOffsets.length} ${String(endOffsets)}`;
      const client = await outcomeOf(() => suite.client.admin.redrive(dlq, { endOffsets }));
      expect(client, label).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'endOffsets' } });
      expect(client, label).toEqual(await outcomeOf(() => suite.target.broker.redrive(dlq, { endOffsets })));
    }
    expect(await suite.client.admin.redrive(dlq, { endOffsets: [] })).toEqual({ moved: 0, skipped: 0 }); // every partition to its end
  });

  it('options no string can show (a null-prototype object, a symbol) are INVALID_REQUEST naming the field, never a TypeError; maxRecords 0 has the same details', async () => {
    const dlq = await suite.topic();
    const cases: [object, string][] = [
      [{ endOffsets: [Object.create(null)] }, 'endOffsets'], [{ endOffsets: [Symbol('end')] }, 'endOffsets'], [{ endOffsets: Object.create(null) }, 'endOffsets'],
      [{ maxRecords: Object.create(null) }, 'maxRecords'], [{ maxRecords: 0 }, 'maxRecords'],
      // JSON would drop it: sent, it redrove everything.
      [{ maxRecords: Symbol('max') }, 'maxRecords'],
    ];
    for (const [options, field] of cases) {
      const client = await outcomeOf(() => suite.client.admin.redrive(dlq, options));
      expect(client, field).toMatchObject({ code: 'INVALID_REQUEST', details: { field } });
      expect(client, field).toEqual(await outcomeOf(() => suite.target.broker.redrive(dlq, options)));
    }
  });
});

describeOnEachTarget('describeGroup(group) without its topic, as DESIGN.md calls it', (suite) => {
  it('describes the group on the one topic that has it; UNKNOWN_GROUP if none has it; INVALID_REQUEST naming the topics if several do', async () => {
    const { admin } = suite.client;
    const { broker } = suite.target;
    const [first, second] = [await suite.topic(), await suite.topic()];
    const group = unique('g');
    const sub = await suite.client.subscribe({ topic: first, group }, () => undefined);
    await sub.close();
    expect(await admin.describeGroup(group)).toEqual(await admin.describeGroup(first, group));
    expect(broker.describeGroup(group)).toMatchObject({ topic: first, group });

    const missing = unique('missing');
    expect(await outcomeOf(() => admin.describeGroup(missing))).toEqual({ code: 'UNKNOWN_GROUP', details: { group: missing } });
    expect(await outcomeOf(() => admin.describeGroup(missing))).toEqual(await outcomeOf(() => broker.describeGroup(missing)));

    const again = await suite.client.subscribe({ topic: second, group }, () => undefined);
    await again.close();
    const several = { code: 'INVALID_REQUEST', details: { group, topics: [first, second].sort() } };
    const sorted = (outcome: unknown) => {
      const { code, details } = outcome as { code: string; details: { group: string; topics: string[] } };
      return { code, details: { ...details, topics: [...details.topics].sort() } };
    };
    expect(sorted(await outcomeOf(() => admin.describeGroup(group)))).toEqual(several);
    expect(sorted(await outcomeOf(() => broker.describeGroup(group)))).toEqual(several);
  });
});
