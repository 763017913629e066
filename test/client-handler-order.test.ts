/**
 * 'partition' order at the client's handler window (consumer/handler-window.ts): messages that
 * wait for a handler's place start oldest first, and none starts once the broker took it back
 * with an earlier one. In process, on a VirtualClock, so leases run out on command. Found by
 * the wire-chaos property (test/wire-chaos.property.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Message } from '@brook/client';
import { VirtualClock } from '@brook/protocol';
import { closeAfterEach } from './fixtures/close-after-each.js';
import { advance } from './fixtures/virtual-time.js';

const opened = closeAfterEach();
const ACK_TIMEOUT_MS = 1_000;
const BACKOFF_MS = 100;

/**
 * A 'partition' subscription (maxInFlight 3) whose handlers run until the test finishes them;
 * the first three deliveries' leases have run out while their handlers still run, so what the
 * broker sends again waits for a place: 0:0#2, 0:1#2, 0:2#2.
 */
async function windowFullOfStaleHandlers(topic: string) {
  const clock = new VirtualClock();
  const broker = opened(await Broker.open({ storage: 'memory', clock }));
  await broker.createTopic(topic);
  await broker.produce(topic, Array.from({ length: 6 }, (_, i) => ({ value: `m${i}` })));
  const client = opened(await connect(broker, { clock }));
  const running: { message: Message; finish: () => void }[] = [];
  const seen: string[] = [];
  await client.subscribe({
    topic, group: 'g', ordering: 'partition', maxInFlight: 3, ackTimeoutMs: ACK_TIMEOUT_MS, backoff: { initialMs: BACKOFF_MS, maxMs: BACKOFF_MS, jitter: 0 },
  }, (message) => {
    seen.push(`${message.offset}#${message.deliveryCount}`);
    return new Promise<void>((resolve) => running.push({ message, finish: resolve }));
  });
  await advance(clock, 0);
  await advance(clock, ACK_TIMEOUT_MS); // 0:0 backs off, 0:1 and 0:2 are taken back with it
  await advance(clock, BACKOFF_MS); // 0:0#2..0:2#2 come and wait: the three stale handlers hold every place
  expect(seen).toEqual(['0#1', '1#1', '2#1']);
  /** Finishes the handler of `offset#count`. */
  const finish = async (delivery: string): Promise<void> => {
    running.find(({ message }) => `${message.offset}#${message.deliveryCount}` === delivery)!.finish();
    await advance(clock, 0);
  };
  const handlerOf = (delivery: string): Message => running.find(({ message }) => `${message.offset}#${message.deliveryCount}` === delivery)!.message;
  /** Lets every handler finish, so that closing the client does not wait for them. */
  const finishAll = async (): Promise<void> => {
    while (running.length > 0) running.shift()!.finish();
    await advance(clock, 0);
    if (running.length > 0) await finishAll();
  };
  return { clock, seen, finish, handlerOf, finishAll };
}

describe("a 'partition' subscription's handlers see its offsets in order", () => {
  it('a place freed by a settlement goes to the oldest message waiting, not to the next one to arrive', async () => {
    const { seen, finish, handlerOf, finishAll } = await windowFullOfStaleHandlers('order-oldest-first');
    await finish('0#1'); // its place goes to 0:0#2
    expect(seen.at(-1)).toBe('0#2');
    // 0:0#2 is acked while its handler carries on: the broker sends 0:3, and the place is free.
    await handlerOf('0#2').ack();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['0#1', '1#1', '2#1', '0#2', '1#2']);
    await finishAll();
  });

  it('a message given back unseen takes with it the later ones of its partition still waiting: the broker took them back too', async () => {
    const { clock, seen, finish, handlerOf, finishAll } = await windowFullOfStaleHandlers('order-give-back');
    await finish('0#1');
    await advance(clock, 400);
    await handlerOf('0#2').ack(); // 0:3 comes; 0:1#2 takes the freed place; 0:2#2 (since t 1100) and 0:3#1 (since t 1500) wait
    await advance(clock, 0);
    expect(seen.at(-1)).toBe('1#2');
    // At 1850 0:2#2 is given back unseen, its release too late for the lease of 0:1#2, which runs
    // out at 2100 and goes back with 0:2 and 0:3 (0:1 backs off until 2200).
    clock.advance(650);
    await advance(clock, 0);
    await finish('1#1'); // a place: nothing waiting may take it, 0:3#1 is stale
    expect(seen).toEqual(['0#1', '1#1', '2#1', '0#2', '1#2']);
    await finishAll();
  });
});
