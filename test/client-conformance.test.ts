/**
 * One client suite, two transports: everything here must hold for `connect(broker)` and for
 * `connect(url)` alike, since both exchange the same frames with the same server code. (What
 * only a client over WebSocket meets: client-websocket-only.test.ts.)
 */
import { expect, it } from 'vitest';
import { VirtualClock } from '@brook/protocol';
import { DEAD_LETTER_HEADERS, LIMITS } from '@brook/broker';
import type { Client, Message } from '@brook/client';
import { deferred, describeOnEachTarget, unique } from './fixtures/client-targets.js';

const fastRetry = { initialMs: 1, maxMs: 5, multiplier: 2, jitter: 0 };

describeOnEachTarget('client', (suite) => {
  it('round-trips strings, JSON and bytes with keys, headers and metadata', async () => {
    const name = await suite.topic();
    const producer = suite.client.producer();
    const sent = await producer.send(name, [
      { key: 'k1', value: 'hello', headers: { trace: 'abc' } },
      { value: { b: 2, a: 1 } },
      { value: new Uint8Array([1, 2, 3]), timestamp: 1_700_000_000_123 },
      { value: null },
    ]);
    expect(sent).toEqual([0n, 1n, 2n, 3n].map((offset) => ({ partition: 0, offset })));
    const received: Message[] = [];
    for await (const msg of suite.client.consume({ topic: name, group: unique('g') })) {
      received.push(msg);
      void msg.ack();
      if (received.length === 4) break;
    }
    const [text, json, bytes, empty] = received as [Message, Message, Message, Message];
    expect(text.text()).toBe('hello');
    expect(Buffer.from(text.key!).toString()).toBe('k1');
    expect(Buffer.from(text.header('trace')!).toString()).toBe('abc');
    expect(Buffer.from(text.header('content-type')!).toString()).toBe('text/plain');
    expect(json.json()).toEqual({ a: 1, b: 2 });
    expect(json.text()).toBe('{"a":1,"b":2}');
    expect(Buffer.from(json.header('content-type')!).toString()).toBe('application/json');
    expect([...bytes.value!]).toEqual([1, 2, 3]);
    expect(bytes.header('content-type')).toBeUndefined();
    expect(bytes.timestamp).toBe(1_700_000_000_123);
    expect(empty.value).toBeNull();
    expect(received.map((msg) => [msg.topic, msg.partition, msg.offset, msg.deliveryCount, msg.redelivered])).toEqual(
      [0n, 1n, 2n, 3n].map((offset) => [name, 0, offset, 1, false]),
    );
  });

  it('resends a produce cut off by a dropped connection without duplicating it', async () => {
    const name = await suite.topic();
    const producer = suite.client.producer();
    await producer.send(name, [{ value: 'warm-up' }]);
    const reconnected = new Promise((resolve) => suite.client.once('reconnected', resolve));
    const onProduced = (event: { topic: string }): void => {
      if (event.topic !== name) return;
      suite.target.broker.off('produced', onProduced);
      suite.client.dropConnection(); // the batch is in the log, its answer not yet read
    };
    suite.target.broker.on('produced', onProduced);
    const sent = await producer.send(name, Array.from({ length: 50 }, (_, i) => ({ value: `r${i}` })));
    await reconnected;
    expect(sent.map((result) => result.offset)).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i + 1)));
    const [partition] = (await suite.client.admin.describeTopic(name)).partitions;
    expect(partition!.endOffset).toBe(51n);
  });

  it('acks on resolve, nacks on throw and redelivers with the next deliveryCount', async () => {
    const name = await suite.topic();
    await suite.client.producer().send(name, [{ value: 'flaky' }]);
    const attempts: [number, boolean][] = [];
    const done = deferred();
    const sub = await suite.client.subscribe({ topic: name, group: unique('g'), backoff: fastRetry }, (msg) => {
      attempts.push([msg.deliveryCount, msg.redelivered]);
      if (msg.deliveryCount < 3) throw new Error('not yet');
      done.resolve();
    });
    await done.promise;
    await sub.close();
    expect(attempts).toEqual([[1, false], [2, true], [3, true]]);
    const group = await suite.client.admin.describeGroup(name, sub.group!);
    expect(group['lag']).toBe(0n);
  });

  it('an ack that comes after the lease expired rejects with DELIVERY_STALE and does nothing; the redelivery acks', async () => {
    const name = await suite.topic();
    const group = unique('g');
    await suite.client.producer().send(name, [{ value: 'slow' }]);
    let late: Message | undefined;
    // Lease of 20 ms, redelivered at once: the loop waits for the redelivery, not for time.
    for await (const msg of suite.client.consume({ topic: name, group, ackTimeoutMs: 20, backoff: { initialMs: 0, maxMs: 0, multiplier: 1, jitter: 0 } })) {
      if (!late) {
        late = msg;
        continue;
      }
      if (!late.settled) {
        expect([late.deliveryCount, msg.deliveryCount, msg.offset]).toEqual([1, 2, late.offset]);
        await expect(late.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE', retriable: false });
        expect((await suite.client.admin.describeGroup(name, group))['lag']).toBe(1n);
      }
      // A redelivery may outlive its 20 ms lease too on a loaded machine: ack until one takes.
      const outcome = await msg.ack().then(() => 'acked', (error: { code: string }) => error.code);
      if (outcome === 'acked') break;
      expect(outcome).toBe('DELIVERY_STALE');
    }
    expect((await suite.client.admin.describeGroup(name, group))['lag']).toBe(0n);
  });

  it('nack({ delayMs }) and extend() settle through the batch', async () => {
    const name = await suite.topic();
    await suite.client.producer().send(name, [{ value: 'a' }, { value: 'b' }]);
    const seen: string[] = [];
    for await (const msg of suite.client.consume({ topic: name, group: unique('g'), backoff: fastRetry })) {
      seen.push(`${msg.text()}${msg.deliveryCount}`);
      if (msg.text() === 'a' && msg.deliveryCount === 1) {
        await msg.extend(10_000);
        await msg.nack({ delayMs: 0 });
      } else {
        await msg.ack();
      }
      if (seen.length === 3) break;
    }
    expect(seen.sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('dead-letters a rejected message with its origin in the headers, and redrives it', async () => {
    const name = await suite.topic();
    const group = unique('g');
    await suite.client.producer().send(name, [{ value: 'poison' }]);
    const stream = suite.client.consume({ topic: name, group });
    for await (const msg of stream) {
      await msg.reject('cannot parse');
      break;
    }
    const dlq = `${name}.dlq`;
    for await (const dead of suite.client.consume({ topic: dlq, group: unique('g') })) {
      expect(dead.text()).toBe('poison');
      expect(Buffer.from(dead.header(DEAD_LETTER_HEADERS.topic)!).toString()).toBe(name);
      expect(Buffer.from(dead.header(DEAD_LETTER_HEADERS.reason)!).toString()).toContain('cannot parse');
      await dead.ack();
      break;
    }
    expect(await suite.client.admin.redrive(dlq)).toEqual({ moved: 1, skipped: 0 });
    expect((await suite.client.admin.describeTopic(name)).partitions[0]!.endOffset).toBe(2n);
  });

  it('runs the admin operations', async () => {
    const name = unique('t');
    await suite.client.admin.createTopic(name, { partitions: 2 });
    await expect(suite.client.admin.createTopic(name)).rejects.toMatchObject({ code: 'TOPIC_EXISTS', retriable: false });
    expect(await suite.client.admin.listTopics()).toContain(name);
    await suite.client.producer().send(name, [{ value: 'x', partition: 1 }, { value: 'y', partition: 1 }]);
    const described = await suite.client.admin.describeTopic(name);
    expect(described).toMatchObject({
      name, partitions: [{ partition: 0, startOffset: 0n, endOffset: 0n }, { partition: 1, startOffset: 0n, endOffset: 2n }],
    });
    expect(described).toEqual(suite.target.broker.describeTopic(name)); // the same, typed the same, as in process
    const capped = unique('capped');
    await suite.client.admin.createTopic(capped, { retention: { maxBytes: 1 << 20, discard: 'new' } });
    expect((await suite.client.admin.describeTopic(capped)).settings).toEqual({
      retention: { maxBytes: 1 << 20, discard: 'new' }, segmentBytesMax: (1 << 20) / 4, segmentMsMax: LIMITS.segmentMsMax.default,
    });
    const group = unique('g');
    let count = 0;
    const twice = deferred();
    const sub = await suite.client.subscribe({ topic: name, group }, () => {
      if (++count === 2) twice.resolve();
    });
    await twice.promise;
    await sub.close();
    expect(await suite.client.admin.listGroups(name)).toEqual([{ topic: name, group }]);
    expect(await suite.client.admin.describeGroup(name, group)).toMatchObject({ topic: name, group, lag: 0n });
    expect(await suite.client.admin.resetGroup(name, group, 'earliest')).toEqual([0n, 0n]);
    expect((await suite.client.admin.describeGroup(name, group))['lag']).toBe(2n);
    await suite.client.admin.deleteTopic(name);
    expect(await suite.client.admin.listTopics()).not.toContain(name);
  });

  it('fetches a partition by offset as Broker.fetch does, with the same limits and errors', async () => {
    const name = await suite.topic();
    await suite.client.producer().send(name, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { n: `${i}` }, timestamp: 1_700_000_000_000 + i })));
    const page = await suite.client.fetch({ topic: name, partition: 0, offset: 3n, maxRecords: 4 });
    expect(page.map((r) => [r.offset, r.timestamp, Buffer.from(r.key!).toString(), Buffer.from(r.value!).toString()])).toEqual(
      [3, 4, 5, 6].map((i) => [BigInt(i), 1_700_000_000_000 + i, `k${i}`, `v${i}`]),
    );
    expect(page.map((r) => Buffer.from(r.headers.find((h) => h.key === 'n')!.value!).toString())).toEqual(['3', '4', '5', '6']);
    const inProcess = await suite.target.broker.fetch({ topic: name, partition: 0, offset: 3n, maxRecords: 4 });
    expect(page.map((r) => ({ ...r }))).toEqual(inProcess.map((r) => ({ ...r })));
    expect(await suite.client.fetch({ topic: name, partition: 0, offset: 0n })).toHaveLength(10);
    expect(await suite.client.fetch({ topic: name, partition: 0, offset: 10n })).toEqual([]);
    // One batch at least, whatever maxBytes says; the boundaries of maxRecords are the broker's own.
    expect(await suite.client.fetch({ topic: name, partition: 0, offset: 0n, maxBytes: 1024 })).toHaveLength(10);
    expect(await suite.client.fetch({ topic: name, partition: 0, offset: 9n, maxRecords: 10_000 })).toHaveLength(1);
    await expect(suite.client.fetch({ topic: name, partition: 0, offset: 0n, maxRecords: 10_001 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(suite.client.fetch({ topic: name, partition: 0, offset: 0n, maxRecords: 0 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(suite.client.fetch({ topic: name, partition: 0, offset: 0n, maxBytes: 4 * 1024 * 1024 + 1 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(suite.client.fetch({ topic: name, partition: 0, offset: 11n })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await expect(suite.client.fetch({ topic: name, partition: 0, offset: 0 as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(suite.client.fetch({ topic: name, partition: 1, offset: 0n })).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
    await expect(suite.client.fetch({ topic: unique('missing'), partition: 0, offset: 0n })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });

  it('maps ERROR frames to BrookErrors: UNKNOWN_TOPIC, UNKNOWN_PARTITION, INVALID_REQUEST', async () => {
    const producer = suite.client.producer();
    await expect(producer.send(unique('missing'), [{ value: 'x' }])).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    const name = await suite.topic();
    await expect(producer.send(name, [{ value: 'x', partition: 5 }])).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
    await expect(producer.send(name, [{ value: undefined as never }])).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(suite.client.subscribe({ topic: unique('missing'), group: 'g' }, () => undefined)).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(suite.client.admin.describeGroup(name, unique('nobody'))).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
  });

  // The request's JSON is written from what the caller passed: an option value too deeply nested
  // to be a frame payload, or circular, is bad input, refused before anything is sent.
  it('refuses an option value nested too deep, or circular, with INVALID_REQUEST, and the connection goes on', async () => {
    const name = await suite.topic();
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });
    for (const bad of [nested(40), circular]) {
      await expect(suite.client.subscribe({ topic: name, group: unique('g'), maxInFlight: bad as never }, () => undefined)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      await expect(suite.client.admin.createTopic(unique('deep'), { partitions: bad as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    }
    await expect(suite.client.admin.describeTopic(name)).resolves.toMatchObject({ name });
  });

  it("a graceful close is not bound by requestTimeoutMs: it waits past it for the message the loop holds, whose ack then counts", async () => {
    const clock = new VirtualClock({ startMs: Date.now() });
    const slow = await suite.target.connect({ clock, requestTimeoutMs: 1_000 });
    const name = await suite.topic();
    const group = unique('g');
    await suite.client.producer().send(name, [{ value: 'held' }]);
    const got = deferred<Message>();
    const stream = slow.consume({ topic: name, group, ackTimeoutMs: 60_000 });
    void stream[Symbol.asyncIterator]().next().then((result) => got.resolve(result.value as Message));
    const held = await got.promise;
    let closed = false;
    const closing = stream.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(5_000); // the message is worked on past requestTimeoutMs, well within its lease
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    await held.ack();
    await closing;
    const described = await suite.client.admin.describeGroup(name, group);
    expect([described['lag'], described.partitions[0]!.redeliveries]).toEqual([0n, 0]);
    await slow.close();
  });

  it('reconnects, resubscribes and gets every record, those in flight at the drop redelivered', async () => {
    const name = await suite.topic(2);
    const consumer = await suite.target.connect({ reconnect: { initialDelayMs: 1, maxDelayMs: 5 } });
    const producer = suite.client.producer();
    const values = new Set<string>();
    const all = deferred();
    let dropped = false;
    await consumer.subscribe({ topic: name, group: unique('g'), maxInFlight: 8 }, (msg) => {
      if (!dropped && values.size === 10) {
        dropped = true;
        consumer.dropConnection();
        throw new Error('the connection is gone anyway');
      }
      values.add(msg.text()!);
      if (values.size === 40) all.resolve();
    });
    const reconnected = new Promise((resolve) => consumer.once('reconnected', resolve));
    await producer.send(name, Array.from({ length: 20 }, (_, i) => ({ value: `v${i}` })));
    await reconnected;
    await producer.send(name, Array.from({ length: 20 }, (_, i) => ({ value: `v${20 + i}` })));
    await all.promise;
    expect(values.size).toBe(40);
    await consumer.close();
  });

  it('close() drains: unsent batches go out, handlers finish and their acks are sent', async () => {
    const name = await suite.topic();
    const lingering = await suite.topic();
    const group = unique('g');
    const other = await suite.target.connect();
    const started = deferred();
    const finish = deferred();
    await other.subscribe({ topic: name, group }, async () => {
      started.resolve();
      await finish.promise;
    });
    await suite.client.producer().send(name, [{ value: 'slow work' }]);
    await started.promise;
    const sending = other.producer({ lingerMs: 60_000 }).send(lingering, [{ value: 'last words' }]);
    const closed = other.close();
    finish.resolve();
    await closed;
    expect(await sending).toEqual([{ partition: 0, offset: 0n }]);
    expect(other.closed).toBe(true);
    expect((await suite.client.admin.describeGroup(name, group))['lag']).toBe(0n);
    // Refused at once: a producer made after close() began would be flushed by nobody.
    expect(() => other.producer()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it("close() in ordering 'partition' lets the handler finish: its ack counts and its partition moves only then", async () => {
    const name = await suite.topic(2);
    const group = unique('g');
    const options = { topic: name, group, ordering: 'partition' } as const;
    const first = await suite.target.connect();
    const second = await suite.target.connect();
    const started = deferred();
    const finish = deferred();
    const leaving = await first.subscribe(options, async () => {
      started.resolve();
      await finish.promise;
    });
    const secondGot: string[] = [];
    const moved = deferred();
    await second.subscribe(options, (message) => {
      secondGot.push(`${message.text()}#${message.deliveryCount}`);
      if (secondGot.length === 1) moved.resolve();
    });
    await suite.client.producer().send(name, [{ value: 'slow', partition: 0 }]);
    await started.promise; // partition 0 is the first member's (join order)
    const closing = leaving.close();
    // 'next' must come after the broker has the member closing (it would take 'next' itself before).
    while (!(await suite.client.admin.describeGroup(name, group)).members.some((member) => member.closing));
    await suite.client.producer().send(name, [{ value: 'next', partition: 0 }]);
    finish.resolve();
    await closing;
    await moved.promise;
    // Without waiting, the close would have handed 'slow' to the second member as slow#2.
    expect(secondGot).toEqual(['next#1']);
    await first.close();
    await second.close();
    const described = await suite.client.admin.describeGroup(name, group);
    expect(described.partitions[0]!.redeliveries).toBe(0);
    // The same description, typed the same, as the broker gives in process.
    expect(described).toEqual(suite.target.broker.describeGroup(name, group));
  });

  it('supports await using for clients and subscriptions', async () => {
    const name = await suite.topic();
    let escaped: Client | undefined;
    {
      await using scoped = await suite.target.connect();
      escaped = scoped;
      await using sub = await scoped.subscribe({ topic: name, group: unique('g') }, () => undefined);
      expect(sub.topic).toBe(name);
    }
    expect(escaped.closed).toBe(true);
  });

  it('supports await using for a consume() loop: leaving the scope closes it, and the member has left', async () => {
    const name = await suite.topic();
    const group = unique('g');
    {
      await using stream = suite.client.consume({ topic: name, group });
      await stream.ready;
      expect([stream.topic, stream.group]).toEqual([name, group]);
      expect((await suite.client.admin.describeGroup(name, group)).members).toHaveLength(1);
    }
    expect((await suite.client.admin.describeGroup(name, group)).members).toEqual([]);
  });

  it('honours AbortSignal on send, subscribe and consume', async () => {
    const name = await suite.topic();
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(suite.client.producer().send(name, [{ value: 'x' }], { signal: aborted })).rejects.toThrow('stop');
    await expect(suite.client.subscribe({ topic: name, signal: aborted }, () => undefined)).rejects.toThrow('stop');
    const controller = new AbortController();
    const stream = suite.client.consume({ topic: name, group: unique('g'), signal: controller.signal });
    await stream.ready;
    const acked = deferred();
    const loop = (async () => {
      let count = 0;
      for await (const msg of stream) {
        count += 1;
        await msg.ack();
        acked.resolve();
      }
      return count;
    })();
    await suite.client.producer().send(name, [{ value: 'one' }]);
    await acked.promise;
    controller.abort();
    expect(await loop).toBe(1);
  });

  it('refuses a signal that is not an AbortSignal with INVALID_CONFIG on send, subscribe and consume, not a TypeError', async () => {
    const name = await suite.topic();
    const notSignal = { signal: {} as AbortSignal };
    const refused = { code: 'INVALID_CONFIG', details: { option: 'signal' } };
    await expect(suite.client.producer().send(name, [{ value: 'x' }], notSignal)).rejects.toMatchObject(refused);
    await expect(suite.client.subscribe({ topic: name, ...notSignal }, () => undefined)).rejects.toMatchObject(refused);
    // consume() throws a bad option at once, as it does a misspelled one.
    expect(() => suite.client.consume({ topic: name, group: unique('g'), ...notSignal })).toThrow(expect.objectContaining(refused));
    expect(await suite.client.fetch({ topic: name, partition: 0, offset: 0n })).toEqual([]);
  });
});
