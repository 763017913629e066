/**
 * `brook consume TOPIC`: prints records as they arrive, as a member of a group (acked after
 * printing, or not at all with --no-ack) or as a tail reader. Ends after --count records or on
 * SIGINT/SIGTERM: what was printed and acked stays acked, anything received but not printed goes
 * back to the group (a second signal exits at once).
 */
import { once } from 'node:events';
import { LIMITS, REDRIVE_GROUP } from '@brook/broker';
import { BrookError, isBrookError, type Client, type GroupDescription, type Message, type MessageStream, type SubscribeOptions } from '@brook/client';
import { checkName, defineCommand, type ParsedArgs } from '../cli-args.js';
import { EXIT } from '../exit.js';
import { jsonLine, plural } from '../format.js';
import { POSITION_USAGE, startPositionOption } from '../positions.js';
import { recordJson, recordLine } from '../records.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, withClient } from '../remote.js';

const ORDERINGS = ['none', 'key', 'partition'] as const;
/** Lease of a held record, renewed at half of it: independent of the group's ackTimeoutMs. */
const HELD_LEASE_MS = 60_000;

const USAGE = `usage: brook consume TOPIC [--group G [--ordering none|key|partition] [--ack | --no-ack]]
                     [--from POS] [--count N]

Prints each record as it arrives (partition, offset, key, deliveryCount, value), until --count
records were printed or Ctrl-C. A reader that goes away (| head -5) ends it at once, exit 0,
acking nothing more: a group gets the records it had not acked back (deliveryCount grows), those
printed to the pipe too; to take exactly N records, use --count N.

  --group G        read as a member of group G: records are shared with its other members and
                   the group remembers what was acked. Without --group: a tail reader, which
                   sees every record, acks nothing and keeps no position; records that
                   retention deletes before it reads them are counted on stderr.
  --ordering O     the group's ordering: none, key or partition (default: none for a new group;
                   an existing group is joined with its own settings, ordering included)
  --from POS       where a new group or a tail reader starts: ${POSITION_USAGE}
                   (default: earliest with --group, latest without). An existing group continues
                   where it is; move it with brook groups reset.
  --count N        exit after N records
  --ack            ack each record once printed (the default with --group)
  --no-ack         print without acking: on exit the records go back to the group and are
                   delivered again (deliveryCount grows). At most --count of them (default
                   ${LIMITS.maxInFlight.default}) are held at once.
${REMOTE_USAGE} (one JSON object per record and line)`;

interface ConsumeSettings {
  subscribe: SubscribeOptions & { maxInFlight: number };
  count: number | undefined;
  /** group: a member acking what it printed; credit: a tail reader, whose acks only return credit; none: --no-ack. */
  acks: 'group' | 'credit' | 'none';
  json: boolean;
}

const ACKS_SUMMARY = { group: ', acked', credit: '', none: ', not acked' } as const;

export const consumeCommand = defineCommand(
  {
    name: 'consume', summary: 'print records as they arrive, as a group member or a tail reader', usage: USAGE, required: ['TOPIC'], names: ['TOPIC'],
    options: {
      ...REMOTE_OPTIONS, group: { type: 'string' }, ordering: { type: 'string' }, from: { type: 'string' }, count: { type: 'string' },
      ack: { type: 'boolean' }, 'no-ack': { type: 'boolean' },
    },
  },
  async (args, env) => {
    const parsed = consumeSettings(args);
    return withClient(args, env, async (client) => {
      const settings = await joiningExisting(client, parsed);
      const printed = await consume(client, settings);
      process.stderr.write(`brook: ${plural(printed, 'record')} from ${describeReader(settings)}${ACKS_SUMMARY[settings.acks]}\n`);
      return EXIT.ok;
    });
  },
);

function consumeSettings(args: ParsedArgs): ConsumeSettings {
  const group = groupOption(args);
  const ordering = args.choice('ordering', ORDERINGS);
  const from = startPositionOption(args, 'from');
  const count = args.integer('count', { min: 1 });
  if (args.flag('ack') && args.flag('no-ack')) throw args.usageError('--ack and --no-ack exclude each other');
  if (group === undefined && (ordering !== undefined || args.flag('ack') || args.flag('no-ack'))) {
    throw args.usageError('--ordering, --ack and --no-ack need --group (a tail reader has no acks)');
  }
  const acks = group === undefined ? 'credit' : args.flag('no-ack') ? 'none' : 'group';
  // No more credits than records wanted (see consume()); --no-ack holds every record it prints.
  const window = acks === 'none' ? LIMITS.maxInFlight.max : LIMITS.maxInFlight.default;
  const maxInFlight = count === undefined ? LIMITS.maxInFlight.default : Math.min(count, window);
  const subscribe: ConsumeSettings['subscribe'] = {
    topic: args.required('TOPIC'), name: 'brook-cli', maxInFlight,
    ...(group === undefined ? {} : { group }), ...(ordering === undefined ? {} : { ordering }), ...(from === undefined ? {} : { from }),
  };
  return { subscribe, count, acks, json: args.flag('json') };
}

/**
 * --group, held to the group-name rule here as other values are: the broker refuses a bad name
 * with INVALID_REQUEST, a failure (exit 1), for what is bad usage (exit 2).
 */
function groupOption(args: ParsedArgs): string | undefined {
  const group = args.string('group');
  if (group !== undefined) checkName('--group', group, USAGE);
  if (group === REDRIVE_GROUP) throw args.usageError(`--group ${REDRIVE_GROUP} is reserved for redrive progress`);
  return group;
}

function describeReader({ subscribe: { topic, group, from } }: ConsumeSettings): string {
  const start = from === undefined ? '' : ` from ${typeof from === 'string' ? from : 'offset' in from ? `offset ${from.offset}` : new Date(from.timestamp).toISOString()}`;
  return `${topic} ${group === undefined ? 'as a tail reader' : `in group ${group}`}${start}`;
}

/**
 * An existing group is joined with its own settings: a subscribe asks for every group setting,
 * an omitted one for its default, so a bare `--group G` would be refused (INVALID_CONFIG) while
 * G's members run with others, and with none connected would reconfigure G to the defaults (its
 * ordering to none, its maxDeliveries to a million, ...). --ordering, when given, still asks.
 * --from only places a new group: for an existing one it is dropped, with a warning (better than
 * silently continuing where the group is), so that no later message claims a start it did not take.
 */
async function joiningExisting(client: Client, settings: ConsumeSettings): Promise<ConsumeSettings> {
  const { group, from, ...rest } = settings.subscribe;
  if (group === undefined) return settings;
  const config = await existingGroupConfig(client, rest.topic, group);
  if (config === undefined) return settings;
  if (from !== undefined) process.stderr.write(`brook: group ${group} exists, so it continues where it is and --from is ignored (brook groups reset moves it)\n`);
  const { ordering, ackTimeoutMs, maxDeliveries, backoff, deadLetterTopic } = config;
  return { ...settings, subscribe: { ordering, ackTimeoutMs, maxDeliveries, backoff, deadLetterTopic, ...rest, group } };
}

async function existingGroupConfig(client: Client, topic: string, group: string): Promise<GroupDescription['config'] | undefined> {
  try {
    return (await client.admin.describeGroup(topic, group)).config;
  } catch (error) {
    if (isBrookError(error, 'UNKNOWN_GROUP')) return undefined;
    throw error;
  }
}

/**
 * Prints records until the count or a signal; resolves with how many were printed, once their
 * acks are durable.
 *
 * With --count, the member's credit (maxInFlight) is the last `window` records, and their acks
 * are held until it leaves: every earlier ack frees a credit for a record still wanted, and the
 * held ones are acked only after the graceful unsubscribe, which stops new deliveries. So the
 * broker hands out exactly --count records and none comes back with a raised deliveryCount.
 */
async function consume(client: Client, settings: ConsumeSettings): Promise<number> {
  const stream = client.consume(settings.subscribe);
  const settles = new PendingSettles();
  const held = new HeldMessages(settles);
  let leaving: Promise<void> | undefined;
  const leave = () => (leaving ??= settings.acks === 'none' ? Promise.resolve(stream.abort()) : leaveGracefully(stream, held, settles));
  const onSignal = () => {
    if (leaving) process.exit(EXIT.interrupted);
    void leave().catch(() => undefined); // its failure surfaces when awaited below
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let printed = 0;
  try {
    await stream.ready;
    const heldFrom = await firstHeld(client, settings);
    process.stderr.write(`brook: consuming ${describeReader(settings)}; Ctrl-C to stop\n`);
    const messages = stream[Symbol.asyncIterator]();
    const losses = new LossNotices(settings.subscribe.topic);
    while (printed !== settings.count) {
      const next = await messages.next();
      if (next.done) break;
      losses.tell(stream.lostToRetention);
      await write(settings.json ? jsonLine(recordJson(next.value)) : `${recordLine(next.value)}\n`);
      printed += 1;
      if (settings.acks === 'none') continue;
      if (printed >= heldFrom) held.hold(next.value);
      else settles.track(next.value.ack());
    }
    if (!leaving && printed !== settings.count) throw new BrookError('DISCONNECTED', `the server ended the subscription to ${settings.subscribe.topic}`, {});
    await leave();
    return printed;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    stream.abort(); // after a graceful leave a no-op; after a failure, lets go of whatever is held
  }
}

/**
 * The count from which printed records are held (see consume()), Infinity for none: only a group
 * member with --count holds, and not under ordering 'key', where a held record would lock its
 * key and the next record of that key would never come.
 */
async function firstHeld(client: Client, { acks, count, subscribe }: ConsumeSettings): Promise<number> {
  if (acks !== 'group' || count === undefined) return Infinity;
  const ordering = subscribe.ordering ?? (await client.admin.describeGroup(subscribe.topic, subscribe.group!)).config.ordering;
  return ordering === 'key' ? Infinity : count - subscribe.maxInFlight + 1;
}

async function leaveGracefully(stream: MessageStream, held: HeldMessages, settles: PendingSettles): Promise<void> {
  // With no settle unanswered, close() sends its unsubscribe at once (microtasks) and the held
  // acks go out on the next tick (setImmediate), after it: their credits free nothing new. An
  // earlier settle that failed (a stale ack) fails the run, but only once the held ones are acked.
  await settles.idle();
  const closing = stream.close();
  held.ackAll();
  await closing;
  await settles.settled();
}

/** Printed records whose acks wait for the leave; their leases are renewed meanwhile, so a slow trickle does not redeliver them. */
class HeldMessages {
  private readonly messages: Message[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly settles: PendingSettles) {}

  hold(message: Message): void {
    this.settles.track(message.extend(HELD_LEASE_MS));
    this.messages.push(message);
    this.timer ??= setInterval(() => this.messages.forEach((held) => this.settles.track(held.extend(HELD_LEASE_MS))), HELD_LEASE_MS / 2).unref();
  }

  ackAll(): void {
    clearInterval(this.timer);
    for (const message of this.messages.splice(0)) this.settles.track(message.ack());
  }
}

/**
 * A tail reader's records deleted by retention before it got to them: one line on stderr each
 * time its count grows, before the record that came after them (the count reaches the client
 * with that delivery). Over all partitions: the count does not say which. A group member's
 * losses are its group's (brook groups describe shows them): nothing here.
 */
class LossNotices {
  private told = 0n;

  constructor(private readonly topic: string) {}

  tell(lostToRetention: bigint | undefined): void {
    if (lostToRetention === undefined || lostToRetention <= this.told) return;
    process.stderr.write(`brook: retention deleted ${plural(lostToRetention - this.told, 'record')} of ${this.topic} before this tail reader read them; it goes on at the oldest record kept\n`);
    this.told = lostToRetention;
  }
}

/** Waits for a slow stdout reader, so a pipe into a pager does not buffer the whole topic. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/** Settle promises (acks, extends) not yet resolved: one per settle batch, shared by its messages; the first failure wins. */
class PendingSettles {
  private readonly pending = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  track(ack: Promise<void>): void {
    if (this.pending.has(ack)) return;
    this.pending.add(ack);
    ack.then(() => this.pending.delete(ack), (error: unknown) => {
      this.pending.delete(ack);
      this.failure ??= { error };
    });
  }

  /** Resolves once none is pending, whatever their outcomes. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Resolves once none is pending; rejects with the first failure, if any. */
  async settled(): Promise<void> {
    await this.idle();
    if (this.failure) throw this.failure.error;
  }
}
