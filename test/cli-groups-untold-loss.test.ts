/**
 * `brook groups describe` of a group retention overtook before a broker restart, not yet told:
 * its lag is the records left, and the records it lost get a line until its next read counts them
 * in LOST.
 */
import { expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { brook } from './fixtures/cli-run.js';
import { diskWithUntoldLoss } from './fixtures/untold-loss.js';

it('shows lag 4 of the 4 records left, and the 6 lost records as not yet told; --json has lostToRetentionUntold', async () => {
  const broker = await Broker.open({ storage: 'memory', fs: await diskWithUntoldLoss('cli-untold', 'u') });
  const server = await broker.listen({ port: 0, host: '127.0.0.1' });
  try {
    const env = { BROOK_URL: server.url };
    const described = await brook(['groups', 'describe', 'cli-untold', 'u'], { env });
    expect(described.stdout).toMatch(/^group u on cli-untold: 0 members, lag 4$/m);
    expect(described.stdout).toMatch(/^0 +0 +10 +4 +0 +0 +0 +0$/m);
    expect(described.stdout).toMatch(/^ {2}not yet told: partition 0 lost 6 records to retention, counted in LOST at the group's next read$/m);
    const json = JSON.parse((await brook(['groups', 'describe', 'cli-untold', 'u', '--json'], { env })).stdout);
    expect(json.partitions[0]).toMatchObject({ lag: '4', lostToRetention: '0', lostToRetentionUntold: '6' });
  } finally {
    await broker.close();
  }
});
