/**
 * connect(): the one way to get a Client, over WebSocket (`ws://` / `wss://` URL) or in process
 * (any object with `openSession`, e.g. a Broker). Both exchange the same frames, so everything
 * behaves the same, reconnects included.
 */
import { BrookError, SeededRandom, SystemClock, type Clock, type SessionHost } from '@brook/protocol';
import { Client } from './client.js';
import { Connection } from './connection.js';
import { invalid, resolveConnectOptions, type ConnectOptions, type ResolvedConnectOptions } from './options.js';
import { inProcessTransport } from './transport/in-process-transport.js';
import type { TransportFactory } from './transport/transport.js';
import { wsTransport } from './transport/ws-transport.js';

let clientsCreated = 0;

/**
 * Connects and completes the handshake. Rejects with BrookError: DISCONNECTED if the server
 * cannot be reached, UNAUTHORIZED for a wrong token, TIMEOUT if no WELCOME comes within
 * connectTimeoutMs (a server that takes the TCP connection and never answers).
 *
 * ```ts
 * const client = await connect('ws://127.0.0.1:7070', { token });
 * const client = await connect(broker);   // in process: the same frames, no socket
 * ```
 */
export async function connect(target: string | URL | SessionHost, options: ConnectOptions = {}): Promise<Client> {
  const resolved = resolveConnectOptions(options);
  // keepAlive: a pending request or a reconnect in progress is work the process should wait for.
  const clock = options.clock ?? new SystemClock({ keepAlive: true });
  // Seeds differ per process and per client, so clients restarted together do not retry in lockstep.
  const random = options.random ?? new SeededRandom((clock.now() ^ (process.pid * 0x9e3779b1) ^ (clientsCreated++ * 0x85ebca6b)) | 0);
  const connection = new Connection(transportFor(target, resolved, clock), resolved, clock, random);
  await connection.open();
  return new Client(connection, clock, random);
}

function transportFor(target: string | URL | SessionHost, options: ResolvedConnectOptions, clock: Clock): TransportFactory {
  if (typeof target === 'string' || target instanceof URL) {
    const url = target.toString();
    // URL.canParse: ws would otherwise throw its own SyntaxError (a port past 65535, a broken
    // host) at the first connect, no BrookError.
    if (!/^wss?:\/\//.test(url) || !URL.canParse(url)) throw invalid('url', url, 'a ws:// or wss:// URL');
    return wsTransport(url, { clock, heartbeat: options.heartbeat, closeTimeoutMs: options.closeTimeoutMs });
  }
  if (typeof target === 'object' && target !== null && typeof target.openSession === 'function') return inProcessTransport(target);
  throw new BrookError('INVALID_CONFIG', 'connect() needs a ws:// URL or an object with openSession (a Broker)', { option: 'target' });
}
