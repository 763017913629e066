/**
 * The client takes every frame a server within its limits may send. A server's frames are bounded
 * by its frameBytesMax and fetchBytesMax (both up to 256 MiB) plus a little overhead, and a DELIVER
 * frame holding one record larger than frameBytesMax carries it alone: up to batchBytesMax (64 MiB
 * at most). ws's own default cap for incoming messages, 100 MiB, would close such a connection
 * 1009 from the client's side; and a fetch answer is one batch of everything read, so it may be
 * larger than the 64 MiB a produced batch is held to.
 */
import { afterEach, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Client } from '@brook/client';

const MiB = 1024 * 1024;
/** Past ws's default maxPayload (100 MiB), within what fetchBytesMax allows. */
const FETCH_BYTES = 120 * MiB;
const RECORD_BYTES = 30 * MiB;

let broker: Broker | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  await broker?.close();
  broker = client = undefined;
});

it.each(['WebSocket', 'in process'] as const)('a fetch answer over 100 MiB reaches the client (%s)', { timeout: 60_000 }, async (transport) => {
  broker = await Broker.open({ storage: 'memory', batchBytesMax: 64 * MiB, fetchBytesMax: 256 * MiB });
  await broker.createTopic('large-fetch');
  const value = new Uint8Array(RECORD_BYTES).fill(7);
  for (let i = 0; i < FETCH_BYTES / RECORD_BYTES; i++) await broker.produce('large-fetch', [{ value }]);
  client = transport === 'WebSocket' ? await connect((await broker.listen({ port: 0 })).url, { reconnect: false }) : await connect(broker);
  const records = await client.fetch({ topic: 'large-fetch', partition: 0, offset: 0n, maxBytes: FETCH_BYTES + MiB });
  expect(records.map((record) => record.value?.length)).toEqual([RECORD_BYTES, RECORD_BYTES, RECORD_BYTES, RECORD_BYTES]);
  expect(records[3]!.value![RECORD_BYTES - 1]).toBe(7);
});
