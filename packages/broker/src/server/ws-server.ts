/**
 * `broker.listen()`: one node HTTP server carrying the WebSocket protocol (docs/protocol.md) and
 * two plain HTTP paths, GET /healthz and GET /metrics.
 *
 * The WebSocket side only moves bytes: each binary message goes to its Session, which owns the
 * protocol. This file owns what only a socket has: the connection limit (1013), text messages
 * (1003), oversized frames (ws answers 1009 itself, from maxPayload), pings for idle detection
 * (4003), pause/resume of reading, and bufferedAmount.
 *
 * Timers come from the broker's Clock: one ping round for all connections every idleTimeoutMs,
 * not a timer per connection.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, type Clock, type FramePeer, type Timer } from '@brook/protocol';
import type { Broker } from '../broker.js';
import { resolveListenOptions, type ListenOptions } from '../config/server-options.js';
import type { Session } from './session.js';
import type { SessionHub } from './session-hub.js';
import { Metrics } from './metrics.js';

/** Close reasons are ASCII here: 123 bytes is 123 characters. */
const CLOSE_REASON_CHARS_MAX = 123;

export interface BrookServer {
  /** ws://host:port/ */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Stops listening; every client gets END for its subscriptions and close 1001. */
  close(): Promise<void>;
}

interface Connection {
  readonly socket: WebSocket;
  readonly session: Session;
  /** A pong (or any message) came since the last ping. */
  alive: boolean;
}

export async function listenWebSocket(hub: SessionHub, broker: Broker, clock: Clock, options: ListenOptions): Promise<BrookServer> {
  const { port, host, token, limits } = resolveListenOptions(options);
  const connections = new Set<Connection>();
  const metrics = new Metrics(broker, () => connections.size);
  const http = createServer((request, response) => serveHttp(request, response, metrics));
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.frameBytesMax, perMessageDeflate: false });

  http.on('upgrade', (request, socket, head) => {
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (connections.size >= limits.connectionsMax) {
        ws.close(CloseCode.TRY_AGAIN_LATER, 'connectionsMax reached');
        return;
      }
      connections.add(accept(ws, remoteOf(request)));
    });
  });

  function accept(ws: WebSocket, remote: string): Connection {
    ws.binaryType = 'nodebuffer';
    const session = hub.open(peerOf(ws), remote, { limits, token });
    const connection: Connection = { socket: ws, session, alive: true };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      connection.alive = true;
      if (isBinary) session.receive(data);
      else session.close(CloseCode.UNSUPPORTED_DATA, 'Brook speaks binary frames only');
    });
    ws.on('pong', () => (connection.alive = true));
    // ws reports a bad frame (too large: it closes 1009 itself; bad opcode, bad UTF-8 close reason)
    // as 'error' and then 'close': the session ends on 'close'.
    ws.on('error', () => undefined);
    ws.on('close', () => {
      connections.delete(connection);
      session.disconnected();
    });
    return connection;
  }

  let pingTimer: Timer | undefined;
  const pingRound = () => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.session.close(CloseCode.IDLE_TIMEOUT, 'no pong within idleTimeoutMs');
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
    pingTimer = clock.setTimer(limits.idleTimeoutMs, pingRound);
  };

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  pingTimer = clock.setTimer(limits.idleTimeoutMs, pingRound);
  const bound = (http.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `ws://${urlHost}:${bound}/`,
    port: bound,
    host,
    close: () => (closing ??= closeServer()),
  };

  async function closeServer(): Promise<void> {
    pingTimer?.cancel();
    metrics.dispose();
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeIdleConnections();
    for (const connection of connections) connection.session.shutdown();
    await closed;
    wss.close();
  }
}

function peerOf(ws: WebSocket): FramePeer {
  return {
    send: (frame) => {
      if (ws.readyState === ws.OPEN) ws.send(frame);
    },
    // A close reason is limited to 123 bytes (RFC 6455); ws throws past it.
    close: (code, reason) => ws.close(code, reason.slice(0, CLOSE_REASON_CHARS_MAX)),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
}

function remoteOf(request: IncomingMessage): string {
  const { remoteAddress, remotePort } = request.socket;
  return `${remoteAddress ?? '?'}:${remotePort ?? '?'}`;
}

function serveHttp(request: IncomingMessage, response: ServerResponse, metrics: Metrics): void {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method === 'GET' && path === '/healthz') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  } else if (request.method === 'GET' && path === '/metrics') {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
  } else {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}
