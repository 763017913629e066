/**
 * The in-process transport: a session on a broker object (SessionHost.openSession) exchanging
 * the very frames a WebSocket would carry. Each hop is a queueMicrotask, so neither side ever
 * runs inside the other's call stack (no re-entrancy a socket could not produce), and a session
 * that pauses reading (requestsInFlightMax reached) holds the client's frames back like TCP would.
 */
import { type FramePeer, type SessionHost } from '@brook/protocol';
import type { Transport, TransportFactory, TransportHandlers } from './transport.js';

const ABNORMAL_CLOSURE = 1006;

export function inProcessTransport(host: SessionHost): TransportFactory {
  return { description: 'in-process', open: async (handlers) => openSession(host, handlers) };
}

function openSession(host: SessionHost, handlers: TransportHandlers): Transport {
  let open = true;
  /**
   * Whether frames the server sent still reach the client. A server that closes (END CLOSED,
   * then 1001) has its last frames read before the close, as over a socket; a dropped connection
   * or the client's own close loses them.
   */
  let toClient = true;
  let paused = false;
  const held: Uint8Array[] = [];
  const end = (code: number, reason: string, by: 'server' | 'client' | 'network'): void => {
    if (!open) return;
    open = false;
    toClient = by === 'server';
    held.length = 0;
    queueMicrotask(() => session.disconnected());
    if (by !== 'client') queueMicrotask(() => handlers.closed(code, reason));
  };
  const peer: FramePeer = {
    send: (frame) => {
      // Sent after the server's own close: nothing carries it, as on a closed socket.
      if (open) queueMicrotask(() => toClient && handlers.frame(frame));
    },
    close: (code, reason) => end(code, reason, 'server'),
    bufferedAmount: 0,
    pause: () => (paused = true),
    resume: () => {
      paused = false;
      while (!paused && held.length > 0) deliver(held.shift()!);
    },
  };
  const session = host.openSession(peer, { remote: 'in-process' });
  const deliver = (frame: Uint8Array): void => queueMicrotask(() => open && session.receive(frame));
  return {
    send: (frame) => {
      if (!open) return;
      if (paused) held.push(frame);
      else deliver(frame);
    },
    close: async (code, reason) => end(code, reason, 'client'),
    terminate: () => end(ABNORMAL_CLOSURE, 'terminated', 'network'),
  };
}
