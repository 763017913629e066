/**
 * Every `brook` command, in the order `brook --help` lists them, each loaded when it runs: a
 * command's module brings in what it needs (the broker and its server, the client, every demo),
 * and loading all of them through tsx took ~0.8 s before `serve` could start. `brook --help`
 * and an unknown command load them all, to list their summaries.
 */
import type { Command } from '../cli-args.js';

const LOADERS: Readonly<Record<string, () => Promise<Command>>> = {
  serve: async () => (await import('./serve.js')).serveCommand,
  topics: async () => (await import('./topics.js')).topicsCommand,
  produce: async () => (await import('./produce.js')).produceCommand,
  consume: async () => (await import('./consume.js')).consumeCommand,
  groups: async () => (await import('./groups.js')).groupsCommand,
  dlq: async () => (await import('./dlq.js')).dlqCommand,
  dump: async () => (await import('./dump.js')).dumpCommand,
  verify: async () => (await import('./verify.js')).verifyCommand,
  wal: async () => (await import('./wal.js')).walCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
};

/** The command named `name`, or undefined if there is none. */
export function loadCommand(name: string): Promise<Command> | undefined {
  return Object.hasOwn(LOADERS, name) ? LOADERS[name]!() : undefined;
}

/** Every command, in order. */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(Object.values(LOADERS).map((load) => load()));
}
