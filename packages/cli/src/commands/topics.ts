/**
 * `brook topics create|list|describe|delete`: topic administration over the client's admin API.
 */
import { LIMITS } from '@brook/broker';
import { isBrookError, type Client, type CreateTopicOptions, type TopicSettings } from '@brook/client';
import { defineCommand, defineCommandGroup, type ParsedArgs } from '../cli-args.js';
import { EXIT } from '../exit.js';
import { plural, table, toJson } from '../format.js';
import { durationOption } from '../positions.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, withClient } from '../remote.js';

const create = defineCommand(
  {
    name: 'topics create',
    summary: 'create a topic',
    required: ['NAME'], names: ['NAME'],
    options: {
      ...REMOTE_OPTIONS, partitions: { type: 'string' }, 'retention-bytes': { type: 'string' }, 'retention-time': { type: 'string' },
      discard: { type: 'string' }, 'if-not-exists': { type: 'boolean' },
    },
    usage: `usage: brook topics create NAME [--partitions N] [--retention-bytes N] [--retention-time DURATION]
                          [--discard old|new] [--if-not-exists]

  --partitions N            number of partitions, at most ${LIMITS.partitionsMax.max} (default: the server's, 1)
  --retention-bytes N       drop (or, with --discard new, refuse) past this many bytes per partition
  --retention-time D        drop segments older than D: milliseconds, or 30s, 15m, 12h, 7d
  --discard old|new         at the limit: delete the oldest segments (default), or refuse producers
                            with TOPIC_FULL (backpressure)
  --if-not-exists           succeed if the topic exists already (its settings are left as they are)
${REMOTE_USAGE}`,
  },
  (args, env) => {
    const options = createOptions(args);
    return withClient(args, env, async (client) => {
      const name = args.required('NAME');
      let created = true;
      try {
        await client.admin.createTopic(name, options);
      } catch (error) {
        if (!(args.flag('if-not-exists') && isBrookError(error, 'TOPIC_EXISTS'))) throw error;
        created = false;
      }
      process.stdout.write(args.flag('json') ? `${toJson({ topic: name, created })}\n` : `${created ? 'created' : 'exists already:'} topic ${name}\n`);
      return EXIT.ok;
    });
  },
);

function createOptions(args: ParsedArgs): CreateTopicOptions {
  // The most any server allows; one configured lower still refuses more with INVALID_CONFIG.
  const partitions = args.integer('partitions', { min: 1, max: LIMITS.partitionsMax.max });
  const maxBytes = args.integer('retention-bytes', { min: 1 });
  const maxAgeMs = durationOption(args, 'retention-time');
  const discard = args.choice('discard', ['old', 'new'] as const);
  const retention = {
    ...(maxBytes === undefined ? {} : { maxBytes }), ...(maxAgeMs === undefined ? {} : { maxAgeMs }), ...(discard === undefined ? {} : { discard }),
  };
  return { ...(partitions === undefined ? {} : { partitions }), ...(Object.keys(retention).length > 0 ? { retention } : {}) };
}

const list = defineCommand(
  {
    name: 'topics list', summary: 'list topics with their partitions and records', options: REMOTE_OPTIONS,
    usage: `usage: brook topics list\n\nOne line per topic: name, partitions, records retained.\n${REMOTE_USAGE}`,
  },
  (args, env) => withClient(args, env, async (client) => {
    const topics = await Promise.all((await client.admin.listTopics()).sort().map((name) => summarize(client, name)));
    if (args.flag('json')) process.stdout.write(`${toJson(topics)}\n`);
    else if (topics.length === 0) process.stdout.write('no topics\n');
    else process.stdout.write(table([['TOPIC', 'PARTITIONS', 'RECORDS'], ...topics.map((t) => [t.topic, String(t.partitions), String(t.records)])]));
    return EXIT.ok;
  }),
);

async function summarize(client: Client, topic: string): Promise<{ topic: string; partitions: number; records: bigint }> {
  const { partitions } = await client.admin.describeTopic(topic);
  return { topic, partitions: partitions.length, records: partitions.reduce((sum, p) => sum + p.endOffset - p.startOffset, 0n) };
}

const describe = defineCommand(
  {
    name: 'topics describe', summary: 'settings, partitions (start and end offsets) and groups of a topic', required: ['NAME'], names: ['NAME'], options: REMOTE_OPTIONS,
    usage: `usage: brook topics describe NAME

Its retention and segment settings; per partition: startOffset (first retained), endOffset
(the next record's), records; a line per partition whose log failed (it refuses writes until the
broker is restarted), one per partition whose last retention run could not finish (tried
again at every pass), and one per partition whose last producer-state snapshot could not be
written (tried again every producerSnapshotIntervalMs), with why; then the topic's consumer groups.
${REMOTE_USAGE}`,
  },
  (args, env) => withClient(args, env, async (client) => {
    const name = args.required('NAME');
    const { partitions, settings } = await client.admin.describeTopic(name);
    const groups = (await client.admin.listGroups(name)).map((g) => g.group);
    if (args.flag('json')) {
      process.stdout.write(`${toJson({ topic: name, settings, partitions, groups })}\n`);
      return EXIT.ok;
    }
    process.stdout.write(`topic ${name}: ${plural(partitions.length, 'partition')}\n`);
    process.stdout.write(`${describeSettings(settings)}\n`);
    process.stdout.write(table([
      ['PARTITION', 'START', 'END', 'RECORDS'],
      ...partitions.map((p) => [String(p.partition), String(p.startOffset), String(p.endOffset), String(p.endOffset - p.startOffset)]),
    ]));
    for (const { partition, failure, retentionFailure, producerSnapshotFailure } of partitions) {
      if (failure) process.stdout.write(`partition ${partition} failed, refusing writes until the broker restarts: ${failure.message}\n`);
      if (retentionFailure) process.stdout.write(`partition ${partition}: retention could not finish, tried again at every pass: ${retentionFailure.message}\n`);
      if (producerSnapshotFailure) process.stdout.write(`partition ${partition}: producer-state snapshot not written, tried again every interval: ${producerSnapshotFailure.message}\n`);
    }
    process.stdout.write(`groups: ${groups.join(', ') || '(none)'}\n`);
    return EXIT.ok;
  }),
);

/** One line: the retention and segment limits the topic was created with. */
function describeSettings({ retention, segmentBytesMax, segmentMsMax }: TopicSettings): string {
  const size = retention.maxBytes === undefined ? 'no size limit' : `maxBytes ${retention.maxBytes} (discard ${retention.discard})`;
  const age = retention.maxAgeMs === undefined ? 'no age limit' : `maxAgeMs ${retention.maxAgeMs}`;
  return `retention: ${size}, ${age}; segments roll at ${segmentBytesMax} bytes or ${segmentMsMax} ms`;
}

const remove = defineCommand(
  {
    name: 'topics delete', summary: 'delete a topic, its data and its groups', required: ['NAME'], names: ['NAME'], options: REMOTE_OPTIONS,
    usage: `usage: brook topics delete NAME

Deletes the topic's data and its groups; their dead-letter topics stay (they are topics of their own).
${REMOTE_USAGE}`,
  },
  (args, env) => withClient(args, env, async (client) => {
    const name = args.required('NAME');
    await client.admin.deleteTopic(name);
    process.stdout.write(args.flag('json') ? `${toJson({ topic: name, deleted: true })}\n` : `deleted topic ${name}\n`);
    return EXIT.ok;
  }),
);

export const topicsCommand = defineCommandGroup('topics', 'create, list, describe and delete topics', [create, list, describe, remove]);
