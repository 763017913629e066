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
  let paused = false;
  const held: Uint8Array[] = [];
  const end = (code: number, reason: string, tellClient: boolean): void => {
    if (!open) return;
    open = false;
    held.length = 0;
    queueMicrotask(() => session.disconnected());
    if (tellClient) queueMicrotask(() => handlers.closed(code, reason));
  };
  const peer: FramePeer = {
    send: (frame) => queueMicrotask(() => open && handlers.frame(frame)),
    close: (code, reason) => end(code, reason, true),
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
    close: (code, reason) => end(code, reason, false),
    terminate: () => end(ABNORMAL_CLOSURE, 'terminated', true),
  };
}
