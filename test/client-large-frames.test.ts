/**
 * The client takes every frame a server within its limits may send. A server's frames are bounded
 * by its frameBytesMax and fetchBytesMax (both up to 256 MiB) plus a little overhead, and a DELIVER
 * frame holding one record larger than frameBytesMax carries it alone: up to batchBytesMax (64 MiB
 * at most). ws's own default cap for incoming messages, 100 MiB, would close such a connection
 * 1009 from the client's side; and a fetch answer is one batch of everything read, so it may be
 * larger than the 64 MiB a produced batch is held to.
 */
import { expect, it } from 'vitest';
import { Broker, LIMITS } from '@brook/broker';
import { connect } from '@brook/client';
import { closeAfterEach } from './fixtures/close-after-each.js';

const MiB = 1024 * 1024;
/** Past ws's default maxPayload (100 MiB), within what fetchBytesMax allows. */
const FETCH_BYTES = 120 * MiB;
const RECORD_BYTES = 30 * MiB;

const opened = closeAfterEach();

it.each(['WebSocket', 'in process'] as const)('a fetch answer over 100 MiB reaches the client (%s)', { timeout: 60_000 }, async (transport) => {
  const broker = opened(await Broker.open({ storage: 'memory', batchBytesMax: LIMITS.batchBytesMax.max, fetchBytesMax: 256 * MiB }));
  await broker.createTopic('large-fetch');
  const value = new Uint8Array(RECORD_BYTES).fill(7);
  for (let i = 0; i < FETCH_BYTES / RECORD_BYTES; i++) await broker.produce('large-fetch', [{ value }]);
  const client = opened(transport === 'WebSocket' ? await connect((await broker.listen({ port: 0 })).url, { reconnect: false }) : await connect(broker));
  const records = await client.fetch({ topic: 'large-fetch', partition: 0, offset: 0n, maxBytes: FETCH_BYTES + MiB });
  expect(records.map((record) => record.value?.length)).toEqual([RECORD_BYTES, RECORD_BYTES, RECORD_BYTES, RECORD_BYTES]);
  expect(records[3]!.value![RECORD_BYTES - 1]).toBe(7);
});
