import { it } from 'vitest';
import { Broker } from '@brook/broker';
it('fetch vs retention', async () => {
  for (const storage of ['memory', 'disk']) {
    const broker = storage === 'memory' ? await Broker.open({ storage: 'memory', logTailCacheBytes: 0 } as any) : await Broker.open({ dataDir: `/tmp/brook-probe9-${Date.now()}`, fsync: 'never', logTailCacheBytes: 0 } as any);
    await broker.createTopic('t', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 200; i++) await broker.produce('t', [{ value: `m${i}`.padEnd(200, '.') }]);
    const codes = new Map<string, number>();
    const start = broker.describeTopic('t').partitions[0]!.startOffset;
    const fetches = Array.from({ length: 50 }, (_, i) => broker.fetch({ topic: 't', partition: 0, offset: start + BigInt(i) }).then(() => 'ok', (e: any) => e.code ?? e.message));
    const ret = broker.enforceRetention();
    for (const c of await Promise.all(fetches)) codes.set(c, (codes.get(c) ?? 0) + 1);
    await ret;
    console.log(storage, [...codes]);
    // tail reader overtaken mid-read
    await broker.close();
  }
}, 60000);
