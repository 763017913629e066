/**
 * A group's settings: agreeing on them as members join, and keeping them in
 * groups/<topic>/<group>/config.json, so a group without members keeps them across restarts.
 * `from` is not kept: it only says where a new group starts.
 */
import { BrookError, writeFileAtomic, type FileSystem } from '@brook/protocol';
import type { Group } from './group.js';
import { configConflicts, type GroupConfig } from './subscribe-options.js';

export class GroupConfigFiles {
  constructor(
    private readonly fs: FileSystem,
    private readonly dataDir: string,
  ) {}

  exists(topic: string, group: string): Promise<boolean> {
    return this.fs.exists(this.path(topic, group));
  }

  /** The kept settings, or undefined for a directory without them (a crash before the first write). */
  async read(topic: string, group: string): Promise<GroupConfig | undefined> {
    if (!(await this.exists(topic, group))) return undefined;
    const kept = JSON.parse(new TextDecoder().decode(await this.fs.readFile(this.path(topic, group)))) as Omit<GroupConfig, 'from'>;
    return { ...kept, from: 'earliest' };
  }

  async write(topic: string, group: string, config: GroupConfig): Promise<void> {
    const { from: _from, ...kept } = config;
    await writeFileAtomic(this.fs, this.path(topic, group), new TextEncoder().encode(JSON.stringify(kept, null, 2)));
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
    return `${this.dataDir}/groups/${topic}/${group}/config.json`;
  }
}
