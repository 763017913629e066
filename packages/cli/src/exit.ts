/**
 * Exit codes of every `brook` command, and the one way a command fails: the error on stderr with
 * its code (`brook: UNKNOWN_TOPIC: ...`), then the exit code the code maps to.
 *
 *   0  success
 *   1  failure: the server refused (UNKNOWN_TOPIC, UNAUTHORIZED, ...), or dump / verify found a problem
 *   2  bad usage: unknown flag, missing argument, bad value (INVALID_CONFIG), a name no topic can
 *      have (INVALID_TOPIC_NAME: only ever one the user typed, never a state of the server)
 *   3  no server: nothing answers at --url, or the connection dropped for good (DISCONNECTED)
 */
import { isBrookError } from '@brook/protocol';

export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2, unreachable: 3, interrupted: 130 });

export const EXIT_CODES_USAGE = `exit codes: 0 ok, 1 failure (the error code is on stderr), 2 bad usage, 3 server unreachable, 130 a second Ctrl-C (serve, produce, consume, bench) or a first one of bench (after deleting its topic)`;

export function exitCodeFor(error: unknown): number {
  if (isBrookError(error, 'INVALID_CONFIG') || isBrookError(error, 'INVALID_TOPIC_NAME')) return EXIT.usage;
  if (isBrookError(error, 'DISCONNECTED')) return EXIT.unreachable;
  return EXIT.failure;
}

export function fail(error: unknown): never {
  const message = isBrookError(error) ? error.message : error instanceof Error ? error.stack : String(error);
  process.stderr.write(`brook: ${message}\n`);
  process.exit(exitCodeFor(error));
}
