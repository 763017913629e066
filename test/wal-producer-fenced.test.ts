/**
 * A WAL producer whose producer id was fenced (another instance bumped its epoch), and the way
 * on: forgetWalProducerId, then a reopen that sends what the WAL holds under a new id. Against
 * an in-process broker, WAL on an in-memory disk, virtual clock (WalProducerHost). Also the
 * forget's refusal while a producer has the directory open, a corrupt producer.json, and a
 * directory whose producer never got an id.
 */
import { describe, expect, it } from 'vitest';
import { forgetWalProducerId, type WalBatch } from '@brook/client';
import { PRODUCER_WAL_DIR, WalProducerHost, numbered } from '@brook/examples';

const never = new Promise<void>(() => undefined);

/** A copy of this directory elsewhere (a restored backup, a cloned machine) takes the id over. */
async function fenceElsewhere(host: WalProducerHost, producerId: bigint): Promise<void> {
  await host.broker.initProducer({ producerId, bumpEpoch: true });
}

/** Opens the directory, sends `value`, and expects the flush to stop with PRODUCER_FENCED; the records stay in the WAL. */
async function expectFencedOpen(host: WalProducerHost, value: number): Promise<void> {
  const again = await host.start();
  await again.producer.send('orders', numbered(value, 1));
  const failure = await again.producer.flush().catch((error: unknown) => error);
  expect(failure).toMatchObject({ code: 'PRODUCER_FENCED', details: { producerEpoch: 0, currentEpoch: 1 } });
  await again.producer.close();
}

/** Opens the directory after the forget: everything in the WAL goes out under a new producer id. */
async function reopenAndDeliver(host: WalProducerHost, oldProducerId: bigint): Promise<void> {
  const resumed = await host.start();
  await resumed.producer.flush();
  expect(resumed.producer.stats.producerId).not.toBe(oldProducerId);
  await resumed.producer.close();
}

describe('a WAL producer whose producer id was fenced (another instance bumped its epoch)', () => {
  it('stops with PRODUCER_FENCED at every open, keeping its records; once the id is forgotten it sends them under a new id', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const first = await host.start();
    await first.producer.send('orders', numbered(1, 2));
    await first.producer.flush();
    const producerId = first.producer.stats.producerId!;
    await first.producer.close();
    await fenceElsewhere(host, producerId);
    for (const value of [3, 3]) await expectFencedOpen(host, value);
    expect(await host.contents('orders')).toEqual([[1, 2]]);
    expect(await host.forgetProducerId()).toMatchObject({ found: 'state', producerId, producerEpoch: 0, removed: ['producer.json'] });
    await reopenAndDeliver(host, producerId);
    expect(await host.contents('orders')).toEqual([[1, 2, 3, 3]]);
  });

  it('a batch acknowledged but not committed when the process died is appended again under the new id: at-least-once for it, nothing lost', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    // WAL batch 1 is in the broker's log; the process dies before the state write and the commit.
    const afterAck = (batch: WalBatch): Promise<void> | undefined => (batch.sequence === 1 ? (holding(), never) : undefined);
    const first = await host.start({ afterAck });
    await first.producer.send('orders', numbered(1, 6)); // two full WAL batches of 3
    void first.producer.flush().catch(() => undefined);
    await held;
    const producerId = first.producer.stats.producerId!;
    first.crash();
    await fenceElsewhere(host, producerId);
    await expectFencedOpen(host, 7);
    await host.forgetProducerId();
    await reopenAndDeliver(host, producerId);
    // The broker cannot tell batch 1 under the new id from batch 1 under the old: 4..6 twice.
    expect(await host.contents('orders')).toEqual([[1, 2, 3, 4, 5, 6, 4, 5, 6, 7]]);
  });

  it('the forget refuses LOCKED while a producer has the directory open, and the producer goes on under its id', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const open = await host.start();
    await open.producer.send('orders', numbered(1, 1));
    await open.producer.flush();
    await expect(host.forgetProducerId()).rejects.toMatchObject({ code: 'LOCKED' });
    const producerId = open.producer.stats.producerId;
    await open.producer.send('orders', numbered(2, 1));
    await open.producer.flush();
    expect(open.producer.stats).toMatchObject({ producerId, duplicateParts: 0 });
    await open.producer.close();
    expect(await host.contents('orders')).toEqual([[1, 2]]);
  });

  it('a corrupt producer.json stops the open with CORRUPT_METADATA; forgotten, the next open sends the WAL under a new id', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const first = await host.start();
    await first.producer.send('orders', numbered(1, 1));
    await first.producer.flush();
    const producerId = first.producer.stats.producerId!;
    await first.producer.send('orders', numbered(2, 1)); // in the WAL, not sent
    await first.producer.close();
    await host.fs.writeFile(`${PRODUCER_WAL_DIR}/producer.json`, new TextEncoder().encode('{"version":1,"producerId":'));
    const damaged = await host.start();
    await expect(damaged.producer.ready()).rejects.toMatchObject({ code: 'CORRUPT_METADATA' });
    expect(await host.forgetProducerId()).toMatchObject({ found: 'corrupt', problem: { code: 'CORRUPT_METADATA' } });
    await reopenAndDeliver(host, producerId);
    expect(await host.contents('orders')).toEqual([[1, 2]]);
  });

  it('a corrupt producer.json beside no segment (removed by hand): the forget refuses it as no WAL directory until an open, which makes the first segment before it reads the state; then the way out is as above', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const first = await host.start();
    await first.producer.send('orders', numbered(1, 1));
    await first.producer.flush();
    await first.producer.close();
    for (const name of await host.fs.readdir(PRODUCER_WAL_DIR)) await host.fs.unlink(`${PRODUCER_WAL_DIR}/${name}`);
    await host.fs.writeFile(`${PRODUCER_WAL_DIR}/producer.json`, new TextEncoder().encode('{"version":1,"producerId":'));
    await expect(host.forgetProducerId()).rejects.toMatchObject({ code: 'INVALID_REQUEST', cause: { code: 'CORRUPT_METADATA' } });
    const damaged = await host.start();
    await expect(damaged.producer.ready()).rejects.toMatchObject({ code: 'CORRUPT_METADATA' });
    expect(await host.forgetProducerId()).toMatchObject({ found: 'corrupt', removed: ['producer.json'] });
    const next = await host.start();
    await next.producer.send('orders', numbered(2, 1));
    await next.producer.flush();
    await next.producer.close();
    expect(await host.contents('orders')).toEqual([[1, 2]]);
  });

  it('a directory whose producer never got an id: the forget says there was none, and the next open works', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const first = await host.start();
    await first.producer.ready();
    await first.producer.close();
    expect(await host.forgetProducerId()).toEqual({ found: 'none', removed: [] });
    const next = await host.start();
    await next.producer.send('orders', numbered(1, 1));
    await next.producer.flush();
    await next.producer.close();
    expect(await host.contents('orders')).toEqual([[1]]);
  });

  it('a copy of the directory (a cloned machine) run beside the original under the same id: the copy\'s first batch answered as a duplicate of the original\'s stops it with PRODUCER_FENCED instead of dropping its records', async () => {
    const host = await WalProducerHost.create({ orders: 1 });
    const first = await host.start();
    await first.producer.send('orders', numbered(1, 3));
    await first.producer.flush();
    await first.producer.close();
    const CLONE = '/wal-clone';
    await host.fs.mkdir(CLONE);
    for (const name of await host.fs.readdir(PRODUCER_WAL_DIR)) {
      await host.fs.writeFile(`${CLONE}/${name}`, await host.fs.readFile(`${PRODUCER_WAL_DIR}/${name}`));
    }
    const original = await host.start();
    const clone = await host.start({ dir: CLONE });
    await original.producer.send('orders', numbered(4, 3));
    await original.producer.flush();
    await clone.producer.send('orders', numbered(7, 3)); // the same WAL batch, id, epoch and sequences as 4..6
    const failure = await clone.producer.flush().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'PRODUCER_FENCED', details: { producerId: original.producer.stats.producerId, topic: 'orders', partition: 0, baseOffset: 3n } });
    await Promise.all([original.producer.close(), clone.producer.close()]);
    expect(await host.contents('orders')).toEqual([[1, 2, 3, 4, 5, 6]]);
    await forgetWalProducerId(CLONE, { fs: host.fs });
    const resumed = await host.start({ dir: CLONE });
    await resumed.producer.flush();
    await resumed.producer.close();
    expect(await host.contents('orders')).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  });
});
