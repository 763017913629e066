/**
 * Leases and backoffs are durations: a step of the wall clock (NTP, a VM resume) must neither
 * stretch them by the step nor end them at once. The VirtualClock steps its wall reading with
 * `stepWall` while its timers and monotonic reading go on as real time would.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture, parking } from './group-fixture.js';

const HOUR_MS = 3_600_000;

async function leasedRecord(topic: string, group: string) {
  const fixture = await engineFixture();
  await fixture.broker.createTopic(topic);
  await fixture.broker.produce(topic, [{ value: 'a' }]);
  const expired: number[] = [];
  fixture.broker.on('leaseExpired', (e) => expired.push(e.deliveryCount));
  const { held, handler } = parking();
  await fixture.broker.subscribe({ topic, group, ackTimeoutMs: 1000, backoff: { initialMs: 500, jitter: 0 } }, handler);
  await fixture.settle(() => held.length === 1);
  return { ...fixture, expired, held };
}

describe('a wall clock that steps', () => {
  it('back an hour while a delivery is leased: the lease still runs out ackTimeoutMs after it began', async () => {
    const { clock, advance, expired } = await leasedRecord('wall-back', 'g-wall-back');
    await advance(400);
    clock.stepWall(-HOUR_MS);
    await advance(599);
    expect(expired).toEqual([]);
    await advance(1);
    expect(expired).toEqual([1]);
  });

  it('forward an hour: leases and backoffs begun before it do not all end at the next one due', async () => {
    const { broker, clock, advance, settle, held } = await leasedRecord('wall-forward', 'g-wall-forward');
    const expired: bigint[] = [];
    broker.on('leaseExpired', (e) => expired.push(e.offset));
    await advance(500);
    await broker.produce('wall-forward', [{ value: 'b' }]);
    await settle(() => held.length === 2);
    clock.stepWall(HOUR_MS);
    await advance(500);
    expect(expired).toEqual([0n]);
    await advance(499);
    expect(expired).toEqual([0n]);
    await advance(1);
    expect(expired).toEqual([0n, 1n]);
    // Both back off 500 ms, offset 1 from 500 ms after offset 0: the step ends neither early.
    await settle(() => held.length === 3);
    clock.stepWall(HOUR_MS);
    await advance(499);
    expect(held.map((d) => d.offset)).toEqual([0n, 1n, 0n]);
  });

  it('describeGroup gives the lease deadline on the wall clock, stepped or not', async () => {
    const { broker, clock, advance } = await leasedRecord('wall-describe', 'g-wall-describe');
    await advance(200);
    clock.stepWall(-HOUR_MS);
    expect(broker.describeGroup('wall-describe', 'g-wall-describe').partitions[0]!.inFlight[0]!.leaseDeadlineMs).toBe(clock.now() + 800);
  });
});
