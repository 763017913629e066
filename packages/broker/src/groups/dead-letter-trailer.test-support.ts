/**
 * Headers ending with the broker's dead-letter trailer (dead-letter.ts), written by hand: a record
 * carrying them is a dead letter redrive sends back to `originTopic`, partition 0.
 */
import { DEAD_LETTER_HEADERS } from './dead-letter.js';

export function deadLetterTrailer(originTopic: string): Record<string, string> {
  const { topic, partition, offset, timestamp, group, deliveryCount, reason } = DEAD_LETTER_HEADERS;
  return { [topic]: originTopic, [partition]: '0', [offset]: '0', [timestamp]: '0', [group]: 'g', [deliveryCount]: '1', [reason]: 'r' };
}
