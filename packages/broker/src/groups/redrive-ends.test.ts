/**
 * Where a redrive ends (docs/semantics.md "Redrive"): at the endOffsets it is given, never past
 * what the dead-letter topic held when called; and a failure on no record names none.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture } from './group-fixture.js';
import { deadLetter, values } from './redrive.test-support.js';

describe('redrive endOffsets', () => {
  it('endOffsets stop each dead-letter partition there (one past its end when called, at that end); a partition they leave out stops at its end', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('ends', { partitions: 2 });
    await broker.createTopic('ends.dlq', { partitions: 2 });
    await deadLetter(fixture, 'ends', 'g-ends', ['a0', 'a1', 'a2', 'b0', 'b1'].map((value) => ({ value, partition: value.startsWith('a') ? 0 : 1 })));
    const first = broker.redrive('ends.dlq', { endOffsets: [1n] });
    const second = broker.redrive('ends.dlq', { endOffsets: [100n, 100n] });
    // Written after both calls: past the end either saw, so neither moves it (nor skips it).
    await broker.produce('ends.dlq', [{ value: 'late', partition: 0 }]);
    expect(await first).toEqual({ moved: 3, skipped: 0 });
    expect(await second).toEqual({ moved: 2, skipped: 0 });
    expect([await values(broker, 'ends', 0, 3n), await values(broker, 'ends', 1, 2n)]).toEqual([['a0', 'a1', 'a2'], ['b0', 'b1']]);
    await expect(broker.redrive('ends.dlq', { endOffsets: [0n, 0n, 0n] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST', details: { field: 'endOffsets', partitions: 2 }, message: expect.stringContaining('at most one offset per partition of ends.dlq (2)'),
    });
  });
});

describe('a redrive that fails reading its dead-letter topic', () => {
  it('names no dead-letter record in its error: it failed on none', async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('unread');
    await deadLetter(fixture, 'unread', 'g-unread', [{ value: 'a' }]);
    await fixture.broker.close();
    const broker = await fixture.restart({ powerCut: false }); // nothing in a cache: the redrive reads the file
    fixture.fs.failNext('read', { errno: 'EIO', path: /\/topics\/unread\.dlq\// });
    const failure = await broker.redrive('unread.dlq').catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'IO_ERROR', details: { deadLetterTopic: 'unread.dlq', moved: 0, skipped: 0 } });
    expect((failure as { details: object }).details).not.toHaveProperty('deadLetterOffset');
    expect((failure as Error).message).toMatch(/^IO_ERROR: redrive of unread\.dlq stopped \(moved 0, skipped 0 before it\): /);
  });
});
