/**
 * The broker's topics by name, and the creates and deletes under way.
 *
 * - A create claims its name before its first await, so a second create of the name gets
 *   TOPIC_EXISTS instead of opening the same directory.
 * - A create of a name whose delete is still removing files waits for that delete: otherwise the
 *   new topic would open the old one's files, which the delete then removes under it.
 * - An operation that found the topic and then lost its logs to a delete (they close under it)
 *   fails with UNKNOWN_TOPIC, as it would a moment later, not with the log's CLOSED, which
 *   means the broker is closing.
 * - `closing()` lets what is under way finish and refuses what starts after it (CLOSED), so that
 *   the broker closes every topic that exists and writes its clean-shutdown marker last.
 */
import { BrookError, isBrookError, type FileSystem } from '@brook/protocol';
import { namedDirs } from '../data-dir.js';
import { Topic, type LogDefaults, type PartitionFailureListener } from './topic.js';
import { brokerClosedError, topicDeletedError } from '../ending-errors.js';

export class TopicRegistry {
  private readonly topics = new Map<string, Topic>();
  private readonly creating = new Map<string, Promise<Topic>>();
  private readonly deleting = new Map<string, Promise<void>>();
  private closed = false;

  /** Opens every topic under `root`, removing a directory left by an interrupted create (no topic.json). */
  async open(fs: FileSystem, root: string, logDefaults: LogDefaults, onFailure: PartitionFailureListener): Promise<void> {
    for (const name of await namedDirs(fs, root)) {
      const topic = await Topic.open(fs, `${root}/${name}`, logDefaults, onFailure);
      if (topic) this.topics.set(topic.name, topic);
      else await fs.rmdir(`${root}/${name}`);
    }
  }

  has(name: string): boolean {
    return this.topics.has(name);
  }

  /** The topic, or undefined if there is none of that name (get throws UNKNOWN_TOPIC). */
  find(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  get(name: string): Topic {
    const topic = this.topics.get(name);
    if (!topic) throw new BrookError('UNKNOWN_TOPIC', `no topic named ${JSON.stringify(name)}`, { topic: name });
    return topic;
  }

  names(): string[] {
    return [...this.topics.keys()].sort();
  }

  values(): IterableIterator<Topic> {
    return this.topics.values();
  }

  /** Adds the topic `make` creates, once no delete of the name is under way. */
  async create(name: string, make: () => Promise<Topic>): Promise<Topic> {
    const deleting = this.deleting.get(name);
    if (deleting) await deleting.catch(() => undefined);
    if (this.closed) throw brokerClosedError();
    if (this.topics.has(name) || this.creating.has(name)) throw new BrookError('TOPIC_EXISTS', `topic ${name} already exists`, { topic: name });
    const creating = make().then((topic) => {
      this.topics.set(name, topic);
      return topic;
    });
    this.creating.set(name, creating);
    try {
      return await creating;
    } finally {
      this.creating.delete(name);
    }
  }

  /** Resolves once the topic exists: now, when a create under way ends, or by `create`. */
  async ensure(name: string, create: () => Promise<void>): Promise<void> {
    if (this.topics.has(name)) return;
    const creating = this.creating.get(name);
    if (creating) {
      await creating;
      return;
    }
    await create();
  }

  /**
   * Takes the topic off the registry at once (UNKNOWN_TOPIC from then on), then runs `commit`, the
   * delete's commit point. If that fails, the delete has changed nothing: the topic is back, and
   * the error (IO_ERROR, retriable) says the delete can be tried again. After it, `removeRest`.
   */
  async delete(name: string, commit: () => Promise<void>, removeRest: (topic: Topic) => Promise<void>): Promise<void> {
    const topic = this.get(name);
    this.topics.delete(name);
    const deleting = (async () => {
      try {
        await commit();
      } catch (error) {
        this.topics.set(name, topic);
        throw error;
      }
      await removeRest(topic);
    })();
    this.deleting.set(name, deleting);
    try {
      await deleting;
    } finally {
      this.deleting.delete(name);
    }
  }

  /**
   * What an operation on `topic` that failed with `error` throws: UNKNOWN_TOPIC if it was a CLOSED
   * from the topic's logs, closed by a delete under way, else `error`. A function of the error,
   * not a wrapper of the operation's promise: a produce costs no extra turn of the event loop.
   */
  failure(topic: Topic, error: unknown): unknown {
    if (isBrookError(error, 'CLOSED') && !this.closed && this.topics.get(topic.name) !== topic) {
      return topicDeletedError(topic.name);
    }
    return error;
  }

  /** Refuses new creates and waits for the creates and deletes under way. */
  async closing(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.creating.values(), ...this.deleting.values()]);
  }
}
