/**
 * Set-up for the delivery engine's tests: the testing kit's broker world (a memory broker on a
 * VirtualClock, `settle`, `advance`, `restart` with a power cut), under the name these tests use.
 * Test-only.
 */
export { openWorld as engineFixture, type World as EngineFixture } from '../testing/world.js';
