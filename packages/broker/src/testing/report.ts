/** The readable report of a simulation: verdict, seed, replay line, plan, each checker with its violations. */
import { formatViolation } from './checkers.js';
import { describeFault } from './fault-plan.js';
import { formatTime } from './history.js';
import type { SimulationResult } from './simulate.js';

export function formatReport(result: SimulationResult, { history = false }: { history?: boolean } = {}): string {
  const verdict = result.ok ? '✓ simulation passed' : `✗ simulation failed (${result.violations.length} violation${result.violations.length === 1 ? '' : 's'})`;
  const lines = [
    `${verdict}  seed=${result.seed}  virtual time=${formatTime(result.virtualTimeMs)}  events=${result.history.events.length}  ended: ${result.endedBy}`,
    `  replay: ${result.replay}`,
    `  fault plan (${result.plan.length}):`,
    ...result.plan.map((fault, i) => `    #${i + 1} ${describeFault(fault)}`),
    '  checkers:',
  ];
  for (const check of result.results) {
    lines.push(`    ${check.ok ? '✓' : '✗'} ${check.checker.padEnd(18)} ${check.summary}`);
    for (const violation of check.violations) lines.push(indent(formatViolation(violation), '      '));
  }
  if (history) lines.push('  history:', indent(result.history.format(), '    '));
  return lines.join('\n');
}

function indent(text: string, prefix: string): string {
  return text.split('\n').map((line) => prefix + line).join('\n');
}
