/**
 * The delivery property test explores what its scenarios hold (delivery-commands.ts): against a
 * correct engine, a command kind or a variant the arbitrary stopped making would go unseen, the
 * property passing on a narrower search. A fixed sample must show every one of them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scenarioArb, type Command } from './delivery-commands.js';

const scenarios = fc.sample(scenarioArb(40), { numRuns: 300, seed: 42 });
const commands: Command[] = scenarios.flatMap((scenario) => scenario.commands);
const variantOf = (command: Command): string[] => {
  switch (command.kind) {
    case 'settle': return [`settle ${command.action.type}${'delayMs' in command.action && command.action.delayMs !== undefined ? ' delayMs' : ''}${'ms' in command.action && command.action.ms !== undefined ? ' ms' : ''}`];
    case 'reset': return [`reset ${typeof command.to === 'string' ? command.to : Object.keys(command.to)[0]}`];
    case 'reconfigure': return [`reconfigure evict ${command.evict}`, `reconfigure ordering ${command.ordering ?? 'kept'}`, `reconfigure ${command.style}`];
    case 'join': return [`join ${command.style}`];
    case 'produce': return [`produce ${command.keys.some((key) => key === null) ? 'with' : 'without'} a null key`];
    default: return [command.kind];
  }
};

describe('the delivery property test scenarios', () => {
  it('hold every command kind and variant, alone and together', () => {
    const seen = new Set(commands.flatMap(variantOf));
    expect([...seen].sort()).toEqual([
      'advance', 'close', 'crash',
      'join handler', 'join iterator', 'join lazy',
      'produce with a null key', 'produce without a null key',
      'read',
      'reconfigure evict false', 'reconfigure evict true', 'reconfigure handler', 'reconfigure iterator', 'reconfigure lazy',
      'reconfigure ordering key', 'reconfigure ordering kept', 'reconfigure ordering none', 'reconfigure ordering partition',
      'reset earliest', 'reset latest', 'reset agoMs', 'reset offset',
      'restart', 'retain',
      'settle ack', 'settle extend', 'settle extend ms', 'settle nack', 'settle nack delayMs', 'settle reject',
    ].sort());
    expect(commands.some((command) => command.together)).toBe(true);
    expect(commands.some((command) => !command.together)).toBe(true);
  });

  it('run on 2 and 3 partitions, with and without a small unackedRecordsMax', () => {
    expect(new Set(scenarios.map((scenario) => scenario.partitions))).toEqual(new Set([2, 3]));
    expect(scenarios.some((scenario) => scenario.unackedRecordsMax === undefined)).toBe(true);
    expect(scenarios.some((scenario) => scenario.unackedRecordsMax !== undefined && scenario.unackedRecordsMax <= 16)).toBe(true);
  });
});
