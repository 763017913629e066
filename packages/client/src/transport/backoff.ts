/**
 * Jittered exponential backoff on the injected Random, for reconnects and produce retries:
 * initialDelayMs × multiplier^attempt, capped at maxDelayMs, scaled by [1 - jitter, 1 + jitter]
 * (jitter spreads the reconnects of many clients after a server restart).
 */
import type { Random } from '@brook/protocol';
import type { BackoffPolicy } from '../options.js';

/** The delay before retry number `attempt` (0 = the first retry). */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: Random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** attempt);
  return Math.max(0, Math.round(base * (1 + policy.jitter * (2 * random.next() - 1))));
}
