/**
 * The docs give every limit's default as the code has it: LIMITS (packages/broker/src/config/
 * defaults.ts) in the README's and docs/protocol.md's tables, WAL_LIMITS in docs/wal.md's (its
 * min and max too), the
 * client's DEFAULTS in docs/client.md's connect() and producer() tables (the backoff policies and
 * `name` too). A limit added or a default changed without the docs fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '@brook/broker';
import { DEFAULTS } from '@brook/client';
import { WAL_LIMITS } from '../packages/client/src/wal/index.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

const UNITS: [string, number][] = [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]];

/** A default as the tables write it: bytes (a name with `bytes` in it) in the largest binary unit that divides them, other numbers grouped by thousands with spaces. */
function written(name: string, value: number): string {
  const unit = /bytes/i.test(name) ? UNITS.find(([, size]) => value >= size && value % size === 0) : undefined;
  if (unit !== undefined) return `${value / unit[1]} ${unit[0]}`;
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** The default column of every table row `| \`name\` | default | ...` in the given docs; a name in several rows must be alike in all. */
function documentedDefaults(...paths: string[]): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const path of paths) {
    for (const m of read(path).matchAll(/^\| `(\w+)` \| ([^|]+?) \|/gm)) rows.set(m[1]!, [...(rows.get(m[1]!) ?? []), m[2]!]);
  }
  return rows;
}

/** Spaces aside, each cell starts with the default as written (`604 800 000 (7 days)` is 604800000). */
function expectDocumented(rows: Map<string, string[]>, name: string, value: number): void {
  const as = written(name, value).replaceAll(' ', '');
  const cells = rows.get(name);
  expect(cells, `a table row for ${name}`).toBeDefined();
  for (const cell of cells!) expect(cell.replaceAll(/\s/g, ''), name).toMatch(new RegExp(`^${as}(\\D|$)`));
}

describe('the docs give every limit with its default', () => {
  it('LIMITS: README (broker, topic and subscription limits) and docs/protocol.md (server limits)', () => {
    const rows = documentedDefaults('README.md', 'docs/protocol.md');
    for (const [name, limit] of Object.entries(LIMITS)) expectDocumented(rows, name, limit.default);
  });

  it('WAL_LIMITS: docs/wal.md', () => {
    const doc = read('docs/wal.md');
    const rows = documentedDefaults('docs/wal.md');
    for (const [name, limit] of Object.entries(WAL_LIMITS)) {
      if (name === 'fsyncIntervalMs') expect(doc).toContain(`| \`fsync\` \`{ intervalMs }\` | ${limit.default} |`);
      else expectDocumented(rows, name, limit.default);
    }
  });

  it('WAL_LIMITS: docs/wal.md gives each min and max too', () => {
    const DAY_MS = 24 * 60 * 60 * 1000;
    /** A bound as the table writes it: whole days of a duration as `N day`, else as a default. */
    const bound = (name: string, value: number) => (/Ms$/.test(name) && value > 0 && value % DAY_MS === 0 ? `${value / DAY_MS} day` : written(name, value));
    const rows = new Map([...read('docs/wal.md').matchAll(/^\| `(\w+)`(?: `\{ intervalMs \}`)? \| [^|]+ \| ([^|]+) \| ([^|]+) \|/gm)].map((m) => [m[1]!, [m[2]!.trim(), m[3]!.trim()]]));
    for (const [name, limit] of Object.entries(WAL_LIMITS)) {
      const row = name === 'fsyncIntervalMs' ? 'fsync' : name;
      expect(rows.get(row), name).toEqual([bound(name, limit.min), bound(name, limit.max)]);
    }
  });

  it("the client's DEFAULTS: docs/client.md's connect() and producer() tables", () => {
    const rows = documentedDefaults('docs/client.md');
    for (const name of ['connectTimeoutMs', 'requestTimeoutMs', 'heartbeatIntervalMs', 'heartbeatTimeoutMs', 'closeTimeoutMs'] as const) expectDocumented(rows, name, DEFAULTS[name]);
    for (const [name, value] of Object.entries(DEFAULTS.producer)) {
      if (typeof value === 'number') expectDocumented(rows, name, value);
    }
  });

  it("the client's DEFAULTS that are no number: name, reconnect and retryBackoff as docs/client.md words them", () => {
    const rows = documentedDefaults('docs/client.md');
    /** `100 ms doubling to 5 s, jitter 0.5`: a policy with multiplier 2 in whole seconds past 1 s. */
    const backoff = (policy: { initialDelayMs: number; maxDelayMs: number; multiplier: number; jitter: number }) => {
      expect(policy.multiplier, 'docs/client.md says "doubling"').toBe(2);
      const max = policy.maxDelayMs >= 1000 ? `${policy.maxDelayMs / 1000} s` : `${policy.maxDelayMs} ms`;
      return `${policy.initialDelayMs} ms doubling to ${max}, jitter ${policy.jitter}`;
    };
    expect(rows.get('name')).toEqual([`\`${DEFAULTS.name}\``]);
    expect(DEFAULTS.reconnect.attemptsMax).toBe(Number.POSITIVE_INFINITY);
    expect(rows.get('reconnect')).toEqual([`\`true\`: ${backoff(DEFAULTS.reconnect)}, no attempt limit`]);
    expect(rows.get('retryBackoff')).toEqual([backoff(DEFAULTS.producer.retryBackoff)]);
    expect(rows.get('idempotent')).toEqual([`\`${DEFAULTS.producer.idempotent}\``]);
  });
});
