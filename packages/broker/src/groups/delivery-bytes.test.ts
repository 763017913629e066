/**
 * A delivery's key, value and headers are the consumer's own copies. The log's bytes are shared by
 * every reader of a partition (groups and tail readers read the tail cache's batches without a
 * copy), so a consumer that writes into what it was given must change nothing anyone else reads:
 * another group, a tail reader, a fetch, the event listener, or its own redelivery.
 */
import type { StoredRecord } from '@brook/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { Delivery } from './delivery.js';
import { engineFixture, parking } from './group-fixture.js';

const text = (bytes: Uint8Array | null | undefined) => (bytes ? new TextDecoder().decode(bytes) : bytes);

/** Overwrites every byte the delivery hands out. */
function scribble(delivery: Delivery): void {
  delivery.key?.fill(0x58);
  delivery.value?.fill(0x58);
  for (const header of delivery.headers) header.value?.fill(0x58);
}

describe('what a delivery hands out is a copy', () => {
  it('a handler writing into key, value and header bytes changes nothing another group, a tail reader, a fetch or its own redelivery reads', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('copies');
    await broker.produce('copies', [{ key: 'k-1', value: 'value-1', headers: { h: 'header-1' } }]);
    const arrivals: (string | null | undefined)[][] = [];
    const scribbler = await broker.subscribe({ topic: 'copies', group: 'scribbler' }, (delivery) => {
      arrivals.push([text(delivery.key), text(delivery.value), text(delivery.headers[0]!.value)]);
      scribble(delivery);
      if (delivery.deliveryCount === 1) void delivery.nack({ delayMs: 0 });
    });
    await settle(() => arrivals.length === 2);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'copies', group: 'reader' }, handler);
    const tail: Delivery[] = [];
    await broker.subscribe({ topic: 'copies', from: 'earliest' }, (delivery) => void tail.push(delivery));
    await settle(() => held.length === 1 && tail.length === 1);
    const fetched = await broker.fetch({ topic: 'copies', partition: 0, offset: 0n });
    for (const seen of [held[0]!, tail[0]!, fetched[0]!]) {
      expect([text(seen.key), text(seen.value), text(seen.headers[0]!.value)]).toEqual(['k-1', 'value-1', 'header-1']);
    }
    // The redelivery, after the handler scribbled on the first attempt's bytes and nacked it.
    expect(arrivals).toEqual([['k-1', 'value-1', 'header-1'], ['k-1', 'value-1', 'header-1']]);
    await scribbler.close();
  });

  it('reading a field twice gives the same copy; text() and json() read the stored bytes until the consumer has a copy', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('twice');
    await broker.produce('twice', [{ key: 'k', value: '{"n":1}' }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'twice', group: 'g' }, handler);
    await settle(() => held.length === 1);
    const delivery = held[0]!;
    expect(delivery.json()).toEqual({ n: 1 });
    expect(delivery.value).toBe(delivery.value);
    expect(delivery.key).toBe(delivery.key);
    expect(delivery.headers).toBe(delivery.headers);
  });

  it("reads the stored record's headers once: header() and every later read use that copy, not a decode of the bytes each", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('headers-once');
    await broker.produce('headers-once', [{ value: 'v', headers: { a: 'x', b: 'y' } }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'headers-once', group: 'g' }, handler);
    await settle(() => held.length === 1);
    const delivery = held[0]!;
    // A stored record decodes its headers from the log's bytes at each read (stored-record.ts).
    const decodes = vi.spyOn(Object.getPrototypeOf(delivery.record) as StoredRecord, 'headers', 'get');
    try {
      const first = delivery.headers;
      expect([text(delivery.header('a')), text(delivery.header('b')), delivery.header('c')]).toEqual(['x', 'y', undefined]);
      expect(delivery.headers).toBe(first);
      expect(decodes).toHaveBeenCalledTimes(1);
    } finally {
      decodes.mockRestore();
    }
  });

  it('the delivered event carries its own copy of the key', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('event-key');
    await broker.produce('event-key', [{ key: 'k-1', value: 'v' }]);
    broker.on('delivered', (event) => event.key?.fill(0x58));
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'event-key', group: 'g' }, handler);
    await settle(() => held.length === 1);
    expect(text(held[0]!.key)).toBe('k-1');
  });

  it("even the stored record's key, value and header values (Delivery.record, internal) are copies at each read: writing them changes nothing", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('record-fields');
    await broker.produce('record-fields', [{ key: 'k-1', value: 'value-1', headers: { h: 'header-1' } }]);
    await broker.subscribe({ topic: 'record-fields', group: 'writer' }, (delivery) => {
      delivery.record.key?.fill(0x58);
      delivery.record.value?.fill(0x58);
      delivery.record.headers[0]!.value!.fill(0x58);
      // Delivery keeps the record's headers as the consumer's (delivery.ts): a copy of its own.
      expect(text(delivery.headers[0]!.value)).toBe('header-1');
    });
    await settle(() => broker.describeGroup('record-fields', 'writer').lag === 0n);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'record-fields', group: 'reader' }, handler);
    await settle(() => held.length === 1);
    expect([text(held[0]!.key), held[0]!.text(), text(held[0]!.header('h'))]).toEqual(['k-1', 'value-1', 'header-1']);
  });
});

