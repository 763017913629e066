/**
 * The client's heartbeat (heartbeatIntervalMs / heartbeatTimeoutMs) against a server that is busy,
 * not gone: its session is held for requestsInFlightMax behind a slow disk, so it reads nothing
 * from the socket, the client's pings included, until the fsync ends. Dropping it would redeliver
 * what its subscriptions hold; the requests have their own deadline (requestTimeoutMs).
 */
import { expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect } from '@brook/client';
import { MemoryFileSystem, VirtualClock } from '@brook/protocol';
import { holdingSyncsOf } from '../packages/broker/src/log/log-fixture.js';
import { closeAfterEach } from './fixtures/close-after-each.js';

const opened = closeAfterEach();

it('a server held for requestsInFlightMax behind a slow disk is busy, not gone: the client keeps the connection while its pings go unread, and the send goes through', { timeout: 10_000 }, async () => {
  const syncs = holdingSyncsOf(new MemoryFileSystem(), (path) => path.endsWith('.log'));
  const broker = opened(await Broker.open({ dataDir: '/data', fs: syncs.fs, fsync: 'always' }));
  const server = await broker.listen({ port: 0, requestsInFlightMax: 1 });
  const clock = new VirtualClock();
  const client = opened(await connect(server.url, { clock, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 1000 }));
  await client.admin.createTopic('busy-disk');
  const dropped = new Promise<string>((resolve) => client.once('disconnected', (error) => resolve(`dropped: ${error.description}`)));
  syncs.hold();
  const sent = client.producer({ lingerMs: 0 }).send('busy-disk', [{ value: 'slow' }]);
  try {
    while (syncs.state.held === 0) await new Promise((resolve) => setImmediate(resolve));
    // The session is held now (its one request waits for the fsync): it reads no ping, so no pong comes.
    for (let round = 0; round < 3; round++) clock.advance(1000); // a ping, then its deadline, each round
  } finally {
    syncs.release();
  }
  // Dropped, the send would wait for a reconnect (on the virtual clock), after 'disconnected'.
  expect(await Promise.race([sent.then(() => 'sent'), dropped])).toBe('sent');
  expect(await sent).toEqual([{ partition: 0, offset: 0n }]);
});
