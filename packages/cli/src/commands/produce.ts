/**
 * `brook produce TOPIC`: one record per input line (stdin or --file), as text or, with --input,
 * as JSON values or bytes spelled in base64 or hex. Lines are sent in chunks with a bounded number of chunks unanswered, so a huge
 * file streams through in constant memory; progress goes to stderr once a second (when the count moved), a summary of
 * the offsets written to stdout. A bad line or a signal ends the input there: what came before
 * is sent, and the summary printed.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BrookError, isBrookError, type Client, type ProduceResult, type Producer, type ProducerRecord } from '@brook/client';
import { defineCommand, type ParsedArgs } from '../cli-args.js';
import { EXIT } from '../exit.js';
import { plural, toJson } from '../format.js';
import { lineChunks } from '../line-chunks.js';
import { countAndRate, startProgress } from '../progress.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, withClient } from '../remote.js';
import { SendWindow } from '../send-window.js';

/** Lines are sent in chunks of this many records, or fewer once the first has waited CHUNK_LINGER_MS (a slow input). */
const CHUNK_RECORDS = 1000;
const CHUNK_LINGER_MS = 100;

const INPUTS = ['text', 'json', 'base64', 'hex'] as const;

const USAGE = `usage: brook produce TOPIC [--file PATH] [--input text|json|base64|hex] [--key K | --key-separator SEP]
                     [--header K=V]...

Sends one record per line of stdin (or of --file), then prints the offsets written. Lines go out
as they come (a chunk waits at most ${CHUNK_LINGER_MS} ms for more), so tail -f LOG | brook produce T streams.

  --file PATH          read lines from PATH instead of stdin
  --input FORMAT       text (default): each line is sent as text. json: each line is a JSON
                       value, sent as JSON (content-type application/json); blank lines are
                       skipped. (Before --input, --json meant this; it now means JSON output.)
                       base64, hex: each line is the value's bytes, spelled so (hex may start
                       with 0x, as consume prints bytes that are not UTF-8; consume --json
                       prints them as { "base64": ... })
  --key K              the key of every record (default: none, records spread round-robin)
  --key-separator SEP  each line is KEY SEP VALUE: the key is what comes before the first SEP
  --header K=V         a header on every record; repeatable
${REMOTE_USAGE} (the summary: topic, records, offsets per partition)
A topic that is not there fails the run (UNKNOWN_TOPIC, exit 1) before a line is read.
Progress goes to stderr every second in which more lines were sent (an idle input prints nothing). A bad line (not JSON, no key separator, too
large for a batch) ends the run (exit 1) naming it: every line before it is sent, nothing from it
on, and the summary says where they went. Ctrl-C ends it cleanly: the lines read so far are sent,
then the summary (a second Ctrl-C exits at once). A server gone for good (5 reconnect attempts)
ends it with DISCONNECTED (exit 3), while the input is quiet too.`;

interface LineFormat {
  input: (typeof INPUTS)[number];
  key: string | undefined;
  keySeparator: string | undefined;
  headers: Record<string, string>;
}

export const produceCommand = defineCommand(
  {
    name: 'produce', summary: 'send lines of stdin or a file as records', usage: USAGE, required: ['TOPIC'], names: ['TOPIC'],
    options: {
      ...REMOTE_OPTIONS, input: { type: 'string' }, file: { type: 'string' },
      key: { type: 'string' }, 'key-separator': { type: 'string' }, header: { type: 'string', multiple: true },
    },
  },
  async (args, env) => {
    const format = lineFormat(args);
    const file = args.string('file');
    if (file !== undefined) {
      await access(file).catch((error: NodeJS.ErrnoException) => {
        throw new BrookError('IO_ERROR', `cannot read --file ${file}: ${error.code ?? error.message}`, { file });
      });
    }
    const topic = args.required('TOPIC');
    if (file === undefined && process.stdin.isTTY) process.stderr.write('brook: reading records from stdin, one per line; Ctrl-D to end\n');
    const interrupted = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted.signal.aborted) process.exit(EXIT.interrupted);
      process.stderr.write(`brook: ${signal}: the lines read so far are sent, then the summary (again to exit at once)\n`);
      interrupted.abort();
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    try {
      return await withClient(args, env, async (client) => {
        // A topic that is not there fails the run before it reads a line, not once the first chunk
        // goes out (or never: an empty input sent nothing and said "sent 0 records", exit 0).
        await client.admin.describeTopic(topic);
        const startedAtMs = performance.now();
        const input = file === undefined ? process.stdin : createReadStream(file);
        const lost = connectionLost(client);
        const stop = AbortSignal.any([interrupted.signal, lost.signal]);
        const sent = await sendLines(client.producer({ lingerMs: 5 }), topic, input, format, stop);
        const { written } = sent;
        const failure = sent.failure ?? lost.error();
        const failed = failure === undefined ? undefined : withWhatWasSent(asReadError(failure, file ?? 'stdin'), written);
        // Printed after a failure too once something was written: which offsets hold which lines is what the user needs then.
        const done = summarize(topic, written, performance.now() - startedAtMs);
        if (failed === undefined || written.count > 0) process.stdout.write(`${args.flag('json') ? toJson(done) : summaryLine(done)}\n`);
        if (failed !== undefined) throw failed;
        return EXIT.ok;
      });
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
  },
);

/**
 * Aborts once the client gave up reconnecting: with no send under way (a quiet `tail -f`), no
 * failure would otherwise come until the next line, and the command would wait on a dead server.
 */
function connectionLost(client: Client): { signal: AbortSignal; error: () => BrookError | undefined } {
  const lost = new AbortController();
  let error: BrookError | undefined;
  client.once('closed', (closedBy) => {
    if (closedBy === undefined) return; // our own close(), after the input ended
    error = closedBy;
    lost.abort();
  });
  return { signal: lost.signal, error: () => error };
}

function lineFormat(args: ParsedArgs): LineFormat {
  const key = args.string('key');
  const keySeparator = args.string('key-separator');
  if (key !== undefined && keySeparator !== undefined) throw args.usageError('--key and --key-separator exclude each other');
  if (keySeparator === '') throw args.usageError('--key-separator must not be empty');
  const headers: Record<string, string> = {};
  for (const header of args.strings('header')) {
    const equals = header.indexOf('=');
    if (equals <= 0) throw args.usageError(`--header must be KEY=VALUE, got ${header}`);
    headers[header.slice(0, equals)] = header.slice(equals + 1);
  }
  return { input: args.choice('input', INPUTS) ?? 'text', key, keySeparator, headers };
}

/** The record for line number `lineNumber`, or undefined for a line to skip. */
function toLineRecord(line: string, lineNumber: number, format: LineFormat): LineRecord | undefined {
  if (format.input === 'json' && line.trim() === '') return undefined;
  let key: string | undefined = format.key;
  let text = line;
  if (format.keySeparator !== undefined) {
    const at = line.indexOf(format.keySeparator);
    if (at < 0) throw new BrookError('INVALID_REQUEST', `line ${lineNumber} has no key separator ${JSON.stringify(format.keySeparator)}`, { line: lineNumber });
    key = line.slice(0, at);
    text = line.slice(at + format.keySeparator.length);
  }
  const { value, headers } = format.input === 'json' ? jsonValue(text, lineNumber, format.headers) : { value: lineValue(text, lineNumber, format.input), headers: format.headers };
  return { line: lineNumber, record: { value, ...(key === undefined ? {} : { key }), ...(Object.keys(headers).length > 0 ? { headers } : {}) } };
}

/** Strict spellings: Buffer.from skips what it cannot read, which would send other bytes than meant. */
const BYTE_SPELLINGS = {
  base64: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  hex: /^(?:0x)?(?:[0-9a-fA-F]{2})*$/,
} as const;

/** The value of a text, base64 or hex line: the text itself, or the bytes it spells. */
function lineValue(text: string, lineNumber: number, input: 'text' | 'base64' | 'hex'): string | Uint8Array {
  if (input === 'text') return text;
  if (!BYTE_SPELLINGS[input].test(text)) throw new BrookError('INVALID_REQUEST', `line ${lineNumber} is not ${input}`, { line: lineNumber });
  return Buffer.from(input === 'hex' && text.startsWith('0x') ? text.slice(2) : text, input);
}

/**
 * Objects, arrays, numbers and booleans go as they are (the client sends them as stable JSON);
 * the client would send a string as text and null as a tombstone, so those go as JSON bytes
 * with the JSON content-type the client gives the others.
 */
function jsonValue(text: string, lineNumber: number, headers: Record<string, string>): { value: ProducerRecord['value']; headers: Record<string, string> } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BrookError('INVALID_REQUEST', `line ${lineNumber} is not JSON: ${(error as Error).message}`, { line: lineNumber });
  }
  if ((typeof value === 'object' && value !== null) || typeof value === 'number' || typeof value === 'boolean') return { value, headers };
  return { value: Buffer.from(JSON.stringify(value)), headers: { 'content-type': 'application/json', ...headers } };
}

/** A record and the input line it came from, so a failure can name the line. */
interface LineRecord {
  line: number;
  record: ProducerRecord;
}

/** Per partition: offsets written, first to last, and how many; and how many records came from which lines. */
class Written {
  readonly partitions = new Map<number, { first: bigint; last: bigint; count: number }>();
  count = 0;
  private readonly chunks: { firstLine: number; count: number }[] = [];

  tally(chunk: readonly LineRecord[], results: readonly ProduceResult[]): void {
    this.count += results.length;
    if (results.length > 0) this.chunks.push({ firstLine: chunk[0]!.line, count: results.length });
    for (const { partition, offset } of results) {
      const range = this.partitions.get(partition);
      if (range) Object.assign(range, { first: offset < range.first ? offset : range.first, last: offset > range.last ? offset : range.last, count: range.count + 1 });
      else this.partitions.set(partition, { first: offset, last: offset, count: 1 });
    }
  }

  /** Records sent from `line` on: none, unless a send already under way when an earlier one failed got through. */
  countFrom(line: number): number {
    return this.chunks.reduce((sum, chunk) => sum + (chunk.firstLine >= line ? chunk.count : 0), 0);
  }
}

/**
 * Sends the lines until the input ends or `signal` aborts. A failure (a bad line, a refused send,
 * the input's read error) comes back with what was written, after every send under way has finished.
 */
async function sendLines(producer: Producer, topic: string, input: Readable, format: LineFormat, signal: AbortSignal): Promise<{ written: Written; failure?: unknown }> {
  const written = new Written();
  const window = new SendWindow();
  const stopProgress = startProgress(() => written.count, (elapsedMs) => countAndRate(written.count, 'record', elapsedMs, 'sent'));
  try {
    const toItem = (line: string, lineNumber: number) => toLineRecord(line, lineNumber, format);
    let first = true;
    for await (const chunk of lineChunks(input, toItem, { max: CHUNK_RECORDS, lingerMs: CHUNK_LINGER_MS, signal })) {
      await window.add(() => sendChunk(producer, topic, chunk, written, window));
      // The first send looks the topic up (partitions, batch limits); until it has, the checks of
      // the sends behind it (a line over the batch limit) come only after the lookup, when later
      // sends have started too, and lines after a bad one would go out. Once it is known, a send
      // refused by its own checks fails the window before the next chunk is added.
      if (first) await window.finish();
      first = false;
    }
    await window.finish();
    return { written };
  } catch (error) {
    await window.finish().catch(() => undefined);
    return { written, failure: error };
  } finally {
    stopProgress();
  }
}

/**
 * One chunk's send. The client refuses a whole send for one record over the batch limit before
 * sending any of it; the lines before that record still go, as the lines before any bad line do.
 */
async function sendChunk(producer: Producer, topic: string, chunk: readonly LineRecord[], written: Written, window: SendWindow): Promise<void> {
  try {
    written.tally(chunk, await producer.send(topic, chunk.map((item) => item.record)));
  } catch (error) {
    // Only the client's own check names the record; the broker's refusal of a batch does not.
    if (!isBrookError(error, 'MESSAGE_TOO_LARGE') || typeof error.details['record'] !== 'number') throw error;
    const position = error.details['record'];
    const line = chunk[position]!.line;
    const tooLarge = new BrookError('MESSAGE_TOO_LARGE', `line ${line} is over the batch limit of ${String(error.details['limit'])} bytes as a record`, { ...error.details, line }, { cause: error });
    window.fail(tooLarge); // before the send below: no later chunk may start meanwhile
    const before = chunk.slice(0, position);
    if (before.length > 0) written.tally(before, await producer.send(topic, before.map((item) => item.record)));
    throw tooLarge;
  }
}

/** An error reading the input (`--file` a directory, EIO), in brook's terms rather than node's stack. */
function asReadError(error: unknown, source: string): unknown {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (isBrookError(error) || typeof errno !== 'string') return error;
  return new BrookError('IO_ERROR', `cannot read ${source}: ${errno}`, { file: source, errno }, { cause: error });
}

/** The failure, saying how much was sent: for a bad line, whether that was exactly the lines before it. */
function withWhatWasSent(error: unknown, written: Written): unknown {
  if (!isBrookError(error)) return error;
  const line = error.details['line'];
  const sent = written.count === 0 ? 'nothing was sent' : `${plural(written.count, 'record')} sent`;
  let what = sent;
  if (typeof line === 'number') {
    const after = written.countFrom(line);
    what = after === 0 ? `${sent}: the lines before it, nothing from it on` : `${sent}, ${after} of them from line ${line} on, sent while it failed`;
  }
  return new BrookError(error.code, `${error.description} (${what})`, error.details, { cause: error });
}

interface Summary {
  topic: string;
  records: number;
  elapsedMs: number;
  partitions: { partition: number; firstOffset: bigint; lastOffset: bigint; records: number }[];
}

function summarize(topic: string, written: Written, elapsedMs: number): Summary {
  const partitions = [...written.partitions.entries()].sort(([a], [b]) => a - b)
    .map(([partition, r]) => ({ partition, firstOffset: r.first, lastOffset: r.last, records: r.count }));
  return { topic, records: partitions.reduce((sum, p) => sum + p.records, 0), elapsedMs: Math.round(elapsedMs), partitions };
}

function summaryLine({ topic, records, elapsedMs, partitions }: Summary): string {
  const ranges = partitions.map((p) => `partition ${p.partition}: offsets ${p.firstOffset}..${p.lastOffset}`);
  return `sent ${plural(records, 'record')} to ${topic} in ${elapsedMs} ms${ranges.length > 0 ? ` (${ranges.join(', ')})` : ''}`;
}
