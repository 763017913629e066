/**
 * A redrive racing a delete of its dead-letter topic once the topic has a redrive group: the
 * delete closes the group, journal included, while the records the redrive moved wait to be
 * durable in their origin; their ack then finds the journal closed. That is no storage failure
 * (docs/semantics.md "Redrive", "Deleting a topic"): the redrive fails with UNKNOWN_TOPIC, no
 * log is reported failed, and the broker still closes clean.
 */
import { describe, expect, it } from 'vitest';
import { heldReads } from '../held-reads.test-support.js';
import { deadLetter } from './redrive.test-support.js';

describe('redrive racing a delete of its dead-letter topic, which has a redrive group', () => {
  it('the ack of what went back comes after the delete closed the group: UNKNOWN_TOPIC, no logFailed, and the next open finds a clean shutdown', async () => {
    const { world, holdNextSync } = await heldReads();
    const { broker } = world;
    await broker.createTopic('rdj');
    await deadLetter(world, 'rdj', 'g', [{ value: 'a' }]);
    // The first redrive makes the dead-letter topic's redrive group.
    expect(await broker.redrive('rdj.dlq')).toEqual({ moved: 1, skipped: 0 });
    await deadLetter(world, 'rdj', 'g', [{ value: 'b' }]);
    const failed: unknown[] = [];
    broker.on('logFailed', (event) => void failed.push(event));
    const held = holdNextSync(/\/topics\/rdj\/0\//);
    const redriving = broker.redrive('rdj.dlq').then(() => 'redriven', (e: { code: string }) => e.code);
    await held.reached;
    await broker.deleteTopic('rdj.dlq');
    held.release();

    expect([await redriving, failed]).toEqual(['UNKNOWN_TOPIC', []]);
    await broker.close();
    // The broker closed: a restart without a power cut is a reopen on its files.
    const reopened = await world.restart({ powerCut: false });
    expect(reopened.openedClean).toBe(true);
    await reopened.close();
  });
});
