/**
 * What Broker.redrive and the client's admin.redrive both check before anything moves or is sent,
 * so a bad option is the same INVALID_REQUEST naming the field in process and over the wire: over
 * the wire some never arrive as given (JSON drops a symbol, so `maxRecords: Symbol()` would have
 * redriven everything). Unknown keys are INVALID_CONFIG (checkOptionKeys).
 */
import { checkOffsetList } from './fetch-request.js';
import { checkOptionKeys } from './option-keys.js';
import { invalidField } from './request-fields.js';
import { REDRIVE_OPTION_KEYS } from './wire/messages.js';

export function checkRedriveArgs(options: { maxRecords?: unknown; endOffsets?: unknown }): void {
  checkOptionKeys(options, REDRIVE_OPTION_KEYS);
  const { maxRecords, endOffsets } = options;
  if (maxRecords !== undefined && !(Number.isSafeInteger(maxRecords) && (maxRecords as number) >= 1)) {
    throw invalidField('maxRecords', 'a positive integer', maxRecords);
  }
  if (endOffsets !== undefined) checkOffsetList('endOffsets', endOffsets);
}
