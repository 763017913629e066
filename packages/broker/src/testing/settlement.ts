/**
 * A simulated consumer's settlements: the first one wins, and each is sent to the broker, or
 * delayed, or dropped (a lost ack, a broker that has restarted), as its run's faults say.
 */
import { BrookError, boundedReason } from '@brook/protocol';
import type { ConsumerHost, Run } from './consumer.js';

/** What sending a settlement needs of the consumer that makes it. */
export interface SettlingConsumer {
  readonly name: string;
  readonly host: ConsumerHost;
  /** Resolves once the consumer's process is no longer paused. */
  unpaused(): Promise<void>;
}

/** A nack's options (checked: refusedNackOptions), a reject's reason, nothing for an ack. */
export type SettleArgument = { delayMs?: number; reason?: string } | string | undefined;

/** The first settlement wins; a dead process sends nothing; a lost ack or a restarted broker drops it. */
export function settle(consumer: SettlingConsumer, run: Run, how: 'ack' | 'nack' | 'reject', arg: SettleArgument): Promise<void> {
  if (run.settlement) return run.settlement;
  if (!run.inc.alive) return Promise.resolve();
  run.settled = how;
  run.settlement = sendOrDrop(consumer, run, how, arg);
  // Marked handled, as the broker's own refusals are: a handler need not await its settlement.
  run.settlement.catch(() => undefined);
  return run.settlement;
}

function sendOrDrop(consumer: SettlingConsumer, run: Run, how: 'ack' | 'nack' | 'reject', arg: SettleArgument): Promise<void> {
  const dropped = run.epoch !== consumer.host.brokerEpoch ? 'brokerRestarted' : how === 'ack' && run.loseAck ? 'lostAck' : undefined;
  const reason = typeof arg === 'object' ? arg.reason : undefined;
  consumer.host.history.record({
    type: 'settle', consumer: consumer.name, ...run.place, how, ...(reason === undefined ? {} : { reason: boundedReason(reason) }),
    ...(dropped ? { dropped } : {}), ...(run.delayAckMs ? { delayedMs: run.delayAckMs } : {}),
  });
  if (!dropped) return send(consumer, run, how, arg);
  // As over the client's dropped connection: a resolved ack() or reject() means it is durable, so
  // one that never reached the broker rejects (a nack has nothing to confirm and resolves).
  return how === 'nack' ? Promise.resolve() : disconnected(consumer.name, run.place.id, how, dropped);
}

async function send(consumer: SettlingConsumer, run: Run, how: 'ack' | 'nack' | 'reject', arg: SettleArgument): Promise<void> {
  if (run.delayAckMs) await run.inc.timers.sleep(run.delayAckMs);
  await consumer.unpaused();
  if (!run.inc.alive || run.epoch !== consumer.host.brokerEpoch) return;
  if (how === 'nack') {
    void run.delivery.nack(typeof arg === 'object' ? arg : {});
    return;
  }
  try {
    await (how === 'ack' ? run.delivery.ack() : run.delivery.reject(String(arg)));
  } catch (error) {
    // Said in the history, or a stale ack (a lease that ran out, a partition moved) looks taken.
    if (error instanceof BrookError) consumer.host.history.record({ type: 'settleRefused', consumer: consumer.name, ...run.place, how, code: error.code });
    throw error;
  }
}

function disconnected(consumer: string, id: string, how: 'ack' | 'reject', dropped: 'lostAck' | 'brokerRestarted'): Promise<void> {
  return Promise.reject(new BrookError('DISCONNECTED', `${how} of ${id} by ${consumer} never reached the broker (${dropped}, simulated)`, { consumer, id, dropped }));
}
