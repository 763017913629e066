/**
 * A topic: its durable configuration (`topic.json`) and one partition log per partition.
 *
 * Layout under the broker's data directory:
 *
 *   topics/<name>/topic.json     configuration, written tmp -> fsync -> rename (the commit point)
 *   topics/<name>/<partition>/   one directory of segments per partition (docs/storage.md)
 *
 * `createTopic` makes the partition directories first and writes topic.json last, so a crash
 * part-way leaves a directory without topic.json, which the next open removes.
 */
import { basename } from 'node:path';
import { BrookError, showValue, checkLimitValue, checkOptionKeys, RETENTION_OPTION_KEYS, isDirectory, mkdirDurable, partitionForKey, uncommitDir, writeFileAtomic, type Clock, type FileSystem, type LogFailureDescription, type EncodableRecord, type OptionKeys, type RecordField, type TopicDescription } from '@brook/protocol';
import { LIMITS, STORED_BATCH_BYTES_MAX, checkLimit, type FsyncPolicy } from '../config/defaults.js';
import type { BrokerLimits } from '../config/broker-options.js';
import type { DataDir } from '../data-dir.js';
import { PartitionLog, type PartitionLogOptions } from '../log/partition-log.js';
import { parseSegmentLogName } from '../log/segment-files.js';
import type { RetentionPolicy } from '../log/retention.js';
import { toRecordInput, type ProduceRecord, type ProduceTime } from './record-input.js';
import { settleEach } from '../steps.js';

export interface TopicConfig {
  readonly partitions: number;
  /** With its discard resolved ('old' unless the topic was created with 'new'). */
  readonly retention: RetentionPolicy & { readonly discard: 'old' | 'new' };
  readonly segmentBytesMax: number;
  readonly segmentMsMax: number;
}

export interface CreateTopicOptions {
  partitions?: number;
  retention?: RetentionPolicy;
  segmentBytesMax?: number;
  segmentMsMax?: number;
}

const TOPIC_FILE = 'topic.json';
/** A partition directory's name: its number in decimal, without leading zeros. */
const PARTITION_DIR_NAME = /^(0|[1-9]\d*)$/;
const TOPIC_FILE_VERSION = 1;

/** Shared by every partition log of a broker; the topic adds its own segment limits and dir. */
export type LogDefaults = Omit<PartitionLogOptions, 'dir' | 'segmentBytesMax' | 'segmentMsMax'>;

/**
 * Told once when one of a topic's partition logs fails (PartitionLog's onFailure), with where:
 * the broker's `logFailed` event.
 */
export type PartitionFailureListener = (topic: string, partition: number, error: BrookError) => void;

/** Segment scans read the file in chunks of this size. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** The LogDefaults of a broker's topics in `dir`: its fsync policy and limits, its clean-shutdown state. */
export function logDefaultsFor(broker: {
  fs: FileSystem; clock: Clock; fsync: FsyncPolicy; dir: DataDir; limits: Pick<BrokerLimits, 'indexIntervalBytes' | 'logTailCacheBytes'>;
}): LogDefaults {
  const { fs, clock, fsync, dir, limits } = broker;
  return {
    fs, clock, fsync, cleanShutdown: dir.cleanShutdown, onFailure: () => dir.storageFailed(),
    indexIntervalBytes: limits.indexIntervalBytes, readChunkBytes: READ_CHUNK_BYTES, tailCacheBytes: limits.logTailCacheBytes,
    // Scans accept any batch a log may hold (a dead-letter copy may pass any produce limit), not
    // just what today's produce limit allows.
    batchBytesMax: STORED_BATCH_BYTES_MAX,
  };
}

/** A partition's directory: its segments, and its producer-state snapshot. */
export function partitionDir(topicDir: string, partition: number): string {
  return `${topicDir}/${partition}`;
}

/**
 * Retention deletes whole sealed segments, so a topic with `retention.maxBytes` and no
 * segmentBytesMax of its own gets segments of about maxBytes / this (within the segment limits):
 * space then frees a quarter at a time, and a size limit far below the broker's segment size
 * (64 MiB) still holds, instead of one segment outgrowing it before anything can be deleted.
 * Likewise with `retention.maxAgeMs` and no segmentMsMax of its own: segments roll after a quarter
 * of maxAgeMs, so records go about maxAgeMs after they came, not once the broker's segmentMsMax
 * (7 days) has rolled the segment that holds them.
 */
const SEGMENTS_PER_RETENTION = 4;

/** The topic's own segment bound: `defaultValue`, or a quarter of its retention `max` if that is lower (not below `min`). */
function segmentBoundFor(max: number | undefined, defaultValue: number, min: number): number {
  if (max === undefined) return defaultValue;
  return Math.min(defaultValue, Math.max(min, Math.floor(max / SEGMENTS_PER_RETENTION)));
}

const CREATE_TOPIC_KEYS: OptionKeys<CreateTopicOptions> = { partitions: true, retention: true, segmentBytesMax: true, segmentMsMax: true };

export function resolveTopicConfig(options: CreateTopicOptions, defaults: { segmentBytesMax: number; segmentMsMax: number }): TopicConfig {
  checkOptionKeys(options, CREATE_TOPIC_KEYS);
  if (options.retention !== undefined) checkOptionKeys(options.retention, RETENTION_OPTION_KEYS, 'retention');
  const retention = options.retention ?? {};
  if (retention.maxBytes !== undefined) checkPositiveInteger('retention.maxBytes', retention.maxBytes);
  if (retention.maxAgeMs !== undefined) checkPositiveInteger('retention.maxAgeMs', retention.maxAgeMs);
  // Only an absent setting takes its default: null is refused (INVALID_CONFIG), as over the wire.
  const discard = retention.discard === undefined ? 'old' : retention.discard;
  if (discard !== 'old' && discard !== 'new') {
    throw new BrookError('INVALID_CONFIG', `retention.discard must be 'old' or 'new', got ${showValue(discard)}`, { option: 'retention.discard' });
  }
  if (discard === 'new' && retention.maxBytes === undefined) {
    throw new BrookError('INVALID_CONFIG', "retention.discard 'new' needs retention.maxBytes: the size at which producers are refused", { option: 'retention.discard' });
  }
  return {
    // Named as the caller wrote it: details.option is 'partitions', checked against partitionsMax.
    partitions: checkLimitValue('partitions', LIMITS.partitionsMax, options.partitions === undefined ? 1 : options.partitions),
    retention: { maxBytes: retention.maxBytes, maxAgeMs: retention.maxAgeMs, discard },
    segmentBytesMax: options.segmentBytesMax === undefined
      ? segmentBoundFor(retention.maxBytes, defaults.segmentBytesMax, LIMITS.segmentBytesMax.min)
      : checkLimit('segmentBytesMax', options.segmentBytesMax),
    segmentMsMax: options.segmentMsMax === undefined
      ? segmentBoundFor(retention.maxAgeMs, defaults.segmentMsMax, LIMITS.segmentMsMax.min)
      : checkLimit('segmentMsMax', options.segmentMsMax),
  };
}

export class Topic {
  private nextRoundRobinPartition = 0;

  private constructor(
    readonly name: string,
    readonly config: TopicConfig,
    readonly partitions: readonly PartitionLog[],
  ) {}

  static async create(
    fs: FileSystem, dir: string, name: string, config: TopicConfig, logDefaults: LogDefaults, onFailure: PartitionFailureListener,
  ): Promise<Topic> {
    // Whatever a failed delete left under this name is not the new topic's: it starts empty.
    await fs.rmdir(dir);
    await mkdirDurable(fs, dir);
    const partitions = await openPartitions(dir, name, config, logDefaults, onFailure);
    const file = { version: TOPIC_FILE_VERSION, name, ...config };
    try {
      await writeFileAtomic(fs, `${dir}/${TOPIC_FILE}`, new TextEncoder().encode(JSON.stringify(file, null, 2)));
    } catch (error) {
      // No topic.json, no topic: its logs must not stay open (file handles, fsync timers). The
      // write's failure is the one to report, not a close's.
      await Promise.allSettled(partitions.map((log) => log.close()));
      throw error;
    }
    return new Topic(name, config, partitions);
  }

  /** Opens a topic directory; undefined if it has no topic.json (an interrupted create). */
  static async open(fs: FileSystem, dir: string, logDefaults: LogDefaults, onFailure: PartitionFailureListener): Promise<Topic | undefined> {
    if (!(await fs.exists(`${dir}/${TOPIC_FILE}`))) return undefined;
    // Partition directories made before a kill may not be durable entries yet (see Broker.open).
    if (!logDefaults.cleanShutdown) await fs.syncDir(dir);
    const file = parseTopicFile(`${dir}/${TOPIC_FILE}`, await fs.readFile(`${dir}/${TOPIC_FILE}`), basename(dir));
    await checkPartitionDirs(fs, dir, file.config.partitions);
    const partitions = await openPartitions(dir, file.name, file.config, logDefaults, onFailure);
    return new Topic(file.name, file.config, partitions);
  }

  /**
   * deleteTopic's commit point: topic.json goes, durably (the mirror of create, which writes it
   * last). From then on the directory is no topic: the next open removes whatever is left of it.
   */
  static uncommit(fs: FileSystem, dir: string): Promise<void> {
    return uncommitDir(fs, dir, TOPIC_FILE);
  }

  /**
   * Its settings and, per partition, offsets and size (describeTopic); `producerSnapshotFailure`
   * is the producer state's (Producers.snapshotFailure), which the topic does not hold.
   */
  describe(producerSnapshotFailure: (partition: number) => BrookError | undefined): TopicDescription {
    const { retention, segmentBytesMax, segmentMsMax } = this.config;
    return {
      name: this.name,
      settings: {
        // Only the limits that are set: a description reads the same in process and as JSON.
        retention: {
          ...(retention.maxBytes === undefined ? {} : { maxBytes: retention.maxBytes }),
          ...(retention.maxAgeMs === undefined ? {} : { maxAgeMs: retention.maxAgeMs }),
          discard: retention.discard,
        },
        segmentBytesMax,
        segmentMsMax,
      },
      partitions: this.partitions.map((log, partition) => ({
        partition, startOffset: log.startOffset, endOffset: log.endOffset, sizeBytes: log.sizeBytes, segments: log.segmentCount,
        failure: describeFailure(log.failed), retentionFailure: describeFailure(log.retentionFailure),
        producerSnapshotFailure: describeFailure(producerSnapshotFailure(partition)),
      })),
    };
  }

  partition(index: number): PartitionLog {
    const log = this.partitions[index];
    if (!log) {
      throw new BrookError('UNKNOWN_PARTITION', `topic ${this.name} has no partition ${index} (it has ${this.partitions.length})`, {
        topic: this.name, partition: index, partitions: this.partitions.length,
      });
    }
    return log;
  }

  /**
   * The records of one produce call split by partition (explicit `partition`, else murmur2 of the
   * key like Kafka's default partitioner, else round-robin), each with its position in the call.
   */
  splitByPartition(records: readonly ProduceRecord[], time: ProduceTime): Map<number, { inputs: EncodableRecord[]; positions: number[] }> {
    const byPartition = new Map<number, { inputs: EncodableRecord[]; positions: number[] }>();
    for (let position = 0; position < records.length; position++) {
      const record = records[position]!;
      const input = toRecordInput(record, position, time);
      const partition = this.partitionFor(record, input.key);
      let part = byPartition.get(partition);
      if (!part) byPartition.set(partition, (part = { inputs: [], positions: [] }));
      part.inputs.push(input);
      part.positions.push(position);
    }
    return byPartition;
  }

  private partitionFor(record: ProduceRecord, key: RecordField): number {
    if (record.partition !== undefined) {
      this.partition(record.partition);
      return record.partition;
    }
    return key === null ? this.nextPartitionForNullKey() : partitionForKey(key, this.partitions.length);
  }

  /** Partition for a record without a key: round-robin, as the issue asks (Kafka now sticks per batch). */
  nextPartitionForNullKey(): number {
    const partition = this.nextRoundRobinPartition;
    this.nextRoundRobinPartition = (partition + 1) % this.partitions.length;
    return partition;
  }

  /** Closes every partition's log, also when one fails (then rejects with the first failure, once all are done). */
  async close(): Promise<void> {
    await settleEach(this.partitions, (log) => log.close());
  }
}

/** A failure as describeTopic shows it: code and message, null while there is none. */
export function describeFailure(failure: BrookError | undefined): LogFailureDescription | null {
  return failure ? { code: failure.code, message: failure.message } : null;
}

async function openPartitions(
  dir: string, name: string, config: TopicConfig, logDefaults: LogDefaults, onFailure: PartitionFailureListener,
): Promise<PartitionLog[]> {
  const logs: PartitionLog[] = [];
  try {
    for (let partition = 0; partition < config.partitions; partition++) {
      logs.push(await PartitionLog.open({
        ...logDefaults, dir: partitionDir(dir, partition), segmentBytesMax: config.segmentBytesMax, segmentMsMax: config.segmentMsMax,
        onFailure: (error) => {
          logDefaults.onFailure?.(error);
          onFailure(name, partition, error);
        },
      }));
    }
  } catch (error) {
    // The open's failure is the one to report, not a close's.
    await Promise.allSettled(logs.map((log) => log.close()));
    throw error;
  }
  return logs;
}

/**
 * The partition directories must be topic.json's partitions, no fewer and no more.
 *
 * createTopic makes each partition's first segment durable before topic.json, and retention never
 * deletes a partition's last segment, so a committed topic whose partition has no segment file
 * lost it (a directory deleted or restored only in part): CORRUPT_METADATA, as opening it would
 * start the partition over at offset 0, under records and acks that consumers already saw.
 *
 * A create starts from an empty directory and the partition count never changes, so a partition
 * directory beyond the count is not this topic's as topic.json describes it (a topic.json
 * restored from elsewhere, a directory copied in): CORRUPT_METADATA too, rather than leave its
 * records where no read can reach them.
 */
async function checkPartitionDirs(fs: FileSystem, dir: string, partitions: number): Promise<void> {
  const file = `${dir}/${TOPIC_FILE}`;
  for (let partition = 0; partition < partitions; partition++) {
    const path = partitionDir(dir, partition);
    const names = (await fs.exists(path)) ? await fs.readdir(path) : [];
    if (names.some((name) => parseSegmentLogName(name) !== undefined)) continue;
    throw new BrookError('CORRUPT_METADATA', `${file} has partition ${partition}, but ${path} holds no segment file: its records are lost`, { file, partition });
  }
  const beyond = await partitionDirsBeyond(fs, dir, partitions);
  if (beyond.length > 0) {
    throw new BrookError('CORRUPT_METADATA', `${file} has ${partitions} partition(s), but ${dir} also holds partition directories ${beyond.join(', ')}: records no read would reach`, {
      file, partition: beyond[0],
    });
  }
}

/** Directories of `dir` named as a partition (its number, as partitionDir writes it) at or past `partitions`, in order. */
async function partitionDirsBeyond(fs: FileSystem, dir: string, partitions: number): Promise<number[]> {
  const beyond: number[] = [];
  for (const name of await fs.readdir(dir)) {
    if (!PARTITION_DIR_NAME.test(name) || Number(name) < partitions) continue;
    if (await isDirectory(fs, `${dir}/${name}`)) beyond.push(Number(name));
  }
  return beyond.sort((a, b) => a - b);
}

/**
 * The topic a topic.json describes. Its name must be its directory's: every file operation finds
 * a topic by name (deleteTopic, producer snapshots), so a directory renamed or copied by hand
 * would otherwise open as a topic whose delete fails, or, copied, hide the real one.
 */
function parseTopicFile(path: string, bytes: Uint8Array, dirName: string): { name: string; config: TopicConfig } {
  try {
    const file = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    if (file['version'] !== TOPIC_FILE_VERSION || typeof file['name'] !== 'string') throw new Error('unknown version or missing name');
    if (file['name'] !== dirName) throw new Error(`it names topic ${JSON.stringify(file['name'])}, but its directory is ${JSON.stringify(dirName)}`);
    if (typeof file['segmentBytesMax'] !== 'number' || typeof file['segmentMsMax'] !== 'number') throw new Error('missing segment limits');
    const { version: _version, name: _name, ...options } = file;
    const config = resolveTopicConfig(options as CreateTopicOptions, { segmentBytesMax: file['segmentBytesMax'], segmentMsMax: file['segmentMsMax'] });
    return { name: file['name'], config };
  } catch (error) {
    throw new BrookError('CORRUPT_METADATA', `${path} is not a valid topic file: ${String(error)}`, { file: path }, { cause: error });
  }
}

function checkPositiveInteger(option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new BrookError('INVALID_CONFIG', `${option} must be a positive integer, got ${showValue(value)}`, { option, value });
  }
}
