/**
 * One delivered record as consume and dlq list print it: a text line for people, a JSON object
 * for scripts (offsets as decimal strings, text as text, JSON values parsed, binary as base64).
 */
import type { LogRecord, Message } from '@brook/client';
import { recordReading } from '@brook/protocol';
import { bytesJson, fullText, isoTime, preview } from './format.js';

const CONTENT_TYPE = 'content-type';

export function recordLine(message: Message): string {
  return `partition=${message.partition} offset=${message.offset} key=${preview(message.key)} deliveryCount=${message.deliveryCount} value=${fullText(message.value)}`;
}

/** The record as consume read it: what the log holds, and this delivery's deliveryCount. */
export function recordJson(message: Message): Record<string, unknown> {
  return { ...storedRecordJson(message), deliveryCount: message.deliveryCount };
}

/** A record as the log holds it, and where: a delivered Message, or a fetched LogRecord placed. */
export interface StoredRecord extends LogRecord {
  readonly topic: string;
  readonly partition: number;
}

/**
 * What the log holds of the record, no delivery's: dlq list fetches a dead-letter topic's
 * records, which have no deliveryCount (the record's attempts in its origin group are elsewhere).
 */
export function storedRecordJson(message: StoredRecord): Record<string, unknown> {
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: isoTime(message.timestamp),
    key: bytesJson(message.key),
    value: valueJson(message),
    headers: Object.fromEntries(message.headers.map((header) => [header.key, bytesJson(header.value)])),
  };
}

/** A value sent as JSON comes back as the JSON value, so `--json` output can be piped into jq as it is. */
function valueJson(message: StoredRecord): unknown {
  const contentType = recordReading.header(message.headers, CONTENT_TYPE);
  if (contentType && Buffer.from(contentType).toString() === 'application/json') {
    try {
      return recordReading.json(message.value);
    } catch {
      // Labelled JSON but not JSON: shown as what it is rather than failing the whole consume.
    }
  }
  return bytesJson(message.value);
}
