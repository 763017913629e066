/**
 * `brook consume` as a tail reader that retention overtakes: the loss, which the client learns
 * with the next delivery (lostToRetention), is told in a line on stderr, not passed over.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Broker, type BrookServer } from '@brook/broker';
import { finished, startBrook, stderrMatch } from './fixtures/cli-run.js';

let broker: Broker;
let server: BrookServer;

beforeAll(async () => {
  broker = await Broker.open({ storage: 'memory' });
  server = await broker.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await broker.close();
});

it('a tail reader overtaken by retention says on stderr how many records it lost, and prints on from the oldest kept', async () => {
  const topic = 'cli-overtaken';
  // 4 KiB segments, two kept: 1000 records of ~200 bytes leave about 40.
  await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
  for (let i = 0; i < 100; i++) await broker.produce(topic, Array.from({ length: 10 }, (_, j) => ({ value: `m${i * 10 + j}`.padEnd(200, '.') })));
  const lost = new Promise<bigint>((resolve) => {
    const listener = (event: { reader?: string; lostRecords: bigint }) => {
      if (event.reader === undefined) return;
      broker.off('retentionDropped', listener);
      resolve(event.lostRecords);
    };
    broker.on('retentionDropped', listener);
  });
  const child = startBrook(['consume', topic, '--from', 'earliest'], { env: { BROOK_URL: server.url } });
  // Not reading its stdout holds the reader back: once the pipe is full it prints (and so acks,
  // which returns its credit) nothing more, so it stays far behind the ~960 records retention deletes.
  child.stdout.pause();
  const done = finished(child);
  await stderrMatch(child, /consuming cli-overtaken as a tail reader/);
  const told = stderrMatch(child, /retention deleted/); // watched from now: the notice may come before the resume
  await broker.enforceRetention();
  const lostRecords = await lost;
  const { startOffset } = broker.describeTopic(topic).partitions[0]!;
  child.stdout.resume();
  await told;
  child.kill('SIGINT');
  const run = await done;
  expect(run.code).toBe(0);
  expect(run.stderr).toMatch(new RegExp(`^brook: retention deleted ${lostRecords} records of ${topic} before this tail reader read them; it goes on at the oldest record kept$`, 'm'));
  expect(run.stderr.match(/retention deleted/g)).toHaveLength(1);
  const offsets = run.stdout.trim().split('\n').map((line) => BigInt(/offset=(\d+)/.exec(line)![1]!));
  const resumedAt = offsets.findIndex((offset, at) => at > 0 && offset !== offsets[at - 1]! + 1n);
  expect(offsets[resumedAt]).toBe(startOffset);
  expect(offsets[resumedAt]! - offsets[resumedAt - 1]! - 1n).toBe(lostRecords);
});
