/**
 * The client's Message and the broker's Delivery are meant to be interchangeable: code written
 * against one runs against the other. Each test here runs on both transports (describeOnEachTarget)
 * and, beside the client, against the in-process Broker's own consume() directly, and expects the
 * same outcome from all of them.
 */
import { expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, DEAD_LETTER_REASON_BYTES_MAX } from '@brook/broker';
import type { StartPosition } from '@brook/client';
import type { TargetSuite } from './fixtures/client-targets.js';
import { describeOnEachTarget, unique } from './fixtures/client-targets.js';

/** The settlement API Message and Delivery share. */
interface Settleable {
  readonly settled: boolean;
  text(): string | null;
  ack(): Promise<void>;
  nack(options?: { delayMs?: number; reason?: string }): Promise<void>;
  extend(ms?: number): Promise<void>;
  reject(reason: string): Promise<void>;
}

type Reader = (topic: string, group: string) => AsyncIterable<Settleable> & { close(): Promise<void> };

/** Longer than the test timeout: nothing here comes back because a lease ran out. */
const LONG_LEASE_MS = 600_000;

function readers(suite: TargetSuite): [string, Reader][] {
  return [
    ['client', (topic, group) => suite.client.consume({ topic, group, ackTimeoutMs: LONG_LEASE_MS })],
    ['broker', (topic, group) => suite.target.broker.consume({ topic, group, ackTimeoutMs: LONG_LEASE_MS })],
  ];
}

/** The first `count` messages of `group` (a new one by default) on `topic`, left unsettled. */
async function take(read: Reader, topic: string, count: number, group = unique('g')): Promise<{ group: string; messages: Settleable[]; stream: { close(): Promise<void> } }> {
  const stream = read(topic, group);
  const messages: Settleable[] = [];
  const iterator = stream[Symbol.asyncIterator]();
  while (messages.length < count) messages.push((await iterator.next()).value as Settleable);
  return { group, messages, stream };
}

describeOnEachTarget('Message and Delivery alike', (suite) => {
  it('nack, extend and reject refuse a bad argument with INVALID_REQUEST and settle nothing; settlements of other messages beside them go through', async () => {
    for (const [api, read] of readers(suite)) {
      const topic = await suite.topic();
      await suite.client.producer().send(topic, [{ value: 'bad-args' }, { value: 'beside' }]);
      const { group, messages: [target, beside], stream } = await take(read, topic, 2);
      const refused = [
        target!.nack({ delayMs: -1 }), target!.nack({ delayMs: 1.5 }), target!.nack({ delayMs: 86_400_001 }),
        target!.extend(-1), target!.extend(NaN), target!.extend(Infinity), target!.reject(42 as unknown as string),
        target!.extend(null as never), target!.reject(null as never), target!.nack({ delayMs: null } as never),
        // Values String() throws on: the refusal's own message once threw a TypeError instead.
        target!.extend(Object.create(null) as never), target!.nack({ delayMs: { toString: 0 } } as never),
        // A nack's reason is a string (of any length: a longer one is cut, not refused).
        target!.nack({ reason: 42 } as never), target!.nack({ delayMs: 0, reason: null } as never), target!.nack({ reason: new Error('x') } as never),
      ];
      const besideAck = beside!.ack(); // the same tick: the client would send it in the same settle request
      for (const outcome of refused) await expect(outcome, api).rejects.toMatchObject({ code: 'INVALID_REQUEST', retriable: false });
      await expect(besideAck, api).resolves.toBeUndefined();
      expect(target!.settled, api).toBe(false);
      await target!.ack();
      expect((await suite.client.admin.describeGroup(topic, group))['lag'], api).toBe(0n);
      await stream.close();
    }
  });

  it('nack options that are not an object, or carry a misspelled key, are refused with INVALID_REQUEST, not thrown or read as the default', async () => {
    for (const [api, read] of readers(suite)) {
      const topic = await suite.topic();
      await suite.client.producer().send(topic, [{ value: 'bad-options' }]);
      const { group, messages: [target], stream } = await take(read, topic, 1);
      for (const options of [null, 5000, 'x', [], { delay: 5000 }, { delayMs: 0, extra: 1 }]) {
        const label = `${api} ${JSON.stringify(options)}`;
        let outcome: Promise<void> | undefined;
        expect(() => (outcome = target!.nack(options as never)), label).not.toThrow();
        await expect(outcome, label).rejects.toMatchObject({ code: 'INVALID_REQUEST', retriable: false, details: { field: 'options' } });
      }
      expect(target!.settled, api).toBe(false);
      await target!.ack();
      expect((await suite.client.admin.describeGroup(topic, group))['lag'], api).toBe(0n);
      await stream.close();
    }
  });
});

describeOnEachTarget('a reject reason of any length alike', (suite) => {
  it('a reason longer than a frame dead-letters the record, cut to DEAD_LETTER_REASON_BYTES_MAX; an ack beside it goes through', async () => {
    const reason = 'é'.repeat(5 * 1024 * 1024); // 10 MiB of UTF-8: over the server's frameBytesMax
    const reasons: string[] = [];
    for (const [api, read] of readers(suite)) {
      const topic = await suite.topic();
      await suite.client.producer().send(topic, [{ value: 'poison' }, { value: 'beside' }]);
      const { group, messages: [poison, beside], stream } = await take(read, topic, 2);
      const rejected = poison!.reject(reason);
      const besideAck = beside!.ack(); // the same tick: the client sends both in one settle request
      await expect(rejected, api).resolves.toBeUndefined();
      await expect(besideAck, api).resolves.toBeUndefined();
      expect((await suite.client.admin.describeGroup(topic, group))['lag'], api).toBe(0n);
      const [copy] = await suite.client.fetch({ topic: `${topic}.dlq`, partition: 0, offset: 0n });
      const header = copy!.headers.find((h) => h.key === DEAD_LETTER_HEADERS.reason)!.value!;
      expect(header.length, api).toBeLessThanOrEqual(DEAD_LETTER_REASON_BYTES_MAX);
      reasons.push(Buffer.from(header).toString());
      await stream.close();
    }
    expect(reasons[0]).toBe(reasons[1]);
  });
});

describeOnEachTarget('Message and Delivery of a loop its consumer ended', (suite) => {
  it('ack() and reject() of a message held when the loop was aborted reject with DELIVERY_STALE (not retriable), nack() resolves, and the record comes again', async () => {
    for (const [api, read] of readers(suite)) {
      const topic = await suite.topic();
      await suite.client.producer().send(topic, [{ value: 'held' }, { value: 'also-held' }]);
      const { group, messages: [acked, rejected], stream } = await take(read, topic, 2);
      (stream as unknown as { abort(): void }).abort();
      await expect(acked!.ack(), api).rejects.toMatchObject({ code: 'DELIVERY_STALE', retriable: false });
      await expect(rejected!.reject('too late'), api).rejects.toMatchObject({ code: 'DELIVERY_STALE', retriable: false });
      const again = await take(read, topic, 2, group);
      expect(again.messages.map((message) => message.text()).sort(), api).toEqual(['also-held', 'held']);
      await Promise.all(again.messages.map((message) => message.ack()));
      await again.stream.close();
    }
  });
});

describeOnEachTarget('tail readers alike', (suite) => {
  it("ack() and reject() of a tail reader's message resolve, after its loop was aborted too: it keeps no acks, and nothing comes again", async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'a' }, { value: 'b' }]);
    const tails: [string, AsyncIterable<Settleable> & { abort(): void }][] = [
      ['client', suite.client.consume({ topic, from: 'earliest' })],
      ['broker', suite.target.broker.consume({ topic, from: 'earliest' })],
    ];
    for (const [api, stream] of tails) {
      const iterator = stream[Symbol.asyncIterator]();
      const [first, second] = [(await iterator.next()).value as Settleable, (await iterator.next()).value as Settleable];
      expect([first.text(), second.text()], api).toEqual(['a', 'b']);
      await expect(first.ack(), api).resolves.toBeUndefined();
      stream.abort();
      await expect(second.reject('late'), api).resolves.toBeUndefined();
    }
  });

  it("a tail reader's ack() and reject() resolve after a reconnect too, batched at the drop or made after it, and its loop goes on: the lost connection took nothing back from it", async () => {
    const topic = await suite.topic();
    await using reader = await suite.target.connect();
    const stream = reader.consume({ topic });
    await stream.ready;
    await suite.client.producer().send(topic, [{ value: 'a' }, { value: 'b' }]);
    const iterator = stream[Symbol.asyncIterator]();
    const [first, second] = [(await iterator.next()).value as Settleable, (await iterator.next()).value as Settleable];
    const reconnected = new Promise((resolve) => reader.once('reconnected', resolve));
    const ackedAtTheDrop = first.ack();
    reader.dropConnection();
    await expect(ackedAtTheDrop).resolves.toBeUndefined();
    await reconnected;
    await expect(second.reject('after the reconnect')).resolves.toBeUndefined();
    await reader.admin.listTopics(); // answered after the resubscribe, sent before it
    await suite.client.producer().send(topic, [{ value: 'c' }]);
    expect(((await iterator.next()).value as Settleable).text()).toBe('c');
  });
});

describeOnEachTarget('tail reader start positions alike', (suite) => {
  it('earliest, latest, an offset (clamped to each partition: past the end is the end) and a timestamp start a tail reader at the same records, in process and over the client', async () => {
    /** A topic whose partition 0 holds offsets 0..3 at t = 1000..1003, partition 1 offsets 0..1 at t = 1000..1001. */
    const filled = async (): Promise<string> => {
      const topic = await suite.topic(2);
      await suite.target.broker.produce(topic, [
        ...[0, 1, 2, 3].map((i) => ({ value: `p0-${i}`, partition: 0, timestamp: 1000 + i })),
        ...[0, 1].map((i) => ({ value: `p1-${i}`, partition: 1, timestamp: 1000 + i })),
      ]);
      return topic;
    };
    const froms: [string, StartPosition, string[]][] = [
      ['earliest', 'earliest', ['p0-0', 'p0-1', 'p0-2', 'p0-3', 'p1-0', 'p1-1']],
      ['latest', 'latest', []],
      ['offset 1', { offset: 1n }, ['p0-1', 'p0-2', 'p0-3', 'p1-1']],
      ['offset 3', { offset: 3n }, ['p0-3']],
      ['offset past every end', { offset: 99n }, []],
      ['timestamp', { timestamp: 1001 }, ['p0-1', 'p0-2', 'p0-3', 'p1-1']],
      ['timestamp past every record', { timestamp: 5000 }, []],
    ];
    const consumers = [
      ['client', (topic: string, from: StartPosition) => suite.client.consume({ topic, from })],
      ['broker', (topic: string, from: StartPosition) => suite.target.broker.consume({ topic, from })],
    ] as const;
    for (const [label, from, expected] of froms) {
      for (const [api, consume] of consumers) {
        const topic = await filled();
        const stream = consume(topic, from);
        await stream.ready;
        const iterator = stream[Symbol.asyncIterator]();
        const next = async (): Promise<string> => {
          const message = (await iterator.next()).value!;
          await message.ack();
          return message.text()!;
        };
        const seen: string[] = [];
        while (seen.length < expected.length) seen.push(await next());
        expect(seen.sort(), `${api} from ${label}`).toEqual(expected);
        // Nothing else was coming: a record produced now is the next one.
        await suite.target.broker.produce(topic, [{ value: 'marker', partition: 1 }]);
        expect(await next(), `${api} from ${label}`).toBe('marker');
        stream.abort();
      }
    }
  });
});

describeOnEachTarget('admin.redrive and Broker.redrive alike', (suite) => {
  it('refuse a misspelled option with INVALID_CONFIG and move nothing', async () => {
    const topic = await suite.topic();
    const codes = [
      await codeOf(() => suite.client.admin.redrive(topic, { max: 1 } as never)),
      await codeOf(() => suite.target.broker.redrive(topic, { max: 1 } as never)),
    ];
    expect(codes).toEqual(['INVALID_CONFIG', 'INVALID_CONFIG']);
  });
});

describeOnEachTarget('producer.send and Broker.produce alike', (suite) => {
  it("a record's partition that is not a non-negative integer is INVALID_REQUEST, one the topic does not have UNKNOWN_PARTITION", async () => {
    const topic = await suite.topic(2);
    const producer = suite.client.producer();
    const apis: [string, (partition: number) => Promise<unknown>][] = [
      ['client', (partition) => producer.send(topic, [{ value: 'v', partition }])],
      ['broker', (partition) => suite.target.broker.produce(topic, [{ value: 'v', partition }])],
    ];
    for (const [api, produce] of apis) {
      for (const partition of [-1, 0.5, NaN]) {
        await expect(produce(partition), `${api} ${partition}`).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { record: 0 } });
      }
      for (const partition of [2, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
        await expect(produce(partition), `${api} ${partition}`).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION', retriable: false });
      }
    }
    for (const partition of [2, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
      const request = { topic, partition, offset: 0n };
      const codes = [await codeOf(() => suite.client.fetch(request)), await codeOf(() => suite.target.broker.fetch(request))];
      expect(codes, `fetch partition ${partition}`).toEqual(['UNKNOWN_PARTITION', 'UNKNOWN_PARTITION']);
    }
  });
});

/** The code `operation` fails with, or 'ok'. */
async function codeOf(operation: () => Promise<unknown>): Promise<string> {
  return operation().then(() => 'ok', (error: { code?: string }) => error.code ?? String(error));
}

describeOnEachTarget('option values the broker refuses, alike over the client', (suite) => {
  it('a topic setting, subscribe option or fetch limit out of its range gets the code Broker gives it, whatever its JSON type', async () => {
    const topic = await suite.topic();
    const { broker } = suite.target;
    const { client } = suite;
    const subscribeOptions: Record<string, unknown>[] = [
      { ordering: 'fifo' }, { maxInFlight: 1.5 }, { ackTimeoutMs: 0.5 }, { maxDeliveries: 2.5 }, { backoff: { initialMs: 0.5 } },
      { from: 'oldest' }, { from: { offset: -1n } }, { from: { timestamp: -1 } }, { from: { timestamp: 0.5 } },
      { maxInFlight: '5' }, { ordering: 5 }, { ackTimeoutMs: true }, { backoff: 5 }, { backoff: { initialMs: '1' } }, { from: 5 }, { from: { offset: 5 } }, { maxDeliveries: null },
      { backoff: { initalMs: 5 } }, { backoff: null }, { jitter: 0.5 },
      // A nested object's misspelled key, or a start position naming two, is refused as a top-level one is.
      { from: { offset: 5n, extra: 1 } }, { from: { timestamp: 0, extra: 1 } }, { from: { offset: 0n, timestamp: 0 } }, { from: null },
      { backoff: [] }, { deadLetterTopic: 5 }, { signal: 5 },
    ];
    const tailReaderOptions: Record<string, unknown>[] = [{ from: { offset: 5n, extra: 1 } }, { from: null }, { backoff: [] }, { signal: 5 }];
    const cases: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      ...[
        { partitions: 1.5 }, { retention: { discard: 'oldest' } }, { retention: { maxAgeMs: 0.5 } }, { retention: { maxBytes: 1.5 } },
        { partitions: '2' }, { retention: 5 }, { retention: { discard: 5 } }, { retention: { maxBytes: '1' } }, { retention: { maxByte: 1 } }, { retention: null }, { retention: [] },
      ].map(
        (options): [string, () => Promise<unknown>, () => Promise<unknown>] => [
          `createTopic ${JSON.stringify(options)}`,
          () => client.admin.createTopic(unique('t'), options as object),
          () => broker.createTopic(unique('t'), options as object),
        ]),
      ...subscribeOptions.map((options): [string, () => Promise<unknown>, () => Promise<unknown>] => [
        `subscribe ${JSON.stringify(options, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))}`,
        () => client.subscribe({ topic, group: unique('g'), ...options }, () => undefined),
        () => broker.subscribe({ topic, group: unique('g'), ...options }, () => undefined),
      ]),
      ...tailReaderOptions.map((options): [string, () => Promise<unknown>, () => Promise<unknown>] => [
        `tail reader ${JSON.stringify(options, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))}`,
        () => client.subscribe({ topic, ...options }, () => undefined),
        () => broker.subscribe({ topic, ...options }, () => undefined),
      ]),
      ['fetch maxBytes \'5\'', () => client.fetch({ topic, partition: 0, offset: 0n, maxBytes: '5' as never }), () => broker.fetch({ topic, partition: 0, offset: 0n, maxBytes: '5' as never })],
      ['fetch maxBytes 1.5', () => client.fetch({ topic, partition: 0, offset: 0n, maxBytes: 1.5 }), () => broker.fetch({ topic, partition: 0, offset: 0n, maxBytes: 1.5 })],
    ];
    const differences: string[] = [];
    for (const [name, overClient, inProcess] of cases) {
      const [clientCode, brokerCode] = [await codeOf(overClient), await codeOf(inProcess)];
      expect(brokerCode, name).not.toBe('ok');
      if (clientCode !== brokerCode) differences.push(`${name}: client ${clientCode}, broker ${brokerCode}`);
    }
    expect(differences).toEqual([]);
  });
});

describeOnEachTarget('client.fetch and Broker.fetch alike', (suite) => {
  it('refuse the same bad requests with the same code: an offset outside 0..2^63-1 or not a bigint, an unknown option', async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'v' }]);
    const bad: [unknown, string][] = [
      [{ offset: -1n }, 'INVALID_REQUEST'], [{ offset: 1n << 63n }, 'INVALID_REQUEST'], [{ offset: 0 }, 'INVALID_REQUEST'],
      [{ offset: 0n, maxRecord: 1 }, 'INVALID_CONFIG'],
    ];
    for (const [fields, code] of bad) {
      const request = { topic, partition: 0, ...(fields as object) } as Parameters<typeof suite.client.fetch>[0];
      const codes = [await codeOf(() => suite.client.fetch(request)), await codeOf(() => suite.target.broker.fetch(request))];
      expect(codes, JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))).toEqual([code, code]);
    }
  });
});

describeOnEachTarget('record sizes alike in producer.send and Broker.produce', (suite) => {
  it("a record the broker takes goes from the client too, and a send batched beside an oversize one is not refused with it", async () => {
    const topic = await suite.topic();
    // About 0.9 MiB encoded, under batchBytesMax: 100 000 headers of a few bytes each.
    const manyHeaders = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`h${i}`, 'v']));
    await suite.target.broker.produce(topic, [{ value: 'direct', headers: manyHeaders }]);
    await expect(suite.client.producer().send(topic, [{ value: 'client', headers: manyHeaders }])).resolves.toHaveLength(1);
    // 200 000 UTF-16 units, 600 000 bytes of UTF-8: with the value, over batchBytesMax.
    const wideKey = '€'.repeat(200_000);
    const oversize = { value: new Uint8Array(500_000), headers: { [wideKey]: null } };
    await expect(suite.target.broker.produce(topic, [oversize])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    const producer = suite.client.producer({ lingerMs: 5 });
    const [small, big] = await Promise.allSettled([producer.send(topic, [{ value: 'small' }]), producer.send(topic, [oversize])]);
    expect(small.status).toBe('fulfilled');
    expect(big).toMatchObject({ status: 'rejected', reason: { code: 'MESSAGE_TOO_LARGE', details: { record: 0 } } });
  });
});
