/**
 * The one option parser of every `brook` command (node:util parseArgs, its strict checks made
 * here in brook's words): a command is a spec (name, positionals, options, usage text) plus a
 * handler. `--help` anywhere prints the usage; an unknown flag, a missing positional or a bad
 * value is INVALID_CONFIG (exit 2) with the usage attached, never ignored.
 */
import { parseArgs } from 'node:util';
import { BrookError, topicNameProblem } from '@brook/protocol';

export type Env = Readonly<Record<string, string | undefined>>;

interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
}

export interface CommandSpec {
  /** As typed after `brook`: 'topics create'. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The usage text printed by --help and after a usage error. */
  usage: string;
  required?: readonly string[];
  optional?: readonly string[];
  /**
   * The positionals (of required and optional) that name a topic or a group. A name no topic or
   * group can have is bad usage (exit 2), said before anything connects, not the server's
   * UNKNOWN_TOPIC (exit 1) for a name that could never have been there.
   */
  names?: readonly string[];
  options?: Readonly<Record<string, OptionSpec>>;
}

/** Resolves with the exit code, or undefined for a command that keeps running (serve). */
export type CommandRun = (args: readonly string[], env: Env) => Promise<number | undefined>;

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly run: CommandRun;
  /** Those of a command group (`topics create`, ...). */
  readonly subcommands?: readonly Command[];
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What a handler gets: positionals by name and typed, checked access to the options. */
export class ParsedArgs {
  constructor(
    private readonly spec: CommandSpec,
    private readonly positionals: readonly string[],
    private readonly values: Values,
  ) {}

  /** The positional `name` (one of spec.required / spec.optional). */
  arg(name: string): string | undefined {
    const index = [...(this.spec.required ?? []), ...(this.spec.optional ?? [])].indexOf(name);
    if (index < 0) throw new Error(`assertion failed: ${this.spec.name} has no positional ${name}`);
    return this.positionals[index];
  }

  /** A required positional: present, since parsing checked the count. */
  required(name: string): string {
    return this.arg(name)!;
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  strings(name: string): string[] {
    const value = this.values[name];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  integer(name: string, bounds: { min: number; max?: number }): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < bounds.min || value > max) {
      const range = bounds.max === undefined ? `>= ${bounds.min}` : `from ${bounds.min} to ${bounds.max}`;
      throw this.usageError(`--${name} must be an integer ${range}, got ${text}`);
    }
    return value;
  }

  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const text = this.string(name);
    if (text === undefined || (choices as readonly string[]).includes(text)) return text as T | undefined;
    throw this.usageError(`--${name} must be one of ${choices.join(', ')}, got ${text}`);
  }

  usageError(message: string): BrookError {
    return usageError(message, this.spec.usage);
  }
}

export function usageError(message: string, usage: string): BrookError {
  return new BrookError('INVALID_CONFIG', `${message}\n\n${usage}`, {});
}

/** INVALID_CONFIG (bad usage) if `value`, given as `label`, is no topic or group name. */
export function checkName(label: string, value: string, usage: string): void {
  const problem = topicNameProblem(value);
  if (problem !== undefined) throw usageError(`${label} ${JSON.stringify(value)} is no topic or group name: it ${problem}`, usage);
}

export function parseCommandArgs(spec: CommandSpec, args: readonly string[]): ParsedArgs {
  const required = spec.required ?? [];
  const optional = spec.optional ?? [];
  const options = { ...spec.options };
  // Not strict: node's strict-mode messages talk about parseArgs; optionMisuse makes the same checks in brook's words.
  const { values, positionals, tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const misuse = optionMisuse(token, options, seen);
    if (misuse !== undefined) throw usageError(misuse, spec.usage);
    seen.add(token.name);
  }
  if (positionals.length < required.length) throw usageError(`missing ${required.slice(positionals.length).join(' ')}`, spec.usage);
  if (positionals.length > required.length + optional.length) {
    throw usageError(`unexpected argument ${positionals[required.length + optional.length]}`, spec.usage);
  }
  [...required, ...optional].forEach((name, i) => {
    if (spec.names?.includes(name) && positionals[i] !== undefined) checkName(name, positionals[i], spec.usage);
  });
  return new ParsedArgs(spec, positionals, values);
}

type OptionToken = Extract<NonNullable<ReturnType<typeof parseArgs>['tokens']>[number], { kind: 'option' }>;

/**
 * What is wrong with one option as typed (`--grup`, `--count` without a value, ...), or undefined.
 * `seen` holds the options before it: a second `--partitions` would silently win over the first.
 */
function optionMisuse(token: OptionToken, options: Readonly<Record<string, OptionSpec>>, seen: ReadonlySet<string>): string | undefined {
  const option = Object.hasOwn(options, token.name) ? options[token.name]! : undefined;
  if (option === undefined) return `unknown option ${token.rawName}`;
  if (seen.has(token.name) && !option.multiple) return `${token.rawName} given twice`;
  if (option.type === 'boolean') return token.value === undefined ? undefined : `${token.rawName} takes no value`;
  if (token.value === undefined) return `${token.rawName} needs a value`;
  // `--fsync --memory`: more likely a forgotten value than a value starting with a dash (which --fsync=-x allows).
  if (!token.inlineValue && token.value.length > 1 && token.value.startsWith('-')) {
    return `${token.rawName} needs a value, got ${token.value}, which looks like an option (write ${token.rawName}=${token.value} if it is the value)`;
  }
  return undefined;
}

/** A command from its spec and handler: --help prints the usage, anything else is parsed first. */
export function defineCommand(spec: CommandSpec, handler: (args: ParsedArgs, env: Env) => Promise<number | undefined>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    run: async (args, env) => {
      if (args.includes('--help') || args.includes('-h')) {
        process.stdout.write(`${spec.usage}\n`);
        return 0;
      }
      return handler(parseCommandArgs(spec, args), env);
    },
  };
}

/** A command made of subcommands (`brook topics create`): dispatches on the first argument. */
export function defineCommandGroup(name: string, summary: string, subcommands: readonly Command[]): Command {
  // Wide enough for the longest name, so a summary never runs into it.
  const width = Math.max(20, ...subcommands.map((command) => command.name.length + 2));
  const usage = `usage: brook ${name} SUBCOMMAND [options]   (brook ${name} SUBCOMMAND --help for its options)\n\n` +
    subcommands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`).join('\n');
  return {
    name,
    summary,
    usage,
    subcommands,
    run: async (args, env) => {
      const [first, ...rest] = args;
      if (first === '--help' || first === '-h') {
        process.stdout.write(`${usage}\n`);
        return 0;
      }
      if (first === undefined) throw usageError('missing SUBCOMMAND', usage);
      const subcommand = subcommands.find((command) => command.name === `${name} ${first}`);
      if (!subcommand) throw usageError(`unknown subcommand ${name} ${first}`, usage);
      return subcommand.run(rest, env);
    },
  };
}
