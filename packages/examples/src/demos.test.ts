/**
 * Every demo shows its phenomenon: the numbers behind each verdict line, at the default seed, and
 * the verdict at other seeds too. The same seed prints the same trace.
 */
import { describe, expect, it, vi } from 'vitest';
import { PLAN_ENV, SEED_ENV } from '@brook/broker/testing';
import { listDemos, runDemo, type DemoResult } from './index.js';

async function run(name: string, seed?: number): Promise<DemoResult & { output: string }> {
  const lines: string[] = [];
  const result = await runDemo(name, { ...(seed === undefined ? {} : { seed }), write: (line) => lines.push(line) });
  return { ...result, output: lines.join('\n') };
}

describe('demos', () => {
  it('lists every demo of the chapter in its order, each with a section', () => {
    expect(listDemos().map((d) => d.name)).toEqual([
      'groups', 'acks', 'fig11-2', 'overload', 'partitioned-log', 'hol-blocking', 'offsets', 'retention', 'replay', 'poison', 'producer-wal', 'dual-write', 'cdc',
      'snapshot-offset',
    ]);
    for (const demo of listDemos()) expect(demo.section).not.toBe('');
  });

  it('groups: fan-out to both groups, load balancing inside email, a leaver\'s share moves', async () => {
    const { shown, facts } = await run('groups');
    expect(shown).toBe(true);
    const shares = facts['emailShares'] as number[];
    expect(shares.reduce((a, b) => a + b, 0)).toBe(12);
    expect(facts['analytics']).toBe(12);
    expect(shares[2]).toBeLessThan(shares[0]!);
  });

  it('acks: a crash redelivers to the other consumer; a lost ack duplicates the effect; idempotence removes it', async () => {
    const { shown, facts, variants } = await run('acks');
    expect(shown).toBe(true);
    expect(facts).toMatchObject({ crashRedeliveredTo: 'mailer-a', crashLost: 0, naiveDuplicated: 1, idempotentDuplicated: 0 });
    expect(variants.map((v) => v.failed)).toEqual([[], ['duplicateEffect'], []]);
  });

  it("fig11-2: 'none' processes m3 after m4; 'key' and 'partition' keep the order", async () => {
    const { shown, facts, variants } = await run('fig11-2');
    expect(shown).toBe(true);
    expect(facts['key']).toBe('m1 m2 m3 m4 m5');
    expect(facts['partition']).toBe('m1 m2 m3 m4 m5');
    // By default the figure itself: m3 after m4 and nothing else out of order (one violation, the redelivery's).
    expect(facts['none']).toBe('m1 m2 m4 m3 m5');
    expect(variants[0]!.failed).toEqual(['perKeyOrder']);
  });

  it('overload: drop loses, buffer grows, backpressure slows the producer and loses nothing', async () => {
    const { shown, facts } = await run('overload');
    expect(shown).toBe(true);
    const { drop, buffer, backpressure } = facts as Record<string, Record<string, number>>;
    expect(drop!['lost']).toBeGreaterThan(0);
    expect(buffer).toMatchObject({ lost: 0, refused: 0 });
    expect(backpressure!['lost']).toBe(0);
    expect(backpressure!['refused']).toBeGreaterThan(0);
  });

  it('partitioned-log: one partition per key, offsets from 0 per partition, and a dump of each partition', async () => {
    const { shown, facts, output } = await run('partitioned-log');
    expect(shown).toBe(true);
    expect(facts['contiguous']).toBe(true);
    expect(output).toContain('$ brook dump /brook/topics/clicks/0 --records');
    expect(output).toMatch(/00000000000000000000\.log {2}\d+ B, \d+ batches/);
    expect(output).toContain('crc ok');
  });

  it("hol-blocking: 'partition' idles a worker and stalls the slow job's partition; 'none' does not", async () => {
    const { shown, facts } = await run('hol-blocking');
    expect(shown).toBe(true);
    const { partition, none } = facts as Record<string, { idleWorkers: string[]; slowPartitionDoneMs: number; othersDoneMs: number }>;
    expect(partition!.idleWorkers).toHaveLength(1);
    expect(partition!.slowPartitionDoneMs).toBeGreaterThanOrEqual(30_000);
    expect(none!.othersDoneMs).toBeLessThan(3_000);
  });

  it("hol-blocking: midway through the slow job, 'partition' still owes the 5 jobs of its partition, 'none' only job-5 (the lag samples cover the stall)", async () => {
    const { facts } = await run('hol-blocking');
    const { partition, none } = facts as Record<string, { stallLag: number | null }>;
    expect(partition!.stallLag).toBe(5);
    expect(none!.stallLag).toBe(1);
  });

  it('offsets: process-then-commit processes m30..m36 twice; commit-then-process loses records', async () => {
    const { shown, facts } = await run('offsets');
    expect(shown).toBe(true);
    expect(facts).toMatchObject({ duplicated: 7, atLeastLost: 0, atMostDuplicated: 0 });
    expect(facts['lost']).toBeGreaterThan(0);
  });

  it('retention: startOffset moves; the slow group loses records and is told; the fast one loses none', async () => {
    const { shown, facts } = await run('retention');
    expect(shown).toBe(true);
    expect(facts['liveLost']).toBe(0);
    expect(facts['archiveTold']).toBeGreaterThanOrEqual(facts['archiveLost'] as number);
  });

  it('replay: v2 rebuilds from earliest next to v1; the reset to a timestamp replays only later lines', async () => {
    const { shown, facts } = await run('replay');
    expect(shown).toBe(true);
    expect(facts['v1']).toMatchObject({ The: 1, the: 3, THE: 1 });
    expect(facts['v2']).toMatchObject({ the: 5 });
    expect(facts['since']).toMatchObject({ the: 2, end: 1 });
  });

  it('poison: dead-lettered after maxDeliveries with origin headers, processed after the redrive', async () => {
    const { shown, facts, output } = await run('poison');
    expect(shown).toBe(true);
    // The trace shows what each nack said failed, and the dead letter's last failure.
    expect(output).toContain('│✗ nack r2: BrookError: INVALID_REQUEST: the value is not JSON: Unexpected end of JSON input');
    expect(output).toContain('│☠ r2 dead-lettered after 3: nack on attempt 3 of maxDeliveries 3; last failure: BrookError: INVALID_REQUEST');
    expect(facts).toMatchObject({ deadLettered: 1, attempts: 4, reviewed: true });
    expect((facts['deadLetters'] as string[]).join('\n')).toContain('brook.origin.offset=1');
    // The reason names what the handler threw on the last attempt, not only that attempts ran out.
    expect(facts['deadLetters']).toContain('  brook.reason=nack on attempt 3 of maxDeliveries 3; last failure: BrookError: INVALID_REQUEST: the value is not JSON: Unexpected end of JSON input');
  });

  it('dual-write: at its default seed the index ends different from the database; CDC always converges', async () => {
    const { shown, facts, seed } = await run('dual-write');
    expect(shown).toBe(true);
    expect(seed).toBe(3);
    expect(facts['diverged']).toBe(true);
    expect(facts['cdcDivergedSeeds']).toEqual([]);
  });

  it("cdc: each commit is one change event at its commit's offset; under 'key' every view equals the database and the paused index catches up in order", async () => {
    const { shown, facts, variants } = await run('cdc');
    expect(shown).toBe(true);
    const key = facts['key'] as Record<string, unknown>;
    expect(key).toMatchObject({ logIsCommitOrder: true, equal: { cache: true, index: true, count: true }, indexInOrder: true, indexFinalLag: 0, failed: [] });
    expect(key['indexMaxLag']).toBeGreaterThan(0);
    expect(variants[0]!.groups['cache']!.redelivered).toBe(1);
  });

  it("cdc: under 'none' the redelivered older change overwrites user-1's newer one and the cache stays stale", async () => {
    const { facts } = await run('cdc');
    expect(facts['none']).toMatchObject({ equal: { cache: false, index: true, count: true }, failed: expect.arrayContaining(['perKeyOrder']) });
    expect((facts['cacheNone'] as Record<string, string>)['user-1']).toBe('Ada King');
    expect((facts['database'] as Record<string, string>)['user-1']).toBe('Ada Byron');
  });

  it('snapshot-offset: from the snapshot\'s offset the view converges; from 450 only the increments break; from 550 both kinds', async () => {
    const { shown, facts } = await run('snapshot-offset');
    expect(shown).toBe(true);
    expect(facts['500']).toMatchObject({ ownersDiffer: 0, balancesDiffer: 0, balanceExcess: 0, firstOffset: 500, applied: 100 });
    expect(facts['450']).toMatchObject({ ownersDiffer: 0, firstOffset: 450, applied: 150 });
    expect((facts['450'] as Record<string, number>)['balanceExcess']).toBeGreaterThan(0);
    expect(facts['550']).toMatchObject({ firstOffset: 550, applied: 50 });
    expect((facts['550'] as Record<string, number>)['ownersDiffer']).toBeGreaterThan(0);
    expect((facts['550'] as Record<string, number>)['balancesDiffer']).toBeGreaterThan(0);
  });

  it('shows its phenomenon at other seeds too', async () => {
    for (const { name } of listDemos()) {
      for (const seed of [2, 17]) expect((await run(name, seed)).shown, `${name} --seed ${seed}`).toBe(true);
    }
  });

  it('prints the same trace for the same seed, and another for another seed', async () => {
    const [a, b, c] = [await run('fig11-2', 5), await run('fig11-2', 5), await run('fig11-2', 6)];
    expect(a.output).toBe(b.output);
    expect(a.output).not.toBe(c.output);
  });

  it("runs the seed it prints: BROOK_SIM_SEED / BROOK_SIM_PLAN left in the shell do not override --seed (they did, under a heading naming --seed's)", async () => {
    const own = await run('fig11-2', 5);
    vi.stubEnv(SEED_ENV, '6');
    vi.stubEnv(PLAN_ENV, '[]');
    try {
      expect((await run('fig11-2', 5)).output).toBe(own.output);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('names the demos when asked for one that does not exist', async () => {
    await expect(runDemo('nope', { write: () => undefined })).rejects.toThrow(/no demo named "nope"; demos: groups, acks/);
  });
});
