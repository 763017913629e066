/**
 * `broker.listen()`: one node HTTP server carrying the WebSocket protocol (docs/protocol.md) and
 * two plain HTTP paths, GET /healthz and GET /metrics. Every request, upgrade or page, first
 * passes the browser checks (browser-guard.ts: Origin, and Host on loopback) or is answered 403.
 *
 * The WebSocket side only moves bytes: each binary message goes to its Session, which owns the
 * protocol. This file owns what only a socket has: the connection limit (1013), text messages
 * (1003), oversized frames (ws answers 1009 itself, from maxPayload), pings for idle detection
 * (4003), pause/resume of reading, and bufferedAmount with its 'drain' event (the session holds
 * requests and deliveries back while the client leaves too much unread: sendBufferBytesMax).
 *
 * Timers come from the broker's Clock: one ping round for all connections every idleTimeoutMs,
 * not a timer per connection. A connection is idle when, since the last ping, the client sent
 * nothing (no pong, no message) and took none of the bytes queued for it, and the broker is not
 * working on a request of it. The second part is for a consumer slower than the server: while
 * its session is held for sendBufferBytesMax the server reads nothing, its pongs included, and
 * the ping itself waits behind the unread bytes, so a client that is reading, just slowly, could
 * not answer in time. The third is for a session held for requestsInFlightMax behind a slow
 * disk: it reads no pongs either, and the wait is the broker's; once the answers go, the rule
 * applies again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { BrookError, CloseCode, type Clock, type FramePeer, type Timer } from '@brook/protocol';
import type { Broker } from '../broker.js';
import { resolveListenOptions, type ListenOptions, type ResolvedListenOptions } from '../config/server-options.js';
import type { Session } from './session.js';
import type { SessionHub } from './session-hub.js';
import { Metrics } from './metrics.js';
import { browserGuard, refusalOf, type BrowserGuard } from './browser-guard.js';

/** Close reasons are ASCII here: 123 bytes is 123 characters. */
const CLOSE_REASON_CHARS_MAX = 123;

/**
 * Closes for a peer that has stopped talking: it will not answer the close frame either, and ws
 * would keep the socket (and its connectionsMax slot) for its closeTimeout (30 s) waiting for one.
 * So the socket is destroyed right after the close frame is written.
 */
const SILENT_PEER_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.HANDSHAKE_TIMEOUT, CloseCode.IDLE_TIMEOUT]);

export interface BrookServer {
  /** ws://host:port/ */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Stops listening; every client gets END for its subscriptions and close 1001. Resolves once every connection is gone and its session ended. */
  close(): Promise<void>;
}

interface Connection {
  readonly socket: WebSocket;
  /** The TCP socket ws writes to. */
  readonly stream: Socket;
  readonly session: Session;
  /** A pong (or any message) came since the last ping. */
  alive: boolean;
  /** bytesTaken(stream) right after the last ping. */
  takenAtPing: number;
  /** Settles on ws's 'close', once the session is disconnected and the close-grace timer cancelled. */
  closed: Promise<void>;
}

export async function listenWebSocket(hub: SessionHub, broker: Broker, clock: Clock, options: ListenOptions): Promise<BrookServer> {
  const resolved = resolveListenOptions(options);
  const listener = new WsListener(hub, clock, resolved);
  const port = await listener.start(broker);
  const urlHost = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  return { url: `ws://${urlHost}:${port}/`, port, host: resolved.host, close: () => listener.close() };
}

class WsListener {
  private readonly connections = new Set<Connection>();
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private metrics: Metrics | undefined;
  /** Set for the address bound once listening; till then the strictest, the Host check on. */
  private guard: BrowserGuard;
  private pingTimer: Timer | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly hub: SessionHub,
    private readonly clock: Clock,
    private readonly options: ResolvedListenOptions,
  ) {
    this.guard = browserGuard('127.0.0.1', options.allowedOrigins, options.allowedHosts);
    // A request a web page must not make (browser-guard.ts) is refused before anything reads the broker.
    this.http = createServer((request, response) => {
      const refusal = refusalOf(request.headersDistinct, this.guard);
      if (refusal === undefined) serveHttp(request, response, this.metrics);
      else response.writeHead(403, { 'content-type': 'text/plain' }).end(refusal);
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.limits.frameBytesMax, perMessageDeflate: false });
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refusal = refusalOf(request.headersDistinct, this.guard);
      if (refusal !== undefined) {
        refuseUpgrade(socket, refusal);
        return;
      }
      // ws listens for the socket's 'error' itself from here on, the handshake included (it destroys the socket).
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, socket, remoteOf(request)));
    });
  }

  /** Listens; resolves with the bound port, or fails with IO_ERROR naming the errno (a port in use...). */
  async start(broker: Broker): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const refused = (error: NodeJS.ErrnoException): void => reject(listenError(error, this.options.host, this.options.port));
      this.http.once('error', refused);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', refused);
        this.guard = browserGuard((this.http.address() as AddressInfo).address, this.options.allowedOrigins, this.options.allowedHosts);
        resolve();
      });
    });
    this.metrics = new Metrics(broker, () => this.connections.size, () => this.unsentBytes());
    this.pingTimer = this.clock.setTimer(this.options.limits.idleTimeoutMs, () => this.pingRound());
    return (this.http.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * After a close frame the server sent: a client that stopped reading never answers it, and ws
   * would keep the socket (and its connectionsMax slot) for its closeTimeout (30 s).
   */
  private cutAfterGrace(ws: WebSocket): void {
    if (ws.readyState === ws.CLOSED) return;
    const cut = this.clock.setTimer(this.options.limits.closeGraceMs, () => ws.terminate());
    ws.once('close', () => cut.cancel());
  }

  /** `socket` is the one ws writes to: ws reports no 'drain' itself. */
  private accept(ws: WebSocket, socket: Duplex, remote: string): void {
    const stream = socket as Socket; // an http server's 'upgrade' hands over its net.Socket
    // ws reports a bad frame (too large: it closes 1009 itself; bad opcode, bad UTF-8 close reason)
    // as 'error' and then 'close': the session ends on 'close'. Listened to before anything else,
    // since a refused connection (1013) reads on until its close completes, and an 'error' event
    // nobody listens to would be thrown, taking the whole server down.
    ws.on('error', () => this.cutAfterGrace(ws)); // ws closes it; its peer may never answer
    if (this.closing) {
      // Its upgrade was under way as the listener closed. Shutdown has ended the others already, and
      // http's close waits for every socket: cut at once, not after a close handshake it could stall.
      ws.close(CloseCode.GOING_AWAY, 'broker closing');
      ws.terminate();
      return;
    }
    if (this.connections.size >= this.options.limits.connectionsMax) {
      ws.close(CloseCode.TRY_AGAIN_LATER, 'connectionsMax reached');
      this.cutAfterGrace(ws);
      return;
    }
    const session = this.hub.open(peerOf(ws, () => this.cutAfterGrace(ws)), remote, { limits: this.options.limits, token: this.options.token });
    let ended!: () => void;
    const closed = new Promise<void>((resolve) => (ended = resolve));
    const connection: Connection = { socket: ws, stream, session, alive: true, takenAtPing: bytesTaken(stream), closed };
    this.connections.add(connection);
    // A Buffer: ws's default binaryType, 'nodebuffer'.
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      connection.alive = true;
      if (isBinary) session.receive(data);
      else session.close(CloseCode.UNSUPPORTED_DATA, 'Brook speaks binary frames only');
    });
    ws.on('pong', () => (connection.alive = true));
    // Emitted once the socket's buffer is empty after a write found it past its high-water mark
    // (16 KiB on Node 20, 64 KiB from Node 22): a session held for congestion has more than
    // sendBufferBytesMax (at least 64 KiB; the test is a strict >) unread, so a drain follows.
    socket.on('drain', () => session.drained());
    ws.on('close', () => {
      this.connections.delete(connection);
      session.disconnected();
      ended();
    });
  }

  /** One round for every connection: close those idle since the last ping (file comment), ping the rest. */
  private pingRound(): void {
    for (const connection of this.connections) {
      if (!connection.alive && !connection.session.answering && bytesTaken(connection.stream) <= connection.takenAtPing) {
        connection.session.close(CloseCode.IDLE_TIMEOUT, 'no pong within idleTimeoutMs');
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
      // After the ping: its own bytes, taken at once by an idle socket, are no sign of a reader.
      connection.takenAtPing = bytesTaken(connection.stream);
    }
    this.pingTimer = this.clock.setTimer(this.options.limits.idleTimeoutMs, () => this.pingRound());
  }

  private unsentBytes(): number {
    let sum = 0;
    for (const { stream } of this.connections) sum += stream.bytesWritten - bytesTaken(stream);
    return sum;
  }

  private async shutdown(): Promise<void> {
    this.pingTimer?.cancel();
    this.metrics?.dispose();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    // Each close cuts its socket after closeGraceMs if its client does not answer (cutAfterGrace).
    const connections = [...this.connections];
    for (const connection of connections) connection.session.shutdown();
    await closed;
    // ws reports a socket's close a tick after http counts it gone: close() resolves once every
    // session has seen its disconnect and no close-grace timer is left to fire into a closed broker.
    await Promise.all(connections.map((connection) => connection.closed));
    this.wss.close();
  }
}

/**
 * Bytes written to `stream` that the network (the kernel) has taken so far. Node hands all writes
 * queued behind one in progress to libuv as a single writev, and counts none of it as written
 * (writableLength, ws bufferedAmount) until all of it is out, which for a slow reader can be
 * many megabytes later. libuv's count of what is left of its writes moves as each part goes, so
 * bytes dispatched to libuv less that count follows the reader; both are internals of Node
 * (child_process reads writeQueueSize the same way). Without them, only whole writes count.
 */
function bytesTaken(stream: Socket): number {
  const internals = stream as unknown as { _bytesDispatched?: number; _handle?: { writeQueueSize?: number } | null };
  const unwritten = internals._handle?.writeQueueSize;
  if (internals._bytesDispatched === undefined || unwritten === undefined) return stream.bytesWritten - stream.writableLength;
  return internals._bytesDispatched - unwritten;
}

function peerOf(ws: WebSocket, cutAfterGrace: () => void): FramePeer {
  return {
    send: (frame) => {
      if (ws.readyState === ws.OPEN) ws.send(frame);
    },
    close: (code, reason) => {
      // A session held (requestsInFlightMax, sendBufferBytesMax) has paused the socket, and ws reads
      // the client's answering close frame like any other: resumed, so a client that answers ends
      // now, not at closeGraceMs (its frames are dropped: the session is closed).
      ws.resume();
      // A close reason is limited to 123 bytes (RFC 6455); ws throws past it.
      ws.close(code, reason.slice(0, CLOSE_REASON_CHARS_MAX));
      if (SILENT_PEER_CLOSE_CODES.has(code)) ws.terminate();
      else cutAfterGrace();
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
}

/**
 * A refused upgrade is answered in HTTP, 403 with the reason, as ws answers a bad handshake: the
 * socket is no WebSocket yet, and no session is opened for it.
 */
function refuseUpgrade(socket: Duplex, text: string): void {
  socket.on('error', () => socket.destroy());
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

function remoteOf(request: IncomingMessage): string {
  const { remoteAddress, remotePort } = request.socket;
  return `${remoteAddress ?? '?'}:${remotePort ?? '?'}`;
}

/** The paths served over plain HTTP; each answers GET, and HEAD as GET without the body. */
const HTTP_PATHS: ReadonlySet<string> = new Set(['/healthz', '/metrics']);
const HTTP_METHODS = 'GET, HEAD';

/** `metrics` is set once listening, before any request can come. */
function serveHttp(request: IncomingMessage, response: ServerResponse, metrics: Metrics | undefined): void {
  const path = pathOf(request.url ?? '/');
  if (!HTTP_PATHS.has(path)) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  } else if (request.method !== 'GET' && request.method !== 'HEAD') {
    // The path is there, the method is not: 405 with Allow, as HTTP asks (RFC 9110 15.5.6).
    response.writeHead(405, { 'content-type': 'text/plain', allow: HTTP_METHODS }).end('method not allowed');
  } else if (path === '/healthz') {
    // Node leaves a HEAD answer's body out itself.
    servePage(response, 'text/plain', () => metrics!.health());
  } else {
    servePage(response, 'text/plain; version=0.0.4', () => ({ status: 200, text: metrics!.render() }));
  }
}

/**
 * The path of a request target, its query string left out. The absolute-form (`http://host/path`)
 * is what a client sends when it takes the broker for a proxy, and RFC 9112 3.2.2 says a server
 * must accept it; one that is no URL is no path served (404).
 */
function pathOf(target: string): string {
  if (target.startsWith('/')) return target.split('?')[0]!;
  return URL.canParse(target) ? new URL(target).pathname : target;
}

function servePage(response: ServerResponse, contentType: string, page: () => { status: number; text: string }): void {
  let answer: { status: number; text: string };
  try {
    answer = page();
  } catch (error) {
    // The broker is closing (its reads throw CLOSED): a request must not take the process down.
    response.writeHead(503, { 'content-type': 'text/plain' }).end(String(error));
    return;
  }
  response.writeHead(answer.status, { 'content-type': contentType }).end(answer.text);
}

/** Why a port cannot be had, in the user's terms; other errnos are shown with node's message. */
const LISTEN_FAILURES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use (another broker listening? pick another port, or 0 for a free one)',
  EACCES: 'permission denied (ports below 1024 need privileges; pick another port)',
  EADDRNOTAVAIL: 'no such address on this machine (host)',
};

/** A port that cannot be had is the caller's to fix: IO_ERROR with the errno, not node's bare error. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): BrookError {
  const errno = error.code ?? 'UNKNOWN';
  const why = LISTEN_FAILURES[errno] ?? error.message;
  return new BrookError('IO_ERROR', `cannot listen on ${host}:${port}: ${errno}, ${why}`, { op: 'listen', errno, host, port }, { cause: error });
}
