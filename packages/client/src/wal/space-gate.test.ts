import { describe, expect, it } from 'vitest';
import type { OnFull } from './limits.js';
import { SpaceGate } from './space-gate.js';

function setup(onFull: OnFull, limitBytes = 100, initialBytes = 0) {
  const events: string[] = [];
  const gate = new SpaceGate(limitBytes, onFull, () => events.push('blocked'), initialBytes);
  const put = (name: string, bytes: number) => gate.admit(bytes, async () => {
    events.push(name);
    return name;
  });
  return { gate, events, put };
}

describe('SpaceGate (walBytesMax)', () => {
  it('admits a put that fills the limit to the byte; one byte more is BUFFER_FULL with onFull reject', async () => {
    const { gate, events, put } = setup('reject', 100, 40);
    await expect(put('fits', 60)).resolves.toBe('fits');
    expect(gate.used).toBe(100);
    gate.release(1);
    await expect(put('over', 2)).rejects.toMatchObject({ code: 'BUFFER_FULL', details: { usedBytes: 99, limitBytes: 100, bytes: 2 } });
    expect(events).toEqual(['fits', 'blocked']);
    expect(gate.used).toBe(99);
  });

  it('with onFull wait, admits waiting puts in order once they fit, a smaller later one never first', async () => {
    const { gate, events, put } = setup('wait', 100, 90);
    const big = put('big', 50);
    const small = put('small', 5);
    expect(events).toEqual(['blocked', 'blocked']);
    gate.release(40); // 50 used: big fills the limit, small waits behind it
    expect(gate.used).toBe(100);
    await expect(big).resolves.toBe('big');
    // The admitted put went into the open batch; the one still waiting needs it sealed and sent.
    expect(events).toEqual(['blocked', 'blocked', 'big', 'blocked']);
    gate.release(5); // 95 used: small fills the limit
    await expect(small).resolves.toBe('small');
    expect(gate.used).toBe(100);
    expect(events).toEqual(['blocked', 'blocked', 'big', 'blocked', 'small']);
  });

  it('rejects every waiting put with the error it is given', async () => {
    const { gate, put } = setup('wait', 10, 10);
    const waiting = [put('a', 1), put('b', 2)];
    gate.rejectWaiting(new Error('closed'));
    for (const settled of await Promise.allSettled(waiting)) expect(settled).toMatchObject({ status: 'rejected', reason: { message: 'closed' } });
  });

  it('a release too small to admit the head of the wait admits nothing and asks for no seal', async () => {
    const { gate, events, put } = setup('wait', 100, 100);
    const waiting = put('waiting', 10);
    expect(events).toEqual(['blocked']);
    gate.release(9);
    expect(events).toEqual(['blocked']);
    expect(gate.used).toBe(91);
    gate.release(1);
    await expect(waiting).resolves.toBe('waiting');
    expect(events).toEqual(['blocked', 'waiting']);
  });
});

