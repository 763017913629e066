/**
 * A listing of groups followed by a look at each: `brook groups list` and `brook dlq list` ask the
 * server for the groups, then describe each one. A listing is a snapshot: a group deleted (or
 * its topic deleted) between the two is gone, not an error of the command, which used to fail
 * whole with UNKNOWN_GROUP / UNKNOWN_TOPIC because one group went meanwhile.
 */
import { isBrookError, type GroupDescription } from '@brook/client';

export interface ListedGroup {
  readonly topic: string;
  readonly group: string;
}

/** Each listed group that still exists, with its description, in listing order. */
export async function describeListed(admin: { describeGroup(topic: string, group: string): Promise<GroupDescription> }, listed: readonly ListedGroup[]): Promise<(ListedGroup & { description: GroupDescription })[]> {
  const described = await Promise.all(listed.map(async ({ topic, group }) => {
    try {
      return { topic, group, description: await admin.describeGroup(topic, group) };
    } catch (error) {
      if (isBrookError(error, 'UNKNOWN_GROUP') || isBrookError(error, 'UNKNOWN_TOPIC')) return undefined;
      throw error;
    }
  }));
  return described.filter((entry) => entry !== undefined);
}
