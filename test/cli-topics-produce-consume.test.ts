/**
 * `brook topics`, `brook produce` and `brook consume` as a user runs them: the real command,
 * spawned, against one in-memory broker listening on a free port (plus a second listener that
 * wants a token).
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker, type BrookServer } from '@brook/broker';
import { brook, finished, jsonLines, startBrook, stderrMatch, stdoutLines } from './fixtures/cli-run.js';

let broker: Broker;
let server: BrookServer;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  broker = await Broker.open({ storage: 'memory' });
  server = await broker.listen({ port: 0, host: '127.0.0.1' });
  env = { BROOK_URL: server.url };
  dir = await mkdtemp(join(tmpdir(), 'brook-cli-'));
});

afterAll(async () => {
  await broker.close();
  await rm(dir, { recursive: true, force: true });
});

/** Resolves once `topic` holds `count` records: checked on each of the broker's produced events. */
function recordsIn(topic: string, count: bigint): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (broker.describeTopic(topic).partitions.reduce((sum, p) => sum + p.endOffset, 0n) < count) return;
      broker.off('produced', check);
      resolve();
    };
    broker.on('produced', check);
    check();
  });
}

describe('brook topics', () => {
  it('creates, lists, describes and deletes a topic, in text and --json', async () => {
    const created = await brook(['topics', 'create', 'cli-t', '--partitions', '3', '--retention-time', '7d'], { env });
    expect(created).toMatchObject({ code: 0, stdout: 'created topic cli-t\n' });
    const duplicate = await brook(['topics', 'create', 'cli-t'], { env });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/^brook: TOPIC_EXISTS: /);
    const again = await brook(['topics', 'create', 'cli-t', '--if-not-exists', '--json'], { env });
    expect(JSON.parse(again.stdout)).toEqual({ topic: 'cli-t', created: false });
    await broker.produce('cli-t', [{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);

    const listed = await brook(['topics', 'list', '--json'], { env });
    expect(JSON.parse(listed.stdout)).toContainEqual({ topic: 'cli-t', partitions: 3, records: '2' });
    const described = await brook(['topics', 'describe', 'cli-t'], { env });
    expect(described.stdout).toMatch(/^topic cli-t: 3 partitions$/m);
    expect(described.stdout).toMatch(/^PARTITION +START +END +RECORDS$/m);
    expect(described.stdout).toMatch(/^retention: no size limit, maxAgeMs 604800000; segments roll at 67108864 bytes or 151200000 ms$/m);
    const describedJson = JSON.parse((await brook(['topics', 'describe', 'cli-t', '--json'], { env })).stdout);
    expect(describedJson.settings).toEqual({ retention: { maxAgeMs: 604_800_000, discard: 'old' }, segmentBytesMax: 67_108_864, segmentMsMax: 151_200_000 });

    expect(await brook(['topics', 'delete', 'cli-t'], { env })).toMatchObject({ code: 0, stdout: 'deleted topic cli-t\n' });
    const gone = await brook(['topics', 'describe', 'cli-t', '--json'], { env });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^brook: UNKNOWN_TOPIC: /);
  });
});

describe('brook topics create NAME with a name no topic can have', () => {
  it.each(['bad/name', '..', 'x'.repeat(250)])('%s is bad usage, exit 2 (docs/cli.md, exit codes), and no topic is made', async (name) => {
    const run = await brook(['topics', 'create', name], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^brook: INVALID_CONFIG: NAME ".*" is no topic or group name: it /);
    expect(broker.listTopics()).not.toContain(name);
  });
});

describe('brook produce and brook consume', () => {
  it('produces stdin lines as text with a key and headers, and a tail reader reads them back as JSON', async () => {
    await broker.createTopic('cli-lines', { partitions: 2 });
    const produced = await brook(['produce', 'cli-lines', '--key', 'k1', '--header', 'source=cli', '--header', 'n=1'], { env, stdin: 'one\ntwo words\n\nthree\n' });
    expect(produced.code).toBe(0);
    // One key: every record in one partition, empty line included.
    expect(produced.stdout).toMatch(/^sent 4 records to cli-lines in \d+ ms \(partition \d: offsets 0\.\.3\)$/m);

    const consumed = await brook(['consume', 'cli-lines', '--from', 'earliest', '--count', '4', '--json'], { env });
    expect(consumed.code).toBe(0);
    const records = jsonLines(consumed.stdout);
    expect(records.map((r) => r['value'])).toEqual(['one', 'two words', '', 'three']);
    expect(records[0]).toMatchObject({ topic: 'cli-lines', offset: '0', key: 'k1', deliveryCount: 1, headers: { source: 'cli', n: '1', 'content-type': 'text/plain' } });
  });

  it('--input json sends each line of --file as a JSON value, --key-separator splits off keys; consume prints them back parsed, or as text', async () => {
    await broker.createTopic('cli-json');
    const file = join(dir, 'orders.jsonl');
    await writeFile(file, 'u1:{"id":1,"total":12}\n\nu2:"just a string"\nu3:[1,2]\nu1:42\nu4:null\n');
    const produced = await brook(['produce', 'cli-json', '--file', file, '--input', 'json', '--key-separator', ':'], { env });
    expect(produced.stdout).toMatch(/^sent 5 records to cli-json/);

    const consumed = await brook(['consume', 'cli-json', '--from', '0', '--count', '5', '--json'], { env });
    expect(jsonLines(consumed.stdout).map((r) => [r['key'], r['value']])).toEqual([['u1', { id: 1, total: 12 }], ['u2', 'just a string'], ['u3', [1, 2]], ['u1', 42], ['u4', null]]);
    const text = await brook(['consume', 'cli-json', '--from', '2', '--count', '1'], { env });
    expect(text.stdout).toBe('partition=0 offset=2 key="u3" deliveryCount=1 value=[1,2]\n');
  });

  it('puts a key on the partition Broker.produce (and Kafka) puts it on: non-ASCII keys as UTF-8, an empty key as a key', async () => {
    await broker.createTopic('cli-keys', { partitions: 12 });
    const keys = ['foobar', 'é日本-ü', ''];
    const produced = await brook(['produce', 'cli-keys', '--key-separator', ':', '--json'], { env, stdin: keys.map((key) => `${key}:v`).join('\n') });
    const cli = (JSON.parse(produced.stdout) as { partitions: { partition: number }[] }).partitions.map((p) => p.partition);
    const inProcess = (await broker.produce('cli-keys', keys.map((key) => ({ key, value: 'v' })))).map((r) => r.partition);
    expect(cli).toEqual([...new Set(inProcess)].sort((a, b) => a - b));
    expect(cli).toHaveLength(3);
    // foobar: Kafka's murmur2 is -790332482 (UtilsTest), toPositive % 12 = 6.
    expect(inProcess[0]).toBe(6);
    const [fromCli] = await broker.fetch({ topic: 'cli-keys', partition: inProcess[2]!, offset: 0n });
    expect(fromCli!.key).toEqual(new Uint8Array(0));
  });

  it('sends lines as they come when the input pauses (tail -f | brook produce), in order, then prints the summary at its end', async () => {
    await broker.createTopic('cli-trickle');
    const child = startBrook(['produce', 'cli-trickle'], { env, keepStdinOpen: true });
    const done = finished(child);
    child.stdin.write('line1\n');
    await recordsIn('cli-trickle', 1n);
    child.stdin.write('line2\nline3\n');
    await recordsIn('cli-trickle', 3n);
    child.stdin.end();
    const run = await done;
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^sent 3 records to cli-trickle in \d+ ms \(partition 0: offsets 0\.\.2\)$/m);
    const consumed = await brook(['consume', 'cli-trickle', '--from', 'earliest', '--count', '3', '--json'], { env });
    expect(jsonLines(consumed.stdout).map((r) => r['value'])).toEqual(['line1', 'line2', 'line3']);
  }, 20_000);

  it('a topic that is not there fails the run with UNKNOWN_TOPIC, exit 1, even with no line to send', async () => {
    for (const stdin of ['', 'one\n']) {
      const run = await brook(['produce', 'cli-produce-missing'], { env, stdin });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^brook: UNKNOWN_TOPIC: /m);
      expect(run.stdout).toBe('');
    }
  });

  it('--json prints the summary as JSON, as on every command; the lines stay text', async () => {
    await broker.createTopic('cli-produce-json-out', { partitions: 2 });
    const run = await brook(['produce', 'cli-produce-json-out', '--key', 'k', '--json'], { env, stdin: '{"a":1}\nplain\n' });
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ topic: 'cli-produce-json-out', records: 2, partitions: [expect.objectContaining({ firstOffset: '0', lastOffset: '1', records: 2 })] });
    const consumed = await brook(['consume', 'cli-produce-json-out', '--from', 'earliest', '--count', '2', '--json'], { env });
    expect(jsonLines(consumed.stdout).map((r) => r['value'])).toEqual(['{"a":1}', 'plain']);
  });

  it('--input base64 and --input hex send the bytes each line spells; consume --json prints non-UTF-8 bytes back as base64', async () => {
    await broker.createTopic('cli-binary');
    const bytes = [Buffer.from([0xff, 0x00, 0xfe]), Buffer.from([]), Buffer.from([0x80, 0x81, 0x82, 0x83])];
    const asBase64 = bytes.map((b) => b.toString('base64')).join('\n');
    expect((await brook(['produce', 'cli-binary', '--input', 'base64', '--key', 'b64'], { env, stdin: `${asBase64}\n` })).code).toBe(0);
    // As consume prints bytes that are not UTF-8 (0x...), and without the prefix.
    const asHex = `0x${bytes[0]!.toString('hex')}\n${bytes[2]!.toString('hex').toUpperCase()}\n`;
    expect((await brook(['produce', 'cli-binary', '--input', 'hex', '--key', 'hex'], { env, stdin: asHex })).code).toBe(0);

    const consumed = await brook(['consume', 'cli-binary', '--from', 'earliest', '--count', '5', '--json'], { env });
    expect(jsonLines(consumed.stdout).map((r) => [r['key'], r['value']])).toEqual([
      ['b64', { base64: '/wD+' }], ['b64', ''], ['b64', { base64: 'gIGCgw==' }], ['hex', { base64: '/wD+' }], ['hex', { base64: 'gIGCgw==' }],
    ]);
  });

  it('a line that is not base64 or hex (Buffer.from would skip what it cannot read) fails with INVALID_REQUEST naming it; nothing of it is sent', async () => {
    await broker.createTopic('cli-bad-bytes');
    for (const [input, line] of [['base64', 'not base64!'], ['base64', 'abc'], ['hex', 'abc'], ['hex', '0xzz']] as const) {
      const run = await brook(['produce', 'cli-bad-bytes', '--input', input], { env, stdin: `${input === 'hex' ? '00' : 'AA=='}\n${line}\n` });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`INVALID_REQUEST: line 2 is not ${input}`);
    }
    // Each run sent its first line, and nothing of its bad one.
    expect(broker.describeTopic('cli-bad-bytes').partitions[0]!.endOffset).toBe(4n);
  });

  it('a line that is not JSON fails with INVALID_REQUEST naming the line', async () => {
    await broker.createTopic('cli-bad-json');
    const run = await brook(['produce', 'cli-bad-json', '--input', 'json'], { env, stdin: '{"ok":1}\nnot json\n' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/INVALID_REQUEST: line 2 is not JSON/);
  });

  it('a bad line sends every line before it and nothing from it on, says so, and prints the summary of what was written', async () => {
    await broker.createTopic('cli-bad-line-late');
    const file = join(dir, 'late-bad.jsonl');
    // Past the first chunks (1000 lines each), so lines before it wait in chunks not yet sent when it is read.
    await writeFile(file, `${Array.from({ length: 1499 }, (_, i) => `{"n":${i + 1}}`).join('\n')}\nnot json\n{"n":1501}\n`);
    const run = await brook(['produce', 'cli-bad-line-late', '--file', file, '--input', 'json'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^brook: INVALID_REQUEST: line 1500 is not JSON: .* \(1499 records sent: the lines before it, nothing from it on\)$/m);
    expect(run.stdout).toMatch(/^sent 1499 records to cli-bad-line-late in \d+ ms \(partition 0: offsets 0\.\.1498\)$/m);
    expect(broker.describeTopic('cli-bad-line-late').partitions[0]!.endOffset).toBe(1499n);
  });

  it('a line too large for a batch is MESSAGE_TOO_LARGE naming it; the lines before it (its own chunk too) are sent, none after', async () => {
    await broker.createTopic('cli-too-large-line');
    const file = join(dir, 'too-large.txt');
    const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`).join('');
    await writeFile(file, `${numbered(1, 1500)}${'x'.repeat(1_100_000)}\n${numbered(1502, 4000)}`);
    const run = await brook(['produce', 'cli-too-large-line', '--file', file], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^brook: MESSAGE_TOO_LARGE: line 1501 is over the batch limit of \d+ bytes as a record \(1500 records sent: the lines before it, nothing from it on\)$/m);
    expect(run.stdout).toMatch(/^sent 1500 records to cli-too-large-line/m);
    const partition = broker.describeTopic('cli-too-large-line').partitions[0]!;
    expect(partition.endOffset).toBe(1500n);
    const [last] = await broker.fetch({ topic: 'cli-too-large-line', partition: 0, offset: 1499n, maxRecords: 1 });
    expect(Buffer.from(last!.value!).toString()).toBe('1500');
  });

  it('--file naming a directory is IO_ERROR with the errno, exit 1, not an unhandled error event', async () => {
    await broker.createTopic('cli-produce-dir');
    const run = await brook(['produce', 'cli-produce-dir', '--file', dir], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`brook: IO_ERROR: cannot read ${dir}: EISDIR (nothing was sent)\n`);
  });

  it('SIGINT ends a produce cleanly: the lines read are sent, the summary says which offsets, exit 0', async () => {
    await broker.createTopic('cli-produce-sigint');
    const child = startBrook(['produce', 'cli-produce-sigint'], { env, keepStdinOpen: true });
    const done = finished(child);
    child.stdin.write('one\ntwo\n');
    await recordsIn('cli-produce-sigint', 2n);
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^brook: SIGINT: the lines read so far are sent/m);
    expect(run.stdout).toMatch(/^sent 2 records to cli-produce-sigint in \d+ ms \(partition 0: offsets 0\.\.1\)$/m);
  }, 20_000);

  it('a group consumes with --count and acks: lag 0, and the next run continues where it stopped, nothing redelivered', async () => {
    await broker.createTopic('cli-group');
    await broker.produce('cli-group', Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })));
    const first = await brook(['consume', 'cli-group', '--group', 'g', '--count', '3'], { env });
    expect(first.stdout.trim().split('\n')).toEqual([0, 1, 2].map((i) => `partition=0 offset=${i} key=null deliveryCount=1 value=m${i}`));
    expect(first.stderr).toMatch(/3 records from cli-group in group g, acked/);
    const rest = jsonLines((await brook(['consume', 'cli-group', '--group', 'g', '--count', '7', '--json'], { env })).stdout);
    expect(rest.map((r) => [r['offset'], r['deliveryCount']])).toEqual([3, 4, 5, 6, 7, 8, 9].map((i) => [String(i), 1]));
    const description = broker.describeGroup('cli-group', 'g');
    expect(description.lag).toBe(0n);
    expect(description.partitions[0]!.redeliveries).toBe(0);
  });

  it('a tail reader reads past its credit window (its acks return the credit)', async () => {
    await broker.createTopic('cli-tail');
    await broker.produce('cli-tail', Array.from({ length: 250 }, (_, i) => ({ value: `r${i}` })));
    const run = await brook(['consume', 'cli-tail', '--from', 'earliest', '--count', '250'], { env });
    expect(run.stdout.trim().split('\n')).toHaveLength(250);
    expect(run.stderr).toMatch(/250 records from cli-tail as a tail reader from earliest\n/);
  });

  it('--no-ack prints records without acking: they come back with a higher deliveryCount', async () => {
    await broker.createTopic('cli-peek');
    await broker.produce('cli-peek', [{ value: 'a' }, { value: 'b' }]);
    const peek = () => brook(['consume', 'cli-peek', '--group', 'p', '--no-ack', '--count', '2', '--json'], { env });
    expect(jsonLines((await peek()).stdout).map((r) => r['deliveryCount'])).toEqual([1, 1]);
    expect(jsonLines((await peek()).stdout).map((r) => r['deliveryCount'])).toEqual([2, 2]);
  });

  it('--from takes an offset, an ISO time and latest', async () => {
    await broker.createTopic('cli-from');
    await broker.produce('cli-from', [1000, 2000, 3000, 4000].map((timestamp) => ({ value: `at ${timestamp}`, timestamp })));
    const fromOffset = await brook(['consume', 'cli-from', '--from', '2', '--count', '1', '--json'], { env });
    expect(jsonLines(fromOffset.stdout)[0]).toMatchObject({ offset: '2', value: 'at 3000' });
    const fromTime = await brook(['consume', 'cli-from', '--from', new Date(1500).toISOString(), '--count', '1', '--json'], { env });
    expect(jsonLines(fromTime.stdout)[0]).toMatchObject({ offset: '1', value: 'at 2000' });

    const latest = startBrook(['consume', 'cli-from', '--from', 'latest', '--count', '1', '--json'], { env });
    const done = finished(latest);
    await stderrMatch(latest, /consuming cli-from as a tail reader from latest/);
    await broker.produce('cli-from', [{ value: 'new' }]);
    expect(jsonLines((await done).stdout)).toEqual([expect.objectContaining({ offset: '4', value: 'new' })]);
  });

  it('--from on an existing group is ignored with a warning, and no later message claims that start', async () => {
    await broker.createTopic('cli-from-existing');
    await broker.produce('cli-from-existing', [{ value: 'a' }, { value: 'b' }]);
    expect((await brook(['consume', 'cli-from-existing', '--group', 'ex', '--count', '1'], { env })).stdout).toMatch(/value=a/);
    const run = await brook(['consume', 'cli-from-existing', '--group', 'ex', '--from', '2099-05-01T12:00:00Z', '--count', '1'], { env });
    expect(run.stdout).toMatch(/value=b/);
    expect(run.stderr).toMatch(/^brook: group ex exists, so it continues where it is and --from is ignored/m);
    expect(run.stderr).toMatch(/^brook: consuming cli-from-existing in group ex; Ctrl-C to stop$/m);
    expect(run.stderr).toMatch(/^brook: 1 record from cli-from-existing in group ex, acked$/m);
    expect(run.stderr).not.toMatch(/2099/);
  });

  it('an ack the broker no longer takes (a rebalance gave the record to another member) fails the run: exit 1, DELIVERY_STALE', async () => {
    await broker.createTopic('cli-stale', { partitions: 2 });
    await broker.produce('cli-stale', [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }]);
    // --count 3 with two records: the command prints both and holds their acks, waiting for a third.
    const child = startBrook(['consume', 'cli-stale', '--group', 'st', '--ordering', 'partition', '--count', '3'], { env });
    const done = finished(child);
    await stdoutLines(child, 2);
    // A second member joins: the rebalance takes a partition, and the delivery the command holds of it, back.
    const takenOver = new Promise<number>((resolve) => {
      void broker.subscribe({ topic: 'cli-stale', group: 'st', ordering: 'partition' }, (delivery) => resolve(delivery.partition));
    });
    const moved = await takenOver;
    await broker.produce('cli-stale', [{ value: 'c', partition: 1 - moved }]);
    const run = await done;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^brook: DELIVERY_STALE: /m);
    expect(run.stdout).toMatch(/value=c/);
    // The records of the partition it kept are acked all the same, and never came again.
    const kept = broker.describeGroup('cli-stale', 'st').partitions[1 - moved]!;
    expect([kept.ackFloor, kept.redeliveries]).toEqual([2n, 0]);
  });

  it('SIGINT ends a consume cleanly: exit 0, what it printed is acked', async () => {
    await broker.createTopic('cli-sigint');
    await broker.produce('cli-sigint', [{ value: 'only' }]);
    const acked = new Promise<void>((resolve) => broker.once('acked', () => resolve()));
    const child = startBrook(['consume', 'cli-sigint', '--group', 's'], { env });
    const done = finished(child);
    await acked;
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/value=only/);
    expect(broker.describeGroup('cli-sigint', 's').lag).toBe(0n);
  });
});

describe('errors and usage', () => {
  it('bad usage exits 2 with INVALID_CONFIG and the usage on stderr', async () => {
    // Each usage rule is unit-tested in packages/cli/src/cli-args.test.ts; here, that it reaches the exit code.
    for (const args of [['consume', 't', '--group', 'g', '--ordering', 'fifo'], ['nope']]) {
      const run = await brook(args, { env });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^brook: INVALID_CONFIG: [^]*usage: brook/);
    }
  });

  it('an unknown option is named in brook\'s words; --partitions is held to the broker\'s limit before connecting', async () => {
    const unknown = await brook(['consume', 'cli-usage', '--grup', 'g'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^brook: INVALID_CONFIG: unknown option --grup\n\nusage: brook consume TOPIC/);
    const tooMany = await brook(['topics', 'create', 'cli-too-many', '--partitions', '1025'], { env: { BROOK_URL: 'ws://127.0.0.1:1' } });
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/^brook: INVALID_CONFIG: --partitions must be an integer from 1 to 1024, got 1025\n/);
  });

  it('an unknown topic exits 1 with UNKNOWN_TOPIC on stderr', async () => {
    const run = await brook(['consume', 'cli-missing', '--count', '1'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^brook: UNKNOWN_TOPIC: /m);
  });

  it('a wrong token is UNAUTHORIZED (exit 1); no server at --url is DISCONNECTED (exit 3)', async () => {
    const guarded = await broker.listen({ port: 0, host: '127.0.0.1', token: 'right' });
    try {
      const wrong = await brook(['topics', 'list', '--url', guarded.url], { env: { BROOK_TOKEN: 'wrong' } });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/^brook: UNAUTHORIZED: /);
      expect((await brook(['topics', 'list', '--url', guarded.url, '--token', 'right'], { env: { BROOK_TOKEN: 'wrong' } })).code).toBe(0);
    } finally {
      await guarded.close();
    }
    const unreachable = await brook(['topics', 'list', '--url', guarded.url]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/^brook: DISCONNECTED: cannot reach a brook server at ws:\/\/127\.0\.0\.1:\d+/);
    // A credential put in the URL by mistake (the token goes in --token) is not printed.
    const withSecrets = await brook(['topics', 'list', '--url', guarded.url.replace('ws://', 'ws://user:url-password@') + '?token=query-secret']);
    expect(withSecrets.code).toBe(3);
    expect(withSecrets.stderr).toMatch(/^brook: DISCONNECTED: cannot reach a brook server at ws:\/\/127\.0\.0\.1:\d+\/: /);
    expect(withSecrets.stderr).not.toMatch(/url-password|query-secret/);
  });
});

describe('brook bench', () => {
  it('produces into a topic of its own, consumes everything with a group, reports rates and latency, and deletes the topic', async () => {
    const topicsBefore = broker.listTopics();
    const run = await brook(['bench', '--records', '3000', '--size', '64', '--partitions', '2', '--json'], { env });
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, number>;
    expect(result).toMatchObject({ records: 3000, sizeBytes: 64, partitions: 2, consumers: 2 });
    for (const figure of ['produceRecordsPerSec', 'endToEndRecordsPerSec']) expect(result[figure]).toBeGreaterThan(0);
    expect(result['latencyP99Ms']).toBeGreaterThanOrEqual(result['latencyP50Ms']!);
    expect(broker.listTopics()).toEqual(topicsBefore);
    const usage = await brook(['bench', '--size', '4'], { env });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--size must be an integer from 8 to 524288');
  });

  it('SIGINT part-way deletes its topic before it exits (130: no result), instead of leaving brook-bench-* behind', async () => {
    const topicsBefore = broker.listTopics();
    const child = startBrook(['bench', '--records', '10000000', '--size', '8', '--consumers', '1'], { env });
    const run = finished(child);
    await stderrMatch(child, /^brook: \d+ records? produced/m);
    child.kill('SIGINT');
    const { code, stderr } = await run;
    expect(stderr).toMatch(/^brook: SIGINT: stopping, deleting the bench topic \(again to exit at once\)$/m);
    expect(code).toBe(130);
    expect(broker.listTopics()).toEqual(topicsBefore);
  });

  it('counts one of a kind in the singular in its text summary', async () => {
    const run = await brook(['bench', '--records', '1', '--size', '64', '--partitions', '1', '--consumers', '1'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^1 record of 64 B, 1 partition, 1 consumer\n/);
  });
});
