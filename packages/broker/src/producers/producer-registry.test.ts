import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, mkdirDurable } from '@brook/protocol';
import { EPOCH_MAX } from './producer-entry.js';
import { ProducerRegistry } from './producer-registry.js';

const DATA_DIR = '/data';

async function registryOn(fs: MemoryFileSystem): Promise<ProducerRegistry> {
  await mkdirDurable(fs, DATA_DIR);
  const registry = new ProducerRegistry(fs, DATA_DIR);
  await registry.load();
  return registry;
}

describe('ProducerRegistry', () => {
  it('issues distinct ids, also to concurrent callers, and never issues one twice across power cuts', async () => {
    const fs = new MemoryFileSystem();
    let registry = await registryOn(fs);
    const first = await Promise.all([registry.initProducer(), registry.initProducer(), registry.initProducer()]);
    expect(first).toEqual([0n, 1n, 2n].map((producerId) => ({ producerId, producerEpoch: 0 })));
    fs.powerCut();
    registry = await registryOn(fs);
    await expect(registry.initProducer()).resolves.toEqual({ producerId: 3n, producerEpoch: 0 });
  });

  it('does not hand out an id whose allocation did not reach the disk', async () => {
    const fs = new MemoryFileSystem();
    const registry = await registryOn(fs);
    await registry.initProducer();
    fs.failNext('rename', { path: /producers\.json/, errno: 'EIO' });
    await expect(registry.initProducer()).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(registry.initProducer()).resolves.toMatchObject({ producerId: 1n });
  });

  it('bumps an epoch up to EPOCH_MAX; past it is INVALID_REQUEST and the epoch stays', async () => {
    const fs = new MemoryFileSystem();
    await mkdirDurable(fs, DATA_DIR);
    const file = { version: 1, nextProducerId: '1', epochs: [['0', EPOCH_MAX - 1]] };
    await fs.writeFile(`${DATA_DIR}/producers.json`, new TextEncoder().encode(JSON.stringify(file)));
    const registry = await registryOn(fs);
    await expect(registry.initProducer({ producerId: 0n, bumpEpoch: true })).resolves.toEqual({ producerId: 0n, producerEpoch: EPOCH_MAX });
    await expect(registry.initProducer({ producerId: 0n, bumpEpoch: true }))
      .rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { producerId: 0n, producerEpoch: EPOCH_MAX } });
    await expect(registry.initProducer({ producerId: 0n })).resolves.toEqual({ producerId: 0n, producerEpoch: EPOCH_MAX });
  });

  it('resumes an id at its current epoch; bumpEpoch moves it on durably and fences the older epochs', async () => {
    const fs = new MemoryFileSystem();
    let registry = await registryOn(fs);
    const { producerId } = await registry.initProducer();
    await expect(registry.initProducer({ producerId })).resolves.toEqual({ producerId, producerEpoch: 0 });
    await expect(registry.initProducer({ producerId, bumpEpoch: true })).resolves.toEqual({ producerId, producerEpoch: 1 });
    await expect(registry.initProducer({ producerId, bumpEpoch: true })).resolves.toEqual({ producerId, producerEpoch: 2 });
    fs.powerCut();
    registry = await registryOn(fs);
    await expect(registry.initProducer({ producerId })).resolves.toEqual({ producerId, producerEpoch: 2 });
    expect(() => registry.checkEpoch(producerId, 2)).not.toThrow();
    expect(() => registry.checkEpoch(producerId, 1)).toThrow(expect.objectContaining({ code: 'PRODUCER_FENCED', details: expect.objectContaining({ currentEpoch: 2 }) }));
    expect(() => registry.checkEpoch(producerId, 3)).toThrow(expect.objectContaining({ code: 'UNKNOWN_PRODUCER_ID' }));
  });

  it('rejects ids it never issued and malformed requests', async () => {
    const registry = await registryOn(new MemoryFileSystem());
    await registry.initProducer();
    await expect(registry.initProducer({ producerId: 1n })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    expect(() => registry.checkEpoch(1n, 0)).toThrow(expect.objectContaining({ code: 'UNKNOWN_PRODUCER_ID' }));
    await expect(registry.initProducer({ producerId: -1n })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(registry.initProducer({ producerId: 0 as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(registry.initProducer({ bumpEpoch: true })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('refuses to open a damaged file with CORRUPT_METADATA', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir(DATA_DIR);
    await fs.writeFile(`${DATA_DIR}/producers.json`, new TextEncoder().encode('{"version":1,"nextProducerId":"2","epochs":[["5",1]]}'));
    await expect(registryOn(fs)).rejects.toMatchObject({ code: 'CORRUPT_METADATA' });
  });
});
