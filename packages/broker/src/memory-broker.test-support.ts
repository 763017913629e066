/** A broker on an in-memory data directory and a VirtualClock, for tests of the in-process API. */
import { VirtualClock } from '@brook/protocol';
import { Broker, type BrokerOptions } from './index.js';

export function memoryBroker(options: BrokerOptions = {}): Promise<Broker> {
  return Broker.open({ storage: 'memory', clock: new VirtualClock(), ...options });
}
