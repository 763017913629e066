/**
 * What keeps the web pages in a developer's browser away from a local broker (docs/protocol.md,
 * "Browsers"). Any page can open ws://127.0.0.1:7070 (WebSockets are not held to CORS) and,
 * without a token, produce, consume and delete topics; a page whose own name the attacker
 * rebinds to 127.0.0.1 (DNS rebinding) reads /metrics as same-origin. webpack-dev-server
 * (CVE-2025-30359/30360) and Vite were open to exactly this. Two checks close it, made on every
 * request, HTTP and upgrade alike, before anything else:
 *
 * - Origin: a browser sends it on every WebSocket upgrade, a Node client (`ws`, @brook/client)
 *   sends none. One that is not in allowedOrigins is refused.
 * - Host, while the listener is bound to a loopback address: a browser names the host it
 *   resolved, so a rebound attacker's page sends its own name. Only IP literals, `localhost`,
 *   `*.localhost` (browsers resolve those to loopback themselves) and allowedHosts pass. Bound
 *   elsewhere, clients on the network reach the broker by any of the machine's names: the check
 *   is off, and the token is the guard (as Jupyter does).
 *
 * Pure: the listener answers a refusal with 403 (ws-server.ts).
 */
import { BlockList, isIP } from 'node:net';
import { BrookError, showValue } from '@brook/protocol';

/** In allowedOrigins or allowedHosts: every origin, every host name. */
const ANY = '*';

export interface BrowserGuard {
  /** Normalised as `originOf` has them, or ANY. */
  readonly allowedOrigins: readonly string[];
  /** Lowercase names, or ANY; undefined when the Host check is off (bound to no loopback address). */
  readonly allowedHosts: readonly string[] | undefined;
}

/**
 * `value` as an allowedOrigins option: a list of ANY or origins (`scheme://host[:port]`, a
 * trailing `/` allowed), each normalised as a browser writes its Origin header (lowercase, no
 * default port), so that `http://LOCALHOST:80/` admits `http://localhost`. INVALID_CONFIG else.
 */
export function resolveAllowedOrigins(value: unknown): readonly string[] {
  return resolveList('allowedOrigins', value, originOf, 'origins such as "http://localhost:5173", or "*"');
}

/** `value` as an allowedHosts option: a list of ANY or host names (no port), lowercased. INVALID_CONFIG else. */
export function resolveAllowedHosts(value: unknown): readonly string[] {
  return resolveList('allowedHosts', value, hostNameOf, 'host names such as "brook.test", or "*"');
}

function resolveList(option: string, value: unknown, normalise: (entry: string) => string | undefined, expected: string): readonly string[] {
  if (!Array.isArray(value)) throw new BrookError('INVALID_CONFIG', `${option} must be a list of ${expected}, got ${showValue(value)}`, { option });
  return Object.freeze(value.map((entry: unknown) => {
    const normalised = typeof entry === 'string' ? normalise(entry) : undefined;
    if (normalised === undefined) throw new BrookError('INVALID_CONFIG', `${option} must be a list of ${expected}, got ${showValue(entry)} in it`, { option });
    return normalised;
  }));
}

/** An origin as browsers serialise it, or undefined for one with a path, query, fragment or user. */
function originOf(entry: string): string | undefined {
  if (entry === ANY) return ANY;
  if (!URL.canParse(entry)) return undefined;
  const url = new URL(entry);
  if (url.username || url.password || url.search || url.hash || !['', '/'].includes(url.pathname) || url.host === '') return undefined;
  // http(s) get their origin from URL; a scheme it has none for (chrome-extension://ID) keeps its
  // host's case in URL, lowercased here as the Origin it is matched against is (originAllowed).
  return url.origin !== 'null' ? url.origin : `${url.protocol}//${url.host.toLowerCase()}`;
}

const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function hostNameOf(entry: string): string | undefined {
  if (entry === ANY) return ANY;
  const name = withoutFinalDot(entry.toLowerCase());
  return HOST_NAME.test(name) ? name : undefined;
}

/** `localhost.` is `localhost`: a name with its root dot is the same name. */
function withoutFinalDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** The guard of a listener bound to `boundAddress` (the address it got, not the host option: `localhost` binds one). */
export function browserGuard(boundAddress: string, allowedOrigins: readonly string[], allowedHosts: readonly string[]): BrowserGuard {
  return { allowedOrigins, allowedHosts: isLoopbackHost(boundAddress) ? allowedHosts : undefined };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8 (IPv4-mapped too), ::1 or the name `localhost`: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const address = unbracketed(host.toLowerCase());
  if (address === 'localhost') return true;
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function unbracketed(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/**
 * A request's header lines by name, each line apart (node's `request.headersDistinct`): a header
 * sent twice is no header of one value. A browser sends one Origin and one Host; node would join
 * two Origins with a comma, and read the first of two Hosts, which RFC 9112 3.2 forbids sending.
 */
export type HeaderLines = Readonly<Record<string, readonly string[] | undefined>>;

/** Why the request is refused (a line for its 403), or undefined if it passes. */
export function refusalOf(headers: HeaderLines, guard: BrowserGuard): string | undefined {
  if (!originAllowed(headers['origin'], guard.allowedOrigins)) {
    return 'origin not allowed: a web page may use this broker only if its origin is in allowedOrigins (brook serve --allow-origin)';
  }
  if (guard.allowedHosts !== undefined && !hostAllowed(headers['host'], guard.allowedHosts)) {
    return 'host not allowed: a broker on a loopback address answers IP addresses, localhost and allowedHosts only (brook serve --allow-host)';
  }
  return undefined;
}

/** No Origin is no browser's request (Node clients, curl, a scraper): it passes. */
function originAllowed(lines: readonly string[] | undefined, allowed: readonly string[]): boolean {
  if (lines === undefined || allowed.includes(ANY)) return true;
  return lines.length === 1 && allowed.includes(lines[0]!.toLowerCase());
}

/** `name[:port]` or `[v6]:port`; anything else (a user part, a path) is no Host a browser sends. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[^:[\]@/?#\s]+)(:\d{0,5})?$/i;

/**
 * No Host at all passes: every browser sends one (HTTP/1.1 requires it, and node refuses an
 * HTTP/1.1 request without), so its absence is an HTTP/1.0 tool, never a page.
 */
function hostAllowed(lines: readonly string[] | undefined, allowed: readonly string[]): boolean {
  if (lines === undefined || allowed.includes(ANY)) return true;
  const match = lines.length === 1 ? HOST_HEADER.exec(lines[0]!) : null;
  if (!match) return false;
  const name = withoutFinalDot(unbracketed(match[1]!.toLowerCase()));
  // An IP literal cannot be rebound; `*.localhost` is resolved to loopback by browsers themselves (RFC 6761).
  return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') || allowed.includes(name);
}
