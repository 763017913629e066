/**
 * Topic names become directory names, so they are held to Kafka's rule: 1 to 249 characters
 * from [A-Za-z0-9._-], and neither "." nor "..". Group names follow it too. Here, beside the wire
 * codecs, so that the broker, the client and the `brook` command hold names to one rule.
 */
import { BrookError } from './errors.js';
import { TOPIC_NAME_LENGTH_MAX } from './limits.js';
import { showValue } from './show-value.js';
const TOPIC_NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

export function validateTopicName(name: unknown): string {
  const problem = topicNameProblem(name);
  // details carry the name only as a string: a bigint or symbol would break whoever serializes the error.
  if (problem) throw new BrookError('INVALID_TOPIC_NAME', `topic name ${showValue(name)} ${problem}`, typeof name === 'string' ? { name } : {});
  return name as string;
}

/**
 * Whether `name` follows the rule (group names follow it too). Open removes only directories
 * Brook could have made, and it never makes one under another name.
 */
export function isTopicName(name: string): boolean {
  return topicNameProblem(name) === undefined;
}

/** What is wrong with `name` as a topic or group name ("must not be empty", ...), or undefined. */
export function topicNameProblem(name: unknown): string | undefined {
  return typeof name !== 'string' ? 'must be a string'
    : name.length === 0 ? 'must not be empty'
    : name.length > TOPIC_NAME_LENGTH_MAX ? `must be at most ${TOPIC_NAME_LENGTH_MAX} characters, got ${name.length}`
    : name === '.' || name === '..' ? 'must not be "." or ".."'
    : !TOPIC_NAME_PATTERN.test(name) ? 'may only contain A-Z a-z 0-9 . _ -'
    : undefined;
}
