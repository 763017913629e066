import { describe, expect, it } from 'vitest';
import { handlerSink } from './handler-sink.js';
import type { Message } from './message.js';

/** A message that records how it was settled. */
function message(id: number, settled: string[]): Message {
  const settle = (how: string) => async () => void settled.push(`${how} ${id}`);
  return { offset: BigInt(id), ack: settle('ack'), nack: settle('nack') } as unknown as Message;
}

describe('handlerSink', () => {
  it('runs at most maxInFlight handlers; the rest wait in order for one to finish, and are what takeUnseen gives back', async () => {
    const settled: string[] = [];
    const releases: (() => void)[] = [];
    const started: number[] = [];
    const sink = handlerSink((msg) => {
      started.push(Number(msg.offset));
      // A handler that settles its message itself and carries on still holds its place.
      if (msg.offset === 0n) void msg.ack();
      return new Promise<void>((resolve) => releases.push(resolve));
    }, 2);
    for (const id of [0, 1, 2, 3, 4]) expect(sink.deliver(message(id, settled))).toBe(true);
    expect(started).toEqual([0, 1]);
    releases[1]!();
    await Promise.resolve().then(() => undefined);
    expect(started).toEqual([0, 1, 2]);
    expect(settled).toEqual(['ack 0', 'ack 1']);
    expect(sink.takeUnseen().map((msg) => msg.offset)).toEqual([3n, 4n]);
    releases[0]!();
    releases[2]!();
    await Promise.resolve().then(() => undefined);
    expect(started).toEqual([0, 1, 2]);
  });

  it('starts waiting synchronous handlers one after the other, however many, without recursing', async () => {
    let release = (): void => undefined;
    const handled: number[] = [];
    const sink = handlerSink((msg) => {
      if (msg.offset === 0n) return new Promise<void>((resolve) => (release = resolve));
      handled.push(Number(msg.offset));
      return undefined;
    }, 1);
    const count = 100_000;
    for (let id = 0; id < count; id++) sink.deliver(message(id, []));
    expect(handled).toEqual([]);
    release();
    await Promise.resolve().then(() => undefined);
    expect(handled.length).toBe(count - 1);
  });
});
