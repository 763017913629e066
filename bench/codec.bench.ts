/**
 * Record batch codec benchmark: `npx -y pnpm@10 bench:codec`.
 *
 * What encoding and decoding one record costs, in ns, in batches shaped like the engine's: 100 B
 * values with short string keys, 25 records a batch (a produce of 100 spread over 4 partitions)
 * and 100; without headers (Uint8Array values, in-process produce) and with the content-type
 * header the client gives string and JSON values. Next to a baseline measured in the same run: copying the batch's bytes once
 * (`Uint8Array.prototype.set` of a whole encoded batch), the least a codec that touches every
 * byte must do. Rows:
 *
 * - encodeBatch: sizing, writing and the CRC-32C of a fresh batch (what a produce call and the
 *   client's producer do per batch);
 * - decodeStoredBatch: a batch the log stored, as a group's window reads it (quick reader);
 * - decodeBatch: the full decoder with `crcVerified` (every check, error messages ready, a key and
 *   a value view per record); decodeStoredBatch falls back to the same decoder for batches not
 *   of Brook's own shape, building lazy records instead of views (somewhat cheaper than this row);
 * - verifyBatch: the full checks, CRC included, without building records (what the server does
 *   to every batch a client produces).
 *
 * Each row runs until ROUND_MS have passed, five times; the table has the median round.
 */
import { decodeBatch, decodeStoredBatch, encodeBatch, toRecordField, verifyBatch, type EncodableRecord } from '@brook/protocol';

const ROUND_MS = process.env['BENCH_QUICK'] === '1' ? 100 : 400;
const ROUNDS = 5;

/** The header the client gives a JSON value (values.ts): what most records a client sends carry. */
const JSON_HEADERS = [{ key: 'content-type', value: new TextEncoder().encode('application/json') }];

function batchOf(records: number, headers: EncodableRecord['headers']): EncodableRecord[] {
  const value = new Uint8Array(100).fill(7);
  return Array.from({ length: records }, (_, i) => ({ key: toRecordField(`k${i % 64}`, i, 'key'), value, headers, timestamp: 1_763_900_000_000 + i }));
}

/** Median ns per record of `step` (one batch of `records` a call) over ROUNDS rounds. */
function nsPerRecord(records: number, step: () => number): number {
  const rounds: number[] = [];
  let sink = 0;
  for (let round = 0; round < ROUNDS + 1; round++) {
    let calls = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < ROUND_MS) {
      for (let i = 0; i < 100; i++) sink += step();
      calls += 100;
      elapsed = performance.now() - started;
    }
    if (round > 0) rounds.push((elapsed * 1e6) / (calls * records)); // round 0 warms up
  }
  if (sink === 0) throw new Error('nothing was measured');
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

console.log('| batch | copy the bytes (baseline) | encodeBatch | decodeStoredBatch | decodeBatch (full) | verifyBatch |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [records, headers] of [[25, []], [100, []], [25, JSON_HEADERS], [100, JSON_HEADERS]] as const) {
  const inputs = batchOf(records, headers);
  const batch = encodeBatch(inputs);
  const target = new Uint8Array(batch.length);
  const copy = nsPerRecord(records, () => (target.set(batch), target[0]! + 1));
  const encode = nsPerRecord(records, () => encodeBatch(inputs).length);
  const stored = nsPerRecord(records, () => decodeStoredBatch(batch).records.length);
  const full = nsPerRecord(records, () => decodeBatch(batch, 0, { crcVerified: true }).records.length);
  const verify = nsPerRecord(records, () => verifyBatch(batch).recordCount);
  const cell = (ns: number) => `${ns.toFixed(0)} ns (${(ns / copy).toFixed(0)}x)`;
  const shape = headers.length === 0 ? '' : ', content-type header';
  console.log(`| ${records} x 100 B${shape} | ${copy.toFixed(1)} ns | ${cell(encode)} | ${cell(stored)} | ${cell(full)} | ${cell(verify)} |`);
}
