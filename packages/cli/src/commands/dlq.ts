/**
 * `brook dlq list|redrive`: dead-letter topics, what they hold, and moving records back.
 *
 * A dead-letter topic is an ordinary topic (default `<topic>.dlq`) named in a group's settings.
 * What has been redriven already is acked in the broker's internal redrive group on it: below its
 * ackFloor, and above it the records moved after one redrive skipped. How many wait is that
 * group's lag (every record, before any redrive). Which records above the floor were moved is not
 * described, only how many: redriveState tells what those counts settle.
 */
import { DEAD_LETTER_HEADERS, deadLetterRecord, REDRIVE_GROUP } from '@brook/broker';
import { BrookError, isBrookError, type Client, type GroupPartitionDescription, type LogRecord } from '@brook/client';
import { defineCommand, defineCommandGroup } from '../cli-args.js';
import { EXIT } from '../exit.js';
import { fullText, jsonLine, plural, preview, table, toJson } from '../format.js';
import { describeListed } from '../listed-groups.js';
import { storedRecordJson, type StoredRecord } from '../records.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, withClient } from '../remote.js';

/** Per partition, the redrive group's ackFloor and lag; none before any redrive. */
async function redriveProgress(client: Client, dlqTopic: string): Promise<GroupPartitionDescription[]> {
  try {
    return (await client.admin.describeGroup(dlqTopic, REDRIVE_GROUP)).partitions;
  } catch (error) {
    if (isBrookError(error, 'UNKNOWN_GROUP')) return [];
    throw error;
  }
}

/** Whether a record was redriven: 'unknown' where the redrive group's counts do not settle it. */
export type RedriveState = 'redriven' | 'waiting' | 'unknown';

/**
 * A record's state from the redrive group's description: below the ackFloor redriven, at it
 * waiting (the floor is the first record not acked), past the description's endOffset waiting
 * (dead-lettered since). Between, endOffset - ackFloor - lag records were moved after a skipped
 * one: none of them moved means each waits, all of them moved means each went; else unknown.
 */
export function redriveState(progress: readonly GroupPartitionDescription[], record: { partition: number; offset: bigint }): RedriveState {
  const p = progress[record.partition];
  if (p === undefined || record.offset >= p.endOffset) return 'waiting';
  if (record.offset < p.ackFloor) return 'redriven';
  if (record.offset === p.ackFloor) return 'waiting';
  const movedAbove = p.endOffset - p.ackFloor - p.lag;
  if (movedAbove === 0n) return 'waiting';
  return movedAbove === p.endOffset - p.ackFloor - 1n ? 'redriven' : 'unknown';
}

/**
 * Dead-letter topics that exist, with the groups sending to each: those named by some group or
 * with a record redriven before, and those no group names any more whose oldest record is a dead
 * letter (its origin topic and groups deleted before any redrive could move a record, so no
 * redrive group either): records waiting there must not drop out of the listing.
 */
async function deadLetterTopics(client: Client): Promise<Map<string, string[]>> {
  const topics = await client.admin.listTopics();
  const existing = new Set(topics);
  const senders = new Map<string, string[]>();
  for (const { topic, group, description } of await describeListed(client.admin, await client.admin.listGroups())) {
    // A dead-letter topic that has had a record redriven stays listed after its origin topics and groups are gone.
    if (group === REDRIVE_GROUP) {
      if (!senders.has(topic)) senders.set(topic, []);
      continue;
    }
    const dlq = description.config.deadLetterTopic;
    if (existing.has(dlq)) senders.set(dlq, [...(senders.get(dlq) ?? []), `${topic}/${group}`]);
  }
  const orphans = await Promise.all(topics.filter((topic) => !senders.has(topic)).map(async (topic) => ((await holdsDeadLetters(client, topic)) ? topic : undefined)));
  for (const topic of orphans) if (topic !== undefined) senders.set(topic, []);
  return senders;
}

/** What a look for dead letters in a topic no group names takes as "none there" (holdsDeadLetters). */
const UNLISTED_ON: ReadonlySet<string> = new Set(['UNKNOWN_TOPIC', 'OFFSET_OUT_OF_RANGE', 'IO_ERROR', 'CORRUPT_BATCH']);

/** Whether the oldest record of `topic`'s first partition holding any is a dead letter; false for a topic deleted meanwhile. */
async function holdsDeadLetters(client: Client, topic: string): Promise<boolean> {
  try {
    const { partitions } = await client.admin.describeTopic(topic);
    const first = partitions.find((p) => p.endOffset > p.startOffset);
    if (!first) return false;
    let fetched = await fetchFrom(client, topic, first.partition, first.startOffset, 1);
    // Retention took it meanwhile: the oldest record kept is the one to look at.
    while (typeof fetched === 'bigint') fetched = await fetchFrom(client, topic, first.partition, fetched, 1);
    return fetched.length > 0 && deadLetterRecord.parse(fetched[0]!) !== undefined;
  } catch (error) {
    // Deleted meanwhile, or made again shorter: no records of a dead-letter topic to list. One
    // that cannot be read (a failed disk, a bad batch) is no reason to fail the whole listing.
    if (isBrookError(error) && UNLISTED_ON.has(error.code)) return false;
    throw error;
  }
}

async function waitingCount(client: Client, dlqTopic: string): Promise<{ records: bigint; waiting: bigint; endOffsets: bigint[] }> {
  const [{ partitions }, progress] = await Promise.all([client.admin.describeTopic(dlqTopic), redriveProgress(client, dlqTopic)]);
  let records = 0n;
  let waiting = 0n;
  for (const p of partitions) {
    records += p.endOffset - p.startOffset;
    // Not endOffset minus the floor: records moved above a skipped one are acked there, not waiting.
    waiting += progress[p.partition]?.lag ?? p.endOffset - p.startOffset;
  }
  return { records, waiting, endOffsets: partitions.map((p) => p.endOffset) };
}

/** Records one fetch of dlq list asks for. */
const LIST_FETCH_RECORDS = 1000;

/**
 * The records the topic holds now that `wanted` keeps, at most `max`, partition by partition,
 * fetched by offset up to the endOffsets seen when it began (records arriving meanwhile are left
 * for the next look). Not a tail reader waiting for each partition's last record then: retention
 * deleting it meanwhile (a whole log aged out) would leave that wait without end. Records it
 * deletes before they are read are passed over, from the oldest kept on.
 */
export async function readNow(client: Client, topic: string, wanted: (record: StoredRecord) => boolean, max = Infinity): Promise<StoredRecord[]> {
  const { partitions } = await client.admin.describeTopic(topic);
  const records: StoredRecord[] = [];
  for (const { partition, startOffset, endOffset } of partitions) {
    let next = startOffset;
    while (next < endOffset && records.length < max) {
      const fetched = await fetchFrom(client, topic, partition, next);
      if (typeof fetched === 'bigint') {
        next = fetched;
        continue;
      }
      if (fetched.length === 0) break;
      for (const record of fetched) {
        if (record.offset >= endOffset || records.length >= max) break;
        const placed = { ...record, topic, partition };
        if (wanted(placed)) records.push(placed);
      }
      next = fetched.at(-1)!.offset + 1n;
    }
  }
  return records;
}

/** A fetch from `offset`, or where to go on if retention deleted it meanwhile: the oldest offset kept. */
async function fetchFrom(client: Client, topic: string, partition: number, offset: bigint, maxRecords = LIST_FETCH_RECORDS): Promise<LogRecord[] | bigint> {
  try {
    return await client.fetch({ topic, partition, offset, maxRecords });
  } catch (error) {
    if (!isBrookError(error, 'OFFSET_OUT_OF_RANGE')) throw error;
    const { startOffset } = (await client.admin.describeTopic(topic)).partitions[partition]!;
    // Out of range for another reason (the topic made again, shorter): no place to go on from.
    if (startOffset <= offset) throw error;
    return startOffset;
  }
}

/** A dead-letter record's trailer: header name to text. */
type Trailer = ReadonlyMap<string, string>;

/**
 * The trailer the broker's dead-lettering appended, or undefined if `message` is not a dead-letter
 * record. Decided by the parser redrive uses, so list shows as dead letters exactly the records
 * redrive moves, with the origin redrive sends them to: the trailing headers, not a record's own
 * headers of the same names (a record dead-lettered twice carries two sets).
 */
function deadLetterTrailer(message: StoredRecord): Trailer | undefined {
  if (!deadLetterRecord.parse(message)) return undefined;
  // parse checked that the headers end with exactly these, in this order.
  const trailer = message.headers.slice(-Object.keys(DEAD_LETTER_HEADERS).length);
  return new Map(trailer.map((h) => [h.key, Buffer.from(h.value ?? []).toString()]));
}

const NOT_DEAD_LETTER = "not a dead-letter record (its headers do not end with the broker's brook.origin.* ones)";

/**
 * What a dead-letter record's trailer says: where it came from, its group, its deliveryCount in
 * that group when it was dead-lettered (brook.delivery-count) and the reason.
 */
function deadLetterOf(trailer: Trailer) {
  const field = (name: string): string => trailer.get(name)!;
  return {
    origin: { topic: field(DEAD_LETTER_HEADERS.topic), partition: Number(field(DEAD_LETTER_HEADERS.partition)), offset: field(DEAD_LETTER_HEADERS.offset) },
    group: field(DEAD_LETTER_HEADERS.group),
    deliveryCount: Number(field(DEAD_LETTER_HEADERS.deliveryCount)),
    reason: field(DEAD_LETTER_HEADERS.reason),
  };
}

const REDRIVEN_TEXT: Readonly<Record<RedriveState, string>> = { redriven: 'yes', waiting: 'no', unknown: 'unknown' };

/** One record's line; with `state` (--all), whether it was redriven as redriven=yes|no|unknown. */
function deadLetterLine(message: StoredRecord, trailer: Trailer | undefined, state: RedriveState | undefined): string {
  const where = `partition=${message.partition} offset=${message.offset}${state === undefined ? '' : ` redriven=${REDRIVEN_TEXT[state]}`}`;
  if (!trailer) return `${where} ${NOT_DEAD_LETTER} key=${preview(message.key)} value=${fullText(message.value)}`;
  const { origin, group, deliveryCount, reason } = deadLetterOf(trailer);
  return `${where} origin=${origin.topic}/${origin.partition}@${origin.offset} group=${group} ` +
    `deliveryCount=${deliveryCount} reason=${JSON.stringify(reason)} key=${preview(message.key)} value=${fullText(message.value)}`;
}

/**
 * `--json`: the record as stored with what its text line says of it, as `deadLetter`, or `null`
 * for a record that is no dead letter (redrive skips it): its raw headers alone would show a
 * look-alike's own brook.origin.* as an origin. No top-level deliveryCount: the list fetches
 * the copy, no delivery of it; what the record went through is deadLetter.deliveryCount.
 */
function deadLetterJson(message: StoredRecord, trailer: Trailer | undefined, state: RedriveState | undefined): Record<string, unknown> {
  const redriven = state === undefined ? {} : { redriven: state === 'unknown' ? null : state === 'redriven' };
  return { ...storedRecordJson(message), deadLetter: trailer ? deadLetterOf(trailer) : null, ...redriven };
}

function listedSummary(dlqTopic: string, trailers: readonly (Trailer | undefined)[], states: readonly RedriveState[], all: boolean): string {
  const others = trailers.filter((trailer) => !trailer).length;
  if (others > 0 && others === trailers.length) {
    return `${dlqTopic} is not a dead-letter topic: ${plural(others, 'record')} listed, none ending with the broker's dead-letter headers (brook.origin.*)`;
  }
  const count = (state: RedriveState) => states.filter((s) => s === state).length;
  const listed = [`${plural(trailers.length, 'record')}${all ? '' : ' waiting'} in ${dlqTopic}`];
  if (all && count('redriven') > 0) listed.push(`${count('redriven')} of them redriven already`);
  if (count('unknown') > 0) listed.push(`${count('unknown')} of them maybe redriven already (moved after a record a redrive skipped; the server counts them but does not say which)`);
  if (others > 0) listed.push(`${others} of them not dead-letter records (headers not ending with brook.origin.*; redrive skips them)`);
  return listed.join(', ');
}

const list = defineCommand(
  {
    name: 'dlq list', summary: 'dead-letter topics, or the records waiting in one', optional: ['DLQ_TOPIC'], names: ['DLQ_TOPIC'],
    options: { ...REMOTE_OPTIONS, all: { type: 'boolean' }, max: { type: 'string' } },
    usage: `usage: brook dlq list [DLQ_TOPIC [--all] [--max N]]

Without DLQ_TOPIC: every dead-letter topic a group sends to or that was redriven from, and any
other topic whose oldest record is a dead letter (its origin topic and groups deleted), with its
records and how many wait to be redriven. With DLQ_TOPIC: each waiting record with where it
came from (origin topic, partition, offset), its group, its deliveryCount in that group when it
was dead-lettered, and the reason, read from the dead-letter headers the broker appended last
(brook.origin.*, brook.delivery-count, ...), as redrive reads them; a record whose headers do
not end with them (e.g. in a topic that is no dead-letter topic) is shown as such, and redrive
skips it. Where the redrive group's counts cannot tell whether a record was moved (it comes
after one a redrive skipped), it is listed, and the summary says how many may be redriven already.

  --all          also records that were redriven already, each marked redriven=yes|no|unknown
                 (--json: "redriven": true, false or null); unknown: after a record a redrive
                 skipped, where the server counts the records moved but does not name them
  --max N        list at most N records (of a large topic: the first N, partition by partition)
${REMOTE_USAGE} (one JSON object per record and line; its deadLetter
                 holds origin, group, deliveryCount and reason, or null for no dead-letter record)`,
  },
  (args, env) => {
    const dlqTopic = args.arg('DLQ_TOPIC');
    // Checked before connecting, as every option is; without DLQ_TOPIC no record is listed for them to bound.
    if (dlqTopic === undefined && (args.flag('all') || args.string('max') !== undefined)) throw args.usageError('--all and --max need DLQ_TOPIC');
    const max = args.integer('max', { min: 1 });
    const json = args.flag('json');
    return withClient(args, env, (client) => (dlqTopic === undefined ? listTopics(client, json) : listRecords(client, dlqTopic, { all: args.flag('all'), max, json })));
  },
);

/** `dlq list`: the dead-letter topics with their record and waiting counts. */
async function listTopics(client: Client, json: boolean): Promise<number> {
  const rows = await Promise.all([...(await deadLetterTopics(client))].map(async ([topic, from]) => {
    const { records, waiting } = await waitingCount(client, topic);
    return { topic, from, records, waiting };
  }));
  if (json) process.stdout.write(`${toJson(rows)}\n`);
  else if (rows.length === 0) process.stdout.write('no dead-letter topics\n');
  else process.stdout.write(table([['DLQ TOPIC', 'RECORDS', 'WAITING', 'FROM GROUPS'], ...rows.map((r) => [r.topic, String(r.records), String(r.waiting), r.from.join(', ')])]));
  return EXIT.ok;
}

/** `dlq list DLQ_TOPIC`: its waiting records (with `all`, every record), at most `max`. */
async function listRecords(client: Client, dlqTopic: string, { all, max, json }: { all: boolean; max: number | undefined; json: boolean }): Promise<number> {
  const progress = await redriveProgress(client, dlqTopic);
  const shown = await readNow(client, dlqTopic, (m) => all || redriveState(progress, m) !== 'redriven', max);
  const trailers = shown.map(deadLetterTrailer);
  const states = shown.map((m) => redriveState(progress, m));
  // Marked only with --all: without it every record listed waits, bar those the counts cannot settle (the summary says how many).
  const marked = (i: number) => (all ? states[i] : undefined);
  if (json) {
    shown.forEach((message, i) => process.stdout.write(jsonLine(deadLetterJson(message, trailers[i], marked(i)))));
    return EXIT.ok;
  }
  shown.forEach((message, i) => process.stdout.write(`${deadLetterLine(message, trailers[i], marked(i))}\n`));
  const stopped = shown.length === max ? ` (stopped at --max ${max})` : '';
  process.stderr.write(`brook: ${listedSummary(dlqTopic, trailers, states, all)}${stopped}\n`);
  return EXIT.ok;
}

/**
 * Records one redrive request moves at most. A redrive is one request, answered once it is done:
 * a dead-letter topic of millions would outlast the client's requestTimeoutMs (30 s; ~100k records
 * a second go back, docs/benchmarks-history.md, "Redrive moves runs"), so the command asks for this many at a time.
 */
export const REDRIVE_REQUEST_RECORDS_MAX = 100_000;

/**
 * Redrives up to `max` records in requests of REDRIVE_REQUEST_RECORDS_MAX, and only what waits
 * when it begins: records dead-lettered meanwhile (a consumer giving up on what comes back) could
 * otherwise keep it going for ever, where one request moves only what the topic held when made.
 * Each request stops at the endOffsets seen then: a count alone would let a later request move
 * records dead-lettered again into one partition instead of those waiting in the next.
 * `skipped` is the last request's: every request counts again the skipped records it passes.
 */
async function redriveInRequests(client: Client, dlqTopic: string, max: number | undefined): Promise<{ moved: number; skipped: number }> {
  const { waiting, endOffsets } = await waitingCount(client, dlqTopic);
  const bound = Math.min(max ?? Number.MAX_SAFE_INTEGER, Number(waiting));
  let moved = 0;
  let skipped = 0;
  // At least one request, so that a topic with nothing to move still reports what it skips.
  do {
    const ask = Math.max(1, Math.min(REDRIVE_REQUEST_RECORDS_MAX, bound - moved));
    const result = await client.admin.redrive(dlqTopic, { maxRecords: ask, endOffsets }).catch((error: unknown) => {
      throw moved > 0 && isBrookError(error) ? movedBefore(error, moved) : error;
    });
    moved += result.moved;
    skipped = result.skipped;
    if (result.moved < ask) break;
  } while (moved < bound);
  return { moved, skipped };
}

/** A failed request's error, saying what the earlier requests of the same redrive moved. */
function movedBefore(error: BrookError, moved: number): BrookError {
  return new BrookError(error.code, `${plural(moved, 'record')} moved by earlier requests; then ${error.description}`, { ...error.details, movedBefore: moved }, { cause: error });
}

const redrive = defineCommand(
  {
    name: 'dlq redrive', summary: 'move dead-lettered records back to their origin topics', required: ['DLQ_TOPIC'], names: ['DLQ_TOPIC'],
    options: { ...REMOTE_OPTIONS, max: { type: 'string' } },
    usage: `usage: brook dlq redrive DLQ_TOPIC [--max N]

Moves the records waiting in DLQ_TOPIC back to the topic and partition each came from (origin
headers removed), oldest first, each record once; their groups deliver them again. Records
that cannot go back (their origin topic or partition no longer exists, they are larger than
it takes (MESSAGE_TOO_LARGE), or they are not dead-letter records) are skipped and counted: they stay waiting in DLQ_TOPIC for a later redrive.
A redrive refused part-way (an origin topic full: TOPIC_FULL) exits 1 saying how many records it
moved and the DLQ_TOPIC record it stopped at; running it again goes on from there. It moves at
most what waits when it starts, ${REDRIVE_REQUEST_RECORDS_MAX / 1000}k records a request.

  --max N        move at most N records
${REMOTE_USAGE}`,
  },
  (args, env) => {
    const max = args.integer('max', { min: 1 });
    return withClient(args, env, async (client) => {
      const dlqTopic = args.required('DLQ_TOPIC');
      const { moved, skipped } = await redriveInRequests(client, dlqTopic, max);
      const left = skipped === 0 ? '' : `; skipped ${plural(skipped, 'record')} that cannot go back (origin topic or partition gone, too large for it, or not a dead-letter record), still waiting in ${dlqTopic}`;
      process.stdout.write(args.flag('json') ? `${toJson({ topic: dlqTopic, moved, skipped })}\n` : `moved ${plural(moved, 'record')} from ${dlqTopic} back to their origin topics${left}\n`);
      return EXIT.ok;
    });
  },
);

export const dlqCommand = defineCommandGroup('dlq', 'list dead-letter topics and their records, redrive them', [list, redrive]);
