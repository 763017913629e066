/**
 * I/O failures: a failed write or fsync fails the puts waiting on it and stops the buffer (the
 * file's durable state is unknown, as after fsyncgate); reopening recovers what was durable.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedHost, drainAll, value } from './fixtures/wal-harness.js';

describe('FileBuffer I/O failures', () => {
  it.each(['write', 'sync'] as const)('a failed %s fails the buffer until it is reopened, which loses nothing acknowledged', async (op) => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 3 });
    for (let n = 1; n <= 4; n++) await buffer.put({ value: value(n) });
    host.fs.failNext(op, { errno: 'EIO', path: /\.seg$/ });
    await expect(buffer.put({ value: value(5) })).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(buffer.put({ value: value(6) })).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(() => buffer.emit()).toThrow(/IO_ERROR/);
    await expect(buffer.whenReady()).resolves.toBeUndefined();
    await buffer.close();
    const reopened = await host.open({ maxRecords: 3 });
    await reopened.flush();
    const numbers = await drainAll(reopened);
    expect(numbers.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(numbers.length).toBeLessThanOrEqual(5);
  });

  it("a put waiting for room (onFull 'wait') rejects with the failure instead of waiting forever", async () => {
    const options = { maxRecords: 5, maxBytes: 1024, walBytesMax: 4096, onFull: 'wait' } as const;
    const record = { value: new Uint8Array(100) };
    // How many such puts fit (nothing drains, so no room comes back), on a buffer of its own.
    const probeHost = new SimulatedHost();
    const probe = await probeHost.open(options);
    let capacity = 0;
    for (let admitted = true; admitted; ) {
      admitted = false;
      void probe.put(record).then(() => (admitted = true), () => undefined);
      await probeHost.clock.advanceAsync(0);
      if (admitted) capacity += 1;
    }
    const host = new SimulatedHost();
    const buffer = await host.open(options);
    for (let n = 1; n < capacity; n++) await buffer.put(record);
    host.fs.failNext('write', { errno: 'EIO', path: /\.seg$/ });
    const last = buffer.put(record); // admitted; its write fails the WAL
    const waiter = buffer.put(record); // no room: waits
    await expect(last).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(waiter).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('a drain loop stops with the failure instead of waiting forever', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1 });
    const sender = buffer.drain(() => undefined);
    host.fs.failNext('write', { errno: 'ENOSPC' });
    await expect(buffer.put({ value: value(1) })).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(sender).rejects.toMatchObject({ code: 'IO_ERROR', details: { errno: 'ENOSPC' } });
  });

  it('keeps the file system\'s error as the cause, and every later call rejects with the one failure', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 3 });
    host.fs.failNext('sync', { errno: 'EIO', path: /\.seg$/ });
    const failure = await buffer.put({ value: value(1) }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'IO_ERROR', details: { errno: 'EIO', op: 'sync' }, cause: { code: 'IO_ERROR', details: { errno: 'EIO' } } });
    await expect(buffer.put({ value: value(2) })).rejects.toBe(failure);
    expect(() => buffer.emit()).toThrow(failure as Error);
  });

  it('a write a power cut interrupted (the simulated process is dead) rejects CLOSED, not IO_ERROR', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 3 });
    host.fs.onOperation = (op) => {
      if (op.kind !== 'write') return;
      host.fs.onOperation = undefined;
      host.fs.powerCut();
    };
    await expect(buffer.put({ value: value(1) })).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(buffer.put({ value: value(2) })).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
