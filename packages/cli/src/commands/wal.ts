/**
 * `brook wal forget-producer-id WAL_DIR`: forgetWalProducerId from the shell, for a WAL
 * producer whose every open stops with PRODUCER_FENCED (its id was taken over) or
 * CORRUPT_METADATA (its producer.json is damaged). Run it with the producer closed: it takes
 * the WAL's lock as an open does, and refuses (LOCKED, exit 1) while one has the directory open.
 */
import { forgetWalProducerId, type ForgottenProducerId } from '@brook/client';
import { defineCommand, defineCommandGroup } from '../cli-args.js';
import { EXIT } from '../exit.js';
import { toJson } from '../format.js';

const AT_LEAST_ONCE = `The next open of the directory takes a new producer id and sends what the WAL holds from
sequence 0 under it. The broker cannot recognise a batch under the new id as one it had under
the old, so a batch acknowledged just before the producer stopped and not yet committed is
appended again (at-least-once, for that batch only).`;

const FORGET_USAGE = `usage: brook wal forget-producer-id WAL_DIR [--json]

Removes producer.json from a producer's WAL directory (durably: unlink, directory fsync), for a
producer stopped by PRODUCER_FENCED at every open (another instance took its id over: decide
first which one goes on) or by CORRUPT_METADATA on producer.json. Close the producer first.

${AT_LEAST_ONCE}

  WAL_DIR   the directory given as wal.dir to client.producer({ wal })
  --json    machine-readable output
exit codes: 0 forgotten (or there was no producer id), 1 failure: LOCKED (a producer has it open),
INVALID_REQUEST (not a WAL directory), IO_ERROR; 2 bad usage`;

const forget = defineCommand(
  {
    name: 'wal forget-producer-id', summary: "remove a WAL producer's producer id (after PRODUCER_FENCED)", usage: FORGET_USAGE,
    required: ['WAL_DIR'], options: { json: { type: 'boolean' } },
  },
  async (args) => {
    const dir = args.required('WAL_DIR');
    const forgotten = await forgetWalProducerId(dir);
    process.stdout.write(args.flag('json') ? `${toJson(asJson(forgotten))}\n` : `${describe(dir, forgotten)}\n`);
    return EXIT.ok;
  },
);

export const walCommand = defineCommandGroup('wal', "a producer's write-ahead log directory", [forget]);

function describe(dir: string, forgotten: ForgottenProducerId): string {
  switch (forgotten.found) {
    case 'none':
      return `${dir} holds no producer id (no producer.json): nothing to forget${forgotten.removed.length > 0 ? `; removed ${forgotten.removed.join(', ')}` : ''}`;
    case 'corrupt':
      return `removed ${forgotten.removed.join(', ')} from ${dir}, which could not be read (${forgotten.problem.message}).\n${AT_LEAST_ONCE}`;
    case 'state': {
      const id = forgotten.producerId === undefined ? 'no producer id yet' : `producer id ${forgotten.producerId} (epoch ${forgotten.producerEpoch})`;
      return `forgot ${id} of ${dir}.\n${AT_LEAST_ONCE}`;
    }
  }
}

/** The result with its error as code and message: an Error's message does not serialise. */
function asJson(forgotten: ForgottenProducerId): unknown {
  return forgotten.found === 'corrupt' ? { ...forgotten, problem: { code: forgotten.problem.code, message: forgotten.problem.description } } : forgotten;
}
