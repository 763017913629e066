/**
 * Admin operations: topics and groups. Offsets travel as decimal strings on the wire and come
 * back as bigints here, as in the in-process broker's API.
 */
import {
  checkOffsetForTimestamp, checkOptionKeys, checkRedriveArgs, RETENTION_OPTION_KEYS, groupDescriptionFromWire, topicDescriptionFromWire, topicOfGroup,
  type GroupDescription, type OptionKeys, type RequestResult, type TopicDescription, type WireRetention,
} from '@brook/protocol';
import { readAnswer } from './answer.js';
import type { Connection } from './connection.js';
import type { TopicPartitions } from './producer/topic-partitions.js';
import { wireStartPosition, type StartPosition } from './consumer/start-position.js';

export interface CreateTopicOptions {
  /** Default: the server's (1). */
  partitions?: number;
  retention?: WireRetention;
}

export interface RedriveOptions {
  /** Most records to move in this call. */
  maxRecords?: number;
  /** Per dead-letter partition, the offset before which to stop: e.g. the endOffsets seen when a redrive in several calls began. */
  endOffsets?: readonly bigint[];
}

// The broker checks values, but would ignore an unknown key: `{ partition: 3 }` would make one partition.
const CREATE_TOPIC_KEYS: OptionKeys<CreateTopicOptions> = { partitions: true, retention: true };

export class Admin {
  constructor(
    private readonly connection: Pick<Connection, 'request'>,
    private readonly topics: TopicPartitions,
  ) {}

  /** Creates a topic; TOPIC_EXISTS if it exists, INVALID_CONFIG for an unknown option. */
  async createTopic(name: string, options: CreateTopicOptions = {}): Promise<void> {
    checkOptionKeys(options, CREATE_TOPIC_KEYS);
    if (options.retention !== undefined) checkOptionKeys(options.retention, RETENTION_OPTION_KEYS, 'retention');
    await this.connection.request('createTopic', { name, ...options });
  }

  /** Deletes a topic and its data; UNKNOWN_TOPIC if there is none. */
  async deleteTopic(name: string): Promise<void> {
    this.topics.forget(name);
    await this.connection.request('deleteTopic', { name });
    this.topics.forget(name);
  }

  async listTopics(): Promise<string[]> {
    const { json } = await this.connection.request('listTopics', {});
    return readAnswer('listTopics', () => listOf(json.topics, (topic) => typeof topic === 'string'));
  }

  /** Partitions with their startOffset (first retained), endOffset (next to be written) and size on disk. */
  async describeTopic(name: string): Promise<TopicDescription> {
    const { json } = await this.connection.request('describeTopic', { name });
    return readAnswer('describeTopic', () => topicDescriptionFromWire(json));
  }

  /**
   * The first offset of the partition whose record's timestamp is >= `timestampMs` (its endOffset
   * if none is), as `Broker.offsetForTimestamp`: where to `fetch` from to read from a time on.
   * INVALID_REQUEST for a topic that is not a string, a partition that is not a non-negative
   * integer or a timestamp that is not an integer; UNKNOWN_TOPIC / UNKNOWN_PARTITION.
   */
  async offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<bigint> {
    checkOffsetForTimestamp(topic, partition, timestampMs);
    const { json } = await this.connection.request('offsetForTimestamp', { topic, partition, timestampMs });
    return readAnswer('offsetForTimestamp', () => BigInt(json.offset));
  }

  async listGroups(topic?: string): Promise<RequestResult<'listGroups'>['groups']> {
    const { json } = await this.connection.request('listGroups', topic === undefined ? {} : { topic });
    return readAnswer('listGroups', () => listOf(json.groups, (entry) => typeof entry?.topic === 'string' && typeof entry.group === 'string'));
  }

  /**
   * The group's state, as `Broker.describeGroup` returns it (offsets as bigints). `describeGroup(group)`
   * alone describes the group of that name on whichever topic has it (UNKNOWN_GROUP if none,
   * INVALID_REQUEST naming the topics if several do: a group belongs to one topic).
   */
  async describeGroup(group: string): Promise<GroupDescription>;
  async describeGroup(topic: string, group: string): Promise<GroupDescription>;
  async describeGroup(...args: [group: string] | [topic: string, group: string]): Promise<GroupDescription> {
    const [topic, group] = args.length === 1 ? [topicOfGroup(await this.listGroups(), args[0]), args[0]] : args;
    const { json } = await this.connection.request('describeGroup', { topic, group });
    return readAnswer('describeGroup', () => groupDescriptionFromWire(json));
  }

  /** Moves the group's position on every partition (replay or skip); resolves with the new positions. */
  async resetGroup(topic: string, group: string, to: StartPosition): Promise<bigint[]> {
    const { json } = await this.connection.request('resetGroup', { topic, group, to: wireStartPosition(to, 'to') });
    return readAnswer('resetGroup', () => json.positions.map((position) => BigInt(position)));
  }

  /**
   * Removes a group and its progress (a later subscribe of the name starts at its `from`);
   * GROUP_NOT_EMPTY while it has members, UNKNOWN_TOPIC / UNKNOWN_GROUP if there is none.
   */
  async deleteGroup(topic: string, group: string): Promise<void> {
    await this.connection.request('deleteGroup', { topic, group });
  }

  /**
   * Moves up to maxRecords records from a dead-letter topic back to their origin; resolves with
   * how many moved and how many were skipped (their origin topic or partition is gone).
   */
  async redrive(deadLetterTopic: string, options: RedriveOptions = {}): Promise<RequestResult<'redrive'>> {
    checkRedriveArgs(options);
    const { endOffsets, ...rest } = options;
    const { json } = await this.connection.request('redrive', { deadLetterTopic, ...rest, ...(endOffsets && { endOffsets: endOffsets.map(String) }) });
    return readAnswer('redrive', () => {
      if (!isCount(json.moved) || !isCount(json.skipped)) throw new TypeError('moved and skipped must be counts');
      return { moved: json.moved, skipped: json.skipped };
    });
  }
}

/** `items` if it is an array whose every item passes `valid`; else a TypeError, which readAnswer names. */
function listOf<T>(items: T[], valid: (item: T) => boolean): T[] {
  if (!Array.isArray(items) || !items.every(valid)) throw new TypeError('not a list of the expected items');
  return items;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
