import { Interface } from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lineChunks } from './line-chunks.js';

const lines = (count: number) => Readable.from(Array.from({ length: count }, (_, i) => `l${i + 1}\n`).join(''));
const keep = (line: string) => line;

async function collect<T>(chunks: AsyncIterable<T[]>, stopAfter = Number.POSITIVE_INFINITY): Promise<T[][]> {
  const seen: T[][] = [];
  for await (const chunk of chunks) {
    seen.push(chunk);
    if (seen.length >= stopAfter) break;
  }
  return seen;
}

describe('lineChunks', () => {
  // Node >= 24 throws ERR_USE_AFTER_CLOSE from pause()/resume() on a closed interface (nodejs/node#58283);
  // older versions ignore the call. Make this Node behave like 24 so the rule is tested everywhere.
  beforeEach(() => {
    for (const method of ['pause', 'resume'] as const) {
      const original = Interface.prototype[method];
      vi.spyOn(Interface.prototype, method).mockImplementation(function (this: Interface) {
        if ((this as Interface & { closed?: boolean }).closed) throw Object.assign(new Error('readline was closed'), { code: 'ERR_USE_AFTER_CLOSE' });
        return original.call(this);
      });
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it('yields every line in order, in chunks of at most max, the chunks still waiting after the input ended included', async () => {
    const chunks = await collect(lineChunks(lines(7), keep, { max: 2, lingerMs: 1_000 }));
    expect(chunks).toEqual([['l1', 'l2'], ['l3', 'l4'], ['l5', 'l6'], ['l7']]);
  });

  it('skips lines mapped to undefined and numbers lines from 1', async () => {
    const chunks = await collect(lineChunks(lines(5), (line, number) => (number % 2 === 0 ? undefined : `${number}:${line}`), { max: 10, lingerMs: 1_000 }));
    expect(chunks).toEqual([['1:l1', '3:l3', '5:l5']]);
  });

  it('stops cleanly when the reader leaves early, with chunks still waiting', async () => {
    const chunks = await collect(lineChunks(lines(100), keep, { max: 1, lingerMs: 1_000 }), 1);
    expect(chunks).toEqual([['l1']]);
  });

  it('ends with the error a line throws, after yielding every line before it (chunks waiting and the one being filled) and none after', async () => {
    const untilBad = async (count: number, bad: string, max: number) => {
      const seen: string[][] = [];
      const failing = lineChunks(lines(count), (line) => {
        if (line === bad) throw new Error('bad line');
        return line;
      }, { max, lingerMs: 1_000 });
      await expect((async () => {
        for await (const chunk of failing) seen.push(chunk);
      })()).rejects.toThrow('bad line');
      return seen;
    };
    expect(await untilBad(6, 'l5', 2)).toEqual([['l1', 'l2'], ['l3', 'l4']]);
    expect(await untilBad(3, 'l3', 10)).toEqual([['l1', 'l2']]);
  });

  it('ends, as at the end of the input, once its signal aborts: the lines read so far are yielded, a line not yet complete is not', async () => {
    const input = new PassThrough();
    const controller = new AbortController();
    const chunks = lineChunks(input, keep, { max: 10, lingerMs: 60_000, signal: controller.signal });
    input.write('l1\nl2\nhalf');
    const first = chunks.next();
    await new Promise<void>((resolve) => setImmediate(resolve)); // the written bytes are read
    controller.abort();
    expect(await first).toEqual({ done: false, value: ['l1', 'l2'] });
    expect(await chunks.next()).toEqual({ done: true, value: undefined });
  });
});
