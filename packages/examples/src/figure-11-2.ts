/**
 * Demo 3: DDIA figure 11-2, the testing kit's own example scenario. Two consumers, one record
 * each at a time, m1..m5 of one key. The consumer holding m3 crashes; the other has taken m4
 * meanwhile. Under ordering 'none' m3 is processed after m4. Under 'key' m4 waits for m3; under
 * 'partition' the partition moves whole to the survivor, which starts again at m3.
 */
import { figure11_2Plan, figure11_2Scenario } from '@brook/broker/testing';
import type { Ordering } from '@brook/broker';
import type { Demo } from './harness.js';

const INTROS: Record<Ordering, string> = {
  none: "ordering 'none': any record to any free consumer (an AMQP/JMS shared queue)",
  key: "ordering 'key': at most one record per key in flight (SQS FIFO message groups)",
  partition: "ordering 'partition': each partition owned by one consumer (Kafka consumer groups)",
};

export const figure11_2Demo: Demo = {
  name: 'fig11-2',
  title: 'Figure 11-2: redelivery plus load balancing reorders',
  section: 'Acknowledgments and redelivery',
  // Seed 1 also finishes m2 before m1 (concurrent handlers, no redelivery), which blurs the figure; 2 shows exactly its order.
  defaultSeed: 2,
  async run(demo) {
    const orders: Record<string, string> = {};
    for (const ordering of ['none', 'key', 'partition'] as const) {
      const { processed, ...scenario } = figure11_2Scenario(ordering);
      await demo.variant(`ordering '${ordering}'`, `${INTROS[ordering]}.\nThe consumer that gets m3 crashes before processing it and stays down.`, {
        ...scenario, faults: figure11_2Plan,
      });
      orders[ordering] = processed.join(' ');
      demo.write(`processing order: ${orders[ordering]}`);
    }
    const inOrder = 'm1 m2 m3 m4 m5';
    const shown = orders['none']!.indexOf('m4') < orders['none']!.indexOf('m3') && orders['key'] === inOrder && orders['partition'] === inOrder;
    return {
      shown, facts: orders,
      verdict: `'none' processed ${orders['none']} (m3 after m4: load balancing plus redelivery reorders); 'key' and 'partition' kept ${inOrder}`,
    };
  },
};
