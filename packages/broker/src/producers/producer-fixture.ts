/**
 * Set-up for the idempotence tests: batches of an idempotent producer, and one partition's
 * PartitionProducers on a memory log that can be restarted cleanly or power-cut. Test-only.
 */
import { encodeBatch, readBatchHeader, type MemoryFileSystem } from '@brook/protocol';
import type { FsyncPolicy } from '../config/defaults.js';
import { LOG_DIR, logFixture } from '../log/log-fixture.js';
import type { PartitionLog, PartitionLogOptions } from '../log/partition-log.js';
import type { Admission, EpochCheck, IdempotentAppendResult } from './append-group.js';
import { PartitionProducers } from './partition-producers.js';
import { NO_PRODUCER_ID } from './producer-entry.js';

export interface BatchSpec {
  producerId: bigint;
  epoch?: number;
  firstSeq: number;
  records?: number;
}

/** A batch of `records` records (values `p<id>-e<epoch>-s<seq>`), or a plain one for producerId -1. */
export function producerBatch({ producerId, epoch = 0, firstSeq, records = 1 }: BatchSpec): Uint8Array {
  const inputs = Array.from({ length: records }, (_, i) => ({
    key: null, value: new TextEncoder().encode(`p${producerId}-e${epoch}-s${firstSeq + i}`), timestamp: 1_700_000_000_000 + i,
  }));
  return producerId === NO_PRODUCER_ID ? encodeBatch(inputs) : encodeBatch(inputs, { producerId, producerEpoch: epoch, baseSequence: firstSeq });
}

export const admitAll = (): Promise<Admission> => Promise.resolve({ release: () => undefined });

export interface ProducersFixture {
  readonly fs: MemoryFileSystem;
  log: PartitionLog;
  producers: PartitionProducers;
  send(spec: BatchSpec | Uint8Array): Promise<IdempotentAppendResult>;
  /** Clean restart: batches finish, snapshot, log closed, both reopened. */
  restart(): Promise<void>;
  /** Power cut (unsynced writes lost), `beforeReopen` (to damage the disk further), reopen. */
  powerCut(beforeReopen?: () => Promise<void>): Promise<void>;
  /** The process dies and restarts, the disk keeps everything written: an unclean reopen. */
  crash(): Promise<void>;
}

export interface ProducersFixtureOptions {
  producersMax?: number;
  fsync?: FsyncPolicy;
  checkEpoch?: EpochCheck;
  log?: Partial<PartitionLogOptions>;
}

export async function producersFixture(options: ProducersFixtureOptions = {}): Promise<ProducersFixture> {
  const fsync = options.fsync ?? 'always';
  const base = logFixture({ fsync, ...options.log });
  const open = async (cleanShutdown: boolean) => {
    const log = await base.open({ cleanShutdown });
    const producers = await PartitionProducers.open({
      fs: base.fs, log, dir: LOG_DIR, producersMax: options.producersMax ?? 1024, appendsDurable: fsync === 'always',
      checkEpoch: options.checkEpoch ?? (() => undefined),
    });
    return { log, producers };
  };
  const fixture: ProducersFixture = {
    fs: base.fs,
    ...(await open(false)),
    send(spec) {
      const bytes = spec instanceof Uint8Array ? spec : producerBatch(spec);
      return fixture.producers.append(readBatchHeader(bytes), bytes, admitAll);
    },
    async restart() {
      await fixture.producers.quiesce();
      await fixture.producers.snapshot();
      await fixture.log.close();
      Object.assign(fixture, await open(true));
    },
    async powerCut(beforeReopen) {
      base.fs.powerCut();
      await beforeReopen?.();
      Object.assign(fixture, await open(false));
    },
    async crash() {
      Object.assign(fixture, await open(false));
    },
  };
  return fixture;
}

export { LOG_DIR };
