import { describe, expect, it } from 'vitest';
import { Message } from './message.js';
import type { IdRanges } from '@brook/protocol';
import { BrookError, FrameKind, SETTLE_MS_MAX, encodeFrame, stableJson, toRanges } from '@brook/protocol';
import { SettleBatcher, readStaleIds, type SettleEntries } from './settle-batcher.js';
import { rejectReasonJsonBytesMax } from './settle-entry-bytes.js';

function message(batcher: SettleBatcher, session: number, deliveryId: number): Message {
  return new Message(batcher, session, deliveryId, 0, BigInt(deliveryId), 1, 0, null, null, []);
}

/** A batcher whose settle requests wait for answer(): an error, or the stale ids of the answer. */
function recording(frameBytesMax = Number.POSITIVE_INFINITY, { keepsAcks = true, goesBack = (_: Message): void => undefined, takesNackReason = true } = {}): { batcher: SettleBatcher; sent: SettleEntries[]; answer: (outcome?: Error | IdRanges | unknown) => void } {
  const sent: SettleEntries[] = [];
  const answers: ((outcome?: unknown) => void)[] = [];
  const batcher = new SettleBatcher('t', (entries) => {
    sent.push(entries);
    return new Promise<unknown>((resolve, reject) => answers.push((outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome))));
  }, goesBack, keepsAcks, () => frameBytesMax, () => takesNackReason);
  return { batcher, sent, answer: (outcome) => answers.shift()!(outcome) };
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
  it('sends one settle per tick, acks as ranges; a message keeps its first settlement\'s promise', async () => {
    const { batcher, sent, answer } = recording();
    batcher.setSession(1);
    const messages = Array.from({ length: 100 }, (_, id) => message(batcher, 1, id));
    const promises = messages.map((msg, id) => (id === 50 ? msg.nack({ delayMs: 5 }) : id === 60 ? msg.reject('bad') : msg.ack()));
    const extended = message(batcher, 1, 100).extend(1000);
    expect(extended).toBe(promises[50]); // nacks and extends share the batch's promise
    expect(messages[0]!.ack()).toBe(promises[0]);
    expect(messages[0]!.nack()).toBe(promises[0]);
    await tick();
    expect(sent).toEqual([{ ack: [[0, 49], [51, 59], [61, 99]], nack: [[50, 5]], reject: [[60, 'bad']], extend: [[100, 1000]] }]);
    answer();
    await Promise.all(promises);
  });

  it('cuts one tick\'s settlements into requests that each fit frameBytesMax, every settlement in exactly one', async () => {
    const frameBytesMax = 1024;
    const { batcher, sent, answer } = recording(frameBytesMax);
    batcher.setSession(1);
    const messages = Array.from({ length: 400 }, (_, id) => message(batcher, 1, id));
    // Every other id acked (no two merge into a range), and rejects and nacks whose reasons fit a
    // frame only alone (a nack's measured as sent: `"` escaped to two bytes, `é` two bytes of UTF-8).
    const settle = (msg: Message, id: number) => (id % 100 === 1 ? msg.reject('r'.repeat(600)) : id % 100 === 51 ? msg.nack({ reason: '"é'.repeat(200) }) : undefined);
    const promises = messages.map((msg, id) => (id % 2 === 0 ? msg.ack() : settle(msg, id)));
    await tick();
    expect(sent.length).toBeGreaterThan(2);
    for (const entries of sent) {
      expect(encodeFrame(FrameKind.REQUEST, 1, stableJson({ ...entries, op: 'settle', subscription: 1 })).length).toBeLessThanOrEqual(frameBytesMax);
    }
    const acked = sent.flatMap((entries) => (entries.ack ?? []).flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, i) => first + i)));
    expect(acked).toEqual(messages.filter((_, id) => id % 2 === 0).map((msg) => msg.deliveryId));
    expect(sent.flatMap((entries) => (entries.reject ?? []).map(([id]) => id))).toEqual([1, 101, 201, 301]);
    expect(sent.flatMap((entries) => entries.nack ?? [])).toEqual([51, 151, 251, 351].map((id) => [id, null, '"é'.repeat(200)]));
    for (let i = 0; i < sent.length; i++) answer();
    await Promise.all(promises);
  });

  it("sends a nack's reason as a third item only to a server that takes it (Feature.NACK_REASON); to one from before, a pair, as before reasons", async () => {
    for (const takesNackReason of [true, false]) {
      const { batcher, sent, answer } = recording(Number.POSITIVE_INFINITY, { takesNackReason });
      batcher.setSession(1);
      const settled = [message(batcher, 1, 0).nack({ reason: 'TypeError: x' }), message(batcher, 1, 1).nack({ delayMs: 5 }), message(batcher, 1, 2).ack()];
      await tick();
      expect(sent, String(takesNackReason)).toEqual([{ ack: [[2, 2]], nack: [takesNackReason ? [0, null, 'TypeError: x'] : [0, null], [1, 5]] }]);
      answer();
      await Promise.all(settled);
    }
  });

  it("sends a nack whose reason would not fit frameBytesMax even alone without it: the nack goes, its reason is only what it said", async () => {
    // At frameBytesMax's min (1 KiB), a reason within DEAD_LETTER_REASON_BYTES_MAX (a handler's
    // long error message) made a settle over the frame: refused MESSAGE_TOO_LARGE, the nack never
    // reached the broker and its record waited for its lease instead of its backoff.
    const frameBytesMax = 1024;
    const { batcher, sent, answer } = recording(frameBytesMax);
    batcher.setSession(1);
    const settled = [message(batcher, 1, 0).nack({ reason: 'x'.repeat(1000) }), message(batcher, 1, 1).nack({ reason: 'TypeError: y' })];
    await tick();
    for (const entries of sent) {
      expect(encodeFrame(FrameKind.REQUEST, 1, stableJson({ ...entries, op: 'settle', subscription: 1 })).length).toBeLessThanOrEqual(frameBytesMax);
    }
    expect(sent.flatMap((entries) => entries.nack ?? [])).toEqual([[0, null], [1, null, 'TypeError: y']]);
    for (let i = 0; i < sent.length; i++) answer();
    await Promise.all(settled);
  });

  it('cuts a reject reason that would not fit frameBytesMax even alone to what fits, at a character boundary, ending in …: the reject goes', async () => {
    // At frameBytesMax's min (1 KiB), a reason within DEAD_LETTER_REASON_BYTES_MAX made a settle
    // over the frame: refused MESSAGE_TOO_LARGE, the record was not dead-lettered but waited out its lease.
    const frameBytesMax = 1024;
    const { batcher, sent, answer } = recording(frameBytesMax);
    batcher.setSession(1);
    const reasons = ['x'.repeat(1024), 'é'.repeat(512), '\u0001'.repeat(200), '😀'.repeat(256), 'short'];
    const settled = reasons.map((reason, i) => message(batcher, 1, i).reject(reason));
    await tick();
    for (const entries of sent) {
      expect(encodeFrame(FrameKind.REQUEST, 1, stableJson({ ...entries, op: 'settle', subscription: Number.MAX_SAFE_INTEGER })).length).toBeLessThanOrEqual(frameBytesMax);
    }
    const rejects = sent.flatMap((entries) => entries.reject ?? []);
    expect(rejects.map(([id]) => id)).toEqual([0, 1, 2, 3, 4]);
    for (const [id, reason] of rejects.slice(0, 4)) {
      expect(reason.endsWith('…')).toBe(true);
      expect(reasons[id]!.startsWith(reason.slice(0, -1))).toBe(true);
      expect(Buffer.from(reason).toString()).toBe(reason); // no half of a surrogate pair
    }
    expect(rejects[4]).toEqual([4, 'short']);
    for (let i = 0; i < sent.length; i++) answer();
    await Promise.all(settled);
  });

  it('keeps a reject reason of exactly the room a settle frame leaves it whole; one byte more is cut to fit', async () => {
    const frameBytesMax = 1024;
    const room = rejectReasonJsonBytesMax(frameBytesMax, 7);
    const exact = 'r'.repeat(room - 2); // the JSON string's quotes
    for (const [reason, sentAs] of [[exact, exact], [`${exact}s`, `${'r'.repeat(room - 2 - 3)}…`]] as const) {
      const { batcher, sent, answer } = recording(frameBytesMax);
      batcher.setSession(1);
      const settled = message(batcher, 1, 7).reject(reason);
      await tick();
      expect(sent).toEqual([{ reject: [[7, sentAs]] }]);
      expect(encodeFrame(FrameKind.REQUEST, 1, stableJson({ ...sent[0], ack: [], alive: true, extend: [], nack: [], op: 'settle', release: [], subscription: Number.MAX_SAFE_INTEGER })).length).toBeLessThanOrEqual(frameBytesMax);
      answer();
      await settled;
    }
  });

  it('is holding while a message received on the session is neither settled nor dropped unseen, or settlements wait to be sent', async () => {
    const { batcher, answer } = recording();
    batcher.setSession(1);
    expect(batcher.holding).toBe(false);
    batcher.receivedMessages(3);
    const [a, b, c] = [0, 1, 2].map((id) => message(batcher, 1, id));
    void a!.ack();
    batcher.forget(c!); // dropped unseen: TAKEN_BACK named it
    expect(batcher.holding).toBe(true);
    await tick();
    answer();
    expect(batcher.holding).toBe(true); // b is held
    void b!.extend();
    void b!.nack();
    expect(batcher.holding).toBe(true); // sent at the end of the tick
    await tick();
    expect(batcher.holding).toBe(false);
    answer();
    batcher.receivedMessages(1);
    batcher.setSession(2); // what a lost session held is the broker's again
    expect(batcher.holding).toBe(false);
  });

  it('cuts nacks, extends, releases and short rejects into requests that each fit frameBytesMax, long ids and delays too', async () => {
    const frameBytesMax = 4096;
    const { batcher, sent, answer } = recording(frameBytesMax);
    batcher.setSession(1);
    const base = Number.MAX_SAFE_INTEGER - 1000;
    // No two released ids merge into a range; a default delay (null) is as long as a short one.
    const settled = Array.from({ length: 800 }, (_, i) => {
      const msg = message(batcher, 1, base + i);
      if (i % 4 === 0) return msg.nack();
      if (i % 4 === 1) return msg.extend();
      if (i % 4 === 2) return (msg.releaseUnread(), undefined);
      return msg.nack({ delayMs: SETTLE_MS_MAX });
    });
    // And rejects with the shortest reason: their own estimate, beside the rest.
    settled.push(...Array.from({ length: 200 }, (_, i) => message(batcher, 1, base + 800 + i).reject('')));
    batcher.alive(1);
    await tick();
    expect(sent.length).toBeGreaterThan(3);
    for (const entries of sent) {
      const json = stableJson({ ...entries, alive: true, op: 'settle', subscription: Number.MAX_SAFE_INTEGER });
      expect(encodeFrame(FrameKind.REQUEST, 1, json).length).toBeLessThanOrEqual(frameBytesMax);
    }
    const all = <T extends unknown[]>(pick: (entries: SettleEntries) => T[] | undefined): T[] => sent.flatMap((entries) => pick(entries) ?? []);
    const ids = Array.from({ length: 800 }, (_, i) => base + i);
    expect(all((entries) => entries.nack)).toEqual(ids.filter((_, i) => i % 4 === 0 || i % 4 === 3).map((id, j) => [id, j % 2 === 0 ? null : SETTLE_MS_MAX]));
    expect(all((entries) => entries.extend)).toEqual(ids.filter((_, i) => i % 4 === 1).map((id) => [id, null]));
    expect(all((entries) => entries.release)).toEqual(ids.filter((_, i) => i % 4 === 2).map((id) => [id, id]));
    expect(all((entries) => entries.reject)).toEqual(Array.from({ length: 200 }, (_, i) => [base + 800 + i, '']));
    for (let i = 0; i < sent.length; i++) answer();
    await Promise.all(settled);
  });

  it("says `alive` once, in the next settle, beside what else it carries; not for a session that is over", async () => {
    const { batcher, sent, answer } = recording();
    batcher.setSession(1);
    batcher.alive(1);
    const acked = message(batcher, 1, 4).ack();
    await tick();
    batcher.alive(0);
    batcher.setSession(2);
    batcher.alive(1); // owed by a lost session's consumer: its member has left
    await tick();
    batcher.alive(2);
    await tick();
    expect(sent).toEqual([{ ack: [[4, 4]], alive: true }, { alive: true }]);
    answer();
    answer();
    await acked;
  });

  it('fails exactly the acks and rejects the answer lists as stale, with DELIVERY_STALE; the rest resolve', async () => {
    const { batcher, answer } = recording();
    batcher.setSession(1);
    const messages = Array.from({ length: 10 }, (_, id) => message(batcher, 1, id));
    const promises = messages.map((msg, id) => (id === 7 ? msg.reject('bad') : id === 8 ? msg.nack() : msg.ack()));
    await tick();
    answer([[2, 3], [7, 8]]); // 8 is a nack: a stale nack asks for what happens anyway
    const outcomes = await Promise.allSettled(promises);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { code: string }).code))).toEqual([
      'ok', 'ok', 'DELIVERY_STALE', 'DELIVERY_STALE', 'ok', 'ok', 'ok', 'DELIVERY_STALE', 'ok', 'ok',
    ]);
    expect(((outcomes[2] as PromiseRejectedResult).reason as { details: unknown }).details).toEqual({ deliveryId: 2 });
  });

  it('forgets a TAKEN_BACK id that crossed its ack on the wire once the answer lists it as stale', async () => {
    const { batcher, answer } = recording();
    batcher.setSession(1);
    const crossed = message(batcher, 1, 5);
    const told = message(batcher, 1, 6);
    const acked = crossed.ack();
    await tick(); // the ack is on its way
    batcher.tookBack([[5, 6]], 6); // meanwhile the lease ran out: TAKEN_BACK names 5 (and 6, unsettled)
    expect(batcher.takenBack(crossed)).toBe(true);
    answer([[5, 5]]);
    await expect(acked).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
    expect(batcher.takenBack(crossed)).toBe(false);
    expect(told.stale).toBe(true);
  });

  it('keeps TAKEN_BACK ids of a new session when an answer of the old one lists the same ids as stale', async () => {
    const { batcher, answer } = recording();
    batcher.setSession(1);
    const old = message(batcher, 1, 5).ack();
    await tick();
    batcher.setSession(2);
    const again = message(batcher, 2, 5);
    batcher.tookBack([[5, 5]], 5);
    answer([[5, 5]]);
    await expect(old).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
    expect(again.stale).toBe(true);
  });

  it('fails the acks and rejects with INVALID_REQUEST when the stale list is malformed; nacks share the batch outcome', async () => {
    const { batcher, answer } = recording();
    batcher.setSession(1);
    const promises = [message(batcher, 1, 0).ack(), message(batcher, 1, 1).reject('bad'), message(batcher, 1, 2).nack()];
    await tick();
    answer([[3, 'x']]);
    const outcomes = await Promise.allSettled(promises);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { code: string }).code))).toEqual(['INVALID_REQUEST', 'INVALID_REQUEST', 'INVALID_REQUEST']);
  });

  it('reads a stale list only when it is absent or [first, last] id ranges', () => {
    expect(readStaleIds(undefined)).toBeUndefined();
    expect(readStaleIds([])).toEqual([]);
    expect(readStaleIds([[0, 0], [5, 9]])).toEqual([[0, 0], [5, 9]]);
    for (const bad of [null, 'x', {}, [[1]], [[1, 2, 3]], [[2, 1]], [[-1, 0]], [[0, 0.5]], [[0, 2 ** 53]], [5]]) {
      expect(() => readStaleIds(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    }
  });

  it('sends nothing for another session, and never claims an ack that was not sent: ack and reject fail, nack and extend resolve', async () => {
    const { batcher, sent } = recording();
    batcher.setSession(1);
    const stale = message(batcher, 0, 1);
    await expect(stale.ack()).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await expect(message(batcher, 0, 3).reject('bad')).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await expect(message(batcher, 0, 4).nack()).resolves.toBeUndefined();
    await expect(message(batcher, 0, 5).extend()).resolves.toBeUndefined();
    message(batcher, 0, 6).releaseUnread();
    await tick();
    expect(sent).toEqual([]);
    // Its delivery ids may name other deliveries in this session: a stale one must not be stale for them.
    expect(message(batcher, 0, 7).stale).toBe(true);
    expect(message(batcher, 1, 7).stale).toBe(false);
    // Collected in this session, then the connection drops before the tick sends it.
    const dropped = message(batcher, 1, 2).ack();
    batcher.setSession(2);
    await expect(dropped).rejects.toMatchObject({ code: 'DISCONNECTED' });
    batcher.setSession(0); // disconnected: nothing is owed to a session that is gone
    batcher.alive(0);
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
  it("a tail reader's settlements resolve whatever becomes of them: a failed settle, a lost connection, an end", async () => {
    const { batcher, answer } = recording(Number.POSITIVE_INFINITY, { keepsAcks: false });
    batcher.setSession(1);
    const failed = message(batcher, 1, 1).ack();
    await tick();
    answer(new Error('lost'));
    await expect(failed).resolves.toBeUndefined();
    const dropped = message(batcher, 1, 2).reject('bad');
    batcher.setSession(2);
    await expect(dropped).resolves.toBeUndefined();
    expect(message(batcher, 1, 3).stale).toBe(false); // never taken back
    const ended = message(batcher, 2, 4).ack();
    batcher.end(undefined);
    await expect(ended).resolves.toBeUndefined();
    await expect(message(batcher, 2, 5).ack()).resolves.toBeUndefined();
  });

  it("a member's subscription ended for good: what was not sent, and later acks and rejects, fail with why; its messages are stale", async () => {
    const { batcher, sent } = recording();
    batcher.setSession(1);
    const collected = message(batcher, 1, 1).ack();
    const ending = new BrookError('UNKNOWN_TOPIC', 'deleted');
    batcher.end(ending);
    await expect(collected).rejects.toBe(ending);
    const late = message(batcher, 1, 2);
    expect(late.stale).toBe(true);
    await expect(late.reject('bad')).rejects.toBe(ending);
    await expect(message(batcher, 1, 3).nack()).resolves.toBeUndefined();
    await tick();
    expect(sent).toEqual([]);
  });

  it('a nack goes back (a partition\'s later messages are released) unless TAKEN_BACK named it: the broker went back already', async () => {
    const wentBack: number[] = [];
    const { batcher } = recording(Number.POSITIVE_INFINITY, { goesBack: (msg) => void wentBack.push(msg.deliveryId) });
    batcher.setSession(1);
    // Ids past the last one received are a broken server's: nothing to mark.
    batcher.tookBack([[3, 9]], 5);
    expect([2, 3, 5, 6].map((id) => message(batcher, 1, id).stale)).toEqual([false, true, true, false]);
    void message(batcher, 1, 4).nack();
    void message(batcher, 1, 6).nack();
    message(batcher, 1, 7).releaseUnread();
    expect(wentBack).toEqual([6, 7]);
  });

  it('says a TAKEN_BACK came too late for a release only while the release is unanswered', async () => {
    const { batcher, answer } = recording();
    batcher.setSession(1);
    message(batcher, 1, 1).releaseUnread();
    message(batcher, 1, 2).releaseUnread();
    await tick();
    expect(batcher.tookBack([[0, 0]], 9)).toBe(false);
    expect(batcher.tookBack([[1, 1]], 9)).toBe(true);
    expect(batcher.tookBack([[1, 1]], 9)).toBe(false);
    answer();
    await batcher.drain();
    expect(batcher.tookBack([[2, 2]], 9)).toBe(false);
    // A lost session's release answered late leaves alone the same id released on the new one.
    message(batcher, 1, 3).releaseUnread();
    await tick();
    batcher.setSession(2);
    message(batcher, 2, 3).releaseUnread();
    await tick();
    answer();
    await tick();
    expect(batcher.tookBack([[3, 3]], 9)).toBe(true);
  });

  it('an ack answered without stale ids resolves while TAKEN_BACK named another delivery', async () => {
    const { batcher, answer } = recording();
    batcher.setSession(1);
    const acked = message(batcher, 1, 1).ack();
    await tick();
    batcher.tookBack([[2, 2]], 2);
    answer(undefined);
    await expect(acked).resolves.toBeUndefined();
    expect(message(batcher, 1, 2).stale).toBe(true);
  });
});
