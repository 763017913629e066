import { expect, it } from 'vitest';
import { SimulatedHost, WAL_DIR, drainAll, value } from './fixtures/wal-harness.js';

it('roll dir entry', async () => {
  const host = new SimulatedHost();
  const options = { maxRecords: 1, segmentBytesMax: 4096 };
  const buffer = await host.open(options);
  host.fs.onOperation = (op) => {
    if (op.kind !== 'syncDir' || op.path !== WAL_DIR) return;
    host.fs.onOperation = undefined;
    host.crash(buffer); // killed (no power cut) between the new segment's fsync and its directory's
    throw new Error('killed');
  };
  const padded = (n: number) => { const v = new Uint8Array(1500); v.set(value(n)); return { value: v }; };
  for (let n = 1; n <= 4; n++) await buffer.put(padded(n)).catch(() => undefined);
  console.log(await host.fs.readdir(WAL_DIR));
  const reopened = await host.open(options);
  console.log(reopened.stats);
  await reopened.put(padded(5));
  host.crash(reopened, {});
  const last = await host.open(options);
  console.log(await host.fs.readdir(WAL_DIR), last.stats);
  const out = (await drainAll(last)).map(String);
  expect(out).toContain('5');
});
