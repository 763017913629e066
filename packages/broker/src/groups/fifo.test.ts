import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Fifo } from './fifo.js';

type Op = { push: number } | { shift: true } | { dropBelow: number } | { clear: true };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // Mostly pushes of runs and shifts, so the queue grows past the point where it compacts (1024 taken).
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 3000 }).map((push) => ({ push })) },
  { weight: 6, arbitrary: fc.constant({ shift: true as const }) },
  { weight: 1, arbitrary: fc.nat(20_000).map((dropBelow) => ({ dropBelow })) },
  { weight: 1, arbitrary: fc.constant({ clear: true as const }) },
);

describe('Fifo', () => {
  it('behaves as an array taken from the front (property, across compactions)', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), fc.nat(2000), (ops, shiftRun) => {
      const fifo = new Fifo<number>();
      const model: number[] = [];
      let next = 0;
      for (const op of ops) {
        if ('push' in op) {
          for (let i = 0; i < op.push; i++, next++) {
            fifo.push(next);
            model.push(next);
          }
        } else if ('shift' in op) {
          // A run of shifts, so that more than 1024 are taken between pushes.
          for (let i = 0; i <= shiftRun; i++) expect(fifo.shift()).toBe(model.shift());
        } else if ('dropBelow' in op) {
          fifo.dropWhile((item) => item < op.dropBelow);
          while (model.length > 0 && model[0]! < op.dropBelow) model.shift();
        } else {
          fifo.clear();
          model.length = 0;
        }
        expect(fifo.size).toBe(model.length);
        expect(fifo.peek()).toBe(model[0]);
        expect(fifo.last()).toBe(model.at(-1));
      }
      const rest: number[] = [];
      for (let item = fifo.shift(); item !== undefined; item = fifo.shift()) rest.push(item);
      expect(rest).toEqual(model);
    }), { numRuns: 200 });
  });
});
