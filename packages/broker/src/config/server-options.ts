/**
 * The options of `broker.listen`, and the per-connection limits every session enforces (a
 * WebSocket session and an in-process one alike), resolved against the LIMITS table so a bad value
 * fails at listen() with INVALID_CONFIG naming the option.
 */
import { BrookError, showValue, checkOptionKeys, optionKeysOf, type OptionKeys } from '@brook/protocol';
import { limitOrDefault, type LIMITS } from './defaults.js';
import { resolveAllowedHosts, resolveAllowedOrigins } from '../server/browser-guard.js';

const SERVER_LIMIT_NAMES = [
  'frameBytesMax', 'connectionsMax', 'subscriptionsMax', 'requestsInFlightMax', 'sendBufferBytesMax', 'deliverRecordsMax', 'handshakeTimeoutMs', 'idleTimeoutMs',
  'closeGraceMs',
] as const satisfies readonly (keyof typeof LIMITS)[];

export type ServerLimits = Record<(typeof SERVER_LIMIT_NAMES)[number], number>;

export interface ListenOptions extends Partial<ServerLimits> {
  /** Default 7070; 0 picks a free port (tests). */
  port?: number;
  /** Default '127.0.0.1': a local broker is not reachable from the network unless asked. */
  host?: string;
  /** When set, HELLO must carry this token (compared in constant time). */
  token?: string;
  /**
   * Web pages (origins, `http://localhost:5173`) whose WebSocket upgrades and requests are
   * answered; `'*'` admits any. Default none: a request with an Origin header (only browsers send
   * one) is refused 403. Node clients send none (docs/protocol.md, "Browsers").
   */
  allowedOrigins?: readonly string[];
  /**
   * Host names a listener on a loopback address answers besides IP literals, `localhost` and
   * `*.localhost` (a hosts-file alias); `'*'` turns the Host check off. Default none: another
   * name (a DNS rebinding page) is refused 403.
   */
  allowedHosts?: readonly string[];
}

export const DEFAULT_PORT = 7070;
export const DEFAULT_HOST = '127.0.0.1';
/** No web page may use the broker unless named (docs/protocol.md, "Browsers"). */
export const DEFAULT_ALLOWED_ORIGINS: readonly string[] = Object.freeze([]);
/** On loopback, IP literals, localhost and *.localhost only. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = Object.freeze([]);
const PORT_MAX = 65_535;

export function resolveServerLimits(options: Partial<ServerLimits> = {}): ServerLimits {
  const limits = {} as ServerLimits;
  for (const name of SERVER_LIMIT_NAMES) limits[name] = limitOrDefault(name, options[name]);
  return limits;
}

export interface ResolvedListenOptions {
  port: number;
  host: string;
  token: string | undefined;
  allowedOrigins: readonly string[];
  allowedHosts: readonly string[];
  limits: ServerLimits;
}

const LISTEN_OPTION_KEYS: OptionKeys<ListenOptions> = {
  port: true, host: true, token: true, allowedOrigins: true, allowedHosts: true,
  ...optionKeysOf(SERVER_LIMIT_NAMES),
};

export function resolveListenOptions(options: ListenOptions): ResolvedListenOptions {
  checkOptionKeys(options, LISTEN_OPTION_KEYS);
  // Only an absent option takes its default: null is refused, as for every other option.
  const port = options.port === undefined ? DEFAULT_PORT : options.port;
  if (!Number.isInteger(port) || port < 0 || port > PORT_MAX) throw invalid('port', port, `an integer in [0, ${PORT_MAX}]`);
  const host = options.host === undefined ? DEFAULT_HOST : options.host;
  if (typeof host !== 'string' || host === '') throw invalid('host', host, 'a non-empty string');
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) throw invalid('token', '(hidden)', 'a non-empty string');
  const allowedOrigins = resolveAllowedOrigins(options.allowedOrigins === undefined ? DEFAULT_ALLOWED_ORIGINS : options.allowedOrigins);
  const allowedHosts = resolveAllowedHosts(options.allowedHosts === undefined ? DEFAULT_ALLOWED_HOSTS : options.allowedHosts);
  return { port, host, token: options.token, allowedOrigins, allowedHosts, limits: resolveServerLimits(options) };
}

function invalid(option: string, value: unknown, expected: string): BrookError {
  return new BrookError('INVALID_CONFIG', `${option} must be ${expected}, got ${showValue(value)}`, { option });
}
