/**
 * For property tests whose contract includes "nothing rejects unhandled": Node reports such a
 * rejection to the process, not to the test that caused it, so a test file collects them itself.
 */
import { afterAll, beforeAll } from 'vitest';

/**
 * The rejections nobody handled while this file's tests run (listening from beforeAll to
 * afterAll). A test empties it before a run and expects it empty after one.
 */
export function collectUnhandledRejections(): unknown[] {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  beforeAll(() => void process.on('unhandledRejection', onUnhandled));
  afterAll(() => void process.off('unhandledRejection', onUnhandled));
  return unhandled;
}
