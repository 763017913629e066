/**
 * Which producer ids the broker has issued, and each one's current epoch: `<dataDir>/producers.json`,
 * rewritten tmp -> fsync -> rename before any new id or epoch is handed out.
 *
 *   { "version": 1, "nextProducerId": "42", "epochs": [["7", 2]] }   ids below nextProducerId were issued;
 *                                                                  epochs lists those above 0
 *
 * Ids come from a persisted counter, not from the log: a producer may get an id and crash before
 * writing anything, and retention may delete every batch of an id, yet neither id may ever be
 * issued again. The file is written once per initProducer, which a producer calls once per life.
 *
 * Epochs live here, not only in the partitions' tables, because bumping an epoch must fence the
 * old instance everywhere at once, including partitions the new instance has not written to yet,
 * and must survive a restart before the new epoch has written anything.
 */
import { BrookError, writeFileAtomic, type FileSystem } from '@brook/protocol';
import { parseDecimal } from './decimal.js';
import { OneAtATime } from './one-at-a-time.js';
import { EPOCH_MAX } from './producer-entry.js';

export interface ProducerIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export interface InitProducerRequest {
  /** Resume this id (a producer restarting from its write-ahead log) instead of getting a new one. */
  producerId?: bigint;
  /** With `producerId`: move to a new epoch, fencing every instance still using an older one. */
  bumpEpoch?: boolean;
}

const REGISTRY_FILE = 'producers.json';
const REGISTRY_VERSION = 1;

interface RegistryFile {
  version: number;
  nextProducerId: string;
  epochs: [string, number][];
}

export class ProducerRegistry {
  private readonly mutations = new OneAtATime();
  private readonly path: string;
  private nextProducerId = 0n;
  private epochs = new Map<bigint, number>();

  constructor(private readonly fs: FileSystem, dataDir: string) {
    this.path = `${dataDir}/${REGISTRY_FILE}`;
  }

  /** Reads the file, if there is one (none: no id was ever issued). */
  async load(): Promise<void> {
    if (!(await this.fs.exists(this.path))) return;
    ({ nextProducerId: this.nextProducerId, epochs: this.epochs } = parseRegistry(this.path, await this.fs.readFile(this.path)));
  }

  /** A new id at epoch 0; or a known id at its current epoch, or the next one with `bumpEpoch`. */
  initProducer(request: InitProducerRequest = {}): Promise<ProducerIdentity> {
    const { producerId, bumpEpoch = false } = request;
    if (producerId !== undefined && (typeof producerId !== 'bigint' || producerId < 0n)) {
      return Promise.reject(new BrookError('INVALID_REQUEST', `producerId must be a non-negative bigint, got ${String(producerId)}`, { producerId }));
    }
    if (typeof bumpEpoch !== 'boolean' || (bumpEpoch && producerId === undefined)) {
      return Promise.reject(new BrookError('INVALID_REQUEST', 'bumpEpoch must be a boolean, and needs a producerId', { bumpEpoch }));
    }
    return this.mutations.run(() => (producerId === undefined ? this.allocate() : this.resume(producerId, bumpEpoch)));
  }

  /** Throws PRODUCER_FENCED for an epoch older than the current one, UNKNOWN_PRODUCER_ID for one never issued. */
  checkEpoch(producerId: bigint, producerEpoch: number): void {
    const currentEpoch = this.issued(producerId) ? this.epochOf(producerId) : undefined;
    if (currentEpoch === undefined || producerEpoch > currentEpoch) {
      throw new BrookError('UNKNOWN_PRODUCER_ID', `producer ${producerId} epoch ${producerEpoch} was never issued by this broker`, {
        producerId, producerEpoch,
      });
    }
    if (producerEpoch < currentEpoch) {
      throw new BrookError('PRODUCER_FENCED', `producer ${producerId} epoch ${producerEpoch} was fenced by epoch ${currentEpoch}`, {
        producerId, producerEpoch, currentEpoch,
      });
    }
  }

  private async allocate(): Promise<ProducerIdentity> {
    const producerId = this.nextProducerId;
    await this.persist(producerId + 1n, this.epochs);
    this.nextProducerId = producerId + 1n;
    return { producerId, producerEpoch: 0 };
  }

  private async resume(producerId: bigint, bumpEpoch: boolean): Promise<ProducerIdentity> {
    if (!this.issued(producerId)) {
      throw new BrookError('UNKNOWN_PRODUCER_ID', `producer id ${producerId} was never issued by this broker`, { producerId });
    }
    const epoch = this.epochOf(producerId);
    if (!bumpEpoch) return { producerId, producerEpoch: epoch };
    if (epoch === EPOCH_MAX) {
      throw new BrookError('INVALID_REQUEST', `producer ${producerId} is at the last epoch ${EPOCH_MAX}: get a new id`, { producerId, producerEpoch: epoch });
    }
    await this.persist(this.nextProducerId, new Map(this.epochs).set(producerId, epoch + 1));
    this.epochs.set(producerId, epoch + 1);
    return { producerId, producerEpoch: epoch + 1 };
  }

  private issued(producerId: bigint): boolean {
    return producerId >= 0n && producerId < this.nextProducerId;
  }

  private epochOf(producerId: bigint): number {
    return this.epochs.get(producerId) ?? 0;
  }

  private persist(nextProducerId: bigint, epochs: ReadonlyMap<bigint, number>): Promise<void> {
    const file: RegistryFile = {
      version: REGISTRY_VERSION,
      nextProducerId: nextProducerId.toString(),
      epochs: [...epochs].map(([id, epoch]) => [id.toString(), epoch]),
    };
    return writeFileAtomic(this.fs, this.path, new TextEncoder().encode(JSON.stringify(file)));
  }
}

function parseRegistry(path: string, bytes: Uint8Array): { nextProducerId: bigint; epochs: Map<bigint, number> } {
  try {
    const file = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RegistryFile>;
    if (file.version !== REGISTRY_VERSION) throw new Error(`unknown version ${String(file.version)}`);
    const nextProducerId = parseDecimal(file.nextProducerId, 'nextProducerId');
    if (!Array.isArray(file.epochs)) throw new Error('epochs is not an array');
    const epochs = new Map(file.epochs.map(([id, epoch]): [bigint, number] => {
      if (!Number.isInteger(epoch) || epoch < 1 || epoch > EPOCH_MAX) throw new Error(`epoch ${String(epoch)}`);
      const producerId = parseDecimal(id, 'producer id');
      if (producerId >= nextProducerId) throw new Error(`epoch of producer ${producerId}, which was never issued`);
      return [producerId, epoch];
    }));
    return { nextProducerId, epochs };
  } catch (error) {
    throw new BrookError('CORRUPT_METADATA', `${path} is not a valid producer registry: ${String(error)}`, { file: path }, { cause: error });
  }
}
