/**
 * The lines of a stream as chunks of items, in line order, for produce: a chunk is complete at
 * `max` items, or once its first item has waited `lingerMs` for more. A fast input goes in large
 * chunks; a slow one (`tail -f log | brook produce t`) goes as it comes instead of waiting for
 * `max` lines or the end. At most two complete chunks wait for the reader: then the input is
 * paused, so a huge file streams through in constant memory.
 *
 * A line whose item throws ends the chunks: the lines before it are still yielded, then the error
 * is thrown, so a produce sends every line before a bad one and nothing from it on. An aborted
 * `signal` ends them as the input's end would (a line not yet complete is dropped).
 *
 * Built on readline's 'line' events rather than its async iterator: racing each line's read
 * against the linger timer made a large --file produce about a third slower.
 */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

export interface ChunkOptions {
  max: number;
  lingerMs: number;
  signal?: AbortSignal;
}

/** The item for line `lineNumber` (from 1), or undefined to skip the line; a throw ends the chunks with that error. */
export type LineItem<T> = (line: string, lineNumber: number) => T | undefined;

const READY_MAX = 2;

export async function* lineChunks<T>(input: Readable, toItem: LineItem<T>, options: ChunkOptions): AsyncGenerator<T[]> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  const ready: T[][] = [];
  let chunk: T[] = [];
  let linger: NodeJS.Timeout | undefined;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const cut = () => {
    clearTimeout(linger);
    linger = undefined;
    if (chunk.length > 0) ready.push(chunk);
    chunk = [];
    // Not once closed: Node >= 24 throws ERR_USE_AFTER_CLOSE from pause()/resume() on a closed interface.
    if (ready.length >= READY_MAX && !ended) lines.pause();
    notify();
  };
  let lineNumber = 0;
  lines.on('line', (line) => {
    if (failure) return; // lines already read when the failure came
    try {
      const item = toItem(line, ++lineNumber);
      if (item !== undefined) chunk.push(item);
    } catch (error) {
      failure = { error };
      cut(); // the lines before it go out all the same
      lines.close();
      return;
    }
    if (chunk.length >= options.max) cut();
    else if (chunk.length > 0) linger ??= setTimeout(cut, options.lingerMs);
  });
  lines.on('close', () => {
    ended = true; // first: the interface is closed now, cut() must not pause it
    cut();
  });
  // The interface passes its input's errors on as its own (Node >= 20), where no listener would crash the process.
  const onError = (error: unknown) => {
    failure ??= { error };
    notify();
  };
  input.on('error', onError);
  lines.on('error', onError);
  const stop = () => lines.close();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();
  try {
    for (;;) {
      const next = ready.shift();
      if (next !== undefined) {
        if (ready.length < READY_MAX && !ended) lines.resume();
        yield next;
      } else if (failure) {
        throw failure.error;
      } else if (ended) {
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    clearTimeout(linger);
    lines.close();
  }
}
