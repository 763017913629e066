/**
 * The `brook` command: dispatches to one file per command under commands/. Errors go to stderr
 * with their code; exit codes are listed in exit.ts.
 */
import { usageError } from './cli-args.js';
import { loadCommand, loadCommands } from './commands/index.js';
import { EXIT, EXIT_CODES_USAGE, fail } from './exit.js';

async function usage(): Promise<string> {
  const commands = await loadCommands();
  return `usage: brook COMMAND [options]      (brook COMMAND --help for its options)

commands:
${commands.map((command) => `  ${command.name.padEnd(10)}${command.summary}`).join('\n')}

Commands that talk to a server take --url (default: $BROOK_URL, else ws://127.0.0.1:7070) and
--token (default: $BROOK_TOKEN); --json prints machine-readable output.
${EXIT_CODES_USAGE}`;
}

async function run(name: string | undefined, args: readonly string[]): Promise<number | undefined> {
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await usage()}\n`);
    return EXIT.ok;
  }
  const command = await loadCommand(name);
  if (!command) throw usageError(`unknown command ${name}`, await usage());
  return command.run(args, process.env);
}

// A reader that went away (`brook consume ... | head`) is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  fail(error);
});

const [name, ...args] = process.argv.slice(2);
run(name, args).then((code) => {
  // Exit once stdout is flushed: where it is asynchronous (pipes on macOS) exit() would cut it short.
  if (code !== undefined) process.stdout.write('', () => process.exit(code));
}, fail);
