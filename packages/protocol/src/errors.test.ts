import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, assert, isBrookError } from './errors.js';

describe('assert', () => {
  it('passes silently when the condition holds, and never looks at the detail then', () => {
    const detail = {
      get offset(): bigint {
        throw new Error('detail read on a passing check');
      },
    };
    expect(() => assert(true, 'holds', detail)).not.toThrow();
  });

  it('fails with a plain Error naming the check and each detail, bigints included', () => {
    let thrown: unknown;
    try {
      assert(false, 'attempt on an acked offset', { offset: 42n, partition: 3 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(isBrookError(thrown)).toBe(false);
    expect((thrown as Error).message).toBe('assertion failed: attempt on an acked offset (offset 42, partition 3)');
    expect(() => assert(0, 'no detail')).toThrow(/^assertion failed: no detail$/);
  });
});

describe('the error table in docs/protocol.md', () => {
  // A newcomer looks codes up there, not in this file: a code added here and not there (or
  // one the docs name that no longer exists) would leave them guessing.
  it('lists exactly the codes of ErrorCodes, each with its retriable flag', () => {
    const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('\n## Errors\n'), doc.indexOf('\n## Close codes\n'));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (yes|no) \|/gm)].map(([, code, retriable]) => [code, retriable === 'yes']);
    expect(rows).toEqual(Object.entries(ErrorCodes).map(([code, { retriable }]) => [code, retriable]));
  });
});
