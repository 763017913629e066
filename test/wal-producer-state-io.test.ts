/**
 * The WAL producer's state file (producer.json) failing to write: an id the file does not hold
 * must never be sent under, or a crash after the broker's ack resends the batch under another id
 * and the broker appends it twice.
 */
import { describe, expect, it } from 'vitest';
import type { WalBatch } from '@brook/client';
import { PRODUCER_WAL_DIR, WalProducerHost, numbered } from '@brook/examples';

const never = new Promise<void>(() => undefined);

describe('WAL producer state file I/O failures', () => {
  it('a failed write of a new producer id is not sent under: a crash after the ack duplicates nothing', async () => {
    const topic = 'state-io-new-id';
    const host = await WalProducerHost.create({ [topic]: 1 });
    host.fs.failNext('write', { errno: 'ENOSPC', path: `${PRODUCER_WAL_DIR}/producer.json.tmp` });
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    // The process dies once the broker has WAL batch 0, before the state write and the commit.
    const afterAck = (batch: WalBatch): Promise<void> | undefined => (batch.sequence === 0 ? (holding(), never) : undefined);
    const first = await host.start({ afterAck });
    const retried = new Promise<void>((resolve) => first.producer.once('retrying', () => resolve()));
    await first.producer.send(topic, numbered(1, 3));
    await retried;
    await host.clock.advanceAsync(1_000);
    await held;
    first.crash();
    const second = await host.start();
    await second.producer.flush();
    expect(await host.contents(topic)).toEqual([[1, 2, 3]]);
    expect(second.producer.stats.duplicateParts).toBe(1);
    await second.producer.close();
  });
});
