/** `npx tsx packages/examples/src/run.ts NAME [--seed N]`: a demo without the CLI. No NAME lists them. */
import { listDemos, runDemo } from './index.js';

const [name, flag, seed] = process.argv.slice(2);
if (name === undefined) {
  for (const demo of listDemos()) process.stdout.write(`${demo.name.padEnd(16)} ${demo.title}  (${demo.section})\n`);
} else {
  const result = await runDemo(name, { ...(flag === '--seed' ? { seed: Number(seed) } : {}), write: (line) => process.stdout.write(`${line}\n`) });
  process.exitCode = result.shown ? 0 : 1;
}
