import { describe, expect, it } from 'vitest';
import { BrookError, type GroupDescription } from '@brook/client';
import { describeListed } from './listed-groups.js';

/** An admin whose describeGroup answers from `answers` (an error is thrown), as a server would after the listing. */
function adminAnswering(answers: Record<string, GroupDescription | BrookError>) {
  return {
    describeGroup: async (topic: string, group: string): Promise<GroupDescription> => {
      const answer = answers[`${topic}/${group}`]!;
      if (answer instanceof BrookError) throw answer;
      return answer;
    },
  };
}

const description = (lag: bigint) => ({ lag }) as unknown as GroupDescription;

describe('describeListed: the groups of a listing that still exist', () => {
  it('skips a group deleted, or whose topic was deleted, between the listing and its describe; keeps listing order', async () => {
    const admin = adminAnswering({
      't/a': description(1n),
      't/gone': new BrookError('UNKNOWN_GROUP', 'no group gone'),
      'u/b': description(2n),
      'v/c': new BrookError('UNKNOWN_TOPIC', 'no topic v'),
    });
    const listed = [{ topic: 't', group: 'a' }, { topic: 't', group: 'gone' }, { topic: 'u', group: 'b' }, { topic: 'v', group: 'c' }];
    const found = await describeListed(admin, listed);
    expect(found.map(({ topic, group, description }) => [topic, group, description.lag])).toEqual([['t', 'a', 1n], ['u', 'b', 2n]]);
  });

  it('fails with any other error: only a group that went is skipped', async () => {
    const admin = adminAnswering({ 't/a': new BrookError('UNAUTHORIZED', 'no') });
    await expect(describeListed(admin, [{ topic: 't', group: 'a' }])).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
