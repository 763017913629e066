/**
 * Which producer ids the broker has issued, and each one's current epoch: `<dataDir>/producers.json`,
 * rewritten tmp -> fsync -> rename before any new id or epoch is handed out.
 *
 *   { "version": 1, "incarnation": "1732300000000-81234567", "nextProducerId": "42", "epochs": [["7", 2]] }
 *
 * Ids below nextProducerId were issued; epochs lists those above 0. `incarnation` names this data
 * directory: ids are unique only within one, and a broker on a fresh directory (a wiped one, a
 * restart on a temp dir or in memory) issues them again from 0. Every answer to initProducer
 * carries it, and a resume or a produce naming another incarnation is UNKNOWN_PRODUCER_ID, so a
 * producer of the old directory renumbers instead of being answered with another producer's
 * batches as its duplicates. It is written before it is ever handed out: one that changed on a
 * restart would make producers renumber batches the log may already hold. A file from before
 * incarnations gets one at load.
 *
 * Ids come from a persisted counter, not from the log: a producer may get an id and crash before
 * writing anything, and retention may delete every batch of an id, yet neither id may ever be
 * issued again. The file is written once per initProducer, which a producer calls once per life.
 *
 * Epochs live here, not only in the partitions' tables, because bumping an epoch must fence the
 * old instance everywhere at once, including partitions the new instance has not written to yet,
 * and must survive a restart before the new epoch has written anything.
 */
import { BrookError, showValue, assert, isIncarnation, writeFileAtomic, type Clock, type FileSystem, type Random } from '@brook/protocol';
import { parseDecimal } from './decimal.js';
import { OneAtATime } from './one-at-a-time.js';
import { EPOCH_MAX } from './producer-entry.js';

export interface ProducerIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** The data directory's incarnation the id was issued under (see above). */
  readonly incarnation: string;
}

export interface InitProducerRequest {
  /** Resume this id (a producer restarting from its write-ahead log) instead of getting a new one. */
  producerId?: bigint;
  /** With `producerId`: move to a new epoch, fencing every instance still using an older one. */
  bumpEpoch?: boolean;
  /** With `producerId`: the incarnation it was issued under; another one's id is UNKNOWN_PRODUCER_ID. */
  incarnation?: string;
}

const REGISTRY_FILE = 'producers.json';
const REGISTRY_VERSION = 1;

/** Incarnation draws are integers below this. */
const INCARNATION_DRAW_MAX = 2 ** 31;

interface RegistryFile {
  version: number;
  incarnation: string;
  nextProducerId: string;
  epochs: [string, number][];
}

export class ProducerRegistry {
  private readonly mutations = new OneAtATime();
  private readonly path: string;
  private nextProducerId = 0n;
  private epochs = new Map<bigint, number>();
  private current: string | undefined;

  constructor(private readonly fs: FileSystem, dataDir: string) {
    this.path = `${dataDir}/${REGISTRY_FILE}`;
  }

  /**
   * Reads the file; without one (no id was ever issued, or it was lost) or without an incarnation
   * in it, creates the incarnation from the clock and a draw of `random` and writes it before
   * anything can see it. The caller must then raise the counter and epochs to what the partitions
   * remember (remember()).
   */
  async load(clock: Clock, random: Random): Promise<void> {
    let incarnation: string | undefined;
    if (await this.fs.exists(this.path)) {
      ({ incarnation, nextProducerId: this.nextProducerId, epochs: this.epochs } = parseRegistry(this.path, await this.fs.readFile(this.path)));
    }
    if (incarnation === undefined) {
      incarnation = `${Math.floor(clock.now())}-${random.int(INCARNATION_DRAW_MAX)}`;
      await this.persist(incarnation, this.nextProducerId, this.epochs);
    }
    this.current = incarnation;
  }

  /**
   * Raises the counter above every id in `seen` (the producers the partitions' tables remember,
   * with their epochs) and each epoch to at least the one seen. Both are no-ops unless the file
   * went back: lost, or restored from an older copy. Otherwise a new producer could get an id
   * whose batches the log still holds, and its first batches be answered `duplicate: true` with
   * the old producer's offsets; and a producer that bumped its epoch since the copy would be
   * refused its own epoch, its fenced instance let back in.
   */
  remember(seen: ReadonlyMap<bigint, number>): Promise<void> {
    return this.mutations.run(async () => {
      let nextProducerId = this.nextProducerId;
      const epochs = new Map(this.epochs);
      for (const [producerId, epoch] of seen) {
        if (producerId >= nextProducerId) nextProducerId = producerId + 1n;
        if (epoch > (epochs.get(producerId) ?? 0)) epochs.set(producerId, epoch);
      }
      if (nextProducerId === this.nextProducerId && epochs.size === this.epochs.size && [...epochs].every(([id, epoch]) => this.epochs.get(id) === epoch)) return;
      await this.persist(this.incarnation, nextProducerId, epochs);
      this.nextProducerId = nextProducerId;
      this.epochs = epochs;
    });
  }

  /** This data directory's incarnation; load() must have resolved. */
  get incarnation(): string {
    assert(this.current !== undefined, 'the producer registry was not loaded');
    return this.current;
  }

  /** A new id at epoch 0; or a known id at its current epoch, or the next one with `bumpEpoch`. */
  initProducer(request: InitProducerRequest = {}): Promise<ProducerIdentity> {
    const { producerId, bumpEpoch = false, incarnation } = request;
    if (producerId !== undefined && (typeof producerId !== 'bigint' || producerId < 0n)) {
      return Promise.reject(new BrookError('INVALID_REQUEST', `producerId must be a non-negative bigint, got ${showValue(producerId)}`, { producerId }));
    }
    if (typeof bumpEpoch !== 'boolean' || (bumpEpoch && producerId === undefined)) {
      return Promise.reject(new BrookError('INVALID_REQUEST', 'bumpEpoch must be a boolean, and needs a producerId', { bumpEpoch }));
    }
    if (incarnation !== undefined && (typeof incarnation !== 'string' || producerId === undefined)) {
      return Promise.reject(new BrookError('INVALID_REQUEST', 'incarnation must be a string, and needs a producerId', { incarnation }));
    }
    return this.mutations.run(() => (producerId === undefined ? this.allocate() : this.resume(producerId, bumpEpoch, incarnation)));
  }

  /** Throws UNKNOWN_PRODUCER_ID for an id issued under another incarnation (`undefined`: the sender does not say). */
  checkIncarnation(producerId: bigint, incarnation: string | undefined): void {
    if (incarnation !== undefined && incarnation !== this.incarnation) {
      throw new BrookError('UNKNOWN_PRODUCER_ID', `producer ${producerId} was issued under incarnation ${incarnation}, not by this broker's data directory (${this.incarnation})`, {
        producerId, incarnation, currentIncarnation: this.incarnation,
      });
    }
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
    await this.persist(this.incarnation, producerId + 1n, this.epochs);
    this.nextProducerId = producerId + 1n;
    return { producerId, producerEpoch: 0, incarnation: this.incarnation };
  }

  private async resume(producerId: bigint, bumpEpoch: boolean, incarnation: string | undefined): Promise<ProducerIdentity> {
    if (!this.issued(producerId)) {
      throw new BrookError('UNKNOWN_PRODUCER_ID', `producer id ${producerId} was never issued by this broker`, { producerId });
    }
    this.checkIncarnation(producerId, incarnation);
    const epoch = this.epochOf(producerId);
    if (!bumpEpoch) return { producerId, producerEpoch: epoch, incarnation: this.incarnation };
    if (epoch === EPOCH_MAX) {
      throw new BrookError('INVALID_REQUEST', `producer ${producerId} is at the last epoch ${EPOCH_MAX}: get a new id`, { producerId, producerEpoch: epoch });
    }
    await this.persist(this.incarnation, this.nextProducerId, new Map(this.epochs).set(producerId, epoch + 1));
    this.epochs.set(producerId, epoch + 1);
    return { producerId, producerEpoch: epoch + 1, incarnation: this.incarnation };
  }

  private issued(producerId: bigint): boolean {
    return producerId >= 0n && producerId < this.nextProducerId;
  }

  private epochOf(producerId: bigint): number {
    return this.epochs.get(producerId) ?? 0;
  }

  private persist(incarnation: string, nextProducerId: bigint, epochs: ReadonlyMap<bigint, number>): Promise<void> {
    const file: RegistryFile = {
      version: REGISTRY_VERSION,
      incarnation,
      nextProducerId: nextProducerId.toString(),
      epochs: [...epochs].map(([id, epoch]) => [id.toString(), epoch]),
    };
    return writeFileAtomic(this.fs, this.path, new TextEncoder().encode(JSON.stringify(file)));
  }
}

interface ParsedRegistry {
  /** Undefined in a file written before incarnations. */
  incarnation: string | undefined;
  nextProducerId: bigint;
  epochs: Map<bigint, number>;
}

function parseRegistry(path: string, bytes: Uint8Array): ParsedRegistry {
  try {
    const file = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RegistryFile>;
    if (file.version !== REGISTRY_VERSION) throw new Error(`unknown version ${String(file.version)}`);
    const { incarnation } = file;
    if (incarnation !== undefined && !isIncarnation(incarnation)) throw new Error(`incarnation ${JSON.stringify(incarnation)}`);
    const nextProducerId = parseDecimal(file.nextProducerId, 'nextProducerId');
    if (!Array.isArray(file.epochs)) throw new Error('epochs is not an array');
    const epochs = new Map(file.epochs.map(([id, epoch]): [bigint, number] => {
      if (!Number.isInteger(epoch) || epoch < 1 || epoch > EPOCH_MAX) throw new Error(`epoch ${String(epoch)}`);
      const producerId = parseDecimal(id, 'producer id');
      if (producerId >= nextProducerId) throw new Error(`epoch of producer ${producerId}, which was never issued`);
      return [producerId, epoch];
    }));
    return { incarnation, nextProducerId, epochs };
  } catch (error) {
    throw new BrookError('CORRUPT_METADATA', `${path} is not a valid producer registry: ${String(error)}`, { file: path }, { cause: error });
  }
}
