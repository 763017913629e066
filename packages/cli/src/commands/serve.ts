/**
 * `brook serve`: opens a broker, serves it over WebSocket (plus /healthz and /metrics on the same
 * port) and keeps it running until SIGINT/SIGTERM, then shuts down cleanly (clients get close
 * 1001, then the clean-shutdown marker is written); a second signal exits at once.
 */
import { resolve } from 'node:path';
import { Broker } from '@brook/broker';
import { crc32cImplementation } from '@brook/protocol';
import { defineCommand } from '../cli-args.js';
import { EXIT, fail } from '../exit.js';
import { SERVE_SPEC, serveOptions, type ServeOptions } from './serve-options.js';

export const serveCommand = defineCommand(SERVE_SPEC, async (args, env) => {
  await serve(serveOptions(args, env));
  return undefined; // keeps running until a signal
});

async function serve(options: ServeOptions): Promise<void> {
  // Signals are handled from the start, so a Ctrl-C during open still ends in a clean close.
  let stopping = false;
  let opened: Promise<Broker> | undefined;
  const stop = (signal: string) => {
    if (stopping) process.exit(EXIT.interrupted);
    stopping = true;
    process.stdout.write(`brook: ${signal}, shutting down cleanly (again to exit at once)\n`);
    (opened ?? Promise.reject(new Error('not open')))
      .then((broker) => broker.close())
      .then(() => process.exit(EXIT.ok), fail);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // The broker's own timers are unref'd; this keeps the process alive until a signal.
  setInterval(() => undefined, 1 << 30);

  const startedAtMs = performance.now();
  opened = Broker.open(options.broker);
  const broker = await opened;
  const server = await broker.listen(options.listen);
  const where = options.broker.storage === 'memory' ? 'memory (nothing is written to disk)' : resolve(broker.dataDir);
  const fsync = typeof broker.fsync === 'object' ? `every ${broker.fsync.intervalMs} ms` : broker.fsync;
  process.stdout.write(
    `brook: broker open in ${(performance.now() - startedAtMs).toFixed(0)} ms\n` +
    `  url:    ${server.url}${options.listen.token ? ' (token required)' : ''}\n` +
    `  data:   ${where}\n  fsync:  ${fsync}\n  topics: ${broker.listTopics().join(', ') || '(none)'}\n` +
    `  crc32c: ${crc32cImplementation}\n` +
    `  recovery: ${broker.openedClean ? 'clean shutdown found, no scan' : 'unclean or first start, tails scanned'}\n` +
    `Ctrl-C to stop.\n`,
  );
}

