import { describe, expect, it } from 'vitest';
import { VirtualClock } from '@brook/protocol';
import { LeaveDeadline } from './leave-deadline.js';

const TIMEOUT_MS = 1_000;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A deadline whose consumer holds something while `held.now`, and the outcome of a wait for an answer that never comes. */
async function waiting() {
  const clock = new VirtualClock();
  const held = { now: false };
  const deadline = new LeaveDeadline(clock, () => TIMEOUT_MS, () => held.now);
  let outcome: boolean | undefined;
  void deadline.overdue(new Promise(() => undefined)).then((overdue) => (outcome = overdue));
  await turn();
  return { clock, held, deadline, outcome: () => outcome };
}

/** The wait is still on `ms` - 1 later, and overdue at `ms`. */
async function expectOverdueIn(ms: number, clock: VirtualClock, outcome: () => boolean | undefined): Promise<void> {
  clock.advance(ms - 1);
  await turn();
  expect(outcome()).toBeUndefined();
  clock.advance(1);
  await turn();
  expect(outcome()).toBe(true);
}

describe('LeaveDeadline', () => {
  it('calls the answer overdue exactly requestTimeoutMs after nothing is held', async () => {
    const { clock, outcome } = await waiting();
    await expectOverdueIn(TIMEOUT_MS, clock, outcome);
  });

  it('waits untimed while the consumer holds a message, and starts over when one arrives meanwhile', async () => {
    const { clock, held, deadline, outcome } = await waiting();
    held.now = true; // a message arrived before the timer ran out
    deadline.check();
    clock.advance(10 * TIMEOUT_MS);
    await turn();
    expect(outcome()).toBeUndefined();
    held.now = false;
    deadline.check();
    await expectOverdueIn(TIMEOUT_MS, clock, outcome);
  });

  it('waits untimed for a settle request to be answered, and from its answer on', async () => {
    const { clock, deadline, outcome } = await waiting();
    let answer!: () => void;
    const settled = deadline.settle(new Promise<void>((resolve) => (answer = resolve)));
    clock.advance(10 * TIMEOUT_MS);
    await turn();
    expect(outcome()).toBeUndefined();
    answer();
    await settled;
    clock.advance(TIMEOUT_MS);
    await turn();
    expect(outcome()).toBe(true);
  });

  it('ends the wait, not overdue, on stop() (an abort overtook the close) and when the answer comes', async () => {
    const stopped = await waiting();
    stopped.deadline.stop();
    await turn();
    expect(stopped.outcome()).toBe(false);
    const deadline = new LeaveDeadline(new VirtualClock(), () => TIMEOUT_MS, () => false);
    await expect(deadline.overdue(Promise.resolve())).resolves.toBe(false);
  });
});

/** How a wait whose timer runs may end: `answer` settles the unsubscribe answer it waits for. */
type Ending = (deadline: LeaveDeadline, answer: { resolve: () => void; reject: (error: Error) => void }) => void;

describe('LeaveDeadline leaves no timer behind', () => {
  it.each<[string, Ending]>([
    ['the answer comes', (_, answer) => answer.resolve()],
    ['the answer fails (the connection is lost)', (_, answer) => answer.reject(new Error('lost'))],
    ['stop() (an abort overtook the close)', (deadline) => deadline.stop()],
  ])('once %s while its timer runs', async (_, end) => {
    const clock = new VirtualClock();
    const deadline = new LeaveDeadline(clock, () => TIMEOUT_MS, () => false);
    let answer!: { resolve: () => void; reject: (error: Error) => void };
    const waited = deadline.overdue(new Promise<void>((resolve, reject) => (answer = { resolve, reject })));
    expect(clock.pendingTimers(), 'nothing held: the clock runs').toBe(1);
    end(deadline, answer);
    await waited.catch(() => undefined);
    expect(clock.pendingTimers()).toBe(0);
    deadline.check(); // a settle answered or a message arriving after the wait starts nothing
    expect(clock.pendingTimers()).toBe(0);
  });

  it('once overdue', async () => {
    const clock = new VirtualClock();
    const deadline = new LeaveDeadline(clock, () => TIMEOUT_MS, () => false);
    const waited = deadline.overdue(new Promise(() => undefined));
    clock.advance(TIMEOUT_MS);
    await expect(waited).resolves.toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });
});
