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
  private readonly claimed = new Map<string, Claim>();
  /** The same claims by their topic: the search looks up a topic's edges, and walks no other's. */
  private readonly claimedOf = new Map<string, Set<Claim>>();

  /**
   * `groupsOf`: the groups on a topic the broker knows, listed or hidden by a topic delete. Asked
   * per topic on the search's path only: a join walking every group's edge cost each subscribe
   * O(groups), so a broker holding thousands of groups made each one slower.
   */
  constructor(private readonly groupsOf: (topic: string) => Iterable<Group>) {}

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
    if (this.currentEdge(topic, name) !== deadLetterTopic) {
      const path = pathBetween((at) => this.edgesFrom(at, key), deadLetterTopic, topic);
      if (path) {
        const cycle = [topic, ...path];
        throw new BrookError('INVALID_CONFIG', `deadLetterTopic ${deadLetterTopic} would close a dead-letter cycle ${cycle.join(' → ')}: what the groups give up on would go round it for ever`, {
          option: 'deadLetterTopic', topic, group: name, cycle,
        });
      }
    }
    const claim: Claim = { key, topic, deadLetterTopic };
    this.unclaim(this.claimed.get(key));
    this.claimed.set(key, claim);
    let ofTopic = this.claimedOf.get(topic);
    if (!ofTopic) this.claimedOf.set(topic, (ofTopic = new Set()));
    ofTopic.add(claim);
    return {
      release: () => {
        if (this.claimed.get(key) === claim) this.unclaim(claim);
      },
    };
  }

  private unclaim(claim: Claim | undefined): void {
    if (!claim) return;
    this.claimed.delete(claim.key);
    const ofTopic = this.claimedOf.get(claim.topic);
    ofTopic?.delete(claim);
    if (ofTopic?.size === 0) this.claimedOf.delete(claim.topic);
  }

  /** The dead-letter topic of group `name` on `topic` now (undefined for a new group). */
  private currentEdge(topic: string, name: string): string | undefined {
    let current: string | undefined;
    for (const group of this.groupsOf(topic)) if (group.name === name) current = group.config.deadLetterTopic;
    return current;
  }

  /** The dead-letter topics the groups on `topic` send to, bar group `key`'s own: a claim stands in for its group's edge. */
  private *edgesFrom(topic: string, key: string): Iterable<string> {
    for (const group of this.groupsOf(topic)) {
      if (group.name === REDRIVE_GROUP) continue;
      const at = groupKey(group.topic, group.name);
      if (at !== key && !this.claimed.has(at)) yield group.config.deadLetterTopic;
    }
    for (const claim of this.claimedOf.get(topic) ?? []) if (claim.key !== key) yield claim.deadLetterTopic;
  }
}

interface Claim {
  readonly key: string;
  readonly topic: string;
  readonly deadLetterTopic: string;
}

/** The topics on a path of `edgesFrom` from `from` to `to`, both included (breadth first: a shortest one), or undefined. */
function pathBetween(edgesFrom: (topic: string) => Iterable<string>, from: string, to: string): string[] | undefined {
  const cameFrom = new Map<string, string | undefined>([[from, undefined]]);
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    const topic = queue[i]!;
    if (topic === to) {
      const path: string[] = [];
      for (let at: string | undefined = topic; at !== undefined; at = cameFrom.get(at)) path.unshift(at);
      return path;
    }
    for (const next of edgesFrom(topic)) {
      if (cameFrom.has(next)) continue;
      cameFrom.set(next, topic);
      queue.push(next);
    }
  }
  return undefined;
}
