/**
 * `brook demo` as a user runs it: the list, one demo run to its verdict, an unknown name. The
 * demos' own phenomena are tested in packages/examples; this checks the command around them.
 */
import { expect, it } from 'vitest';
import { brook } from './fixtures/cli-run.js';

it('brook demo lists the demos, runs one to its verdict (exit 0), and refuses an unknown one (exit 2)', async () => {
  const list = await brook(['demo', '--json']);
  const demos = JSON.parse(list.stdout) as { name: string; title: string }[];
  expect(demos.length).toBeGreaterThan(0);
  const [first] = demos;

  const run = await brook(['demo', first!.name, '--seed', '2']);
  expect(run.code).toBe(0);
  const heading = run.stdout.split('\n')[0]!;
  expect(heading.startsWith(first!.title)).toBe(true);
  expect(heading).toMatch(/seed=2$/);
  expect(run.stdout).toMatch(/^verdict: /m);

  const unknown = await brook(['demo', 'no-such-demo']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/^brook: INVALID_CONFIG: no demo named "no-such-demo"/);
});
