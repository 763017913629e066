import { describe, expect, it } from 'vitest';
import { encodeBatch } from '@brook/protocol';
import { FrameDecoder, FrameKind, commitFrame, encodeFrame, headerFrame, sealFrame, type Frame } from './frame-codec.js';
import { encodeRecord, frameRecord } from './record-codec.js';
import { SegmentScan } from './segment-scan.js';

function frameOf(bytes: Uint8Array): Frame {
  const decoder = new FrameDecoder();
  decoder.push(bytes);
  const step = decoder.next();
  if (step.kind !== 'frame') throw new Error(`not a frame: ${step.kind}`);
  return step.frame;
}

const header = (segmentSeq: number, firstBatchSeq: number, firstRecordSeq: number) => frameOf(headerFrame({ segmentSeq, firstBatchSeq, firstRecordSeq }));
const record = (sequence: number) => frameOf(frameRecord(encodeRecord({ key: null, value: Uint8Array.of(sequence), timestamp: 1 }), sequence).frame);
const seal = (batchSeq: number, recordCount: number) => frameOf(sealFrame(batchSeq, recordCount));
const commit = (batchSeq: number) => frameOf(commitFrame(batchSeq));

/** A scan of segment 2 continuing from batch 5 / record 50, with batch 5 (records 50, 51) sealed. */
function sealedScan(): SegmentScan {
  const scan = new SegmentScan(2, { nextBatchSeq: 5, nextRecordSeq: 50 });
  for (const frame of [header(2, 5, 50), record(50), record(51), seal(5, 2)]) expect(scan.accept(frame)).toBeUndefined();
  return scan;
}

describe('SegmentScan', () => {
  it('rebuilds sealed batches, the open records after them, and the highest commit', () => {
    const scan = sealedScan();
    expect(scan.accept(record(52))).toBeUndefined();
    expect(scan.accept(commit(5))).toBeUndefined();
    expect(scan.accept(commit(4))).toBeUndefined(); // an older commit does not move it back
    expect(scan.batches.map((batch) => [batch.sequence, batch.records.map((r) => r.sequence), batch.segmentSeq])).toEqual([[5, [50, 51], 2]]);
    expect(scan.open.map((r) => r.sequence)).toEqual([52]);
    expect(scan.committedThrough).toBe(5);
    expect([scan.nextBatchSeq, scan.nextRecordSeq]).toEqual([6, 53]);
  });

  it('refuses a header that names another segment or does not continue the previous one', () => {
    expect(new SegmentScan(2, undefined).accept(header(3, 0, 0))).toMatch(/names segment 3/);
    expect(new SegmentScan(2, { nextBatchSeq: 5, nextRecordSeq: 50 }).accept(header(2, 5, 49))).toMatch(/continues from/);
    expect(new SegmentScan(2, { nextBatchSeq: 5, nextRecordSeq: 50 }).accept(header(2, 6, 50))).toMatch(/continues from/);
    expect(new SegmentScan(2, undefined).accept(record(0))).toMatch(/not a valid segment header/);
  });

  it('refuses a record out of sequence, a seal of another batch or count (or of none), a commit of a batch not sealed', () => {
    expect(sealedScan().accept(record(53))).toMatch(/record sequence 53, expected 52/);
    expect(sealedScan().accept(seal(5, 0))).toMatch(/seal of batch 5, expected 6/);
    expect(sealedScan().accept(seal(6, 0))).toMatch(/seal of 0 records, 0 are open/);
    const scan = sealedScan();
    expect(scan.accept(record(52))).toBeUndefined();
    expect(scan.accept(seal(6, 2))).toMatch(/seal of 2 records, 1 are open/);
    expect(sealedScan().accept(commit(6))).toMatch(/not yet sealed/);
    expect(sealedScan().accept(header(2, 6, 52))).toMatch(/unexpected frame kind 1/);
  });

  it('refuses frames of the right kind but the wrong shape: a header body in another kind, a short SEAL or COMMIT, a RECORD of two records', () => {
    const headerBody = header(2, 0, 0).body;
    expect(new SegmentScan(2, undefined).accept(frameOf(encodeFrame(FrameKind.SEAL, headerBody)))).toMatch(/not a valid segment header/);
    expect(sealedScan().accept(frameOf(encodeFrame(FrameKind.SEAL, new Uint8Array(8))))).toBe('malformed seal frame');
    expect(sealedScan().accept(frameOf(encodeFrame(FrameKind.COMMIT, new Uint8Array(12))))).toBe('malformed commit frame');
    const two = encodeBatch([{ key: null, value: null, timestamp: 1 }, { key: null, value: null, timestamp: 1 }]);
    expect(sealedScan().accept(frameOf(encodeFrame(FrameKind.RECORD, two)))).toMatch(/^record frame: .*holds 2 records/);
  });
});
