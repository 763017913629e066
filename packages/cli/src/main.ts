/**
 * The `brook` command. Today: `brook serve`, which opens a broker and keeps it running until
 * SIGINT/SIGTERM, then shuts down cleanly (writing the clean-shutdown marker); a second signal
 * exits at once. Errors go to stderr with their code; the exit code is 2 for bad usage, 1 for
 * anything else.
 */
import { resolve } from 'node:path';
import { Broker } from '@brook/broker';
import { isBrookError } from '@brook/protocol';
import { SERVE_USAGE, parseServeOptions } from './serve-options.js';

async function serve(args: readonly string[]): Promise<void> {
  const options = parseServeOptions(args);
  // Signals are handled from the start, so a Ctrl-C during open still ends in a clean close.
  let stopping = false;
  let opened: Promise<Broker> | undefined;
  const stop = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write(`brook: ${signal}, shutting down cleanly (again to exit at once)\n`);
    (opened ?? Promise.reject(new Error('not open')))
      .then((broker) => broker.close())
      .then(() => process.exit(0), (error: unknown) => fail(error));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // The broker's own timers are unref'd; this keeps the process alive until a signal.
  setInterval(() => undefined, 1 << 30);

  const startedAtMs = performance.now();
  opened = Broker.open(options);
  const broker = await opened;
  const where = options.storage === 'memory' ? 'memory (nothing is written to disk)' : resolve(broker.dataDir);
  const fsync = typeof broker.fsync === 'object' ? `every ${broker.fsync.intervalMs} ms` : broker.fsync;
  process.stdout.write(
    `brook: broker open in ${(performance.now() - startedAtMs).toFixed(0)} ms\n` +
    `  data:   ${where}\n  fsync:  ${fsync}\n  topics: ${broker.listTopics().join(', ') || '(none)'}\n` +
    `  recovery: ${broker.openedClean ? 'clean shutdown found, no scan' : 'unclean or first start, tails scanned'}\n` +
    `Ctrl-C to stop.\n`,
  );
}

function fail(error: unknown): never {
  if (isBrookError(error)) {
    process.stderr.write(`brook: ${error.message}\n`);
    process.exit(error.code === 'INVALID_CONFIG' ? 2 : 1);
  }
  process.stderr.write(`brook: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
}

const [command, ...args] = process.argv.slice(2);
if (command === 'serve') serve(args).catch(fail);
else {
  process.stderr.write(`${SERVE_USAGE}\n`);
  process.exit(command === undefined || command === '--help' ? 0 : 2);
}
