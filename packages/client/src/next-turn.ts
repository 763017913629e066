/**
 * "Later in this turn of the event loop, after the I/O already queued": how the client batches
 * what one turn asks for (sends with lingerMs 0, settles) and starts a subscription's handlers.
 * It is not a timer, so it is taken from `node:timers`, which test runners' fake timers
 * (vi.useFakeTimers, jest.useFakeTimers) leave real: they fake the global `setImmediate`, and
 * under them a send would never resolve nor an ack go out until the test advanced time.
 */
import { setImmediate } from 'node:timers';

export function nextTurn(callback: () => void): void {
  setImmediate(callback);
}
