/**
 * The wire frame: every WebSocket binary message between a Brook client and server is exactly one
 * frame. docs/protocol.md is the full contract; this file is its codec.
 *
 *   Frame =>                       byte offset
 *     kind        uint8            0   FrameKind below
 *     requestId   uint32           1   matches a RESPONSE/ERROR to its REQUEST; the subscription
 *                                      id in DELIVER, END and TAKEN_BACK; 0 for connection-level frames
 *     jsonLength  uint32           5   bytes of json that follow
 *     json        jsonLength bytes 9   UTF-8 JSON object (stable key order), the control payload
 *     data        the rest             binary payload: RecordBatch v2 bytes (produce, fetch) or
 *                                      the DELIVER table and records; empty for most frames
 *
 * Integers are big-endian. The WebSocket message boundary is the frame boundary, so a broken
 * frame never desynchronises the stream; the receiver still treats it as a protocol violation.
 */
import { BrookError } from '../errors.js';
import { JSON_DEPTH_MAX } from './stable-json.js';

export const FrameKind = {
  /** client → server, first frame: { version, client, token? } */
  HELLO: 1,
  /** server → client, answer to HELLO: { version, server, sessionId, limits } */
  WELCOME: 2,
  /** client → server: { op, ...arguments } (+ data for produce) */
  REQUEST: 3,
  /** server → client: the result of REQUEST requestId (+ data for fetch) */
  RESPONSE: 4,
  /** server → client: { code, message, retriable, details }; requestId 0 = about the connection */
  ERROR: 5,
  /** server → client: records for subscription requestId; json { first, count }, data the table */
  DELIVER: 6,
  /** server → client: subscription requestId ended by the broker: { code, message } */
  END: 7,
  /**
   * server → client, only to a client whose HELLO asked for the `takenBack` feature (an older one
   * would refuse the unknown kind): sent deliveries of subscription requestId that the broker
   * took back unsettled: { ids: [[firstId, lastId], ...] } (taken-back.ts)
   */
  TAKEN_BACK: 8,
} as const;

export type FrameKindName = keyof typeof FrameKind;
export type FrameKindValue = (typeof FrameKind)[FrameKindName];

export const FRAME_HEADER_BYTES = 9;
const UINT32_MAX = 0xffffffff;

const kindValues = new Set<number>(Object.values(FrameKind));
const NO_DATA = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface Frame {
  kind: FrameKindValue;
  requestId: number;
  /** The parsed control payload: always a plain object. */
  json: Record<string, unknown>;
  /** A view into the received bytes (not a copy). */
  data: Uint8Array;
}

/**
 * Encodes one frame. `json` must already be a JSON object text (the caller stringifies). `data`
 * may come in parts, which are copied one after the other: no concatenated copy in between.
 */
export function encodeFrame(kind: FrameKindValue, requestId: number, json: string, data?: Uint8Array | readonly Uint8Array[]): Uint8Array {
  if (data === undefined || data instanceof Uint8Array) {
    const { frame, dataStart } = allocateFrame(kind, requestId, json, data?.length ?? 0);
    if (data) frame.set(data, dataStart);
    return frame;
  }
  let dataLength = 0;
  for (const part of data) dataLength += part.length;
  const { frame, dataStart } = allocateFrame(kind, requestId, json, dataLength);
  let at = dataStart;
  for (const part of data) {
    frame.set(part, at);
    at += part.length;
  }
  return frame;
}

/**
 * A frame with its header and JSON written, and `dataLength` bytes left for the data. The JSON of
 * a frame is nearly always ASCII, whose UTF-8 is its char codes: written straight into the frame,
 * without TextEncoder's array of its own to copy from (and the header without a DataView, whose
 * `buffer` read moves a small array's bytes off the heap): a frame goes for every produce,
 * delivery and settle, and at a few records a frame that was a good part of their garbage.
 */
export function allocateFrame(kind: FrameKindValue, requestId: number, json: string, dataLength: number): { frame: Uint8Array; dataStart: number } {
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > UINT32_MAX) {
    throw new BrookError('INVALID_REQUEST', `requestId ${requestId} is not a uint32`, { requestId });
  }
  const ascii = isAscii(json);
  const jsonBytes = ascii ? undefined : encoder.encode(json);
  const jsonLength = jsonBytes?.length ?? json.length;
  const frame = new Uint8Array(FRAME_HEADER_BYTES + jsonLength + dataLength);
  frame[0] = kind;
  setUint32(frame, 1, requestId);
  setUint32(frame, 5, jsonLength);
  if (jsonBytes) frame.set(jsonBytes, FRAME_HEADER_BYTES);
  else for (let i = 0; i < jsonLength; i++) frame[FRAME_HEADER_BYTES + i] = json.charCodeAt(i);
  return { frame, dataStart: FRAME_HEADER_BYTES + jsonLength };
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Big-endian, as DataView.setUint32 writes it. */
function setUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

export type FrameFailure = 'truncated' | 'unknown-kind' | 'bad-json-length' | 'bad-utf8' | 'bad-json' | 'not-an-object' | 'too-deep';

function frameError(reason: FrameFailure, message: string, requestId?: number): BrookError {
  return new BrookError('INVALID_REQUEST', message, requestId === undefined ? { reason } : { reason, requestId });
}

/**
 * Decodes one frame. Throws BrookError INVALID_REQUEST with details { reason: FrameFailure,
 * requestId? } — requestId is present once the header was readable, so a server can answer the
 * request that carried it. Never throws anything else.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < FRAME_HEADER_BYTES) throw frameError('truncated', `frame of ${bytes.length} bytes is shorter than its ${FRAME_HEADER_BYTES}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(0);
  const requestId = view.getUint32(1);
  const jsonLength = view.getUint32(5);
  if (!kindValues.has(kind)) throw frameError('unknown-kind', `unknown frame kind ${kind}`, requestId);
  if (jsonLength > bytes.length - FRAME_HEADER_BYTES) {
    throw frameError('bad-json-length', `jsonLength ${jsonLength} runs past the frame's ${bytes.length} bytes`, requestId);
  }
  const jsonEnd = FRAME_HEADER_BYTES + jsonLength;
  let text: string;
  try {
    text = decoder.decode(bytes.subarray(FRAME_HEADER_BYTES, jsonEnd));
  } catch {
    throw frameError('bad-utf8', 'control payload is not valid UTF-8', requestId);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw frameError('bad-json', 'control payload is not valid JSON', requestId);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw frameError('not-an-object', 'control payload must be a JSON object', requestId);
  }
  if (nestsTooDeep(json)) {
    throw frameError('too-deep', `control payload nests deeper than ${JSON_DEPTH_MAX} levels`, requestId);
  }
  // Most frames carry no data: one shared empty view spares each a view of its own.
  const data = jsonEnd === bytes.length ? NO_DATA : bytes.subarray(jsonEnd);
  return { kind: kind as FrameKindValue, requestId, json: json as Record<string, unknown>, data };
}

/**
 * Whether parsed JSON holds a container at level JSON_DEPTH_MAX or below (`value` is at level
 * `depth`, the top object at 0), which stableJson never writes. JSON.parse takes any depth, as
 * deep as a frame's bytes allow (a million levels in 2 MB), and code reading such a value
 * recursively (JSON.stringify in an error message) overflows the stack: so it is refused here.
 * The walk recurses, but never past the limit; and it makes no array per level nor of each
 * object's values, as it runs on every frame received.
 */
function nestsTooDeep(value: object, depth = 0): boolean {
  if (depth >= JSON_DEPTH_MAX) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (typeof child === 'object' && child !== null && nestsTooDeep(child, depth + 1)) return true;
    }
    return false;
  }
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null && nestsTooDeep(child, depth + 1)) return true;
  }
  return false;
}
