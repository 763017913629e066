/**
 * What only a client over WebSocket meets (a token, a server's frame limit); everything the two
 * transports share is in client-conformance.test.ts and the other *-conformance files.
 */
import { describe, expect, it } from 'vitest';
import { BATCH_HEADER_BYTES, TOPIC_NAME_LENGTH_MAX, sizeOfRecordMax } from '@brook/protocol';
import { LIMITS } from '@brook/broker';
import { connect } from '@brook/client';
import { FRAME_OVERHEAD_BYTES } from '../packages/client/src/producer/producer.js';
import { unique, webSocketTarget } from './fixtures/client-targets.js';

describe('client over WebSocket only', () => {
  it('refuses a wrong token with UNAUTHORIZED and does not retry', async () => {
    const target = await webSocketTarget();
    const server = await target.broker.listen({ port: 0, token: 'secret' });
    try {
      await expect(connect(server.url, { token: 'wrong' })).rejects.toMatchObject({ code: 'UNAUTHORIZED', retriable: false });
      const ok = await connect(server.url, { token: 'secret' });
      await ok.close();
    } finally {
      await server.close();
      await target.close();
    }
  });

  it('produces under a server at the smallest frameBytesMax: a record filling the room left beside the frame overhead goes, one byte more is MESSAGE_TOO_LARGE', async () => {
    const target = await webSocketTarget();
    const server = await target.broker.listen({ port: 0, frameBytesMax: LIMITS.frameBytesMax.min });
    const client = await connect(server.url);
    try {
      const topic = unique('small-frames').padEnd(TOPIC_NAME_LENGTH_MAX, 'x'); // the longest produce JSON
      await client.admin.createTopic(topic);
      const producer = client.producer();
      // A byte value's record counts the most bytes it can take in a batch: its length plus 22 here.
      const room = LIMITS.frameBytesMax.min - FRAME_OVERHEAD_BYTES - BATCH_HEADER_BYTES - 22;
      expect(sizeOfRecordMax({ key: null, value: new Uint8Array(room), headers: [] })).toBe(room + 22);
      await expect(producer.send(topic, [{ value: new Uint8Array(room) }])).resolves.toEqual([{ partition: 0, offset: 0n }]);
      await expect(producer.send(topic, [{ value: new Uint8Array(room + 1) }])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { record: 0 } });
      await expect(producer.send(topic, [{ value: 'still connected' }])).resolves.toEqual([{ partition: 0, offset: 1n }]);
    } finally {
      await client.close();
      await server.close();
      await target.close();
    }
  });

  it('a URL that cannot be reached is DISCONNECTED naming the host, never a password or query string the URL carried', async () => {
    const target = await webSocketTarget();
    const server = await target.broker.listen({ port: 0 });
    const { port } = server;
    await server.close(); // nothing listens there now
    try {
      const error = await connect(`ws://user:url-password@127.0.0.1:${port}/path?token=query-secret`).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'DISCONNECTED', details: { url: `ws://127.0.0.1:${port}/path` } });
      expect(JSON.stringify({ message: (error as Error).message, details: (error as { details: unknown }).details })).not.toMatch(/url-password|query-secret/);
    } finally {
      await target.close();
    }
  });
});
