/**
 * What a consumer asks for when it subscribes (`client.subscribe`, `client.consume`), and the
 * check of those options that runs before anything is sent.
 */
import { checkOptionKeys, checkSignalOption, BACKOFF_OPTION_KEYS, type OptionKeys, type WireSubscribeOptions } from '@brook/protocol';
import type { StartPosition } from './start-position.js';

export interface SubscribeOptions extends Omit<WireSubscribeOptions, 'from'> {
  /** Where a new group (or a tail reader) starts. Default: 'earliest' with a group, 'latest' without. */
  from?: StartPosition;
  /**
   * Aborting closes the subscription (gracefully, like close()). Before the broker accepted it,
   * client.subscribe() rejects with the signal's reason; a consume() loop just ends, its `ready`
   * rejecting with that reason.
   */
  signal?: AbortSignal;
}

/**
 * The broker checks each setting's value, but would ignore a key it does not know: a misspelled
 * one is refused here, before anything is sent.
 */
const SUBSCRIBE_KEYS: OptionKeys<SubscribeOptions> = {
  topic: true, group: true, name: true, ordering: true, maxInFlight: true, ackTimeoutMs: true, maxDeliveries: true,
  backoff: true, deadLetterTopic: true, from: true, signal: true,
};

/** Refuses a misspelled key, options that are not an object, or a signal that is not one, with INVALID_CONFIG. */
export function checkSubscribeOptions(options: SubscribeOptions): void {
  checkOptionKeys(options, SUBSCRIBE_KEYS);
  if (options.backoff !== undefined) checkOptionKeys(options.backoff, BACKOFF_OPTION_KEYS, 'backoff');
  checkSignalOption(options.signal);
}
