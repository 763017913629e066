import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AckState } from './ack-state.js';
import { OffsetRanges } from './offset-ranges.js';

describe('OffsetRanges', () => {
  it('merges adjacent offsets into one range', () => {
    const set = new OffsetRanges();
    for (const offset of [5n, 7n, 6n, 3n, 4n]) expect(set.add(offset)).toBe(true);
    expect(set.add(6n)).toBe(false);
    expect(set.toArray()).toEqual([[3n, 8n]]);
  });

  it('behaves like a Set of offsets (property, against a naive model)', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.record({ add: fc.bigInt(0n, 60n) }), fc.record({ dropBelow: fc.bigInt(0n, 60n) })), { maxLength: 200 }),
      (ops) => {
        const set = new OffsetRanges();
        const model = new Set<bigint>();
        for (const op of ops) {
          if ('add' in op) expect(set.add(op.add)).toBe(!model.has(op.add) && (model.add(op.add), true));
          else {
            set.dropBelow(op.dropBelow);
            for (const offset of [...model]) if (offset < op.dropBelow) model.delete(offset);
          }
          const ranges = set.toArray();
          ranges.forEach(([start, end], i) => {
            expect(start < end).toBe(true);
            if (i > 0) expect(start > ranges[i - 1]![1]).toBe(true); // disjoint and not adjacent
          });
          expect(set.size).toBe(BigInt(model.size));
          for (let offset = 0n; offset <= 61n; offset++) {
            expect(set.has(offset)).toBe(model.has(offset));
            let absent = offset;
            while (model.has(absent)) absent += 1n;
            expect(set.firstAbsentFrom(offset)).toBe(absent);
          }
        }
        expect(OffsetRanges.fromArray(set.toArray()).toArray()).toEqual(set.toArray());
      },
    ));
  });
});

describe('AckState', () => {
  it('firstUnackedFrom: the floor from below it, past a run of acks from within it, the offset itself from a gap', () => {
    const state = new AckState(10n);
    for (const offset of [12n, 13n, 14n, 17n]) state.ack(offset);
    expect([5n, 10n, 11n, 12n, 14n, 15n, 17n, 18n].map((offset) => state.firstUnackedFrom(offset))).toEqual([10n, 10n, 11n, 15n, 15n, 15n, 18n, 18n]);
  });

  it('advances the floor over runs of acks, whatever the ack order', () => {
    const state = new AckState(10n);
    state.ack(12n);
    state.ack(11n);
    expect(state.ackFloor).toBe(10n);
    state.ack(10n);
    expect(state.ackFloor).toBe(13n);
    expect(state.isAcked(9n)).toBe(true);
    state.ack(12n);
    expect(state.snapshot()).toEqual({ ackFloor: 13n, acked: [], attempts: [] });
  });

  it('a snapshot lists the attempts of unacked offsets only, also when the floor moved into a run of attempts', () => {
    const state = new AckState(0n);
    for (const offset of [0n, 1n, 2n, 5n]) state.recordAttempt(offset);
    state.recordAttempt(2n);
    state.ack(0n);
    state.ack(5n);
    expect(state.snapshot()).toEqual({ ackFloor: 1n, acked: [[5n, 6n]], attempts: [[1n, 1], [2n, 2]] });
  });

  it('counts attempts per offset and forgets them on ack', () => {
    const state = new AckState(0n);
    expect(state.recordAttempt(3n)).toBe(1);
    expect(state.recordAttempt(3n)).toBe(2);
    expect(state.attempts(3n)).toBe(2);
    state.ack(3n);
    expect(state.attempts(3n)).toBe(0);
    expect(() => state.recordAttempt(3n)).toThrow(/assertion failed/);
  });

  it('floor = smallest unacked offset, attempts per offset, and a snapshot restores the same state (property)', () => {
    fc.assert(fc.property(
      fc.bigInt(0n, 1000n),
      fc.array(fc.oneof(
        fc.record({ ack: fc.nat(80) }),
        fc.record({ attempt: fc.nat(80) }),
        fc.record({ restore: fc.nat(80), count: fc.nat(3) }),
      ), { maxLength: 300 }),
      (start, ops) => {
        const state = new AckState(start);
        const acked = new Set<bigint>();
        const attempts = new Map<bigint, number>();
        for (const op of ops) {
          if ('ack' in op) {
            state.ack(start + BigInt(op.ack));
            acked.add(start + BigInt(op.ack));
            attempts.delete(start + BigInt(op.ack));
          } else if ('attempt' in op) {
            const offset = start + BigInt(op.attempt);
            if (state.isAcked(offset)) continue;
            attempts.set(offset, (attempts.get(offset) ?? 0) + 1);
            expect(state.recordAttempt(offset)).toBe(attempts.get(offset));
          } else {
            const offset = start + BigInt(op.restore);
            state.restoreAttempts(offset, op.count);
            if (!acked.has(offset)) attempts.set(offset, op.count);
          }
          let floor = start;
          while (acked.has(floor)) floor += 1n;
          expect(state.ackFloor).toBe(floor);
        }
        for (let i = 0n; i <= 81n; i++) expect(state.attempts(start + i)).toBe(attempts.get(start + i) ?? 0);
        const restored = AckState.restore(state.snapshot());
        expect(restored.snapshot()).toEqual(state.snapshot());
        for (let i = 0n; i <= 81n; i++) {
          expect(restored.isAcked(start + i)).toBe(acked.has(start + i));
          expect(restored.attempts(start + i)).toBe(attempts.get(start + i) ?? 0);
        }
      },
    ));
  });

  it('resetTo replays or skips: floor moves, acks and attempts are forgotten', () => {
    const state = new AckState(0n);
    state.ack(0n);
    state.ack(5n);
    state.recordAttempt(2n);
    state.resetTo(0n);
    expect(state.snapshot()).toEqual({ ackFloor: 0n, acked: [], attempts: [] });
  });
});
