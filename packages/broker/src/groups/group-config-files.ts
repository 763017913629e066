/**
 * A group's settings: agreeing on them as members join, and keeping them in
 * groups/<topic>/<group>/config.json, so a group without members keeps them across restarts.
 * `from` is not kept: it only says where a new group starts.
 *
 * config.json also says that the group exists: a new group writes it last, after its journal
 * (group-journal.ts), and deleteGroup removes it first. A directory without it is what a crash
 * left of a create or a delete: no group, and removed before its name is used again.
 */
import { BrookError, removeCommittedDir, rmdirDurable, writeFileAtomic, type FileSystem } from '@brook/protocol';
import type { Group } from './group.js';
import { configConflicts, resolveGroupConfig, type GroupConfig, type SubscribeOptions } from './subscribe-options.js';

const CONFIG_FILE = 'config.json';

export class GroupConfigFiles {
  constructor(
    private readonly fs: FileSystem,
    private readonly dataDir: string,
  ) {}

  /** Removes every group directory of `topic`, durably (the topic is gone, or about to be created anew). */
  async removeTopic(topic: string): Promise<void> {
    const root = `${this.dataDir}/groups`;
    if (!(await this.fs.exists(`${root}/${topic}`))) return;
    await this.fs.rmdir(`${root}/${topic}`);
    await this.fs.syncDir(root);
  }

  exists(topic: string, group: string): Promise<boolean> {
    return this.fs.exists(this.path(topic, group));
  }

  /**
   * The kept settings, or undefined for a directory without them (a crash before the first write).
   * CORRUPT_METADATA naming the file if they are not settings a subscribe could have asked for.
   */
  async read(topic: string, group: string): Promise<GroupConfig | undefined> {
    if (!(await this.exists(topic, group))) return undefined;
    const path = this.path(topic, group);
    const bytes = await this.fs.readFile(path);
    try {
      const kept = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
      if (typeof kept !== 'object' || kept === null || Array.isArray(kept)) throw new Error('not an object');
      return resolveGroupConfig({ ...(kept as Omit<SubscribeOptions, 'from'>), topic, from: 'earliest' });
    } catch (error) {
      throw new BrookError('CORRUPT_METADATA', `${path} is not a valid group config: ${String(error)}`, { file: path }, { cause: error });
    }
  }

  async write(topic: string, group: string, config: GroupConfig): Promise<void> {
    const { from: _from, ...kept } = config;
    await writeFileAtomic(this.fs, this.path(topic, group), new TextEncoder().encode(JSON.stringify(kept, null, 2)));
  }

  /** Removes the group's directory durably, config.json first: the commit point of deleteGroup. */
  remove(topic: string, group: string, committed: () => void): Promise<void> {
    return removeCommittedDir(this.fs, this.dir(topic, group), CONFIG_FILE, committed);
  }

  /** Removes what a crash left of a create or a delete of the group: a directory without config.json. */
  async removeUncommitted(topic: string, group: string): Promise<void> {
    if (await this.exists(topic, group) || !(await this.fs.exists(this.dir(topic, group)))) return;
    await rmdirDurable(this.fs, this.dir(topic, group));
  }

  /**
   * A group with members keeps its settings (INVALID_CONFIG for others); an empty one takes the
   * joining member's, written before they are used. Joins of a group call this one at a time.
   */
  async agree(group: Group, asked: GroupConfig): Promise<void> {
    const conflicts = configConflicts(group.config, asked);
    if (conflicts.length === 0) return;
    if (group.members.length > 0) {
      throw new BrookError('INVALID_CONFIG', `group ${group.name} on ${group.topic} already runs with other ${conflicts.join(', ')}`, {
        topic: group.topic, group: group.name, conflicts,
      });
    }
    await this.write(group.topic, group.name, asked);
    group.reconfigure(asked);
  }

  private path(topic: string, group: string): string {
    return `${this.dir(topic, group)}/${CONFIG_FILE}`;
  }

  private dir(topic: string, group: string): string {
    return `${this.dataDir}/groups/${topic}/${group}`;
  }
}
