import { Interface } from 'node:readline';
import { Readable } from 'node:stream';
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

  it('ends with the error a line throws', async () => {
    const failing = lineChunks(lines(3), (line) => {
      if (line === 'l2') throw new Error('bad line');
      return line;
    }, { max: 10, lingerMs: 1_000 });
    await expect(collect(failing)).rejects.toThrow('bad line');
  });
});
