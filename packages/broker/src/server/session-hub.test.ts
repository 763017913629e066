/**
 * SessionHub: broker.close() ends every listener, one still starting included.
 */
import { describe, expect, it } from 'vitest';
import { Broker } from '../broker.js';

describe('broker.close() while listen() is under way', () => {
  it('listen() rejects CLOSED, its listener closed: none outlives the broker (its port and ping timer would keep the process alive)', async () => {
    const broker = await Broker.open({ storage: 'memory' });
    const listening = broker.listen({ port: 0 });
    await broker.close();
    await expect(listening).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
