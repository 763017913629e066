import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckState } from './ack-state.js';
import { Entry, PartitionWindow, type EntryState } from './partition-window.js';

const NO_BYTES = new Uint8Array(0);
const record = (offset: bigint) => ({ offset, timestamp: 0, key: null, value: null, headers: [], source: NO_BYTES, sourceStart: 0, sourceEnd: 0, keyLatin1: () => null });

describe('PartitionWindow', () => {
  it('holds exactly the entries added and not removed, and counts their states, across chunk boundaries and rewinds (property, against a Map)', () => {
    fc.assert(fc.property(
      fc.bigInt(0n, 1n << 40n),
      fc.array(fc.oneof(
        // Short skips too: after a rewind, reading again reaches the records it kept.
        { arbitrary: fc.record({ skip: fc.oneof(fc.nat(2), fc.nat(3000)) }), weight: 4 },
        { arbitrary: fc.record({ remove: fc.nat() }), weight: 1 },
        { arbitrary: fc.record({ entry: fc.nat(), state: fc.constantFrom<EntryState>('ready', 'blocked', 'inflight', 'backoff', 'deadLettering') }), weight: 2 },
        { arbitrary: fc.record({ rewind: fc.constant(true) }), weight: 1 },
      ), { minLength: 50, maxLength: 200 }),
      (floor, ops) => {
        const window = new PartitionWindow(0, new AckState(floor));
        let model = new Map<number, Entry>();
        let next = 0;
        const pick = (n: number) => [...model.values()][n % model.size]!;
        for (const op of ops) {
          if ('skip' in op) {
            next += op.skip;
            const entry = new Entry(0, record(floor + BigInt(next)), undefined, window.seqOf(floor + BigInt(next)));
            // A record a rewind kept is not taken again.
            expect(window.add(entry)).toBe(!model.has(entry.seq));
            if (!model.has(entry.seq)) model.set(entry.seq, entry);
            next += 1;
          } else if ('remove' in op) {
            if (model.size === 0) continue;
            const entry = pick(op.remove);
            window.remove(entry);
            model.delete(entry.seq);
          } else if ('state' in op) {
            if (model.size > 0) window.setState(pick(op.entry), op.state);
          } else {
            // Read again from the floor, keeping only the records being dead-lettered.
            window.rewind();
            model = new Map([...model].filter(([, entry]) => entry.state === 'deadLettering'));
            next = 0;
          }
          expect(window.size).toBe(model.size);
          const states = [...model.values()].map((entry) => entry.state);
          expect([window.undelivered, window.held]).toEqual([
            states.filter((state) => state === 'ready').length,
            states.filter((state) => state === 'inflight' || state === 'deadLettering').length,
          ]);
        }
        const entries = [...model.values()].sort((a, b) => a.seq - b.seq);
        expect(window.entries()).toEqual(entries);
        for (const entry of model.values()) expect(window.holds(entry)).toBe(true);
        for (let seq = -2; seq < Math.max(next, ...model.keys()) + 2; seq += 97) expect(window.at(seq)).toBe(model.get(seq));
      },
    ));
  });
});
