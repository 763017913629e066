/**
 * Bad input the `brook` command must refuse before doing anything: exit 2, INVALID_CONFIG, a
 * message naming what is wrong, no stack. No server is needed: --url points at a port nothing
 * listens on, so input that slipped through would end in DISCONNECTED (exit 3) instead.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brook } from './fixtures/cli-run.js';

const env = { BROOK_URL: 'ws://127.0.0.1:1' };

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brook-cli-bad-input-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('bad input exits 2 with INVALID_CONFIG', () => {
  it.each([
    [['topics', 'create', 'cli-dup', '--partitions', '2', '--partitions', '3'], '--partitions given twice'],
    [['consume', 'cli-dup', '--group', 'a', '--group', 'b'], '--group given twice'],
    [['consume', 'cli-dup', '--json', '--json'], '--json given twice'],
  ])('an option given twice (%j) is refused, not decided by whichever came last', async (args, message) => {
    const run = await brook(args, { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^brook: INVALID_CONFIG: ${message}\n`));
  });

  it.each([
    ['bad/g', /--group "bad\/g" is no topic or group name: it may only contain A-Z a-z 0-9 \. _ -/],
    ['brook.redrive', /--group brook\.redrive is reserved for redrive progress/],
  ])('--group %s, a name no group can have, is bad usage (the broker would refuse it with INVALID_REQUEST, exit 1)', async (group, message) => {
    const run = await brook(['consume', 'cli-group-name', '--group', group, '--count', '1'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^brook: INVALID_CONFIG: ${message.source}\n`));
  });

  it.each([
    [['topics', 'create', 'bad/name'], 'NAME'],
    [['topics', 'describe', '..'], 'NAME'],
    [['topics', 'delete', 'x'.repeat(250)], 'NAME'],
    [['produce', 'bad/name'], 'TOPIC'],
    [['consume', ''], 'TOPIC'],
    [['groups', 'list', 'bad name'], 'TOPIC'],
    [['groups', 'describe', 'orders', 'bad/g'], 'GROUP'],
    [['groups', 'reset', '.', 'g', '--to', 'earliest'], 'TOPIC'],
    [['dlq', 'list', 'bad/dlq'], 'DLQ_TOPIC'],
    [['dlq', 'redrive', 'bad/dlq'], 'DLQ_TOPIC'],
  ])('%j: a name no topic or group can have is bad usage, said before connecting (not UNKNOWN_TOPIC, exit 1)', async (args, label) => {
    const run = await brook(args, { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^brook: INVALID_CONFIG: ${label} ".*" is no topic or group name: it `));
  });

  it('a repeatable option (--header) may still be given twice', async () => {
    const run = await brook(['produce', 'cli-dup', '--header', 'a=1', '--header', 'b=2'], { env });
    expect(run.code).toBe(3);
  });

  it.each([
    ['--from', '2024-05-01junk'],
    ['--from', '2024-02-30T00:00:00Z'],
    ['--from', '9223372036854775808'],
  ])('%s %s is no start position (not a day Date.parse rolls it to, not an offset past 2^63-1)', async (flag, value) => {
    const run = await brook(['consume', 'cli-from', flag, value, '--count', '1'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^brook: INVALID_CONFIG: --from must be earliest, latest, an offset .*, got ${value}\n`));
  });

  it.each(['ws://127.0.0.1:99999', 'ws://[::1', 'http://127.0.0.1:7070'])('--url %s, no ws:// or wss:// URL, is named as bad usage, no stack', async (url) => {
    const run = await brook(['topics', 'list', '--url', url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`brook: INVALID_CONFIG: url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}\n`);
  });

  it.each([
    [['dlq', 'list', 'cli-dlq.dlq', '--max', 'abc'], /--max must be an integer >= 1, got abc/],
    [['dlq', 'list', '--max', 'abc'], /--all and --max need DLQ_TOPIC/],
    [['dlq', 'list', '--all'], /--all and --max need DLQ_TOPIC/],
    [['bench', '--records', '1e3'], /--records must be an integer from 1 to 10000000, got 1e3/],
    [['bench', '--partitions', '1025'], /--partitions must be an integer from 1 to 1024, got 1025/],
    // All consumers share one connection: past a server's default subscriptionsMax the run failed part-way, its topic made.
    [['bench', '--consumers', '65'], /--consumers must be an integer from 1 to 64, got 65/],
    [['bench', '--size', '524289'], /--size must be an integer from 8 to 524288, got 524289/],
    [['bench', '--records', '10000001'], /--records must be an integer from 1 to 10000000, got 10000001/],
  ])('%j: a bad or pointless option value is bad usage, said before connecting (not DISCONNECTED, ignored, or read as another number)', async (args, message) => {
    const run = await brook(args, { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^brook: INVALID_CONFIG: ${message.source}\n`));
  });

  it('dump of an index file not named by its base offset says why it cannot be read, no stack', async () => {
    const file = join(dir, 'copy.index');
    await writeFile(file, Buffer.alloc(16));
    const run = await brook(['dump', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^brook: INVALID_CONFIG: .*copy\.index: an index file must keep its segment's name/);
    expect(run.stderr).not.toMatch(/ at /);
  });
});
