/**
 * `brook groups list|describe|reset|delete`: where consumer groups stand (lag, in flight,
 * counters), moving one (replay from earliest or a time, or skip to latest), and removing one.
 */
import type { GroupDescription } from '@brook/client';
import { defineCommand, defineCommandGroup } from '../cli-args.js';
import { EXIT } from '../exit.js';
import { isoTime, plural, table, toJson } from '../format.js';
import { describeListed } from '../listed-groups.js';
import { POSITION_USAGE, startPositionOption } from '../positions.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, withClient } from '../remote.js';

const list = defineCommand(
  {
    name: 'groups list', summary: 'list consumer groups with their ordering, members and lag', optional: ['TOPIC'], names: ['TOPIC'], options: REMOTE_OPTIONS,
    usage: `usage: brook groups list [TOPIC]\n\nOne line per group (of TOPIC, or of every topic): ordering, members, lag.\n${REMOTE_USAGE}`,
  },
  (args, env) => withClient(args, env, async (client) => {
    const topic = args.arg('TOPIC');
    const found = await client.admin.listGroups(topic);
    // The server lists no groups for a topic that does not exist; like describe, that is UNKNOWN_TOPIC.
    if (topic !== undefined && found.length === 0) await client.admin.describeTopic(topic);
    const groups = (await describeListed(client.admin, found)).map(({ topic, group, description }) => (
      { topic, group, ordering: description.config.ordering, members: description.members.length, lag: description.lag }
    ));
    if (args.flag('json')) process.stdout.write(`${toJson(groups)}\n`);
    else if (groups.length === 0) process.stdout.write('no groups\n');
    else process.stdout.write(table([['TOPIC', 'GROUP', 'ORDERING', 'MEMBERS', 'LAG'], ...groups.map((g) => [g.topic, g.group, g.ordering, String(g.members), String(g.lag)])]));
    return EXIT.ok;
  }),
);

const describe = defineCommand(
  {
    name: 'groups describe', summary: "a group's settings, members and per-partition position", required: ['TOPIC', 'GROUP'], names: ['TOPIC', 'GROUP'], options: REMOTE_OPTIONS,
    usage: `usage: brook groups describe TOPIC GROUP

The group's settings and members, then per partition: ackFloor (every offset below it is acked),
endOffset, lag (records not yet acked), records in flight, redeliveries, dead letters, records
lost to retention and, under ordering partition, the member that owns it. Records retention
deleted that the group has not been told of yet (a restart came first) get a line of their own.
${REMOTE_USAGE}`,
  },
  (args, env) => withClient(args, env, async (client) => {
    const description = await client.admin.describeGroup(args.required('TOPIC'), args.required('GROUP'));
    process.stdout.write(args.flag('json') ? `${toJson(description)}\n` : formatDescription(description));
    return EXIT.ok;
  }),
);

function formatDescription(d: GroupDescription): string {
  const { config } = d;
  const lines = [
    `group ${d.group} on ${d.topic}: ${plural(d.members.length, 'member')}, lag ${d.lag}`,
    `  ordering ${config.ordering}, ackTimeoutMs ${config.ackTimeoutMs}, maxDeliveries ${config.maxDeliveries}, dead letters to ${config.deadLetterTopic}`,
    ...d.members.map((m) => `  member ${m.id} (${m.name}): ${m.inFlight} in flight of ${m.maxInFlight}${m.closing ? ', closing' : ''}${m.paused ? ', paused' : ''}${m.leaseLost ? ', lease lost' : ''}`),
    ...(d.lastError === undefined ? [] : [`  last error: ${d.lastError}`]),
  ];
  // Only 'partition' has owners; a member that let a lease run out owns none until it settles again.
  const owners = config.ordering === 'partition';
  const rows = d.partitions.map((p) => [
    String(p.partition), String(p.ackFloor), String(p.endOffset), String(p.lag), String(p.inFlight.length),
    String(p.redeliveries), String(p.deadLettered), String(p.lostToRetention), ...(owners ? [p.owner ?? '-'] : []),
  ]);
  const inFlight = d.partitions.flatMap((p) => p.inFlight.map((f) =>
    `  in flight: partition ${p.partition} offset ${f.offset} to ${f.member}, attempt ${f.deliveryCount}, lease until ${isoTime(f.leaseDeadlineMs)}`));
  const untold = d.partitions.filter((p) => p.lostToRetentionUntold > 0n).map((p) =>
    `  not yet told: partition ${p.partition} lost ${plural(p.lostToRetentionUntold, 'record')} to retention, counted in LOST at the group's next read`);
  const header = ['PARTITION', 'ACK FLOOR', 'END', 'LAG', 'IN FLIGHT', 'REDELIVERED', 'DEAD-LETTERED', 'LOST', ...(owners ? ['OWNER'] : [])];
  return `${lines.join('\n')}\n${table([header, ...rows])}` +
    [...untold, ...inFlight].map((line) => `${line}\n`).join('');
}

const reset = defineCommand(
  {
    name: 'groups reset', summary: 'move a group to earliest, latest, an offset or a time (replay or skip)', required: ['TOPIC', 'GROUP'], names: ['TOPIC', 'GROUP'],
    options: { ...REMOTE_OPTIONS, to: { type: 'string' } },
    usage: `usage: brook groups reset TOPIC GROUP --to POS

Moves the group on every partition; its members carry on from there (records before the new
position count as acked, records after it are delivered again: a replay).

  --to POS       ${POSITION_USAGE}
${REMOTE_USAGE}`,
  },
  (args, env) => {
    const to = startPositionOption(args, 'to');
    if (to === undefined) throw args.usageError('missing --to');
    return withClient(args, env, async (client) => {
      const [topic, group] = [args.required('TOPIC'), args.required('GROUP')];
      const positions = await client.admin.resetGroup(topic, group, to);
      process.stdout.write(args.flag('json')
        ? `${toJson({ topic, group, positions })}\n`
        : `group ${group} on ${topic} now at ${positions.map((offset, partition) => `partition ${partition} offset ${offset}`).join(', ')}\n`);
      return EXIT.ok;
    });
  },
);

const remove = defineCommand(
  {
    name: 'groups delete', summary: 'delete a consumer group without members, and its progress', required: ['TOPIC', 'GROUP'], names: ['TOPIC', 'GROUP'], options: REMOTE_OPTIONS,
    usage: `usage: brook groups delete TOPIC GROUP

Deletes the group: its position on every partition, attempt counts and settings. A consumer that
subscribes with its name later makes a new group, which starts at its --from. Refused with
GROUP_NOT_EMPTY (exit 1) while the group has members: stop its consumers first. Its dead-letter
topic stays (a topic of its own).
${REMOTE_USAGE}`,
  },
  (args, env) => withClient(args, env, async (client) => {
    const [topic, group] = [args.required('TOPIC'), args.required('GROUP')];
    await client.admin.deleteGroup(topic, group);
    process.stdout.write(args.flag('json') ? `${toJson({ topic, group, deleted: true })}\n` : `deleted group ${group} on ${topic}\n`);
    return EXIT.ok;
  }),
);

export const groupsCommand = defineCommandGroup('groups', 'list, describe, reset and delete consumer groups', [list, describe, reset, remove]);
