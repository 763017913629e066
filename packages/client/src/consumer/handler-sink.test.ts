import { describe, expect, it } from 'vitest';
import { handlerSink } from './handler-sink.js';
import type { Message } from './message.js';

/** A message that records how it was settled. */
function message(id: number, settled: string[]): Message {
  const msg = { offset: BigInt(id), settled: false, ack: settle('ack'), nack: settle('nack'), releaseUnread: settle('release') };
  function settle(how: string) {
    return async () => {
      msg.settled = true;
      settled.push(`${how} ${id}`);
    };
  }
  return msg as unknown as Message;
}

/** A handler sink whose handler notes each offset it starts; `finish` gives what it returns (by default a promise that never settles). */
function recordingSink(maxInFlight: number, finish: (msg: Message) => unknown = () => new Promise<void>(() => undefined), options: { held?: boolean } = {}) {
  const started: number[] = [];
  const sink = handlerSink((msg) => {
    started.push(Number(msg.offset));
    return finish(msg);
  }, maxInFlight, options);
  return { sink, started };
}

describe('handlerSink', () => {
  it('runs at most maxInFlight handlers, each holding its place until it finishes or settles its message; the rest wait in order, and are what takeUnseen gives back', async () => {
    const settled: string[] = [];
    const releases = new Map<number, () => void>();
    const started: number[] = [];
    const sink = handlerSink((msg) => {
      started.push(Number(msg.offset));
      // A handler that settles its message itself and carries on gives its place up.
      if (msg.offset === 0n) void msg.ack();
      return new Promise<void>((resolve) => releases.set(Number(msg.offset), resolve));
    }, 2);
    for (const id of [0, 1, 2, 3, 4]) expect(sink.deliver(message(id, settled))).toBe(true);
    expect(started).toEqual([0, 1, 2]);
    releases.get(1)!();
    await Promise.resolve().then(() => undefined);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(settled).toEqual(['ack 0', 'ack 1']);
    expect(sink.takeUnseen().map((msg) => msg.offset)).toEqual([4n]);
    releases.get(0)!();
    releases.get(2)!();
    await Promise.resolve().then(() => undefined);
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it('starts waiting synchronous handlers one after the other, however many, without recursing', async () => {
    let release = (): void => undefined;
    const handled: number[] = [];
    // count handlers block (one of them until release()), count synchronous ones wait behind them.
    const count = 50_000;
    const sink = handlerSink((msg) => {
      if (msg.offset === 0n) return new Promise<void>((resolve) => (release = resolve));
      if (msg.offset < BigInt(count)) return new Promise<void>(() => undefined);
      handled.push(Number(msg.offset));
      return undefined;
    }, count);
    const settled: string[] = [];
    for (let id = 0; id < 2 * count; id++) sink.deliver(message(id, settled));
    expect(handled).toEqual([]);
    release();
    await Promise.resolve().then(() => undefined);
    expect(handled.length).toBe(count);
    // Acked, every one: not nacked by a stack overflow thrown inside a handler's call.
    expect(settled.filter((how) => !how.startsWith('ack')).length).toBe(0);
  });

  it('keeps at most maxInFlight waiting: past that the oldest is released (no attempt: no handler saw it), as the broker sends again what blocked handlers held past their leases', () => {
    const settled: string[] = [];
    const sink = handlerSink(() => new Promise<void>(() => undefined), 2);
    for (let id = 0; id < 10; id++) sink.deliver(message(id, settled));
    expect(settled).toEqual(['release 2', 'release 3', 'release 4', 'release 5', 'release 6', 'release 7']);
    expect(sink.takeUnseen().map((msg) => msg.offset)).toEqual([8n, 9n]);
  });

  it('whenReady: at once with a place free and nothing waiting; with every place held, not until a handler finishes', async () => {
    const releases = new Map<number, () => void>();
    const sink = handlerSink((msg) => new Promise<void>((resolve) => releases.set(Number(msg.offset), resolve)), 2);
    let ready = 0;
    sink.deliver(message(0, []));
    sink.whenReady(() => (ready += 1));
    expect(ready).toBe(1);
    sink.deliver(message(1, []));
    sink.deliver(message(2, [])); // waits
    sink.whenReady(() => (ready += 1));
    sink.takeUnseen(); // what waited is dropped: the places are still held
    expect(ready).toBe(1);
    sink.whenReady(() => (ready += 1)); // nothing waits, but every place is held
    expect(ready).toBe(1);
    releases.get(0)!();
    await Promise.resolve().then(() => undefined);
    expect(ready).toBe(2);
    releases.get(1)!();
    await Promise.resolve().then(() => undefined);
    expect(ready).toBe(2); // once
  });

  it("takes the broker's answer as the member's credit: that many run and that many wait", () => {
    const { sink, started } = recordingSink(2);
    sink.credit(3);
    for (let id = 0; id < 7; id++) sink.deliver(message(id, []));
    expect(started).toEqual([0, 1, 2]);
    expect(sink.takeUnseen().map((msg) => msg.offset)).toEqual([4n, 5n, 6n]);
  });
  it('with maxInFlight 1, a handler that finished (synchronously or not) never frees a second place', async () => {
    const settled: string[] = [];
    const { sink, started } = recordingSink(1, (msg) => {
      if (msg.offset === 0n) return undefined;
      if (msg.offset === 1n) return Promise.resolve();
      return new Promise<void>(() => undefined);
    });
    sink.deliver(message(0, settled));
    sink.deliver(message(1, settled));
    await Promise.resolve().then(() => undefined);
    sink.deliver(message(2, settled));
    sink.deliver(message(3, settled));
    expect(started).toEqual([0, 1, 2]);
    expect(settled).toEqual(['ack 0', 'ack 1']);
    expect(sink.oldestUnseen()?.offset).toBe(3n);
  });

  it("a throw after a synchronous handler returned (the window's own work as it finishes) is no handler failure: no nack, the error is not swallowed, and its place is given back once", () => {
    const settled: string[] = [];
    const { sink, started } = recordingSink(1, (msg) => (msg.offset === 1n ? undefined : new Promise<void>(() => undefined)));
    sink.deliver(message(0, settled));
    const broken = new Error('broken whenReady callback');
    sink.whenReady(() => {
      throw broken;
    }); // every place held: called once handler 1 finishes
    sink.credit(2);
    expect(() => sink.deliver(message(1, settled))).toThrow(broken);
    expect(settled).toEqual(['ack 1']);
    for (const id of [2, 3]) sink.deliver(message(id, settled));
    expect(started).toEqual([0, 1, 2]); // handler 0 still holds a place: one more runs, not two
    expect(sink.oldestUnseen()?.offset).toBe(3n);
  });

  it('a place freed by a settlement goes to the next delivery as it arrives', () => {
    const { sink, started } = recordingSink(2, (msg) => {
      if (msg.offset === 0n) void msg.ack();
      return new Promise<void>(() => undefined);
    });
    for (const id of [0, 1, 2]) sink.deliver(message(id, []));
    expect(started).toEqual([0, 1, 2]);
    expect(sink.oldestUnseen()).toBeUndefined();
  });

  it('made held, runs no handler until open(): what arrives waits, oldest first, bounded as ever', () => {
    const settled: string[] = [];
    const { sink, started } = recordingSink(2, undefined, { held: true });
    for (const id of [0, 1, 2]) sink.deliver(message(id, settled));
    expect(started).toEqual([]);
    expect(settled).toEqual(['release 0']);
    expect(sink.oldestUnseen()?.offset).toBe(1n);
    let ready = 0;
    sink.whenReady(() => (ready += 1)); // places are free, but what waits will say the consumer runs
    expect(ready).toBe(0);
    sink.open();
    expect(started).toEqual([1, 2]);
  });

  it('takeUnseen(pick) takes only what pick picks, and the rest waits on in order', () => {
    const { sink, started } = recordingSink(4);
    for (let id = 0; id < 8; id++) sink.deliver(message(id, []));
    expect(started).toEqual([0, 1, 2, 3]);
    expect(sink.takeUnseen((msg) => msg.offset % 2n === 1n).map((msg) => msg.offset)).toEqual([5n, 7n]);
    expect(sink.takeUnseen((msg) => msg.offset > 100n)).toEqual([]);
    expect(sink.takeUnseen().map((msg) => msg.offset)).toEqual([4n, 6n]);
    expect(sink.takeUnseen(() => true)).toEqual([]);
  });
});
