/**
 * What every command that talks to a server shares: --url / BROOK_URL, --token / BROOK_TOKEN,
 * --json, and one client per run, closed (drained) before the command's exit code is returned.
 */
import { DEFAULT_HOST, DEFAULT_PORT } from '@brook/broker';
import { BrookError, connect, isBrookError, type Client } from '@brook/client';
import { showUrl } from '@brook/protocol';
import type { Env, ParsedArgs } from './cli-args.js';

/** Where `brook serve` listens when given no --port or --host. */
export const DEFAULT_URL = `ws://${DEFAULT_HOST}:${DEFAULT_PORT}`;

const CONNECTION_OPTIONS = { url: { type: 'string' }, token: { type: 'string' } } as const;
export const REMOTE_OPTIONS = { ...CONNECTION_OPTIONS, json: { type: 'boolean' } } as const;

const CONNECTION_USAGE = `  --url URL      server to talk to (default: $BROOK_URL, else ${DEFAULT_URL})
  --token T      token the server was started with (default: $BROOK_TOKEN)`;
export const REMOTE_USAGE = `${CONNECTION_USAGE}
  --json         machine-readable output on stdout`;

/** A server that stays away this many reconnect attempts ends the command with DISCONNECTED (exit 3). */
const RECONNECT_ATTEMPTS_MAX = 5;

export async function withClient<T>(args: ParsedArgs, env: Env, use: (client: Client) => Promise<T>): Promise<T> {
  const url = args.string('url') ?? env['BROOK_URL'] ?? DEFAULT_URL;
  const token = args.string('token') ?? env['BROOK_TOKEN'];
  let client: Client;
  try {
    client = await connect(url, { name: 'brook-cli', reconnect: { attemptsMax: RECONNECT_ATTEMPTS_MAX }, ...(token ? { token } : {}) });
  } catch (error) {
    // The client's message does not say where it tried; a user with a wrong --url needs that.
    if (isBrookError(error, 'DISCONNECTED') || isBrookError(error, 'TIMEOUT')) {
      throw new BrookError('DISCONNECTED', `cannot reach a brook server at ${showUrl(url)}: ${error.description}`, { url: showUrl(url) }, { cause: error });
    }
    throw error;
  }
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

