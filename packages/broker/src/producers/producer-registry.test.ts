import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, SeededRandom, VirtualClock, mkdirDurable } from '@brook/protocol';
import { EPOCH_MAX } from './producer-entry.js';
import { ProducerRegistry } from './producer-registry.js';

const DATA_DIR = '/data';

/** `seed` and `startMs` make the incarnation a new data directory gets. */
async function registryOn(fs: MemoryFileSystem, { seed = 1, startMs = 1_700_000_000_000 } = {}): Promise<ProducerRegistry> {
  await mkdirDurable(fs, DATA_DIR);
  const registry = new ProducerRegistry(fs, DATA_DIR);
  await registry.load(new VirtualClock({ startMs }), new SeededRandom(seed));
  return registry;
}

function identity(registry: ProducerRegistry, producerId: bigint, producerEpoch = 0): object {
  return { producerId, producerEpoch, incarnation: registry.incarnation };
}

async function writeRegistryFile(fs: MemoryFileSystem, file: object): Promise<void> {
  await mkdirDurable(fs, DATA_DIR);
  await fs.writeFile(`${DATA_DIR}/producers.json`, new TextEncoder().encode(JSON.stringify(file)));
  await fs.syncDir(DATA_DIR);
}

describe('ProducerRegistry', () => {
  it('issues distinct ids, also to concurrent callers, and never issues one twice across power cuts', async () => {
    const fs = new MemoryFileSystem();
    let registry = await registryOn(fs);
    const first = await Promise.all([registry.initProducer(), registry.initProducer(), registry.initProducer()]);
    expect(first).toEqual([0n, 1n, 2n].map((producerId) => identity(registry, producerId)));
    fs.powerCut();
    registry = await registryOn(fs);
    await expect(registry.initProducer()).resolves.toEqual(identity(registry, 3n));
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
    await writeRegistryFile(fs, { version: 1, nextProducerId: '1', epochs: [['0', EPOCH_MAX - 1]] });
    const registry = await registryOn(fs);
    await expect(registry.initProducer({ producerId: 0n, bumpEpoch: true })).resolves.toEqual(identity(registry, 0n, EPOCH_MAX));
    await expect(registry.initProducer({ producerId: 0n, bumpEpoch: true }))
      .rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { producerId: 0n, producerEpoch: EPOCH_MAX } });
    await expect(registry.initProducer({ producerId: 0n })).resolves.toEqual(identity(registry, 0n, EPOCH_MAX));
  });

  it('resumes an id at its current epoch; bumpEpoch moves it on durably and fences the older epochs', async () => {
    const fs = new MemoryFileSystem();
    let registry = await registryOn(fs);
    const { producerId } = await registry.initProducer();
    await expect(registry.initProducer({ producerId })).resolves.toEqual(identity(registry, producerId, 0));
    await expect(registry.initProducer({ producerId, bumpEpoch: true })).resolves.toEqual(identity(registry, producerId, 1));
    await expect(registry.initProducer({ producerId, bumpEpoch: true })).resolves.toEqual(identity(registry, producerId, 2));
    fs.powerCut();
    registry = await registryOn(fs);
    await expect(registry.initProducer({ producerId })).resolves.toEqual(identity(registry, producerId, 2));
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
    await expect(registry.initProducer({ incarnation: registry.incarnation })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(registry.initProducer({ producerId: 0n, incarnation: 7 as never })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('makes a new data directory\'s incarnation durable at load, before any id is issued, and keeps it across restarts', async () => {
    const fs = new MemoryFileSystem();
    const first = (await registryOn(fs, { seed: 1 })).incarnation;
    fs.powerCut();
    // Another clock and seed would make another incarnation: the one on disk is kept.
    const reopened = await registryOn(fs, { seed: 2, startMs: 1_800_000_000_000 });
    expect(reopened.incarnation).toBe(first);
    await expect(reopened.initProducer()).resolves.toEqual({ producerId: 0n, producerEpoch: 0, incarnation: first });
  });

  it('gives data directories made at other times or with other seeds other incarnations', async () => {
    const base = (await registryOn(new MemoryFileSystem(), { seed: 1 })).incarnation;
    expect((await registryOn(new MemoryFileSystem(), { seed: 2 })).incarnation).not.toBe(base);
    expect((await registryOn(new MemoryFileSystem(), { seed: 1, startMs: 1_700_000_000_001 })).incarnation).not.toBe(base);
  });

  it('gives a file from before incarnations one at load, durably, and keeps its ids', async () => {
    const fs = new MemoryFileSystem();
    await writeRegistryFile(fs, { version: 1, nextProducerId: '3', epochs: [] });
    const registry = await registryOn(fs);
    fs.powerCut();
    expect((await registryOn(fs, { seed: 2 })).incarnation).toBe(registry.incarnation);
    await expect(registry.initProducer({ producerId: 2n })).resolves.toEqual(identity(registry, 2n));
  });

  it('refuses to resume an id issued under another incarnation: this directory may have issued it again', async () => {
    const fs = new MemoryFileSystem();
    const registry = await registryOn(fs);
    const { producerId } = await registry.initProducer();
    await expect(registry.initProducer({ producerId, incarnation: 'another-directory' }))
      .rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID', details: { producerId, incarnation: 'another-directory', currentIncarnation: registry.incarnation } });
    await expect(registry.initProducer({ producerId, incarnation: registry.incarnation })).resolves.toEqual(identity(registry, producerId));
    // A producer from before incarnations names none: it resumes as before.
    await expect(registry.initProducer({ producerId })).resolves.toEqual(identity(registry, producerId));
    expect(() => registry.checkIncarnation(producerId, 'another-directory')).toThrow(expect.objectContaining({ code: 'UNKNOWN_PRODUCER_ID' }));
    expect(() => registry.checkIncarnation(producerId, undefined)).not.toThrow();
  });

  it('refuses to open a damaged file with CORRUPT_METADATA', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir(DATA_DIR);
    await fs.writeFile(`${DATA_DIR}/producers.json`, new TextEncoder().encode('{"version":1,"nextProducerId":"2","epochs":[["5",1]]}'));
    await expect(registryOn(fs)).rejects.toMatchObject({ code: 'CORRUPT_METADATA' });
    for (const incarnation of [5, '', 'x'.repeat(65), 'a"b']) {
      await writeRegistryFile(fs, { version: 1, incarnation, nextProducerId: '2', epochs: [] });
      await expect(registryOn(fs)).rejects.toMatchObject({ code: 'CORRUPT_METADATA' });
    }
  });
});
