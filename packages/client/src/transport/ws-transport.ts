/**
 * The WebSocket transport: one `ws` connection, binary frames only, no permessage-deflate (record
 * batches are the payload; compressing them costs more CPU than it saves on a local link). A
 * Heartbeat notices a peer that vanished; close() waits at most closeTimeoutMs for the server's
 * close frame.
 */
import WebSocket from 'ws';
import { BrookError, showUrl, type Clock, type Timer } from '@brook/protocol';
import { Heartbeat, type HeartbeatPolicy } from './heartbeat.js';
import type { Transport, TransportFactory, TransportHandlers } from './transport.js';

/**
 * The largest message taken from the server. Its frames are bounded by its frameBytesMax and
 * fetchBytesMax (each at most 256 MiB) plus a few KiB of frame and JSON, or hold one record of up
 * to its batchBytesMax (at most 64 MiB) alone. ws's own default, 100 MiB, would have the client
 * close 1009 on a server configured within its limits; this leaves room above them and still
 * bounds what a misbehaving server can make the client buffer.
 */
const SERVER_FRAME_BYTES_MAX = 512 * 1024 * 1024;

export interface WsTransportOptions {
  /** Runs the heartbeat and the close timeout. */
  clock: Clock;
  heartbeat: HeartbeatPolicy;
  /** How long close() waits for the server's close frame before dropping the socket. */
  closeTimeoutMs: number;
}

export function wsTransport(url: string, options: WsTransportOptions): TransportFactory {
  return { description: showUrl(url), open: (handlers, signal) => openSocket(url, options, handlers, signal) };
}

function openSocket(url: string, options: WsTransportOptions, handlers: TransportHandlers, signal: AbortSignal | undefined): Promise<Transport> {
  const shown = showUrl(url);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: SERVER_FRAME_BYTES_MAX });
    socket.binaryType = 'nodebuffer';
    let opened = false;
    let closedByUs = false;
    /** Why the client dropped the socket itself: ws reports such a close as 1006 with no reason. */
    let lostReason = '';
    const heartbeat = new Heartbeat(options.clock, options.heartbeat, () => socket.ping(), (reason) => {
      lostReason = reason;
      socket.terminate();
    }, () => handlers.serverBusy());
    let closeTimer: Timer | undefined;
    let gone: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (gone = resolve));
    // Given up before the upgrade was answered: nothing may stay open (or keep the process alive).
    const onAbort = (): void => {
      reject(signal!.reason);
      socket.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('open', () => {
      opened = true;
      signal?.removeEventListener('abort', onAbort);
      heartbeat.start();
      resolve({
        send: (frame) => socket.send(frame),
        close: (code, reason) => {
          closedByUs = true;
          heartbeat.stop();
          // A peer that stopped answering never sends its close frame, and ws would keep the
          // socket (and the process) for its own 30 s closeTimeout.
          closeTimer ??= options.clock.setTimer(options.closeTimeoutMs, () => socket.terminate());
          socket.close(code, reason);
          return closed;
        },
        terminate: () => socket.terminate(),
      });
    });
    socket.on('pong', () => heartbeat.heard());
    socket.on('ping', () => heartbeat.heard());
    socket.on('message', (data: Buffer, isBinary) => {
      heartbeat.heard();
      // The server never sends text; a text message would be its protocol violation, not ours to parse.
      if (isBinary) handlers.frame(data);
    });
    socket.on('close', (code, reason) => {
      heartbeat.stop();
      closeTimer?.cancel();
      gone();
      if (!opened) reject(new BrookError('DISCONNECTED', `cannot connect to ${shown} (close ${code})`, { url: shown, closeCode: code }));
      else if (!closedByUs) handlers.closed(code, reason.toString() || lostReason);
    });
    // 'close' always follows 'error'; the listener only keeps ws from throwing it.
    socket.on('error', (error) => {
      if (!opened) reject(new BrookError('DISCONNECTED', `cannot connect to ${shown}`, { url: shown }, { cause: error }));
    });
  });
}
