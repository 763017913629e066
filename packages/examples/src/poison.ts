/**
 * Demo 10: a poison message. One invoice is truncated JSON; the handler throws on it, the broker
 * redelivers it with a growing backoff, and after maxDeliveries (3) it is dead-lettered: copied
 * to `invoices.dlq` with headers naming its origin, and the group moves on. An operator reads
 * the dead letter, deploys a parser that sends broken invoices to review, and redrives the
 * dead-letter topic: the invoice comes back to its topic, at a new offset, and is processed.
 */
import { DEAD_LETTER_HEADERS, type Broker } from '@brook/broker';
import type { Demo } from './harness.js';

const INVOICES = ['{"total":12}', '{"total":', '{"total":30}'];
const utf8 = new TextDecoder();

/** The dead letters as the operator sees them: value and headers. */
async function readDeadLetters(broker: Broker): Promise<string[]> {
  const records = await broker.fetch({ topic: 'invoices.dlq', partition: 0, offset: 0n });
  return records.flatMap((r) => [
    `offset ${r.offset} value=${utf8.decode(r.value!)}`,
    ...r.headers.filter((h) => h.key !== 'brook.sim.id').map((h) => `  ${h.key}=${h.value === null ? 'null' : utf8.decode(h.value)}`),
  ]);
}

export const poisonDemo: Demo = {
  name: 'poison',
  title: 'A poison message: maxDeliveries, the dead-letter topic, redrive',
  section: 'Acknowledgments and redelivery',
  async run(demo) {
    let fixed = false;
    let deadLetters: string[] = [];
    const result = await demo.variant('maxDeliveries: 3, then a fix and a redrive', [
      'Three invoices; the second is cut off. Each failed attempt is nacked and retried after a backoff;',
      'the third failure dead-letters it. At 2s the operator reads invoices.dlq, deploys a fix and redrives.',
    ].join('\n'), {
      topics: { invoices: { partitions: 1 } },
      produce: [{ topic: 'invoices', records: INVOICES.map((value) => ({ value })) }],
      consumers: [{
        name: 'billing',
        subscribe: { topic: 'invoices', group: 'billing', maxDeliveries: 3, backoff: { initialMs: 200, multiplier: 2, jitter: 0 } },
        handler: (delivery, ctx) => {
          try {
            ctx.effect('bill', `${ctx.recordId}:${delivery.json<{ total: number }>().total}`);
          } catch (error) {
            if (!fixed) throw error;
            ctx.effect('review', ctx.recordId);
          }
        },
      }],
      admin: [
        { atMs: 2_000, what: 'read invoices.dlq', run: async (broker) => (deadLetters = await readDeadLetters(broker)) },
        {
          atMs: 2_100, what: 'deploy the fix (broken invoices go to review) and redrive invoices.dlq',
          run: async (broker) => {
            fixed = true;
            return `${(await broker.redrive('invoices.dlq')).moved} record(s) back in their topic`;
          },
        },
      ],
    });
    const attempts = result.history.events.filter((e) => e.type === 'deliver' && e.id === 'r2').length;
    const origin = deadLetters.join(' ');
    const reviewed = result.history.events.some((e) => e.type === 'effect' && e.kind === 'review' && e.effectId === 'r2');
    const headersShown = [DEAD_LETTER_HEADERS.topic, DEAD_LETTER_HEADERS.offset].every((h) => origin.includes(h));
    const shown = result.counters.total.deadLettered === 1 && attempts === 4 && headersShown && reviewed;
    return {
      shown, facts: { deadLettered: result.counters.total.deadLettered, attempts, deadLetters, reviewed },
      verdict: `the broken invoice was tried 3 times, dead-lettered with its origin in headers, and after the redrive `
        + `processed on its 4th delivery; the good invoices were not held up`,
    };
  },
};
