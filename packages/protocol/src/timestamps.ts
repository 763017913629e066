/**
 * The one rule for a timestamp a caller gives (a record's timestamp on produce, offsetForTimestamp's
 * `timestampMs`, a start position's `{ timestamp }` in `from` or resetGroup's `to`): an integer
 * count of milliseconds since the epoch in 0..Number.MAX_SAFE_INTEGER. A RecordBatch holds int64
 * timestamps, but the producers refuse a negative one (recordTimestamp), so a negative argument could
 * only ever mean "from the start", which `'earliest'` says; past MAX_SAFE_INTEGER a number is no
 * exact integer. Each call refuses a bad one with its usual error (INVALID_REQUEST naming the
 * field or record, INVALID_CONFIG naming the option), from the same test.
 */

/** An integer in 0..Number.MAX_SAFE_INTEGER (isSafeInteger bounds it above). */
export function isTimestampMs(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
