import { describe, expect, it } from 'vitest';
import { Message } from './message.js';
import { SettleBatcher, toRanges, type SettleEntries } from './settle-batcher.js';

function message(batcher: SettleBatcher, session: number, deliveryId: number): Message {
  return new Message(batcher, session, deliveryId, 0, BigInt(deliveryId), 1, 0, null, null, []);
}

function recording(): { batcher: SettleBatcher; sent: SettleEntries[]; answer: (error?: Error) => void } {
  const sent: SettleEntries[] = [];
  const answers: ((error?: Error) => void)[] = [];
  const batcher = new SettleBatcher('t', (entries) => {
    sent.push(entries);
    return new Promise<void>((resolve, reject) => answers.push((error) => (error ? reject(error) : resolve())));
  });
  return { batcher, sent, answer: (error) => answers.shift()!(error) };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('toRanges', () => {
  it('compresses ids into sorted inclusive ranges', () => {
    expect(toRanges([1, 2, 3])).toEqual([[1, 3]]);
    expect(toRanges([5, 3, 4, 9])).toEqual([[3, 5], [9, 9]]);
    expect(toRanges([7])).toEqual([[7, 7]]);
    expect(toRanges([2, 2, 3])).toEqual([[2, 3]]);
  });
});

describe('SettleBatcher', () => {
  it('sends one settle per tick, acks as ranges, and every message of the batch shares its promise', async () => {
    const { batcher, sent, answer } = recording();
    batcher.setSession(1);
    const messages = Array.from({ length: 100 }, (_, id) => message(batcher, 1, id));
    const promises = messages.map((msg, id) => (id === 50 ? msg.nack({ delayMs: 5 }) : id === 60 ? msg.reject('bad') : msg.ack()));
    void message(batcher, 1, 100).extend(1000);
    expect(new Set(promises).size).toBe(1);
    expect(messages[0]!.ack()).toBe(promises[0]);
    await tick();
    expect(sent).toEqual([{ ack: [[0, 49], [51, 59], [61, 99]], nack: [[50, 5]], reject: [[60, 'bad']], extend: [[100, 1000]] }]);
    answer();
    await promises[0];
  });

  it('sends nothing for another session, and never claims an ack that was not sent: ack and reject fail, nack and extend resolve', async () => {
    const { batcher, sent } = recording();
    batcher.setSession(1);
    const stale = message(batcher, 0, 1);
    await expect(stale.ack()).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await expect(message(batcher, 0, 3).reject('bad')).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await expect(message(batcher, 0, 4).nack()).resolves.toBeUndefined();
    // Collected in this session, then the connection drops before the tick sends it.
    const dropped = message(batcher, 1, 2).ack();
    batcher.setSession(2);
    await expect(dropped).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await tick();
    expect(sent).toEqual([]);
  });

  it('rejects the shared promise when the settle fails, and drain() waits for answers', async () => {
    const { batcher, answer } = recording();
    batcher.setSession(1);
    const acked = message(batcher, 1, 1).ack();
    let drained = false;
    const draining = batcher.drain().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false);
    answer(new Error('lost'));
    await draining;
    await expect(acked).rejects.toThrow('lost');
  });
});
