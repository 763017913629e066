/**
 * Fuzzing the live server: 20,000 frames (mutated valid HELLOs and REQUESTs of every op, noise;
 * see fixtures/server-fuzz-frames.ts) over real WebSocket connections to broker.listen() on
 * port 0. Requests are pipelined; a connection the server closes is replaced by a new one.
 *
 * What must hold: the process neither crashes nor leaks an unhandled rejection or an internal
 * error; every decodable REQUEST gets exactly its answer without closing the connection; every
 * violation closes it with a documented code; afterwards a healthy client is served and every
 * record acknowledged before the fuzz is still there. Same seed, same frames.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import { CloseCode, FrameKind, decodeBatch, decodeFrame, encodeBatch } from '@brook/protocol';
import { Broker, INTERNAL_ERROR_WARNING, type BrookServer } from '@brook/broker';
import { RawClient } from './fixtures/server-raw-client.js';
import { fuzzFrame, helloBytes, type FuzzFrame } from './fixtures/server-fuzz-frames.js';

const FRAMES = 20_000;
const SEED = Number(process.env['BROOK_FUZZ_SEED'] ?? 20_251);
/** Requests pipelined before the run waits for their answers. */
const RUN_MAX = 50;
/** Connections fuzzing at once: a closed connection's round trips overlap with other lanes' work. */
const LANES = 8;
const VIOLATION_CLOSES = new Set<number>([CloseCode.PROTOCOL_ERROR, CloseCode.UNSUPPORTED_DATA, CloseCode.MESSAGE_TOO_BIG]);
const HANDSHAKE_CLOSES = new Set<number>([...VIOLATION_CLOSES, CloseCode.UNSUPPORTED_VERSION]);

/** One fuzzing connection: counts answers by requestId, nothing else kept. */
class FuzzConnection {
  readonly closed: Promise<number>;
  isClosed = false;
  private readonly pending = new Map<number, () => void>();
  private onFirst: ((kind: number) => void) | undefined;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(new Uint8Array(data));
      this.onFirst?.(frame.kind);
      this.onFirst = undefined;
      if (frame.kind === FrameKind.RESPONSE || frame.kind === FrameKind.ERROR) this.pending.get(frame.requestId)?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', (code) => {
      this.isClosed = true;
      this.onFirst?.(-1);
      resolve(code);
    }));
  }

  static async connect(url: string): Promise<FuzzConnection> {
    const connection = new FuzzConnection(new WebSocket(url, { perMessageDeflate: false }));
    await new Promise((resolve, reject) => {
      connection.socket.once('open', resolve);
      connection.socket.once('error', reject);
    });
    return connection;
  }

  /** Resolves with the kind of the server's first frame (-1: it closed without one). */
  handshake(hello: Uint8Array): Promise<number> {
    const first = new Promise<number>((resolve) => (this.onFirst = resolve));
    this.socket.send(hello);
    return first;
  }

  /** Sends a decodable REQUEST under a fresh requestId; resolves when it is answered. */
  request(bytes: Uint8Array, requestId: number): Promise<void> {
    const frame = bytes.slice();
    new DataView(frame.buffer).setUint32(1, requestId);
    const answered = new Promise<void>((resolve) => this.pending.set(requestId, resolve));
    this.socket.send(frame);
    return answered;
  }
}

let broker: Broker;
let server: BrookServer;
const acked: { offset: bigint; value: string }[] = [];
const unhandled: unknown[] = [];
const internalErrors: Error[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const onWarning = (warning: Error & { code?: string }) => {
  if (warning.code === INTERNAL_ERROR_WARNING) internalErrors.push(warning);
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('warning', onWarning);
  broker = await Broker.open({ storage: 'memory' });
  server = await broker.listen({ port: 0 });
  const client = await RawClient.open(server.url);
  await client.ok('createTopic', { name: 'keep' });
  await client.ok('createTopic', { name: 'fuzz', partitions: 2 });
  for (let batch = 0; batch < 10; batch++) {
    const values = [0, 1, 2].map((i) => `keep-${batch}-${i}`);
    const result = await client.ok('produce', { topic: 'keep', partition: 0 }, encodeBatch(values.map((value) => ({ key: null, value: new TextEncoder().encode(value), timestamp: 1 }))));
    values.forEach((value, i) => acked.push({ offset: BigInt(result['baseOffset'] as string) + BigInt(i), value }));
  }
  await client.close();
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.off('warning', onWarning);
  await broker.close();
});

interface Counts {
  requests: number;
  violations: number;
  hellos: number;
}

/** Sends `items` in order over connections it replaces whenever the server closes one. */
async function fuzzLane(items: readonly FuzzFrame[], counts: Counts): Promise<void> {
  let connection: FuzzConnection | undefined;
  let nextRequestId = 1;
  for (let i = 0; i < items.length;) {
    const item = items[i]!;
    if (item.type === 'hello' || !connection || connection.isClosed) {
      connection?.socket.terminate();
      connection = await FuzzConnection.connect(server.url);
      const hello = item.type === 'hello' ? item.bytes : helloBytes();
      if (item.type === 'hello') (i += 1), (counts.hellos += 1);
      if ((await connection.handshake(hello)) !== FrameKind.WELCOME) expect(HANDSHAKE_CLOSES).toContain(await connection.closed);
      continue;
    }
    const run: Extract<FuzzFrame, { type: 'request' }>[] = [];
    for (let next = items[i]; next?.type === 'request' && run.length < RUN_MAX; next = items[++i]) run.push(next);
    const violation = items[i]?.type === 'violation' ? (items[i++] as Extract<FuzzFrame, { type: 'violation' }>) : undefined;
    const answers = run.map((request) => ({ request, answered: connection!.request(request.bytes, nextRequestId++) }));
    counts.requests += run.length;
    if (violation) {
      // Requests before it were read first; their answers may be dropped by the close.
      connection.socket.send(violation.bytes);
      counts.violations += 1;
      expect(VIOLATION_CLOSES).toContain(await connection.closed);
    } else {
      const waited = answers.filter(({ request }) => request.awaitable).map(({ answered }) => answered);
      const outcome = await Promise.race([Promise.all(waited).then(() => 'answered'), connection.closed.then((code) => `closed ${code}`)]);
      expect(outcome).toBe('answered');
    }
  }
  connection?.socket.terminate();
}

it(`survives ${FRAMES} fuzzed frames (seed ${SEED}) and still serves what was acknowledged`, async () => {
  const items = fc.sample(fuzzFrame, { numRuns: FRAMES, seed: SEED });
  const counts: Counts = { requests: 0, violations: 0, hellos: 0 };
  const laneSize = Math.ceil(FRAMES / LANES);
  await Promise.all(Array.from({ length: LANES }, (_, lane) => fuzzLane(items.slice(lane * laneSize, (lane + 1) * laneSize), counts)));
  expect(counts.requests + counts.violations + counts.hellos).toBe(FRAMES);
  expect(counts.requests).toBeGreaterThan(FRAMES / 4);
  expect(counts.violations).toBeGreaterThan(FRAMES / 10);
  expect([unhandled, internalErrors]).toEqual([[], []]);

  const healthy = await RawClient.open(server.url);
  const fetched = await healthy.request('fetch', { topic: 'keep', partition: 0, offset: '0', maxRecords: acked.length });
  const records = decodeBatch(fetched.data).records.map((r) => ({ offset: r.offset, value: new TextDecoder().decode(r.value!) }));
  expect(records).toEqual(acked);
  expect(((await healthy.ok('listTopics'))['topics'] as string[])).toContain('keep');
  await healthy.close();
}, 120_000);
