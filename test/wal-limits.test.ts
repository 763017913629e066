/**
 * The FileBuffer's limits at their boundaries, in use: what is exactly at a limit is accepted,
 * one byte or record past it gets its code, and a refused put leaves the WAL as it was.
 * (Each option's own range: test/wal-config.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { encodeBatch, tearLastWrite } from '@brook/protocol';
import type { FileBuffer } from '../packages/client/src/wal/index.js';
import { SimulatedHost, WAL_DIR } from './fixtures/wal-harness.js';

/** A record whose size is set by its value's length alone. */
const sized = (valueBytes: number) => ({ key: null, value: new Uint8Array(valueBytes), timestamp: 0 });

/** The value length whose one-record batch is exactly `batchBytes` long. */
function valueBytesFor(batchBytes: number): number {
  let valueBytes = 0;
  while (encodeBatch([sized(valueBytes + 1)]).length <= batchBytes) valueBytes += 1;
  expect(encodeBatch([sized(valueBytes)])).toHaveLength(batchBytes);
  return valueBytes;
}

/** Stats a refused put must leave as they were. */
const state = ({ stats }: FileBuffer) => ({ records: stats.records, walBytes: stats.walBytes, nextBatchSequence: stats.nextBatchSequence });

describe('FileBuffer limits at the boundary', () => {
  it('maxBytes: a record whose batch is exactly maxBytes is put and emitted; one byte more is MESSAGE_TOO_LARGE and writes nothing', async () => {
    const maxBytes = 1024;
    const buffer = await new SimulatedHost().open({ maxBytes });
    const valueBytes = valueBytesFor(maxBytes);
    await buffer.put(sized(valueBytes));
    const before = state(buffer);
    await expect(buffer.putAll([sized(1), sized(valueBytes + 1)]))
      .rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { record: 1, recordBytes: maxBytes + 1, maxBytes } });
    expect(state(buffer)).toEqual(before);
    await buffer.flush();
    expect(buffer.emit()).toMatchObject({ encodedBytes: maxBytes, records: [{ value: new Uint8Array(valueBytes) }] });
  });

  it('maxRecords: a batch is sealed holding exactly maxRecords', async () => {
    const buffer = await new SimulatedHost().open({ maxRecords: 3 });
    await buffer.putAll([sized(1), sized(2), sized(3), sized(4)]);
    expect(buffer.stats).toMatchObject({ sealedBatches: 1, openRecords: 1 });
    expect(buffer.emit()!.records).toHaveLength(3);
  });

  it('maxRecords: a full batch whose SEAL a power cut tore off is reopened open and sealed as it is by the next put, never grown past maxRecords', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 3, fsync: 'never' });
    await buffer.put(sized(1));
    const frameBytes = buffer.stats.walBytes;
    await buffer.put(sized(1));
    // The third record's frame and the batch's SEAL go in one write; the power goes before the
    // SEAL's fsync, that write torn right after the record.
    host.fs.onOperation = (op) => {
      if (op.kind !== 'sync') return;
      host.fs.onOperation = undefined;
      host.crash(buffer, { keep: tearLastWrite(frameBytes) });
    };
    await buffer.put(sized(1)).catch(() => undefined);
    const reopened = await host.open({ maxRecords: 3 });
    expect(reopened.stats).toMatchObject({ openRecords: 3, sealedBatches: 0 });
    await reopened.put(sized(2));
    await reopened.flush();
    expect(reopened.emit()!.records.map((r) => r.value!.length)).toEqual([1, 1, 1]);
    await reopened.commit();
    expect(reopened.emit()!.records.map((r) => r.value!.length)).toEqual([2]);
  });

  it('maxAgeMs 0: records reopened open (the last run closed with an open batch) are sealed at open, not left until a put or flush', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxAgeMs: 100 });
    await buffer.putAll([sized(1), sized(2)]);
    await buffer.close(); // the open batch stays open for the next run
    const reopened = await host.open({ maxAgeMs: 0 });
    await host.clock.advanceAsync(1000);
    expect(reopened.stats).toMatchObject({ sealedBatches: 1, openRecords: 0 });
    await reopened.whenReady();
    expect(reopened.emit()!.records.map((r) => r.value!.length)).toEqual([1, 2]);
    await reopened.close();
  });

  it('segmentBytesMax: disk use stays within the documented bound, SEAL frames and segment headers included, with one tiny record per batch', async () => {
    const host = new SimulatedHost();
    const options = { maxRecords: 1, maxBytes: 128, walBytesMax: 64 * 1024, segmentBytesMax: 4096, onFull: 'reject' as const };
    const buffer = await host.open(options);
    while (await buffer.put({ value: null, timestamp: 0 }).then(() => true, () => false));
    let diskBytes = 0;
    for (const name of await host.fs.readdir(WAL_DIR)) if (name.endsWith('.seg')) diskBytes += (await host.fs.readFile(`${WAL_DIR}/${name}`)).length;
    const { sealedBatches, segments } = buffer.stats;
    expect(diskBytes).toBeGreaterThan(options.walBytesMax + options.segmentBytesMax + options.maxBytes); // the bound as it read before
    expect(diskBytes).toBeLessThanOrEqual(options.walBytesMax + options.segmentBytesMax + options.maxBytes + 21 * sealedBatches + 38 * segments);
  });

  it("walBytesMax: puts that fill it exactly are admitted; one more is BUFFER_FULL ('reject') and writes nothing; a putAll over it is MESSAGE_TOO_LARGE", async () => {
    const host = new SimulatedHost();
    const frameBytes = await (async () => {
      const probe = await host.open({ dir: '/data/probe' });
      await probe.put(sized(100));
      return probe.stats.walBytes;
    })();
    const walBytesMax = frameBytes * 40;
    const buffer = await host.open({ maxBytes: 1024, walBytesMax, onFull: 'reject' });
    const fill = Array.from({ length: 40 }, () => sized(100));
    await expect(buffer.putAll([...fill, sized(100)])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { bytes: walBytesMax + frameBytes, walBytesMax } });
    expect(state(buffer)).toMatchObject({ records: 0, walBytes: 0 });
    await buffer.putAll(fill);
    expect(buffer.stats.walBytes).toBe(walBytesMax);
    const full = state(buffer);
    await expect(buffer.put(sized(0))).rejects.toMatchObject({ code: 'BUFFER_FULL' });
    expect(state(buffer)).toMatchObject({ records: full.records, walBytes: full.walBytes });
  });
});
