/**
 * Set-up for the delivery engine's tests: the testing kit's broker world (a memory broker on a
 * VirtualClock, `settle`, `advance`, `restart` with a power cut), under the name these tests use.
 * Test-only.
 */
import type { Delivery } from './delivery.js';

export { openWorld as engineFixture, type World as EngineFixture } from '../testing/world.js';

/** A handler that keeps every delivery unsettled until the test settles it (it never resolves). */
export function parking() {
  const held: Delivery[] = [];
  return {
    held,
    handler: (delivery: Delivery) => {
      held.push(delivery);
      return new Promise<void>(() => undefined);
    },
  };
}
