/**
 * discard 'new' over the WebSocket server (docs/semantics.md, retention): batches of several
 * connections in flight at once never take a partition past retention.maxBytes; those that do not
 * fit are TOPIC_FULL and append nothing. A real broker.listen() and raw `ws` clients.
 */
import { describe, expect, it } from 'vitest';
import { FrameKind } from '@brook/protocol';
import { batchOf, serveAfterEach } from './fixtures/server-ws-harness.js';

const harness = serveAfterEach();

describe("discard 'new' over the socket", () => {
  it('batches of several connections in flight, one byte more than maxBytes in all: the partition ends under maxBytes, the rest TOPIC_FULL', async () => {
    const { broker, server } = await harness.serve();
    const batchBytes = batchOf('x'.repeat(200)).length;
    const maxBytes = 7 * batchBytes - 1;
    await broker.createTopic('ws-full', { retention: { maxBytes, discard: 'new' } });
    const clients = [await harness.connect(server.url), await harness.connect(server.url), await harness.connect(server.url)];
    // Three connections, four batches each, all sent before any answer: room for six of the twelve.
    const requests = clients.flatMap((client) => Array.from({ length: 4 }, () => {
      const requestId = client.send('produce', { topic: 'ws-full', partition: 0 }, batchOf('x'.repeat(200)));
      return client.answer(requestId);
    }));
    const answers = await Promise.all(requests);
    const refusals = answers.filter((frame) => frame.kind === FrameKind.ERROR).map((frame) => frame.json['code']);
    expect(refusals).toEqual(Array.from({ length: 6 }, () => 'TOPIC_FULL'));
    const partition = broker.describeTopic('ws-full').partitions[0]!;
    expect([partition.sizeBytes, partition.endOffset]).toEqual([6 * batchBytes, 6n]);
  });
});
