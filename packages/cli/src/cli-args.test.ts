import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineCommand, parseCommandArgs, type Command, type CommandSpec } from './cli-args.js';
import { loadCommand, loadCommands } from './commands/index.js';
import { startPositionOption, durationOption } from './positions.js';

const SPEC: CommandSpec = {
  name: 'try', summary: 'a test command', usage: 'usage: brook try A [B]', required: ['A'], optional: ['B'],
  options: { count: { type: 'string' }, mode: { type: 'string' }, flag: { type: 'boolean' }, header: { type: 'string', multiple: true }, from: { type: 'string' }, every: { type: 'string' } },
};
const parse = (...args: string[]) => parseCommandArgs(SPEC, args);
const usageError = expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('usage: brook try') });

/** Every command and subcommand, flattened. */
function allCommands(commands: readonly Command[]): Command[] {
  return commands.flatMap((command) => [command, ...allCommands(command.subcommands ?? [])]);
}

describe('the shared option parser', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives positionals by name and options typed', () => {
    const args = parse('x', '--count', '3', '--flag', '--header', 'a=1', '--header', 'b=2', '--mode', 'key');
    expect([args.required('A'), args.arg('B'), args.integer('count', { min: 1 }), args.flag('flag'), args.strings('header')]).toEqual(['x', undefined, 3, true, ['a=1', 'b=2']]);
    expect(args.choice('mode', ['none', 'key'] as const)).toBe('key');
    expect(parse('x', 'y').arg('B')).toBe('y');
  });

  it.each([[[]], [['x', 'y', 'z']], [['x', '--bogus']], [['x', '--count']], [['x', '--flag=1']]])('rejects %j with INVALID_CONFIG and the usage', (args) => {
    expect(() => parse(...args)).toThrow(usageError);
  });

  it.each([
    [['x', '--bogus'], 'unknown option --bogus'],
    [['x', '-b'], 'unknown option -b'],
    [['x', '--count'], '--count needs a value'],
    [['x', '--flag=1'], '--flag takes no value'],
    [['x', '--mode', '--flag'], '--mode needs a value, got --flag, which looks like an option (write --mode=--flag if it is the value)'],
  ])('says what is wrong with %j in its own words, then the usage', (args, message) => {
    expect(() => parse(...args)).toThrow(expect.objectContaining({ message: `INVALID_CONFIG: ${message}\n\nusage: brook try A [B]` }));
  });

  it('takes a value starting with a dash when written --name=value, and a lone dash as it is', () => {
    expect(parse('x', '--mode=-1').string('mode')).toBe('-1');
    expect(parse('x', '--mode', '-').string('mode')).toBe('-');
  });

  it('states the bounds an integer must be within', () => {
    expect(() => parse('x', '--count', '0').integer('count', { min: 1 })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^INVALID_CONFIG: --count must be an integer >= 1, got 0\n/) }));
    expect(() => parse('x', '--count', '9').integer('count', { min: 1, max: 8 })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^INVALID_CONFIG: --count must be an integer from 1 to 8, got 9\n/) }));
  });

  it.each([['--count', '0'], ['--count', '-1'], ['--count', '1.5'], ['--count', 'x']])('rejects %s %s as an integer >= 1', (flag, value) => {
    expect(() => parse('x', flag, value).integer('count', { min: 1 })).toThrow(usageError);
  });

  it('rejects a value outside the choices', () => {
    expect(() => parse('x', '--mode', 'fifo').choice('mode', ['none', 'key'])).toThrow(usageError);
  });

  it('reads every start position form and rejects anything else', () => {
    const from = (text: string) => startPositionOption(parse('x', '--from', text), 'from');
    expect(from('earliest')).toBe('earliest');
    expect(from('latest')).toBe('latest');
    expect(from('42')).toEqual({ offset: 42n });
    expect(from('2024-05-01T12:00:00Z')).toEqual({ timestamp: Date.UTC(2024, 4, 1, 12) });
    for (const bad of ['soon', '-3', 'May 1', '2024-13-45']) expect(() => from(bad)).toThrow(usageError);
  });

  it('reads an ISO time without a zone as UTC, as every time Brook prints is, whatever the machine\'s time zone', () => {
    const from = (text: string) => startPositionOption(parse('x', '--from', text), 'from');
    const zone = process.env['TZ'];
    process.env['TZ'] = 'Asia/Tokyo';
    try {
      expect(from('2024-05-01T12:00:00')).toEqual({ timestamp: Date.UTC(2024, 4, 1, 12) });
      expect(from('2024-05-01 12:00')).toEqual({ timestamp: Date.UTC(2024, 4, 1, 12) });
      expect(from('2024-05-01T12:00:00.250')).toEqual({ timestamp: Date.UTC(2024, 4, 1, 12, 0, 0, 250) });
      expect(from('2024-05-01')).toEqual({ timestamp: Date.UTC(2024, 4, 1) });
      expect(from('2024-05-01T12:00:00+09:00')).toEqual({ timestamp: Date.UTC(2024, 4, 1, 3) });
    } finally {
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  });

  it('reads durations in ms, s, m, h and d', () => {
    const every = (text: string) => durationOption(parse('x', '--every', text), 'every');
    expect([every('250'), every('30s'), every('15m'), every('12h'), every('7d')]).toEqual([250, 30_000, 900_000, 43_200_000, 604_800_000]);
    for (const bad of ['0', '1w', 's', '1.5h']) expect(() => every(bad)).toThrow(usageError);
    const message = (text: string) => expect(() => every(text)).toThrow(expect.objectContaining({ message: expect.stringContaining(`INVALID_CONFIG: --every ${text} `) }));
    message('1.5h'); // not a duration: says what one looks like
    expect(() => every('1.5h')).toThrow(/must be milliseconds or a duration like 30s, 15m, 12h, 7d/);
    expect(() => every('0')).toThrow(/--every 0 must be at least 1 ms/);
    expect(every(`${Number.MAX_SAFE_INTEGER}`)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => every('104249991375d')).toThrow(/--every 104249991375d is 9007199254[0-9]+ ms, more than the largest duration, 9007199254740991 ms/);
  });

  it('--help on every command and subcommand prints its usage and exits 0, before any parsing', async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
    for (const command of allCommands(await loadCommands())) {
      written.length = 0;
      expect(await command.run(['--help'], {})).toBe(0);
      expect(written.join('')).toMatch(new RegExp(`^usage: brook ${command.name}`));
    }
  });

  it('each command loads under its own name, and no other name loads one', async () => {
    for (const command of await loadCommands()) expect((await loadCommand(command.name))?.name).toBe(command.name);
    for (const name of ['nope', 'toString', '__proto__', 'topics create']) expect(loadCommand(name)).toBeUndefined();
  });

  it('a command is its spec plus a handler that only runs on valid input', async () => {
    const handler = vi.fn(async () => 0);
    const command = defineCommand(SPEC, handler);
    await expect(command.run(['--count'], {})).rejects.toThrow(usageError);
    expect(handler).not.toHaveBeenCalled();
    expect(await command.run(['x'], {})).toBe(0);
  });
});
