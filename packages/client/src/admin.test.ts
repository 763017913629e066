import { describe, expect, it } from 'vitest';
import { Admin } from './admin.js';
import { FakeServer, openFake } from './fake-server.test-support.js';
import { TopicPartitions } from './producer/topic-partitions.js';

// A broken server's answers, each with a field of another JSON type: read trustingly, each call
// failed with the TypeError (or BigInt's SyntaxError) its reading threw, or returned the garbage.
describe('Admin: an answer it cannot read', () => {
  it.each<[string, (admin: Admin) => Promise<unknown>, string, object]>([
    ['describeTopic, partitions no array', (admin) => admin.describeTopic('t'), 'describeTopic', { name: 't', partitions: 5 }],
    ['describeTopic, an offset no decimal', (admin) => admin.describeTopic('t'), 'describeTopic', { name: 't', partitions: [{ partition: 0, startOffset: { toString: 0 }, endOffset: '1' }] }],
    ['describeGroup, partitions null', (admin) => admin.describeGroup('t', 'g'), 'describeGroup', { partitions: null }],
    ['offsetForTimestamp, offset no decimal', (admin) => admin.offsetForTimestamp('t', 0, 5), 'offsetForTimestamp', { offset: 'x' }],
    ['resetGroup, positions missing', (admin) => admin.resetGroup('t', 'g', 'earliest'), 'resetGroup', {}],
    // These three returned the answer as it came: garbage back to the caller, typed as a list.
    ['listTopics, topics no list of names', (admin) => admin.listTopics(), 'listTopics', { topics: [1, { toString: 0 }] }],
    ['listGroups, a group without its topic', (admin) => admin.listGroups(), 'listGroups', { groups: [{ group: 'g' }] }],
    ['redrive, counts that are no numbers', (admin) => admin.redrive('t.dlq'), 'redrive', { moved: '3', skipped: 0 }],
  ])('%s: INVALID_REQUEST naming the op, the reading error as its cause', async (_name, call, op, answer) => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const admin = new Admin(connection, new TopicPartitions(connection));
    const outcome = call(admin);
    await server.waitForRequests(1);
    server.respond(server.take(op), answer);
    const error: unknown = await outcome.then(() => undefined, (failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', retriable: false, details: { op } });
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});
