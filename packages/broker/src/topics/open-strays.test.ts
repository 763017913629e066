/**
 * Open removes what a crash left of Brook's own work (an interrupted create or delete, the
 * temporary file of an atomic write), and nothing else: a file someone put in the data
 * directory is not Brook's to delete (docs/storage.md, "Recovery").
 */
import { describe, expect, it } from 'vitest';
import { engineFixture } from '../groups/group-fixture.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('what open leaves alone', () => {
  it.each([
    ['a file in topics/', 'st-topics-file', (topic: string) => `/brook/topics/README-${topic}`],
    ['a directory in topics/ whose name no topic can have', 'st-topics-dir', (topic: string) => `/brook/topics/notes on ${topic}/README`],
    ['a file in a topic directory', 'st-topic-file', (topic: string) => `/brook/topics/${topic}/README`],
    ['a file in a partition directory', 'st-partition-file', (topic: string) => `/brook/topics/${topic}/0/README`],
    ['a .tmp file in a partition directory that no atomic write of Brook makes', 'st-partition-tmp', (topic: string) => `/brook/topics/${topic}/0/notes.tmp`],
    ['a file in groups/', 'st-groups-file', (topic: string) => `/brook/groups/README-${topic}`],
    ['a directory in groups/ whose name no topic can have', 'st-groups-dir', (topic: string) => `/brook/groups/notes on ${topic}/README`],
    ["a file in a topic's groups directory", 'st-group-file', (topic: string) => `/brook/groups/${topic}/README`],
    ["a directory in a topic's groups directory whose name no group can have", 'st-group-dir', (topic: string) => `/brook/groups/${topic}/notes on g/README`],
    ["a file in a group's directory named like a journal of no generation", 'st-journal-file', (topic: string) => `/brook/groups/${topic}/g-${topic}/journal-notes`],
    ["a directory in a group's directory named like a journal of no generation (a leading zero)", 'st-journal-zero', (topic: string) => `/brook/groups/${topic}/g-${topic}/journal-01/README`],
    ["a directory in a group's directory named like a journal generation, with a suffix", 'st-journal-suffix', (topic: string) => `/brook/groups/${topic}/g-${topic}/journal-1.old/README`],
    ["a directory in a group's directory named like a journal generation, with a prefix", 'st-journal-prefix', (topic: string) => `/brook/groups/${topic}/g-${topic}/old-journal-1/README`],
  ])('%s survives open, and the topic and its group open as before', async (_what, topic, strayPath) => {
    const world = await engineFixture();
    await world.broker.createTopic(topic);
    await world.broker.produce(topic, [{ value: 'a' }]);
    const subscription = await world.broker.subscribe({ topic, group: `g-${topic}` }, () => undefined);
    await subscription.close();
    await world.broker.close();
    const path = strayPath(topic);
    await world.fs.mkdir(path.slice(0, path.lastIndexOf('/')));
    await world.fs.writeFile(path, bytes('mine'));

    const broker = await world.restart({ powerCut: false });

    expect(new TextDecoder().decode(await world.fs.readFile(path))).toBe('mine');
    expect(broker.listTopics()).toEqual([topic]);
    expect(broker.listGroups()).toEqual([expect.objectContaining({ topic, group: `g-${topic}` })]);
    expect(await broker.fetch({ topic, partition: 0, offset: 0n })).toHaveLength(1);
    await broker.close();
  });
});
