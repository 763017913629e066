/**
 * Backpressure over a real socket (docs/protocol.md, "Requests and responses"): a raw client that
 * pipelines requests and never reads the answers. Past sendBufferBytesMax of unread answers the
 * server stops reading, so the client's own sends back up (TCP pushes back) instead of the server
 * buffering answers without bound; once the client reads, the socket's 'drain' lets it go on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind, encodeBatch } from '@brook/protocol';
import { Broker, LIMITS } from '@brook/broker';
import { RawClient } from './fixtures/server-raw-client.js';

const RECORD_BYTES = 32 * 1024;
/** Enough to fill the kernel's buffers on both sides of a loopback socket (a few MiB), not much more. */
const REQUESTS_MAX = 2000;
const BACKED_UP_BYTES = 1024 * 1024;

let broker: Broker | undefined;
let client: RawClient | undefined;

afterEach(async () => {
  client?.socket.terminate();
  await broker?.close();
  broker = client = undefined;
});

describe('a client that does not read its answers', () => {
  it('gets its requests read only as fast as it reads the answers; all are answered once it reads', { timeout: 20_000 }, async () => {
    broker = await Broker.open({ storage: 'memory' });
    const server = await broker.listen({ port: 0, sendBufferBytesMax: LIMITS.sendBufferBytesMax.min, requestsInFlightMax: 4 });
    client = await RawClient.open(server.url);
    await client.ok('createTopic', { name: 't' });
    await client.ok('produce', { topic: 't', partition: 0 }, encodeBatch([{ key: null, value: new Uint8Array(RECORD_BYTES), timestamp: 1_700_000_000_000 }]));
    client.socket.pause();
    // Each request is half its answer's size: were the server to read on, answering each, the
    // client's sends would never back up, and the server would hold every answer.
    const pad = 'x'.repeat(RECORD_BYTES / 2);
    const ids: number[] = [];
    while (client.socket.bufferedAmount < BACKED_UP_BYTES) {
      expect(ids.length, 'the server kept reading requests whose answers nobody read').toBeLessThan(REQUESTS_MAX);
      for (let i = 0; i < 16; i++) ids.push(client.send('fetch', { topic: 't', partition: 0, offset: '0', pad }));
      // Lets both ends of the socket move bytes (the server is in this process).
      await new Promise((resolve) => setImmediate(resolve));
    }
    client.socket.resume();
    const answers = await Promise.all(ids.map((id) => client!.answer(id)));
    expect(answers.every((frame) => frame.kind === FrameKind.RESPONSE && frame.json['count'] === 1)).toBe(true);
  });

  it('broker.close() does not wait for it: its socket is cut after shutdownGraceMs (ws alone would wait 30 s)', { timeout: 10_000 }, async () => {
    broker = await Broker.open({ storage: 'memory' });
    const server = await broker.listen({ port: 0, shutdownGraceMs: 50 });
    client = await RawClient.open(server.url);
    client.socket.pause();
    const closed = broker.close();
    broker = undefined;
    await closed;
  });
});
