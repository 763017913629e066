/**
 * The broker's open groups by topic and name: what listGroups lists and describeGroup, resetGroup
 * and deleteGroup find (UNKNOWN_GROUP otherwise).
 */
import { BrookError } from '@brook/protocol';
import type { Group } from './group.js';

export class GroupTable {
  /** By topic, then by name: a produce asks for its topic's groups (ofTopic), and walks no others. */
  private readonly byTopic = new Map<string, Map<string, Group>>();

  get(topic: string, name: string): Group | undefined {
    return this.byTopic.get(topic)?.get(name);
  }

  existing(topic: string, name: string): Group {
    const found = this.get(topic, name);
    if (!found) throw unknownGroupError(topic, name);
    return found;
  }

  /** UNKNOWN_GROUP unless `group` is still listed: taken off, it is gone even if a group of its name is listed since. */
  checkListed(group: Group): void {
    if (this.get(group.topic, group.name) !== group) throw unknownGroupError(group.topic, group.name);
  }

  add(group: Group): void {
    let named = this.byTopic.get(group.topic);
    if (!named) this.byTopic.set(group.topic, (named = new Map()));
    named.set(group.name, group);
  }

  remove(group: Group): void {
    const named = this.byTopic.get(group.topic);
    named?.delete(group.name);
    if (named?.size === 0) this.byTopic.delete(group.topic);
  }

  all(): Group[] {
    return [...this.byTopic.values()].flatMap((named) => [...named.values()]);
  }

  ofTopic(topic: string): Iterable<Group> {
    return this.byTopic.get(topic)?.values() ?? NONE;
  }

  /** Takes every group of `topic` off the table; returns them. */
  forgetTopic(topic: string): Group[] {
    const forgotten = [...this.ofTopic(topic)];
    this.byTopic.delete(topic);
    return forgotten;
  }

  list(topic?: string): { topic: string; group: string }[] {
    return (topic === undefined ? this.all() : [...this.ofTopic(topic)])
      .map((g) => ({ topic: g.topic, group: g.name }))
      .sort((a, b) => (a.topic + '/' + a.group).localeCompare(b.topic + '/' + b.group));
  }
}

const NONE: readonly Group[] = [];

function unknownGroupError(topic: string, name: string): BrookError {
  return new BrookError('UNKNOWN_GROUP', `no group ${JSON.stringify(name)} on topic ${JSON.stringify(topic)}`, { topic, group: name });
}

/** One key per group for the maps of what is under way (joins, opens, deletes). */
export function groupKey(topic: string, group: string): string {
  return `${topic}\u0000${group}`;
}
