/**
 * A dead-letter copy always fits: its reason is cut to DEAD_LETTER_REASON_BYTES_MAX, and the copy
 * of a record taken at the batch limit may exceed it by the trailer (DEAD_LETTER_TRAILER_BYTES_MAX).
 * Before, such a copy was refused (MESSAGE_TOO_LARGE) and retried for ever: reject() resolved
 * nothing, the record stayed unacked and the group's lag never fell.
 */
import { describe, expect, it } from 'vitest';
import { BATCH_HEADER_BYTES } from '@brook/protocol';
import { Broker } from '../broker.js';
import { LIMITS } from '../config/defaults.js';
import { DEAD_LETTER_HEADERS, DEAD_LETTER_REASON_BYTES_MAX } from './dead-letter.js';
import type { Delivery } from './delivery.js';
import { engineFixture } from './group-fixture.js';

const BATCH_BYTES_MAX = 4096;
/** What the engine makes of reject(reason): the reason header says it was a reject. */
const PREFIX = 'rejected: ';
const ROOM = DEAD_LETTER_REASON_BYTES_MAX - PREFIX.length;

/** The largest value the broker takes in a batch of one at `batchBytesMax`. */
async function largestValue(batchBytesMax: number, produce: (bytes: number) => Promise<unknown>): Promise<number> {
  for (let bytes = batchBytesMax - BATCH_HEADER_BYTES; bytes > 0; bytes--) {
    if (await produce(bytes).then(() => true, () => false)) return bytes;
  }
  throw new Error('no value fits');
}

async function rejectOne(reason: string, valueBytes?: number, batchBytesMax = BATCH_BYTES_MAX) {
  const world = await engineFixture({ batchBytesMax });
  const { broker } = world;
  await broker.createTopic('dl-size');
  const bytes = valueBytes ?? (await largestValue(batchBytesMax, (n) => broker.produce('dl-size', [{ value: new Uint8Array(n) }])));
  if (valueBytes !== undefined) await broker.produce('dl-size', [{ value: new Uint8Array(bytes) }]);
  const dead: string[] = [];
  broker.on('deadLettered', (event) => dead.push(event.deadLetterTopic));
  const held: Delivery[] = [];
  await broker.subscribe({ topic: 'dl-size', group: 'g' }, (delivery) => {
    held.push(delivery);
    return new Promise<void>(() => undefined);
  });
  await world.settle(() => held.length === 1);
  await held[0]!.reject(reason);
  await world.settle(() => dead.length === 1);
  const [copy] = await broker.fetch({ topic: 'dl-size.dlq', partition: 0, offset: 0n });
  const reasonHeader = copy!.headers.find((header) => header.key === DEAD_LETTER_HEADERS.reason)!.value!;
  return { world, bytes, copy: copy!, reason: Buffer.from(reasonHeader).toString('utf8') };
}

describe('dead-letter copies that would not fit', () => {
  it('a record taken at the batch limit, rejected with a long reason, is dead-lettered whole; the reason is cut to 1024 bytes ending in …', async () => {
    const { world, bytes, copy, reason } = await rejectOne('x'.repeat(5000));
    expect(copy.value!.length).toBe(bytes);
    expect(Buffer.byteLength(reason)).toBe(DEAD_LETTER_REASON_BYTES_MAX);
    expect(reason).toBe(`${PREFIX}${'x'.repeat(ROOM - 3)}…`);
    expect(world.broker.describeGroup('dl-size', 'g').lag).toBe(0n);
  });

  it.each([
    ['exactly 1024 bytes with its prefix: kept whole', 'r'.repeat(ROOM), `${PREFIX}${'r'.repeat(ROOM)}`],
    ['1025 bytes with its prefix: cut', 'r'.repeat(ROOM + 1), `${PREFIX}${'r'.repeat(ROOM - 3)}…`],
    // 1011 bytes of room before the ellipsis: 337 whole characters of 3 bytes.
    ['cut between whole characters', '€'.repeat(342), `${PREFIX}${'€'.repeat(337)}…`],
  ])('a reason of %s', async (_what, given, stored) => {
    const { reason } = await rejectOne(given, 10);
    expect(reason).toBe(stored);
  });

  it.each([
    ['', BATCH_BYTES_MAX],
    // The copies may pass batchBytesMax, not the 64 MiB a stored batch may have: its max leaves them room.
    [' at batchBytesMax\'s own max', LIMITS.batchBytesMax.max],
  ])("a dead letter given up on again (a group on the dead-letter topic rejects it) fits too%s: each copy may add one trailer's bytes", { timeout: 30_000 }, async (_at, batchBytesMax) => {
    const { world, bytes } = await rejectOne('x'.repeat(5000), undefined, batchBytesMax);
    const { broker } = world;
    const dead: string[] = [];
    broker.on('deadLettered', (event) => dead.push(event.deadLetterTopic));
    await broker.subscribe({ topic: 'dl-size.dlq', group: 'g2' }, (delivery) => void delivery.reject('y'.repeat(5000)));
    await world.settle(() => dead.length === 1);
    expect(dead).toEqual(['dl-size.dlq.dlq']);
    const [copy] = await broker.fetch({ topic: 'dl-size.dlq.dlq', partition: 0, offset: 0n });
    expect(copy!.value!.length).toBe(bytes);
    expect(copy!.headers.filter((header) => header.key === DEAD_LETTER_HEADERS.reason)).toHaveLength(2);
    expect(broker.describeGroup('dl-size.dlq', 'g2')).toMatchObject({ lag: 0n, lastError: undefined });
  });

  it.each([
    ['kept', 0, { moved: 1, skipped: 0 }],
    // The copy back has no trailer (redrive cuts it off): one byte over the origin's limit is over it.
    ['lowered by one byte', 1, { moved: 0, skipped: 1 }],
  ])("a record taken at the batch limit goes back by redrive at that limit, and is skipped (MESSAGE_TOO_LARGE) once the limit is %s across a restart", async (_what, loweredBytes, expected) => {
    const { world } = await rejectOne('bad');
    await world.broker.close();
    const broker = await Broker.open({ storage: 'memory', fs: world.fs, clock: world.clock, batchBytesMax: BATCH_BYTES_MAX - loweredBytes });
    await expect(broker.redrive('dl-size.dlq')).resolves.toEqual(expected);
    expect(await broker.fetch({ topic: 'dl-size', partition: 0, offset: 1n })).toHaveLength(expected.moved);
    await broker.close();
  });
});
