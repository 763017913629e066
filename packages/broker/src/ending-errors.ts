/**
 * The errors that end what was under way when the broker closes or a topic goes: one wording for
 * each, wherever it is told (a call, a subscription's end, a settle).
 */
import { BrookError } from '@brook/protocol';

export function brokerClosedError(): BrookError {
  return new BrookError('CLOSED', 'broker is closed');
}

export function topicDeletedError(topic: string): BrookError {
  return new BrookError('UNKNOWN_TOPIC', `topic ${topic} was deleted`, { topic });
}
