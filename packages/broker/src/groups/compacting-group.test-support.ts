/**
 * Set-up shared by the group-state durability tests: a group whose journal compacts every few
 * dozen acks, and how many bytes a journal generation's files hold. Test-only.
 */
import type { MemoryFileSystem } from '@brook/protocol';
import type { BrokerOptions } from '../broker.js';
import type { Delivery } from './delivery.js';
import { engineFixture } from './group-fixture.js';

/** Bytes of the segment files of the group journal generation `generation` (e.g. 'journal-0'): its log's sizeBytes. */
export async function journalBytes(fs: MemoryFileSystem, generation: string, dir = '/'): Promise<number> {
  let total = 0;
  for (const name of await fs.readdir(dir)) {
    const path = `${dir === '/' ? '' : dir}/${name}`;
    if (name.endsWith('.log') && dir.endsWith(`/${generation}`)) total += (await fs.readFile(path)).length;
    else if (!name.includes('.')) total += await journalBytes(fs, generation, path);
  }
  return total;
}

export function holding() {
  const held: Delivery[] = [];
  return { held, handler: (d: Delivery) => (held.push(d), new Promise<void>(() => undefined)) };
}

/**
 * A broker with the smallest group journal (it compacts every few dozen acks) and a group whose one
 * member holds `records` records of topic 't', none settled.
 */
export async function compactingGroup(records: number, options: BrokerOptions = {}) {
  const fixture = await engineFixture({ groupJournalBytesMax: 4096, ...options });
  await fixture.broker.createTopic('t');
  await fixture.broker.produce('t', Array.from({ length: records }, (_, i) => ({ value: `m${i}` })));
  const c = holding();
  await fixture.broker.subscribe({ topic: 't', group: 'g', maxInFlight: records }, c.handler);
  await fixture.settle(() => c.held.length === records);
  return { fixture, held: c.held };
}
