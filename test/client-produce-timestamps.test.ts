/**
 * A producer holds each record to the broker's timestampAheadMsMax (announced in WELCOME) at
 * send(), against its own clock: the broker refuses a batch whole, so a record stamped far ahead
 * (the year 3000, microseconds by mistake) found there would fail every send that shared its
 * batch, and poison a WAL producer's whole part, naming its place in the batch, not in its send.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '@brook/protocol';
import { LIMITS } from '@brook/broker';
import { CLIENT_TARGETS, type ClientTarget } from './fixtures/client-targets.js';

const HOUR_MS = LIMITS.timestampAheadMsMax.default;
/** 3000-01-01T00:00:00Z. */
const YEAR_3000_MS = 32_503_680_000_000;

let target: ClientTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe.each(CLIENT_TARGETS)('a record stamped ahead, over the %s', (_label, factory) => {
  it('past timestampAheadMsMax fails its own send at send(), INVALID_REQUEST naming it; a send batched beside it goes', async () => {
    target = await factory();
    await target.broker.createTopic('ahead');
    const client = await target.connect();
    const producer = client.producer({ lingerMs: 20 });
    const good = producer.send('ahead', [{ value: 'good', partition: 0 }]);
    const bad = producer.send('ahead', [{ value: 'ok', partition: 0 }, { value: 'bad', partition: 0, timestamp: YEAR_3000_MS }]);
    await expect(bad).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { record: 1 } });
    await expect(good).resolves.toEqual([{ partition: 0, offset: 0n }]);
    const near = Date.now() + HOUR_MS - 60_000;
    await expect(producer.send('ahead', [{ value: 'near', timestamp: near }])).resolves.toEqual([{ partition: 0, offset: 1n }]);
    await client.close();
  });

  it("fails a WAL producer's send at send(), before its records enter the WAL, where they would poison the part they share", async () => {
    target = await factory();
    await target.broker.createTopic('ahead-wal');
    const client = await target.connect();
    const producer = client.producer({ wal: { dir: '/wal', fs: new MemoryFileSystem() } });
    const poisoned: unknown[] = [];
    producer.on('poison', (report) => poisoned.push(report));
    const good = producer.send('ahead-wal', [{ value: 'good', partition: 0 }]);
    await expect(producer.send('ahead-wal', [{ value: 'bad', partition: 0, timestamp: YEAR_3000_MS }])).rejects.toMatchObject({
      code: 'INVALID_REQUEST', details: { record: 0 },
    });
    await good;
    await producer.flush();
    expect(poisoned).toEqual([]);
    expect((await client.fetch({ topic: 'ahead-wal', partition: 0, offset: 0n })).map((r) => new TextDecoder().decode(r.value!))).toEqual(['good']);
    await producer.close();
    await client.close();
  });
});
