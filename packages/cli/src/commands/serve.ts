/**
 * `brook serve`: opens a broker, serves it over WebSocket (plus /healthz and /metrics on the same
 * port) and keeps it running until SIGINT/SIGTERM, then shuts down cleanly (clients get close
 * 1001, then the clean-shutdown marker is written); a second signal exits at once.
 */
import { resolve } from 'node:path';
import { Broker, type BrookServer } from '@brook/broker';
import { crc32cImplementation } from '@brook/protocol';
import { defineCommand } from '../cli-args.js';
import { EXIT, fail } from '../exit.js';
import { SERVE_SPEC, exposureWarnings, serveOptions, type ServeOptions } from './serve-options.js';

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
  // A signal during the open is closing it (stop above): listening on it would fail CLOSED.
  if (stopping) return;
  // Told where whoever started the server looks, not only on /healthz, which nobody may poll.
  broker.on('logFailed', ({ topic, partition, group, message }) => {
    const log = group === undefined ? `partition ${partition} of topic ${topic}` : `the journal of group ${group} of topic ${topic}`;
    process.stderr.write(`brook: ${log} refuses writes until the broker restarts: ${message}\n`);
  });
  const server = await listen(broker, options.listen);
  process.stdout.write(
    `brook: broker open in ${(performance.now() - startedAtMs).toFixed(0)} ms\n` +
    `  url:    ${server.url}${options.listen.token ? ' (token required)' : ''}\n` +
    storageLines(broker, options) +
    `  topics: ${broker.listTopics().join(', ') || '(none)'}\n` +
    `  crc32c: ${crc32cImplementation}\n` +
    `Ctrl-C to stop.\n`,
  );
  for (const warning of exposureWarnings(options.listen, server.port)) process.stderr.write(`${warning}\n`);
}

/** Where data lives, and for a disk broker how it is synced and how it opened: an in-memory one has neither. */
function storageLines(broker: Broker, options: ServeOptions): string {
  if (options.broker.storage === 'memory') return '  data:   memory (nothing is written to disk: no fsync, nothing to recover)\n';
  const fsync = typeof broker.fsync === 'object' ? `every ${broker.fsync.intervalMs} ms` : broker.fsync;
  const recovery = broker.openedClean ? 'clean shutdown found, no scan' : 'unclean or first start, tails scanned';
  return `  data:   ${resolve(broker.dataDir)}\n  fsync:  ${fsync}\n  recovery: ${recovery}\n`;
}

/** A port that cannot be had (IO_ERROR from listen): the broker is closed first, so its data dir is left unlocked and marked clean. */
async function listen(broker: Broker, options: ServeOptions['listen']): Promise<BrookServer> {
  try {
    return await broker.listen(options);
  } catch (error) {
    await broker.close();
    throw error;
  }
}
