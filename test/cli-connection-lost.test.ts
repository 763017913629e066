/**
 * A `brook` command whose server goes away for good while it runs: it ends with DISCONNECTED,
 * exit 3, once its client gives up reconnecting (5 attempts, a few seconds), whatever it was
 * waiting for then. Each test has a listener of its own, closed under the running command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { finished, startBrook, stderrMatch } from './fixtures/cli-run.js';

let broker: Broker;

beforeAll(async () => {
  broker = await Broker.open({ storage: 'memory' });
});

afterAll(() => broker.close());

describe('the server goes away for good under a running command', () => {
  it('produce reading a stream that goes quiet (tail -f | brook produce) ends with DISCONNECTED, exit 3, without waiting for another line', async () => {
    await broker.createTopic('cli-lost-produce');
    const server = await broker.listen({ port: 0, host: '127.0.0.1' });
    const child = startBrook(['produce', 'cli-lost-produce'], { env: { BROOK_URL: server.url }, keepStdinOpen: true });
    const done = finished(child);
    child.stdin.write('first\n');
    // Its progress line: the send was answered, so nothing is under way when the server goes.
    await stderrMatch(child, /^brook: 1 record sent /m);
    await server.close();
    // stdin stays open: the input neither ends nor sends another line.
    const run = await done;
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^brook: DISCONNECTED: .*\(1 record sent\)$/m);
    expect(run.stdout).toMatch(/^sent 1 record to cli-lost-produce /);
  });

  it('consume, waiting for records, ends with DISCONNECTED, exit 3', async () => {
    await broker.createTopic('cli-lost-consume');
    const server = await broker.listen({ port: 0, host: '127.0.0.1' });
    const child = startBrook(['consume', 'cli-lost-consume', '--group', 'g'], { env: { BROOK_URL: server.url } });
    const done = finished(child);
    await stderrMatch(child, /consuming cli-lost-consume/);
    await server.close();
    const run = await done;
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^brook: DISCONNECTED: /m);
  });
});
