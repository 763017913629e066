/**
 * FileBuffer.drain(): how the background sender loop ends (docs/wal.md): on close, also while the
 * sink runs (the batch then stays for the next open), on abort, and with a throwing sink's error.
 */
import { describe, expect, it, vi } from 'vitest';
import { SimulatedHost, numbersOf, value } from './fixtures/wal-harness.js';

describe('FileBuffer drain()', () => {
  it('ends when the buffer closes while it waits for the next seal', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1 });
    const received: number[][] = [];
    const sender = buffer.drain((batch) => void received.push(numbersOf(batch)));
    await buffer.put({ value: value(1) });
    await buffer.flush();
    await host.clock.advanceAsync(0);
    await buffer.close();
    await expect(sender).resolves.toBeUndefined();
    expect(received).toEqual([[1]]);
  });

  it('ends when the buffer closes while the sink runs; that batch is emitted again by the next open', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1 });
    await buffer.put({ value: value(1) });
    await buffer.put({ value: value(2) });
    const received: number[][] = [];
    const sender = buffer.drain(async (batch) => {
      received.push(numbersOf(batch));
      await buffer.close();
    });
    await expect(sender).resolves.toBeUndefined();
    expect(received).toEqual([[1]]);
    const reopened = await host.open({ maxRecords: 1 });
    expect(numbersOf(reopened.emit())).toEqual([1]);
  });

  it('stops on abort while it waits for the next seal, without a batch to wake it', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1 });
    const stop = new AbortController();
    const sender = buffer.drain(() => undefined, { signal: stop.signal });
    await host.clock.advanceAsync(0);
    stop.abort();
    await expect(sender).resolves.toBeUndefined();
    await buffer.put({ value: value(1) });
    expect(numbersOf(buffer.emit())).toEqual([1]);
  });

  it('does not start on an aborted signal', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1 });
    await buffer.put({ value: value(1) });
    let called = false;
    await buffer.drain(() => void (called = true), { signal: AbortSignal.abort() });
    expect(called).toBe(false);
  });

  it('a sink that throws stops it with that error; the batch stays uncommitted', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1 });
    await buffer.put({ value: value(1) });
    await expect(buffer.drain(() => {
      throw new Error('sink down');
    })).rejects.toThrow('sink down');
    expect(buffer.stats).toMatchObject({ committedThrough: -1, records: 1 });
    expect(numbersOf(buffer.emit())).toEqual([1]);
  });

  it('a commit that fails with the WAL stops it with IO_ERROR, not as if closed', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1 });
    await buffer.put({ value: value(1) });
    const sender = buffer.drain(() => host.fs.failNext('write', { errno: 'EIO', path: /\.seg$/ }));
    await expect(sender).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('waits for the next seal without polling emit(), with a signal or without', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1 });
    const emit = vi.spyOn(buffer, 'emit');
    const stop = new AbortController();
    const senders = [buffer.drain(() => undefined), buffer.drain(() => undefined, { signal: stop.signal })];
    await host.clock.advanceAsync(0);
    expect(emit).toHaveBeenCalledTimes(2);
    stop.abort();
    await buffer.close();
    await expect(Promise.all(senders)).resolves.toEqual([undefined, undefined]);
  });
});

