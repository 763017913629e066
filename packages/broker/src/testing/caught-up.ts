/**
 * caughtUp: the race-free way for a test to wait until a group has nothing left, instead of a
 * sleep or a poll. docs/testing.md, "Brook in your own tests".
 */
import { BrookError, type GroupDescription } from '@brook/protocol';
import type { Broker } from '../broker.js';
import { brokerClosedError, topicDeletedError } from '../ending-errors.js';

/** The events after which a group's lag may have reached 0. */
const LAG_FALLS = ['acked', 'deadLettered', 'retentionDropped', 'groupReset'] as const;

/**
 * Resolves with the group's description once its lag is 0: every record produced to `topic` so
 * far is acked or dead-lettered (or lost to retention, or skipped by a reset), nothing in flight
 * or backing off. Call it after the produce resolved. Checks at once, then after each event that
 * lowers the lag (listeners see the state the event announces). Rejects with describeGroup's
 * error if the topic or group is unknown (subscribe first); while it waits, with UNKNOWN_GROUP if
 * the group is deleted, UNKNOWN_TOPIC if its topic is, and CLOSED once the broker begins to close
 * (its `closing` event): the lag can fall no more, and a test waiting on it would hang. On a
 * VirtualClock, redeliveries wait for the clock: drive it (`runUntilIdle`, `advanceAsync`)
 * meanwhile.
 */
export function caughtUp(broker: Broker, topic: string, group: string): Promise<GroupDescription> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      for (const name of LAG_FALLS) broker.off(name, check);
      broker.off('groupDeleted', deleted);
      broker.off('closing', closing);
    };
    function check(event?: { topic: string }): void {
      if (event !== undefined && event.topic !== topic) return;
      let description: GroupDescription;
      try {
        description = broker.describeGroup(topic, group);
      } catch (error) {
        stop();
        reject(error);
        return;
      }
      if (description.lag !== 0n) return;
      stop();
      resolve(description);
    }
    function deleted(event: { topic: string; group: string }): void {
      if (event.topic !== topic || event.group !== group) return;
      stop();
      // deleteTopic has taken the topic off the list before it tells its groups' groupDeleted.
      reject(broker.listTopics().includes(topic)
        ? new BrookError('UNKNOWN_GROUP', `group ${group} of topic ${topic} was deleted before it caught up`, { topic, group })
        : topicDeletedError(topic));
    }
    function closing(): void {
      stop();
      reject(brokerClosedError());
    }
    for (const name of LAG_FALLS) broker.on(name, check);
    broker.on('groupDeleted', deleted);
    broker.on('closing', closing);
    check();
  });
}
