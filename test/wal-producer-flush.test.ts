/**
 * The WAL producer's flush(): it resolves once every record of every send so far is in the
 * broker's log, as the plain producer's does, including a send still waiting for WAL room
 * (onFull 'wait') when flush() was called.
 */
import { describe, expect, it } from 'vitest';
import { BrookError } from '@brook/protocol';
import { WalProducerHost } from '@brook/examples';

/** Records numbered from `from`, each value 1500 bytes (zero-padded): two fill most of a 4 KiB WAL. */
const large = (from: number, count: number): { value: string }[] => Array.from({ length: count }, (_, i) => ({ value: String(from + i).padStart(1500, '0') }));

describe('WAL producer flush()', () => {
  it("waits for a send that was still waiting for WAL room (onFull 'wait') to reach the broker too", async () => {
    const topic = 'wal-flush-waiting-send';
    const host = await WalProducerHost.create({ [topic]: 1 });
    const { producer } = await host.start({ onFull: 'wait', walBytesMax: 4096, maxBytes: 4000, maxRecords: 1000 });
    const first = producer.send(topic, large(1, 2));
    const waiting = producer.send(topic, large(3, 1)); // does not fit beside the first: waits for its commit
    await producer.flush();
    expect(await host.contents(topic)).toEqual([[1, 2, 3]]);
    await Promise.all([first, waiting]);
    await producer.close();
  });

  it('rejects with the sender\'s failure, instead of waiting for ever, when a send waits for room the stopped sender will never free', async () => {
    const topic = 'wal-flush-stopped-sender';
    const host = await WalProducerHost.create({ [topic]: 1 });
    const drill = new BrookError('IO_ERROR', 'failure drill');
    const afterAck = (): never => {
      throw drill;
    };
    const { producer } = await host.start({ onFull: 'wait', walBytesMax: 4096, maxBytes: 4000, maxRecords: 1000, afterAck });
    void producer.send(topic, large(1, 2));
    const waiting = producer.send(topic, large(3, 1));
    await expect(producer.flush()).rejects.toBe(drill);
    await producer.close();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
