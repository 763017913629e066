/**
 * HTTP on the WebSocket server's port: /healthz and /metrics (docs/protocol.md), a real
 * broker.listen() on port 0 and a raw `ws` client for the metrics' traffic.
 */
import { connect as connectTcp } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FrameKind } from '@brook/protocol';
import { batchOf, serveAfterEach } from './fixtures/server-ws-harness.js';

const { serve, connect } = serveAfterEach();

describe('HTTP on the same port', () => {
  it('GET /healthz is 200 ok; other paths 404', async () => {
    const { server } = await serve();
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect([health.status, health.headers.get('content-type'), await health.text()]).toEqual([200, 'text/plain', 'ok']);
    const probed = await fetch(`http://127.0.0.1:${server.port}/healthz?probe=1`); // a query string is ignored
    expect([probed.status, await probed.text()]).toEqual([200, 'ok']);
    const missing = await fetch(`http://127.0.0.1:${server.port}/nope`);
    expect([missing.status, missing.headers.get('content-type'), await missing.text()]).toEqual([404, 'text/plain', 'not found']);
  });

  it('HEAD is answered as GET without the body; another method on /healthz or /metrics is 405 naming GET and HEAD', async () => {
    const { server } = await serve();
    for (const path of ['/healthz', '/metrics']) {
      const get = await fetch(`http://127.0.0.1:${server.port}${path}`);
      const head = await fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'HEAD' });
      expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([200, get.headers.get('content-type'), '']);
      await get.text();
      const post = await fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'POST' });
      expect([post.status, post.headers.get('allow'), post.headers.get('content-type'), await post.text()]).toEqual([405, 'GET, HEAD', 'text/plain', 'method not allowed']);
    }
    expect((await fetch(`http://127.0.0.1:${server.port}/nope`, { method: 'HEAD' })).status).toBe(404);
  });

  it('/healthz and /metrics asked while the broker closes are 503 CLOSED, and the broker goes on closing', { timeout: 5_000 }, async () => {
    const { broker, server } = await serve();
    const sockets = ['/healthz', '/metrics'].map((path) => {
      const socket = connectTcp(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`); // the request begun: close() does not drop it as idle
      return socket;
    });
    // A round trip on another connection: the server has read the first half of both requests by then.
    await (await fetch(`http://127.0.0.1:${server.port}/healthz`)).text();
    const closing = broker.close();
    const answers = sockets.map((socket) => new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.end('\r\n');
    }));
    for (const answer of await Promise.all(answers)) expect(answer).toMatch(/^HTTP\/1\.1 503 [^]*\r\ncontent-type: text\/plain\r\n[^]*\r\n\r\n[^]*CLOSED/);
    await closing;
  });

  it('GET /metrics: end offsets, group lag and in-flight, redeliveries, dead letters, connections, unsent bytes', async () => {
    const { server } = await serve();
    const client = await connect(server.url);
    await client.ok('createTopic', { name: 'orders' });
    await client.ok('produce', { topic: 'orders', partition: 0 }, batchOf('a', 'b', 'c'));
    const { subscription } = await client.ok('subscribe', { topic: 'orders', group: 'billing', backoff: { initialMs: 0, maxMs: 0 } });
    const deliver = await client.next((f) => f.kind === FrameKind.DELIVER);
    const first = deliver.json['first'] as number;
    await client.ok('settle', { subscription, ack: [[first, first]], nack: [[first + 1, 0]], reject: [[first + 2, 'bad']] });
    await client.next((f) => f.kind === FrameKind.DELIVER); // the nacked record, again
    const scraped = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(scraped.headers.get('content-type')).toBe('text/plain; version=0.0.4'); // Prometheus text format 0.0.4
    const metrics = await scraped.text();
    expect(metrics).toContain('# TYPE brook_partition_end_offset gauge');
    expect(metrics).toContain('brook_partition_end_offset{topic="orders",partition="0"} 3');
    expect(metrics).toContain('brook_group_lag{topic="orders",group="billing"} 1');
    expect(metrics).toContain('brook_group_in_flight{topic="orders",group="billing"} 1');
    expect(metrics).toContain('brook_redeliveries_total{topic="orders",group="billing"} 1');
    expect(metrics).toContain('brook_dead_letters_total{topic="orders",group="billing"} 1');
    expect(metrics).toContain('brook_connections 1');
    expect(metrics).toContain('brook_unsent_bytes 0'); // the client has read everything
  });
});
