import { describe, expect, it } from 'vitest';
import { BrokerEventEmitter } from './events.js';

describe('BrokerEventEmitter.wants', () => {
  it('follows listeners through every way of adding and removing them', () => {
    const events = new BrokerEventEmitter();
    const listener = () => undefined;
    expect(events.wants('acked')).toBe(false);
    events.on('acked', listener);
    events.addListener('delivered', listener);
    expect([events.wants('acked'), events.wants('delivered'), events.wants('nacked')]).toEqual([true, true, false]);
    events.off('acked', listener);
    events.removeListener('delivered', listener);
    expect([events.wants('acked'), events.wants('delivered')]).toEqual([false, false]);
    events.on('acked', listener).on('acked', () => undefined);
    events.off('acked', listener);
    expect(events.wants('acked')).toBe(true); // one listener is left
    events.removeAllListeners('acked');
    expect(events.wants('acked')).toBe(false);
    events.on('nacked', listener).on('produced', listener);
    events.removeAllListeners();
    expect([events.wants('nacked'), events.wants('produced')]).toEqual([false, false]);
  });

  it('stops wanting an event once its only listener was a once() that fired', () => {
    const events = new BrokerEventEmitter();
    const heard: bigint[] = [];
    events.once('acked', (event) => void heard.push(event.offset));
    expect(events.wants('acked')).toBe(true);
    events.emit('acked', { topic: 't', partition: 0, offset: 7n, group: 'g', member: 'm', deliveryCount: 1 });
    expect(heard).toEqual([7n]);
    expect(events.wants('acked')).toBe(false);
  });
});
