/**
 * The listener against the web pages of the developer's own browser (docs/protocol.md,
 * "Browsers"): a page's WebSocket upgrade carries an Origin, and a DNS-rebound page names its own
 * host. A real broker.listen() on port 0, `ws` told to send an Origin, raw `net` for HTTP.
 */
import { connect as connectTcp } from 'node:net';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { FrameKind } from '@brook/protocol';
import { connect as connectClient } from '@brook/client';
import { RawClient } from './fixtures/server-raw-client.js';
import { serveAfterEach } from './fixtures/server-ws-harness.js';

const { serve, track } = serveAfterEach();

/** How the server answers an upgrade: 101 once open (then dropped), else the refusal's status and body. */
function upgrade(url: string, options: WebSocket.ClientOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, ...options });
    socket.on('open', () => {
      socket.terminate();
      resolve({ status: 101, body: '' });
    });
    socket.on('unexpected-response', (request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode!, body });
      });
    });
    socket.on('error', reject);
  });
}

/** A raw HTTP/1.1 GET with the given Host header (a line each, if several): status code and body. */
function get(port: number, path: string, host: string | string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    let text = '';
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n') }));
    const hostLines = [host].flat().map((name) => `Host: ${name}\r\n`).join('');
    socket.write(`GET ${path} HTTP/1.1\r\n${hostLines}Connection: close\r\n\r\n`);
  });
}

describe('Origin: web pages', () => {
  it('an upgrade from a web page (any Origin) is refused 403 by default, before a session: the page creates no topic', async () => {
    const { broker, server } = await serve();
    for (const origin of ['https://evil.example', 'http://localhost:3000', `http://127.0.0.1:${server.port}`, 'null']) {
      const refused = await upgrade(server.url, { origin });
      expect(refused.status, origin).toBe(403);
      expect(refused.body).toMatch(/^origin not allowed/);
    }
    expect(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()).toContain('brook_connections 0');
    expect(broker.listTopics()).toEqual([]);
  });

  it('a Node client sends no Origin and is served: a raw ws client and @brook/client, with no option to set', async () => {
    const { server } = await serve();
    expect(await upgrade(server.url)).toEqual({ status: 101, body: '' });
    const client = await connectClient(server.url);
    await client.admin.createTopic('origin-node-client');
    await client.close();
  });

  it('allowedOrigins admits the origins listed, as browsers write them, and no other', async () => {
    const { server } = await serve({ allowedOrigins: ['http://LOCALHOST:5173/', 'https://app.example:443', 'chrome-extension://abcdefgh'] });
    for (const origin of ['http://localhost:5173', 'https://app.example', 'chrome-extension://abcdefgh']) {
      const client = track(await RawClient.connect(server.url, { origin }));
      expect((await client.hello()).kind, origin).toBe(FrameKind.WELCOME);
    }
    for (const origin of ['http://localhost:5174', 'https://localhost:5173', 'http://app.example', 'https://app.example.evil.example', 'http://localhost:5173, https://evil.example']) {
      expect((await upgrade(server.url, { origin })).status, origin).toBe(403);
    }
  });

  it("allowedOrigins ['*'] admits every page, Origin null included", async () => {
    const { server } = await serve({ allowedOrigins: ['*'] });
    for (const origin of ['https://evil.example', 'null']) expect((await upgrade(server.url, { origin })).status).toBe(101);
  });

  it('a GET from a web page of another origin is refused 403 too', async () => {
    const { server } = await serve();
    const refused = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { origin: 'https://evil.example' } });
    expect([refused.status, (await refused.text()).startsWith('origin not allowed')]).toEqual([403, true]);
  });
});

describe('Host: DNS rebinding, on a loopback address', () => {
  it('a Host naming another name is refused 403 on /healthz, /metrics and the upgrade', async () => {
    const { server } = await serve();
    for (const path of ['/healthz', '/metrics']) {
      const refused = await get(server.port, path, `rebound.evil.example:${server.port}`);
      expect([refused.status, refused.body.includes('host not allowed')], path).toEqual([403, true]);
    }
    for (const host of ['rebound.evil.example', '127.0.0.1.nip.io', 'localhost.evil.example', 'user@127.0.0.1']) {
      expect((await upgrade(server.url, { headers: { host } })).status, host).toBe(403);
    }
  });

  it('two Host lines are refused 403 even when the first is 127.0.0.1 (node would read the first)', async () => {
    const { server } = await serve();
    expect((await get(server.port, '/metrics', ['127.0.0.1', 'rebound.evil.example'])).status).toBe(403);
    expect((await get(server.port, '/metrics', ['127.0.0.1'])).status).toBe(200);
  });

  it('IP literals, localhost and *.localhost pass, with or without a port, any case, a root dot allowed', async () => {
    const { server } = await serve();
    for (const host of ['127.0.0.1', `127.0.0.1:${server.port}`, '[::1]:7070', 'localhost', `LocalHost.:${server.port}`, 'brook.localhost']) {
      expect((await get(server.port, '/healthz', host)).status, host).toBe(200);
      expect((await upgrade(server.url, { headers: { host } })).status, host).toBe(101);
    }
  });

  it('allowedHosts adds names; [\'*\'] turns the check off', async () => {
    const { broker, server } = await serve({ allowedHosts: ['Brook.Test'] });
    expect((await get(server.port, '/healthz', `brook.test:${server.port}`)).status).toBe(200);
    expect((await get(server.port, '/healthz', 'other.test')).status).toBe(403);
    const open = await broker.listen({ port: 0, allowedHosts: ['*'] });
    expect((await get(open.port, '/healthz', 'anything.example')).status).toBe(200);
  });
});

describe('the token', () => {
  it('is never echoed: a wrong one gets UNAUTHORIZED, close 4001, with neither token in the message or the close reason', async () => {
    const { server } = await serve({ token: 'right-token-0123' });
    const client = track(await RawClient.connect(server.url));
    const refused = await client.hello({ token: 'guessed-token-4567' });
    expect([refused.kind, refused.json['code']]).toEqual([FrameKind.ERROR, 'UNAUTHORIZED']);
    const closed = await client.closed;
    expect(closed.code).toBe(4001);
    for (const text of [JSON.stringify(refused.json), closed.reason]) expect(text).not.toMatch(/right-token|guessed-token/);
  });

  it('is read from HELLO only: one in the URL query or user part is not taken', async () => {
    const { server } = await serve({ token: 'query-token' });
    for (const url of [`${server.url}?token=query-token`, server.url.replace('ws://', 'ws://query-token@')]) {
      const client = track(await RawClient.connect(url));
      expect((await client.hello()).json['code'], url).toBe('UNAUTHORIZED');
    }
  });
});
