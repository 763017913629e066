import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckState } from './ack-state.js';
import { Entry, PartitionWindow } from './partition-window.js';

const NO_BYTES = new Uint8Array(0);
const record = (offset: bigint) => ({ offset, timestamp: 0, key: null, value: null, headers: [], source: NO_BYTES, sourceStart: 0, sourceEnd: 0, keyLatin1: () => null });

describe('PartitionWindow', () => {
  it('holds exactly the entries added and not removed, across chunk boundaries (property, against a Map)', () => {
    fc.assert(fc.property(
      fc.bigInt(0n, 1n << 40n),
      fc.array(fc.oneof(fc.record({ skip: fc.nat(3000) }), fc.record({ remove: fc.nat() })), { maxLength: 200 }),
      (floor, ops) => {
        const window = new PartitionWindow(0, new AckState(floor));
        const model = new Map<number, Entry>();
        let next = 0;
        for (const op of ops) {
          if ('skip' in op) {
            next += op.skip;
            const entry = new Entry(0, record(floor + BigInt(next)), undefined, window.seqOf(floor + BigInt(next)));
            window.add(entry);
            model.set(entry.seq, entry);
            next += 1;
          } else if (model.size > 0) {
            const entry = [...model.values()][op.remove % model.size]!;
            window.remove(entry);
            model.delete(entry.seq);
          }
          expect(window.size).toBe(model.size);
        }
        expect(window.entries()).toEqual([...model.values()].sort((a, b) => a.seq - b.seq));
        for (const entry of model.values()) expect(window.holds(entry)).toBe(true);
        for (let seq = -2; seq < next + 2; seq += 97) expect(window.at(seq)).toBe(model.get(seq));
      },
    ));
  });
});
