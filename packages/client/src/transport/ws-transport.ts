/**
 * The WebSocket transport: one `ws` connection, binary frames only, no permessage-deflate (record
 * batches are the payload; compressing them costs more CPU than it saves on a local link).
 */
import WebSocket from 'ws';
import { BrookError } from '@brook/protocol';
import type { Transport, TransportFactory, TransportHandlers } from './transport.js';

/**
 * The largest message taken from the server. Its frames are bounded by its frameBytesMax and
 * fetchBytesMax (each at most 256 MiB) plus a few KiB of frame and JSON, or hold one record of up
 * to its batchBytesMax (at most 64 MiB) alone. ws's own default, 100 MiB, would have the client
 * close 1009 on a server configured within its limits; this leaves room above them and still
 * bounds what a misbehaving server can make the client buffer.
 */
const SERVER_FRAME_BYTES_MAX = 512 * 1024 * 1024;

export function wsTransport(url: string): TransportFactory {
  return { description: url, open: (handlers, signal) => openSocket(url, handlers, signal) };
}

function openSocket(url: string, handlers: TransportHandlers, signal: AbortSignal | undefined): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: SERVER_FRAME_BYTES_MAX });
    socket.binaryType = 'nodebuffer';
    let opened = false;
    let closedByUs = false;
    // Given up before the upgrade was answered: nothing may stay open (or keep the process alive).
    const onAbort = (): void => {
      reject(signal!.reason);
      socket.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('open', () => {
      opened = true;
      signal?.removeEventListener('abort', onAbort);
      resolve({
        send: (frame) => socket.send(frame),
        close: (code, reason) => {
          closedByUs = true;
          socket.close(code, reason);
        },
        terminate: () => socket.terminate(),
      });
    });
    socket.on('message', (data: Buffer, isBinary) => {
      // The server never sends text; a text message would be its protocol violation, not ours to parse.
      if (isBinary) handlers.frame(data);
    });
    socket.on('close', (code, reason) => {
      if (!opened) reject(new BrookError('DISCONNECTED', `cannot connect to ${url} (close ${code})`, { url, closeCode: code }));
      else if (!closedByUs) handlers.closed(code, reason.toString());
    });
    // 'close' always follows 'error'; the listener only keeps ws from throwing it.
    socket.on('error', (error) => {
      if (!opened) reject(new BrookError('DISCONNECTED', `cannot connect to ${url}`, { url }, { cause: error }));
    });
  });
}
