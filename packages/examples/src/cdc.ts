/**
 * Demo 13: change data capture. A toy key-value database commits the application's writes one at
 * a time, and each commit appends one change event (key = row key) to the change log db.users, in
 * commit order: a change's offset is its position in the database's log (its LSN). Three derived
 * views follow the log, each its own group: a cache (row → name), a search index (word → rows) and
 * a row count. The index is paused for a second and lags, then catches up. The cache loses one ack:
 * under ordering 'key' the row's next change waits for the redelivery, so the cache converges;
 * under 'none' the older change is applied again after a newer one and the cache stays stale.
 */
import type { Ordering } from '@brook/broker';
import type { ConsumerSpec, SimulationResult } from '@brook/broker/testing';
import { eventsOf, maxLag, type Demo, type DemoRun } from './harness.js';

const CHANGE_LOG = 'db.users';
/** The application's writes as [row key, name], null deleting the row; sent to the database in batches. */
const WRITES: [string, string | null][] = [
  ['user-1', 'Ada Lovelace'], ['user-2', 'Alan Turing'], ['user-3', 'Grace Hopper'], ['user-4', 'Edsger Dijkstra'], ['user-5', 'Barbara Liskov'], ['user-6', 'Donald Knuth'],
  ['user-1', 'Ada King'], ['user-2', null], ['user-7', 'Leslie Lamport'], ['user-3', 'Grace Brewster Hopper'], ['user-8', 'Tony Hoare'], ['user-1', 'Ada Byron'],
  ['user-6', null], ['user-9', 'Radia Perlman'], ['user-4', 'Edsger W. Dijkstra'], ['user-2', 'Alan M. Turing'], ['user-10', 'Frances Allen'], ['user-8', null],
];
const BATCH = 6;
const BATCH_EVERY_MS = 400;
const COMMIT_MS = 10;
const APPLY_MS = 5;
const LEASE_MS = 2_000;
const LAG_SAMPLE_EVERY_MS = 500;
const PAUSE = { atMs: 150, durationMs: 1_000 };
/** The cache's ack of this change is lost: it comes back after LEASE_MS, after user-1's newer changes were written. */
const LOST_ACK = 'update Ada King';

/** The database and the views: outside the consumer processes, so a crash or a pause keeps them. */
class Stores {
  readonly rows = new Map<string, string>();
  /** The database's log: change n is its n-th commit. */
  readonly log: { key: string; change: string }[] = [];
  readonly cache = new Map<string, string>();
  readonly index = new Map<string, Set<string>>();
  /** What the index holds per row, to take a row's old words out. */
  readonly indexed = new Map<string, string>();
  count = 0;

  commit(key: string, name: string | null): string {
    const change = name === null ? 'delete' : `${this.rows.has(key) ? 'update' : 'insert'} ${name}`;
    if (name === null) this.rows.delete(key);
    else this.rows.set(key, name);
    this.log.push({ key, change });
    return change;
  }
}

const decoder = new TextDecoder();
/** user-2 before user-10. */
const byKey = ([a]: [string, unknown], [b]: [string, unknown]) => a.localeCompare(b, 'en', { numeric: true });
const nameOf = (change: string): string | null => (change === 'delete' ? null : change.slice(change.indexOf(' ') + 1));
const words = (name: string) => name.toLowerCase().split(' ');

function indexRow(index: Map<string, Set<string>>, key: string, name: string | null, before: string | undefined): void {
  for (const word of before === undefined ? [] : words(before)) index.get(word)?.delete(key);
  for (const word of name === null ? [] : words(name)) index.set(word, (index.get(word) ?? new Set()).add(key));
}

/** Word → sorted rows, empty words left out: the same text for the same index. */
function indexText(index: Map<string, Set<string>>): string {
  return [...index].filter(([, keys]) => keys.size > 0).map(([word, keys]) => `${word}:${[...keys].sort().join(',')}`).sort().join(' ');
}

/** One change applied to one view; returns the effect's text, or undefined when there is nothing to say. */
const VIEWS: Record<'cache' | 'index' | 'count', (s: Stores, key: string, change: string) => string | undefined> = {
  cache: (s, key, change) => {
    const name = nameOf(change);
    // Writing what the cache holds changes nothing: an upsert applied again is harmless.
    if (s.cache.get(key) === (name ?? undefined)) return `${key} already ${name ?? '∅'}`;
    if (name === null) s.cache.delete(key);
    else s.cache.set(key, name);
    return `${key}=${name ?? '∅'}`;
  },
  index: (s, key, change) => {
    const name = nameOf(change);
    indexRow(s.index, key, name, s.indexed.get(key));
    if (name === null) s.indexed.delete(key);
    else s.indexed.set(key, name);
    return `${key}: ${name === null ? '∅' : words(name).join(' ')}`;
  },
  count: (s, _key, change) => {
    s.count += change.startsWith('insert') ? 1 : change === 'delete' ? -1 : 0;
    return change.startsWith('update') ? undefined : `rows=${s.count}`;
  },
};

function database(stores: Stores): ConsumerSpec {
  return {
    name: 'database',
    subscribe: { topic: 'writes', group: 'db', ordering: 'partition', maxInFlight: 1 },
    handler: async (delivery, ctx) => {
      const [key, name] = JSON.parse(delivery.text()!) as [string, string | null];
      await ctx.sleep(COMMIT_MS);
      // The commit and its change event are one step (the database's own log), so the change log has the commit order.
      const change = stores.commit(key, name);
      ctx.effect('commit', `#${stores.log.length - 1} ${key} ${change}`);
      await ctx.produce(CHANGE_LOG, [{ key, value: change }]);
    },
  };
}

function view(name: keyof typeof VIEWS, stores: Stores, ordering: Ordering): ConsumerSpec {
  return {
    name,
    subscribe: { topic: CHANGE_LOG, group: name, ordering, maxInFlight: 4, ackTimeoutMs: LEASE_MS },
    handler: async (delivery, ctx) => {
      await ctx.sleep(APPLY_MS);
      const applied = VIEWS[name](stores, decoder.decode(delivery.key!), delivery.text()!);
      if (applied !== undefined) ctx.effect(name, `${applied} @${delivery.offset}`);
    },
  };
}

function run(demo: DemoRun, stores: Stores, ordering: Ordering, intro: string): Promise<SimulationResult> {
  const batches = Array.from({ length: WRITES.length / BATCH }, (_, i) => WRITES.slice(i * BATCH, (i + 1) * BATCH));
  return demo.variant(`ordering '${ordering}'`, intro, {
    topics: { writes: { partitions: 1 }, [CHANGE_LOG]: { partitions: 1 } },
    produce: batches.map((batch, i) => ({ topic: 'writes', producer: 'app', atMs: i * BATCH_EVERY_MS, records: batch.map((write) => ({ value: JSON.stringify(write) })) })),
    consumers: [database(stores), view('cache', stores, ordering), view('index', stores, ordering), view('count', stores, ordering)],
    faults: [
      { kind: 'pauseConsumer', trigger: { atMs: PAUSE.atMs }, consumer: 'index', durationMs: PAUSE.durationMs },
      { kind: 'loseAck', trigger: { match: { value: LOST_ACK }, consumer: 'cache' } },
    ],
    lagSampleEveryMs: LAG_SAMPLE_EVERY_MS,
    // Handlers start in delivery order, so the paused index's catch-up reads in offset order.
    deliveryLatencyMs: [0, 0],
    lanes: { hide: new Set(['produce', 'acked', 'processed', 'deliver', 'settle']) },
  });
}

/** Each view next to what it should be, given the database's rows. */
async function compare(demo: DemoRun, stores: Stores, result: SimulationResult) {
  const rows = new Map([...stores.rows].sort(byKey));
  const expectedIndex = new Map<string, Set<string>>();
  for (const [key, name] of rows) indexRow(expectedIndex, key, name, undefined);
  const equal = {
    cache: JSON.stringify([...stores.cache].sort(byKey)) === JSON.stringify([...rows]),
    index: indexText(stores.index) === indexText(expectedIndex),
    count: stores.count === rows.size,
  };
  const fetched = await result.world.broker.fetch({ topic: CHANGE_LOG, partition: 0, offset: 0n, maxRecords: stores.log.length + 1 });
  const logIsCommitOrder = fetched.length === stores.log.length
    && fetched.every((r, n) => r.offset === BigInt(n) && decoder.decode(r.key!) === stores.log[n]!.key && decoder.decode(r.value!) === stores.log[n]!.change);
  const ok = (same: boolean) => (same ? '=' : '≠');
  demo.write('');
  demo.write(`${CHANGE_LOG} offsets 0..${fetched.length - 1} ${logIsCommitOrder ? 'are' : 'are NOT'} the database's commits #0..#${stores.log.length - 1}, in commit order`);
  demo.write(`database  ${[...rows].map(([k, v]) => `${k}=${v}`).join(', ')}`);
  demo.write(`cache   ${ok(equal.cache)} ${[...stores.cache].sort(byKey).filter(([k, v]) => rows.get(k) !== v).map(([k, v]) => `${k}=${v} (database: ${rows.get(k) ?? '∅'})`).join(', ') || 'the database'}`);
  demo.write(`index   ${ok(equal.index)} the database's rows indexed by word (${[...expectedIndex.values()].filter((s) => s.size > 0).length} words)`);
  demo.write(`count   ${ok(equal.count)} ${stores.count} rows (database: ${rows.size})`);
  const indexLag = eventsOf(result, 'lag').filter((e) => e.group === 'index').map((e) => e.lag);
  const indexOffsets = eventsOf(result, 'effect').filter((e) => e.consumer === 'index').map((e) => Number(e.effectId.split('@').pop()));
  const indexInOrder = indexOffsets.every((offset, i) => offset === i);
  demo.write(`index lag every ${LAG_SAMPLE_EVERY_MS}ms: ${indexLag.join(' ')}; it applied offsets ${indexOffsets.join(' ')}${indexInOrder ? ': in order' : ''}`);
  return { equal, logIsCommitOrder, indexInOrder, indexMaxLag: maxLag(result, 'index'), indexFinalLag: indexLag.at(-1) ?? 0, failed: result.violations.map((v) => v.checker) };
}

export const cdcDemo: Demo = {
  name: 'cdc',
  title: 'Change data capture: three views follow a database\'s change log',
  section: 'Change Data Capture',
  async run(demo) {
    const intro = [
      `The app sends ${WRITES.length} writes to a key-value database in batches of ${BATCH}. Each commit appends one change event`,
      `(key = row key) to ${CHANGE_LOG}. Three groups follow it: cache, index, count. index is paused at ${PAUSE.atMs}ms for`,
      `${PAUSE.durationMs}ms; cache loses its ack of "${LOST_ACK}" (user-1), which comes back after the ${LEASE_MS}ms lease.`,
    ].join('\n');
    const keyStores = new Stores();
    const key = await compare(demo, keyStores, await run(demo, keyStores, 'key', `${intro}\n'key', because a view must apply a row's changes in the database's order: one at a time per row, other rows go on.`));
    const noneStores = new Stores();
    const none = await compare(demo, noneStores, await run(demo, noneStores, 'none', `${intro}\n'none': any change to any free slot; user-1's newer changes do not wait for the redelivery.`));
    const converged = (c: typeof key) => c.equal.cache && c.equal.index && c.equal.count;
    const shown = key.logIsCommitOrder && converged(key) && key.indexInOrder && key.indexMaxLag > 0 && key.indexFinalLag === 0 && key.failed.length === 0
      && !none.equal.cache && none.failed.includes('perKeyOrder');
    return {
      shown, facts: { key, none, cacheNone: Object.fromEntries(noneStores.cache), database: Object.fromEntries(noneStores.rows) },
      verdict: `each commit is one change event at its commit's offset; under 'key' the cache, the index and the count equal the database `
        + `(the paused index lagged up to ${key.indexMaxLag} changes, then caught up); under 'none' the redelivered older change `
        + `overwrote a newer one and the cache ${none.equal.cache ? 'still agreed' : 'differs from the database for good'}`,
    };
  },
};
