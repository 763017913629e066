/**
 * Dead-letter cycles. Each group routes what it gives up on from its topic to its dead-letter
 * topic: an edge topic → deadLetterTopic. A cycle of them (a group on orders dead-letters into
 * orders.retry, a group on orders.retry into orders) bounces a rejected record round for ever, one
 * trailer longer each lap, until a copy no longer fits. So a join that would close one (a new
 * group, or a group whose settings it changes) is INVALID_CONFIG naming the cycle.
 *
 * The edges are every group the broker knows (with or without members, the ones a topic delete
 * hides until its commit point too), bar redrive's progress groups, which never dead-letter, plus
 * the edges of joins under way: two joins closing one cycle between them cannot both pass. Groups
 * reloaded from disk that already form a cycle (made by a version without this rule) still open,
 * and joins keeping their edge still join: only a join that changes an edge is checked.
 */
import { BrookError } from '@brook/protocol';
import type { Group } from './group.js';
import { groupKey } from './group-table.js';
import { REDRIVE_GROUP } from './redrive.js';

export class DeadLetterCycles {
  /** Per group key, the topic and dead-letter topic a join under way is making the group's. */
  private readonly claimed = new Map<string, { topic: string; deadLetterTopic: string }>();

  /** `groups`: every group the broker knows, listed or hidden by a topic delete. */
  constructor(private readonly groups: () => Iterable<Group>) {}

  /**
   * Refuses a join of group `name` on `topic` with `deadLetterTopic` that would close a cycle (its
   * own topic always); else counts its edge, in place of the group's own, until `release`.
   */
  claim(topic: string, name: string, deadLetterTopic: string): { release(): void } {
    // Its own topic: each record it gives up on would come back to it as a new one, a trailer
    // longer each time, for ever. (The redrive group, which never dead-letters, names its own.)
    if (deadLetterTopic === topic) {
      throw new BrookError('INVALID_CONFIG', `deadLetterTopic must not be the group's own topic ${topic}: what it gives up on would be delivered to it again`, { option: 'deadLetterTopic', topic });
    }
    const key = groupKey(topic, name);
    const edges = this.edges(key);
    if (edges.current !== deadLetterTopic) {
      const path = pathBetween(edges.others, deadLetterTopic, topic);
      if (path) {
        const cycle = [topic, ...path];
        throw new BrookError('INVALID_CONFIG', `deadLetterTopic ${deadLetterTopic} would close a dead-letter cycle ${cycle.join(' → ')}: what the groups give up on would go round it for ever`, {
          option: 'deadLetterTopic', topic, group: name, cycle,
        });
      }
    }
    const claim = { topic, deadLetterTopic };
    this.claimed.set(key, claim);
    return {
      release: () => {
        if (this.claimed.get(key) === claim) this.claimed.delete(key);
      },
    };
  }

  /** The dead-letter topic of group `key` now (undefined for a new group), and every other group's edges, by topic. */
  private edges(key: string): { current: string | undefined; others: Map<string, Set<string>> } {
    const others = new Map<string, Set<string>>();
    const add = (topic: string, deadLetterTopic: string) => {
      let targets = others.get(topic);
      if (!targets) others.set(topic, (targets = new Set()));
      targets.add(deadLetterTopic);
    };
    let current: string | undefined;
    for (const group of this.groups()) {
      if (group.name === REDRIVE_GROUP) continue;
      const at = groupKey(group.topic, group.name);
      if (at === key) current = group.config.deadLetterTopic;
      else if (!this.claimed.has(at)) add(group.topic, group.config.deadLetterTopic);
    }
    for (const [at, { topic, deadLetterTopic }] of this.claimed) if (at !== key) add(topic, deadLetterTopic);
    return { current, others };
  }
}

/** The topics on a path of `edges` from `from` to `to`, both included (breadth first: a shortest one), or undefined. */
function pathBetween(edges: ReadonlyMap<string, ReadonlySet<string>>, from: string, to: string): string[] | undefined {
  const cameFrom = new Map<string, string | undefined>([[from, undefined]]);
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    const topic = queue[i]!;
    if (topic === to) {
      const path: string[] = [];
      for (let at: string | undefined = topic; at !== undefined; at = cameFrom.get(at)) path.unshift(at);
      return path;
    }
    for (const next of edges.get(topic) ?? []) {
      if (cameFrom.has(next)) continue;
      cameFrom.set(next, topic);
      queue.push(next);
    }
  }
  return undefined;
}
