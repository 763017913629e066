/**
 * `brook demo [NAME] [--seed N]`: the DDIA chapter-11 scenarios of @brook/examples. Without NAME
 * it lists them; with one it prints the run's trace, counters and verdict line. Everything runs
 * in this process on a virtual clock: no server is involved, and a seed replays the same story.
 */
import { defineCommand } from '../cli-args.js';
import { EXIT } from '../exit.js';
import { table, toJson } from '../format.js';

export const demoCommand = defineCommand(
  {
    name: 'demo', summary: 'run a DDIA chapter-11 scenario (no server needed); no NAME lists them', optional: ['NAME'],
    options: { seed: { type: 'string' }, json: { type: 'boolean' } },
    usage: `usage: brook demo [NAME] [--seed N] [--json]

Without NAME: the demos, in the order of the chapter. With NAME: runs it on a virtual clock and
prints its trace, counters and verdict; the same seed prints the same run.

  --seed N       the run's seed (default: the demo's own, usually 1)
  --json         without NAME the list, with NAME the result (verdict, facts, counters) instead of the trace
exit codes: 0 the demo showed its phenomenon, 1 it did not (or failed), 2 bad usage`,
  },
  async (args) => {
    // Loaded here, not at the top: the simulator and its demos are for this command only.
    const { listDemos, runDemo } = await import('@brook/examples');
    const name = args.arg('NAME');
    const seed = args.integer('seed', { min: 0, max: 2 ** 32 - 1 });
    if (name === undefined) {
      if (seed !== undefined) throw args.usageError('--seed needs a demo NAME');
      const demos = listDemos();
      process.stdout.write(args.flag('json') ? `${toJson(demos)}\n` : table([['NAME', 'TITLE', 'DDIA SECTION'], ...demos.map((d) => [d.name, d.title, d.section])]));
      return EXIT.ok;
    }
    const json = args.flag('json');
    const result = await runDemo(name, { ...(seed === undefined ? {} : { seed }), write: (line) => void (json || process.stdout.write(`${line}\n`)) });
    if (json) process.stdout.write(`${toJson(result)}\n`);
    return result.shown ? EXIT.ok : EXIT.failure;
  },
);
