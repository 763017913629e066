/**
 * Where the broker keeps its data, and where it listens, are options like any other: a value of
 * the wrong kind is INVALID_CONFIG naming it, never taken for the default. (A `dataDir: null`
 * opened the memory broker's path, /brook, on the real disk; a misspelt storage opened a disk.)
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock } from '@brook/protocol';
import { Broker, type BrokerOptions, type ListenOptions } from '../index.js';

/** Broker.open on a MemoryFileSystem, so that nothing touches the real disk whatever it takes. */
const open = (options: Partial<Record<keyof BrokerOptions, unknown>>) => Broker.open({ fs: new MemoryFileSystem(), clock: new VirtualClock(), ...options } as BrokerOptions);

describe('Broker.open: storage and dataDir', () => {
  it.each<[string, Partial<Record<keyof BrokerOptions, unknown>>]>([
    ['dataDir', { dataDir: null }],
    ['dataDir', { dataDir: 5 }],
    ['dataDir', { dataDir: '' }],
    ['dataDir', { storage: 'memory', dataDir: null }],
    ['storage', { storage: 'memroy', dataDir: '/data' }],
    ['storage', { storage: null, dataDir: '/data' }],
  ])('%s: %o is INVALID_CONFIG naming it', async (option, options) => {
    await expect(open(options)).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option } });
  });

  it("takes a dataDir, storage 'disk' with one, and storage 'memory' with or without one", async () => {
    for (const options of [{ dataDir: '/data' }, { storage: 'disk', dataDir: '/data' }, { storage: 'memory' }, { storage: 'memory', dataDir: '/mem' }]) {
      await (await open(options)).close();
    }
  });
});

describe('listen: port, host, allowedOrigins and allowedHosts', () => {
  it.each<[string, Partial<Record<keyof ListenOptions, unknown>>]>([
    ['port', { port: null }],
    ['port', { port: 65_536 }],
    ['host', { host: null }],
    ['host', { host: '' }],
    ['allowedOrigins', { allowedOrigins: null }],
    ['allowedOrigins', { allowedOrigins: 'http://localhost:5173' }],
    ['allowedOrigins', { allowedOrigins: ['http://localhost:5173/app'] }],
    ['allowedHosts', { allowedHosts: ['brook.test:7070'] }],
  ])('%s: %o is INVALID_CONFIG naming it', async (option, options) => {
    const broker = await open({ storage: 'memory' });
    await expect(broker.listen(options as ListenOptions)).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option } });
    await broker.close();
  });
});
