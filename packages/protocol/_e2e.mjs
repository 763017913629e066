var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __commonJS = (cb, mod) => function __require() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// node_modules/.pnpm/eventemitter3@5.0.4/node_modules/eventemitter3/index.js
var require_eventemitter3 = __commonJS({
  "node_modules/.pnpm/eventemitter3@5.0.4/node_modules/eventemitter3/index.js"(exports, module) {
    "use strict";
    var has = Object.prototype.hasOwnProperty;
    var prefix = "~";
    function Events() {
    }
    if (Object.create) {
      Events.prototype = /* @__PURE__ */ Object.create(null);
      if (!new Events().__proto__) prefix = false;
    }
    function EE(fn, context, once2) {
      this.fn = fn;
      this.context = context;
      this.once = once2 || false;
    }
    function addListener(emitter, event, fn, context, once2) {
      if (typeof fn !== "function") {
        throw new TypeError("The listener must be a function");
      }
      var listener = new EE(fn, context || emitter, once2), evt = prefix ? prefix + event : event;
      if (!emitter._events[evt]) emitter._events[evt] = listener, emitter._eventsCount++;
      else if (!emitter._events[evt].fn) emitter._events[evt].push(listener);
      else emitter._events[evt] = [emitter._events[evt], listener];
      return emitter;
    }
    function clearEvent(emitter, evt) {
      if (--emitter._eventsCount === 0) emitter._events = new Events();
      else delete emitter._events[evt];
    }
    function EventEmitter2() {
      this._events = new Events();
      this._eventsCount = 0;
    }
    EventEmitter2.prototype.eventNames = function eventNames() {
      var names = [], events, name;
      if (this._eventsCount === 0) return names;
      for (name in events = this._events) {
        if (has.call(events, name)) names.push(prefix ? name.slice(1) : name);
      }
      if (Object.getOwnPropertySymbols) {
        return names.concat(Object.getOwnPropertySymbols(events));
      }
      return names;
    };
    EventEmitter2.prototype.listeners = function listeners(event) {
      var evt = prefix ? prefix + event : event, handlers = this._events[evt];
      if (!handlers) return [];
      if (handlers.fn) return [handlers.fn];
      for (var i = 0, l = handlers.length, ee = new Array(l); i < l; i++) {
        ee[i] = handlers[i].fn;
      }
      return ee;
    };
    EventEmitter2.prototype.listenerCount = function listenerCount(event) {
      var evt = prefix ? prefix + event : event, listeners = this._events[evt];
      if (!listeners) return 0;
      if (listeners.fn) return 1;
      return listeners.length;
    };
    EventEmitter2.prototype.emit = function emit(event, a1, a2, a3, a4, a5) {
      var evt = prefix ? prefix + event : event;
      if (!this._events[evt]) return false;
      var listeners = this._events[evt], len = arguments.length, args, i;
      if (listeners.fn) {
        if (listeners.once) this.removeListener(event, listeners.fn, void 0, true);
        switch (len) {
          case 1:
            return listeners.fn.call(listeners.context), true;
          case 2:
            return listeners.fn.call(listeners.context, a1), true;
          case 3:
            return listeners.fn.call(listeners.context, a1, a2), true;
          case 4:
            return listeners.fn.call(listeners.context, a1, a2, a3), true;
          case 5:
            return listeners.fn.call(listeners.context, a1, a2, a3, a4), true;
          case 6:
            return listeners.fn.call(listeners.context, a1, a2, a3, a4, a5), true;
        }
        for (i = 1, args = new Array(len - 1); i < len; i++) {
          args[i - 1] = arguments[i];
        }
        listeners.fn.apply(listeners.context, args);
      } else {
        var length = listeners.length, j;
        for (i = 0; i < length; i++) {
          if (listeners[i].once) this.removeListener(event, listeners[i].fn, void 0, true);
          switch (len) {
            case 1:
              listeners[i].fn.call(listeners[i].context);
              break;
            case 2:
              listeners[i].fn.call(listeners[i].context, a1);
              break;
            case 3:
              listeners[i].fn.call(listeners[i].context, a1, a2);
              break;
            case 4:
              listeners[i].fn.call(listeners[i].context, a1, a2, a3);
              break;
            default:
              if (!args) for (j = 1, args = new Array(len - 1); j < len; j++) {
                args[j - 1] = arguments[j];
              }
              listeners[i].fn.apply(listeners[i].context, args);
          }
        }
      }
      return true;
    };
    EventEmitter2.prototype.on = function on(event, fn, context) {
      return addListener(this, event, fn, context, false);
    };
    EventEmitter2.prototype.once = function once2(event, fn, context) {
      return addListener(this, event, fn, context, true);
    };
    EventEmitter2.prototype.removeListener = function removeListener(event, fn, context, once2) {
      var evt = prefix ? prefix + event : event;
      if (!this._events[evt]) return this;
      if (!fn) {
        clearEvent(this, evt);
        return this;
      }
      var listeners = this._events[evt];
      if (listeners.fn) {
        if (listeners.fn === fn && (!once2 || listeners.once) && (!context || listeners.context === context)) {
          clearEvent(this, evt);
        }
      } else {
        for (var i = 0, events = [], length = listeners.length; i < length; i++) {
          if (listeners[i].fn !== fn || once2 && !listeners[i].once || context && listeners[i].context !== context) {
            events.push(listeners[i]);
          }
        }
        if (events.length) this._events[evt] = events.length === 1 ? events[0] : events;
        else clearEvent(this, evt);
      }
      return this;
    };
    EventEmitter2.prototype.removeAllListeners = function removeAllListeners(event) {
      var evt;
      if (event) {
        evt = prefix ? prefix + event : event;
        if (this._events[evt]) clearEvent(this, evt);
      } else {
        this._events = new Events();
        this._eventsCount = 0;
      }
      return this;
    };
    EventEmitter2.prototype.off = EventEmitter2.prototype.removeListener;
    EventEmitter2.prototype.addListener = EventEmitter2.prototype.on;
    EventEmitter2.prefixed = prefix;
    EventEmitter2.EventEmitter = EventEmitter2;
    if ("undefined" !== typeof module) {
      module.exports = EventEmitter2;
    }
  }
});

// packages/protocol/src/errors.ts
var ErrorCodes = {
  INVALID_REQUEST: { retriable: false, doc: "The request is malformed or an argument is out of range." },
  INVALID_TOPIC_NAME: { retriable: false, doc: 'Topic name is empty, too long, has characters outside [A-Za-z0-9._-], or is "." or "..".' },
  INVALID_CONFIG: { retriable: false, doc: "An option is missing, of the wrong type or outside its limits." },
  UNKNOWN_TOPIC: { retriable: false, doc: "No topic of that name exists." },
  UNKNOWN_PARTITION: { retriable: false, doc: "The topic has no partition with that number." },
  UNKNOWN_GROUP: { retriable: false, doc: "No consumer group of that name exists on the topic." },
  GROUP_NOT_EMPTY: {
    retriable: false,
    doc: "The group has members (connected, or joining): deleteGroup refuses it until they have left. Not retriable: members leave when their consumers are stopped, not by waiting."
  },
  TOPIC_EXISTS: { retriable: false, doc: "A topic of that name already exists." },
  MESSAGE_TOO_LARGE: { retriable: false, doc: "A record or batch is larger than the configured limit." },
  TOPIC_FULL: { retriable: true, doc: "The topic is at its retention limit with discard 'new'; retry once consumers free space." },
  OFFSET_OUT_OF_RANGE: { retriable: false, doc: "The requested offset is below startOffset or above endOffset." },
  CORRUPT_BATCH: { retriable: false, doc: "A record batch failed validation (length, magic or CRC-32C)." },
  CORRUPT_SEGMENT: { retriable: false, doc: "A sealed segment holds a bad batch; the log refuses to open rather than skip data." },
  CORRUPT_METADATA: { retriable: false, doc: "A metadata file (topic.json, ...) cannot be parsed or fails validation." },
  OUT_OF_ORDER_SEQUENCE: { retriable: false, doc: "A producer batch's sequence number leaves a gap after the last one seen." },
  PRODUCER_FENCED: { retriable: false, doc: "A newer epoch of this producer id exists; this instance must stop." },
  UNKNOWN_PRODUCER_ID: {
    retriable: false,
    doc: "The broker has no state for this producer id and epoch (never issued, or forgotten: evicted or removed by retention), so it cannot tell a retry from a new batch. Call initProducer again (bumpEpoch to keep the id) and restart sequences at 0."
  },
  IO_ERROR: { retriable: true, doc: "The file system failed a read, write or fsync (EIO, ENOSPC, ...)." },
  LOCKED: { retriable: false, doc: "Another process holds the single-writer lock on this directory." },
  CLOSED: { retriable: false, doc: "The broker, log or handle was closed." },
  TIMEOUT: { retriable: true, doc: "The operation did not finish within its deadline." },
  UNAUTHORIZED: { retriable: false, doc: "The handshake token is missing or wrong." },
  DISCONNECTED: {
    retriable: true,
    doc: "The connection to the server dropped (or could not be opened) before the answer came: the request may or may not have taken effect. The client resends what is safe to resend (idempotent produce) after reconnecting."
  },
  BUFFER_FULL: { retriable: true, doc: "A bounded buffer is full and its policy is to reject, not wait." },
  DELIVERY_STALE: {
    retriable: false,
    doc: "The delivery was taken back before this ack or reject reached the broker (its lease expired, its member left, a rebalance or go-back took it): it did nothing, and the record is, or will be, delivered again."
  }
};
var BrookError = class extends Error {
  name = "BrookError";
  code;
  retriable;
  /** The message without its `CODE: ` prefix: what travels in an ERROR frame, so the other side
   * can rebuild the same error without doubling the prefix. */
  description;
  /** Structured facts for logs and tests (file, position, limit, ...). Never parse `message`. */
  details;
  constructor(code, message, details = {}, options) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.description = message;
    this.retriable = ErrorCodes[code].retriable;
    this.details = Object.freeze({ ...details });
  }
};
function isBrookError(error, code) {
  return error instanceof BrookError && (code === void 0 || error.code === code);
}
function assert(condition, message, detail) {
  if (!condition) throw new Error(`assertion failed: ${message}${detail === void 0 ? "" : ` (${formatDetail(detail)})`}`);
}
function formatDetail(detail) {
  return Object.entries(detail).map(([name, value]) => `${name} ${String(value)}`).join(", ");
}

// packages/protocol/src/crc32c.ts
import { createRequire } from "node:module";
var CASTAGNOLI_REFLECTED = 2197175160;
var SLICES = 8;
var TABLE_ENTRIES = 256;
var WORD_PATH_MIN_BYTES = 64;
var LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
var TABLES = buildTables();
function buildTables() {
  const tables = new Int32Array(SLICES * TABLE_ENTRIES);
  for (let byte = 0; byte < TABLE_ENTRIES; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? crc >>> 1 ^ CASTAGNOLI_REFLECTED : crc >>> 1;
    tables[byte] = crc;
  }
  for (let byte = 0; byte < TABLE_ENTRIES; byte++) {
    let crc = tables[byte];
    for (let slice = 1; slice < SLICES; slice++) {
      crc = tables[crc & 255] ^ crc >>> 8;
      tables[slice * TABLE_ENTRIES + byte] = crc;
    }
  }
  return tables;
}
var NATIVE_MIN_BYTES = 256;
var nativeCrc32c = loadNative();
function loadNative() {
  if (process.env["BROOK_CRC32C"] === "portable") return void 0;
  try {
    const native = createRequire(import.meta.url)("@node-rs/crc32").crc32c;
    return native(new TextEncoder().encode("123456789")) === 3808858755 ? native : void 0;
  } catch {
    return void 0;
  }
}
function crc32c(bytes, start = 0, end = bytes.length) {
  checkRange(bytes, start, end);
  if (nativeCrc32c !== void 0 && end - start >= NATIVE_MIN_BYTES) return nativeCrc32c(bytes.subarray(start, end));
  return portable(bytes, start, end);
}
function checkRange(bytes, start, end) {
  assert(
    Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= bytes.length,
    "crc32c range outside the bytes",
    { start, end, bytes: bytes.length }
  );
}
function portable(bytes, start, end) {
  if (!LITTLE_ENDIAN_HOST || end - start < WORD_PATH_MIN_BYTES) return ~updateBytewise(-1, bytes, start, end) >>> 0;
  const misalignment = 4 - (bytes.byteOffset + start & 3) & 3;
  const alignedStart = start + misalignment;
  let crc = updateBytewise(-1, bytes, start, alignedStart);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + alignedStart, end - alignedStart >>> 2);
  const wordsEnd = words.length & ~1;
  crc = updateWords(crc, words, wordsEnd);
  return ~updateBytewise(crc, bytes, alignedStart + wordsEnd * 4, end) >>> 0;
}
function updateWords(crc, words, wordsEnd) {
  const T = TABLES;
  for (let w = 0; w < wordsEnd; w += 2) {
    const low = crc ^ words[w];
    const high = words[w + 1];
    crc = T[1792 + (low & 255)] ^ T[1536 + (low >>> 8 & 255)] ^ T[1280 + (low >>> 16 & 255)] ^ T[1024 + (low >>> 24)] ^ T[768 + (high & 255)] ^ T[512 + (high >>> 8 & 255)] ^ T[256 + (high >>> 16 & 255)] ^ T[high >>> 24];
  }
  return crc;
}
function updateBytewise(crc, bytes, start, end) {
  const T = TABLES;
  for (let i = start; i < end; i++) crc = T[(crc ^ bytes[i]) & 255] ^ crc >>> 8;
  return crc;
}

// packages/protocol/src/varint.ts
var VARINT_MAX_BYTES = 5;
var VARLONG_MAX_BYTES = 10;
var TWO_POW_31 = 2147483648;
function isInt32(value) {
  return value === (value | 0);
}
function zigZag32(value) {
  return (value << 1 ^ value >> 31) >>> 0;
}
function sizeOfVarint(value) {
  assert(isInt32(value), "varint value is not an int32");
  const unsigned = zigZag32(value);
  if (unsigned < 128) return 1;
  if (unsigned < 16384) return 2;
  if (unsigned < 2097152) return 3;
  if (unsigned < 268435456) return 4;
  return 5;
}
function writeVarint(bytes, position, value) {
  assert(isInt32(value), "varint value is not an int32");
  return writeUnsigned32(bytes, position, zigZag32(value));
}
function writeUnsigned32(bytes, position, unsigned) {
  let rest = unsigned;
  while (rest >= 128) {
    bytes[position++] = rest & 127 | 128;
    rest >>>= 7;
  }
  bytes[position++] = rest;
  return position;
}
function sizeOfVarlong(value) {
  if (isInt32(value)) return sizeOfVarint(value);
  assert(Number.isSafeInteger(value), "varlong value is not a safe integer");
  let rest = 2 * magnitudeOf(value);
  let size = 1;
  while (rest >= 128) {
    rest = Math.floor(rest / 128);
    size++;
  }
  return size;
}
function writeVarlong(bytes, position, value) {
  if (isInt32(value)) return writeUnsigned32(bytes, position, zigZag32(value));
  assert(Number.isSafeInteger(value), "varlong value is not a safe integer");
  const magnitude = magnitudeOf(value);
  let low = magnitude % TWO_POW_31 * 2 + (value < 0 ? 1 : 0) >>> 0;
  let high = Math.floor(magnitude / TWO_POW_31);
  while (high !== 0 || low >= 128) {
    bytes[position++] = low & 127 | 128;
    low = (low >>> 7 | high << 25) >>> 0;
    high >>>= 7;
  }
  bytes[position++] = low;
  return position;
}
function magnitudeOf(value) {
  return value < 0 ? -value - 1 : value;
}
var VarintReader = class {
  constructor(bytes, position, end) {
    this.bytes = bytes;
    this.end = end;
    assert(
      Number.isInteger(position) && Number.isInteger(end) && position >= 0 && position <= end && end <= bytes.length,
      "VarintReader range outside the bytes",
      { position, end, bytes: bytes.length }
    );
    this.position = position;
  }
  bytes;
  end;
  position;
  failure = null;
  varint() {
    const { bytes, end } = this;
    let position = this.position;
    let unsigned = 0;
    for (let shift = 0; ; shift += 7) {
      if (position >= end) return this.fail("truncated");
      const byte = bytes[position++];
      if (shift === 28 && byte > 15) return this.fail("overlong");
      unsigned |= (byte & 127) << shift;
      if (byte < 128) break;
    }
    this.position = position;
    return unsigned >>> 1 ^ -(unsigned & 1);
  }
  varlong() {
    const { bytes, end } = this;
    let position = this.position;
    let low = 0;
    let high = 0;
    for (let shift = 0; ; shift += 7) {
      if (position >= end) return this.fail("truncated");
      const byte = bytes[position++];
      if (shift < 28) {
        low |= (byte & 127) << shift;
      } else if (shift === 28) {
        low |= (byte & 15) << 28;
        high = (byte & 127) >>> 4;
      } else if (shift < 63) {
        high |= (byte & 127) << shift - 32;
      } else {
        if (byte > 1) return this.fail("overlong");
        high |= byte << 31;
      }
      if (byte < 128) break;
    }
    const magnitude = (high >>> 0) * TWO_POW_31 + (low >>> 1);
    const value = low & 1 ? -magnitude - 1 : magnitude;
    if (!Number.isSafeInteger(value)) return this.fail("out-of-range");
    this.position = position;
    return value;
  }
  fail(failure) {
    this.failure ??= failure;
    this.position = this.end;
    return 0;
  }
};

// packages/protocol/src/int64.ts
var TWO_POW_32 = 4294967296;
function setSafeInteger64(view, at, value) {
  if (value < 0) {
    view.setBigInt64(at, BigInt(value));
    return;
  }
  view.setUint32(at, Math.floor(value / TWO_POW_32));
  view.setUint32(at + 4, value >>> 0);
}
function getInt64AsNumber(view, at) {
  return view.getInt32(at) * TWO_POW_32 + view.getUint32(at + 4);
}

// packages/protocol/src/byte-slab.ts
import { markAsUntransferable } from "node:worker_threads";
var SLAB_BYTES = 256 * 1024;
var SLAB_TAKE_BYTES_MAX = 32 * 1024;
var slabs = /* @__PURE__ */ new WeakSet();
var slab = newSlab();
var slabBuffer = slab.buffer;
var used = 0;
function startSlab() {
  slab = newSlab();
  slabBuffer = slab.buffer;
  used = 0;
}
function newSlab() {
  const bytes = new Uint8Array(SLAB_BYTES);
  slabs.add(bytes.buffer);
  markAsUntransferable(bytes.buffer);
  return bytes;
}
function isSlabView(bytes) {
  return slabs.has(bytes.buffer);
}
function slabBytes(size) {
  if (size > SLAB_TAKE_BYTES_MAX) return new Uint8Array(size);
  if (used + size > SLAB_BYTES) startSlab();
  const bytes = new Uint8Array(slabBuffer, used, size);
  used += size;
  return bytes;
}
function slabCopy(bytes) {
  const copy = slabBytes(bytes.length);
  copy.set(bytes);
  return copy;
}
function slabAsciiBytes(text2, lengthMax) {
  const length = text2.length;
  if (length > lengthMax) return void 0;
  if (used + length > SLAB_BYTES) startSlab();
  const start = used;
  for (let i = 0; i < length; i++) {
    const unit = text2.charCodeAt(i);
    if (unit > 127) {
      slab.fill(0, start, start + i);
      return void 0;
    }
    slab[start + i] = unit;
  }
  used += length;
  return new Uint8Array(slabBuffer, start, length);
}

// packages/protocol/src/stored-record.ts
var LazyStoredRecord = class {
  constructor(offset, timestamp, headers, source, sourceStart, sourceEnd, keyAt, keyLength, valueAt, valueLength) {
    this.offset = offset;
    this.timestamp = timestamp;
    this.headers = headers;
    this.source = source;
    this.sourceStart = sourceStart;
    this.sourceEnd = sourceEnd;
    this.keyAt = keyAt;
    this.keyLength = keyLength;
    this.valueAt = valueAt;
    this.valueLength = valueLength;
  }
  offset;
  timestamp;
  headers;
  source;
  sourceStart;
  sourceEnd;
  keyAt;
  keyLength;
  valueAt;
  valueLength;
  get key() {
    return fieldCopy(this.source, this.keyAt, this.keyLength);
  }
  get value() {
    return fieldCopy(this.source, this.valueAt, this.valueLength);
  }
  keyLatin1() {
    return this.keyLength < 0 ? null : latin1Of(this.source, this.keyAt, this.keyLength);
  }
};
var latin1 = new TextDecoder("latin1");
var SHORT_LATIN1_BYTES_MAX = 16;
function latin1Of(source, at, length) {
  if (length > SHORT_LATIN1_BYTES_MAX) return latin1.decode(source.subarray(at, at + length));
  let text2 = "";
  for (let i = at; i < at + length; i++) text2 += String.fromCharCode(source[i]);
  return text2;
}
function fieldCopy(source, at, length) {
  if (length < 0) return null;
  const copy = slabBytes(length);
  copy.set(source.subarray(at, at + length));
  return copy;
}

// packages/protocol/src/record-decoder.ts
var LOG_APPEND_TIME_FLAG = 8;
var MIN_RECORD_BODY_BYTES = 6;
var utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
var NO_HEADERS = Object.freeze([]);
function corruptBatch(reason, position, detail, extra = {}) {
  return new BrookError("CORRUPT_BATCH", `batch at ${position}: ${detail}`, { reason, position, ...extra });
}
var RecordDecoder = class {
  constructor(bytes, batchPosition, recordsStart, recordsEnd, recordCount, sourced = false) {
    this.bytes = bytes;
    this.batchPosition = batchPosition;
    this.recordsEnd = recordsEnd;
    this.recordCount = recordCount;
    this.sourced = sourced;
    this.recordPosition = recordsStart;
    this.reader = new VarintReader(bytes, recordsStart, recordsEnd);
    this.buffer = bytes.buffer;
    this.byteOffset = bytes.byteOffset;
  }
  bytes;
  batchPosition;
  recordsEnd;
  recordCount;
  sourced;
  reader;
  buffer;
  byteOffset;
  index = 0;
  recordPosition;
  /** Set by place() for the record being decoded. */
  offset = 0n;
  timestamp = 0;
  decodeAll() {
    const records = [];
    this.walk(records);
    return records;
  }
  /** decodeAll's checks without building a record, bigint or view: for a batch that is only
   * validated before it is stored as it is (a produce batch). */
  checkAll() {
    this.walk(null);
  }
  walk(records) {
    for (; this.index < this.recordCount; this.index++) {
      this.recordPosition = this.reader.position;
      const record = this.decodeRecord(records !== null);
      if (records !== null) records.push(record);
    }
    if (this.reader.position !== this.recordsEnd) {
      this.recordPosition = this.reader.position;
      this.fail(`${this.recordsEnd - this.reader.position} bytes left after recordCount ${this.recordCount} records`);
    }
  }
  /** The record at the reader's position, or null after the same checks when not `build`. */
  decodeRecord(build) {
    const { reader } = this;
    const start = this.recordPosition;
    const length = this.length("record length", MIN_RECORD_BODY_BYTES, this.recordsEnd);
    const recordEnd = reader.position + length;
    reader.position++;
    const timestampDelta = reader.varlong();
    this.checkVarint("timestampDelta");
    const offsetDelta = reader.varint();
    this.checkVarint("offsetDelta");
    this.place(offsetDelta, timestampDelta, build);
    const { offset, timestamp } = this;
    if (!Number.isSafeInteger(timestamp)) this.fail(`timestamp ${timestamp} beyond 2^53 ms`);
    const keyLength = this.fieldLength("key", recordEnd);
    const keyAt = reader.position - Math.max(0, keyLength);
    const valueLength = this.fieldLength("value", recordEnd);
    const valueAt = reader.position - Math.max(0, valueLength);
    const headers = this.headers(recordEnd, build);
    if (reader.position !== recordEnd) this.fail(`record length says it ends at ${recordEnd}, its fields end at ${reader.position}`);
    if (!build) return null;
    if (this.sourced) return new LazyStoredRecord(offset, timestamp, headers, this.bytes, start, recordEnd, keyAt, keyLength, valueAt, valueLength);
    return { offset, timestamp, key: this.bytesView(keyAt, keyLength), value: this.bytesView(valueAt, valueLength), headers };
  }
  headers(recordEnd, build) {
    const count = this.length("headerCount", 0, recordEnd, 2);
    if (count === 0) return NO_HEADERS;
    const headers = [];
    for (let i = 0; i < count; i++) {
      const keyBytes = this.length("header key length", 0, recordEnd);
      const keyStart = this.reader.position;
      this.reader.position += keyBytes;
      const key = build ? utf8Decoder.decode(this.bytes.subarray(keyStart, keyStart + keyBytes)) : "";
      const value = this.nullableBytes("header value", recordEnd, build);
      if (build) headers.push({ key, value });
    }
    return headers;
  }
  /** A varint count of `unitBytes`-sized items, at least `min` and fitting before `end`. */
  length(field, min, end, unitBytes = 1) {
    const value = this.reader.varint();
    this.checkVarint(field);
    const max = Math.floor((end - this.reader.position) / unitBytes);
    if (value < min || value > max) this.fail(`${field} ${value} outside ${min}..${max}`);
    return value;
  }
  /** A varint length (-1 = null), checked against the bytes there are, and the reader moved past
   * that many bytes; returns the length. */
  fieldLength(field, recordEnd) {
    const length = this.reader.varint();
    if (this.reader.failure !== null) this.fail(`${field} length: ${this.reader.failure} varint`);
    if (length === -1) return -1;
    const start = this.reader.position;
    if (length < -1 || length > recordEnd - start) this.fail(`${field} length ${length} outside -1..${recordEnd - start}`);
    this.reader.position = start + length;
    return length;
  }
  /** A varint length (-1 = null) and that many bytes, as a view into the batch (null when not `build`). */
  nullableBytes(field, recordEnd, build) {
    const length = this.fieldLength(field, recordEnd);
    return build ? this.bytesView(this.reader.position - Math.max(0, length), length) : null;
  }
  /** `length` bytes from `at` as a view into the batch, or null for length -1. */
  bytesView(at, length) {
    return length < 0 ? null : new Uint8Array(this.buffer, this.byteOffset + at, length);
  }
  checkVarint(field) {
    if (this.reader.failure !== null) this.fail(`${field}: ${this.reader.failure} varint`);
  }
  fail(detail) {
    throw corruptBatch("bad-record", this.batchPosition, `record ${this.index} at ${this.recordPosition}: ${detail}`, {
      recordIndex: this.index,
      recordPosition: this.recordPosition
    });
  }
};
var BatchRecordDecoder = class extends RecordDecoder {
  constructor(bytes, batchPosition, recordsStart, batchEnd, header, sourced = false) {
    super(bytes, batchPosition, recordsStart, batchEnd, header.recordCount, sourced);
    this.header = header;
    this.logAppendTime = (header.attributes & LOG_APPEND_TIME_FLAG) !== 0;
    this.previousOffset = header.baseOffset - 1n;
  }
  header;
  logAppendTime;
  previousOffsetDelta = -1;
  /** The previous record's offset: the next one is usually it + 1 (see offsetOf). */
  previousOffset;
  place(offsetDelta, timestampDelta, build) {
    const { header } = this;
    if (offsetDelta <= this.previousOffsetDelta || offsetDelta > header.lastOffsetDelta) {
      this.fail(`offsetDelta ${offsetDelta} outside ${this.previousOffsetDelta + 1}..lastOffsetDelta ${header.lastOffsetDelta}`);
    }
    this.offset = build ? this.offsetOf(offsetDelta) : 0n;
    this.previousOffsetDelta = offsetDelta;
    this.timestamp = this.logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta;
  }
  /** baseOffset + offsetDelta, with one BigInt allocation instead of two when the offsets run on
   * without a gap (always, for batches Brook writes). Called before previousOffsetDelta moves on. */
  offsetOf(offsetDelta) {
    const offset = offsetDelta === this.previousOffsetDelta + 1 ? this.previousOffset + 1n : this.header.baseOffset + BigInt(offsetDelta);
    this.previousOffset = offset;
    return offset;
  }
};

// packages/protocol/src/record-encoder.ts
var MAX_INT32 = 2147483647;
var utf8Encoder = new TextEncoder();
function batchTooLarge(size) {
  return new BrookError("MESSAGE_TOO_LARGE", `batch of ${size} bytes exceeds the format's int32 length`, { size });
}
var bodySizesScratch = new Int32Array(1024);
function bodySizes(records) {
  if (bodySizesScratch.length < records) bodySizesScratch = new Int32Array(Math.max(records, 2 * bodySizesScratch.length));
  return bodySizesScratch;
}
function sizeOfRecordBody(record, offsetDelta, timestampDelta) {
  const size = 1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta) + sizeOfBytes(record.key) + sizeOfBytes(record.value);
  const headers = record.headers;
  return headers === void 0 || headers.length === 0 ? size + 1 : size + sizeOfHeaders(headers);
}
function sizeOfRecordMax(record) {
  const body = sizeOfRecordBody(record, 0, 0) + (VARLONG_MAX_BYTES - 1) + (VARINT_MAX_BYTES - 1);
  return sizeOfVarint(body) + body;
}
function sizeOfHeaders(headers) {
  let size = sizeOfVarint(headers.length);
  for (const header of headers) {
    const keyBytes = utf8Length(header.key);
    size += sizeOfVarint(keyBytes) + keyBytes + sizeOfBytes(header.value);
  }
  return size;
}
function sizeOfBytes(bytes) {
  if (bytes === null) return 1;
  if (typeof bytes === "string") return sizeOfVarint(bytes.length) + bytes.length;
  if (bytes.length > MAX_INT32) throw batchTooLarge(bytes.length);
  return sizeOfVarint(bytes.length) + bytes.length;
}
function writeRecord(bytes, start, record, offsetDelta, timestampDelta, bodyBytes) {
  let position = writeVarint(bytes, start, bodyBytes);
  bytes[position++] = 0;
  position = writeVarlong(bytes, position, timestampDelta);
  position = writeVarint(bytes, position, offsetDelta);
  position = writeBytes(bytes, position, record.key);
  position = writeBytes(bytes, position, record.value);
  const headers = record.headers;
  if (headers === void 0 || headers.length === 0) return writeVarint(bytes, position, 0);
  return writeHeaders(bytes, position, headers);
}
function writeHeaders(bytes, start, headers) {
  let position = writeVarint(bytes, start, headers.length);
  for (const header of headers) {
    const { key } = header;
    const keyBytes = utf8Length(key);
    position = writeVarint(bytes, position, keyBytes);
    if (keyBytes === key.length) {
      for (let i = 0; i < keyBytes; i++) bytes[position + i] = key.charCodeAt(i);
    } else {
      const { written } = utf8Encoder.encodeInto(key, bytes.subarray(position, position + keyBytes));
      assert(written === keyBytes, "header key encoded to a different UTF-8 length than measured");
    }
    position = writeBytes(bytes, position + keyBytes, header.value);
  }
  return position;
}
function writeBytes(bytes, position, field) {
  if (field === null) return writeVarint(bytes, position, -1);
  const length = field.length;
  position = writeVarint(bytes, position, length);
  if (typeof field === "string") {
    for (let i = 0; i < length; i++) bytes[position + i] = field.charCodeAt(i);
    return position + length;
  }
  if (length <= SHORT_COPY_MAX) for (let i = 0; i < length; i++) bytes[position + i] = field[i];
  else bytes.set(field, position);
  return position + length;
}
var SHORT_COPY_MAX = 16;
function utf8Length(text2) {
  let bytes = 0;
  for (let i = 0; i < text2.length; i++) {
    const unit = text2.charCodeAt(i);
    if (unit < 128) bytes += 1;
    else if (unit < 2048) bytes += 2;
    else if ((unit & 64512) === 55296 && (text2.charCodeAt(i + 1) & 64512) === 56320) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

// packages/protocol/src/record-batch.ts
var BATCH_HEADER_BYTES = 61;
var BATCH_LOG_OVERHEAD_BYTES = 12;
var DEFAULT_MAX_BATCH_BYTES = 64 * 1024 * 1024;
var BATCH_LENGTH_AT = 8;
var PARTITION_LEADER_EPOCH_AT = 12;
var MAGIC_AT = 16;
var CRC_AT = 17;
var ATTRIBUTES_AT = 21;
var LAST_OFFSET_DELTA_AT = 23;
var BASE_TIMESTAMP_AT = 27;
var MAX_TIMESTAMP_AT = 35;
var PRODUCER_ID_AT = 43;
var PRODUCER_EPOCH_AT = 51;
var BASE_SEQUENCE_AT = 53;
var RECORD_COUNT_AT = 57;
var MAGIC_V2 = 2;
var MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES;
var MAX_INT64 = (1n << 63n) - 1n;
var MIN_INT64 = -(1n << 63n);
var COMPRESSION_MASK = 7;
function viewOf(bytes) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
function encodeBatch(records, options = {}) {
  const resolved = resolveOptions(options);
  const first = records[0];
  if (first === void 0) throw new BrookError("INVALID_REQUEST", "a batch needs at least one record", { recordCount: 0 });
  const baseTimestamp = first.timestamp;
  let maxTimestamp = baseTimestamp;
  const bodyBytes = bodySizes(records.length);
  let size = BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const timestampDelta = record.timestamp - baseTimestamp;
    if (!Number.isSafeInteger(record.timestamp) || !Number.isSafeInteger(timestampDelta)) {
      const message = `record ${i}: timestamp ${record.timestamp} is not a safe integer within 2^53 ms of the first`;
      throw new BrookError("INVALID_REQUEST", message, { index: i });
    }
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    const body = sizeOfRecordBody(record, i, timestampDelta);
    if (body > MAX_INT32 - size) throw batchTooLarge(size + body);
    bodyBytes[i] = body;
    size += sizeOfVarint(body) + body;
  }
  if (size - BATCH_LOG_OVERHEAD_BYTES > MAX_INT32) throw batchTooLarge(size);
  const bytes = slabBytes(size);
  const view = viewOf(bytes);
  writeHeader(view, resolved, { size, recordCount: records.length, baseTimestamp, maxTimestamp });
  let position = BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    position = writeRecord(bytes, position, record, i, record.timestamp - baseTimestamp, bodyBytes[i]);
  }
  assert(position === size, "encodeBatch wrote other than the size it computed", { size, position });
  view.setUint32(CRC_AT, crc32c(bytes, ATTRIBUTES_AT, size));
  return bytes;
}
var DEFAULT_OPTIONS = Object.freeze({
  baseOffset: 0n,
  producerId: -1n,
  producerEpoch: -1,
  baseSequence: -1,
  partitionLeaderEpoch: 0
});
function resolveOptions(options) {
  if (options.baseOffset === void 0 && options.producerId === void 0 && options.producerEpoch === void 0 && options.baseSequence === void 0 && options.partitionLeaderEpoch === void 0) return DEFAULT_OPTIONS;
  return {
    baseOffset: requireBigInt("baseOffset", options.baseOffset ?? 0n, 0n),
    producerId: requireBigInt("producerId", options.producerId ?? -1n, MIN_INT64),
    producerEpoch: requireInteger("producerEpoch", options.producerEpoch ?? -1, -32768, 32767),
    baseSequence: requireInteger("baseSequence", options.baseSequence ?? -1, -MAX_INT32 - 1, MAX_INT32),
    partitionLeaderEpoch: requireInteger("partitionLeaderEpoch", options.partitionLeaderEpoch ?? 0, -MAX_INT32 - 1, MAX_INT32)
  };
}
function requireBigInt(name, value, min) {
  if (typeof value !== "bigint" || value < min || value > MAX_INT64) {
    const message = `${name} ${String(value)} is not a bigint in ${min}..${MAX_INT64}`;
    throw new BrookError("INVALID_REQUEST", message, { [name]: String(value) });
  }
  return value;
}
function requireInteger(name, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BrookError("INVALID_REQUEST", `${name} ${value} is not an integer in ${min}..${max}`, { [name]: value });
  }
  return value;
}
function writeHeader(view, options, batch) {
  view.setBigInt64(0, options.baseOffset);
  view.setInt32(BATCH_LENGTH_AT, batch.size - BATCH_LOG_OVERHEAD_BYTES);
  view.setInt32(PARTITION_LEADER_EPOCH_AT, options.partitionLeaderEpoch);
  view.setInt8(MAGIC_AT, MAGIC_V2);
  view.setInt16(ATTRIBUTES_AT, 0);
  view.setInt32(LAST_OFFSET_DELTA_AT, batch.recordCount - 1);
  setSafeInteger64(view, BASE_TIMESTAMP_AT, batch.baseTimestamp);
  setSafeInteger64(view, MAX_TIMESTAMP_AT, batch.maxTimestamp);
  view.setBigInt64(PRODUCER_ID_AT, options.producerId);
  view.setInt16(PRODUCER_EPOCH_AT, options.producerEpoch);
  view.setInt32(BASE_SEQUENCE_AT, options.baseSequence);
  view.setInt32(RECORD_COUNT_AT, batch.recordCount);
}
function setBaseOffset(bytes, baseOffset, position = 0) {
  requireBigInt("baseOffset", baseOffset, 0n);
  assert(
    Number.isInteger(position) && position >= 0 && position + BATCH_HEADER_BYTES <= bytes.length,
    "no batch header at that position",
    { position, bytes: bytes.length }
  );
  viewOf(bytes).setBigInt64(position, baseOffset);
}
function checkBatch(bytes, position = 0, end = bytes.length, maxBatchBytes = DEFAULT_MAX_BATCH_BYTES) {
  return inspectBatch(bytes, position, end, maxBatchBytes, true);
}
function inspectBatch(bytes, position, end, maxBatchBytes, verifyCrc) {
  assert(
    Number.isInteger(position) && Number.isInteger(end) && position >= 0 && position <= end && end <= bytes.length,
    "checkBatch range outside the bytes",
    { position, end, bytes: bytes.length }
  );
  assert(Number.isInteger(maxBatchBytes) && maxBatchBytes >= MIN_BATCH_LENGTH, "maxBatchBytes is below the minimum", { maxBatchBytes });
  const available = end - position;
  if (available < BATCH_LOG_OVERHEAD_BYTES) {
    return { ok: false, reason: "truncated", detail: `${available} bytes left, too few to read batchLength` };
  }
  const view = viewOf(bytes);
  const batchLength = view.getInt32(position + BATCH_LENGTH_AT);
  if (batchLength < MIN_BATCH_LENGTH || batchLength > maxBatchBytes) {
    return { ok: false, reason: "bad-length", detail: `batchLength ${batchLength} outside ${MIN_BATCH_LENGTH}..${maxBatchBytes}` };
  }
  if (available > MAGIC_AT && bytes[position + MAGIC_AT] !== MAGIC_V2) {
    return { ok: false, reason: "bad-magic", detail: `magic ${view.getInt8(position + MAGIC_AT)}, expected ${MAGIC_V2}` };
  }
  const size = BATCH_LOG_OVERHEAD_BYTES + batchLength;
  if (available < size) return { ok: false, reason: "truncated", detail: `${available} bytes left, batch is ${size}` };
  if (verifyCrc) {
    const stored = view.getUint32(position + CRC_AT);
    const computed = crc32c(bytes, position + ATTRIBUTES_AT, position + size);
    if (stored !== computed) {
      return { ok: false, reason: "bad-crc", detail: `stored CRC-32C ${hex(stored)}, computed ${hex(computed)}` };
    }
  }
  return { ok: true, size, header: readHeaderFields(view, position) };
}
function hex(value) {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
function readBatchHeader(bytes, position = 0) {
  assert(Number.isInteger(position) && position >= 0, "readBatchHeader position must be a non-negative integer", { position });
  const available = bytes.length - position;
  if (available < BATCH_HEADER_BYTES) {
    const message = `${Math.max(available, 0)} bytes at ${position}, a batch header is ${BATCH_HEADER_BYTES}`;
    throw new BrookError("CORRUPT_BATCH", message, { reason: "truncated", position });
  }
  return readHeaderFields(viewOf(bytes), position);
}
function readHeaderFields(view, position) {
  return {
    baseOffset: view.getBigInt64(position),
    batchLength: view.getInt32(position + BATCH_LENGTH_AT),
    partitionLeaderEpoch: view.getInt32(position + PARTITION_LEADER_EPOCH_AT),
    magic: view.getInt8(position + MAGIC_AT),
    crc: view.getUint32(position + CRC_AT),
    attributes: view.getInt16(position + ATTRIBUTES_AT),
    lastOffsetDelta: view.getInt32(position + LAST_OFFSET_DELTA_AT),
    baseTimestamp: getInt64AsNumber(view, position + BASE_TIMESTAMP_AT),
    maxTimestamp: getInt64AsNumber(view, position + MAX_TIMESTAMP_AT),
    producerId: view.getBigInt64(position + PRODUCER_ID_AT),
    producerEpoch: view.getInt16(position + PRODUCER_EPOCH_AT),
    baseSequence: view.getInt32(position + BASE_SEQUENCE_AT),
    recordCount: view.getInt32(position + RECORD_COUNT_AT)
  };
}
function decodeBatch(bytes, position = 0, options = {}) {
  const decoder2 = recordDecoder(bytes, position, options);
  return { header: decoder2.header, records: decoder2.decodeAll() };
}
function decodeStoredBatch(bytes) {
  const decoder2 = recordDecoder(bytes, 0, { crcVerified: true }, true);
  return { header: decoder2.header, records: decoder2.decodeAll() };
}
function verifyBatch(bytes, position = 0, options = {}) {
  const decoder2 = recordDecoder(bytes, position, options);
  decoder2.checkAll();
  return decoder2.header;
}
function recordDecoder(bytes, position, options, sourced = false) {
  const check = inspectBatch(bytes, position, bytes.length, options.batchBytesMax ?? DEFAULT_MAX_BATCH_BYTES, options.crcVerified !== true);
  if (!check.ok) throw corruptBatch(check.reason, position, check.detail);
  const { header, size } = check;
  const codec = header.attributes & COMPRESSION_MASK;
  if (codec !== 0) throw corruptBatch("bad-header", position, `compression codec ${codec}: Brook reads uncompressed batches only`);
  if (header.recordCount < 0) throw corruptBatch("bad-header", position, `recordCount ${header.recordCount}`);
  if (!Number.isSafeInteger(header.baseTimestamp) || !Number.isSafeInteger(header.maxTimestamp)) {
    throw corruptBatch("bad-header", position, "timestamps beyond 2^53 ms are not supported");
  }
  return new BatchRecordDecoder(bytes, position, position + BATCH_HEADER_BYTES, position + size, header, sourced);
}

// packages/protocol/src/murmur2.ts
var SEED = 2538058380;
var M = 1540483477;
var R = 24;
function byteAt(data, i) {
  return typeof data === "string" ? data.charCodeAt(i) : data[i];
}
function murmur2(data) {
  const length = data.length;
  let h = SEED ^ length;
  const wholeWordsEnd = length & ~3;
  for (let i = 0; i < wholeWordsEnd; i += 4) {
    let k = byteAt(data, i) | byteAt(data, i + 1) << 8 | byteAt(data, i + 2) << 16 | byteAt(data, i + 3) << 24;
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tailLength = length & 3;
  if (tailLength > 0) {
    if (tailLength === 3) h ^= byteAt(data, wholeWordsEnd + 2) << 16;
    if (tailLength >= 2) h ^= byteAt(data, wholeWordsEnd + 1) << 8;
    h ^= byteAt(data, wholeWordsEnd);
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}
function partitionForKey(key, partitionCount) {
  if (!Number.isInteger(partitionCount) || partitionCount <= 0) assert(false, "partitionCount must be a positive integer", { partitionCount });
  return (murmur2(key) & 2147483647) % partitionCount;
}

// packages/protocol/src/option-keys.ts
function optionKeysOf(names) {
  return Object.fromEntries(names.map((name) => [name, true]));
}
function checkOptionKeys(options, known, parent) {
  if (typeof options !== "object" || options === null) {
    const option = parent ?? "options";
    throw new BrookError("INVALID_CONFIG", `${option} must be an object, got ${options === null ? "null" : typeof options}`, { option });
  }
  const prefix = parent === void 0 ? "" : `${parent}.`;
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(known, key)) continue;
    const names = Object.keys(known);
    const suggestion = closestName(key, names);
    const hint = suggestion === void 0 ? `known: ${names.map((name) => prefix + name).join(", ")}` : `did you mean ${prefix}${suggestion}?`;
    throw new BrookError("INVALID_CONFIG", `unknown option ${prefix}${key} (${hint})`, {
      option: prefix + key,
      ...suggestion !== void 0 && { suggestion: prefix + suggestion }
    });
  }
}
function closestName(key, names) {
  let best;
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.name : void 0;
}
function editDistance(a, b) {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}

// packages/protocol/src/limits.ts
var TOPIC_NAME_LENGTH_MAX = 249;
var MAX_IN_FLIGHT_DEFAULT = 100;
var INCARNATION_LENGTH_MAX = 64;
var INCARNATION = new RegExp(`^[0-9A-Za-z._-]{1,${INCARNATION_LENGTH_MAX}}$`);
function isIncarnation(value) {
  return typeof value === "string" && INCARNATION.test(value);
}
function checkLimitValue(option, limit, value) {
  if (typeof value !== "number" || !Number.isInteger(value) || value < limit.min || value > limit.max) {
    throw new BrookError("INVALID_CONFIG", `${option} must be an integer in [${limit.min}, ${limit.max}], got ${String(value)}`, {
      option,
      value,
      min: limit.min,
      max: limit.max
    });
  }
  return value;
}
var FSYNC_INTERVAL_KEYS = { intervalMs: true };
function parseFsyncPolicy(value, fallback, checkInterval) {
  if (value === void 0) return fallback;
  if (value === "always" || value === "never") return value;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    checkOptionKeys(value, FSYNC_INTERVAL_KEYS, "fsync");
    if ("intervalMs" in value) return { intervalMs: checkInterval(value.intervalMs) };
  }
  throw new BrookError("INVALID_CONFIG", `fsync must be 'always', 'never' or { intervalMs: positive integer }, got ${JSON.stringify(value)}`, {
    option: "fsync",
    value
  });
}

// packages/protocol/src/topic-name.ts
var TOPIC_NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
function validateTopicName(name) {
  const problem = topicNameProblem(name);
  if (problem) throw new BrookError("INVALID_TOPIC_NAME", `topic name ${JSON.stringify(name)} ${problem}`, { name });
  return name;
}
function isTopicName(name) {
  return topicNameProblem(name) === void 0;
}
function topicNameProblem(name) {
  return typeof name !== "string" ? "must be a string" : name.length === 0 ? "must not be empty" : name.length > TOPIC_NAME_LENGTH_MAX ? `must be at most ${TOPIC_NAME_LENGTH_MAX} characters, got ${name.length}` : name === "." || name === ".." ? 'must not be "." or ".."' : !TOPIC_NAME_PATTERN.test(name) ? "may only contain A-Z a-z 0-9 . _ -" : void 0;
}

// packages/protocol/src/random-seeded.ts
function splitmix32(state) {
  const next = state + 2654435769 | 0;
  let z = next;
  z = Math.imul(z ^ z >>> 16, 2246822507);
  z = Math.imul(z ^ z >>> 13, 3266489909);
  return { state: next, value: (z ^ z >>> 16) >>> 0 };
}
var TWO_POW_322 = 2 ** 32;
var SeededRandom = class _SeededRandom {
  /** The seed this stream started from, as an unsigned 32-bit integer; log it to replay a run. */
  seed;
  a;
  b;
  c;
  d;
  /** `seed` must be an integer; it is reduced to 32 bits. */
  constructor(seed) {
    assert(Number.isInteger(seed), "seed must be an integer", { seed });
    this.seed = seed >>> 0;
    let mix = { state: this.seed, value: 0 };
    const words = [];
    for (let i = 0; i < 4; i++) {
      mix = splitmix32(mix.state);
      words.push(mix.value);
    }
    [this.a, this.b, this.c, this.d] = words;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }
  /** A uniform integer in [0, 2^32). */
  nextUint32() {
    const t = (this.a + this.b | 0) + this.d | 0;
    this.d = this.d + 1 | 0;
    this.a = this.b ^ this.b >>> 9;
    this.b = this.c + (this.c << 3) | 0;
    this.c = this.c << 21 | this.c >>> 11;
    this.c = this.c + t | 0;
    return t >>> 0;
  }
  /** A float in [0, 1) with 32 bits of randomness (plenty for jitter and choices). */
  next() {
    return this.nextUint32() / TWO_POW_322;
  }
  /**
   * An integer in [0, maxExclusive), without modulo bias: draws at or above the largest multiple
   * of `maxExclusive` below 2^32 are rejected (at most half of them, so usually one draw).
   */
  int(maxExclusive) {
    assert(Number.isInteger(maxExclusive) && maxExclusive >= 1 && maxExclusive <= TWO_POW_322, "int() bound must be an integer in [1, 2^32]", { maxExclusive });
    const limit = TWO_POW_322 - TWO_POW_322 % maxExclusive;
    for (; ; ) {
      const draw = this.nextUint32();
      if (draw < limit) return draw % maxExclusive;
    }
  }
  /**
   * A child stream seeded from this one's next output: deterministic given the parent's seed and
   * call order, and independent enough that, say, a fault injector and a workload generator each
   * get their own stream and adding draws to one does not shift the other.
   */
  fork() {
    return new _SeededRandom(this.nextUint32());
  }
};

// packages/protocol/src/clock/system-clock.ts
var MAX_TIMEOUT_MS = 2 ** 31 - 1;
var SystemClock = class {
  keepAlive;
  constructor({ keepAlive = false } = {}) {
    this.keepAlive = keepAlive;
  }
  now() {
    return Date.now();
  }
  /** `delayMs` must be finite and >= 0: anything else is a bug in the caller, hence an assert. */
  setTimer(delayMs, callback) {
    assert(Number.isFinite(delayMs) && delayMs >= 0, "timer delay must be finite and >= 0", { delayMs });
    const dueMs = Date.now() + delayMs;
    let handle;
    const arm = (remainingMs) => {
      handle = setTimeout(() => {
        const leftMs = dueMs - Date.now();
        if (leftMs > 0 && remainingMs > MAX_TIMEOUT_MS) arm(leftMs);
        else callback();
      }, Math.min(remainingMs, MAX_TIMEOUT_MS));
      if (!this.keepAlive) handle.unref();
    };
    arm(delayMs);
    return { cancel: () => clearTimeout(handle) };
  }
};

// packages/protocol/src/clock/timer-heap.ts
function before(a, b) {
  return a.dueMs < b.dueMs || a.dueMs === b.dueMs && a.seq < b.seq;
}
var TimerHeap = class {
  items = [];
  get size() {
    return this.items.length;
  }
  peek() {
    return this.items[0];
  }
  push(timer) {
    timer.index = this.items.length;
    this.items.push(timer);
    this.siftUp(timer.index);
  }
  pop() {
    const top = this.items[0];
    if (top !== void 0) this.remove(top);
    return top;
  }
  /** Removes `timer` if it is still in the heap; a no-op otherwise. */
  remove(timer) {
    const index = timer.index;
    if (index < 0 || this.items[index] !== timer) return;
    timer.index = -1;
    const last = this.items.pop();
    if (last === timer) return;
    this.place(last, index);
    this.siftUp(index);
    this.siftDown(last.index);
  }
  siftUp(start) {
    let index = start;
    const item = this.items[index];
    while (index > 0) {
      const parentIndex = index - 1 >> 1;
      const parent = this.items[parentIndex];
      if (!before(item, parent)) break;
      this.place(parent, index);
      index = parentIndex;
    }
    this.place(item, index);
  }
  siftDown(start) {
    let index = start;
    const item = this.items[index];
    for (; ; ) {
      const leftIndex = 2 * index + 1;
      if (leftIndex >= this.items.length) break;
      const rightIndex = leftIndex + 1;
      const right = this.items[rightIndex];
      const childIndex = right !== void 0 && before(right, this.items[leftIndex]) ? rightIndex : leftIndex;
      const child = this.items[childIndex];
      if (!before(child, item)) break;
      this.place(child, index);
      index = childIndex;
    }
    this.place(item, index);
  }
  place(item, index) {
    this.items[index] = item;
    item.index = index;
  }
};

// packages/protocol/src/fs/node-file-system.ts
import { constants, writeSync } from "node:fs";
import * as fsp from "node:fs/promises";

// packages/protocol/src/fs/io-error.ts
function ioError(op, path, errno, cause) {
  return new BrookError("IO_ERROR", `${op} ${path} failed: ${errno}`, { op, path, errno }, { cause });
}
function closedHandleError(op, path) {
  return new BrookError("CLOSED", `${op} on a closed file handle for ${path}`, { op, path });
}

// packages/protocol/src/fs/node-file-system.ts
var SYNC_WRITE_BYTES_MAX = 64 * 1024;
var READ_WRITE_FLAGS = constants.O_RDWR | constants.O_CREAT;
function toIoError(op, path, error) {
  const errno = error?.code;
  if (typeof errno !== "string") return error instanceof Error ? error : new Error(String(error));
  return ioError(op, path, errno, error);
}
function isNotFound(error) {
  const errno = error?.code;
  return errno === "ENOENT" || errno === "ENOTDIR";
}
var NodeFileHandle = class {
  constructor(path, handle) {
    this.path = path;
    this.handle = handle;
  }
  path;
  handle;
  closed = false;
  async size() {
    this.assertOpen("size");
    try {
      return (await this.handle.stat()).size;
    } catch (error) {
      throw toIoError("size", this.path, error);
    }
  }
  async write(data, position) {
    this.assertOpen("write");
    try {
      let written = 0;
      const direct = data.length <= SYNC_WRITE_BYTES_MAX;
      while (written < data.length) {
        written += direct ? writeSync(this.handle.fd, data, written, data.length - written, position + written) : (await this.handle.write(data, written, data.length - written, position + written)).bytesWritten;
      }
    } catch (error) {
      throw toIoError("write", this.path, error);
    }
  }
  async readInto(target, targetOffset, length, position) {
    this.assertOpen("read");
    try {
      let read = 0;
      while (read < length) {
        const { bytesRead } = await this.handle.read(target, targetOffset + read, length - read, position + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return read;
    } catch (error) {
      throw toIoError("read", this.path, error);
    }
  }
  async sync() {
    this.assertOpen("sync");
    try {
      await this.handle.datasync();
    } catch (error) {
      throw toIoError("sync", this.path, error);
    }
  }
  async truncate(length) {
    this.assertOpen("truncate");
    try {
      await this.handle.truncate(length);
    } catch (error) {
      throw toIoError("truncate", this.path, error);
    }
  }
  /** Idempotent, like node's own `FileHandle.close`; every other call after it rejects CLOSED. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.handle.close();
    } catch (error) {
      throw toIoError("close", this.path, error);
    }
  }
  assertOpen(op) {
    if (this.closed) throw closedHandleError(op, this.path);
  }
};
var NodeFileSystem = class {
  async open(path, mode) {
    try {
      return new NodeFileHandle(path, await fsp.open(path, mode === "rw" ? READ_WRITE_FLAGS : "r"));
    } catch (error) {
      throw toIoError("open", path, error);
    }
  }
  async readFile(path) {
    try {
      const buffer = await fsp.readFile(path);
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      throw toIoError("readFile", path, error);
    }
  }
  async writeFile(path, data) {
    try {
      await fsp.writeFile(path, data);
    } catch (error) {
      throw toIoError("writeFile", path, error);
    }
  }
  async rename(from, to) {
    try {
      await fsp.rename(from, to);
    } catch (error) {
      throw toIoError("rename", from, error);
    }
  }
  async unlink(path) {
    try {
      await fsp.unlink(path);
    } catch (error) {
      if (isNotFound(error)) return;
      throw toIoError("unlink", path, error);
    }
  }
  async mkdir(path) {
    try {
      await fsp.mkdir(path, { recursive: true });
    } catch (error) {
      throw toIoError("mkdir", path, error);
    }
  }
  async rmdir(path) {
    try {
      await fsp.rm(path, { recursive: true, force: true });
    } catch (error) {
      throw toIoError("rmdir", path, error);
    }
  }
  async readdir(path) {
    try {
      return (await fsp.readdir(path)).sort();
    } catch (error) {
      throw toIoError("readdir", path, error);
    }
  }
  async exists(path) {
    try {
      await fsp.access(path);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw toIoError("exists", path, error);
    }
  }
  /** fsync on a read-only descriptor of the directory: the POSIX way to persist its entries. */
  async syncDir(path) {
    try {
      const dir = await fsp.open(path, "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (error) {
      throw toIoError("syncDir", path, error);
    }
  }
};

// packages/protocol/src/fs/memory-file-system.ts
import { posix } from "node:path";

// packages/protocol/src/fs/chunked-bytes.ts
var CHUNK_BYTES = 1024 * 1024;
var FIRST_CHUNK_MIN_BYTES = 256;
var ChunkedBytes = class {
  /** chunks[i] holds bytes [i * CHUNK_BYTES, ...); only chunks[0] may be shorter, and only while it is the only one. */
  chunks = [];
  get capacity() {
    if (this.chunks.length <= 1) return this.chunks[0]?.length ?? 0;
    return this.chunks.length * CHUNK_BYTES;
  }
  /** Copies `data` to `position`, growing as needed. */
  write(data, position) {
    this.ensureCapacity(position + data.length);
    this.forEachPiece(position, position + data.length, (chunk, at, from, length) => chunk.set(data.subarray(from, from + length), at));
  }
  /** Copies bytes [start, end) into `target` at `targetOffset` (zeros past the capacity). */
  readInto(target, targetOffset, start, end) {
    assert(start <= end && targetOffset + (end - start) <= target.length, "read range must fit the target", { start, end, targetBytes: target.length, targetOffset });
    const inside = Math.max(start, Math.min(end, this.capacity));
    this.forEachPiece(start, inside, (chunk, at, from, length) => target.set(chunk.subarray(at, at + length), targetOffset + from));
    if (inside < end) target.fill(0, targetOffset + (inside - start), targetOffset + (end - start));
  }
  /** A copy of bytes [start, end). */
  copyOut(start, end) {
    const bytes = new Uint8Array(end - start);
    this.readInto(bytes, 0, start, end);
    return bytes;
  }
  /** Sets bytes [start, end) to zero (within capacity). */
  zero(start, end) {
    this.forEachPiece(start, Math.min(end, this.capacity), (chunk, at, _from, length) => chunk.fill(0, at, at + length));
  }
  /** Calls `piece` for each chunk part of [start, end): the chunk, the position in it, the offset from `start`, the length. */
  forEachPiece(start, end, piece) {
    let position = start;
    while (position < end) {
      const index = this.chunks.length === 1 ? 0 : Math.floor(position / CHUNK_BYTES);
      const at = position - index * CHUNK_BYTES;
      const length = Math.min(end - position, this.chunks[index].length - at);
      piece(this.chunks[index], at, position - start, length);
      position += length;
    }
  }
  ensureCapacity(bytes) {
    if (bytes <= this.capacity) return;
    if (bytes <= CHUNK_BYTES) {
      const first = this.chunks[0];
      const grown = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(bytes, (first?.length ?? 0) * 2, FIRST_CHUNK_MIN_BYTES)));
      if (first) grown.set(first);
      this.chunks = [grown];
      return;
    }
    if (this.chunks.length === 1 && this.chunks[0].length < CHUNK_BYTES) {
      const whole = new Uint8Array(CHUNK_BYTES);
      whole.set(this.chunks[0]);
      this.chunks[0] = whole;
    }
    while (this.chunks.length * CHUNK_BYTES < bytes) this.chunks.push(new Uint8Array(CHUNK_BYTES));
  }
};

// packages/protocol/src/fs/memory-file.ts
var EMPTY = new Uint8Array(0);
var MemoryFile = class {
  /** Bytes past `length` are always zero, so growing the file (truncate up, write past the end) reads zeros. */
  bytes = new ChunkedBytes();
  length = 0;
  /** Unsynced operations, oldest first. */
  undoLog = [];
  get size() {
    return this.length;
  }
  get pendingOps() {
    return this.undoLog.length;
  }
  /** A copy of the visible content. */
  snapshot() {
    return this.bytes.copyOut(0, this.length);
  }
  write(data, position) {
    if (data.length === 0) return;
    const overlapEnd = Math.min(position + data.length, this.length);
    this.undoLog.push({
      kind: "write",
      position,
      writtenLength: data.length,
      oldLength: this.length,
      overwritten: position < overlapEnd ? this.bytes.copyOut(position, overlapEnd) : EMPTY
    });
    this.applyWrite(data, position);
  }
  truncate(length) {
    const removed = length < this.length ? this.bytes.copyOut(length, this.length) : EMPTY;
    this.undoLog.push({ kind: "truncate", oldLength: this.length, removed });
    this.setLength(length);
  }
  /** Copies up to `length` bytes at `position` into `target`; returns how many (0 past the end). */
  readInto(target, targetOffset, length, position) {
    const count = Math.max(0, Math.min(length, this.length - position));
    this.bytes.readInto(target, targetOffset, position, position + count);
    return count;
  }
  /** fdatasync: the visible content becomes the durable content. */
  sync() {
    this.undoLog = [];
  }
  /**
   * Power cut: keep the first `keepOps` pending operations, plus the first `tornBytes` bytes of
   * the next one if it is a write, and lose the rest. What remains is on "disk", hence durable.
   */
  crash(keepOps, tornBytes) {
    assert(Number.isInteger(keepOps) && keepOps >= 0 && keepOps <= this.undoLog.length, "keepOps out of range", { keepOps, ops: this.undoLog.length });
    assert(Number.isInteger(tornBytes) && tornBytes >= 0, "tornBytes must be a non-negative integer", { tornBytes });
    while (this.undoLog.length > keepOps + 1) this.undo(this.undoLog.pop());
    const torn = this.undoLog.length > keepOps ? this.undoLog.pop() : void 0;
    if (torn !== void 0) {
      const survivor = torn.kind === "write" ? this.bytes.copyOut(torn.position, torn.position + Math.min(tornBytes, torn.writtenLength)) : EMPTY;
      this.undo(torn);
      if (survivor.length > 0 && torn.kind === "write") this.applyWrite(survivor, torn.position);
    }
    this.undoLog = [];
  }
  undo(entry) {
    if (entry.kind === "write") {
      this.bytes.write(entry.overwritten, entry.position);
      this.setLength(entry.oldLength);
    } else {
      this.setLength(entry.oldLength);
      this.bytes.write(entry.removed, entry.oldLength - entry.removed.length);
    }
  }
  applyWrite(data, position) {
    if (data.length === 0) return;
    const end = position + data.length;
    this.bytes.write(data, position);
    if (end > this.length) this.length = end;
  }
  setLength(length) {
    if (length < this.length) this.bytes.zero(length, this.length);
    this.length = length;
  }
};
var MemoryDir = class {
  visible = /* @__PURE__ */ new Map();
  durable = /* @__PURE__ */ new Map();
  /** syncDir: the current entries survive a power cut. */
  sync() {
    this.durable = new Map(this.visible);
  }
};

// packages/protocol/src/fs/memory-file-system.ts
var keepNothing = () => ({ ops: 0 });
var MUTATING_OPS = /* @__PURE__ */ new Set(["write", "truncate", "sync", "rename", "unlink", "mkdir", "rmdir", "syncDir", "writeFile"]);
var OperationGate = class {
  hook;
  /** Bumped by every power cut; a handle opened in an older epoch is dead. */
  epoch = 0;
  faults = [];
  counters = { syncs: 0, dirSyncs: 0, writes: 0, bytesWritten: 0 };
  /**
   * Runs before an operation changes anything: the hook (a crash point; opening 'rw' counts as
   * one since it may create a file), then any armed fault. If the hook cut the power, the process
   * that issued this operation is "dead", so the operation must not happen on the rebooted disk.
   */
  pass(kind, path, options = {}) {
    if (this.hook !== void 0 && (MUTATING_OPS.has(kind) || options.mayCreateFile === true)) {
      const epoch = this.epoch;
      this.hook(options.to === void 0 ? { kind, path } : { kind, path, to: options.to });
      if (this.epoch !== epoch) {
        throw new BrookError("CLOSED", `${kind} ${path} interrupted by a power cut`, { op: kind, path });
      }
    }
    const rule = this.faults.find((r) => r.op === kind && (matches(r.path, path) || options.to !== void 0 && matches(r.path, options.to)));
    if (rule === void 0) return;
    rule.remaining -= 1;
    if (rule.remaining === 0) this.faults.splice(this.faults.indexOf(rule), 1);
    throw ioError(kind, path, rule.errno);
  }
};
function matches(pattern, path) {
  if (pattern === void 0) return true;
  return typeof pattern === "string" ? normalize(pattern) === path : pattern.test(path);
}
function normalize(path) {
  return posix.resolve("/", path);
}
function splitPath(normalized) {
  return normalized === "/" ? [] : normalized.slice(1).split("/");
}
function assertPosition(value, what) {
  assert(Number.isSafeInteger(value) && value >= 0, "must be a non-negative integer", { what, value });
}
var MemoryFileHandle = class {
  constructor(path, file, gate) {
    this.path = path;
    this.file = file;
    this.gate = gate;
    this.epoch = gate.epoch;
    this.normalizedPath = normalize(path);
  }
  path;
  file;
  gate;
  closed = false;
  epoch;
  /** Faults and the hook match normalised paths; computed once, as writes are the hot path. */
  normalizedPath;
  async size() {
    this.assertLive("size");
    return this.file.size;
  }
  async write(data, position) {
    assertPosition(position, "write position");
    this.enter("write");
    this.file.write(data, position);
    this.gate.counters.writes += 1;
    this.gate.counters.bytesWritten += data.length;
  }
  async readInto(target, targetOffset, length, position) {
    assertPosition(position, "read position");
    assert(targetOffset >= 0 && length >= 0 && targetOffset + length <= target.length, "read range outside target buffer");
    this.enter("read");
    return this.file.readInto(target, targetOffset, length, position);
  }
  async sync() {
    this.enter("sync");
    this.file.sync();
    this.gate.counters.syncs += 1;
  }
  async truncate(length) {
    assertPosition(length, "truncate length");
    this.enter("truncate");
    this.file.truncate(length);
  }
  /** Idempotent on a handle the caller closed; rejects CLOSED on one killed by a power cut. */
  async close() {
    if (this.epoch !== this.gate.epoch) throw closedHandleError("close", this.path);
    this.closed = true;
  }
  assertLive(op) {
    if (this.closed || this.epoch !== this.gate.epoch) throw closedHandleError(op, this.path);
  }
  enter(op) {
    this.assertLive(op);
    this.gate.pass(op, this.normalizedPath);
  }
};
var MemoryFileSystem = class {
  root = new MemoryDir();
  gate = new OperationGate();
  /**
   * Called before every mutating operation (write, truncate, sync, rename, unlink, mkdir, rmdir,
   * syncDir, writeFile, and open in 'rw' mode). A test enumerates crash points by counting calls
   * and, at the nth, throwing (the op fails, nothing changes) or calling `powerCut()` (the op is
   * abandoned with CLOSED, as its process died).
   */
  get onOperation() {
    return this.gate.hook;
  }
  set onOperation(hook) {
    this.gate.hook = hook;
  }
  /** Counters since construction (power cuts do not reset them), e.g. to assert group commit. */
  stats() {
    return { ...this.gate.counters };
  }
  /**
   * Arms a fault: the next `times` operations of kind `op` (on `path`, if given) reject with
   * IO_ERROR carrying `errno` and change nothing: a failed write writes no byte, a failed sync
   * makes nothing durable, a failed rename moves nothing. Rules are checked in the order armed.
   */
  failNext(op, options) {
    const times = options.times ?? 1;
    assert(Number.isInteger(times) && times >= 1, "failNext times must be a positive integer", { times });
    this.gate.faults.push({ ...options, op, remaining: times });
  }
  /**
   * Simulated power loss and reboot. Every directory reverts to its durable entries; every file
   * still reachable reverts to its durable content plus what `options.keep` says survived of its
   * pending ops (called once per file with pending ops, in path order). All handles opened before
   * become dead: every call on them, close included, rejects CLOSED. Armed faults and the hook
   * stay; the file system is immediately usable again.
   */
  powerCut(options = {}) {
    this.gate.epoch += 1;
    revertTree(this.root, "/", options.keep ?? keepNothing, /* @__PURE__ */ new Set());
  }
  async open(path, mode) {
    const normalized = normalize(path);
    this.gate.pass("open", normalized, { mayCreateFile: mode === "rw" });
    const { parent, name, node } = this.locate("open", normalized);
    if (node instanceof MemoryDir) throw ioError("open", normalized, "EISDIR");
    if (node !== void 0) return new MemoryFileHandle(path, node, this.gate);
    if (mode === "r") throw ioError("open", normalized, "ENOENT");
    const created = new MemoryFile();
    parent.visible.set(name, created);
    return new MemoryFileHandle(path, created, this.gate);
  }
  async readFile(path) {
    const normalized = normalize(path);
    this.gate.pass("readFile", normalized);
    const { node } = this.locate("readFile", normalized);
    if (node === void 0) throw ioError("readFile", normalized, "ENOENT");
    if (node instanceof MemoryDir) throw ioError("readFile", normalized, "EISDIR");
    return node.snapshot();
  }
  /** Like node's: the same inode, truncated then written, so it is two pending ops. */
  async writeFile(path, data) {
    const normalized = normalize(path);
    this.gate.pass("writeFile", normalized);
    const { parent, name, node } = this.locate("writeFile", normalized);
    if (node instanceof MemoryDir) throw ioError("writeFile", normalized, "EISDIR");
    const file = node ?? new MemoryFile();
    if (node === void 0) parent.visible.set(name, file);
    file.truncate(0);
    file.write(data, 0);
    this.gate.counters.writes += 1;
    this.gate.counters.bytesWritten += data.length;
  }
  async rename(from, to) {
    const source = normalize(from);
    const target = normalize(to);
    this.gate.pass("rename", source, { to: target });
    const src = this.locate("rename", source);
    if (src.node === void 0) throw ioError("rename", source, "ENOENT");
    const dst = this.locate("rename", target);
    if (source === target) return;
    const errno = renameConflict(src.node, dst.node, source, target);
    if (errno !== void 0) throw ioError("rename", source, errno);
    src.parent.visible.delete(src.name);
    dst.parent.visible.set(dst.name, src.node);
  }
  async unlink(path) {
    const normalized = normalize(path);
    this.gate.pass("unlink", normalized);
    const names = splitPath(normalized);
    const parent = this.lookup(names.slice(0, -1));
    const name = names[names.length - 1];
    if (!(parent instanceof MemoryDir) || name === void 0) return;
    if (parent.visible.get(name) instanceof MemoryDir) throw ioError("unlink", normalized, "EISDIR");
    parent.visible.delete(name);
  }
  async mkdir(path) {
    const normalized = normalize(path);
    this.gate.pass("mkdir", normalized);
    const names = splitPath(normalized);
    let dir = this.root;
    for (const [index, name] of names.entries()) {
      const child = dir.visible.get(name) ?? new MemoryDir();
      if (!(child instanceof MemoryDir)) throw ioError("mkdir", normalized, index === names.length - 1 ? "EEXIST" : "ENOTDIR");
      dir.visible.set(name, child);
      dir = child;
    }
  }
  /** Detaches the directory from its parent; its subtree goes with it (and comes back with it). */
  async rmdir(path) {
    const normalized = normalize(path);
    this.gate.pass("rmdir", normalized);
    const names = splitPath(normalized);
    const parent = this.lookup(names.slice(0, -1));
    const name = names[names.length - 1];
    if (name === void 0) throw ioError("rmdir", normalized, "EBUSY");
    if (parent instanceof MemoryDir) parent.visible.delete(name);
  }
  async readdir(path) {
    const normalized = normalize(path);
    return [...this.dirAt("readdir", normalized).visible.keys()].sort();
  }
  async exists(path) {
    return typeof this.lookup(splitPath(normalize(path))) !== "string";
  }
  async syncDir(path) {
    const normalized = normalize(path);
    this.gate.pass("syncDir", normalized);
    this.dirAt("syncDir", normalized).sync();
    this.gate.counters.dirSyncs += 1;
  }
  /** Walks visible entries; a string result is the errno a real file system would give. */
  lookup(names) {
    let node = this.root;
    for (const name of names) {
      if (!(node instanceof MemoryDir)) return "ENOTDIR";
      const child = node.visible.get(name);
      if (child === void 0) return "ENOENT";
      node = child;
    }
    return node;
  }
  dirAt(op, normalized) {
    const node = this.lookup(splitPath(normalized));
    if (typeof node === "string") throw ioError(op, normalized, node);
    if (!(node instanceof MemoryDir)) throw ioError(op, normalized, "ENOTDIR");
    return node;
  }
  /** The parent directory (which must exist) and the entry, if any, of a non-root path. */
  locate(op, normalized) {
    const names = splitPath(normalized);
    const name = names.pop();
    if (name === void 0) throw ioError(op, normalized, "EISDIR");
    const parent = this.dirAt(op, posix.dirname(normalized));
    return { parent, name, node: parent.visible.get(name) };
  }
};
function renameConflict(source, target, sourcePath, targetPath) {
  if (!(source instanceof MemoryDir)) return target instanceof MemoryDir ? "EISDIR" : void 0;
  if (targetPath.startsWith(`${sourcePath}/`)) return "EINVAL";
  if (target === void 0) return void 0;
  if (!(target instanceof MemoryDir)) return "ENOTDIR";
  return target.visible.size > 0 ? "ENOTEMPTY" : void 0;
}
function revertTree(dir, path, keep, seen) {
  dir.visible = new Map(dir.durable);
  for (const name of [...dir.visible.keys()].sort()) {
    const node = dir.visible.get(name);
    if (seen.has(node)) continue;
    seen.add(node);
    const childPath = posix.join(path, name);
    if (node instanceof MemoryDir) {
      revertTree(node, childPath, keep, seen);
    } else if (node.pendingOps > 0) {
      const decision = keep(childPath, node.pendingOps);
      node.crash(decision.ops, decision.tornBytes ?? 0);
    }
  }
}

// packages/protocol/src/fs/atomic.ts
import { dirname } from "node:path";
async function writeFileAtomic(fs, path, data) {
  const tmpPath = `${path}.tmp`;
  const handle = await fs.open(tmpPath, "rw");
  try {
    await handle.write(data, 0);
    await handle.truncate(data.length);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => void 0);
    throw error;
  }
  await handle.close();
  await fs.rename(tmpPath, path);
  await fs.syncDir(dirname(path));
}

// packages/protocol/src/fs/durable-dir.ts
import { dirname as dirname2 } from "node:path";
async function mkdirDurable(fs, path) {
  const missing = [];
  for (let dir = path; !await fs.exists(dir); dir = dirname2(dir)) {
    missing.push(dir);
    if (dirname2(dir) === dir) break;
  }
  for (const dir of missing.reverse()) {
    await fs.mkdir(dir);
    await fs.syncDir(dirname2(dir));
  }
}
async function rmdirDurable(fs, path) {
  await fs.rmdir(path);
  await fs.syncDir(dirname2(path));
}
async function uncommitDir(fs, path, commitFile) {
  try {
    await fs.unlink(`${path}/${commitFile}`);
    await fs.syncDir(path);
  } catch (error) {
    if (await fs.exists(`${path}/${commitFile}`)) throw error;
  }
}
async function removeCommittedDir(fs, path, commitFile, committed) {
  await uncommitDir(fs, path, commitFile);
  committed?.();
  await rmdirDurable(fs, path);
}
async function isDirectory(fs, path) {
  try {
    await fs.readdir(path);
    return true;
  } catch (error) {
    if (isBrookError(error, "IO_ERROR") && error.details["errno"] === "ENOTDIR") return false;
    throw error;
  }
}

// packages/protocol/src/wire/stable-json.ts
var JSON_DEPTH_MAX = 32;
function stableJson(value) {
  return write(value, 0) ?? "null";
}
function write(value, depth) {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return `"${value}"`;
    case "object":
      return value === null ? "null" : writeObject(value, depth);
    default:
      return void 0;
  }
}
function writeObject(value, depth) {
  if (depth >= JSON_DEPTH_MAX) {
    throw new BrookError("INVALID_REQUEST", `a frame's JSON may nest at most ${JSON_DEPTH_MAX} levels (a value nested deeper, or circular)`, { depthMax: JSON_DEPTH_MAX });
  }
  if (value instanceof Uint8Array) return `{"bytes":${value.length}}`;
  const toJSON = value.toJSON;
  if (typeof toJSON === "function") return write(toJSON.call(value), depth + 1);
  if (Array.isArray(value)) {
    let out2 = "[";
    for (let i = 0; i < value.length; i++) out2 += (i > 0 ? "," : "") + (write(value[i], depth + 1) ?? "null");
    return `${out2}]`;
  }
  const keys = Object.keys(value);
  sortKeys(keys);
  let out = "{";
  for (const key of keys) {
    const field = write(value[key], depth + 1);
    if (field === void 0) continue;
    out += `${out.length > 1 ? "," : ""}${JSON.stringify(key)}:${field}`;
  }
  return `${out}}`;
}
function sortKeys(keys) {
  if (keys.length > 16) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    for (; j >= 0 && keys[j] > key; j--) keys[j + 1] = keys[j];
    keys[j + 1] = key;
  }
}

// packages/protocol/src/wire/frame.ts
var FrameKind = {
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
  TAKEN_BACK: 8
};
var FRAME_HEADER_BYTES = 9;
var UINT32_MAX = 4294967295;
var kindValues = new Set(Object.values(FrameKind));
var encoder = new TextEncoder();
var decoder = new TextDecoder("utf-8", { fatal: true });
function encodeFrame(kind, requestId, json, data) {
  const parts = data === void 0 ? [] : data instanceof Uint8Array ? [data] : data;
  let dataLength = 0;
  for (const part of parts) dataLength += part.length;
  const { frame, dataStart } = allocateFrame(kind, requestId, json, dataLength);
  let at = dataStart;
  for (const part of parts) {
    frame.set(part, at);
    at += part.length;
  }
  return frame;
}
function allocateFrame(kind, requestId, json, dataLength) {
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > UINT32_MAX) {
    throw new BrookError("INVALID_REQUEST", `requestId ${requestId} is not a uint32`, { requestId });
  }
  const jsonBytes = encoder.encode(json);
  const frame = new Uint8Array(FRAME_HEADER_BYTES + jsonBytes.length + dataLength);
  const view = new DataView(frame.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, requestId);
  view.setUint32(5, jsonBytes.length);
  frame.set(jsonBytes, FRAME_HEADER_BYTES);
  return { frame, dataStart: FRAME_HEADER_BYTES + jsonBytes.length };
}
function frameError(reason, message, requestId) {
  return new BrookError("INVALID_REQUEST", message, requestId === void 0 ? { reason } : { reason, requestId });
}
function decodeFrame(bytes) {
  if (bytes.length < FRAME_HEADER_BYTES) throw frameError("truncated", `frame of ${bytes.length} bytes is shorter than its ${FRAME_HEADER_BYTES}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(0);
  const requestId = view.getUint32(1);
  const jsonLength = view.getUint32(5);
  if (!kindValues.has(kind)) throw frameError("unknown-kind", `unknown frame kind ${kind}`, requestId);
  if (jsonLength > bytes.length - FRAME_HEADER_BYTES) {
    throw frameError("bad-json-length", `jsonLength ${jsonLength} runs past the frame's ${bytes.length} bytes`, requestId);
  }
  const jsonEnd = FRAME_HEADER_BYTES + jsonLength;
  let text2;
  try {
    text2 = decoder.decode(bytes.subarray(FRAME_HEADER_BYTES, jsonEnd));
  } catch {
    throw frameError("bad-utf8", "control payload is not valid UTF-8", requestId);
  }
  let json;
  try {
    json = JSON.parse(text2);
  } catch {
    throw frameError("bad-json", "control payload is not valid JSON", requestId);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw frameError("not-an-object", "control payload must be a JSON object", requestId);
  }
  if (nestsTooDeep(json)) {
    throw frameError("too-deep", `control payload nests deeper than ${JSON_DEPTH_MAX} levels`, requestId);
  }
  return { kind, requestId, json, data: bytes.subarray(jsonEnd) };
}
function nestsTooDeep(top) {
  let level = [top];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth >= JSON_DEPTH_MAX) return true;
    const next = [];
    for (const container of level) {
      for (const child of Object.values(container)) if (typeof child === "object" && child !== null) next.push(child);
    }
    level = next;
  }
  return false;
}

// packages/protocol/src/wire/deliveries.ts
var DELIVERY_ENTRY_BYTES = 24;
var CRC_BYTES = 4;
function deliveryBytes(delivery) {
  return DELIVERY_ENTRY_BYTES + delivery.record.sourceEnd - delivery.record.sourceStart;
}
function encodeDeliverFrame(subscription, first, deliveries, lostToRetention = 0n) {
  let dataLength = CRC_BYTES;
  for (const delivery of deliveries) dataLength += deliveryBytes(delivery);
  const json = stableJson({ first, count: deliveries.length, ...lostToRetention > 0n && { lostToRetention: String(lostToRetention) } });
  const { frame, dataStart } = allocateFrame(FrameKind.DELIVER, subscription, json, dataLength);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let entryAt = dataStart + CRC_BYTES;
  let recordAt = entryAt + deliveries.length * DELIVERY_ENTRY_BYTES;
  let run;
  let runStart = 0;
  let runEnd = 0;
  for (const { partition, deliveryCount, record } of deliveries) {
    view.setInt32(entryAt, partition);
    view.setBigInt64(entryAt + 4, record.offset);
    view.setInt32(entryAt + 12, deliveryCount);
    setSafeInteger64(view, entryAt + 16, record.timestamp);
    entryAt += DELIVERY_ENTRY_BYTES;
    if (record.source === run && record.sourceStart === runEnd) {
      runEnd = record.sourceEnd;
      continue;
    }
    if (run) recordAt = copyRun(frame, recordAt, run, runStart, runEnd);
    run = record.source;
    runStart = record.sourceStart;
    runEnd = record.sourceEnd;
  }
  if (run) recordAt = copyRun(frame, recordAt, run, runStart, runEnd);
  assert(recordAt === frame.length, "DELIVER records did not fill the frame", { recordAt, frameBytes: frame.length });
  view.setUint32(dataStart, crc32c(frame, dataStart + CRC_BYTES, frame.length));
  return frame;
}
function copyRun(frame, at, source, start, end) {
  frame.set(source.subarray(start, end), at);
  return at + end - start;
}

// packages/protocol/src/wire/taken-back.ts
var Feature = {
  /** The server sends TAKEN_BACK frames. */
  TAKEN_BACK: "takenBack"
};
var KNOWN_FEATURES = new Set(Object.values(Feature));
function knownFeatures(features) {
  if (features === void 0) return [];
  if (!Array.isArray(features) || !features.every((feature) => typeof feature === "string")) {
    throw new BrookError("INVALID_REQUEST", "HELLO features must be a list of strings", { field: "features", reason: "bad-hello" });
  }
  return [...new Set(features.filter((feature) => KNOWN_FEATURES.has(feature)))];
}
function encodeTakenBackFrame(subscription, ids) {
  return encodeFrame(FrameKind.TAKEN_BACK, subscription, stableJson({ ids }));
}

// packages/protocol/src/wire/messages.ts
var PROTOCOL_VERSION = 2;
var CloseCode = {
  NORMAL: 1e3,
  /** The server is shutting down. Reconnect elsewhere or later. */
  GOING_AWAY: 1001,
  /** A frame could not be decoded (see FrameFailure), or HELLO was not the first frame. */
  PROTOCOL_ERROR: 1002,
  /** A text message: Brook speaks binary frames only. */
  UNSUPPORTED_DATA: 1003,
  /** HELLO's token is missing or wrong. */
  UNAUTHORIZED: 4001,
  /** A frame larger than frameBytesMax (ws sends 1009 itself when it sees the length). */
  MESSAGE_TOO_BIG: 1009,
  /** connectionsMax reached. */
  TRY_AGAIN_LATER: 1013,
  /** HELLO asked for a protocol version this server does not speak. */
  UNSUPPORTED_VERSION: 4e3,
  /** No HELLO within handshakeTimeoutMs. */
  HANDSHAKE_TIMEOUT: 4002,
  /** No pong within idleTimeoutMs of a ping, and none of the bytes queued for the client taken. */
  IDLE_TIMEOUT: 4003
};
var RETENTION_OPTION_KEYS = { maxBytes: true, maxAgeMs: true, discard: true };
var REDRIVE_OPTION_KEYS = { maxRecords: true };
var BACKOFF_OPTION_KEYS = {
  initialMs: true,
  maxMs: true,
  multiplier: true,
  jitter: true
};
function toRanges(ids) {
  if (ids.length === 0) return [];
  let sorted = true;
  for (let i = 1; i < ids.length && sorted; i++) sorted = ids[i - 1] < ids[i];
  if (!sorted) ids.sort((a, b) => a - b);
  const ranges = [];
  let first = ids[0];
  let last = first;
  for (let i = 1; i < ids.length; i++) {
    const id2 = ids[i];
    if (id2 === last) continue;
    if (id2 !== last + 1) {
      ranges.push([first, last]);
      first = id2;
    }
    last = id2;
  }
  ranges.push([first, last]);
  return ranges;
}

// packages/protocol/src/timestamps.ts
function isTimestampMs(value) {
  return Number.isSafeInteger(value) && value >= 0;
}

// packages/protocol/src/record-input.ts
var SHORT_ASCII_MAX = 64;
function invalidRecord(position, message, options) {
  return new BrookError("INVALID_REQUEST", `record ${position}: ${message}`, { record: position }, options);
}
function toRecordField(value, position, field) {
  if (typeof value === "string") return isShortAscii(value) ? value : Buffer.from(value, "utf8");
  return toRecordBytes(value, position, field);
}
function isShortAscii(text2) {
  if (text2.length > SHORT_ASCII_MAX) return false;
  for (let i = 0; i < text2.length; i++) if (text2.charCodeAt(i) > 127) return false;
  return true;
}
function toRecordBytes(value, position, field) {
  if (value === null || value === void 0) return null;
  if (typeof value === "string") return slabAsciiBytes(value, SHORT_ASCII_MAX) ?? Buffer.from(value, "utf8");
  if (value instanceof Uint8Array) return value;
  throw invalidRecord(position, `${field} must be a string, Uint8Array or null, got ${typeof value}`);
}
function toRecordHeaders(headers, position) {
  if (Array.isArray(headers)) {
    return headers.map((header) => {
      if (typeof header?.key !== "string") throw invalidRecord(position, "header keys must be strings");
      return { key: header.key, value: toRecordBytes(header.value, position, `header ${header.key}`) };
    });
  }
  if (typeof headers !== "object" || headers === null) throw invalidRecord(position, "headers must be an object or an array");
  return Object.entries(headers).map(([key, value]) => ({ key, value: toRecordBytes(value, position, `header ${key}`) }));
}
function recordTimestamp(timestamp, nowMs, position) {
  const resolved = timestamp ?? nowMs;
  if (!isTimestampMs(resolved)) throw invalidRecord(position, `timestamp must be an integer in 0..2^53-1, got ${String(timestamp)}`);
  return resolved;
}
function checkRecordPartition(partition, position) {
  if (partition !== void 0 && (!Number.isInteger(partition) || partition < 0)) {
    throw invalidRecord(position, `partition must be a non-negative integer, got ${String(partition)}`);
  }
}
var utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
var utf8WithoutBom = new TextDecoder();
var recordReading = {
  text(value) {
    return value === null ? null : utf8.decode(value);
  },
  /**
   * A value that is not JSON is INVALID_REQUEST (reading it as JSON asks what it cannot give; the
   * record itself is fine, text() reads it), with the SyntaxError as `cause`.
   */
  json(value) {
    try {
      return JSON.parse(value === null ? "null" : utf8WithoutBom.decode(value));
    } catch (error) {
      throw new BrookError("INVALID_REQUEST", `the value is not JSON: ${error.message}`, { bytes: value.length }, { cause: error });
    }
  },
  /** The value of the first header named `key`: undefined if absent, null if its value is null. */
  header(headers, key) {
    return headers.find((header) => header.key === key)?.value;
  }
};

// packages/protocol/src/request-fields.ts
function checkStringFields(fields, optional = false) {
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value !== "string" && !(optional && value === void 0)) throw invalidField(field, "a string", value);
  }
}
function checkPartitionField(partition) {
  if (!Number.isInteger(partition) || partition < 0) throw invalidField("partition", "a non-negative integer", partition);
}
function invalidField(field, expected, value, details = {}) {
  return new BrookError("INVALID_REQUEST", `${field} must be ${expected}, got ${show(value)}`, { field, ...details });
}
function show(value) {
  const text2 = typeof value === "bigint" ? `${value}n` : JSON.stringify(value) ?? String(value);
  return text2.length > 80 ? `${text2.slice(0, 77)}...` : text2;
}

// packages/protocol/src/fetch-request.ts
var FETCH_KEYS = { topic: true, partition: true, offset: true, maxRecords: true, maxBytes: true };
var OFFSET_MAX = (1n << 63n) - 1n;
function checkFetchRequest(request) {
  checkOptionKeys(request, FETCH_KEYS);
  checkStringFields({ topic: request.topic });
  checkPartitionField(request.partition);
  const { offset } = request;
  if (typeof offset !== "bigint" || offset < 0n || offset > OFFSET_MAX) {
    const details = typeof offset === "bigint" ? { field: "offset", offset } : { field: "offset" };
    throw new BrookError("INVALID_REQUEST", `offset must be a bigint in 0..2^63-1, got ${String(offset)}`, details);
  }
}
function checkOffsetForTimestamp(topic, partition, timestampMs) {
  checkStringFields({ topic });
  checkPartitionField(partition);
  if (!isTimestampMs(timestampMs)) {
    throw new BrookError("INVALID_REQUEST", `timestampMs must be an integer in 0..2^53-1 (ms since the epoch), got ${String(timestampMs)}`, { field: "timestampMs" });
  }
}

// packages/protocol/src/concat-bytes.ts
function concatBytes(parts) {
  let total = 0;
  for (const part of parts) total += part.length;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

// packages/protocol/src/async-queue.ts
var AsyncQueue = class {
  items = [];
  head = 0;
  waiters = [];
  finished = false;
  failure;
  /** Items queued and not yet taken. */
  get size() {
    return this.items.length - this.head;
  }
  /** True while a next() waits for an item: the loop is reading, and the queue is empty. */
  get reading() {
    return this.waiters.length > 0;
  }
  /** Queues `item` (or hands it to the oldest waiting next()); false once the queue has ended. */
  push(item) {
    if (this.finished) return false;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ value: item, done: false });
    else this.items.push(item);
    return true;
  }
  next() {
    while (this.head < this.items.length) {
      const item = this.items[this.head++];
      if (this.head === this.items.length) this.clear();
      if (this.passed(item)) continue;
      this.taken(item);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.finished) {
      const failure = this.failure;
      this.failure = void 0;
      return failure === void 0 ? Promise.resolve({ value: void 0, done: true }) : Promise.reject(failure);
    }
    return new Promise((resolve, reject) => void this.waiters.push({ resolve, reject }));
  }
  /** Whether a queued item is past use: next() drops it instead of handing it out. */
  passed(_item) {
    return false;
  }
  /** A queued item is being handed out by next() (not one pushed straight to a waiting next()). */
  taken(_item) {
  }
  /** The oldest item queued and not yet handed out. */
  peek() {
    return this.items[this.head];
  }
  /** The items queued and not yet handed out, oldest first. */
  queued() {
    return this.items.slice(this.head);
  }
  /** Takes the items not yet handed out that `drop` picks (asked oldest first), keeping the rest in order. */
  remove(drop) {
    const removed = [];
    const kept = [];
    for (let index = this.head; index < this.items.length; index++) {
      const item = this.items[index];
      (drop(item) ? removed : kept).push(item);
    }
    this.items = kept;
    this.head = 0;
    return removed;
  }
  /** Takes every item not yet handed out (to give them back elsewhere). */
  takeAll() {
    const items = this.queued();
    this.clear();
    return items;
  }
  /** Ends the iteration, dropping what is queued: done, or `failure` for the next (or each waiting) next(). */
  end(failure) {
    if (this.finished) return;
    this.finished = true;
    this.clear();
    const waiters = this.waiters;
    this.waiters = [];
    if (waiters.length === 0) this.failure = failure;
    for (const waiter of waiters) {
      if (failure === void 0) waiter.resolve({ value: void 0, done: true });
      else waiter.reject(failure);
    }
  }
  clear() {
    this.items = [];
    this.head = 0;
  }
};

// packages/protocol/src/fs/dir-lock.ts
import { hostname } from "node:os";
var nonceCounter = 0;
function thisProcess() {
  return { pid: process.pid, hostname: hostname(), isAlive: isPidAlive };
}
function isPidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}
var DirLock = class _DirLock {
  constructor(fs, path) {
    this.fs = fs;
    this.path = path;
  }
  fs;
  path;
  static async acquire(fs, dir, options) {
    const { name, what } = options;
    const owner = options.owner ?? thisProcess();
    const path = `${dir}/${name}`;
    const privateName = (kind) => `${dir}/${name}.${kind}${owner.pid}.${nonceCounter += 1}`;
    const built = privateName("");
    await fs.mkdir(built);
    await fs.writeFile(`${built}/owner`, new TextEncoder().encode(JSON.stringify({ pid: owner.pid, hostname: owner.hostname })));
    if (!await tryRename(fs, built, path)) {
      const holder = await readOwner(fs, path);
      if (holder !== void 0 && isHeld(holder, owner)) {
        await fs.rmdir(built);
        throw lockedError(path, holder, what);
      }
      const stale = privateName("stale.");
      if (await tryRename(fs, path, stale)) await fs.rmdir(stale);
      if (!await tryRename(fs, built, path)) {
        await fs.rmdir(built);
        throw lockedError(path, await readOwner(fs, path), what);
      }
    }
    await removeDeadPrivateDirs(fs, dir, name, owner);
    return new _DirLock(fs, path);
  }
  async release() {
    await this.fs.rmdir(this.path);
  }
};
function isHeld(holder, me) {
  return holder.hostname !== me.hostname || holder.pid === me.pid || me.isAlive(holder.pid);
}
function lockedError(path, holder, what) {
  const who = holder ? `process ${holder.pid} on ${holder.hostname}` : "another process";
  return new BrookError("LOCKED", `${path} is held by ${who}; ${what} has one writer`, { path, pid: holder?.pid, hostname: holder?.hostname });
}
async function tryRename(fs, from, to) {
  try {
    await fs.rename(from, to);
    return true;
  } catch (error) {
    const errno = isBrookError(error, "IO_ERROR") ? error.details["errno"] : void 0;
    if (errno === "ENOTEMPTY" || errno === "EEXIST" || errno === "ENOENT") return false;
    throw error;
  }
}
async function readOwner(fs, lockPath) {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(await fs.readFile(`${lockPath}/owner`)));
    const record = parsed;
    return typeof record.pid === "number" && typeof record.hostname === "string" ? { pid: record.pid, hostname: record.hostname } : void 0;
  } catch {
    return void 0;
  }
}
async function removeDeadPrivateDirs(fs, dir, lockName, owner) {
  const privatePattern = new RegExp(`^${lockName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(?:stale\\.)?(\\d+)\\.\\d+$`);
  for (const name of await fs.readdir(dir)) {
    const pid = Number(privatePattern.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== owner.pid && !owner.isAlive(pid)) await fs.rmdir(`${dir}/${name}`);
  }
}

// packages/protocol/src/settle-arguments.ts
var SETTLE_MS_MAX = 24 * 60 * 60 * 1e3;
function refusedSettlement(field, value) {
  const valid = field === "reason" ? typeof value === "string" : value === void 0 || Number.isInteger(value) && value >= 0 && value <= SETTLE_MS_MAX;
  if (valid) return void 0;
  const expected = field === "reason" ? "a string" : `an integer in [0, ${SETTLE_MS_MAX}]`;
  const refusal = Promise.reject(new BrookError("INVALID_REQUEST", `${field} must be ${expected}, got ${String(value)}`, { field, value }));
  refusal.catch(() => void 0);
  return refusal;
}
var DEAD_LETTER_REASON_BYTES_MAX = 1024;
var utf82 = new TextEncoder();
var ELLIPSIS = "\u2026";
var ELLIPSIS_BYTES = utf82.encode(ELLIPSIS).length;
function deadLetterReasonBytes(reason) {
  const whole = utf82.encode(reason);
  if (whole.length <= DEAD_LETTER_REASON_BYTES_MAX) return whole;
  const cut = new Uint8Array(DEAD_LETTER_REASON_BYTES_MAX);
  const { written } = utf82.encodeInto(reason, cut.subarray(0, DEAD_LETTER_REASON_BYTES_MAX - ELLIPSIS_BYTES));
  utf82.encodeInto(ELLIPSIS, cut.subarray(written));
  return cut.subarray(0, written + ELLIPSIS_BYTES);
}

// packages/broker/src/data-dir.ts
var CLEAN_SHUTDOWN_MARKER = ".clean-shutdown";
var DATA_DIR_LOCK = "broker.lock";
var DataDir = class _DataDir {
  constructor(fs, path, cleanShutdown, lock) {
    this.fs = fs;
    this.path = path;
    this.cleanShutdown = cleanShutdown;
    this.lock = lock;
  }
  fs;
  path;
  cleanShutdown;
  lock;
  healthy = true;
  /**
   * Makes the directory if needed and takes the marker away, holding the lock if `locked`: on the
   * real disk two brokers would interleave appends (the second gets LOCKED); a MemoryFileSystem
   * has one process.
   */
  static async open(fs, path, locked) {
    await mkdirDurable(fs, `${path}/topics`);
    const lock = locked ? await DirLock.acquire(fs, path, { name: DATA_DIR_LOCK, what: "a data directory" }) : void 0;
    try {
      return new _DataDir(fs, path, await takeMarker(fs, path), lock);
    } catch (error) {
      await lock?.release().catch(() => void 0);
      throw error;
    }
  }
  /** A broker that failed to open lets the directory go, writing no marker. */
  async abandon() {
    await this.lock?.release().catch(() => void 0);
  }
  /**
   * A log in the directory failed (a failed fsync, seal or write): what is durable is unknown
   * until recovery scans it, so no later close may call the directory clean.
   */
  storageFailed() {
    this.healthy = false;
  }
  /**
   * The close, once everything inside is closed: the marker if the directory is `clean` (every
   * close step succeeded) and no log failed while it ran, then the lock released.
   */
  async close(clean) {
    try {
      if (clean && this.healthy) await writeFileAtomic(this.fs, `${this.path}/${CLEAN_SHUTDOWN_MARKER}`, new Uint8Array(0));
    } finally {
      await this.lock?.release();
    }
  }
};
async function takeMarker(fs, path) {
  const markerPath = `${path}/${CLEAN_SHUTDOWN_MARKER}`;
  const cleanShutdown = await fs.exists(markerPath);
  if (cleanShutdown) {
    await fs.unlink(markerPath);
    await fs.syncDir(path);
  } else {
    await fs.syncDir(path);
    await fs.syncDir(`${path}/topics`);
  }
  return cleanShutdown;
}
async function namedDirs(fs, dir) {
  const names = [];
  for (const name of await fs.readdir(dir)) {
    if (isTopicName(name) && await isDirectory(fs, `${dir}/${name}`)) names.push(name);
  }
  return names;
}

// packages/broker/src/config/defaults.ts
var KiB = 1024;
var MiB = 1024 * KiB;
var GiB = 1024 * MiB;
var DAY_MS = 24 * 60 * 60 * 1e3;
var LIMITS = Object.freeze({
  segmentBytesMax: {
    default: 64 * MiB,
    min: 4 * KiB,
    max: 2 * GiB - 1,
    doc: "A segment rolls before a batch would take it past this size (a lone larger batch still fits). Index positions are u32, hence the max."
  },
  segmentMsMax: {
    default: 7 * DAY_MS,
    min: 1,
    max: 365 * DAY_MS,
    doc: "A segment rolls at the next append once its first record's timestamp is this old."
  },
  indexIntervalBytes: {
    default: 4 * KiB,
    min: 64,
    max: 1 * MiB,
    doc: "Log bytes between two sparse index entries: a read scans at most about this much before its offset."
  },
  logTailCacheBytes: {
    default: 1 * MiB,
    min: 0,
    max: 256 * MiB,
    doc: "Per partition: bytes of the latest appended batches kept in memory, so consumers at the tail get them without a file read and its CRC check. 0 turns it off."
  },
  batchBytesMax: {
    default: 1 * MiB,
    min: 1 * KiB,
    max: 64 * MiB,
    doc: "Largest encoded record batch a produce may append (MESSAGE_TOO_LARGE beyond)."
  },
  batchRecordsMax: {
    default: 1e4,
    min: 1,
    max: 1e6,
    doc: "Most records one produce call may append to one partition."
  },
  partitionsMax: {
    default: 1024,
    min: 1,
    max: 1024,
    doc: "Most partitions one topic may have."
  },
  fetchRecordsMax: {
    default: 1e4,
    min: 1,
    max: 1e6,
    doc: "Most records one fetch may return."
  },
  fetchBytesMax: {
    default: 4 * MiB,
    min: 1 * KiB,
    max: 256 * MiB,
    doc: "Most log bytes one fetch reads; a fetch always returns at least one batch if any is there."
  },
  retentionCheckIntervalMs: {
    default: 3e4,
    min: 1,
    max: DAY_MS,
    doc: "How often the broker applies each topic's retention policy."
  },
  maxInFlight: {
    default: MAX_IN_FLIGHT_DEFAULT,
    min: 1,
    max: 1e5,
    doc: "Per consumer: most deliveries it holds unacked at once (the prefetch / credit window)."
  },
  ackTimeoutMs: {
    default: 3e4,
    min: 1,
    max: DAY_MS,
    doc: "Lease: how long a consumer has to ack, nack or extend a delivery before it is redelivered (under 'partition' its member also loses its partitions until it settles again)."
  },
  maxDeliveries: {
    default: 1e6,
    min: 1,
    max: 1e6,
    doc: "Failed attempts (nack, lease run out, crash) after which a record is dead-lettered; a 'partition' go-back or rebalance is none. The default is effectively unlimited, like NATS MaxDeliver -1; set it low to get a dead-letter topic."
  },
  groupUnackedRecordsMax: {
    default: 1e4,
    min: 1,
    max: 1e6,
    doc: "Per group and partition: most records held between ackFloor and the read position (in flight, backing off, blocked behind a key). Reading pauses at the limit."
  },
  groupJournalBytesMax: {
    default: 4 * MiB,
    min: 4 * KiB,
    max: 1 * GiB,
    doc: "A group journal is compacted into a snapshot once it grows past this."
  },
  backoffInitialMs: {
    default: 100,
    min: 0,
    max: DAY_MS,
    doc: "Delay before the second attempt of a record after a nack or lease expiry."
  },
  backoffMaxMs: {
    default: 6e4,
    min: 0,
    max: DAY_MS,
    doc: "Cap on the redelivery delay."
  },
  producersPerPartitionMax: {
    default: 1024,
    min: 1,
    max: 1e6,
    doc: "Idempotent producers one partition remembers; beyond it the least recently used is forgotten (its next batch gets UNKNOWN_PRODUCER_ID unless it starts a new sequence at 0)."
  },
  producerSnapshotIntervalMs: {
    default: 3e4,
    min: 1,
    max: DAY_MS,
    doc: "How often a partition's producer state is written to its snapshot file if the log moved: bounds what a restart must replay."
  },
  frameBytesMax: {
    default: 8 * MiB,
    min: 1 * KiB,
    max: 256 * MiB,
    doc: "Server: largest WebSocket frame accepted (ws maxPayload); a larger one closes the connection with 1009."
  },
  connectionsMax: {
    default: 1024,
    min: 1,
    max: 1e6,
    doc: "Server: concurrent WebSocket connections; the next one is closed with 1013 (try again later)."
  },
  subscriptionsMax: {
    default: 64,
    min: 1,
    max: 1e5,
    doc: 'Server: subscriptions one connection may hold; one more is refused with INVALID_REQUEST { limit: "subscriptionsMax" }.'
  },
  requestsInFlightMax: {
    default: 64,
    min: 1,
    max: 1e5,
    doc: "Server: requests one connection may have pending; at the limit the server stops reading the socket until answers drain."
  },
  sendBufferBytesMax: {
    default: 4 * MiB,
    min: 64 * KiB,
    max: 1 * GiB,
    doc: "Server: bytes a connection's socket may hold unsent (ws bufferedAmount) before the server stops reading that client's requests and holds its DELIVER frames back, until the socket drains. The min is above the socket's write high-water mark (16 KiB on Node 20, 64 KiB from Node 22; the test is a strict >), so going over it always ends in a 'drain' event."
  },
  deliverRecordsMax: {
    default: 1e3,
    min: 1,
    max: 1e5,
    doc: "Server: most records in one DELIVER frame."
  },
  handshakeTimeoutMs: {
    default: 5e3,
    min: 1,
    max: DAY_MS,
    doc: "Server: time a new connection has to send HELLO before it is closed with 4002."
  },
  idleTimeoutMs: {
    default: 3e4,
    min: 1,
    max: DAY_MS,
    doc: "Server: a ping goes out every idleTimeoutMs; a connection with no pong (or other message) by the next ping, that took none of the bytes queued for it either, is closed with 4003."
  },
  closeGraceMs: {
    default: 2e3,
    min: 0,
    max: 6e4,
    doc: "Server: how long a client has to answer the server's close frame (1001 at broker.close(), a protocol error, a refused handshake) before its socket is cut, freeing its connectionsMax slot. A client that stopped reading never answers; ws alone would wait its closeTimeout (30 s)."
  }
});
var DEFAULT_FSYNC = "always";
function checkLimit(name, value, option = name) {
  return checkLimitValue(option, LIMITS[name], value);
}
function limitOrDefault(name, value, option = name) {
  return value === void 0 ? LIMITS[name].default : checkLimit(name, value, option);
}
function checkFsyncPolicy(value) {
  return parseFsyncPolicy(value, DEFAULT_FSYNC, (intervalMs) => checkLimitValue("fsync.intervalMs", FSYNC_INTERVAL_MS, intervalMs));
}
var FSYNC_INTERVAL_MS = { default: 10, min: 1, max: DAY_MS, doc: "fsync { intervalMs }: the time between two fsyncs (at most a day, as for the WAL)." };

// packages/broker/src/topics/topic.ts
import { basename } from "node:path";

// packages/broker/src/log/batch-scanner.ts
var BATCH_LENGTH_POSITION = 8;
var FIRST_READ_BYTES = 64 * 1024;
var BatchScanner = class {
  constructor(file, options) {
    this.file = file;
    this.options = options;
    this.buffer = new Uint8Array(Math.max(0, Math.min(FIRST_READ_BYTES, options.chunkBytes, options.endPosition - options.startPosition)));
    this.position = options.startPosition;
    this.bufferPosition = options.startPosition;
  }
  file;
  options;
  buffer;
  /** File position of buffer[0], and how many bytes of the buffer are filled. */
  bufferPosition = 0;
  bufferFilled = 0;
  position;
  problem;
  /** File position of the next batch to scan (the end of the last good batch). */
  get nextPosition() {
    return this.position;
  }
  /** The next good batch, or undefined at the end of the range or at the first problem. */
  async next() {
    if (this.problem || this.position >= this.options.endPosition) return void 0;
    if (!await this.ensureBuffered(BATCH_LOG_OVERHEAD_BYTES)) return void 0;
    const at = this.position - this.bufferPosition;
    const batchLength = new DataView(this.buffer.buffer, this.buffer.byteOffset).getInt32(at + BATCH_LENGTH_POSITION);
    const size = BATCH_LOG_OVERHEAD_BYTES + batchLength;
    const sane = batchLength > 0 && batchLength <= this.options.batchBytesMax;
    if (sane && !await this.ensureBuffered(size)) return void 0;
    const start = this.position - this.bufferPosition;
    const check = checkBatch(this.buffer, start, start + (sane ? size : this.bufferFilled - start), this.options.batchBytesMax);
    if (!check.ok) {
      this.problem = { position: this.position, reason: check.reason, detail: check.detail };
      return void 0;
    }
    const batch = {
      position: this.position,
      size: check.size,
      header: check.header,
      bytes: this.buffer.subarray(start, start + check.size)
    };
    this.position += check.size;
    return batch;
  }
  /**
   * Makes `bytes` bytes from the current position available in the buffer, reading the file as
   * needed. Records a 'truncated' problem and returns false if the range ends first.
   */
  async ensureBuffered(bytes) {
    if (this.position + bytes > this.options.endPosition) {
      this.problem = {
        position: this.position,
        reason: "truncated",
        detail: `needs ${bytes} bytes at position ${this.position} but the file ends at ${this.options.endPosition}`
      };
      return false;
    }
    if (this.position + bytes <= this.bufferPosition + this.bufferFilled) return true;
    const grown = this.bufferFilled > 0 ? Math.min(this.options.chunkBytes, this.buffer.length * 2, this.options.endPosition - this.position) : 0;
    if (Math.max(bytes, grown) > this.buffer.length) this.buffer = new Uint8Array(Math.max(bytes, grown));
    const length = Math.min(this.buffer.length, this.options.endPosition - this.position);
    const read = await this.file.readInto(this.buffer, 0, length, this.position);
    this.bufferPosition = this.position;
    this.bufferFilled = read;
    if (read < bytes) {
      this.problem = {
        position: this.position,
        reason: "truncated",
        detail: `read ${read} of ${bytes} bytes at position ${this.position}`
      };
      return false;
    }
    return true;
  }
};

// packages/broker/src/log/bisect.ts
function lastIndexWhere(count, atOrBefore) {
  let low = 0;
  let high = count - 1;
  let found = -1;
  while (low <= high) {
    const mid = low + high >>> 1;
    if (atOrBefore(mid)) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

// packages/broker/src/log/sparse-index.ts
var INDEX_ENTRY_BYTES = Object.freeze({ offset: 8, time: 12 });
var SparseIndex = class _SparseIndex {
  kind;
  keys;
  values;
  count = 0;
  constructor(kind, capacity = 16) {
    this.kind = kind;
    this.keys = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }
  get length() {
    return this.count;
  }
  lastKey() {
    return this.count === 0 ? void 0 : this.keys[this.count - 1];
  }
  lastValue() {
    return this.count === 0 ? void 0 : this.values[this.count - 1];
  }
  entryAt(i) {
    assert(i >= 0 && i < this.count, "index entry out of range", { i, count: this.count });
    return { key: this.keys[i], value: this.values[i] };
  }
  append(key, value) {
    const last = this.lastKey();
    assert(last === void 0 || key > last, "index keys must increase", { kind: this.kind, key, last });
    if (this.count === this.keys.length) this.grow();
    this.keys[this.count] = key;
    this.values[this.count] = value;
    this.count += 1;
  }
  /** The entry with the largest key <= `key`, or undefined if every key is larger. */
  floor(key) {
    const found = lastIndexWhere(this.count, (i) => this.keys[i] <= key);
    return found < 0 ? void 0 : { key: this.keys[found], value: this.values[found] };
  }
  encode() {
    const entryBytes = INDEX_ENTRY_BYTES[this.kind];
    const bytes = new Uint8Array(this.count * entryBytes);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < this.count; i++) this.encodeEntry(view, i * entryBytes, this.keys[i], this.values[i]);
    return bytes;
  }
  /** Encodes entries [from, length) only: what an append-only index file is missing. */
  encodeFrom(from) {
    const entryBytes = INDEX_ENTRY_BYTES[this.kind];
    const bytes = new Uint8Array((this.count - from) * entryBytes);
    const view = new DataView(bytes.buffer);
    for (let i = from; i < this.count; i++) this.encodeEntry(view, (i - from) * entryBytes, this.keys[i], this.values[i]);
    return bytes;
  }
  /**
   * Parses an index file. Returns undefined when the bytes cannot be a valid index (length not a
   * multiple of the entry size, keys not strictly increasing, values decreasing): the caller then
   * rebuilds the index from the log.
   */
  static decode(kind, bytes) {
    const entryBytes = INDEX_ENTRY_BYTES[kind];
    if (bytes.length % entryBytes !== 0) return void 0;
    const count = bytes.length / entryBytes;
    const index = new _SparseIndex(kind, Math.max(16, count));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let previousValue = -1;
    for (let i = 0; i < count; i++) {
      const at = i * entryBytes;
      const key = kind === "offset" ? view.getUint32(at) : Number(view.getBigInt64(at));
      const value = view.getUint32(at + entryBytes - 4);
      const last = index.lastKey();
      if (last !== void 0 && key <= last || value < previousValue) return void 0;
      index.append(key, value);
      previousValue = value;
    }
    return index;
  }
  encodeEntry(view, at, key, value) {
    if (this.kind === "offset") view.setUint32(at, key);
    else view.setBigInt64(at, BigInt(key));
    view.setUint32(at + INDEX_ENTRY_BYTES[this.kind] - 4, value);
  }
  grow() {
    const keys = new Float64Array(this.keys.length * 2);
    const values = new Float64Array(this.values.length * 2);
    keys.set(this.keys);
    values.set(this.values);
    this.keys = keys;
    this.values = values;
  }
};

// packages/broker/src/log/segment-files.ts
var SEGMENT_FILE_SUFFIXES = Object.freeze([".log", ".index", ".timeindex"]);
var PRODUCER_SNAPSHOT_FILE = "producer-state.snapshot";
var STEM_DIGITS = 20;
var INDEX_FILE_PATTERN = /^(\d{20})\.(index|timeindex)$/;
var SEGMENT_LOG_PATTERN = /^(\d{20})\.log$/;
function segmentStem(baseOffset) {
  return baseOffset.toString().padStart(STEM_DIGITS, "0");
}
function segmentPath(dir, baseOffset, suffix) {
  return `${dir}/${segmentStem(baseOffset)}${suffix}`;
}
function parseSegmentLogName(name) {
  const match = SEGMENT_LOG_PATTERN.exec(name);
  return match ? BigInt(match[1]) : void 0;
}
function parseIndexFileStem(name) {
  return INDEX_FILE_PATTERN.exec(name)?.[1];
}
function isAtomicWriteLeftover(name) {
  if (!name.endsWith(".tmp")) return false;
  const written = name.slice(0, -".tmp".length);
  return written === PRODUCER_SNAPSHOT_FILE || parseIndexFileStem(written) !== void 0;
}

// packages/broker/src/log/segment.ts
var Segment = class _Segment {
  constructor(fs, dir, file, baseOffset, config) {
    this.fs = fs;
    this.dir = dir;
    this.file = file;
    this.config = config;
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.logPath = segmentPath(dir, baseOffset, ".log");
  }
  fs;
  dir;
  file;
  config;
  baseOffset;
  logPath;
  /** Bytes of whole batches in the file. */
  sizeBytes = 0;
  /** Offset the next record appended here would get. */
  nextOffset;
  /** Timestamp of the first record, for `segmentMsMax`; undefined while empty. */
  firstTimestampMs;
  /** Largest record timestamp, for time lookups and `maxAgeMs` retention. */
  maxTimestampMs = Number.NEGATIVE_INFINITY;
  offsetIndex;
  timeIndex;
  bytesSinceIndexEntry = 0;
  loadingIndexes;
  /** Reads in progress; a deleted segment closes its file only when the last one ends. */
  readers = 0;
  deleted = false;
  /** Creates an empty segment and makes its directory entry durable before anything is written to it. */
  static async create(fs, dir, baseOffset, config) {
    const file = await fs.open(segmentPath(dir, baseOffset, ".log"), "rw");
    await file.truncate(0);
    await fs.syncDir(dir);
    const segment = new _Segment(fs, dir, file, baseOffset, config);
    segment.offsetIndex = new SparseIndex("offset");
    segment.timeIndex = new SparseIndex("time");
    return segment;
  }
  /**
   * Opens an existing segment trusting its index files: the caller knows the segment was sealed
   * or cleanly closed. Reads the first batch (for its timestamp) and scans only from the last
   * index entry to the end of the file (at most ~indexIntervalBytes plus one batch), so opening
   * costs the same whatever the segment's size. Returns 'rebuild' if an index file is missing or
   * does not match the log, and a problem if the bytes after the last index entry are bad.
   */
  static async openIndexed(fs, dir, baseOffset, config) {
    const file = await fs.open(segmentPath(dir, baseOffset, ".log"), "rw");
    const segment = new _Segment(fs, dir, file, baseOffset, config);
    const fileBytes = await file.size();
    const indexes = await segment.readIndexFiles();
    const lastOffset = indexes?.offset.lastKey();
    const lastPosition = indexes?.offset.lastValue();
    if (!indexes || lastOffset === void 0 || lastPosition === void 0 || lastPosition >= fileBytes) {
      await file.close();
      return "rebuild";
    }
    segment.offsetIndex = indexes.offset;
    segment.timeIndex = indexes.time;
    segment.maxTimestampMs = indexes.time.lastKey() ?? Number.NEGATIVE_INFINITY;
    segment.firstTimestampMs = await segment.firstBatchTimestamp(fileBytes);
    const scanner = segment.scanner(lastPosition, fileBytes);
    const first = await scanner.next();
    if (!first || first.header.baseOffset !== baseOffset + BigInt(lastOffset)) {
      await file.close();
      return "rebuild";
    }
    segment.bytesSinceIndexEntry = 0;
    for (let batch = first; batch; batch = await scanner.next()) {
      segment.advance(batch.position, batch.header, batch.size);
    }
    return { segment, problem: scanner.problem };
  }
  /**
   * Opens a sealed segment (any but the last) at a cost that does not depend on its size: no
   * index file is read whole and no CRC is checked here. The last entry of each index file gives
   * the last indexed batch and the largest timestamp; batch headers are walked from that batch
   * to the end of the file to learn the next offset, which the caller checks against the next
   * segment's base. The indexes themselves load on the first read of this segment.
   * Returns 'rebuild' when any of this does not add up (the caller then scans the segment).
   */
  static async openSealed(fs, dir, baseOffset, config) {
    const file = await fs.open(segmentPath(dir, baseOffset, ".log"), "rw");
    const segment = new _Segment(fs, dir, file, baseOffset, config);
    const fileBytes = await file.size();
    const lastIndexEntry = await readLastEntry(fs, segmentPath(dir, baseOffset, ".index"), INDEX_ENTRY_BYTES.offset);
    const lastTimeEntry = await readLastEntry(fs, segmentPath(dir, baseOffset, ".timeindex"), INDEX_ENTRY_BYTES.time);
    const walked = lastIndexEntry && lastTimeEntry ? await segment.walkHeaders(lastIndexEntry.getUint32(0), lastIndexEntry.getUint32(4), fileBytes) : void 0;
    if (!walked || !await segment.isLastTimeEntry(lastTimeEntry, walked, fileBytes)) {
      await file.close();
      return "rebuild";
    }
    segment.sizeBytes = fileBytes;
    segment.nextOffset = walked.nextOffset;
    segment.maxTimestampMs = Number(lastTimeEntry.getBigInt64(0));
    return segment;
  }
  /**
   * Follows batch headers (length, magic, contiguous offsets; no CRC) from `position`, which
   * must hold the batch at `relativeOffset`, to the end of the file. Returns the offset after
   * the last batch and the largest timestamp of the batches walked, or undefined if the chain
   * does not end exactly at the end of the file.
   */
  async walkHeaders(relativeOffset, position, fileBytes) {
    const header = new Uint8Array(BATCH_HEADER_BYTES);
    let expected = this.baseOffset + BigInt(relativeOffset);
    let maxTimestampMs = Number.NEGATIVE_INFINITY;
    let at = position;
    while (at < fileBytes) {
      if (await this.file.readInto(header, 0, BATCH_HEADER_BYTES, at) < BATCH_HEADER_BYTES) return void 0;
      const batch = readBatchHeader(header);
      if (batch.magic !== 2 || batch.baseOffset !== expected || batch.batchLength < BATCH_HEADER_BYTES - 12) return void 0;
      at += 12 + batch.batchLength;
      expected = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
      maxTimestampMs = Math.max(maxTimestampMs, batch.maxTimestamp);
    }
    return at === fileBytes && at > position ? { nextOffset: expected, maxTimestampMs } : void 0;
  }
  /**
   * Whether a sealed segment's last time entry can be what a seal wrote there: the segment's
   * largest timestamp, at an offset inside the segment. Retention by maxAgeMs deletes on that
   * timestamp, so a damaged entry (a zeroed file) must mean a rebuild, never records deleted
   * early. Only what open reads anyway is checked, plus the first batch's header: the batches
   * in between are not read, so that opening costs the same whatever the segment's size.
   */
  async isLastTimeEntry(entry, walked, fileBytes) {
    const timestampMs = Number(entry.getBigInt64(0));
    const relativeOffset = entry.getUint32(INDEX_ENTRY_BYTES.time - 4);
    const firstTimestampMs = await this.firstBatchTimestamp(fileBytes);
    return relativeOffset > 0 && BigInt(relativeOffset) <= walked.nextOffset - this.baseOffset && timestampMs >= walked.maxTimestampMs && (firstTimestampMs === void 0 || timestampMs >= firstTimestampMs);
  }
  /**
   * Opens a segment by scanning every batch, rebuilding both indexes. Stops at the first problem
   * and returns it; the segment then describes only the good prefix, and the caller decides
   * whether to truncate (the log's tail) or refuse to open (a sealed segment).
   */
  static async openScanned(fs, dir, baseOffset, config) {
    const file = await fs.open(segmentPath(dir, baseOffset, ".log"), "rw");
    const segment = new _Segment(fs, dir, file, baseOffset, config);
    segment.offsetIndex = new SparseIndex("offset");
    segment.timeIndex = new SparseIndex("time");
    const fileBytes = await file.size();
    const scanner = segment.scanner(0, fileBytes);
    for (let batch = await scanner.next(); batch; batch = await scanner.next()) {
      if (batch.header.baseOffset !== segment.nextOffset) {
        const problem = {
          position: batch.position,
          reason: "bad-offset",
          detail: `batch at position ${batch.position} has base offset ${batch.header.baseOffset}, expected ${segment.nextOffset}`
        };
        return { segment, problem, fileBytes };
      }
      segment.recordAppended(batch.position, batch.header, batch.size);
    }
    return { segment, problem: scanner.problem, fileBytes };
  }
  /**
   * The first batch's baseTimestamp (for segmentMsMax), read from its header alone: opening a
   * sealed segment must cost the same whatever its size, so no chunk is read and no CRC checked.
   */
  async firstBatchTimestamp(fileBytes) {
    if (fileBytes < BATCH_HEADER_BYTES) return void 0;
    const header = new Uint8Array(BATCH_HEADER_BYTES);
    const read = await this.file.readInto(header, 0, BATCH_HEADER_BYTES, 0);
    return read === BATCH_HEADER_BYTES ? readBatchHeader(header).baseTimestamp : void 0;
  }
  get isEmpty() {
    return this.sizeBytes === 0;
  }
  scanner(startPosition, endPosition = this.sizeBytes) {
    return new BatchScanner(this.file, {
      startPosition,
      endPosition,
      chunkBytes: this.config.readChunkBytes,
      batchBytesMax: this.config.batchBytesMax
    });
  }
  /**
   * Advances the in-memory state over a batch that is now in the file at `position`. Index
   * entries go at the start of a batch every ~indexIntervalBytes; the time entry added with an
   * offset entry says "every record before this offset has a timestamp <= key".
   */
  recordAppended(position, header, sizeBytes) {
    const offsetIndex = this.requireIndex(this.offsetIndex);
    const timeIndex = this.requireIndex(this.timeIndex);
    if (this.sizeBytes === 0 || this.bytesSinceIndexEntry >= this.config.indexIntervalBytes) {
      const relativeOffset = Number(header.baseOffset - this.baseOffset);
      offsetIndex.append(relativeOffset, position);
      const lastTime = timeIndex.lastKey();
      if (this.sizeBytes > 0 && (lastTime === void 0 || this.maxTimestampMs > lastTime)) {
        timeIndex.append(this.maxTimestampMs, relativeOffset);
      }
      this.bytesSinceIndexEntry = 0;
    }
    this.advance(position, header, sizeBytes);
  }
  /** Moves size, next offset and timestamps past a batch, leaving the indexes alone. */
  advance(position, header, sizeBytes) {
    this.bytesSinceIndexEntry += sizeBytes;
    this.sizeBytes = position + sizeBytes;
    this.nextOffset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
    this.firstTimestampMs ??= header.baseTimestamp;
    if (header.maxTimestamp > this.maxTimestampMs) this.maxTimestampMs = header.maxTimestamp;
  }
  /** Byte position to start scanning from to find `offset` (which must be in this segment). */
  async positionFor(offset) {
    await this.ensureIndexes();
    return this.requireIndex(this.offsetIndex).floor(Number(offset - this.baseOffset))?.value ?? 0;
  }
  /** Byte position to start scanning from to find the first record with timestamp >= `timestampMs`. */
  async positionForTimestamp(timestampMs) {
    await this.ensureIndexes();
    const before2 = this.requireIndex(this.timeIndex).floor(timestampMs - 1);
    return before2 === void 0 ? 0 : await this.positionFor(this.baseOffset + BigInt(before2.value));
  }
  /** Fsyncs the log file. */
  async sync() {
    await this.file.sync();
  }
  /**
   * Makes the segment durable and self-describing: fsync the log, then write both index files
   * atomically. The final time entry records the segment's largest timestamp so that a reopen
   * can read it from the index without scanning.
   */
  async persist() {
    await this.file.sync();
    const offsetIndex = this.requireIndex(this.offsetIndex);
    const timeIndex = this.requireIndex(this.timeIndex);
    const lastTime = timeIndex.lastKey();
    if (this.sizeBytes > 0 && (lastTime === void 0 || this.maxTimestampMs > lastTime)) {
      timeIndex.append(this.maxTimestampMs, Number(this.nextOffset - this.baseOffset));
    }
    await writeFileAtomic(this.fs, segmentPath(this.dir, this.baseOffset, ".index"), offsetIndex.encode());
    await writeFileAtomic(this.fs, segmentPath(this.dir, this.baseOffset, ".timeindex"), timeIndex.encode());
  }
  async truncate(sizeBytes) {
    await this.file.truncate(sizeBytes);
  }
  async close() {
    await this.file.close();
  }
  /**
   * Deletes the segment's files: the log first, so a crash midway leaves orphan indexes (removed
   * at the next open), never a sealed log without its index. Reads already running keep their
   * open file (POSIX keeps an unlinked file readable through open descriptors).
   */
  async delete() {
    this.deleted = true;
    for (const suffix of [".log", ".index", ".timeindex"]) {
      await this.fs.unlink(segmentPath(this.dir, this.baseOffset, suffix));
    }
    if (this.readers === 0) await this.file.close();
  }
  /** Marks a read in progress; pair with `release()`. */
  retain() {
    this.readers += 1;
  }
  async release() {
    this.readers -= 1;
    assert(this.readers >= 0, "unbalanced release of a segment", { logPath: this.logPath });
    if (this.readers === 0 && this.deleted) await this.file.close();
  }
  /**
   * Loads the index files of a segment opened by openSealed. Should a file not parse (damage
   * after the open checked its last entry), the indexes are rebuilt by scanning the segment,
   * and a bad batch found then is corruption of a sealed segment: CORRUPT_SEGMENT.
   */
  ensureIndexes() {
    if (this.offsetIndex && this.timeIndex) return Promise.resolve();
    this.loadingIndexes ??= (async () => {
      const indexes = await this.readIndexFiles();
      if (indexes) {
        this.offsetIndex = indexes.offset;
        this.timeIndex = indexes.time;
        return;
      }
      await this.rebuildIndexes();
    })().finally(() => {
      this.loadingIndexes = void 0;
    });
    return this.loadingIndexes;
  }
  async rebuildIndexes() {
    const fileBytes = this.sizeBytes;
    const expectedNext = this.nextOffset;
    this.offsetIndex = new SparseIndex("offset");
    this.timeIndex = new SparseIndex("time");
    this.sizeBytes = 0;
    this.nextOffset = this.baseOffset;
    this.bytesSinceIndexEntry = 0;
    const scanner = this.scanner(0, fileBytes);
    for (let batch = await scanner.next(); batch; batch = await scanner.next()) this.recordAppended(batch.position, batch.header, batch.size);
    const problem = scanner.problem;
    if (problem || this.sizeBytes !== fileBytes || this.nextOffset !== expectedNext) {
      this.offsetIndex = void 0;
      this.timeIndex = void 0;
      const position = problem?.position ?? this.sizeBytes;
      throw new BrookError("CORRUPT_SEGMENT", `${this.logPath} at byte ${position}: ${problem?.detail ?? "batches do not reach the end of the file"}`, {
        file: this.logPath,
        position
      });
    }
    await this.persist();
  }
  async readIndexFiles() {
    const offsetBytes = await this.readIfExists(segmentPath(this.dir, this.baseOffset, ".index"));
    const timeBytes = await this.readIfExists(segmentPath(this.dir, this.baseOffset, ".timeindex"));
    if (!offsetBytes || !timeBytes) return void 0;
    const offset = SparseIndex.decode("offset", offsetBytes);
    const time = SparseIndex.decode("time", timeBytes);
    return offset && time ? { offset, time } : void 0;
  }
  async readIfExists(path) {
    return await this.fs.exists(path) ? await this.fs.readFile(path) : void 0;
  }
  requireIndex(index) {
    assert(index, "indexes are not loaded", { logPath: this.logPath });
    return index;
  }
};
async function readLastEntry(fs, path, entryBytes) {
  if (!await fs.exists(path)) return void 0;
  const file = await fs.open(path, "r");
  try {
    const size = await file.size();
    if (size === 0 || size % entryBytes !== 0) return void 0;
    const entry = new Uint8Array(entryBytes);
    const read = await file.readInto(entry, 0, entryBytes, size - entryBytes);
    return read === entryBytes ? new DataView(entry.buffer) : void 0;
  } finally {
    await file.close();
  }
}

// packages/broker/src/log/recovery.ts
async function recoverSegments(fs, dir, config, cleanShutdown) {
  await mkdirDurable(fs, dir);
  const { baseOffsets, removedFiles } = await listSegments(fs, dir, cleanShutdown);
  const report = { scannedSegments: 0, rebuiltIndexes: 0, truncatedBytes: 0, truncatedAtPosition: void 0, removedFiles };
  if (baseOffsets.length === 0) return { segments: [await Segment.create(fs, dir, 0n, config)], report };
  const segments = [];
  try {
    const last = baseOffsets.length - 1;
    for (let i = 0; i < last; i++) {
      if (i === last - 1 && !await hasIndexFiles(fs, dir, baseOffsets[i])) {
        const unsealed = await openUnsealed(fs, dir, baseOffsets[i], baseOffsets[last], config, report);
        segments.push(unsealed.segment);
        if (unsealed.isTail) {
          await removeTailIndexFiles(fs, dir, baseOffsets[i]);
          return { segments, report };
        }
        break;
      }
      const segment = await openSealed(fs, dir, baseOffsets[i], config, report);
      segments.push(segment);
      if (segment.nextOffset !== baseOffsets[i + 1]) {
        throw corruptSegmentError(segment.logPath, segment.sizeBytes, `offsets end at ${segment.nextOffset} but the next segment starts at ${baseOffsets[i + 1]}`);
      }
    }
    segments.push(await openTail(fs, dir, baseOffsets[last], config, cleanShutdown, report));
    await removeTailIndexFiles(fs, dir, baseOffsets[last]);
  } catch (error) {
    await Promise.all(segments.map((segment) => segment.close()));
    throw error;
  }
  return { segments, report };
}
async function openSealed(fs, dir, baseOffset, config, report) {
  const sealed = await Segment.openSealed(fs, dir, baseOffset, config);
  if (sealed !== "rebuild") return sealed;
  const scanned = await Segment.openScanned(fs, dir, baseOffset, config);
  report.scannedSegments += 1;
  if (scanned.problem) {
    await scanned.segment.close();
    throw corruptAt(scanned.segment, scanned.problem);
  }
  await scanned.segment.persist();
  report.rebuiltIndexes += 1;
  return scanned.segment;
}
async function openTail(fs, dir, baseOffset, config, cleanShutdown, report) {
  if (cleanShutdown) {
    const indexed = await Segment.openIndexed(fs, dir, baseOffset, config);
    if (indexed !== "rebuild" && !indexed.problem) return indexed.segment;
    if (indexed !== "rebuild") await indexed.segment.close();
  }
  const { segment, problem, fileBytes } = await Segment.openScanned(fs, dir, baseOffset, config);
  report.scannedSegments += 1;
  await cutAfterScan(segment, problem, fileBytes, report);
  await segment.sync();
  return segment;
}
async function cutAfterScan(segment, problem, fileBytes, report) {
  if (problem?.reason === "bad-offset") {
    await segment.close();
    throw corruptAt(segment, problem);
  }
  if (!problem && fileBytes === segment.sizeBytes) return;
  await segment.truncate(segment.sizeBytes);
  report.truncatedBytes += fileBytes - segment.sizeBytes;
  report.truncatedAtPosition = segment.sizeBytes;
}
async function hasIndexFiles(fs, dir, baseOffset) {
  return await fs.exists(segmentPath(dir, baseOffset, ".index")) && await fs.exists(segmentPath(dir, baseOffset, ".timeindex"));
}
async function openUnsealed(fs, dir, baseOffset, lastBaseOffset, config, report) {
  const { segment, problem, fileBytes } = await Segment.openScanned(fs, dir, baseOffset, config);
  report.scannedSegments += 1;
  if (!problem && fileBytes === segment.sizeBytes && segment.nextOffset === lastBaseOffset) {
    await segment.persist();
    report.rebuiltIndexes += 1;
    return { segment, isTail: false };
  }
  await cutAfterScan(segment, problem, fileBytes, report);
  report.truncatedBytes += await deleteSegmentFiles(fs, dir, lastBaseOffset, report.removedFiles);
  await fs.syncDir(dir);
  await segment.sync();
  return { segment, isTail: true };
}
async function removeTailIndexFiles(fs, dir, baseOffset) {
  if ((await unlinkSegmentFiles(fs, dir, baseOffset, [".index", ".timeindex"])).length > 0) await fs.syncDir(dir);
}
async function deleteSegmentFiles(fs, dir, baseOffset, removed) {
  const log = await fs.open(segmentPath(dir, baseOffset, ".log"), "r");
  const logBytes = await log.size();
  await log.close();
  removed.push(...await unlinkSegmentFiles(fs, dir, baseOffset, [".log", ".index", ".timeindex"]));
  return logBytes;
}
async function unlinkSegmentFiles(fs, dir, baseOffset, kinds) {
  const unlinked = [];
  for (const kind of kinds) {
    const path = segmentPath(dir, baseOffset, kind);
    if (!await fs.exists(path)) continue;
    await fs.unlink(path);
    unlinked.push(`${segmentStem(baseOffset)}${kind}`);
  }
  return unlinked;
}
async function listSegments(fs, dir, cleanShutdown) {
  const names = await fs.readdir(dir);
  const baseOffsets = names.map(parseSegmentLogName).filter((base) => base !== void 0);
  const stems = new Set(baseOffsets.map(segmentStem));
  const removedFiles = [];
  for (const name of names) {
    const indexStem = parseIndexFileStem(name);
    if (isAtomicWriteLeftover(name) || indexStem !== void 0 && !stems.has(indexStem)) {
      await fs.unlink(`${dir}/${name}`);
      removedFiles.push(name);
    }
  }
  if (removedFiles.length > 0 || !cleanShutdown) await fs.syncDir(dir);
  baseOffsets.sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
  return { baseOffsets, removedFiles };
}
function corruptAt(segment, problem) {
  return corruptSegmentError(segment.logPath, problem.position, `${problem.reason}: ${problem.detail}`);
}
function corruptSegmentError(file, position, detail) {
  return new BrookError("CORRUPT_SEGMENT", `${file} at byte ${position}: ${detail}`, { file, position });
}

// packages/broker/src/log/retention.ts
function segmentsToDelete(segments, policy, nowMs, consumedBelow) {
  let totalBytes = 0;
  for (const segment of segments) totalBytes += segment.sizeBytes;
  let count = 0;
  while (count < segments.length - 1) {
    const oldest = segments[count];
    const tooBig = policy.discard === "new" ? consumedBelow !== void 0 && oldest.nextOffset <= consumedBelow : policy.maxBytes !== void 0 && totalBytes > policy.maxBytes;
    const tooOld = policy.maxAgeMs !== void 0 && oldest.maxTimestampMs < nowMs - policy.maxAgeMs;
    if (!tooBig && !tooOld) break;
    totalBytes -= oldest.sizeBytes;
    count += 1;
  }
  return count;
}
function wholeLogExpired(segments, policy, nowMs) {
  const { maxAgeMs } = policy;
  if (maxAgeMs === void 0 || segments.every((segment) => segment.isEmpty)) return false;
  return segments.every((segment) => segment.maxTimestampMs < nowMs - maxAgeMs);
}

// packages/broker/src/log/log-reader.ts
var LogReader = class {
  constructor(segments, endOffset) {
    this.segments = segments;
    this.endOffset = endOffset;
  }
  segments;
  endOffset;
  async read(offset, limits) {
    const endOffset = this.endOffset();
    const result = { batches: [], totalBytes: 0, records: 0 };
    let from = offset;
    while (from < endOffset) {
      const segment = this.segmentFor(from);
      if (!segment) break;
      const full = await this.readSegment(segment, from, offset, endOffset, limits, result);
      if (full) break;
      from = segment.nextOffset;
    }
    return result.batches;
  }
  /** The first offset whose record has timestamp >= `timestampMs`, or endOffset if none has. */
  async offsetForTimestamp(timestampMs) {
    const endOffset = this.endOffset();
    for (const segment of [...this.segments]) {
      if (segment.maxTimestampMs < timestampMs) continue;
      const found = await this.withSegment(segment, async () => {
        const scanner = segment.scanner(await segment.positionForTimestamp(timestampMs));
        for (let batch = await scanner.next(); batch; batch = await scanner.next()) {
          if (batch.header.baseOffset >= endOffset) return void 0;
          if (batch.header.maxTimestamp < timestampMs) continue;
          const record = decodeBatch(batch.bytes, 0, { crcVerified: true }).records.find((r) => r.timestamp >= timestampMs);
          if (record && record.offset < endOffset) return record.offset;
        }
        if (scanner.problem) throw corruptSegmentError(segment.logPath, scanner.problem.position, scanner.problem.detail);
        return void 0;
      });
      if (found !== void 0) return found;
    }
    return endOffset;
  }
  /** Adds batches of one segment to `result`; returns true when the read is complete. */
  readSegment(segment, from, offset, endOffset, limits, result) {
    return this.withSegment(segment, async () => {
      const scanner = segment.scanner(await segment.positionFor(from));
      for (let batch = await scanner.next(); batch; batch = await scanner.next()) {
        if (batch.header.baseOffset >= endOffset) return true;
        if (addToRead(result, batch.header, batch.bytes, offset, limits)) return true;
      }
      if (scanner.problem) throw corruptSegmentError(segment.logPath, scanner.problem.position, `${scanner.problem.reason}: ${scanner.problem.detail}`);
      return false;
    });
  }
  async withSegment(segment, body) {
    segment.retain();
    try {
      return await body();
    } finally {
      await segment.release();
    }
  }
  /** The segment holding `offset`: the last one whose base offset is <= it. */
  segmentFor(offset) {
    return this.segments[lastIndexWhere(this.segments.length, (i) => this.segments[i].baseOffset <= offset)];
  }
};
function addToRead(result, header, bytes, offset, limits, cached = false) {
  if (header.baseOffset + BigInt(header.lastOffsetDelta) < offset) return false;
  if (result.batches.length > 0 && result.totalBytes + bytes.length > limits.maxBytes) return true;
  result.batches.push(cached && limits.shared === true ? { header, bytes } : { header: { ...header }, bytes: slabCopy(bytes) });
  result.totalBytes += bytes.length;
  result.records += recordsFrom(header, offset);
  return result.totalBytes >= limits.maxBytes || result.records >= (limits.maxRecords ?? Number.POSITIVE_INFINITY);
}
function recordsFrom(header, offset) {
  const skipped = offset > header.baseOffset ? Number(offset - header.baseOffset) : 0;
  return Math.max(0, header.recordCount - skipped);
}

// packages/broker/src/log/tail-cache.ts
var TailCache = class {
  constructor(maxBytes) {
    this.maxBytes = maxBytes;
  }
  maxBytes;
  /** Oldest first; entries before `head` are evicted and dropped in bulk by `compact`. */
  batches = [];
  head = 0;
  bytes = 0;
  /** A batch the log has just made visible, right after the previous one. */
  add(header, bytes) {
    if (bytes.length > this.maxBytes) {
      this.batches = [];
      this.head = 0;
      this.bytes = 0;
      return;
    }
    const owned = bytes.byteLength * 4 >= bytes.buffer.byteLength * 3 || isSlabView(bytes) ? bytes : bytes.slice();
    this.batches.push({ header, bytes: owned });
    this.bytes += owned.length;
    while (this.bytes > this.maxBytes) this.bytes -= this.batches[this.head++].bytes.length;
    if (this.head > 64 && this.head * 2 > this.batches.length) this.compact();
  }
  /** What LogReader.read would return for `offset` (below the cache's end, the log's endOffset),
   * or undefined if `offset` is before the cached run. */
  read(offset, limits) {
    const { batches, head } = this;
    if (head === batches.length || offset < batches[head].header.baseOffset) return void 0;
    const at = head + lastIndexWhere(batches.length - head, (i) => batches[head + i].header.baseOffset <= offset);
    const result = { batches: [], totalBytes: 0, records: 0 };
    for (let i = at; i < batches.length; i++) {
      if (addToRead(result, batches[i].header, batches[i].bytes, offset, limits, true)) break;
    }
    return result.batches;
  }
  compact() {
    this.batches = this.batches.slice(this.head);
    this.head = 0;
  }
};

// packages/broker/src/log/flush-behind.ts
var FlushBehind = class {
  /**
   * @param sync fsyncs everything written so far (the active segment and the seal behind it);
   *   called when an fsync starts, so it sees the segments of that moment.
   * @param failed records a failed fsync as the log's failure and returns the error to answer with.
   */
  constructor(sync, failed) {
    this.sync = sync;
    this.failed = failed;
  }
  sync;
  failed;
  running;
  waiting = [];
  /** Resolves `flushes` once an fsync that started after this call has succeeded. */
  request(flushes) {
    this.waiting.push(...flushes);
    if (!this.running) this.start();
  }
  /** Resolves once no fsync runs or waits (close, once nothing can ask for more). */
  async idle() {
    while (this.running) await this.running;
  }
  /**
   * Resolves once the fsync running now, if any, has ended: retention before it deletes files.
   * An fsync that starts later syncs the segments of its moment, never one retention took out
   * of the log before; and waiting for idle() instead could wait for ever while produces go on
   * and each fsync takes longer than intervalMs, the next one starting as the last ends.
   */
  async settled() {
    await this.running;
  }
  start() {
    const flushes = this.waiting;
    this.waiting = [];
    this.running = this.sync().then(
      () => {
        for (const flush of flushes) flush.resolve();
      },
      (error) => {
        const failure = this.failed(error);
        for (const flush of [...flushes, ...this.waiting]) flush.reject(failure);
        this.waiting = [];
      }
    ).finally(() => {
      this.running = void 0;
      if (this.waiting.length > 0) this.start();
    });
  }
};

// packages/broker/src/log/log-failure.ts
function asIoError(error) {
  return error instanceof BrookError ? error : new BrookError("IO_ERROR", String(error), {}, { cause: error });
}
function logFailure(dir, error) {
  const ioError2 = asIoError(error);
  return new BrookError("IO_ERROR", `log ${dir} failed and must be reopened: ${ioError2.message}`, { dir, ...ioError2.details }, { cause: error });
}
function isWriteFailure(error) {
  return error instanceof BrookError && error.details["op"] === "write";
}

// packages/broker/src/log/partition-log.ts
var PartitionLog = class _PartitionLog {
  constructor(options, segments, recovery) {
    this.options = options;
    this.segments = segments;
    this.recovery = recovery;
    this.visibleEndOffset = this.active.nextOffset;
    this.reader = new LogReader(segments, () => this.visibleEndOffset);
    this.tail = new TailCache(options.tailCacheBytes);
  }
  options;
  recovery;
  segments;
  reader;
  tail;
  appendQueue = [];
  flushQueue = [];
  draining;
  visibleEndOffset;
  /** Set when an fsync or roll failed: the file's durable state is unknown until reopen. */
  failure;
  closed = false;
  syncTimer;
  dirty = false;
  /** The seal of the segment before the active one while it runs; cleared when it succeeds. */
  sealing;
  /** applyRetention calls deleting files: close() waits for them (see applyRetention). */
  retaining = /* @__PURE__ */ new Set();
  /** sealActive() asked the next round to start a new segment first. */
  rollRequested = false;
  /** Flushes under fsync 'never' and { intervalMs }: fsyncs beside the rounds. */
  flushBehind = new FlushBehind(() => {
    if (this.failure) return Promise.reject(this.failure);
    this.dirty = false;
    return Promise.all([this.active.sync(), this.sealing]).then(() => void 0);
  }, (error) => this.fail(error));
  static async open(options) {
    const { segments, report } = await recoverSegments(options.fs, options.dir, options, options.cleanShutdown);
    return new _PartitionLog(options, segments, report);
  }
  get startOffset() {
    return this.segments[0].baseOffset;
  }
  /** The offset the next record will get, counting only appends that have resolved. */
  get endOffset() {
    return this.visibleEndOffset;
  }
  get sizeBytes() {
    return this.segments.reduce((total, segment) => total + segment.sizeBytes, 0);
  }
  get segmentCount() {
    return this.segments.length;
  }
  /** Why the log refuses writes until it is reopened (a failed fsync, seal or torn round); undefined while healthy. */
  get failed() {
    return this.failure;
  }
  /**
   * Appends one encoded record batch; the log assigns its offsets (patching baseOffset in place,
   * which the CRC does not cover). Resolves once the batch is written and, under
   * fsync 'always', fsynced. The caller hands over `bytes` and must not touch them afterwards;
   * they must be a valid batch, CRC included (the tail cache serves them without a check).
   */
  append(bytes) {
    const unusable = this.unusableError();
    if (unusable) return Promise.reject(unusable);
    const header = readBatchHeader(bytes);
    if (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1 || bytes.length !== 12 + header.batchLength) {
      return Promise.reject(new BrookError("CORRUPT_BATCH", "batch header does not match its bytes", {
        recordCount: header.recordCount,
        lastOffsetDelta: header.lastOffsetDelta,
        batchLength: header.batchLength,
        bytes: bytes.length
      }));
    }
    return new Promise((resolve, reject) => {
      this.appendQueue.push({ bytes, header, resolve, reject });
      this.kick();
    });
  }
  /** Fsyncs everything appended so far (what fsync { intervalMs } does on its timer). */
  flush() {
    const unusable = this.unusableError();
    if (unusable) return Promise.reject(unusable);
    return new Promise((resolve, reject) => {
      this.flushQueue.push({ resolve, reject });
      this.kick();
    });
  }
  /**
   * Starts a new segment now if the active one holds anything, and resolves once that one is
   * sealed and everything is durable (a flush). applyRetention never deletes the active segment:
   * a discard 'new' partition whose groups consumed all of it, or one whose every record is past
   * maxAgeMs, calls this to make its records deletable (an append would roll it, but the first
   * refuses appends and the second gets none).
   */
  sealActive() {
    this.rollRequested = true;
    return this.flush();
  }
  /** Batches holding offsets >= `offset` (the first may start before it), below endOffset. */
  read(offset, limits) {
    if (this.closed) return Promise.reject(new BrookError("CLOSED", `log ${this.options.dir} is closed`));
    if (offset < this.startOffset || offset > this.endOffset) {
      return Promise.reject(new BrookError("OFFSET_OUT_OF_RANGE", `offset ${offset} is outside [${this.startOffset}, ${this.endOffset}]`, {
        offset,
        startOffset: this.startOffset,
        endOffset: this.endOffset
      }));
    }
    return Promise.resolve(this.tail.read(offset, limits) ?? this.reader.read(offset, limits));
  }
  /** The first offset whose record timestamp is >= `timestampMs`, or endOffset if none is. */
  offsetForTimestamp(timestampMs) {
    return this.reader.offsetForTimestamp(timestampMs);
  }
  /** True when the log holds records and every one is older than `policy.maxAgeMs` (wholeLogExpired). */
  expiredWhole(policy) {
    return wholeLogExpired(this.segments, policy, this.options.clock.now());
  }
  /**
   * Deletes whole segments per `policy`; `startOffset` moves to the first kept segment. Files go by
   * path: a closed log deletes none (CLOSED), and close() waits for deletions under way, or a topic
   * deleted meanwhile could be made again, with the same file names, before they are done.
   */
  async applyRetention(policy, consumedBelow) {
    if (this.closed) throw new BrookError("CLOSED", `log ${this.options.dir} is closed`);
    const previousStartOffset = this.startOffset;
    const count = segmentsToDelete(this.segments, policy, this.options.clock.now(), consumedBelow);
    const deleted = this.segments.splice(0, count);
    const startOffset = this.startOffset;
    let done = () => void 0;
    const retained = new Promise((resolve) => done = resolve);
    this.retaining.add(retained);
    try {
      if (count > 0) await Promise.all([this.sealing?.catch(() => void 0), this.flushBehind.settled()]);
      for (const segment of deleted) await segment.delete();
      if (count > 0) await this.options.fs.syncDir(this.options.dir);
    } finally {
      this.retaining.delete(retained);
      done();
    }
    return { deletedSegments: count, previousStartOffset, startOffset };
  }
  /** Waits for pending appends, fsyncs, writes the active segment's index files, closes files. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    this.syncTimer?.cancel();
    await this.draining;
    await Promise.all([this.sealing?.catch(() => void 0), this.flushBehind.idle(), ...this.retaining]);
    try {
      if (!this.failure) await this.active.persist();
    } finally {
      await Promise.all(this.segments.map((segment) => segment.close()));
    }
  }
  /** The log stops taking writes until it is reopened (the first failure is the one reported). */
  fail(error) {
    if (!this.failure) {
      this.failure = logFailure(this.options.dir, error);
      this.options.onFailure?.(this.failure);
    }
    return this.failure;
  }
  get active() {
    return this.segments[this.segments.length - 1];
  }
  unusableError() {
    if (this.closed) return new BrookError("CLOSED", `log ${this.options.dir} is closed`);
    return this.failure;
  }
  kick() {
    this.draining ??= this.drain();
  }
  /**
   * Runs rounds until the queues are empty. `draining` is cleared in the same synchronous step
   * that sees the queues empty: an append queued by a continuation of the previous round is
   * either seen by the loop or finds `draining` unset and starts a new drain, never neither.
   */
  async drain() {
    await void 0;
    try {
      while ((this.appendQueue.length > 0 || this.flushQueue.length > 0) && !this.failure) {
        const appends = this.appendQueue;
        const flushes = this.flushQueue;
        this.appendQueue = [];
        this.flushQueue = [];
        await this.runRound(appends, flushes);
      }
      if (this.failure) this.rejectQueued(this.failure);
    } finally {
      this.draining = void 0;
    }
  }
  /** Writes one round of appends, rolling segments as needed, then fsyncs once if required. */
  async runRound(appends, flushes) {
    let written = 0;
    try {
      if (this.rollRequested) {
        this.rollRequested = false;
        if (this.active.sizeBytes > 0) await this.roll();
      }
      let runStart = 0;
      let runBytes = 0;
      let nextOffset = this.active.nextOffset;
      for (let i = 0; i < appends.length; i++) {
        const append = appends[i];
        if (this.shouldRoll(runBytes, append)) {
          written += await this.writeRun(appends.slice(runStart, i));
          await this.roll();
          runStart = i;
          runBytes = 0;
        }
        setBaseOffset(append.bytes, nextOffset);
        append.header.baseOffset = nextOffset;
        nextOffset += BigInt(append.header.recordCount);
        runBytes += append.bytes.length;
      }
      written += await this.writeRun(appends.slice(runStart));
      if (this.options.fsync === "always") await Promise.all([this.syncActive(), this.sealing]);
    } catch (error) {
      this.failRound(appends, written, flushes, error);
      return;
    }
    this.visibleEndOffset = this.active.nextOffset;
    for (const append of appends) {
      this.tail.add(append.header, append.bytes);
      append.resolve({ baseOffset: append.header.baseOffset, lastOffset: append.header.baseOffset + BigInt(append.header.lastOffsetDelta) });
    }
    if (this.options.fsync === "always") for (const flush of flushes) flush.resolve();
    else if (flushes.length > 0) this.flushBehind.request(flushes);
  }
  /** Writes a run of batches into the active segment with one write call; returns how many. */
  async writeRun(run) {
    if (run.length === 0) return 0;
    const segment = this.active;
    const position = segment.sizeBytes;
    const bytes = run.length === 1 ? run[0].bytes : concatBytes(run.map((append) => append.bytes));
    try {
      await segment.file.write(bytes, position);
    } catch (error) {
      await segment.truncate(position).catch(() => void 0);
      throw error;
    }
    let at = position;
    for (const append of run) {
      segment.recordAppended(at, append.header, append.bytes.length);
      at += append.bytes.length;
    }
    this.dirty = true;
    this.armSyncTimer();
    return run.length;
  }
  shouldRoll(runBytes, append) {
    const segment = this.active;
    const bytes = segment.sizeBytes + runBytes;
    if (bytes === 0) return false;
    if (bytes + append.bytes.length > this.options.segmentBytesMax) return true;
    const firstTimestampMs = segment.firstTimestampMs ?? append.header.baseTimestamp;
    return append.header.maxTimestamp - firstTimestampMs >= this.options.segmentMsMax;
  }
  /**
   * Starts a new segment at the active one's next offset and seals the full one behind it. The
   * seal of the previous roll must have finished first, which keeps every segment but the last
   * two sealed.
   */
  async roll() {
    await this.sealing;
    const full = this.active;
    this.segments.push(await Segment.create(this.options.fs, this.options.dir, full.nextOffset, this.options));
    this.dirty = false;
    this.sealBehind(full);
  }
  /**
   * Seals a full segment in the background. A failure fails the log as a failed fsync does (the
   * durable state is unknown until a reopen recovers it), and the rejected seal stays in
   * `sealing`, so that every later round that must be durable rejects with it.
   */
  sealBehind(full) {
    const sealing = full.persist().then(() => {
      if (this.sealing === sealing) this.sealing = void 0;
    }, (error) => {
      this.fail(error);
      throw error;
    });
    sealing.catch(() => void 0);
    this.sealing = sealing;
  }
  async syncActive() {
    await this.active.sync();
    this.dirty = false;
  }
  /**
   * A failed write (nothing recorded, file cut back) only fails its round: the log stays usable.
   * A failed fsync or roll leaves the durable state unknown (the kernel may have dropped the
   * dirty pages: "fsyncgate"), so the log stops taking writes until it is reopened and recovered.
   */
  failRound(appends, written, flushes, error) {
    if (written > 0 || !isWriteFailure(error)) this.fail(error);
    const rejection = this.failure ?? asIoError(error);
    for (const append of appends) append.reject(rejection);
    for (const flush of flushes) flush.reject(rejection);
  }
  rejectQueued(error) {
    for (const append of this.appendQueue) append.reject(error);
    for (const flush of this.flushQueue) flush.reject(error);
    this.appendQueue = [];
    this.flushQueue = [];
  }
  /**
   * Under { intervalMs }: a write left the log dirty, so an fsync is due within intervalMs. Armed
   * by the write, not ticking on its own: an idle log (a broker may hold thousands) wakes nobody.
   * A write while it is armed shares its fsync, which comes sooner than its own would; so every
   * append is on disk within intervalMs, plus the flush's wait for an fsync already running.
   */
  armSyncTimer() {
    const fsync = this.options.fsync;
    if (typeof fsync !== "object" || this.syncTimer || this.closed) return;
    this.syncTimer = this.options.clock.setTimer(fsync.intervalMs, () => {
      this.syncTimer = void 0;
      if (this.closed || this.failure || !this.dirty) return;
      this.flush().catch(() => void 0);
    });
  }
};

// packages/broker/src/topics/record-input.ts
function toRecordInput(record, position, nowMs) {
  if (typeof record !== "object" || record === null) throw invalidRecord(position, "a record must be an object");
  const timestamp = recordTimestamp(record.timestamp, nowMs, position);
  checkRecordPartition(record.partition, position);
  if (record.value === void 0) throw invalidRecord(position, "value must be a string, Uint8Array or null, got undefined");
  return {
    key: toRecordField(record.key, position, "key"),
    value: toRecordField(record.value, position, "value"),
    headers: record.headers === void 0 ? void 0 : toRecordHeaders(record.headers, position),
    timestamp
  };
}

// packages/broker/src/topics/topic.ts
var TOPIC_FILE = "topic.json";
var PARTITION_DIR_NAME = /^(0|[1-9]\d*)$/;
var TOPIC_FILE_VERSION = 1;
var READ_CHUNK_BYTES = 1024 * 1024;
function logDefaultsFor(broker) {
  const { fs, clock, fsync, dir, limits } = broker;
  return {
    fs,
    clock,
    fsync,
    cleanShutdown: dir.cleanShutdown,
    onFailure: () => dir.storageFailed(),
    indexIntervalBytes: limits.indexIntervalBytes,
    readChunkBytes: READ_CHUNK_BYTES,
    tailCacheBytes: limits.logTailCacheBytes,
    // Scans accept any batch the format allows, not just what today's produce limit allows.
    batchBytesMax: LIMITS.batchBytesMax.max
  };
}
function partitionDir(topicDir, partition) {
  return `${topicDir}/${partition}`;
}
var SEGMENTS_PER_RETENTION = 4;
function segmentBoundFor(max, defaultValue, min) {
  if (max === void 0) return defaultValue;
  return Math.min(defaultValue, Math.max(min, Math.floor(max / SEGMENTS_PER_RETENTION)));
}
var CREATE_TOPIC_KEYS = { partitions: true, retention: true, segmentBytesMax: true, segmentMsMax: true };
function resolveTopicConfig(options, defaults) {
  checkOptionKeys(options, CREATE_TOPIC_KEYS);
  if (options.retention !== void 0) checkOptionKeys(options.retention, RETENTION_OPTION_KEYS, "retention");
  const retention = options.retention ?? {};
  if (retention.maxBytes !== void 0) checkPositiveInteger("retention.maxBytes", retention.maxBytes);
  if (retention.maxAgeMs !== void 0) checkPositiveInteger("retention.maxAgeMs", retention.maxAgeMs);
  const discard = retention.discard ?? "old";
  if (discard !== "old" && discard !== "new") {
    throw new BrookError("INVALID_CONFIG", `retention.discard must be 'old' or 'new', got ${JSON.stringify(discard)}`, { option: "retention.discard" });
  }
  if (discard === "new" && retention.maxBytes === void 0) {
    throw new BrookError("INVALID_CONFIG", "retention.discard 'new' needs retention.maxBytes: the size at which producers are refused", { option: "retention.discard" });
  }
  return {
    // Named as the caller wrote it: details.option is 'partitions', checked against partitionsMax.
    partitions: checkLimitValue("partitions", LIMITS.partitionsMax, options.partitions ?? 1),
    retention: { maxBytes: retention.maxBytes, maxAgeMs: retention.maxAgeMs, discard },
    segmentBytesMax: options.segmentBytesMax === void 0 ? segmentBoundFor(retention.maxBytes, defaults.segmentBytesMax, LIMITS.segmentBytesMax.min) : checkLimit("segmentBytesMax", options.segmentBytesMax),
    segmentMsMax: options.segmentMsMax === void 0 ? segmentBoundFor(retention.maxAgeMs, defaults.segmentMsMax, LIMITS.segmentMsMax.min) : checkLimit("segmentMsMax", options.segmentMsMax)
  };
}
var Topic = class _Topic {
  constructor(name, config, partitions) {
    this.name = name;
    this.config = config;
    this.partitions = partitions;
  }
  name;
  config;
  partitions;
  nextRoundRobinPartition = 0;
  static async create(fs, dir, name, config, logDefaults, onFailure) {
    await fs.rmdir(dir);
    await mkdirDurable(fs, dir);
    const partitions = await openPartitions(dir, name, config, logDefaults, onFailure);
    const file = { version: TOPIC_FILE_VERSION, name, ...config };
    try {
      await writeFileAtomic(fs, `${dir}/${TOPIC_FILE}`, new TextEncoder().encode(JSON.stringify(file, null, 2)));
    } catch (error) {
      await Promise.allSettled(partitions.map((log) => log.close()));
      throw error;
    }
    return new _Topic(name, config, partitions);
  }
  /** Opens a topic directory; undefined if it has no topic.json (an interrupted create). */
  static async open(fs, dir, logDefaults, onFailure) {
    if (!await fs.exists(`${dir}/${TOPIC_FILE}`)) return void 0;
    if (!logDefaults.cleanShutdown) await fs.syncDir(dir);
    const file = parseTopicFile(`${dir}/${TOPIC_FILE}`, await fs.readFile(`${dir}/${TOPIC_FILE}`), basename(dir));
    await checkPartitionDirs(fs, dir, file.config.partitions);
    const partitions = await openPartitions(dir, file.name, file.config, logDefaults, onFailure);
    return new _Topic(file.name, file.config, partitions);
  }
  /**
   * deleteTopic's commit point: topic.json goes, durably (the mirror of create, which writes it
   * last). From then on the directory is no topic: the next open removes whatever is left of it.
   */
  static uncommit(fs, dir) {
    return uncommitDir(fs, dir, TOPIC_FILE);
  }
  /** Its settings and, per partition, offsets and size (describeTopic). */
  describe() {
    const { retention, segmentBytesMax, segmentMsMax } = this.config;
    return {
      name: this.name,
      settings: {
        // Only the limits that are set: a description reads the same in process and as JSON.
        retention: {
          ...retention.maxBytes === void 0 ? {} : { maxBytes: retention.maxBytes },
          ...retention.maxAgeMs === void 0 ? {} : { maxAgeMs: retention.maxAgeMs },
          discard: retention.discard ?? "old"
        },
        segmentBytesMax,
        segmentMsMax
      },
      partitions: this.partitions.map((log, partition) => ({
        partition,
        startOffset: log.startOffset,
        endOffset: log.endOffset,
        sizeBytes: log.sizeBytes,
        segments: log.segmentCount,
        failure: failureOf(log)
      }))
    };
  }
  partition(index) {
    const log = this.partitions[index];
    if (!log) {
      throw new BrookError("UNKNOWN_PARTITION", `topic ${this.name} has no partition ${index} (it has ${this.partitions.length})`, {
        topic: this.name,
        partition: index,
        partitions: this.partitions.length
      });
    }
    return log;
  }
  /**
   * The records of one produce call split by partition (explicit `partition`, else murmur2 of the
   * key like Kafka's default partitioner, else round-robin), each with its position in the call.
   */
  splitByPartition(records, nowMs) {
    const byPartition = /* @__PURE__ */ new Map();
    for (let position = 0; position < records.length; position++) {
      const record = records[position];
      const input = toRecordInput(record, position, nowMs);
      const partition = this.partitionFor(record, input.key);
      let part = byPartition.get(partition);
      if (!part) byPartition.set(partition, part = { inputs: [], positions: [] });
      part.inputs.push(input);
      part.positions.push(position);
    }
    return byPartition;
  }
  partitionFor(record, key) {
    if (record.partition !== void 0) {
      this.partition(record.partition);
      return record.partition;
    }
    return key === null ? this.nextPartitionForNullKey() : partitionForKey(key, this.partitions.length);
  }
  /** Partition for a record without a key: round-robin, as the issue asks (Kafka now sticks per batch). */
  nextPartitionForNullKey() {
    const partition = this.nextRoundRobinPartition;
    this.nextRoundRobinPartition = (partition + 1) % this.partitions.length;
    return partition;
  }
  async close() {
    await Promise.all(this.partitions.map((log) => log.close()));
  }
};
function failureOf(log) {
  const failure = log.failed;
  return failure ? { code: failure.code, message: failure.message } : null;
}
async function openPartitions(dir, name, config, logDefaults, onFailure) {
  const logs = [];
  try {
    for (let partition = 0; partition < config.partitions; partition++) {
      logs.push(await PartitionLog.open({
        ...logDefaults,
        dir: partitionDir(dir, partition),
        segmentBytesMax: config.segmentBytesMax,
        segmentMsMax: config.segmentMsMax,
        onFailure: (error) => {
          logDefaults.onFailure?.(error);
          onFailure(name, partition, error);
        }
      }));
    }
  } catch (error) {
    await Promise.all(logs.map((log) => log.close()));
    throw error;
  }
  return logs;
}
async function checkPartitionDirs(fs, dir, partitions) {
  const file = `${dir}/${TOPIC_FILE}`;
  for (let partition = 0; partition < partitions; partition++) {
    const path = partitionDir(dir, partition);
    const names = await fs.exists(path) ? await fs.readdir(path) : [];
    if (names.some((name) => parseSegmentLogName(name) !== void 0)) continue;
    throw new BrookError("CORRUPT_METADATA", `${file} has partition ${partition}, but ${path} holds no segment file: its records are lost`, { file, partition });
  }
  const beyond = await partitionDirsBeyond(fs, dir, partitions);
  if (beyond.length > 0) {
    throw new BrookError("CORRUPT_METADATA", `${file} has ${partitions} partition(s), but ${dir} also holds partition directories ${beyond.join(", ")}: records no read would reach`, {
      file,
      partition: beyond[0]
    });
  }
}
async function partitionDirsBeyond(fs, dir, partitions) {
  const beyond = [];
  for (const name of await fs.readdir(dir)) {
    if (!PARTITION_DIR_NAME.test(name) || Number(name) < partitions) continue;
    if (await isDirectory(fs, `${dir}/${name}`)) beyond.push(Number(name));
  }
  return beyond.sort((a, b) => a - b);
}
function parseTopicFile(path, bytes, dirName) {
  try {
    const file = JSON.parse(new TextDecoder().decode(bytes));
    if (file["version"] !== TOPIC_FILE_VERSION || typeof file["name"] !== "string") throw new Error("unknown version or missing name");
    if (file["name"] !== dirName) throw new Error(`it names topic ${JSON.stringify(file["name"])}, but its directory is ${JSON.stringify(dirName)}`);
    if (typeof file["segmentBytesMax"] !== "number" || typeof file["segmentMsMax"] !== "number") throw new Error("missing segment limits");
    const { version: _version, name: _name, ...options } = file;
    const config = resolveTopicConfig(options, { segmentBytesMax: file["segmentBytesMax"], segmentMsMax: file["segmentMsMax"] });
    return { name: file["name"], config };
  } catch (error) {
    throw new BrookError("CORRUPT_METADATA", `${path} is not a valid topic file: ${String(error)}`, { file: path }, { cause: error });
  }
}
function checkPositiveInteger(option, value) {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new BrookError("INVALID_CONFIG", `${option} must be a positive integer, got ${String(value)}`, { option, value });
  }
}

// packages/broker/src/ending-errors.ts
function brokerClosedError() {
  return new BrookError("CLOSED", "broker is closed");
}
function topicDeletedError(topic) {
  return new BrookError("UNKNOWN_TOPIC", `topic ${topic} was deleted`, { topic });
}

// packages/broker/src/topics/topic-registry.ts
var TopicRegistry = class {
  topics = /* @__PURE__ */ new Map();
  creating = /* @__PURE__ */ new Map();
  deleting = /* @__PURE__ */ new Map();
  closed = false;
  /** Opens every topic under `root`, removing a directory left by an interrupted create (no topic.json). */
  async open(fs, root, logDefaults, onFailure) {
    for (const name of await namedDirs(fs, root)) {
      const topic = await Topic.open(fs, `${root}/${name}`, logDefaults, onFailure);
      if (topic) this.topics.set(topic.name, topic);
      else await fs.rmdir(`${root}/${name}`);
    }
  }
  has(name) {
    return this.topics.has(name);
  }
  get(name) {
    const topic = this.topics.get(name);
    if (!topic) throw new BrookError("UNKNOWN_TOPIC", `no topic named ${JSON.stringify(name)}`, { topic: name });
    return topic;
  }
  names() {
    return [...this.topics.keys()].sort();
  }
  values() {
    return this.topics.values();
  }
  /** Adds the topic `make` creates, once no delete of the name is under way. */
  async create(name, make) {
    const deleting = this.deleting.get(name);
    if (deleting) await deleting.catch(() => void 0);
    if (this.closed) throw brokerClosedError();
    if (this.topics.has(name) || this.creating.has(name)) throw new BrookError("TOPIC_EXISTS", `topic ${name} already exists`, { topic: name });
    const creating = make().then((topic) => void this.topics.set(name, topic));
    this.creating.set(name, creating);
    try {
      await creating;
    } finally {
      this.creating.delete(name);
    }
  }
  /** Resolves once the topic exists: now, when a create under way ends, or by `create`. */
  async ensure(name, create) {
    if (this.topics.has(name)) return;
    const creating = this.creating.get(name);
    if (creating) return creating;
    await create();
  }
  /**
   * Takes the topic off the registry at once (UNKNOWN_TOPIC from then on), then runs `commit`, the
   * delete's commit point. If that fails, the delete has changed nothing: the topic is back, and
   * the error (IO_ERROR, retriable) says the delete can be tried again. After it, `removeRest`.
   */
  async delete(name, commit, removeRest) {
    const topic = this.get(name);
    this.topics.delete(name);
    const deleting = (async () => {
      try {
        await commit();
      } catch (error) {
        this.topics.set(name, topic);
        throw error;
      }
      await removeRest(topic);
    })();
    this.deleting.set(name, deleting);
    try {
      await deleting;
    } finally {
      this.deleting.delete(name);
    }
  }
  /**
   * What an operation on `topic` that failed with `error` throws: UNKNOWN_TOPIC if it was a CLOSED
   * from the topic's logs, closed by a delete under way, else `error`. A function of the error,
   * not a wrapper of the operation's promise: a produce costs no extra turn of the event loop.
   */
  failure(topic, error) {
    if (isBrookError(error, "CLOSED") && !this.closed && this.topics.get(topic.name) !== topic) {
      return topicDeletedError(topic.name);
    }
    return error;
  }
  /** Refuses new creates and waits for the creates and deletes under way. */
  async closing() {
    this.closed = true;
    await Promise.allSettled([...this.creating.values(), ...this.deleting.values()]);
  }
};

// packages/broker/src/steps.ts
async function settleAll(promises) {
  const failed = (await Promise.allSettled(promises)).find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
}
async function runEach(steps) {
  for (const step of steps) await step().catch(() => void 0);
}

// packages/broker/src/topics/topic-lifecycle.ts
function topicCreation(life, name, options) {
  checkStringFields({ name });
  validateTopicName(name);
  const config = resolveTopicConfig(options, life.limits);
  return async () => {
    await life.groups.removeGroupsOf(name);
    return Topic.create(life.fs, life.topicDir(name), name, config, life.logDefaults, life.partitionFailed);
  };
}
function topicRemoval(life, name) {
  checkStringFields({ name });
  const dir = life.topicDir(name);
  const commit = async () => {
    life.groups.hideGroupsOf(name);
    await Topic.uncommit(life.fs, dir).catch((error) => {
      life.groups.showGroupsOf(name);
      throw error;
    });
  };
  const removeRest = (topic) => runEach([
    () => life.groups.dropTopic(name),
    () => life.producers.forget(dir),
    () => topic.close(),
    () => rmdirDurable(life.fs, dir),
    () => life.groups.removeGroupsOf(name)
  ]);
  return { commit, removeRest };
}

// packages/broker/src/topics/retention-runner.ts
var RetentionRunner = class {
  constructor(topics, groups, events, clock, intervalMs) {
    this.topics = topics;
    this.groups = groups;
    this.events = events;
    this.clock = clock;
    this.intervalMs = intervalMs;
  }
  topics;
  groups;
  events;
  clock;
  intervalMs;
  timer;
  stopped = false;
  /** discard 'new' partitions: the turn of the last append queued, for `appendWithRoom`'s call order. */
  turns = /* @__PURE__ */ new Map();
  /**
   * Runs retention on every partition now. A topic deleted while the pass runs (its logs closed
   * under it) has nothing left to retain: the pass goes on with the others rather than fail.
   */
  async enforce() {
    const dropped = [];
    for (const topic of this.topics.values()) {
      try {
        for (const partition of topic.partitions.keys()) {
          const droppedRecords = await this.retainPartition(topic, partition);
          if (droppedRecords > 0n) dropped.push({ topic: topic.name, partition, droppedRecords, startOffset: topic.partition(partition).startOffset });
        }
      } catch (error) {
        const failure = this.topics.failure(topic, error);
        if (!isBrookError(failure, "UNKNOWN_TOPIC")) throw failure;
      }
    }
    return dropped;
  }
  /**
   * Runs retention every intervalMs while some topic has a policy. A broker whose topics keep
   * everything has no timer at all, so a VirtualClock can run it until idle. Call again after a
   * topic is created.
   */
  arm() {
    if (this.timer || this.stopped) return;
    const needed = [...this.topics.values()].some(({ config: { retention } }) => retention.maxBytes !== void 0 || retention.maxAgeMs !== void 0);
    if (!needed) return;
    this.timer = this.clock.setTimer(this.intervalMs, () => {
      this.enforce().catch(() => void 0).finally(() => {
        this.timer = void 0;
        this.arm();
      });
    });
  }
  stop() {
    this.stopped = true;
    this.timer?.cancel();
  }
  /**
   * Appends a produce's batches (one per partition) once there is room for all of them
   * (`makeRoom`), and in call order: a produce never overtakes an earlier one to the same
   * partition, so records produced without waiting in between keep their order. Without discard
   * 'new' there is nothing to wait for and the logs queue the batches at once; with it, each call
   * waits for the room checks of the calls before it on its partitions (not for their writes:
   * group commit still takes them together), and one batch refused with TOPIC_FULL refuses them
   * all, so a refused produce appends nothing that a retry would append twice. Returns each
   * batch's append, in the order given.
   */
  appendWithRoom(topic, batches) {
    const { discard, maxBytes } = topic.config.retention;
    if (discard !== "new" || maxBytes === void 0) return batches.map(({ partition, batch }) => topic.partition(partition).append(batch));
    const keys = batches.map(({ partition }) => `${topic.name}/${partition}`);
    const before2 = keys.map((key) => this.turns.get(key));
    const turn = Promise.all(before2).then(async () => {
      for (const { partition, batch } of batches) await this.makeRoom(topic, partition, batch.length);
      return { appending: batches.map(({ partition, batch }) => topic.partition(partition).append(batch)) };
    });
    const done = turn.then(() => void 0, () => void 0);
    for (const key of keys) this.turns.set(key, done);
    void done.then(() => {
      for (const key of keys) if (this.turns.get(key) === done) this.turns.delete(key);
    });
    return batches.map((_, i) => turn.then(({ appending }) => appending[i]));
  }
  /**
   * discard 'new': refuse a batch that would take the partition past maxBytes with TOPIC_FULL,
   * after first freeing what every group has consumed. The size checked is what is written: a
   * batch queued but not yet written does not count, so the partition may overshoot by those.
   */
  async makeRoom(topic, partition, bytes) {
    const { discard, maxBytes } = topic.config.retention;
    if (discard !== "new" || maxBytes === void 0) return;
    if (bytes > maxBytes) {
      throw new BrookError("MESSAGE_TOO_LARGE", `a batch of ${bytes} bytes can never fit ${topic.name}/${partition}, which holds at most retention.maxBytes ${maxBytes}`, {
        topic: topic.name,
        partition,
        maxBytes,
        batchBytes: bytes
      });
    }
    const log = topic.partition(partition);
    if (log.sizeBytes + bytes > maxBytes) await this.retainPartition(topic, partition);
    const consumedBelow = this.groups.consumedBelow(topic.name, partition);
    if (log.sizeBytes + bytes > maxBytes && consumedBelow !== void 0 && consumedBelow >= log.endOffset) {
      await log.sealActive();
      await this.retainPartition(topic, partition);
    }
    if (log.sizeBytes + bytes > maxBytes) {
      throw new BrookError("TOPIC_FULL", `${topic.name}/${partition} holds ${log.sizeBytes} of ${maxBytes} bytes; a batch of ${bytes} does not fit until consumers catch up`, {
        topic: topic.name,
        partition,
        sizeBytes: log.sizeBytes,
        maxBytes,
        batchBytes: bytes
      });
    }
  }
  /**
   * Deletes what retention allows on one partition; tells groups it overtook. Returns records
   * dropped. When every record left is older than maxAgeMs, the active segment is sealed and goes
   * too (Kafka's rule): a partition that stopped receiving records empties instead of keeping its
   * last segment until an append rolls it.
   */
  async retainPartition(topic, partition) {
    const log = topic.partition(partition);
    const { retention } = topic.config;
    const apply = async () => {
      const result = await log.applyRetention(retention, this.groups.consumedBelow(topic.name, partition));
      return { droppedRecords: result.startOffset - result.previousStartOffset, startOffset: result.startOffset };
    };
    let { droppedRecords, startOffset } = await apply();
    if (log.expiredWhole(retention)) {
      await log.sealActive();
      const rest = await apply();
      droppedRecords += rest.droppedRecords;
      startOffset = rest.startOffset;
    }
    if (droppedRecords === 0n) return 0n;
    if (this.events.wants("retentionDropped")) {
      this.events.emit("retentionDropped", { topic: topic.name, partition, startOffset, lostRecords: droppedRecords });
    }
    await this.groups.retentionMoved(topic.name, partition, startOffset);
    return droppedRecords;
  }
};

// node_modules/.pnpm/eventemitter3@5.0.4/node_modules/eventemitter3/index.mjs
var import_index = __toESM(require_eventemitter3(), 1);

// packages/broker/src/events.ts
var BrokerEventEmitter = class extends import_index.default {
  /**
   * The events that have listeners, kept by every method that adds or removes one. `wants` runs
   * for every record, and EventEmitter's own count is a lookup in a dictionary object: a
   * megamorphic load that cost 2 % of consuming when nobody listened.
   */
  listening = /* @__PURE__ */ new Set();
  wants(name) {
    return this.listening.size !== 0 && this.listening.has(name);
  }
  on(event, fn, context) {
    super.on(event, fn, context);
    return this.track(event);
  }
  addListener(event, fn, context) {
    super.addListener(event, fn, context);
    return this.track(event);
  }
  once(event, fn, context) {
    super.once(event, fn, context);
    return this.track(event);
  }
  removeListener(event, fn, context, once2) {
    super.removeListener(event, fn, context, once2);
    return this.track(event);
  }
  off(event, fn, context, once2) {
    super.off(event, fn, context, once2);
    return this.track(event);
  }
  removeAllListeners(event) {
    super.removeAllListeners(event);
    if (event === void 0) this.listening.clear();
    else this.track(event);
    return this;
  }
  track(event) {
    if (this.listenerCount(event) > 0) this.listening.add(event);
    else this.listening.delete(event);
    return this;
  }
};

// packages/broker/src/config/broker-options.ts
var BROKER_LIMIT_NAMES = [
  "segmentBytesMax",
  "segmentMsMax",
  "indexIntervalBytes",
  "logTailCacheBytes",
  "batchBytesMax",
  "batchRecordsMax",
  "fetchRecordsMax",
  "fetchBytesMax",
  "retentionCheckIntervalMs",
  "groupUnackedRecordsMax",
  "groupJournalBytesMax",
  "producersPerPartitionMax",
  "producerSnapshotIntervalMs"
];
var BROKER_OPTION_KEYS = {
  dataDir: true,
  storage: true,
  fsync: true,
  clock: true,
  random: true,
  seed: true,
  fs: true,
  ...optionKeysOf(BROKER_LIMIT_NAMES)
};
function resolveBrokerLimits(options) {
  checkOptionKeys(options, BROKER_OPTION_KEYS);
  const limits = {};
  for (const name of BROKER_LIMIT_NAMES) limits[name] = limitOrDefault(name, options[name]);
  return limits;
}
var MEMORY_DATA_DIR = "/brook";
function resolveStorage(options) {
  const memory = options.storage === "memory";
  if (!memory && options.dataDir === void 0) {
    throw new BrookError("INVALID_CONFIG", "dataDir is required unless storage is 'memory'", { option: "dataDir" });
  }
  return {
    fs: options.fs ?? (memory ? new MemoryFileSystem() : new NodeFileSystem()),
    clock: options.clock ?? new SystemClock(),
    dataDir: options.dataDir ?? MEMORY_DATA_DIR,
    lock: options.fs === void 0 && !memory
  };
}

// packages/broker/src/failed-logs.ts
function failedLogs(topics, groups) {
  const partitions = [...topics].flatMap((topic) => topic.describe().partitions.flatMap(({ partition, failure }) => failure ? [{ topic: topic.name, partition, failure }] : []));
  const journals = groups.failedJournals().map(({ topic, group, failure }) => ({ topic, group, failure: { code: failure.code, message: failure.message } }));
  return [...partitions, ...journals];
}
function describeFailedLog(failed) {
  const where = "partition" in failed ? `topic ${failed.topic} partition ${failed.partition}` : `group ${failed.group} of topic ${failed.topic}`;
  return `${where}: ${failed.failure.message}`;
}
function emitLogFailed(events, where, error) {
  if (events.wants("logFailed")) events.emit("logFailed", { ...where, code: error.code, message: error.message });
}
function partitionFailureEvents(events) {
  return (topic, partition, error) => emitLogFailed(events, { topic, partition }, error);
}

// packages/broker/src/groups/deadline-queue.ts
var DeadlineQueue = class {
  constructor(clock) {
    this.clock = clock;
  }
  clock;
  heap = new TimerHeap();
  armed;
  seq = 0;
  get size() {
    return this.heap.size;
  }
  /** Calls `onDue` once, at or after `dueMs` on the clock, unless cancelled first. */
  schedule(dueMs, onDue) {
    const entry = { dueMs, seq: this.seq++, callback: onDue, index: -1 };
    this.heap.push(entry);
    this.arm();
    const queue = this;
    return {
      get dueMs() {
        return entry.dueMs;
      },
      cancel() {
        queue.heap.remove(entry);
        queue.arm();
      },
      reschedule(newDueMs) {
        if (entry.index < 0) return;
        queue.heap.remove(entry);
        entry.dueMs = newDueMs;
        queue.heap.push(entry);
        queue.arm();
      }
    };
  }
  /** Cancels everything (broker close). */
  clear() {
    while (this.heap.pop()) {
    }
    this.armed?.timer.cancel();
    this.armed = void 0;
  }
  /** Keeps exactly one clock timer, set for the earliest deadline. */
  arm() {
    const first = this.heap.peek();
    if (this.armed && first?.dueMs === this.armed.dueMs) return;
    this.armed?.timer.cancel();
    this.armed = void 0;
    if (!first) return;
    const dueMs = first.dueMs;
    this.armed = { dueMs, timer: this.clock.setTimer(Math.max(0, dueMs - this.clock.now()), () => this.fire()) };
  }
  fire() {
    this.armed = void 0;
    const now = this.clock.now();
    for (let next = this.heap.peek(); next && next.dueMs <= now; next = this.heap.peek()) {
      this.heap.remove(next);
      next.callback();
    }
    this.arm();
  }
};

// packages/broker/src/groups/delivery.ts
var SETTLED = Promise.resolve();
var Delivery = class {
  constructor(topic, partition, record, deliveryCount) {
    this.topic = topic;
    this.partition = partition;
    this.record = record;
    this.deliveryCount = deliveryCount;
  }
  topic;
  partition;
  record;
  deliveryCount;
  settlement;
  /** The consumer's copies of key, value and headers, made at their first read (undefined: not yet). */
  keyCopy = void 0;
  valueCopy = void 0;
  headersCopy = void 0;
  /**
   * @internal For the sink, not consumers: the id the sink handed it on under (the wire server's
   * delivery id; -1: none yet), so that a take-back finds it without a search or a map entry.
   */
  sinkId = -1;
  get offset() {
    return this.record.offset;
  }
  /** A copy the consumer owns, as value and headers: writing it changes nothing the broker keeps. */
  get key() {
    if (this.keyCopy === void 0) this.keyCopy = this.record.key;
    return this.keyCopy;
  }
  get value() {
    if (this.valueCopy === void 0) this.valueCopy = this.record.value;
    return this.valueCopy;
  }
  get headers() {
    const { headers } = this.record;
    if (headers.length === 0) return headers;
    this.headersCopy ??= headers.map((header) => ({ key: header.key, value: copyOf(header.value) }));
    return this.headersCopy;
  }
  get timestamp() {
    return this.record.timestamp;
  }
  get redelivered() {
    return this.deliveryCount > 1;
  }
  /** True once ack/nack/reject was called on this delivery. */
  get settled() {
    return this.settlement !== void 0;
  }
  /** True if the broker took this delivery back before it was settled (see the file comment). */
  get stale() {
    return this.settlement === void 0 && this.takenBack();
  }
  ack() {
    this.settlement ??= this.settleAck();
    return this.settlement;
  }
  /** Resolves at once: a nack has nothing to make durable (the attempt was journaled when it began). */
  nack(options = {}) {
    const refused = refusedSettlement("delayMs", options.delayMs);
    if (refused) return refused;
    if (this.settlement) return this.settlement;
    this.settlement = SETTLED;
    this.settleNack(options.delayMs);
    return SETTLED;
  }
  /** Renews the lease: `ms` from now, or the group's ackTimeoutMs. Does nothing once settled. */
  extend(ms) {
    const refused = refusedSettlement("ms", ms);
    if (refused) return refused;
    if (this.settlement) return this.settlement;
    this.settleExtend(ms);
    return SETTLED;
  }
  reject(reason) {
    const refused = refusedSettlement("reason", reason);
    if (refused) return refused;
    this.settlement ??= this.settleReject(reason);
    return this.settlement;
  }
  text() {
    return recordReading.text(this.value);
  }
  json() {
    return recordReading.json(this.value);
  }
  header(key) {
    return recordReading.header(this.headers, key);
  }
};
function copyOf(bytes) {
  return bytes === null ? null : slabCopy(bytes);
}

// packages/broker/src/groups/flight.ts
var Flight = class extends Delivery {
  constructor(owner, entry, member, deliveryCount, owed) {
    super(owner.topic, entry.partition, entry.record, deliveryCount);
    this.owner = owner;
    this.entry = entry;
    this.member = member;
    this.owed = owed;
  }
  owner;
  entry;
  member;
  owed;
  deadlineMs = 0;
  live = false;
  extension = void 0;
  /**
   * How far the delivery got: its attempt is being journaled; it was announced (`delivered`) but
   * the member's sink holds it unsent (SinkControl.holdUnsent); it reached the member. Taken back
   * before 'handedOut' it is no attempt, and a held one becomes 'givenBack': its record went out
   * again, so the sink must not hand it out any more.
   */
  reach = "journaling";
  /** True while this is the entry's attempt: not settled, expired or taken back. */
  get current() {
    return this.entry.flight === this;
  }
  takenBack() {
    return !this.current;
  }
  settleAck() {
    return this.owner.ack(this);
  }
  settleNack(delayMs) {
    this.owner.nack(this, delayMs);
  }
  settleExtend(ms) {
    this.owner.extend(this, ms);
  }
  settleReject(reason) {
    return this.owner.reject(this, reason);
  }
};

// packages/broker/src/groups/group-events.ts
var GroupEvents = class {
  constructor(events, topic, group) {
    this.events = events;
    this.topic = topic;
    this.group = group;
  }
  events;
  topic;
  group;
  delivered(flight) {
    if (this.events.wants("delivered")) {
      this.events.emit("delivered", { ...this.ref(flight), redelivered: flight.deliveryCount > 1, key: flight.record.key });
    }
  }
  acked(flight) {
    if (this.events.wants("acked")) this.events.emit("acked", this.ref(flight));
  }
  nacked(flight, delayMs) {
    if (this.events.wants("nacked")) this.events.emit("nacked", { ...this.ref(flight), delayMs });
  }
  leaseExpired(flight) {
    if (this.events.wants("leaseExpired")) this.events.emit("leaseExpired", this.ref(flight));
  }
  redelivered(entry, reason, nextDeliveryCount, delayMs) {
    if (!this.events.wants("redelivered")) return;
    this.events.emit("redelivered", {
      topic: this.topic,
      group: this.group,
      partition: entry.partition,
      offset: entry.offset,
      reason,
      nextDeliveryCount,
      delayMs
    });
  }
  deadLettered(entry, deliveryCount, reason, deadLetterTopic, deadLetterOffset) {
    if (!this.events.wants("deadLettered")) return;
    this.events.emit("deadLettered", {
      topic: this.topic,
      group: this.group,
      partition: entry.partition,
      offset: entry.offset,
      deliveryCount,
      reason,
      deadLetterTopic,
      deadLetterOffset
    });
  }
  /** 'partition' ordering: the owners of every partition after a change. */
  rebalanced(windows, reason, member) {
    if (!this.events.wants("rebalanced")) return;
    const assignment = {};
    for (const window of windows) if (window.owner) (assignment[window.owner.id] ??= []).push(window.partition);
    this.events.emit("rebalanced", { topic: this.topic, group: this.group, assignment, reason, member: member.id });
  }
  retentionDropped(partition, startOffset, lostRecords) {
    if (this.events.wants("retentionDropped")) {
      this.events.emit("retentionDropped", { topic: this.topic, partition, startOffset, group: this.group, lostRecords });
    }
  }
  /** resetGroup: every partition restarts at its offset. */
  reset(offsets) {
    if (this.events.wants("groupReset")) this.events.emit("groupReset", { topic: this.topic, group: this.group, offsets: [...offsets] });
  }
  ref(flight) {
    return {
      topic: this.topic,
      group: this.group,
      partition: flight.entry.partition,
      offset: flight.entry.offset,
      member: flight.member.id,
      deliveryCount: flight.deliveryCount
    };
  }
};

// packages/broker/src/groups/lease-queue.ts
var SWEEP_MIN_LENGTH = 1024;
var LeaseQueue = class {
  constructor(clock, deadlines, onExpiry) {
    this.clock = clock;
    this.deadlines = deadlines;
    this.onExpiry = onExpiry;
  }
  clock;
  deadlines;
  onExpiry;
  queue = [];
  head = 0;
  timer;
  /** The latest deadline in the FIFO: a grant due before it goes to the heap. */
  lastGrantMs = Number.NEGATIVE_INFINITY;
  /** Sweep when the FIFO reaches this length. */
  sweepAtLength = SWEEP_MIN_LENGTH;
  /** Starts a lease of the group's duration, in the FIFO; one due before an earlier grant's, in the heap. */
  grant(lease, deadlineMs) {
    lease.deadlineMs = deadlineMs;
    lease.live = true;
    lease.extension = void 0;
    if (deadlineMs >= this.lastGrantMs) this.lastGrantMs = deadlineMs;
    else lease.extension = this.deadlines.schedule(deadlineMs, () => this.expire(lease));
    this.queue.push(lease);
    if (this.queue.length >= this.sweepAtLength) this.sweep();
    if (this.timer === void 0) this.arm();
  }
  /** Renews a live lease until `deadlineMs`, in the heap. */
  extend(lease, deadlineMs) {
    if (!lease.live) return;
    lease.extension?.cancel();
    lease.deadlineMs = deadlineMs;
    lease.extension = this.deadlines.schedule(deadlineMs, () => this.expire(lease));
  }
  end(lease) {
    lease.live = false;
    lease.extension?.cancel();
  }
  clear() {
    for (let i = this.head; i < this.queue.length; i++) this.queue[i].extension?.cancel();
    this.queue = [];
    this.head = 0;
    this.timer?.cancel();
    this.timer = void 0;
  }
  expire(lease) {
    if (!lease.live) return;
    lease.live = false;
    this.onExpiry(lease);
  }
  arm() {
    while (this.head < this.queue.length && this.passesOver(this.queue[this.head])) this.head += 1;
    if (this.head * 2 > this.queue.length && this.queue.length >= SWEEP_MIN_LENGTH) this.sweep();
    const next = this.queue[this.head];
    if (!next) return;
    this.timer = this.clock.setTimer(Math.max(0, next.deadlineMs - this.clock.now()), () => this.fire());
  }
  fire() {
    this.timer = void 0;
    const now = this.clock.now();
    while (this.head < this.queue.length) {
      const lease = this.queue[this.head];
      if (!this.passesOver(lease) && lease.deadlineMs > now) break;
      this.head += 1;
      if (!this.passesOver(lease)) this.expire(lease);
    }
    this.arm();
  }
  /** Dead or extended: not the FIFO's to expire. */
  passesOver(lease) {
    return !lease.live || lease.extension !== void 0;
  }
  /** Keeps only the live leases the FIFO still has to expire, in order: amortized O(1) a grant. */
  sweep() {
    const kept = [];
    for (let i = this.head; i < this.queue.length; i++) if (!this.passesOver(this.queue[i])) kept.push(this.queue[i]);
    this.queue = kept;
    this.head = 0;
    this.sweepAtLength = Math.max(SWEEP_MIN_LENGTH, kept.length * 2);
  }
};

// packages/broker/src/groups/fifo.ts
var Fifo = class {
  items = [];
  head = 0;
  get size() {
    return this.items.length - this.head;
  }
  push(item) {
    this.items.push(item);
  }
  shift() {
    if (this.head === this.items.length) return void 0;
    const item = this.items[this.head++];
    if (this.head === this.items.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  peek() {
    return this.head === this.items.length ? void 0 : this.items[this.head];
  }
  last() {
    return this.head === this.items.length ? void 0 : this.items[this.items.length - 1];
  }
  /** Takes items off the front while `drop` says so. */
  dropWhile(drop) {
    for (let item = this.peek(); item !== void 0 && drop(item); item = this.peek()) this.shift();
  }
  clear() {
    this.items = [];
    this.head = 0;
  }
};

// packages/broker/src/groups/orderings.ts
var RUN_RECORDS_MIN = 32;
var MemberRing = class {
  /** The member given the last run; the one after it in join order is next (the first, if it left). */
  last;
  /** The first member with credit, from the one whose turn it is. */
  peek(members) {
    const next = this.last === void 0 ? 0 : members.indexOf(this.last) + 1;
    for (let i = 0; i < members.length; i++) {
      const member = members[(next + i) % members.length];
      if (member.credit > 0) return member;
    }
    return void 0;
  }
  /** `member` was given a run: the turn goes to the one after it. */
  passed(member) {
    this.last = member;
  }
};
var ReadyQueue = class {
  priority = new Fifo();
  normal = new Fifo();
  push(entry, urgent) {
    (urgent ? this.priority : this.normal).push(entry);
  }
  shift(isLive) {
    for (let entry = this.priority.shift(); entry; entry = this.priority.shift()) if (isLive(entry)) return entry;
    for (let entry = this.normal.shift(); entry; entry = this.normal.shift()) if (isLive(entry)) return entry;
    return void 0;
  }
  clear() {
    this.priority.clear();
    this.normal.clear();
  }
};
var NoneOrdering = class {
  constructor(windows) {
    this.windows = windows;
  }
  windows;
  queue = new ReadyQueue();
  ring = new MemberRing();
  enqueue(entry) {
    this.queue.push(entry, this.windows[entry.partition].ack.attempts(entry.offset) > 0);
  }
  /**
   * Deals the ready records out in runs, one run per member with credit in turn, rather than one
   * record each: a member then holds consecutive offsets, so its acks come back as ranges (one
   * journal range, the ack floor moving in order) instead of every other offset, which would cost
   * a journal range and an out-of-order ack per record.
   */
  assign(members, windows, assign) {
    const run = this.runLength(members, windows);
    for (let member = this.ring.peek(members); member; member = this.ring.peek(members)) {
      let given = 0;
      for (let entry; given < run && member.credit > 0 && (entry = this.take()); given++) {
        member.inFlight += 1;
        assign(entry, member);
      }
      if (given > 0) this.ring.passed(member);
      if (given < run && member.credit > 0) return;
    }
  }
  release(_entry) {
  }
  /** An even share of what waits, per member with credit, but no shorter than RUN_RECORDS_MIN. */
  runLength(members, windows) {
    let waiting = 0;
    for (const window of windows) waiting += window.undelivered;
    let open2 = 0;
    for (const member of members) if (member.credit > 0) open2 += 1;
    return Math.max(RUN_RECORDS_MIN, Math.ceil(waiting / Math.max(1, open2)));
  }
  rebuild(windows) {
    this.queue.clear();
    for (const window of windows) {
      for (const entry of window.entries()) {
        if (entry.state === "blocked") window.setState(entry, "ready");
        if (entry.state === "ready") this.enqueue(entry);
      }
    }
  }
  take() {
    return this.queue.shift(this.isLive);
  }
  /** Made once: an arrow function written in take() would be a closure allocated per record. */
  isLive = (entry) => entry.state === "ready" && this.windows[entry.partition].holds(entry);
};
var KeyOrdering = class extends NoneOrdering {
  /**
   * Per key: its holder (from its first delivery, or from when its predecessor released the key
   * to it, until it is acked or dead-lettered) and what waits behind it ("blocked"). One map
   * lookup a take and a release; a lane goes once it is idle.
   */
  lanes = /* @__PURE__ */ new Map();
  /** One record per turn: keys spread over members. */
  runLength() {
    return 1;
  }
  release(entry) {
    const lane = entry.keyId === void 0 ? void 0 : this.lanes.get(entry.keyId);
    if (lane?.holder !== entry) return;
    let next = lane.waiting.shift();
    while (next && !this.windows[next.partition].holds(next)) next = lane.waiting.shift();
    if (!next) {
      this.lanes.delete(entry.keyId);
      return;
    }
    lane.holder = next;
    this.windows[next.partition].setState(next, "ready");
    this.queue.push(next, true);
  }
  rebuild(windows) {
    this.lanes.clear();
    for (const window of windows) {
      for (const entry of window.entries()) {
        const holds = entry.state === "inflight" || entry.state === "backoff" || entry.state === "deadLettering";
        if (holds && entry.keyId !== void 0) this.laneOf(entry.keyId).holder = entry;
      }
    }
    super.rebuild(windows);
  }
  take() {
    for (let entry = super.take(); entry; entry = super.take()) {
      if (entry.keyId === void 0) return entry;
      const lane = this.laneOf(entry.keyId);
      const holder = lane.holder;
      if (holder === void 0 || holder === entry || !this.windows[holder.partition].holds(holder)) {
        lane.holder = entry;
        return entry;
      }
      this.windows[entry.partition].setState(entry, "blocked");
      lane.waiting.push(entry);
    }
    return void 0;
  }
  laneOf(keyId) {
    let lane = this.lanes.get(keyId);
    if (lane === void 0) this.lanes.set(keyId, lane = { holder: void 0, waiting: new Fifo() });
    return lane;
  }
};
var PartitionOrdering = class _PartitionOrdering {
  /** The partition served first in the next step. */
  first = 0;
  enqueue(_entry) {
  }
  /**
   * Each owner takes its partitions' ready records in offset order while it has credit. Which
   * partition goes first moves on every step: a member owning several partitions serves them in
   * turn, so a steady backlog on one cannot take all its credit step after step and starve another.
   */
  assign(_members, windows, assign) {
    const count = windows.length;
    for (let i = 0; i < count; i++) {
      const window = windows[(this.first + i) % count];
      const owner = window.owner;
      const readSeq = window.readSeq;
      while (owner && owner.credit > 0) {
        while (window.cursorSeq < readSeq && !window.at(window.cursorSeq)) window.cursorSeq += 1;
        const entry = window.at(window.cursorSeq);
        if (!entry || entry.state !== "ready") break;
        window.cursorSeq += 1;
        owner.inFlight += 1;
        assign(entry, owner);
      }
    }
    this.first = count === 0 ? 0 : (this.first + 1) % count;
  }
  release(_entry) {
  }
  rebuild() {
  }
  /**
   * Which member owns which partition, given the current `owners`. Shares are even (each member
   * floor(P/N) partitions, one more for the first P % N: those owning the most now, then the
   * earliest joined). Sticky: a member keeps what it owns up to its share, so only the partitions
   * of members gone or closing and a member's surplus move, lowest first, to the members below
   * their share in join order. A join or a leave then takes back no more records than it must:
   * moving a partition between two members that both stay would make the holder's acks stale
   * and count a failed attempt for work that was going fine.
   */
  static assignment(members, owners) {
    const staying = members.filter((m) => !m.left && !m.closing).sort((a, b) => a.joinSeq - b.joinSeq);
    const trusted = staying.filter((m) => !m.leaseLost);
    const active = trusted.length > 0 ? trusted : staying;
    if (active.length === 0) return owners.map(() => void 0);
    const owned = new Map(active.map((m) => [m, 0]));
    for (const owner of owners) if (owner && owned.has(owner)) owned.set(owner, owned.get(owner) + 1);
    const byOwned = [...active].sort((a, b) => owned.get(b) - owned.get(a) || a.joinSeq - b.joinSeq);
    const base = Math.floor(owners.length / active.length);
    const share = new Map(byOwned.map((m, i) => [m, base + (i < owners.length % active.length ? 1 : 0)]));
    const given = new Map(active.map((m) => [m, 0]));
    const give = (member) => {
      given.set(member, given.get(member) + 1);
      return member;
    };
    const next = owners.map((owner) => owner && owned.has(owner) && given.get(owner) < share.get(owner) ? give(owner) : void 0);
    let taker = 0;
    for (let p = 0; p < next.length; p++) {
      if (next[p] !== void 0) continue;
      while (given.get(active[taker]) >= share.get(active[taker])) taker += 1;
      next[p] = give(active[taker]);
    }
    return next;
  }
  /**
   * Moves each partition to the member `assignment` gives it, taking back (`revoke`) what its
   * old owner has in flight there. Returns whether any partition moved.
   */
  static reassign(members, windows, revoke) {
    const owners = _PartitionOrdering.assignment(members, windows.map((window) => window.owner));
    let changed = false;
    for (const window of windows) {
      const owner = owners[window.partition];
      if (owner === window.owner) continue;
      if (window.owner?.closing && !window.owner.left && hasInFlight(window)) continue;
      changed = true;
      for (const entry of window.entries()) if (entry.state === "inflight") revoke(entry);
      window.owner = owner;
    }
    return changed;
  }
};
function hasInFlight(window) {
  for (const entry of window.entries()) if (entry.state === "inflight") return true;
  return false;
}
function orderingFor(config, windows) {
  if (config.ordering === "key") return new KeyOrdering(windows);
  return config.ordering === "partition" ? new PartitionOrdering() : new NoneOrdering(windows);
}

// packages/broker/src/groups/subscribe-options.ts
function resolveGroupConfig(options) {
  const ordering = options.ordering ?? "none";
  if (ordering !== "none" && ordering !== "key" && ordering !== "partition") {
    throw invalid("ordering", ordering, "'none', 'key' or 'partition'");
  }
  const backoff = options.backoff ?? {};
  const initialMs = limitOrDefault("backoffInitialMs", backoff.initialMs, "backoff.initialMs");
  const maxMs = limitOrDefault("backoffMaxMs", backoff.maxMs, "backoff.maxMs");
  const multiplier = backoff.multiplier ?? 2;
  const jitter = backoff.jitter ?? 0.1;
  if (typeof multiplier !== "number" || !(multiplier >= 1 && multiplier <= 100)) throw invalid("backoff.multiplier", multiplier, "a number in [1, 100]");
  if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) throw invalid("backoff.jitter", jitter, "a number in [0, 1]");
  if (maxMs < initialMs) throw invalid("backoff.maxMs", maxMs, `>= backoff.initialMs (${initialMs})`);
  return {
    ordering,
    ackTimeoutMs: limitOrDefault("ackTimeoutMs", options.ackTimeoutMs),
    maxDeliveries: limitOrDefault("maxDeliveries", options.maxDeliveries),
    backoff: { initialMs, maxMs, multiplier, jitter },
    deadLetterTopic: options.deadLetterTopic === void 0 ? defaultDeadLetterTopic(options.topic) : validateTopicName(options.deadLetterTopic),
    from: checkStartPosition(options.from ?? "earliest")
  };
}
function backoffDelayMs(backoff, attempts, random) {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** Math.max(0, attempts - 1));
  return Math.round(base * (1 + backoff.jitter * (2 * random.next() - 1)));
}
var SUBSCRIBE_KEYS = {
  topic: true,
  group: true,
  ordering: true,
  maxInFlight: true,
  ackTimeoutMs: true,
  maxDeliveries: true,
  backoff: true,
  deadLetterTopic: true,
  from: true,
  name: true
};
function checkSubscribeOptionKeys(options) {
  checkOptionKeys(options, SUBSCRIBE_KEYS);
  if (options.backoff !== void 0) checkOptionKeys(options.backoff, BACKOFF_OPTION_KEYS, "backoff");
}
var GROUP_ONLY_OPTIONS = ["ordering", "ackTimeoutMs", "maxDeliveries", "backoff", "deadLetterTopic"];
function checkTailReaderOptions(options) {
  const option = GROUP_ONLY_OPTIONS.find((key) => options[key] !== void 0);
  if (option !== void 0) {
    throw new BrookError("INVALID_CONFIG", `${option} is a setting of a group: a subscription without a group (a tail reader) keeps no acks and redelivers nothing`, { option });
  }
}
function resolveMaxInFlight(options) {
  return options.maxInFlight === void 0 ? limitOrDefault("maxInFlight", void 0) : checkLimit("maxInFlight", options.maxInFlight);
}
function validateGroupName(group) {
  try {
    return validateTopicName(group);
  } catch (error) {
    throw new BrookError("INVALID_REQUEST", `group name ${JSON.stringify(group)} must be 1-249 characters from [A-Za-z0-9._-]`, { group }, { cause: error });
  }
}
function configConflicts(group, asked) {
  const keys = ["ordering", "ackTimeoutMs", "maxDeliveries", "deadLetterTopic"];
  const conflicts = keys.filter((key) => group[key] !== asked[key]);
  if (JSON.stringify(group.backoff) !== JSON.stringify(asked.backoff)) conflicts.push("backoff");
  return conflicts;
}
function checkStartPosition(from, option = "from") {
  if (from === "earliest" || from === "latest") return from;
  if (typeof from === "object" && from !== null) {
    if ("offset" in from && typeof from.offset === "bigint" && from.offset >= 0n) return { offset: from.offset };
    if ("timestamp" in from && isTimestampMs(from.timestamp)) return { timestamp: from.timestamp };
  }
  throw invalid(option, from, "'earliest', 'latest', { offset: bigint >= 0 } or { timestamp: integer ms in 0..2^53-1 }");
}
function defaultDeadLetterTopic(topic) {
  const name = `${topic}.dlq`;
  if (name.length <= TOPIC_NAME_LENGTH_MAX) return name;
  throw new BrookError(
    "INVALID_CONFIG",
    `the default dead-letter topic "<topic>.dlq" would be ${name.length} characters (at most ${TOPIC_NAME_LENGTH_MAX}): pass deadLetterTopic for a topic name this long`,
    { option: "deadLetterTopic", topic }
  );
}
function invalid(option, value, expected) {
  const shown = typeof value === "bigint" ? `${value}n` : JSON.stringify(value, (_k, v) => typeof v === "bigint" ? `${v}n` : v);
  return new BrookError("INVALID_CONFIG", `${option} must be ${expected}, got ${shown}`, { option });
}

// packages/broker/src/groups/group-attempts.ts
var STALE = handledRejection(new BrookError("DELIVERY_STALE", "the delivery was taken back before it was settled: the record is delivered again"));
var GroupAttempts = class {
  constructor(topic, name, config, journal, windows, context) {
    this.topic = topic;
    this.name = name;
    this.config = config;
    this.journal = journal;
    this.windows = windows;
    this.context = context;
    this.ordering = orderingFor(config, windows);
    this.leases = new LeaseQueue(context.clock, context.deadlines, (flight) => this.expire(flight));
    this.report = new GroupEvents(context.events, topic, name);
  }
  topic;
  name;
  config;
  journal;
  windows;
  context;
  ordering;
  report;
  leases;
  lastError;
  /** Why the last dead-letter copy failed (deadLetterProblem). */
  deadLetterFailure;
  closed = false;
  /** Once closed: what ack() and reject() of its deliveries return instead of STALE (nothing comes again). */
  ending;
  /** `member`'s consumer settled something, current or stale: its handler runs (markLeaseLost). */
  heardFrom(member) {
    if (member.leaseLost) this.markLeaseLost(member, false);
  }
  /**
   * Why a record waits for its dead-letter copy to be tried again: the last copy's failure, while
   * one waits (a reset, retention or the group's end may have ended every wait since).
   */
  get deadLetterProblem() {
    if (this.deadLetterFailure === void 0) return void 0;
    const waiting = this.windows.some((window) => window.entries().some((entry) => entry.state === "deadLettering" && entry.backoff !== void 0));
    return waiting ? this.deadLetterFailure : void 0;
  }
  /** Resolves once the ack is durable: with every other ack of its journal flush, one promise for all. */
  ack(flight) {
    this.heardFrom(flight.member);
    if (!flight.current) return this.ending ?? STALE;
    this.report.acked(flight);
    this.endFlight(flight.entry, true);
    return this.complete(flight.entry);
  }
  nack(flight, delayMs) {
    this.heardFrom(flight.member);
    if (!flight.current) return;
    this.report.nacked(flight, delayMs);
    this.endFlight(flight.entry, true);
    this.retry(flight.entry, "nack", delayMs);
  }
  extend(flight, ms) {
    this.heardFrom(flight.member);
    if (flight.current) this.leases.extend(flight, this.context.clock.now() + (ms ?? this.config.ackTimeoutMs));
  }
  reject(flight, reason) {
    this.heardFrom(flight.member);
    if (!flight.current) return this.ending ?? STALE;
    this.endFlight(flight.entry, true);
    return this.deadLetter(flight.entry, `rejected: ${reason}`);
  }
  /**
   * The group ends: its deliveries are taken back, so a later ack() or reject() changes nothing
   * and rejects with `ending`, and no lease, backoff or dead-letter retry of it fires any more.
   */
  endAttempts(ending) {
    this.closed = true;
    this.ending = handledRejection(ending);
    for (const window of this.windows) {
      for (const entry of window.entries()) this.endFlight(entry);
      window.clear();
    }
    this.leases.clear();
  }
  /**
   * Starts an attempt: counts it, journals it (durable with the next flush) and leases it. Its
   * last allowed attempt cut short by a broker restart (or maxDeliveries lowered), the record
   * is dead-lettered instead: another delivery would exceed maxDeliveries. Not one whose attempt
   * is owed (Entry.attemptOwed): its last delivery was taken back, not failed.
   */
  startFlight(entry, member, now) {
    const exhausted = entry.attemptOwed ? void 0 : this.outOfAttempts(entry, "interrupted");
    if (exhausted) {
      member.release();
      this.deadLetterInBackground(entry, exhausted);
      return void 0;
    }
    const window = this.windows[entry.partition];
    const deliveryCount = window.ack.recordAttempt(entry.offset);
    this.journal.attempt(entry.partition, entry.offset, deliveryCount);
    const flight = new Flight(this, entry, member, deliveryCount, entry.attemptOwed);
    entry.attemptOwed = false;
    this.leases.grant(flight, now + this.config.ackTimeoutMs);
    entry.flight = flight;
    window.setState(entry, "inflight");
    return flight;
  }
  /** Once the attempts are journaled, gives the deliveries still current to their members. */
  async handOut(flights) {
    await this.journal.flush();
    for (const flight of flights) {
      if (!flight.current || flight.member.left) continue;
      if (flight.member.closing || flight.member.paused) {
        this.revoke(flight.entry, "memberLeft");
        continue;
      }
      flight.reach = "handedOut";
      this.report.delivered(flight);
      flight.member.sink(flight);
    }
  }
  /**
   * Its consumer never saw it (a client's queue let it go unread): the attempt is given back as
   * if the sink had held it unsent, and in 'partition' what the member holds after it too (see
   * giveBackUnsent). Stale: nothing to do.
   */
  release(flight) {
    if (!flight.current) return;
    flight.reach = "held";
    this.giveBackUnsent(flight.entry);
  }
  expire(flight) {
    if (!flight.current) return;
    if (flight.reach !== "handedOut") {
      this.giveBackUnsent(flight.entry);
      return;
    }
    this.report.leaseExpired(flight);
    this.endFlight(flight.entry);
    this.retry(flight.entry, "leaseExpired", void 0);
    if (this.config.ordering === "partition") this.markLeaseLost(flight.member, true);
  }
  /**
   * The delivery never reached its member (its lease ran out while its sink held it unsent,
   * behind a congested connection or unread in a consume() queue, or while its attempt was still
   * being journaled; or the consumer released it unread): no attempt failed, so it is given back
   * (revoke). 'partition': what the member holds after it in the partition has not reached it
   * either (a sink sends in order, a queue is read in order), and goes back too, so the
   * partition is delivered again in order.
   */
  giveBackUnsent(entry) {
    this.revoke(entry, "leaseExpired");
    if (this.config.ordering === "partition") this.goBack(this.windows[entry.partition], entry);
  }
  /** A failed attempt: dead-letter it if it was the last allowed, else redeliver after a backoff. */
  retry(entry, reason, delayMs) {
    const window = this.windows[entry.partition];
    const exhausted = this.outOfAttempts(entry, reason);
    if (exhausted) {
      this.deadLetterInBackground(entry, exhausted);
      return;
    }
    const delay = Math.max(0, delayMs ?? backoffDelayMs(this.config.backoff, window.ack.attempts(entry.offset), this.context.random));
    this.scheduleRedelivery(entry, reason, delay);
    if (this.config.ordering === "partition") this.goBack(window, entry);
  }
  scheduleRedelivery(entry, reason, delayMs) {
    const window = this.windows[entry.partition];
    window.redeliveries += 1;
    this.report.redelivered(entry, reason, window.ack.attempts(entry.offset) + 1, delayMs);
    if (delayMs === 0) {
      this.makeReady(entry);
      return;
    }
    window.setState(entry, "backoff");
    entry.backoff = this.context.deadlines.schedule(this.context.clock.now() + delayMs, () => {
      entry.backoff = void 0;
      if (entry.state === "backoff" && window.holds(entry)) this.makeReady(entry);
    });
  }
  makeReady(entry) {
    this.windows[entry.partition].setState(entry, "ready");
    this.ordering.enqueue(entry);
    this.schedulePump();
  }
  /** 'partition' ordering: every later record of the partition in flight comes again, in order. */
  goBack(window, failed) {
    for (const entry of window.entries()) {
      if (entry.seq > failed.seq && entry.state === "inflight") this.revoke(entry, "goBack");
    }
    if (failed.seq < window.cursorSeq) window.cursorSeq = failed.seq;
  }
  /**
   * Takes a delivery back without a nack or an expiry (member left, rebalance, go-back). Its
   * member leaving (a crash: its handler may have failed on it) counts as a failed attempt: on
   * the last allowed one the record is dead-lettered, not delivered again. A go-back or a
   * rebalance is no fault of its handler: the delivery still counts (the next deliveryCount is
   * one more), but the next attempt is owed (Entry.attemptOwed), even past maxDeliveries.
   * Taken back before it reached the member (Flight.reach), the attempt is given back (in the
   * journal too, and whether it was owed) and the record goes out again at once with the same
   * deliveryCount. One its sink held unsent had been announced by a `delivered` event, so a
   * `redelivered` event ('unsent') says it is over; one still being journaled was never
   * announced, and is simply ready again.
   */
  revoke(entry, reason) {
    const window = this.windows[entry.partition];
    const flight = entry.flight;
    this.endFlight(entry);
    if (flight.reach !== "handedOut") {
      window.ack.restoreAttempts(entry.offset, flight.deliveryCount - 1);
      entry.attemptOwed = flight.owed;
      this.journal.attemptGivenBack(entry.partition, entry.offset, flight.deliveryCount - 1).catch(() => void 0);
      if (flight.reach === "held") {
        flight.reach = "givenBack";
        this.scheduleRedelivery(entry, "unsent", 0);
      } else {
        this.makeReady(entry);
      }
    } else if (reason === "goBack" || reason === "rebalance") {
      entry.attemptOwed = true;
      this.scheduleRedelivery(entry, reason, 0);
    } else {
      const exhausted = this.outOfAttempts(entry, reason);
      if (exhausted) this.deadLetterInBackground(entry, exhausted);
      else this.scheduleRedelivery(entry, reason, 0);
    }
    if (entry.seq < window.cursorSeq) window.cursorSeq = entry.seq;
  }
  /** The dead-letter reason if `entry` has had all maxDeliveries attempts, else undefined. */
  outOfAttempts(entry, cause) {
    const attempts = this.windows[entry.partition].ack.attempts(entry.offset);
    const max = this.config.maxDeliveries;
    return attempts >= max ? `${cause} on attempt ${attempts} of maxDeliveries ${max}` : void 0;
  }
  /**
   * Dead-letters without a caller waiting. Its only failure left is the journal write of the ack
   * (the copy is retried inside): kept in `lastError`; after a restart the record is read again,
   * finds no attempts left and is dead-lettered again (at-least-once, like every delivery).
   */
  deadLetterInBackground(entry, reason) {
    this.deadLetter(entry, reason).catch((error) => {
      this.lastError = error;
    });
  }
  /**
   * Copies the record to the dead-letter topic, then counts it as acked. If that append fails
   * (disk full, a full dead-letter topic...), it is tried again after backoff.maxMs, its failure
   * shown meanwhile (deadLetterProblem): the record is never redelivered to
   * consumers once it has used up its attempts, and never acked before it is safely copied.
   */
  async deadLetter(entry, reason) {
    const window = this.windows[entry.partition];
    window.setState(entry, "deadLettering");
    const deliveryCount = window.ack.attempts(entry.offset);
    const { deadLetterTopic } = this.config;
    const deadLetterOffset = await this.context.deadLetter(entry, this, deadLetterTopic, deliveryCount, reason).catch((error) => {
      this.deadLetterFailure = error;
      return void 0;
    });
    if (this.closed) return;
    if (deadLetterOffset === void 0) {
      entry.backoff = this.context.deadlines.schedule(this.context.clock.now() + this.config.backoff.maxMs, () => {
        entry.backoff = void 0;
        if (window.holds(entry) && !this.closed) this.deadLetterInBackground(entry, reason);
      });
      return;
    }
    window.deadLettered += 1;
    this.report.deadLettered(entry, deliveryCount, reason, deadLetterTopic, deadLetterOffset);
    await this.complete(entry);
  }
  /** Acked or dead-lettered: the record leaves the window and the ack is journaled. */
  complete(entry) {
    const window = this.windows[entry.partition];
    if (!window.holds(entry)) return Promise.resolve();
    window.remove(entry);
    window.ack.ack(entry.offset);
    this.ordering.release(entry);
    this.schedulePump();
    return this.journal.ack(entry.partition, entry.offset);
  }
  /**
   * The attempt is over: `settled` by its consumer (ack, nack, reject), or else taken back, which
   * its member's sink hears of if the delivery had reached it (Member.onTakenBack).
   */
  endFlight(entry, settled = false) {
    const flight = entry.flight;
    if (!flight) return;
    entry.flight = void 0;
    this.leases.end(flight);
    flight.member.release();
    if (!settled && flight.reach === "handedOut") flight.member.onTakenBack?.(flight);
    this.schedulePump();
  }
};
function handledRejection(error) {
  const rejected = Promise.reject(error);
  rejected.catch(() => void 0);
  return rejected;
}

// packages/broker/src/groups/pump.ts
var Pump = class {
  constructor(step) {
    this.step = step;
  }
  step;
  running = false;
  again = false;
  schedule() {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    queueMicrotask(() => void this.run());
  }
  async run() {
    try {
      do {
        this.again = false;
        await this.step();
      } while (this.again);
    } finally {
      this.running = false;
    }
  }
};

// packages/broker/src/groups/member.ts
var Member = class {
  constructor(id2, name, maxInFlight, joinSeq, sink) {
    this.id = id2;
    this.name = name;
    this.maxInFlight = maxInFlight;
    this.joinSeq = joinSeq;
    this.sink = sink;
  }
  id;
  name;
  maxInFlight;
  joinSeq;
  sink;
  /** Deliveries handed out (or being handed out) and not yet settled or revoked; reserved when
   * a record is assigned, so one pump never over-assigns. */
  inFlight = 0;
  /** Closing members get nothing new; left members are gone. */
  closing = false;
  left = false;
  /**
   * Its sink cannot take more for now (the wire server's socket is congested, or a consume()
   * loop has maxInFlight deliveries waiting unread: SinkControl): it gets nothing new, so the
   * group gives the records to members that can take them ('partition': its partitions wait).
   * The sink that paused it resumes it and runs the group's pump.
   */
  paused = false;
  /**
   * 'partition': the lease of a delivery it held ran out, so the group counts it as lost and
   * deals its partitions to the members that are not (DESIGN.md: rebalance on lease loss) until it
   * settles something again (ack, nack, extend or reject, even of a delivery gone stale), or its
   * client says its consumer can take the next message (settle `alive`: what it had not seen was
   * dropped unsettled): proof that its handler runs. It keeps its credit; it owns nothing to use it on.
   */
  leaseLost = false;
  /**
   * Told when a delivery that reached it ('handedOut') is taken back unsettled (lease expiry,
   * rebalance, go-back, a reset, retention, its leaving): the wire server tells its client
   * (TAKEN_BACK), naming the one taken back, so that finding it costs nothing per delivery still
   * held. Not called for settlements, so an ack costs nothing more.
   */
  onTakenBack = void 0;
  idleWaiters = [];
  get credit() {
    return this.closing || this.left || this.paused ? 0 : this.maxInFlight - this.inFlight;
  }
  release() {
    this.inFlight -= 1;
    if (this.inFlight === 0) {
      for (const wake of this.idleWaiters) wake();
      this.idleWaiters = [];
    }
  }
  /** Resolves once nothing is in flight (graceful close waits for this). */
  idle() {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
};

// packages/broker/src/groups/partition-window.ts
var Entry = class {
  constructor(partition, record, keyId, seq) {
    this.partition = partition;
    this.record = record;
    this.keyId = keyId;
    this.seq = seq;
  }
  partition;
  record;
  keyId;
  seq;
  state = "ready";
  flight;
  backoff;
  /**
   * 'partition': its last delivery was taken back by a go-back or a rebalance, which its handler
   * had not failed, so its next attempt is owed even past maxDeliveries. In memory only: read
   * again (a restart, a reconfigure), the record has just its attempt count.
   */
  attemptOwed = false;
  get offset() {
    return this.record.offset;
  }
};
function isReady(state) {
  return state === "ready";
}
function isHeld2(state) {
  return state === "inflight" || state === "deadLettering";
}
var CHUNK_SLOTS = 1024;
var PartitionWindow = class {
  constructor(partition, ack) {
    this.partition = partition;
    this.ack = ack;
    this.origin = ack.ackFloor;
    this.readOffset = ack.ackFloor;
  }
  partition;
  ack;
  /** Offset of seq 0. */
  origin;
  /** chunks[i] holds the seqs of chunk number firstChunk + i; undefined once none is held. */
  chunks = [];
  firstChunk = 0;
  /**
   * The last chunk emptied by remove(), every slot cleared, kept for the next one needed: a
   * window that keeps up with a trickle of records empties after each few and would otherwise
   * allocate a fresh 8 KiB slot array for the next few (most of what a record cost the GC).
   */
  spare;
  /** Number of entries held. */
  size = 0;
  /** Next offset to read from the log. */
  readOffset;
  /** 'partition' ordering: seq of the next record to deliver, in order. */
  cursorSeq = 0;
  /** 'partition' ordering: the member that owns this partition. */
  owner;
  /** Entries in 'ready' state, which a member could take now: when few are left, read more. */
  undelivered = 0;
  /**
   * Entries held outside the group's reach ('inflight': a consumer has them; 'deadLettering': a
   * copy is being made): they leave only when that ends, which a handler that runs for hours or a
   * full dead-letter topic puts off for as long as it likes, so the window's reading does not wait
   * for their room (window-reader.ts, wantsRead).
   */
  held = 0;
  deadLettered = 0;
  redeliveries = 0;
  lostToRetention = 0n;
  /**
   * Counts the times the window started over (reset, retention, reconfigure): a log read begun
   * before cannot add its records to the window that started over, whose read position moved.
   */
  generation = 0;
  /** The seq an offset at or above the origin gets. */
  seqOf(offset) {
    return Number(offset - this.origin);
  }
  /** The seq the next record read will have at the earliest. */
  get readSeq() {
    return this.seqOf(this.readOffset);
  }
  /**
   * Takes a freshly read record into the window, ready to deliver. Seqs only grow, but for the
   * records a rewind kept: false for a record still held from before (read again, it is not taken).
   */
  add(entry) {
    if (!this.place(entry)) return false;
    entry.state = "ready";
    this.undelivered += 1;
    return true;
  }
  place(entry) {
    const number = Math.floor(entry.seq / CHUNK_SLOTS);
    if (this.size === 0) {
      this.chunks.length = 0;
      this.firstChunk = number;
    }
    const index = number - this.firstChunk;
    while (this.chunks.length <= index) this.chunks.push(void 0);
    const chunk = this.chunks[index] ??= this.takeSpare() ?? { slots: new Array(CHUNK_SLOTS), held: 0 };
    const slot = entry.seq - number * CHUNK_SLOTS;
    if (chunk.slots[slot] !== void 0) return false;
    chunk.slots[slot] = entry;
    chunk.held += 1;
    this.size += 1;
    return true;
  }
  setState(entry, state) {
    if (isReady(entry.state)) this.undelivered -= 1;
    if (isHeld2(entry.state)) this.held -= 1;
    entry.state = state;
    if (isReady(state)) this.undelivered += 1;
    if (isHeld2(state)) this.held += 1;
  }
  /** Drops a record that is acked or dead-lettered. */
  remove(entry) {
    if (isReady(entry.state)) this.undelivered -= 1;
    if (isHeld2(entry.state)) this.held -= 1;
    const number = Math.floor(entry.seq / CHUNK_SLOTS);
    const index = number - this.firstChunk;
    const chunk = this.chunks[index];
    chunk.slots[entry.seq - number * CHUNK_SLOTS] = void 0;
    this.size -= 1;
    chunk.held -= 1;
    if (chunk.held > 0) return;
    this.chunks[index] = void 0;
    this.spare = chunk;
    let empty = 0;
    while (empty < this.chunks.length && this.chunks[empty] === void 0) empty += 1;
    if (empty > 0) {
      this.chunks.splice(0, empty);
      this.firstChunk += empty;
    }
  }
  takeSpare() {
    const spare = this.spare;
    this.spare = void 0;
    return spare;
  }
  /** The entry held at `seq`, if any. */
  at(seq) {
    const number = Math.floor(seq / CHUNK_SLOTS);
    const index = number - this.firstChunk;
    return index < 0 ? void 0 : this.chunks[index]?.slots[seq - number * CHUNK_SLOTS];
  }
  /** True if `entry` is still this window's record for its offset (not dropped by a reset). */
  holds(entry) {
    return this.at(entry.seq) === entry;
  }
  /** Every held entry, in offset order (a copy: callers may change the window meanwhile). */
  entries() {
    const held = [];
    for (const chunk of this.chunks) {
      if (chunk) {
        for (const entry of chunk.slots) if (entry) held.push(entry);
      }
    }
    return held;
  }
  /**
   * Forgets the held records (not the acks): they are read again from ackFloor (a reconfigure).
   * Records being dead-lettered stay, and are not read again: their copy is under way, and read
   * again they would be delivered, or copied, a second time. Seqs stay: the origin is kept.
   */
  rewind() {
    this.startOver(this.ack.ackFloor, this.origin, this.entries().filter((entry) => entry.state === "deadLettering"));
  }
  /** Forgets every held record (not the acks): the group ends. */
  clear() {
    this.startOver(this.ack.ackFloor);
  }
  /** Forgets every held record and its acks, and restarts at `offset` (a reset). */
  restartAt(offset) {
    this.ack.resetTo(offset);
    this.startOver(offset);
  }
  /**
   * Retention took every record below `offset`: forgets those and moves the floor there (ack
   * skipTo); the records held above it stay as they are, in flight or not. Returns those dropped.
   */
  skipTo(offset) {
    this.ack.skipTo(offset);
    const dropped = this.entries().filter((entry) => entry.offset < offset);
    for (const entry of dropped) {
      entry.backoff?.cancel();
      this.remove(entry);
    }
    if (this.readOffset < offset) this.startOver(offset);
    return dropped;
  }
  /** Reads again from `offset`, seqs counted from `origin` (at or below it), holding only `kept`. */
  startOver(offset, origin = offset, kept = []) {
    this.generation += 1;
    for (const entry of this.entries()) if (!kept.includes(entry)) entry.backoff?.cancel();
    this.chunks = [];
    this.firstChunk = 0;
    this.size = 0;
    this.undelivered = 0;
    this.held = kept.filter((entry) => isHeld2(entry.state)).length;
    this.origin = origin;
    this.readOffset = offset;
    this.cursorSeq = this.seqOf(offset);
    for (const entry of kept) this.place(entry);
  }
};

// packages/broker/src/groups/window-reader.ts
function readAheadShare(credit, windows) {
  return Math.max(64, Math.ceil(credit / windows));
}
function fillWindows(windows, credit, logs, keyed, enqueue, overtaken) {
  if (credit === 0) return void 0;
  const share = readAheadShare(credit, windows.length);
  const reads = [];
  for (const window of windows) {
    const log = logs.logs[window.partition];
    if (!wantsRead(window, log, share, logs)) continue;
    reads.push(readIntoWindow(window, log, share, logs, keyed, enqueue).catch((error) => {
      if (!isBrookError(error, "OFFSET_OUT_OF_RANGE") || window.readOffset >= log.startOffset) throw error;
      return overtaken(window.partition, log.startOffset);
    }));
  }
  if (reads.length === 0) return void 0;
  return reads.length === 1 ? reads[0] : Promise.all(reads).then(() => void 0);
}
function readRoomMin(share, freedByGroup) {
  return Math.max(1, Math.min(share, Math.ceil(freedByGroup / 4)));
}
function wantsRead(window, log, share, limits) {
  const room = limits.unackedRecordsMax - window.size;
  const freedByGroup = limits.unackedRecordsMax - window.held;
  return window.undelivered < share && room >= readRoomMin(share, freedByGroup) && window.readOffset < log.endOffset;
}
async function readIntoWindow(window, log, share, limits, keyed, enqueue) {
  const maxRecords = Math.min(share, limits.unackedRecordsMax - window.size);
  const generation = window.generation;
  const batches = await log.read(window.readOffset, { maxBytes: limits.fetchBytes, maxRecords, shared: true });
  if (window.generation !== generation) return;
  for (const batch of batches) intake(window, batch, limits.unackedRecordsMax, keyed, enqueue);
}
function intake(window, batch, unackedRecordsMax, keyed, enqueue) {
  const { records } = decodeStoredBatch(batch.bytes);
  if (records.length === 0) return;
  const dense = records.length === batch.header.lastOffsetDelta + 1;
  const firstSeq = window.seqOf(records[0].offset);
  let taken;
  for (let i = 0; i < records.length && window.size < unackedRecordsMax; i++) {
    const record = records[i];
    if (record.offset < window.readOffset) continue;
    taken = record.offset;
    if (window.ack.isAcked(record.offset)) continue;
    const keyId = keyed ? record.keyLatin1() ?? void 0 : void 0;
    const entry = new Entry(window.partition, record, keyId, dense ? firstSeq + i : window.seqOf(record.offset));
    if (window.add(entry)) enqueue(entry);
  }
  if (taken !== void 0) window.readOffset = taken + 1n;
}

// packages/broker/src/groups/group.ts
var Group = class extends GroupAttempts {
  members = [];
  memberSeq = 0;
  pump = new Pump(() => this.step());
  /** New settings for a group without members: held records are read again under the new ordering
   * (but those being dead-lettered, which stay and, in 'key', keep their key). */
  reconfigure(config) {
    this.config = config;
    for (const window of this.windows) window.rewind();
    this.ordering = orderingFor(config, this.windows);
    this.ordering.rebuild(this.windows);
  }
  /**
   * Acks an offset of a group that has no members, without a delivery (redrive keeps its
   * progress this way). Resolves once the ack is durable.
   */
  ackDirectly(partition, offset) {
    assert(this.members.length === 0, "direct ack on a group with members", { group: this.name });
    this.windows[partition].ack.ack(offset);
    return this.journal.ack(partition, offset);
  }
  join(maxInFlight, name, sink) {
    const seq = this.memberSeq++;
    const member = new Member(`${this.name}-${seq}`, name ?? `${this.name}-${seq}`, maxInFlight, seq, sink);
    this.members.push(member);
    this.rebalance("memberJoined", member);
    this.schedulePump();
    return member;
  }
  /** Removes a member at once (a crash): whatever it holds is redelivered to the others. */
  leave(member) {
    if (member.left) return;
    member.left = true;
    for (const window of this.windows) {
      for (const entry of window.entries()) if (entry.flight?.member === member) this.revoke(entry, "memberLeft");
    }
    this.members.splice(this.members.indexOf(member), 1);
    this.rebalance("memberLeft", member);
    this.schedulePump();
  }
  /** Graceful leave: nothing new is delivered; waits for what the member holds to be settled. */
  async drainAndLeave(member) {
    member.closing = true;
    this.rebalance("memberClosing", member);
    await member.idle();
    this.leave(member);
  }
  /** Why the journal refuses every write until the broker is reopened; undefined while it is healthy. */
  get journalFailure() {
    return this.journal.failure;
  }
  /**
   * Why the journal refuses writes (until a reopen: every ack fails with it), else why the pump's
   * last step failed, else the journal's last compaction, else a dead-letter copy waiting to be
   * tried again; undefined when none.
   */
  get problem() {
    return this.journal.failure ?? this.lastError ?? this.journal.compactionFailure ?? this.deadLetterProblem;
  }
  /** Something changed that may let records move: run the pump soon (once, however many ask). */
  schedulePump() {
    this.pump.schedule();
  }
  /** Replay or skip: every partition restarts at the given offset; all in flight becomes stale. */
  async resetTo(offsets) {
    for (const window of this.windows) {
      for (const entry of window.entries()) if (entry.flight) this.endFlight(entry);
      window.restartAt(offsets[window.partition]);
    }
    this.ordering.rebuild(this.windows);
    this.report.reset(offsets);
    await Promise.all(this.windows.map((w) => this.journal.reset(w.partition, w.ack.ackFloor)));
    this.schedulePump();
  }
  /**
   * Retention deleted records below `startOffset`: count what this group lost and move on. The
   * records above stay as they were (acks, attempts, deliveries): forgetting them would deliver them again.
   */
  async overtakenBy(partition, startOffset) {
    const window = this.windows[partition];
    const floor = window.ack.ackFloor;
    if (floor >= startOffset) return;
    const lost = window.ack.unackedBelow(startOffset);
    for (const entry of window.skipTo(startOffset)) {
      this.endFlight(entry);
      this.ordering.release(entry);
    }
    window.lostToRetention += lost;
    this.report.retentionDropped(partition, startOffset, lost);
    await this.journal.skip(partition, floor, startOffset);
    this.schedulePump();
  }
  /**
   * The group ends: its topic was deleted, or the broker closes. Its deliveries are taken back,
   * so a later ack() or reject() changes nothing and rejects with `ending` (not DELIVERY_STALE:
   * the record will not come again), a graceful close() of a member resolves at once, and no
   * lease, backoff or dead-letter retry of the group fires any more.
   */
  async close(ending) {
    this.endAttempts(ending);
    for (const member of [...this.members]) member.left = true;
    await this.journal.close();
  }
  /**
   * One step of the pump: read, assign, hand out. A failure to read the log or write the journal
   * ends the step; it is kept in `lastError` (describeGroup shows it) and the next event that
   * schedules the pump tries again. Records already assigned stay in flight and come back when
   * their leases expire.
   */
  async step() {
    if (this.closed) return;
    try {
      const reading = this.fill((member) => Math.max(0, member.credit));
      if (reading) await reading;
      const flights = [];
      const now = this.context.clock.now();
      this.ordering.assign(this.members, this.windows, (entry, member) => {
        const flight = this.startFlight(entry, member, now);
        if (flight) flights.push(flight);
      });
      const handing = flights.length > 0 ? this.handOut(flights) : void 0;
      this.readAhead = false;
      const readingAhead = this.fill((member) => member.closing || member.left ? 0 : member.maxInFlight);
      if (handing && readingAhead) await settleBoth(handing, readingAhead);
      else await (handing ?? readingAhead);
      this.lastError = void 0;
      if (this.readAhead && this.members.some((member) => member.credit > 0)) this.schedulePump();
    } catch (error) {
      this.lastError = error;
    }
  }
  /** Reads ahead a share of `credit` over the members into the windows: fillWindows. */
  fill(creditOf) {
    let credit = 0;
    for (const member of this.members) credit += creditOf(member);
    return fillWindows(this.windows, credit, this.context, this.config.ordering === "key", this.enqueue, this.overtaken);
  }
  /** True once the step's read-ahead has taken a record into a window. */
  readAhead = false;
  enqueue = (entry) => {
    this.ordering.enqueue(entry);
    if (entry.state === "ready") this.readAhead = true;
  };
  overtaken = (partition, startOffset) => this.overtakenBy(partition, startOffset);
  markLeaseLost(member, lost) {
    if (member.left || member.leaseLost === lost) return;
    member.leaseLost = lost;
    this.rebalance(lost ? "leaseLost" : "leaseRegained", member);
    this.schedulePump();
  }
  rebalance(reason, member) {
    if (this.config.ordering !== "partition") return;
    const revoke = (entry) => this.revoke(entry, "rebalance");
    if (PartitionOrdering.reassign(this.members, this.windows, revoke)) this.report.rebalanced(this.windows, reason, member);
  }
};
async function settleBoth(first, second) {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === "rejected") throw a.reason;
  if (b.status === "rejected") throw b.reason;
}

// packages/broker/src/groups/group-journal.ts
import { dirname as dirname3 } from "node:path";

// packages/broker/src/groups/offset-ranges.ts
var OffsetRanges = class _OffsetRanges {
  /** starts[i] < ends[i] < starts[i + 1]: adjacent ranges are always merged. */
  starts = [];
  ends = [];
  get rangeCount() {
    return this.starts.length;
  }
  /** The number of offsets in the set. */
  get size() {
    let total = 0n;
    for (let i = 0; i < this.starts.length; i++) total += this.ends[i] - this.starts[i];
    return total;
  }
  /** How many offsets of the set are below `offset`. */
  countBelow(offset) {
    let total = 0n;
    for (let i = 0; i < this.starts.length && this.starts[i] < offset; i++) {
      total += (this.ends[i] < offset ? this.ends[i] : offset) - this.starts[i];
    }
    return total;
  }
  has(offset) {
    const last = this.ends.length - 1;
    if (last < 0 || offset >= this.ends[last]) return false;
    const i = this.lastStartAtOrBefore(offset);
    return i >= 0 && offset < this.ends[i];
  }
  /** Adds `offset`; returns false if it was already present. */
  add(offset) {
    const last = this.ends.length - 1;
    if (last < 0 || offset > this.ends[last]) {
      this.starts.push(offset);
      this.ends.push(offset + 1n);
      return true;
    }
    if (offset === this.ends[last]) {
      this.ends[last] = offset + 1n;
      return true;
    }
    const i = this.lastStartAtOrBefore(offset);
    if (i >= 0 && offset < this.ends[i]) return false;
    const joinsLeft = i >= 0 && this.ends[i] === offset;
    const joinsRight = i + 1 < this.starts.length && this.starts[i + 1] === offset + 1n;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[i + 1];
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinsLeft) {
      this.ends[i] = offset + 1n;
    } else if (joinsRight) {
      this.starts[i + 1] = offset;
    } else {
      this.starts.splice(i + 1, 0, offset);
      this.ends.splice(i + 1, 0, offset + 1n);
    }
    return true;
  }
  /** Start and end of the first range, if any: used to advance an ack floor over a run of acks. */
  get firstStart() {
    return this.starts[0];
  }
  get firstEnd() {
    return this.ends[0];
  }
  /** Removes every offset below `offset`. */
  dropBelow(offset) {
    if (this.starts.length === 0 || this.starts[0] >= offset) return;
    let cut = 0;
    while (cut < this.starts.length && this.ends[cut] <= offset) cut += 1;
    this.starts.splice(0, cut);
    this.ends.splice(0, cut);
    if (this.starts.length > 0 && this.starts[0] < offset) this.starts[0] = offset;
  }
  /** One past the largest offset in the set, or undefined if it is empty. */
  get lastEnd() {
    return this.ends.at(-1);
  }
  clear() {
    this.starts = [];
    this.ends = [];
  }
  /** The ranges as [start, end) pairs, for snapshots and describe. */
  toArray() {
    return this.starts.map((start, i) => [start, this.ends[i]]);
  }
  static fromArray(ranges) {
    const set = new _OffsetRanges();
    for (const [start, end] of ranges) {
      assert(start < end, "empty range", { start, end });
      const last = set.ends.at(-1);
      assert(last === void 0 || start > last, "ranges must be sorted, disjoint and non-adjacent");
      set.starts.push(start);
      set.ends.push(end);
    }
    return set;
  }
  /** Index of the last range whose start is <= offset, or -1. */
  lastStartAtOrBefore(offset) {
    return lastIndexWhere(this.starts.length, (i) => this.starts[i] <= offset);
  }
};

// packages/broker/src/groups/ack-state.ts
var AckState = class _AckState {
  floor;
  acked;
  /** Offsets tried at least once (acked ones linger until the floor passes them). */
  tried = new OffsetRanges();
  /** Attempt counts that differ from what `tried` says: above one, or given back to zero. */
  counts = /* @__PURE__ */ new Map();
  constructor(ackFloor, acked = new OffsetRanges()) {
    this.floor = ackFloor;
    this.acked = acked;
    this.acked.dropBelow(ackFloor);
    this.absorbAcked();
  }
  get ackFloor() {
    return this.floor;
  }
  /** Acked offsets at or above the floor (they do not count as lag). */
  get ackedAboveFloor() {
    return this.acked.size;
  }
  /** One past the highest offset this state says is acked: at least the ackFloor. */
  get ackedEnd() {
    const last = this.acked.lastEnd;
    return last !== void 0 && last > this.floor ? last : this.floor;
  }
  /** Offsets in [ackFloor, offset) that are not acked: what skipping to `offset` would lose. */
  unackedBelow(offset) {
    return offset <= this.floor ? 0n : offset - this.floor - this.acked.countBelow(offset);
  }
  isAcked(offset) {
    return offset < this.floor || this.acked.has(offset);
  }
  /** Delivery attempts made so far for `offset` (0 if never delivered, or acked). */
  attempts(offset) {
    return this.isAcked(offset) ? 0 : this.unackedAttempts(offset);
  }
  /** Counts a new delivery attempt and returns its deliveryCount (1 for the first). */
  recordAttempt(offset) {
    assert(!this.isAcked(offset), "attempt on an acked offset", { offset });
    const count = this.unackedAttempts(offset) + 1;
    this.restoreAttempts(offset, count);
    return count;
  }
  /** Sets the attempt count, as read back from the journal. */
  restoreAttempts(offset, count) {
    if (this.isAcked(offset)) return;
    if (count === 1) {
      this.tried.add(offset);
      if (this.counts.size > 0) this.counts.delete(offset);
    } else {
      this.counts.set(offset, count);
    }
  }
  /** Acks `offset`; returns false if it already was. Moves the floor over any run of acks. */
  ack(offset) {
    if (offset === this.floor) {
      this.floor = offset + 1n;
    } else {
      if (this.isAcked(offset)) return false;
      this.acked.add(offset);
    }
    if (this.counts.size > 0) this.counts.delete(offset);
    this.absorbAcked();
    if (this.tried.firstEnd !== void 0 && this.tried.firstEnd <= this.floor) this.tried.dropBelow(this.floor);
    return true;
  }
  /**
   * Moves the floor to `offset`, forgetting acks and attempts: a replay (reset to an earlier
   * offset) or a skip (retention took the records below startOffset, or reset to a later offset).
   */
  resetTo(offset) {
    this.floor = offset;
    this.acked.clear();
    this.tried = new OffsetRanges();
    this.counts.clear();
  }
  /**
   * Retention took every offset below `offset`: the floor moves there, and what was known of the
   * offsets above it (acks, attempts) stays, since those records are still in the log.
   */
  skipTo(offset) {
    if (offset <= this.floor) return;
    this.floor = offset;
    this.acked.dropBelow(offset);
    this.tried.dropBelow(offset);
    for (const counted of this.counts.keys()) if (counted < offset) this.counts.delete(counted);
    this.absorbAcked();
  }
  snapshot() {
    const attempts = [];
    for (const [start, end] of this.tried.toArray()) {
      for (let offset = start < this.floor ? this.floor : start; offset < end; offset++) {
        if (!this.acked.has(offset) && !this.counts.has(offset)) attempts.push([offset, 1]);
      }
    }
    for (const [offset, count] of this.counts) if (count > 0 && !this.isAcked(offset)) attempts.push([offset, count]);
    return { ackFloor: this.floor, acked: this.acked.toArray(), attempts: attempts.sort((a, b) => a[0] < b[0] ? -1 : 1) };
  }
  static restore(snapshot) {
    const state = new _AckState(snapshot.ackFloor, OffsetRanges.fromArray(snapshot.acked));
    for (const [offset, count] of snapshot.attempts) state.restoreAttempts(offset, count);
    return state;
  }
  /** Keeps the invariant that no acked range starts at the floor: the floor moves over it. */
  absorbAcked() {
    if (this.acked.firstStart === this.floor) {
      this.floor = this.acked.firstEnd;
      this.acked.dropBelow(this.floor);
    }
  }
  unackedAttempts(offset) {
    const count = this.counts.size > 0 ? this.counts.get(offset) : void 0;
    if (count !== void 0) return count;
    return this.tried.has(offset) ? 1 : 0;
  }
};

// packages/broker/src/producers/decimal.ts
var DECIMAL = /^(0|[1-9]\d{0,18})$/;
var INT64_MAX = (1n << 63n) - 1n;
function parseDecimal(value, what) {
  if (typeof value !== "string" || !DECIMAL.test(value) || BigInt(value) > INT64_MAX) {
    throw new Error(`${what} ${JSON.stringify(value)} is not a decimal integer in 0..2^63-1`);
  }
  return BigInt(value);
}

// packages/broker/src/groups/group-state-file.ts
var utf83 = new TextEncoder();
function encodeStateFile(generation, states) {
  const file = {
    generation,
    partitions: states.map((state) => {
      const snapshot = state.snapshot();
      return {
        ackFloor: snapshot.ackFloor.toString(),
        acked: snapshot.acked.map(([s, e]) => [s.toString(), e.toString()]),
        attempts: snapshot.attempts.map(([o, n]) => [o.toString(), n])
      };
    })
  };
  return utf83.encode(JSON.stringify(file));
}
function parseStateFile(path, bytes, partitions) {
  try {
    const file = JSON.parse(new TextDecoder().decode(bytes));
    const { generation } = file;
    if (!Number.isSafeInteger(generation) || generation < 0) throw new Error(`generation ${String(generation)}`);
    if (!Array.isArray(file.partitions) || file.partitions.length !== partitions) {
      throw new Error(`${Array.isArray(file.partitions) ? file.partitions.length : "no"} partitions, the topic has ${partitions}`);
    }
    return { generation, snapshots: file.partitions.map(parseSnapshot) };
  } catch (error) {
    throw new BrookError("CORRUPT_METADATA", `${path} is not a valid group state: ${String(error)}`, { file: path }, { cause: error });
  }
}
function parseSnapshot(partition) {
  const acked = pairs(partition.acked, "acked").map(([s, e]) => [parseDecimal(s, "acked start"), parseDecimal(e, "acked end")]);
  acked.forEach(([start, end], i) => {
    if (!(start < end) || i > 0 && !(start > acked[i - 1][1])) throw new Error(`acked range [${start}, ${end}) empty or out of order`);
  });
  const attempts = pairs(partition.attempts, "attempts").map(([offset, count]) => {
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`attempt count ${String(count)}`);
    return [parseDecimal(offset, "attempt offset"), count];
  });
  return { ackFloor: parseDecimal(partition.ackFloor, "ackFloor"), acked, attempts };
}
function pairs(value, what) {
  if (!Array.isArray(value) || !value.every((pair) => Array.isArray(pair) && pair.length === 2)) throw new Error(`${what} is not a list of pairs`);
  return value;
}

// packages/broker/src/groups/journal-codec.ts
var FORMAT_BINARY = 1;
var FORMAT_JSON_FIRST_BYTE = 123;
var HEADER_BYTES = 1 + 4 + 1 + 4 + 4 + 4;
var RANGE_BYTES = 16;
var COUNT_BYTES = 12;
function sizeOfChanges(changes) {
  const ranges = (changes.f?.length ?? 0) + (changes.a?.length ?? 0);
  return HEADER_BYTES + (changes.r !== void 0 ? 8 : 0) + ranges * RANGE_BYTES + (changes.n?.length ?? 0) * COUNT_BYTES;
}
function encodeChangesList(list) {
  let total = 0;
  for (const changes of list) total += sizeOfChanges(changes);
  const buffer = new ArrayBuffer(total);
  const view = new DataView(buffer);
  const encoded = [];
  let at = 0;
  for (const changes of list) {
    const size = sizeOfChanges(changes);
    writeChanges(view, at, changes);
    encoded.push(new Uint8Array(buffer, at, size));
    at += size;
  }
  return encoded;
}
function writeChanges(view, start, changes) {
  const first = changes.f ?? [];
  const counts = changes.n ?? [];
  const acked = changes.a ?? [];
  const hasReset = changes.r !== void 0;
  assert(Number.isInteger(changes.p) && changes.p >= 0 && changes.p <= 2147483647, "journal partition outside int32", { partition: changes.p });
  view.setInt8(start, FORMAT_BINARY);
  view.setInt32(start + 1, changes.p);
  view.setInt8(start + 5, hasReset ? 1 : 0);
  view.setInt32(start + 6, first.length);
  view.setInt32(start + 10, counts.length);
  view.setInt32(start + 14, acked.length);
  let at = start + HEADER_BYTES;
  if (hasReset) {
    view.setBigInt64(at, changes.r);
    at += 8;
  }
  at = writeRanges(view, at, first);
  for (const [offset, count] of counts) {
    assert(Number.isInteger(count) && count >= 0 && count <= 2147483647, "journal attempt count outside int32", { count });
    view.setBigInt64(at, offset);
    view.setInt32(at + 8, count);
    at += COUNT_BYTES;
  }
  writeRanges(view, at, acked);
}
function decodeChanges(bytes, file) {
  if (bytes[0] === FORMAT_JSON_FIRST_BYTE) return decodeJson(bytes, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER_BYTES || view.getInt8(0) !== FORMAT_BINARY) throw corrupt(file, "unknown format");
  const hasReset = view.getInt8(5);
  const firstCount = view.getInt32(6);
  const countsCount = view.getInt32(10);
  const ackedCount = view.getInt32(14);
  const expected = HEADER_BYTES + (hasReset === 1 ? 8 : 0) + (firstCount + ackedCount) * RANGE_BYTES + countsCount * COUNT_BYTES;
  if (hasReset > 1 || firstCount < 0 || countsCount < 0 || ackedCount < 0 || expected !== bytes.length) {
    throw corrupt(file, `lengths do not add up to its ${bytes.length} bytes`);
  }
  const changes = { p: view.getInt32(1) };
  let at = HEADER_BYTES;
  if (hasReset === 1) {
    changes.r = view.getBigInt64(at);
    at += 8;
  }
  if (firstCount > 0) changes.f = readRanges(view, at, firstCount);
  at += firstCount * RANGE_BYTES;
  if (countsCount > 0) {
    changes.n = [];
    for (let i = 0; i < countsCount; i++, at += COUNT_BYTES) changes.n.push([view.getBigInt64(at), view.getInt32(at + 8)]);
  }
  if (ackedCount > 0) changes.a = readRanges(view, at, ackedCount);
  return changes;
}
function writeRanges(view, at, ranges) {
  for (const [start, end] of ranges) {
    view.setBigInt64(at, start);
    view.setBigInt64(at + 8, end);
    at += RANGE_BYTES;
  }
  return at;
}
function readRanges(view, at, count) {
  const ranges = [];
  for (let i = 0; i < count; i++, at += RANGE_BYTES) ranges.push([view.getBigInt64(at), view.getBigInt64(at + 8)]);
  return ranges;
}
function decodeJson(bytes, file) {
  let json;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw corrupt(file, `not JSON: ${String(error)}`);
  }
  const ranges = (list) => list.map(([start, end]) => [BigInt(start), BigInt(end)]);
  const changes = { p: json.p };
  if (json.r !== void 0) changes.r = BigInt(json.r);
  if (json.f) changes.f = ranges(json.f);
  if (json.n) changes.n = json.n.map(([offset, count]) => [BigInt(offset), count]);
  if (json.a) changes.a = ranges(json.a);
  return changes;
}
function corrupt(file, detail) {
  return new BrookError("CORRUPT_METADATA", `${file}: a group journal record is invalid: ${detail}`, { file });
}

// packages/broker/src/groups/group-journal.ts
var JOURNAL_DIR_PATTERN = /^journal-(0|[1-9]\d*)$/;
var FirstFailure = class _FirstFailure {
  error;
  /** `logOptions` whose logs record their failure here, and tell the caller's onFailure of the first only. */
  static watching(logOptions) {
    const first = new _FirstFailure();
    const onFailure = (error) => {
      if (first.error !== void 0) return;
      first.error = error;
      logOptions.onFailure?.(error);
    };
    return { first, logOptions: { ...logOptions, onFailure } };
  }
};
var JOURNAL_READ_BYTES = 1024 * 1024;
var GroupJournal = class _GroupJournal {
  constructor(fs, dir, logOptions, firstFailure, journalBytesMax, log, generation, states) {
    this.fs = fs;
    this.dir = dir;
    this.logOptions = logOptions;
    this.firstFailure = firstFailure;
    this.journalBytesMax = journalBytesMax;
    this.log = log;
    this.generation = generation;
    this.states = states;
    this.compactAtBytes = journalBytesMax;
  }
  fs;
  dir;
  logOptions;
  firstFailure;
  journalBytesMax;
  log;
  generation;
  states;
  pending = [];
  flushing;
  nextFlush;
  /** journal-(generation + 1) while a compaction runs (or failed and waits to be tried again). */
  nextLog;
  compacting;
  /** Why the last compaction failed, until one succeeds (describeGroup shows it). */
  compactionFailure;
  /**
   * The journal size that starts the next compaction: journalBytesMax, and after a failure another
   * journalBytesMax further on, so that a disk that keeps failing costs one more attempt per
   * journalBytesMax written rather than one per flush.
   */
  compactAtBytes;
  /**
   * Why the journal refuses every write until the broker is reopened (a failed write or fsync,
   * the fsync { intervalMs } timer's too, which no caller waits for); undefined while healthy.
   */
  get failure() {
    return this.firstFailure.error;
  }
  /** Opens (or creates, with every partition's floor at `initialFloors`, one per partition) a group's state. */
  static async open(fs, dir, givenLogOptions, journalBytesMax, partitions, initialFloors) {
    const { first, logOptions } = FirstFailure.watching(givenLogOptions);
    await mkdirDurable(fs, dir);
    if (!logOptions.cleanShutdown) {
      await fs.syncDir(dirname3(dir));
      await fs.syncDir(dirname3(dirname3(dir)));
    }
    const statePath = `${dir}/state.json`;
    const stateFile = await fs.exists(statePath) ? parseStateFile(statePath, await fs.readFile(statePath), partitions) : void 0;
    const created = stateFile === void 0;
    const states = stateFile ? stateFile.snapshots.map((snapshot) => AckState.restore(snapshot)) : (await initialFloors()).map((floor) => new AckState(floor));
    const generation = stateFile?.generation ?? 0;
    if (created) await writeFileAtomic(fs, statePath, encodeStateFile(generation, states));
    for (const name of await fs.readdir(dir)) {
      if (JOURNAL_DIR_PATTERN.test(name) && name !== `journal-${generation}`) await fs.rmdir(`${dir}/${name}`);
    }
    const log = await PartitionLog.open({ ...logOptions, dir: `${dir}/journal-${generation}` });
    try {
      await replay(log, states, `${dir}/journal-${generation}`);
    } catch (error) {
      await log.close();
      throw error;
    }
    return { journal: new _GroupJournal(fs, dir, logOptions, first, journalBytesMax, log, generation, states), states, created };
  }
  /** Records that `offset` was handed out for the `count`-th time. Durable with the next flush. */
  attempt(partition, offset, count) {
    const changes = this.changesFor(partition);
    if (count === 1 && !changes.n) addToRanges(changes.f ??= [], offset);
    else (changes.n ??= []).push([offset, count]);
  }
  /** Records that an attempt did not happen after all: `offset` is back to `count` attempts. */
  attemptGivenBack(partition, offset, count) {
    (this.changesFor(partition).n ??= []).push([offset, count]);
    return this.flush();
  }
  ack(partition, offset) {
    addToRanges(this.changesFor(partition).a ??= [], offset);
    return this.flush();
  }
  /**
   * Retention took [from, to): journaled as acked, which moves the floor to `to` on replay and,
   * unlike a reset, keeps the acks and attempts above it.
   */
  skip(partition, from, to) {
    (this.changesFor(partition).a ??= []).push([from, to]);
    return this.flush();
  }
  reset(partition, floor) {
    this.pending.push({ p: partition, r: floor });
    return this.flush();
  }
  /**
   * Resolves once everything recorded so far is durable (per the fsync policy). Every caller
   * until the write starts gets the same promise: one per flush, not one per ack.
   */
  flush() {
    if (this.nextFlush) return this.nextFlush;
    this.nextFlush = (async () => {
      await void 0;
      await this.flushing;
      this.nextFlush = void 0;
      this.flushing = this.writePending();
      await this.flushing;
    })();
    this.nextFlush.catch(() => void 0);
    return this.nextFlush;
  }
  /**
   * Flushes, then closes both journals. They close even when the flush fails (a log's write
   * failure is sticky, so every later flush fails too): no file handle outlives the journal.
   */
  async close() {
    try {
      await this.flush();
    } finally {
      await this.compacting;
      await this.nextLog?.close();
      await this.log.close();
    }
  }
  async writePending() {
    if (this.firstFailure.error) throw this.firstFailure.error;
    const changes = this.pending;
    this.pending = [];
    if (changes.length === 0) return;
    const timestamp = this.logOptions.clock.now();
    const records = encodeChangesList(changes).map((value) => ({ key: null, value, timestamp }));
    const next = this.nextLog;
    await Promise.all([this.log.append(encodeBatch(records)), next?.append(encodeBatch(records))]);
    if (this.log.sizeBytes > this.compactAtBytes) this.compacting ??= this.compact();
  }
  /** The compaction in the file comment; never rejects (a failed one is tried again later). */
  async compact() {
    const generation = this.generation + 1;
    try {
      this.nextLog ??= await PartitionLog.open({ ...this.logOptions, dir: `${this.dir}/journal-${generation}` });
      if (this.firstFailure.error) throw this.firstFailure.error;
      const snapshot = encodeStateFile(generation, this.states);
      await writeFileAtomic(this.fs, `${this.dir}/state.json`, snapshot);
      const old = this.log;
      this.log = this.nextLog;
      this.nextLog = void 0;
      this.generation = generation;
      await old.close();
      await this.fs.rmdir(`${this.dir}/journal-${generation - 1}`);
      this.compactionFailure = void 0;
      this.compactAtBytes = this.journalBytesMax;
    } catch (error) {
      this.compactionFailure = error;
      this.compactAtBytes = this.log.sizeBytes + this.journalBytesMax;
    } finally {
      this.compacting = void 0;
    }
  }
  /** The open changes record for a partition: a reset always starts a new one. */
  changesFor(partition) {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if (this.pending[i].p === partition) return this.pending[i];
    }
    const changes = { p: partition };
    this.pending.push(changes);
    return changes;
  }
};
async function replay(log, states, file) {
  for (let offset = log.startOffset; offset < log.endOffset; ) {
    const batches = await log.read(offset, { maxBytes: JOURNAL_READ_BYTES });
    if (batches.length === 0) break;
    for (const batch of batches) {
      for (const record of decodeBatch(batch.bytes, 0, { crcVerified: true }).records) {
        applyChanges(states, decodeChanges(record.value, file));
        offset = record.offset + 1n;
      }
    }
  }
}
function applyChanges(states, changes) {
  const state = states[changes.p];
  if (!state) return;
  if (changes.r !== void 0) state.resetTo(changes.r);
  for (const [start, end] of changes.f ?? []) {
    for (let o = start; o < end; o++) if (state.attempts(o) === 0) state.restoreAttempts(o, 1);
  }
  for (const [offset, count] of changes.n ?? []) state.restoreAttempts(offset, count);
  for (const [start, end] of changes.a ?? []) {
    if (start <= state.ackFloor) state.skipTo(end);
    else for (let o = start; o < end; o++) state.ack(o);
  }
}
function addToRanges(ranges, offset) {
  const last = ranges[ranges.length - 1];
  if (last && last[1] === offset) last[1] = offset + 1n;
  else ranges.push([offset, offset + 1n]);
}

// packages/broker/src/groups/group-state.ts
async function openGroupState(options) {
  const { logs } = options;
  const base = options.journalLogOptions;
  const logOptions = {
    ...base,
    onFailure: (error) => {
      base.onFailure?.(error);
      options.journalFailed(error);
    }
  };
  const { journal, states, created } = await GroupJournal.open(
    options.fs,
    options.dir,
    logOptions,
    options.journalBytesMax,
    logs.length,
    () => Promise.all(logs.map((log) => startOffsetFor(log, options.from)))
  );
  if (created) await options.created();
  const windows = states.map((state, partition) => new PartitionWindow(partition, state));
  await forgetAcksPastLogEnd(journal, windows, logs);
  return { journal, windows };
}
async function forgetAcksPastLogEnd(journal, windows, logs) {
  for (const window of windows) {
    const endOffset = logs[window.partition].endOffset;
    if (window.ack.ackedEnd <= endOffset) continue;
    const restartAt = window.ack.ackFloor < endOffset ? window.ack.ackFloor : endOffset;
    window.restartAt(restartAt);
    await journal.reset(window.partition, restartAt);
  }
}
async function startOffsetFor(log, from) {
  if (from === "earliest") return log.startOffset;
  if (from === "latest") return log.endOffset;
  if ("offset" in from) return from.offset < log.startOffset ? log.startOffset : from.offset > log.endOffset ? log.endOffset : from.offset;
  return log.offsetForTimestamp(from.timestamp);
}
function raisedToStart(found, logs) {
  return found.map((offset, partition) => offset < logs[partition].startOffset ? logs[partition].startOffset : offset);
}

// packages/broker/src/groups/tail-reader.ts
var TailReader = class {
  constructor(id2, topic, logs, readOffsets, limits, sink, events) {
    this.id = id2;
    this.topic = topic;
    this.logs = logs;
    this.readOffsets = readOffsets;
    this.limits = limits;
    this.sink = sink;
    this.events = events;
    this.buffered = logs.map(() => new Fifo());
  }
  id;
  topic;
  logs;
  readOffsets;
  limits;
  sink;
  events;
  /** Per partition, records read and not yet handed out, in offset order. */
  buffered;
  inFlight = 0;
  /** The partition whose turn it is. */
  next = 0;
  pump = new Pump(() => this.step());
  /** The last failure to read the log; the next new record or freed slot tries again. */
  lastError;
  closed = false;
  /** Records retention deleted before this reader handed them out, over every partition. */
  lostToRetention = 0n;
  schedulePump() {
    this.pump.schedule();
  }
  /** A delivery was settled, however: its slot is free for the next record. */
  release() {
    this.inFlight -= 1;
    this.schedulePump();
  }
  /**
   * Fills the free slots, taking the partitions in turn, a record each, and going on next time
   * from where this step stopped: a steady backlog on one partition cannot take every freed slot
   * and starve the others (as a group's orderings take care of too).
   */
  async step() {
    const count = this.logs.length;
    try {
      for (let idle = 0; idle < count && this.inFlight < this.limits.maxInFlight && !this.closed; ) {
        const p = this.next;
        this.next = (p + 1) % count;
        let record = this.buffered[p].shift();
        if (!record && this.readOffsets[p] < this.logs[p].endOffset) record = await this.read(p);
        if (!record) {
          idle += 1;
          continue;
        }
        idle = 0;
        this.inFlight += 1;
        this.sink(new TailDelivery(this, p, record));
      }
    } catch (error) {
      this.lastError = error;
    }
  }
  /**
   * Retention deleted the records of `partition` below `startOffset`. Those the reader had not
   * handed out yet are lost, read ahead into its buffer or not: it goes on at startOffset, as a
   * group does, and says how many it skipped.
   */
  overtakenBy(partition, startOffset) {
    if (this.closed) return;
    const buffered = this.buffered[partition];
    const position = buffered.peek()?.offset ?? this.readOffsets[partition];
    if (position >= startOffset) return;
    buffered.dropWhile((record) => record.offset < startOffset);
    if (this.readOffsets[partition] < startOffset) this.readOffsets[partition] = startOffset;
    const lostRecords = startOffset - position;
    this.lostToRetention += lostRecords;
    if (this.events.wants("retentionDropped")) {
      this.events.emit("retentionDropped", { topic: this.topic, partition, startOffset, reader: this.id, lostRecords });
    }
    this.schedulePump();
  }
  /**
   * Reads the next records of partition `p` into its buffer and returns the first. Retention may
   * overtake the reader before or while it reads: it then reads again from startOffset.
   */
  async read(p) {
    const log = this.logs[p];
    for (; ; ) {
      const from = this.readOffsets[p];
      if (from >= log.endOffset) return void 0;
      let batches;
      try {
        batches = await log.read(from, { maxBytes: this.limits.fetchBytes, shared: true });
      } catch (error) {
        if (!isBrookError(error, "OFFSET_OUT_OF_RANGE") || from >= log.startOffset) throw error;
        if (this.closed) return void 0;
        this.overtakenBy(p, log.startOffset);
        continue;
      }
      for (const batch of batches) {
        for (const record of decodeStoredBatch(batch.bytes).records) {
          if (record.offset >= this.readOffsets[p]) this.buffered[p].push(record);
        }
      }
      const last = this.buffered[p].last();
      if (last) this.readOffsets[p] = last.offset + 1n;
      if (last || this.readOffsets[p] === from) return this.buffered[p].shift();
    }
  }
};
var NOTHING_TO_WAIT_FOR = Promise.resolve();
var TailDelivery = class extends Delivery {
  constructor(reader, partition, record) {
    super(reader.topic, partition, record, 1);
    this.reader = reader;
  }
  reader;
  takenBack() {
    return false;
  }
  settleAck() {
    this.reader.release();
    return NOTHING_TO_WAIT_FOR;
  }
  settleNack() {
    this.reader.release();
  }
  settleExtend() {
  }
  settleReject() {
    this.reader.release();
    return NOTHING_TO_WAIT_FOR;
  }
};

// packages/broker/src/groups/tail-readers.ts
var TailReaders = class {
  constructor(deps) {
    this.deps = deps;
  }
  deps;
  readers = /* @__PURE__ */ new Set();
  lastId = 0;
  /** A reader of `topic` from `offsets` on, reading at once. */
  add(topic, logs, offsets, maxInFlight, sink) {
    const limits = { maxInFlight, fetchBytes: this.deps.fetchBytes };
    const reader = new TailReader(`reader-${++this.lastId}`, topic, logs, offsets, limits, sink, this.deps.events);
    this.readers.add(reader);
    reader.schedulePump();
    return reader;
  }
  /** It reads no further and is told nothing more. */
  leave(reader) {
    reader.closed = true;
    this.readers.delete(reader);
  }
  ofTopic(topic) {
    return [...this.readers].filter((reader) => reader.topic === topic);
  }
  /** The broker closes: every reader stops. */
  closeAll() {
    for (const reader of this.readers) reader.closed = true;
  }
};

// packages/broker/src/groups/group-config-files.ts
var CONFIG_FILE = "config.json";
var GroupConfigFiles = class {
  constructor(fs, dataDir) {
    this.fs = fs;
    this.dataDir = dataDir;
  }
  fs;
  dataDir;
  /** Removes every group directory of `topic`, durably (the topic is gone, or about to be created anew). */
  async removeTopic(topic) {
    const root = `${this.dataDir}/groups`;
    if (!await this.fs.exists(`${root}/${topic}`)) return;
    await this.fs.rmdir(`${root}/${topic}`);
    await this.fs.syncDir(root);
  }
  exists(topic, group) {
    return this.fs.exists(this.path(topic, group));
  }
  /**
   * The kept settings, or undefined for a directory without them (a crash before the first write).
   * CORRUPT_METADATA naming the file if they are not settings a subscribe could have asked for.
   */
  async read(topic, group) {
    if (!await this.exists(topic, group)) return void 0;
    const path = this.path(topic, group);
    const bytes = await this.fs.readFile(path);
    try {
      const kept = JSON.parse(new TextDecoder().decode(bytes));
      if (typeof kept !== "object" || kept === null || Array.isArray(kept)) throw new Error("not an object");
      return resolveGroupConfig({ ...kept, topic, from: "earliest" });
    } catch (error) {
      throw new BrookError("CORRUPT_METADATA", `${path} is not a valid group config: ${String(error)}`, { file: path }, { cause: error });
    }
  }
  async write(topic, group, config) {
    const { from: _from, ...kept } = config;
    await writeFileAtomic(this.fs, this.path(topic, group), new TextEncoder().encode(JSON.stringify(kept, null, 2)));
  }
  /** Removes the group's directory durably, config.json first: the commit point of deleteGroup. */
  remove(topic, group, committed) {
    return removeCommittedDir(this.fs, this.dir(topic, group), CONFIG_FILE, committed);
  }
  /** Removes what a crash left of a create or a delete of the group: a directory without config.json. */
  async removeUncommitted(topic, group) {
    if (await this.exists(topic, group) || !await this.fs.exists(this.dir(topic, group))) return;
    await rmdirDurable(this.fs, this.dir(topic, group));
  }
  /**
   * A group with members keeps its settings (INVALID_CONFIG for others); an empty one takes the
   * joining member's, written before they are used. Joins of a group call this one at a time.
   */
  async agree(group, asked) {
    const conflicts = configConflicts(group.config, asked);
    if (conflicts.length === 0) return;
    if (group.members.length > 0) {
      throw new BrookError("INVALID_CONFIG", `group ${group.name} on ${group.topic} already runs with other ${conflicts.join(", ")}`, {
        topic: group.topic,
        group: group.name,
        conflicts
      });
    }
    await this.write(group.topic, group.name, asked);
    group.reconfigure(asked);
  }
  path(topic, group) {
    return `${this.dir(topic, group)}/${CONFIG_FILE}`;
  }
  dir(topic, group) {
    return `${this.dataDir}/groups/${topic}/${group}`;
  }
};

// packages/broker/src/groups/group-table.ts
var GroupTable = class {
  /** By topic, then by name: a produce asks for its topic's groups (ofTopic), and walks no others. */
  byTopic = /* @__PURE__ */ new Map();
  get(topic, name) {
    return this.byTopic.get(topic)?.get(name);
  }
  existing(topic, name) {
    const found = this.get(topic, name);
    if (!found) throw unknownGroupError(topic, name);
    return found;
  }
  /** UNKNOWN_GROUP unless `group` is still listed: taken off, it is gone even if a group of its name is listed since. */
  checkListed(group) {
    if (this.get(group.topic, group.name) !== group) throw unknownGroupError(group.topic, group.name);
  }
  add(group) {
    let named = this.byTopic.get(group.topic);
    if (!named) this.byTopic.set(group.topic, named = /* @__PURE__ */ new Map());
    named.set(group.name, group);
  }
  remove(group) {
    const named = this.byTopic.get(group.topic);
    named?.delete(group.name);
    if (named?.size === 0) this.byTopic.delete(group.topic);
  }
  all() {
    return [...this.byTopic.values()].flatMap((named) => [...named.values()]);
  }
  ofTopic(topic) {
    return this.byTopic.get(topic)?.values() ?? NONE;
  }
  /** Takes every group of `topic` off the table; returns them. */
  forgetTopic(topic) {
    const forgotten = [...this.ofTopic(topic)];
    this.byTopic.delete(topic);
    return forgotten;
  }
  list(topic) {
    return (topic === void 0 ? this.all() : [...this.ofTopic(topic)]).map((g) => ({ topic: g.topic, group: g.name })).sort((a, b) => (a.topic + "/" + a.group).localeCompare(b.topic + "/" + b.group));
  }
};
var NONE = [];
function unknownGroupError(topic, name) {
  return new BrookError("UNKNOWN_GROUP", `no group ${JSON.stringify(name)} on topic ${JSON.stringify(topic)}`, { topic, group: name });
}
function groupKey(topic, group) {
  return `${topic}\0${group}`;
}

// packages/broker/src/groups/describe.ts
function describeGroup(group, logs) {
  const partitions = group.windows.map((window) => {
    const endOffset = logs[window.partition].endOffset;
    const unacked = endOffset - window.ack.ackFloor - window.ack.ackedAboveFloor;
    const inFlight = [];
    let backingOff = 0;
    for (const entry of window.entries()) {
      if (entry.state === "backoff") backingOff += 1;
      if (entry.flight) {
        inFlight.push({ offset: entry.offset, member: entry.flight.member.id, deliveryCount: entry.flight.deliveryCount, leaseDeadlineMs: entry.flight.deadlineMs });
      }
    }
    inFlight.sort((a, b) => a.offset < b.offset ? -1 : 1);
    return {
      partition: window.partition,
      ackFloor: window.ack.ackFloor,
      endOffset,
      lag: unacked > 0n ? unacked : 0n,
      owner: window.owner?.id,
      inFlight,
      backingOff,
      redeliveries: window.redeliveries,
      deadLettered: window.deadLettered,
      lostToRetention: window.lostToRetention
    };
  });
  const { from: _from, ...config } = group.config;
  return {
    topic: group.topic,
    group: group.name,
    config,
    members: group.members.map((m) => ({ id: m.id, name: m.name, maxInFlight: m.maxInFlight, inFlight: m.inFlight, closing: m.closing, paused: m.paused, leaseLost: m.leaseLost })),
    partitions,
    lag: partitions.reduce((sum, p) => sum + p.lag, 0n),
    lastError: group.problem === void 0 ? void 0 : String(group.problem)
  };
}

// packages/broker/src/groups/subscription.ts
function handlerSink(handler) {
  return (delivery) => {
    let result;
    try {
      result = handler(delivery);
    } catch {
      nackUnlessSettled(delivery);
      return;
    }
    if (!isThenable(result)) {
      ackUnlessSettled(delivery);
      return;
    }
    Promise.resolve(result).then(() => ackUnlessSettled(delivery), () => nackUnlessSettled(delivery));
  };
}
function ackUnlessSettled(delivery) {
  if (!delivery.settled) void delivery.ack();
}
function nackUnlessSettled(delivery) {
  if (!delivery.settled) delivery.nack();
}
function isThenable(value) {
  return typeof value?.then === "function";
}
var DeliveryQueue = class extends AsyncQueue {
  constructor(maxInFlight) {
    super();
    this.maxInFlight = maxInFlight;
  }
  maxInFlight;
  /** Undefined until the member (or reader) has joined. */
  control;
  /** Joined: what came before the join finished waits unsent too. */
  attach(control) {
    this.control = control;
    control.holdUnsent(this.queued());
    this.pauseIfFull();
  }
  sink = (delivery) => {
    const waiting = this.size;
    if (this.push(delivery) && this.size === waiting) return;
    this.control?.holdUnsent([delivery]);
    this.pauseIfFull();
  };
  next() {
    const next = super.next();
    if (this.size < this.maxInFlight) this.control?.resume();
    return next;
  }
  /**
   * Taken back while it waited: the engine gave its record out again, without counting it (a
   * `redelivered` event, 'unsent'). One a reset or retention made stale still comes, stale.
   */
  passed(delivery) {
    return this.control?.givenBack(delivery) ?? false;
  }
  taken(delivery) {
    this.control?.sent([delivery]);
  }
  pauseIfFull() {
    if (this.size >= this.maxInFlight) this.control?.pause();
  }
};
function subscriptionEnding() {
  let resolve = () => void 0;
  let reject = () => void 0;
  const ended = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  ended.catch(() => void 0);
  return { ended, byConsumer: resolve, byBroker: reject };
}
function subscriptionHandle(options, live, identity, leave, onEnd) {
  const end = subscriptionEnding();
  const unregister = live.add(options.topic, end.byBroker);
  const leaving = async (graceful) => {
    unregister();
    onEnd?.();
    try {
      await leave(graceful);
    } finally {
      end.byConsumer();
    }
  };
  return {
    topic: options.topic,
    group: options.group,
    memberId: identity.id,
    get lostToRetention() {
      return identity.lostToRetention;
    },
    close: () => leaving(true),
    abort: () => void leaving(false),
    [Symbol.asyncDispose]: () => leaving(true),
    ended: end.ended
  };
}
var LiveSubscriptions = class {
  live = /* @__PURE__ */ new Map();
  /** Registers `endByBroker` until the returned function is called (the consumer ended it). */
  add(topic, endByBroker) {
    this.live.set(endByBroker, topic);
    return () => void this.live.delete(endByBroker);
  }
  has(endByBroker) {
    return this.live.has(endByBroker);
  }
  /** Ends the subscriptions of `topic` (of every topic if undefined) with `error`. */
  end(topic, error) {
    for (const [endByBroker, liveTopic] of this.live) {
      if (topic !== void 0 && liveTopic !== topic) continue;
      this.live.delete(endByBroker);
      endByBroker(error);
    }
  }
};
function messageStream(options, live, queue, joining, handleFor) {
  let handle;
  let failure;
  const end = subscriptionEnding();
  const endByBroker = (error) => {
    queue.end(error);
    end.byBroker(error);
  };
  const unregister = live.add(options.topic, endByBroker);
  const ready = joining.then((joined) => {
    const endedMeanwhile = !live.has(endByBroker);
    handle = handleFor(joined, () => {
      unregister();
      queue.end();
    });
    void handle.ended.then(end.byConsumer, () => void 0);
    if (endedMeanwhile) handle.abort();
  }, (error) => {
    unregister();
    failure = error;
    queue.end();
    end.byBroker(error);
  });
  const whenJoined = async () => {
    await ready;
    if (failure) throw failure;
    return handle;
  };
  const accepted = whenJoined().then(() => void 0);
  accepted.catch(() => void 0);
  return {
    topic: options.topic,
    group: options.group,
    ready: accepted,
    get memberId() {
      return handle?.memberId;
    },
    // A tail reader's is 0n before it has joined too, as the client's is: it has lost nothing yet.
    get lostToRetention() {
      return options.group === void 0 ? handle?.lostToRetention ?? 0n : void 0;
    },
    close: async () => (await whenJoined())?.abort(),
    // At once once joined, as the client's abort() is: an ack() right after it finds its delivery taken back.
    abort: () => handle ? handle.abort() : void whenJoined().then((h) => h?.abort(), () => void 0),
    [Symbol.asyncDispose]: async () => (await whenJoined())?.abort(),
    ended: end.ended,
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        await whenJoined();
        return queue.next();
      },
      return: async () => {
        (await whenJoined())?.abort();
        return { value: void 0, done: true };
      }
    })
  };
}

// packages/broker/src/groups/sink-control.ts
var TAIL_READER_CONTROL = {
  pause() {
  },
  resume() {
  },
  holdUnsent() {
  },
  sent() {
  },
  givenBack: () => false,
  consumerSettled() {
  },
  onTakenBack() {
  },
  // Its slot must come back, or each release would shrink the reader's window for good. Nack is
  // the settlement that does only that; one settled already is left as it is.
  release: (deliveries) => {
    for (const delivery of deliveries) void delivery.nack();
  }
};
function sinkControl(joined) {
  if (joined.kind === "reader") return TAIL_READER_CONTROL;
  const { group, member } = joined;
  const own = (delivery) => delivery instanceof Flight && delivery.member === member;
  const mark = (deliveries, reach) => {
    for (const delivery of deliveries) {
      if (own(delivery) && delivery.current) delivery.reach = reach;
    }
  };
  return {
    pause: () => {
      member.paused = true;
    },
    resume: () => {
      if (!member.paused) return;
      member.paused = false;
      group.schedulePump();
    },
    holdUnsent: (deliveries) => mark(deliveries, "held"),
    sent: (deliveries) => mark(deliveries, "handedOut"),
    givenBack: (delivery) => own(delivery) && delivery.reach === "givenBack",
    consumerSettled: () => group.heardFrom(member),
    onTakenBack: (listener) => {
      member.onTakenBack = listener;
    },
    release: (deliveries) => {
      mark(deliveries, "held");
      for (const delivery of deliveries) if (own(delivery)) group.release(delivery);
    }
  };
}

// packages/broker/src/groups/dead-letter.ts
var MAX_VARINT_BYTES = 2;
var DEAD_LETTER_HEADERS = Object.freeze({
  topic: "brook.origin.topic",
  partition: "brook.origin.partition",
  offset: "brook.origin.offset",
  timestamp: "brook.origin.timestamp",
  group: "brook.group",
  deliveryCount: "brook.delivery-count",
  reason: "brook.reason"
});
var TRAILER = Object.keys(DEAD_LETTER_HEADERS);
var text = new TextDecoder();
var DEAD_LETTER_TRAILER_BYTES_MAX = 2048;
function copyBatchBytesMax(batchBytesMax, records) {
  let trailers = 1;
  for (const { headers } of records) {
    if (!Array.isArray(headers)) continue;
    let reasons = 0;
    for (const header of headers) if (header.key === DEAD_LETTER_HEADERS.reason) reasons += 1;
    trailers = Math.max(trailers, reasons);
  }
  return Math.min(LIMITS.batchBytesMax.max, batchBytesMax + trailers * DEAD_LETTER_TRAILER_BYTES_MAX);
}
var deadLetterRecord = {
  build(record, origin) {
    const values = {
      topic: origin.topic,
      partition: String(origin.partition),
      offset: origin.offset.toString(),
      timestamp: String(record.timestamp),
      group: origin.group,
      deliveryCount: String(origin.deliveryCount)
    };
    const trailer = TRAILER.map((field) => ({ key: DEAD_LETTER_HEADERS[field], value: field === "reason" ? deadLetterReasonBytes(origin.reason) : asciiBytes(values[field]) }));
    let trailerBytes = 0;
    for (const header of trailer) trailerBytes += header.key.length + header.value.length + 2 * MAX_VARINT_BYTES;
    assert(trailerBytes <= DEAD_LETTER_TRAILER_BYTES_MAX, "dead-letter trailer over its bound", { trailerBytes });
    return { key: record.key, value: record.value, headers: [...record.headers, ...trailer] };
  },
  /**
   * Takes a dead-letter record apart; undefined if it is not one (its headers do not end with the
   * trailer `build` appends, or the trailer's partition or timestamp is not a number).
   */
  parse(record) {
    const start = record.headers.length - TRAILER.length;
    if (start < 0) return void 0;
    const values = /* @__PURE__ */ new Map();
    for (const [i, field] of TRAILER.entries()) {
      const header = record.headers[start + i];
      if (header.key !== DEAD_LETTER_HEADERS[field] || header.value === null) return void 0;
      values.set(field, text.decode(header.value));
    }
    const partition = wholeNumber(values.get("partition"));
    const timestamp = wholeNumber(values.get("timestamp"));
    if (partition === void 0 || timestamp === void 0) return void 0;
    return {
      origin: { topic: values.get("topic"), partition },
      record: { key: record.key, value: record.value, headers: record.headers.slice(0, start), timestamp }
    };
  }
};
function asciiBytes(text2) {
  const bytes = new Uint8Array(text2.length);
  let units = 0;
  for (let i = 0; i < text2.length; i++) {
    const unit = text2.charCodeAt(i);
    units |= unit;
    bytes[i] = unit;
  }
  assert(units < 128, "dead-letter trailer value is not ASCII", { text: text2 });
  return bytes;
}
function wholeNumber(digits) {
  return /^\d{1,15}$/.test(digits) ? Number(digits) : void 0;
}

// packages/broker/src/groups/dead-letter-copies.ts
var DeadLetterCopies = class {
  constructor(target, limits) {
    this.target = target;
    this.limits = limits;
  }
  target;
  limits;
  /** Per dead-letter topic, the copies waiting for the next write; a topic is here while it is being written. */
  waiting = /* @__PURE__ */ new Map();
  /**
   * Copies `record` to `deadLetterTopic` with its trailer; resolves with the copy's offset. The copy
   * goes to the dead-letter partition of its origin partition's number (modulo their count), not by
   * its key: redrive reads one dead-letter partition after another, so the records of one origin
   * partition (every record of a key among them) go back in the order they were given up on.
   */
  copy(deadLetterTopic, record, origin) {
    const built = deadLetterRecord.build(record, origin);
    return new Promise((resolve, reject) => {
      const pending = { record: built, originPartition: origin.partition, sizeBytes: sizeOfRecordMax(built), resolve, reject };
      const queue = this.waiting.get(deadLetterTopic);
      if (queue) {
        queue.push(pending);
        return;
      }
      this.waiting.set(deadLetterTopic, [pending]);
      void this.writeAll(deadLetterTopic);
    });
  }
  /** Writes the topic's waiting copies, a write at a time, until none waits. */
  async writeAll(deadLetterTopic) {
    const queue = this.waiting.get(deadLetterTopic);
    while (queue.length > 0) {
      let copies = [];
      try {
        await this.target.ensureTopic(deadLetterTopic);
        copies = queue.splice(0, this.copiesInOneWrite(queue));
        const partitions = this.target.partitions(deadLetterTopic).length;
        const results = await this.target.produce(
          deadLetterTopic,
          copies.map((copy) => ({ ...copy.record, partition: copy.originPartition % partitions }))
        );
        for (let i = 0; i < copies.length; i++) copies[i].resolve(results[i].offset);
      } catch (error) {
        if (copies.length === 0) copies = queue.splice(0);
        for (const copy of copies) copy.reject(error);
      }
    }
    this.waiting.delete(deadLetterTopic);
  }
  /** How many of the oldest waiting copies one write takes: at least one. */
  copiesInOneWrite(queue) {
    const { batchRecordsMax, batchBytesMax } = this.limits;
    let bytes = BATCH_HEADER_BYTES + queue[0].sizeBytes;
    let count = 1;
    while (count < queue.length && count < batchRecordsMax) {
      bytes += queue[count].sizeBytes;
      if (bytes > batchBytesMax) break;
      count += 1;
    }
    return count;
  }
};

// packages/broker/src/groups/keyed-queue.ts
var KeyedQueue = class {
  /** Per key, settles when the last call queued so far has ended. */
  tails = /* @__PURE__ */ new Map();
  /** Runs `work` once the calls queued before it under `key` have ended; settles as it does. */
  run(key, work) {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(work);
    const ended = result.then(() => void 0, () => void 0);
    this.tails.set(key, ended);
    void ended.then(() => {
      if (this.tails.get(key) === ended) this.tails.delete(key);
    });
    return result;
  }
  /** True while a call queued under `key` has not ended. */
  has(key) {
    return this.tails.has(key);
  }
  /** Settles once every call queued so far has ended. */
  async settled() {
    await Promise.all(this.tails.values());
  }
};

// packages/broker/src/groups/redrive.ts
var REDRIVE_GROUP = "brook.redrive";
function checkRedriveOptions(options) {
  checkOptionKeys(options, REDRIVE_OPTION_KEYS);
  const { maxRecords } = options;
  if (maxRecords !== void 0 && !(Number.isSafeInteger(maxRecords) && maxRecords >= 1)) {
    throw new BrookError("INVALID_REQUEST", `maxRecords must be a positive integer, got ${String(maxRecords)}`, { field: "maxRecords", value: maxRecords });
  }
  return maxRecords ?? Number.MAX_SAFE_INTEGER;
}
var Redriver = class {
  constructor(deps) {
    this.deps = deps;
  }
  deps;
  /** Per dead-letter topic, the redrives under way, one at a time. */
  queues = new KeyedQueue();
  /**
   * Redrives up to `maxRecords`. Only what the dead-letter topic holds when called is moved:
   * records dead-lettered later (during this or an earlier redrive) wait for the next call.
   */
  redrive(deadLetterTopic, maxRecords) {
    const ends = this.deps.partitions(deadLetterTopic).map((log) => log.endOffset);
    return this.queues.run(deadLetterTopic, async () => this.run(await this.deps.progress(deadLetterTopic), ends, maxRecords));
  }
  async run(group, ends, maxRecords) {
    const progress = { moved: 0, skipped: 0 };
    try {
      for (const window of group.windows) {
        const log = this.deps.partitions(group.topic)[window.partition];
        for await (const record of recordsBetween(log, window.ack.ackFloor, ends[window.partition], this.deps.fetchBytes)) {
          if (progress.moved === maxRecords) return { moved: progress.moved, skipped: progress.skipped };
          if (window.ack.isAcked(record.offset)) continue;
          progress.stoppedAt = { partition: window.partition, offset: record.offset };
          if (await this.moveBack(record)) {
            await group.ackDirectly(window.partition, record.offset);
            progress.moved += 1;
          } else {
            progress.skipped += 1;
          }
          progress.stoppedAt = void 0;
        }
      }
    } catch (error) {
      throw stoppedPartWay(group.topic, error, progress);
    }
    return { moved: progress.moved, skipped: progress.skipped };
  }
  /** Appends the record to its origin partition; false if it cannot go back (RedriveResult.skipped). */
  async moveBack(record) {
    const parsed = deadLetterRecord.parse(record);
    if (!parsed) return false;
    try {
      await this.deps.produceBack(parsed.origin.topic, [{ ...parsed.record, partition: parsed.origin.partition }]);
      return true;
    } catch (error) {
      if (isBrookError(error, "UNKNOWN_TOPIC") || isBrookError(error, "UNKNOWN_PARTITION")) return false;
      throw error;
    }
  }
};
function stoppedPartWay(deadLetterTopic, error, progress) {
  if (!isBrookError(error)) return error;
  const { moved, skipped, stoppedAt } = progress;
  const at = stoppedAt ? { deadLetterPartition: stoppedAt.partition, deadLetterOffset: stoppedAt.offset } : {};
  const where = stoppedAt ? ` at ${deadLetterTopic}/${stoppedAt.partition}@${stoppedAt.offset}` : "";
  return new BrookError(error.code, `redrive of ${deadLetterTopic} stopped${where} (moved ${moved}, skipped ${skipped} before it): ${error.description}`, {
    ...error.details,
    deadLetterTopic,
    moved,
    skipped,
    ...at
  }, { cause: error });
}
async function* recordsBetween(log, from, end, fetchBytes) {
  let next = from;
  while (next < end) {
    if (next < log.startOffset) next = log.startOffset;
    const batches = await log.read(next, { maxBytes: fetchBytes });
    if (batches.length === 0) return;
    for (const batch of batches) {
      for (const record of decodeBatch(batch.bytes, 0, { crcVerified: true }).records) {
        if (record.offset < next) continue;
        if (record.offset >= end) return;
        next = record.offset + 1n;
        yield record;
      }
    }
  }
}

// packages/broker/src/groups/group-coordinator.ts
var GroupCoordinator = class {
  constructor(deps) {
    this.deps = deps;
    this.deadlines = new DeadlineQueue(deps.clock);
    this.readers = new TailReaders(deps);
    this.configs = new GroupConfigFiles(deps.fs, deps.dataDir);
    this.deadLetterCopies = new DeadLetterCopies(deps, deps.copyLimits);
    this.redriver = new Redriver({
      fetchBytes: deps.fetchBytes,
      partitions: deps.partitions,
      produceBack: deps.produce,
      progress: (topic) => this.group(topic, REDRIVE_GROUP, resolveGroupConfig({
        // Never dead-letters (it has no members); the topic's own name is always a valid one.
        topic,
        group: REDRIVE_GROUP,
        from: "earliest",
        deadLetterTopic: topic
      }))
    });
  }
  deps;
  groups = new GroupTable();
  /** So that a deleted topic or a closing broker can end their loops and settle their `ended`. */
  live = new LiveSubscriptions();
  readers;
  opening = /* @__PURE__ */ new Map();
  /** Per group key, the deleteGroup under way: an open of the name, deleteTopic and close wait for it. */
  deleting = /* @__PURE__ */ new Map();
  /** Per topic, the groups a deleteTopic took off the listing until its commit point (hideGroupsOf). */
  hidden = /* @__PURE__ */ new Map();
  configs;
  /** Per group key, the joins under way, one at a time (joined or refused). */
  joins = new KeyedQueue();
  /** Per group key, the resets under way: they apply in call order. */
  resets = new KeyedQueue();
  redriver;
  deadLetterCopies;
  /** close() began: a join or group open still under way fails with CLOSED instead of leaving a group open. */
  closed = false;
  deadlines;
  /** Reopens every group found on disk, so their floors count for retention from the start. */
  async open() {
    const root = `${this.deps.dataDir}/groups`;
    if (!await this.deps.fs.exists(root)) return;
    for (const topic of await namedDirs(this.deps.fs, root)) {
      if (!this.deps.topicExists(topic)) {
        await this.removeGroupsOf(topic);
        continue;
      }
      for (const name of await namedDirs(this.deps.fs, `${root}/${topic}`)) {
        const config = await this.configs.read(topic, name);
        if (config) await this.group(topic, name, config);
        else await this.configs.removeUncommitted(topic, name);
      }
    }
  }
  async join(options, sink) {
    checkSubscribeOptionKeys(options);
    checkStringFields({ topic: options.topic });
    checkStringFields({ group: options.group, name: options.name }, true);
    const logs = this.deps.partitions(options.topic);
    const maxInFlight = resolveMaxInFlight(options);
    if (options.group === void 0) {
      checkTailReaderOptions(options);
      const from = checkStartPosition(options.from ?? "latest");
      const found = await Promise.all(logs.map((log) => startOffsetFor(log, from)));
      this.checkStillJoinable(options.topic, logs);
      return { kind: "reader", reader: this.readers.add(options.topic, logs, raisedToStart(found, logs), maxInFlight, sink) };
    }
    if (options.group === REDRIVE_GROUP) throw new BrookError("INVALID_REQUEST", `group name ${REDRIVE_GROUP} is reserved for redrive progress`, { group: options.group });
    const config = resolveGroupConfig(options);
    const name = validateGroupName(options.group);
    return this.joins.run(groupKey(options.topic, name), async () => {
      const group = await this.group(options.topic, name, config);
      await this.configs.agree(group, config);
      this.checkStillJoinable(options.topic, logs);
      return { kind: "member", group, member: group.join(maxInFlight, options.name, sink) };
    });
  }
  /**
   * A join waits for files; the broker may have begun to close, or the topic been deleted (and
   * created again), meanwhile. Then the join fails as one made after the close or the delete
   * would, rather than join a group that close() has closed or the delete dropped.
   */
  checkStillJoinable(topic, logs) {
    if (this.closed) throw brokerClosedError();
    if (this.deps.partitions(topic) !== logs) throw topicDeletedError(topic);
  }
  /** New records in a partition: every group and reader of the topic may have work. */
  notifyAppended(topic) {
    for (const group of this.groups.ofTopic(topic)) group.schedulePump();
    for (const reader of this.readers.ofTopic(topic)) reader.schedulePump();
  }
  /** Retention deleted records below `startOffset`: the readers and groups it overtook are told. */
  async retentionMoved(topic, partition, startOffset) {
    for (const reader of this.readers.ofTopic(topic)) reader.overtakenBy(partition, startOffset);
    for (const group of this.groups.ofTopic(topic)) await group.overtakenBy(partition, startOffset);
  }
  /** The lowest ackFloor of any group on a partition: what every group has consumed. */
  consumedBelow(topic, partition) {
    let floor;
    for (const group of this.groups.ofTopic(topic)) {
      const groupFloor = group.windows[partition].ack.ackFloor;
      if (floor === void 0 || groupFloor < floor) floor = groupFloor;
    }
    return floor;
  }
  listGroups(topic) {
    return this.groups.list(topic);
  }
  /** The groups whose journal failed, refusing every write until the broker is reopened (failed-logs.ts). */
  failedJournals() {
    return this.groups.list().flatMap(({ topic, group }) => {
      const failure = this.groups.existing(topic, group).journalFailure;
      return failure ? [{ topic, group, failure }] : [];
    });
  }
  describeGroup(topic, group) {
    return describeGroup(this.groups.existing(topic, group), this.deps.partitions(topic));
  }
  /**
   * Moves every partition of a group to `to` (replay or skip); its members keep consuming from
   * there. Resets of one group apply in call order: a reset waits for the one called before it,
   * so the group ends where the last one called put it, even if an earlier one took longer to
   * find its offsets (a timestamp reads the log).
   */
  async resetGroup(topic, name, to) {
    const group = this.groups.existing(topic, name);
    const logs = this.deps.partitions(topic);
    const target = checkStartPosition(to, "to");
    return this.resets.run(groupKey(topic, name), async () => {
      const found = await Promise.all(logs.map((log) => startOffsetFor(log, target))).catch((error) => {
        this.checkStillCurrent(group);
        throw error;
      });
      this.checkStillCurrent(group);
      const offsets = raisedToStart(found, logs);
      await group.resetTo(offsets);
      return offsets;
    });
  }
  /**
   * A reset applies to the group it was called on, as that group is once its offsets are found:
   * one deleted meanwhile fails it as a reset made after the delete would (UNKNOWN_GROUP), even if
   * a group of its name was made again since (on a topic made again, perhaps with other
   * partitions), and one that close() closed takes no reset it could not journal (CLOSED).
   */
  checkStillCurrent(group) {
    if (this.closed) throw brokerClosedError();
    this.groups.checkListed(group);
  }
  /**
   * Removes a group without members: it leaves listGroups, describeGroup and /metrics at once,
   * then removeGroup ends it and removes its files. A join of the name made meanwhile waits for
   * the delete and makes a fresh group at its `from`; a second delete finds no group (UNKNOWN_GROUP).
   */
  async deleteGroup(topic, name) {
    if (name === REDRIVE_GROUP) throw new BrookError("INVALID_REQUEST", `group ${REDRIVE_GROUP} keeps redrive's progress: it goes with its topic`, { topic, group: name });
    const key = groupKey(topic, name);
    const group = this.groups.get(topic, name);
    if (group && group.members.length > 0 || this.joins.has(key)) {
      throw new BrookError("GROUP_NOT_EMPTY", `group ${name} on ${topic} has members: it can be deleted once they have left`, {
        topic,
        group: name,
        members: group?.members.length ?? 0
      });
    }
    const found = this.groups.existing(topic, name);
    this.groups.remove(found);
    const deleting = this.removeGroup(found);
    this.deleting.set(key, deleting);
    try {
      await deleting;
    } finally {
      this.deleting.delete(key);
    }
  }
  /**
   * The group ends (its timers too: Group.close), then its directory goes, config.json first: the
   * commit point (GroupConfigFiles.remove), where groupDeleted comes. A failure before it puts the
   * group back as its files have it, i.e. as a restart would find it, and rejects (IO_ERROR,
   * retriable: the group is there to delete again). After it the group is gone for good and the
   * delete resolves: the rest of its directory goes at the next open or before the name is used.
   */
  async removeGroup(group) {
    const { topic, name } = group;
    await group.close(new BrookError("UNKNOWN_GROUP", `group ${name} on ${topic} was deleted`, { topic, group: name })).catch(() => void 0);
    let committed = false;
    try {
      await this.configs.remove(topic, name, () => {
        committed = true;
        this.reportDeleted(topic, name);
      });
    } catch (error) {
      if (committed) return;
      const config = await this.configs.read(topic, name).catch(() => void 0);
      if (config) await this.loadGroup(topic, name, config).catch(() => void 0);
      throw error;
    }
  }
  /** groupDeleted: the group's last event, once it is gone for good. */
  reportDeleted(topic, group) {
    if (this.deps.events.wants("groupDeleted")) this.deps.events.emit("groupDeleted", { topic, group });
  }
  /**
   * Moves dead-lettered records back to the topics they came from (origin headers), oldest first,
   * each once, even across restarts and concurrent calls (redrive.ts).
   */
  async redrive(deadLetterTopic, options = {}) {
    return this.redriver.redrive(deadLetterTopic, checkRedriveOptions(options));
  }
  /** The handle for a joined member or reader; `onEnd` runs when its consumer ends it. */
  subscription(options, joined, onEnd) {
    return subscriptionHandle(options, this.live, joined.kind === "member" ? joined.member : joined.reader, async (graceful) => {
      if (joined.kind === "reader") this.readers.leave(joined.reader);
      else if (graceful) await joined.group.drainAndLeave(joined.member);
      else joined.group.leave(joined.member);
    }, onEnd);
  }
  /** The async-iterator form (messageStream): joins when created; on a `closed` broker its loop ends with CLOSED. */
  stream(options, closed) {
    const queue = new DeliveryQueue(options.maxInFlight ?? LIMITS.maxInFlight.default);
    const joining = closed ? Promise.reject(brokerClosedError()) : this.join(options, queue.sink);
    joining.then((joined) => queue.attach(sinkControl(joined)), () => void 0);
    return messageStream(options, this.live, queue, joining, (joined, onEnd) => this.subscription(options, joined, onEnd));
  }
  /**
   * deleteTopic, up to its commit point: the topic's groups leave the listing at once (the topic
   * is gone from the registry, so describeGroup, and a /metrics scrape, would refuse them) but
   * keep running, since a delete that fails there changes nothing (showGroupsOf puts them back).
   */
  hideGroupsOf(topic) {
    this.hidden.set(topic, this.groups.forgetTopic(topic));
  }
  showGroupsOf(topic) {
    for (const group of this.hidden.get(topic) ?? []) {
      this.groups.add(group);
      group.schedulePump();
    }
    this.hidden.delete(topic);
  }
  /**
   * deleteTopic, past its commit point: ends the topic's readers and members and its groups,
   * once the joins opening a group of it and the group deletes under way are done (so none is
   * left behind), each group with its groupDeleted. Their files go later, with removeGroupsOf.
   */
  async dropTopic(topic) {
    const ending = topicDeletedError(topic);
    this.live.end(topic, ending);
    for (const reader of this.readers.ofTopic(topic)) this.readers.leave(reader);
    const dropped = this.hidden.get(topic) ?? [];
    this.hidden.delete(topic);
    const ofTopic = ([key]) => key.startsWith(groupKey(topic, ""));
    const deletes = [...this.deleting].filter(ofTopic);
    const [deleted] = await Promise.all([
      Promise.allSettled(deletes.map(([, pending]) => pending)),
      Promise.allSettled([...this.opening].filter(ofTopic).map(([, pending]) => pending))
    ]);
    dropped.push(...this.groups.forgetTopic(topic));
    await Promise.allSettled(dropped.map((group) => group.close(ending)));
    const failedDeletes = deletes.filter((_, i) => deleted[i].status === "rejected").map(([key]) => key.slice(groupKey(topic, "").length));
    for (const name of /* @__PURE__ */ new Set([...dropped.map((group) => group.name), ...failedDeletes])) this.reportDeleted(topic, name);
  }
  /**
   * Removes the group directories of a topic that does not exist, durably: after a delete, and
   * before a create, since an interrupted or failed delete can leave them, and a group of the
   * new topic must not find the old one's position.
   */
  removeGroupsOf(topic) {
    return this.configs.removeTopic(topic);
  }
  async close() {
    this.closed = true;
    const ending = brokerClosedError();
    this.live.end(void 0, ending);
    await Promise.allSettled([...this.deleting.values(), ...this.opening.values(), this.joins.settled()]);
    this.deadlines.clear();
    this.readers.closeAll();
    const closed = await Promise.allSettled(this.groups.all().map((group) => group.close(ending)));
    const failed = closed.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  }
  /** The group, opened from disk or created at `config.from` on first use. */
  group(topic, name, config) {
    const key = groupKey(topic, name);
    const existing = this.groups.get(topic, name);
    if (existing) return Promise.resolve(existing);
    if (this.closed) return Promise.reject(brokerClosedError());
    let opening = this.opening.get(key);
    if (!opening) {
      opening = this.openGroup(topic, name, config).finally(() => this.opening.delete(key));
      this.opening.set(key, opening);
    }
    return opening;
  }
  async openGroup(topic, name, config) {
    const key = groupKey(topic, name);
    await this.deleting.get(key)?.catch(() => void 0);
    return this.groups.get(topic, name) ?? this.loadGroup(topic, name, config);
  }
  /** The group as its files have it (created at `config.from` if they hold none), listed. */
  async loadGroup(topic, name, config) {
    const logs = this.deps.partitions(topic);
    await this.configs.removeUncommitted(topic, name);
    const { journal, windows } = await openGroupState({
      fs: this.deps.fs,
      dir: `${this.deps.dataDir}/groups/${topic}/${name}`,
      logs,
      from: config.from,
      journalLogOptions: this.deps.journalLogOptions,
      journalBytesMax: this.deps.journalBytesMax,
      created: () => this.configs.write(topic, name, config),
      journalFailed: (error) => emitLogFailed(this.deps.events, { topic, group: name }, error)
    });
    const group = new Group(topic, name, config, journal, windows, this.context(logs));
    this.groups.add(group);
    return group;
  }
  context(logs) {
    return {
      clock: this.deps.clock,
      random: this.deps.random,
      deadlines: this.deadlines,
      events: this.deps.events,
      logs,
      unackedRecordsMax: this.deps.unackedRecordsMax,
      fetchBytes: this.deps.fetchBytes,
      deadLetter: (entry, group, deadLetterTopic, deliveryCount, reason) => this.deadLetterCopies.copy(deadLetterTopic, entry.record, {
        topic: group.topic,
        partition: entry.partition,
        offset: entry.offset,
        group: group.name,
        deliveryCount,
        reason
      })
    };
  }
};

// packages/broker/src/groups/coordinator-deps.ts
function groupJournalLimits(logDefaults, limits) {
  return {
    journalLogOptions: { ...logDefaults, segmentBytesMax: limits.groupJournalBytesMax, segmentMsMax: LIMITS.segmentMsMax.max, tailCacheBytes: 0 },
    journalBytesMax: limits.groupJournalBytesMax,
    unackedRecordsMax: limits.groupUnackedRecordsMax,
    fetchBytes: limits.fetchBytesMax
  };
}

// packages/broker/src/topics/batch-input.ts
var TRANSACTIONAL_OR_CONTROL = 48;
function checkBatchInput(batch, limits) {
  if (!(batch instanceof Uint8Array)) throw new BrookError("INVALID_REQUEST", "batch must be a Uint8Array", {});
  if (batch.length > limits.batchBytesMax) {
    throw new BrookError("MESSAGE_TOO_LARGE", `batch of ${batch.length} bytes exceeds batchBytesMax ${limits.batchBytesMax}`, {
      bytes: batch.length,
      limit: limits.batchBytesMax
    });
  }
  const header = verifyBatch(batch);
  if (BATCH_LOG_OVERHEAD_BYTES + header.batchLength !== batch.length) {
    throw corruptBatch("bad-length", 0, `batchLength ${header.batchLength} does not match ${batch.length} bytes`);
  }
  if (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1) {
    throw corruptBatch("bad-header", 0, `recordCount ${header.recordCount} with lastOffsetDelta ${header.lastOffsetDelta}`);
  }
  if (header.recordCount > limits.batchRecordsMax) {
    throw new BrookError("MESSAGE_TOO_LARGE", `${header.recordCount} records exceed batchRecordsMax ${limits.batchRecordsMax}`, {
      records: header.recordCount,
      limit: limits.batchRecordsMax
    });
  }
  if ((header.attributes & TRANSACTIONAL_OR_CONTROL) !== 0) {
    throw new BrookError("INVALID_REQUEST", `batch attributes ${header.attributes}: transactional and control batches are not supported`, {
      attributes: header.attributes
    });
  }
  return header;
}
function encodeBatchInput(topic, partition, inputs, limits) {
  if (inputs.length > limits.batchRecordsMax) {
    throw new BrookError("MESSAGE_TOO_LARGE", `${inputs.length} records for ${topic}/${partition} exceed batchRecordsMax ${limits.batchRecordsMax}`, {
      topic,
      partition,
      records: inputs.length,
      limit: limits.batchRecordsMax
    });
  }
  const batch = encodeBatch(inputs);
  if (batch.length > limits.batchBytesMax) {
    throw new BrookError("MESSAGE_TOO_LARGE", `batch of ${batch.length} bytes for ${topic}/${partition} exceeds batchBytesMax ${limits.batchBytesMax}`, {
      topic,
      partition,
      bytes: batch.length,
      limit: limits.batchBytesMax
    });
  }
  return batch;
}

// packages/broker/src/topics/produce.ts
async function produceRecords(context, topic, records, limits) {
  if (!Array.isArray(records) || records.length === 0) {
    throw new BrookError("INVALID_REQUEST", "produce needs a non-empty array of records", { topic: topic.name });
  }
  const byPartition = topic.splitByPartition(records, context.now());
  const batches = [...byPartition].map(([partition, group]) => ({
    partition,
    group,
    batch: encodeBatchInput(topic.name, partition, group.inputs, limits)
  }));
  const results = new Array(records.length);
  const appends = context.appendWithRoom(topic, batches);
  const appending = Promise.all(batches.map(async ({ partition, group }, i) => {
    const { baseOffset, lastOffset } = await appends[i];
    context.appended(topic.name, partition, baseOffset, lastOffset);
    let offset = baseOffset;
    for (const position of group.positions) {
      results[position] = { partition, offset };
      offset += 1n;
    }
  }));
  try {
    await appending;
  } catch (error) {
    throw context.failure(topic, error);
  }
  return results;
}
async function produceCopies(context, topic, records, limits, appendsDurable) {
  const results = await produceRecords(context, topic, records, limits);
  if (!appendsDurable) {
    const written = new Set(results.map((result) => result.partition));
    try {
      await Promise.all([...written].map((partition) => topic.partitions[partition].flush()));
    } catch (error) {
      throw context.failure(topic, error);
    }
  }
  return results;
}

// packages/broker/src/producers/producer-entry.ts
var NO_PRODUCER_ID = -1n;
var RECENT_BATCHES_PER_PRODUCER = 5;
var SEQUENCE_MAX = 2147483647;
var EPOCH_MAX = 32767;
function addToSequence(sequence, increment) {
  return sequence > SEQUENCE_MAX - increment ? increment - (SEQUENCE_MAX - sequence) - 1 : sequence + increment;
}
function recentBatch(header, baseOffset) {
  return {
    firstSeq: header.baseSequence,
    lastSeq: addToSequence(header.baseSequence, header.recordCount - 1),
    baseOffset,
    lastOffset: baseOffset + BigInt(header.lastOffsetDelta)
  };
}
function checkSequence(entry, header) {
  const { producerId, producerEpoch, baseSequence } = header;
  if (entry === void 0) {
    if (baseSequence === 0) return void 0;
    throw new BrookError("UNKNOWN_PRODUCER_ID", `producer ${producerId} is unknown here and its batch starts at sequence ${baseSequence}, not 0`, {
      producerId,
      producerEpoch,
      baseSequence
    });
  }
  if (producerEpoch < entry.epoch) {
    throw new BrookError("PRODUCER_FENCED", `producer ${producerId} epoch ${producerEpoch} is older than epoch ${entry.epoch}`, {
      producerId,
      producerEpoch,
      currentEpoch: entry.epoch
    });
  }
  if (producerEpoch > entry.epoch) {
    if (baseSequence === 0) return void 0;
    throw outOfOrder(header, 0);
  }
  const lastSeq = addToSequence(baseSequence, header.recordCount - 1);
  const original = entry.batches.find((batch) => batch.firstSeq === baseSequence && batch.lastSeq === lastSeq);
  if (original) return original;
  const expected = addToSequence(lastBatch(entry).lastSeq, 1);
  if (baseSequence === expected) return void 0;
  throw outOfOrder(header, expected);
}
function withBatch(entry, epoch, batch) {
  const kept = entry !== void 0 && entry.epoch === epoch ? entry.batches.slice(1 - RECENT_BATCHES_PER_PRODUCER) : [];
  return { epoch, batches: [...kept, batch] };
}
function lastBatch(entry) {
  return entry.batches[entry.batches.length - 1];
}
function outOfOrder(header, expected) {
  const { producerId, producerEpoch, baseSequence } = header;
  return new BrookError("OUT_OF_ORDER_SEQUENCE", `producer ${producerId} epoch ${producerEpoch}: expected sequence ${expected}, got ${baseSequence}`, {
    producerId,
    producerEpoch,
    expected,
    got: baseSequence
  });
}

// packages/broker/src/producers/append-group.ts
var PENDING_OFFSET = -1n;
var AppendGroup = class {
  constructor(entry, log, checkEpoch) {
    this.log = log;
    this.checkEpoch = checkEpoch;
    this.working = entry;
  }
  log;
  checkEpoch;
  working;
  appends = /* @__PURE__ */ new Map();
  answers = [];
  /** Checks `item` and appends it, answers it as a duplicate, or rejects it. */
  offer(item, admission) {
    const { header } = item;
    try {
      this.checkEpoch(header.producerId, header.producerEpoch);
      const original = checkSequence(this.working, header);
      if (original && this.appends.has(original)) {
        this.answers.push({ item, batch: original, duplicate: true });
      } else if (original) {
        item.resolve({ baseOffset: original.baseOffset, lastOffset: original.lastOffset, duplicate: true });
      } else {
        if (admission.status === "rejected") throw admission.reason;
        const batch = recentBatch(header, PENDING_OFFSET);
        this.working = withBatch(this.working, header.producerEpoch, batch);
        this.appends.set(batch, this.log.append(item.bytes));
        this.answers.push({ item, batch, duplicate: false });
      }
    } catch (error) {
      item.reject(error);
    }
  }
  /**
   * Waits for the log; if it took the group, hands the producer's new entry to `commit` before
   * answering anyone (so a client that hears of its ack can only ever meet a table that knows
   * it); if not, answers everyone with the failure. Never rejects, bar a broken invariant.
   */
  async settle(commit) {
    if (this.appends.size === 0) return;
    const pending = [...this.appends.keys()];
    const results = await Promise.allSettled(this.appends.values());
    const outcomes = new Map(pending.map((batch, i) => [batch, results[i]]));
    const failed = results.filter((result) => result.status === "rejected").length;
    assert(failed === 0 || failed === results.length, "the log acknowledged only some of the appends queued together", { appends: results.length, failed });
    const acknowledged = /* @__PURE__ */ new Map();
    for (const [batch, outcome] of outcomes) {
      if (outcome.status === "fulfilled") acknowledged.set(batch, { ...batch, baseOffset: outcome.value.baseOffset, lastOffset: outcome.value.lastOffset });
    }
    if (failed === 0) {
      const working = this.working;
      commit({ epoch: working.epoch, batches: working.batches.map((batch) => acknowledged.get(batch) ?? batch) });
    }
    for (const { item, batch, duplicate } of this.answers) {
      const outcome = outcomes.get(batch);
      if (outcome.status === "rejected") {
        item.reject(outcome.reason);
      } else {
        const { baseOffset, lastOffset } = acknowledged.get(batch);
        item.resolve({ baseOffset, lastOffset, duplicate });
      }
    }
  }
};

// packages/broker/src/producers/one-at-a-time.ts
var OneAtATime = class {
  tail = Promise.resolve();
  run(task) {
    const result = this.tail.then(task);
    this.tail = result.catch(() => void 0);
    return result;
  }
};

// packages/broker/src/producers/producer-snapshot.ts
var SNAPSHOT_VERSION = 1;
function snapshotPath(dir) {
  return `${dir}/${PRODUCER_SNAPSHOT_FILE}`;
}
function encodeSnapshot(offset, producers) {
  const written = [...producers].map(([id2, entry]) => ({
    id: id2.toString(),
    epoch: entry.epoch,
    batches: entry.batches.map((b) => [b.firstSeq, b.lastSeq, b.baseOffset.toString(), b.lastOffset.toString()])
  }));
  return new TextEncoder().encode(JSON.stringify({ version: SNAPSHOT_VERSION, offset: offset.toString(), producers: written }));
}
function writeSnapshot(fs, dir, bytes) {
  return writeFileAtomic(fs, snapshotPath(dir), bytes);
}
async function removeSnapshot(fs, dir) {
  await fs.unlink(snapshotPath(dir));
  await fs.syncDir(dir);
}
async function readSnapshot(fs, dir) {
  const path = snapshotPath(dir);
  if (!await fs.exists(path)) return void 0;
  const bytes = await fs.readFile(path);
  try {
    return decodeSnapshot(JSON.parse(new TextDecoder().decode(bytes)));
  } catch (error) {
    throw new BrookError("CORRUPT_METADATA", `${path} is not a valid producer-state snapshot: ${String(error)}`, { file: path }, { cause: error });
  }
}
function decodeSnapshot(file) {
  const { version, offset, producers } = file;
  if (version !== SNAPSHOT_VERSION) throw new Error(`unknown version ${String(version)}`);
  if (!Array.isArray(producers)) throw new Error("producers is not an array");
  const decoded = producers.map(decodeProducer);
  if (new Set(decoded.map(([id2]) => id2)).size !== decoded.length) throw new Error("a producer id appears twice");
  return { offset: parseDecimal(offset, "offset"), producers: decoded };
}
function decodeProducer(producer) {
  const { id: id2, epoch, batches } = producer;
  if (!isInteger(epoch, 0, EPOCH_MAX)) throw new Error(`epoch ${String(epoch)}`);
  if (!Array.isArray(batches) || batches.length < 1 || batches.length > RECENT_BATCHES_PER_PRODUCER) throw new Error("batches count");
  const decoded = batches.map(decodeBatch2);
  for (let i = 1; i < decoded.length; i++) {
    if (decoded[i].baseOffset <= decoded[i - 1].lastOffset) throw new Error("batches not in offset order");
  }
  return [parseDecimal(id2, "id"), { epoch, batches: decoded }];
}
function decodeBatch2(batch) {
  if (!Array.isArray(batch) || batch.length !== 4) throw new Error("a batch is not [firstSeq, lastSeq, baseOffset, lastOffset]");
  const [firstSeq, lastSeq, base, last] = batch;
  const baseOffset = parseDecimal(base, "baseOffset");
  const lastOffset = parseDecimal(last, "lastOffset");
  if (!isInteger(firstSeq, 0, SEQUENCE_MAX) || !isInteger(lastSeq, 0, SEQUENCE_MAX)) throw new Error("sequence out of range");
  const span = lastOffset - baseOffset;
  if (span < 0n || span > BigInt(SEQUENCE_MAX) || addToSequence(firstSeq, Number(span)) !== lastSeq) {
    throw new Error(`sequences ${firstSeq}..${lastSeq} do not span offsets ${baseOffset}..${lastOffset}`);
  }
  return { firstSeq, lastSeq, baseOffset, lastOffset };
}
function isInteger(value, min, max) {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

// packages/broker/src/producers/producer-state-table.ts
var ProducerStateTable = class {
  constructor(producersMax) {
    this.producersMax = producersMax;
  }
  producersMax;
  /** Least recently used first. */
  entries = /* @__PURE__ */ new Map();
  get size() {
    return this.entries.size;
  }
  get(producerId) {
    return this.entries.get(producerId);
  }
  /** Stores `entry` as the most recently used, forgetting the least recently used beyond the bound. */
  set(producerId, entry) {
    this.entries.delete(producerId);
    this.entries.set(producerId, entry);
    if (this.entries.size > this.producersMax) this.entries.delete(this.entries.keys().next().value);
  }
  /** Marks a producer as just used (a duplicate or a rejected batch is use too). */
  touch(producerId) {
    const entry = this.entries.get(producerId);
    if (entry) this.set(producerId, entry);
  }
  /**
   * Applies a batch read back from the log. The log is the truth, so nothing is checked; a batch
   * the entry already holds (a snapshot may include batches past its replay offset) is skipped.
   */
  replay(header) {
    if (header.producerId === NO_PRODUCER_ID) return;
    const entry = this.entries.get(header.producerId);
    if (entry && lastBatch(entry).lastOffset >= header.baseOffset) return;
    this.set(header.producerId, withBatch(entry, header.producerEpoch, recentBatch(header, header.baseOffset)));
  }
  /** Every entry, least recently used first (the order a snapshot must keep). */
  [Symbol.iterator]() {
    return this.entries.entries();
  }
};

// packages/broker/src/producers/producer-state-recovery.ts
var REPLAY_READ_BYTES = 1024 * 1024;
async function recoverProducerState(fs, dir, log, producersMax) {
  const { snapshot, use } = await loadSnapshot(fs, dir, log);
  const table = new ProducerStateTable(producersMax);
  for (const [producerId, entry] of snapshot?.producers ?? []) table.set(producerId, entry);
  const from = snapshot?.offset ?? log.startOffset;
  const replayedBatches = await replay2(log, from, table);
  return { table, report: { snapshot: use, replayedFromOffset: from, replayedBatches } };
}
async function discardSnapshotAheadOfLog(fs, dir, log) {
  const { use } = await loadSnapshot(fs, dir, log);
  if (use === "ahead-of-log") await removeSnapshot(fs, dir);
}
async function loadSnapshot(fs, dir, log) {
  let snapshot;
  try {
    snapshot = await readSnapshot(fs, dir);
  } catch (error) {
    if (isBrookError(error, "CORRUPT_METADATA")) return { use: "invalid" };
    throw error;
  }
  if (snapshot === void 0) return { use: "missing" };
  if (snapshot.offset < log.startOffset) return { use: "behind-log-start" };
  const endOffset = log.endOffset;
  if (snapshot.offset > endOffset || snapshot.producers.some(([, entry]) => lastBatch(entry).lastOffset >= endOffset)) {
    return { use: "ahead-of-log" };
  }
  return { snapshot, use: "used" };
}
async function replay2(log, from, table) {
  let offset = from;
  let batches = 0;
  while (offset < log.endOffset) {
    const read = await log.read(offset, { maxBytes: REPLAY_READ_BYTES });
    assert(read.length > 0, "log read below endOffset returned nothing", { offset, endOffset: log.endOffset });
    for (const { header } of read) {
      table.replay(header);
      offset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
    }
    batches += read.length;
  }
  return batches;
}

// packages/broker/src/producers/partition-producers.ts
var PartitionProducers = class _PartitionProducers {
  constructor(options, table, recovery) {
    this.options = options;
    this.table = table;
    this.recovery = recovery;
  }
  options;
  table;
  recovery;
  lanes = /* @__PURE__ */ new Map();
  snapshots = new OneAtATime();
  /** The offset of the snapshot on disk, if it is one this table agrees with. */
  writtenOffset;
  /** Set by retire(): the partition is going away, and so is its directory. */
  retired = false;
  /** Rebuilds the table from the snapshot and the log (see producer-state-recovery.ts). */
  static async open(options) {
    const { table, report } = await recoverProducerState(options.fs, options.dir, options.log, options.producersMax);
    const producers = new _PartitionProducers(options, table, report);
    if (report.snapshot === "used") producers.writtenOffset = report.replayedFromOffset;
    else await producers.snapshot();
    return producers;
  }
  /** The highest producer id the table remembers, -1 if none. */
  get highestProducerId() {
    let highest = NO_PRODUCER_ID;
    for (const [producerId] of this.table) if (producerId > highest) highest = producerId;
    return highest;
  }
  /** Producers the table remembers. */
  get producerCount() {
    return this.table.size;
  }
  /**
   * Appends an idempotent producer's batch, or answers a retry with the original's offsets.
   * Batches of one producer are checked in the order of the calls.
   */
  append(header, bytes, admit) {
    return new Promise((resolve, reject) => {
      const item = { header, bytes, admit, resolve, reject };
      const lane = this.lanes.get(header.producerId);
      if (lane) lane.waiting.push(item);
      else this.openLane(header.producerId, item);
    });
  }
  /** Resolves once no batch is waiting or in the log. */
  async quiesce() {
    while (this.lanes.size > 0) await Promise.all([...this.lanes.values()].map((lane) => lane.drained));
  }
  /** Writes the snapshot if the log moved since the last one; one write at a time. */
  snapshot() {
    return this.snapshots.run(() => this.retired ? Promise.resolve() : this.writeSnapshot());
  }
  /**
   * For a partition being deleted: lets its batches and a snapshot under way finish, and writes
   * no snapshot after. A write still under way when the directory is removed and created again
   * (deleteTopic, then createTopic of the name) would put this state into the new partition.
   */
  async retire() {
    this.retired = true;
    await this.quiesce();
    await this.snapshot();
  }
  openLane(producerId, item) {
    const lane = { waiting: [item], handedOverAt: void 0, drained: Promise.resolve() };
    this.lanes.set(producerId, lane);
    lane.drained = this.drainLane(producerId, lane);
  }
  async drainLane(producerId, lane) {
    while (lane.waiting.length > 0) {
      const items = lane.waiting;
      lane.waiting = [];
      const admissions = await Promise.allSettled(items.map((item) => item.admit()));
      const group = new AppendGroup(this.table.get(producerId), this.options.log, this.options.checkEpoch);
      lane.handedOverAt = this.options.log.endOffset;
      items.forEach((item, i) => group.offer(item, admissions[i]));
      this.table.touch(producerId);
      await group.settle((entry) => this.table.set(producerId, entry));
      lane.handedOverAt = void 0;
    }
    this.lanes.delete(producerId);
  }
  async writeSnapshot() {
    const offset = this.coveredOffset();
    if (offset === this.writtenOffset) return;
    const bytes = encodeSnapshot(offset, this.table);
    if (!this.options.appendsDurable) await this.options.log.flush();
    await writeSnapshot(this.options.fs, this.options.dir, bytes);
    this.writtenOffset = offset;
  }
  /** The offset below which the table holds every idempotent batch of the log. */
  coveredOffset() {
    let offset = this.options.log.endOffset;
    for (const { handedOverAt } of this.lanes.values()) {
      if (handedOverAt !== void 0 && handedOverAt < offset) offset = handedOverAt;
    }
    return offset;
  }
};

// packages/broker/src/producers/producer-registry.ts
var REGISTRY_FILE = "producers.json";
var REGISTRY_VERSION = 1;
var INCARNATION_DRAW_MAX = 2 ** 31;
var ProducerRegistry = class {
  constructor(fs, dataDir) {
    this.fs = fs;
    this.path = `${dataDir}/${REGISTRY_FILE}`;
  }
  fs;
  mutations = new OneAtATime();
  path;
  nextProducerId = 0n;
  epochs = /* @__PURE__ */ new Map();
  current;
  /**
   * Reads the file; without one (no id was ever issued) or without an incarnation in it, creates
   * the incarnation from the clock and a draw of `random` and writes it before anything can see it.
   * Returns whether there was no file: then the caller must raise the counter above every id the
   * partitions remember (issueAbove), or a new producer would get an old one's id and its first
   * batches would be taken for that producer's.
   */
  async load(clock, random) {
    let incarnation;
    const missing = !await this.fs.exists(this.path);
    if (!missing) {
      ({ incarnation, nextProducerId: this.nextProducerId, epochs: this.epochs } = parseRegistry(this.path, await this.fs.readFile(this.path)));
    }
    if (incarnation === void 0) {
      incarnation = `${Math.floor(clock.now())}-${random.int(INCARNATION_DRAW_MAX)}`;
      await this.persist(incarnation, this.nextProducerId, this.epochs);
    }
    this.current = incarnation;
    return missing;
  }
  /** Issues ids above `producerId` only (see load). */
  issueAbove(producerId) {
    return this.mutations.run(async () => {
      if (producerId < this.nextProducerId) return;
      await this.persist(this.incarnation, producerId + 1n, this.epochs);
      this.nextProducerId = producerId + 1n;
    });
  }
  /** This data directory's incarnation; load() must have resolved. */
  get incarnation() {
    assert(this.current !== void 0, "the producer registry was not loaded");
    return this.current;
  }
  /** A new id at epoch 0; or a known id at its current epoch, or the next one with `bumpEpoch`. */
  initProducer(request = {}) {
    const { producerId, bumpEpoch = false, incarnation } = request;
    if (producerId !== void 0 && (typeof producerId !== "bigint" || producerId < 0n)) {
      return Promise.reject(new BrookError("INVALID_REQUEST", `producerId must be a non-negative bigint, got ${String(producerId)}`, { producerId }));
    }
    if (typeof bumpEpoch !== "boolean" || bumpEpoch && producerId === void 0) {
      return Promise.reject(new BrookError("INVALID_REQUEST", "bumpEpoch must be a boolean, and needs a producerId", { bumpEpoch }));
    }
    if (incarnation !== void 0 && (typeof incarnation !== "string" || producerId === void 0)) {
      return Promise.reject(new BrookError("INVALID_REQUEST", "incarnation must be a string, and needs a producerId", { incarnation }));
    }
    return this.mutations.run(() => producerId === void 0 ? this.allocate() : this.resume(producerId, bumpEpoch, incarnation));
  }
  /** Throws UNKNOWN_PRODUCER_ID for an id issued under another incarnation (`undefined`: the sender does not say). */
  checkIncarnation(producerId, incarnation) {
    if (incarnation !== void 0 && incarnation !== this.incarnation) {
      throw new BrookError("UNKNOWN_PRODUCER_ID", `producer ${producerId} was issued under incarnation ${incarnation}, not by this broker's data directory (${this.incarnation})`, {
        producerId,
        incarnation,
        currentIncarnation: this.incarnation
      });
    }
  }
  /** Throws PRODUCER_FENCED for an epoch older than the current one, UNKNOWN_PRODUCER_ID for one never issued. */
  checkEpoch(producerId, producerEpoch) {
    const currentEpoch = this.issued(producerId) ? this.epochOf(producerId) : void 0;
    if (currentEpoch === void 0 || producerEpoch > currentEpoch) {
      throw new BrookError("UNKNOWN_PRODUCER_ID", `producer ${producerId} epoch ${producerEpoch} was never issued by this broker`, {
        producerId,
        producerEpoch
      });
    }
    if (producerEpoch < currentEpoch) {
      throw new BrookError("PRODUCER_FENCED", `producer ${producerId} epoch ${producerEpoch} was fenced by epoch ${currentEpoch}`, {
        producerId,
        producerEpoch,
        currentEpoch
      });
    }
  }
  async allocate() {
    const producerId = this.nextProducerId;
    await this.persist(this.incarnation, producerId + 1n, this.epochs);
    this.nextProducerId = producerId + 1n;
    return { producerId, producerEpoch: 0, incarnation: this.incarnation };
  }
  async resume(producerId, bumpEpoch, incarnation) {
    if (!this.issued(producerId)) {
      throw new BrookError("UNKNOWN_PRODUCER_ID", `producer id ${producerId} was never issued by this broker`, { producerId });
    }
    this.checkIncarnation(producerId, incarnation);
    const epoch = this.epochOf(producerId);
    if (!bumpEpoch) return { producerId, producerEpoch: epoch, incarnation: this.incarnation };
    if (epoch === EPOCH_MAX) {
      throw new BrookError("INVALID_REQUEST", `producer ${producerId} is at the last epoch ${EPOCH_MAX}: get a new id`, { producerId, producerEpoch: epoch });
    }
    await this.persist(this.incarnation, this.nextProducerId, new Map(this.epochs).set(producerId, epoch + 1));
    this.epochs.set(producerId, epoch + 1);
    return { producerId, producerEpoch: epoch + 1, incarnation: this.incarnation };
  }
  issued(producerId) {
    return producerId >= 0n && producerId < this.nextProducerId;
  }
  epochOf(producerId) {
    return this.epochs.get(producerId) ?? 0;
  }
  persist(incarnation, nextProducerId, epochs) {
    const file = {
      version: REGISTRY_VERSION,
      incarnation,
      nextProducerId: nextProducerId.toString(),
      epochs: [...epochs].map(([id2, epoch]) => [id2.toString(), epoch])
    };
    return writeFileAtomic(this.fs, this.path, new TextEncoder().encode(JSON.stringify(file)));
  }
};
function parseRegistry(path, bytes) {
  try {
    const file = JSON.parse(new TextDecoder().decode(bytes));
    if (file.version !== REGISTRY_VERSION) throw new Error(`unknown version ${String(file.version)}`);
    const { incarnation } = file;
    if (incarnation !== void 0 && !isIncarnation(incarnation)) throw new Error(`incarnation ${JSON.stringify(incarnation)}`);
    const nextProducerId = parseDecimal(file.nextProducerId, "nextProducerId");
    if (!Array.isArray(file.epochs)) throw new Error("epochs is not an array");
    const epochs = new Map(file.epochs.map(([id2, epoch]) => {
      if (!Number.isInteger(epoch) || epoch < 1 || epoch > EPOCH_MAX) throw new Error(`epoch ${String(epoch)}`);
      const producerId = parseDecimal(id2, "producer id");
      if (producerId >= nextProducerId) throw new Error(`epoch of producer ${producerId}, which was never issued`);
      return [producerId, epoch];
    }));
    return { incarnation, nextProducerId, epochs };
  } catch (error) {
    throw new BrookError("CORRUPT_METADATA", `${path} is not a valid producer registry: ${String(error)}`, { file: path }, { cause: error });
  }
}

// packages/broker/src/producers/producers.ts
var Producers = class {
  constructor(options) {
    this.options = options;
    this.registry = new ProducerRegistry(options.fs, options.dataDir);
  }
  options;
  /** By partition directory; a failed load is removed so that the next batch tries again. */
  partitions = /* @__PURE__ */ new Map();
  registry;
  snapshotTimer;
  closed = false;
  /**
   * Loads the registry. After an unclean stop (`cleanShutdown` false) a snapshot ahead of a log
   * is removed now (see discardSnapshotAheadOfLog): the partition's state is still rebuilt on
   * first use, but nothing appended before then can make that snapshot look valid. All of them,
   * not only logs whose recovery cut a tail this time: a crash between the cut and this check
   * leaves the next open nothing to cut. Without a registry file over existing partitions (it
   * was deleted or lost), every partition's state is rebuilt now, and ids are issued above the
   * highest one they remember.
   */
  async open(partitions, cleanShutdown) {
    const registryMissing = await this.registry.load(this.options.clock, this.options.random);
    if (!cleanShutdown) for (const { log, dir } of partitions) await discardSnapshotAheadOfLog(this.options.fs, dir, log);
    if (!registryMissing) return;
    let highest = NO_PRODUCER_ID;
    for (const target of partitions) {
      const { highestProducerId } = await this.partition(target);
      if (highestProducerId > highest) highest = highestProducerId;
    }
    if (highest !== NO_PRODUCER_ID) await this.registry.issueAbove(highest);
  }
  initProducer(request) {
    return this.registry.initProducer(request);
  }
  /** The data directory's incarnation, announced in WELCOME. */
  get incarnation() {
    return this.registry.incarnation;
  }
  /**
   * Appends a checked batch (see batch-input.ts): at once if its producerId is -1, else through
   * the partition's idempotence table. `admit` runs the broker's own checks before an append.
   * `incarnation`, if the sender names one, must be this data directory's (producer-registry.ts).
   */
  async append(target, header, bytes, incarnation, admit) {
    if (header.producerId === NO_PRODUCER_ID) {
      await admit();
      return { ...await target.log.append(bytes), duplicate: false };
    }
    checkProducerFields(header);
    this.registry.checkIncarnation(header.producerId, incarnation);
    const partition = await this.partition(target);
    return partition.append(header, bytes, admit);
  }
  /** deleteTopic: forgets the producer state of the partitions under `topicDir`, once their appends and snapshots in flight are done. */
  async forget(topicDir) {
    const forgotten = [...this.partitions].filter(([dir]) => dir.startsWith(`${topicDir}/`));
    for (const [dir] of forgotten) this.partitions.delete(dir);
    await Promise.all(forgotten.map(async ([, loading]) => (await loading.catch(() => void 0))?.retire()));
  }
  /** Lets batches in flight finish and snapshots every partition. Call before the logs close. */
  async close() {
    this.closed = true;
    this.snapshotTimer?.cancel();
    await Promise.all([...this.partitions.values()].map(async (loading) => {
      const partition = await loading.catch(() => void 0);
      await partition?.quiesce();
      await partition?.snapshot().catch(() => void 0);
    }));
  }
  /** The partition's producer state, rebuilt on first use. */
  partition(target) {
    const loaded = this.partitions.get(target.dir);
    if (loaded) return loaded;
    const loading = PartitionProducers.open({
      fs: this.options.fs,
      log: target.log,
      dir: target.dir,
      producersMax: this.options.producersPerPartitionMax,
      appendsDurable: this.options.appendsDurable,
      checkEpoch: (id2, epoch) => this.registry.checkEpoch(id2, epoch)
    });
    this.partitions.set(target.dir, loading);
    if (!this.snapshotTimer) this.armSnapshotTimer();
    loading.catch(() => {
      if (this.partitions.get(target.dir) === loading) this.partitions.delete(target.dir);
    });
    return loading;
  }
  armSnapshotTimer() {
    if (this.closed) return;
    this.snapshotTimer = this.options.clock.setTimer(this.options.producerSnapshotIntervalMs, () => {
      if (this.closed) return;
      const snapshots = [...this.partitions.values()].map((loading) => loading.then((partition) => partition.snapshot()));
      void Promise.allSettled(snapshots).then(() => {
        if (!this.closed) this.armSnapshotTimer();
      });
    });
  }
};
function checkProducerFields(header) {
  const { producerId, producerEpoch, baseSequence } = header;
  if (producerId < 0n || producerEpoch < 0 || baseSequence < 0) {
    throw new BrookError("INVALID_REQUEST", `producerId ${producerId}, producerEpoch ${producerEpoch}, baseSequence ${baseSequence}: an idempotent batch needs all three >= 0 (producerId -1 for none)`, {
      producerId,
      producerEpoch,
      baseSequence
    });
  }
}

// packages/broker/src/config/server-options.ts
var SERVER_LIMIT_NAMES = [
  "frameBytesMax",
  "connectionsMax",
  "subscriptionsMax",
  "requestsInFlightMax",
  "sendBufferBytesMax",
  "deliverRecordsMax",
  "handshakeTimeoutMs",
  "idleTimeoutMs",
  "closeGraceMs"
];
var DEFAULT_PORT = 7070;
var DEFAULT_HOST = "127.0.0.1";
var PORT_MAX = 65535;
function resolveServerLimits(options = {}) {
  const limits = {};
  for (const name of SERVER_LIMIT_NAMES) limits[name] = limitOrDefault(name, options[name]);
  return limits;
}
var LISTEN_OPTION_KEYS = {
  port: true,
  host: true,
  token: true,
  ...optionKeysOf(SERVER_LIMIT_NAMES)
};
function resolveListenOptions(options) {
  checkOptionKeys(options, LISTEN_OPTION_KEYS);
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > PORT_MAX) throw invalid2("port", port, `an integer in [0, ${PORT_MAX}]`);
  const host = options.host ?? DEFAULT_HOST;
  if (typeof host !== "string" || host === "") throw invalid2("host", host, "a non-empty string");
  if (options.token !== void 0 && (typeof options.token !== "string" || options.token === "")) throw invalid2("token", "(hidden)", "a non-empty string");
  return { port, host, token: options.token, limits: resolveServerLimits(options) };
}
function invalid2(option, value, expected) {
  return new BrookError("INVALID_CONFIG", `${option} must be ${expected}, got ${JSON.stringify(value)}`, { option });
}

// packages/broker/src/server/session.ts
import { createHash, timingSafeEqual } from "node:crypto";

// packages/broker/src/server/args.ts
var DECIMAL2 = /^(0|[1-9]\d{0,18})$/;
var INT64_MAX2 = (1n << 63n) - 1n;
var SIGNED_DIGITS = /^-?\d{1,20}$/;
function checkInt(value, field, min, max) {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidField(field, `an integer in [${min}, ${max}]`, value);
  }
  return value;
}
function checkString(value, field) {
  checkStringFields({ [field]: value });
  return value;
}
function checkDecimal(value, field) {
  if (typeof value !== "string" || !DECIMAL2.test(value) || BigInt(value) > INT64_MAX2) {
    throw invalidField(field, "a decimal string in 0..2^63-1", value);
  }
  return BigInt(value);
}
var Args = class _Args {
  constructor(json, path = "") {
    this.json = json;
    this.path = path;
  }
  json;
  path;
  get(name) {
    return Object.hasOwn(this.json, name) ? this.json[name] : void 0;
  }
  field(name) {
    return this.path + name;
  }
  has(name) {
    return this.get(name) !== void 0;
  }
  string(name) {
    return checkString(this.get(name), this.field(name));
  }
  optionalString(name) {
    return this.has(name) ? this.string(name) : void 0;
  }
  int(name, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
    return checkInt(this.get(name), this.field(name), min, max);
  }
  optionalInt(name, min, max) {
    return this.has(name) ? this.int(name, min, max) : void 0;
  }
  /**
   * A setting's value as the client sent it, of any JSON type: the broker checks it as it checks a
   * JS caller's (a number within its limit, one of its names), so 1.5, '5' or null gets the
   * broker's own code over the wire as in process (INVALID_CONFIG for settings). The type
   * parameter only names what the broker expects; nothing here makes it so.
   */
  optionalSetting(name) {
    return this.get(name);
  }
  optionalBoolean(name) {
    const value = this.get(name);
    if (value !== void 0 && typeof value !== "boolean") throw invalidField(this.field(name), "a boolean", value);
    return value;
  }
  offset(name) {
    return checkDecimal(this.get(name), this.field(name));
  }
  optionalDecimal(name) {
    return this.has(name) ? this.offset(name) : void 0;
  }
  optionalObject(name) {
    const value = this.get(name);
    if (value === void 0) return void 0;
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidField(this.field(name), "an object", value);
    return new _Args(value, `${this.field(name)}.`);
  }
  /** `[[a, b], ...]`, each element read by `first` and `second` (given the element's field name). */
  optionalPairs(name, first, second) {
    const value = this.get(name);
    if (value === void 0) return [];
    if (!Array.isArray(value)) throw invalidField(this.field(name), "an array of pairs", value);
    return value.map((pair, index) => {
      const field = `${this.field(name)}[${index}]`;
      if (!Array.isArray(pair) || pair.length !== 2) throw invalidField(field, "a pair [_, _]", pair);
      return [first(pair[0], `${field}[0]`), second(pair[1], `${field}[1]`)];
    });
  }
  optionalStartPosition(name) {
    return this.has(name) ? this.startPosition(name) : void 0;
  }
  /**
   * A start position as the broker takes it: `{ offset: "123" }` with its offset as a bigint. Only
   * the offset's wire form is checked here (a string of digits, a sign allowed); any other value
   * goes to the broker as it is, which refuses a bad one (a negative offset, an unknown name, a
   * timestamp outside 0..2^53-1) with its own code, INVALID_CONFIG, as in process.
   */
  startPosition(name) {
    const value = this.get(name);
    const position = typeof value === "object" && value !== null && !Array.isArray(value) ? this.optionalObject(name) : void 0;
    if (!position?.has("offset")) return value;
    const offset = position.get("offset");
    if (typeof offset !== "string" || !SIGNED_DIGITS.test(offset)) throw invalidField(`${this.field(name)}.offset`, "a decimal string", offset);
    return { offset: BigInt(offset) };
  }
};

// packages/broker/src/server/request-handlers.ts
var EMPTY2 = { json: {} };
async function createTopic(broker, args) {
  const retention = args.optionalObject("retention");
  await broker.createTopic(args.string("name"), {
    partitions: args.optionalSetting("partitions"),
    retention: retention && {
      maxBytes: retention.optionalSetting("maxBytes"),
      maxAgeMs: retention.optionalSetting("maxAgeMs"),
      discard: retention.optionalSetting("discard")
    }
  });
  return EMPTY2;
}
async function initProducer(broker, args) {
  const producerId = args.optionalDecimal("producerId");
  const bumpEpoch = args.optionalBoolean("bumpEpoch");
  const incarnation = args.optionalString("incarnation");
  const identity = await broker.initProducer({
    ...producerId !== void 0 && { producerId },
    ...bumpEpoch !== void 0 && { bumpEpoch },
    ...incarnation !== void 0 && { incarnation }
  });
  return { json: identity };
}
async function produce(broker, args, data) {
  const incarnation = args.optionalString("incarnation");
  const result = await broker.produceBatch({
    topic: args.string("topic"),
    partition: args.int("partition", 0),
    batch: data,
    ...incarnation !== void 0 && { incarnation }
  });
  return { json: result };
}
async function fetch(broker, args) {
  const records = await broker.fetch({
    topic: args.string("topic"),
    partition: args.int("partition", 0),
    offset: args.offset("offset"),
    maxRecords: args.optionalSetting("maxRecords"),
    maxBytes: args.optionalSetting("maxBytes")
  });
  const first = records[0];
  return { json: { count: records.length }, ...first && { data: encodeBatch(records, { baseOffset: first.offset }) } };
}
async function offsetForTimestamp(broker, args) {
  const offset = await broker.offsetForTimestamp(args.string("topic"), args.int("partition", 0), args.int("timestampMs"));
  return { json: { offset } };
}
async function resetGroup(broker, args) {
  const positions = await broker.resetGroup(args.string("topic"), args.string("group"), args.startPosition("to"));
  return { json: { positions } };
}
var BROKER_REQUESTS = /* @__PURE__ */ new Map([
  ["createTopic", createTopic],
  ["deleteTopic", async (broker, args) => (await broker.deleteTopic(args.string("name")), EMPTY2)],
  ["listTopics", (broker) => ({ json: { topics: broker.listTopics() } })],
  ["describeTopic", (broker, args) => ({ json: broker.describeTopic(args.string("name")) })],
  ["initProducer", initProducer],
  ["produce", produce],
  ["fetch", fetch],
  ["offsetForTimestamp", offsetForTimestamp],
  ["listGroups", (broker, args) => ({ json: { groups: broker.listGroups(args.optionalString("topic")) } })],
  ["describeGroup", (broker, args) => ({ json: broker.describeGroup(args.string("topic"), args.string("group")) })],
  ["resetGroup", resetGroup],
  ["deleteGroup", async (broker, args) => (await broker.deleteGroup(args.string("topic"), args.string("group")), EMPTY2)],
  ["redrive", async (broker, args) => ({ json: await broker.redrive(args.string("deadLetterTopic"), { maxRecords: args.optionalInt("maxRecords", 1) }) })]
]);

// packages/broker/src/server/wire-subscription.ts
var FRAME_OVERHEAD_BYTES = 64;
var COMPACT_MIN_FRAMES = 32;
var WireSubscription = class {
  constructor(id2, options) {
    this.id = id2;
    this.topic = options.topic;
    this.ackTimeoutMs = limitOrDefault("ackTimeoutMs", options.ackTimeoutMs);
    this.maxInFlight = limitOrDefault("maxInFlight", options.maxInFlight);
  }
  id;
  topic;
  /** Handed over by the engine, not yet in a frame. */
  buffered = [];
  /** False until the subscribe RESPONSE went out: no DELIVER may precede it. */
  ready = false;
  handle;
  /** A graceful unsubscribe of it is under way. */
  leaving = false;
  /** A tail reader's lostToRetention as far as its frames have told the client. */
  toldLost = 0n;
  /** The buffer's deliveries were told to the engine as held unsent: sending them must say so. */
  withheld = false;
  /**
   * The frames sent with something still unsettled, in id order (ids only grow), found by binary
   * search: a delivery costs a slot in its frame's array, not a map entry and an object. Emptied
   * frames stay until they are at the front or make up half the list.
   */
  frames = [];
  emptyFrames = 0;
  /** Ids outstanding, over every frame. */
  count = 0;
  /** The staleness of extended ids, which differs from their frame's (rare next to deliveries). */
  extendedStaleAfterMs = /* @__PURE__ */ new Map();
  /** Deliveries the broker took back since the last flush, sent or not (takeTakenBack). */
  takenBack = [];
  ackTimeoutMs;
  maxInFlight;
  /**
   * Keeps a delivery for the next frame. At most maxInFlight wait: the engine hands over no more
   * than the credit, a paused member gets nothing new, and the first flush after a delivery comes
   * either sends it or pauses the member (pause()), so leases running out while deliveries wait
   * do not bring more.
   */
  hold(delivery) {
    this.buffered.push(delivery);
  }
  /** For the next frame: what a tail reader lost to retention since the last frame told (0n for a member). */
  takeNewlyLost() {
    const lost = this.handle?.lostToRetention ?? 0n;
    const news = lost - this.toldLost;
    this.toldLost = lost;
    return news;
  }
  /**
   * The socket is congested: the member gets nothing new, and what waits here is held unsent, so
   * that if it is taken back before it goes out (its lease runs out, the connection ends) it is
   * no attempt. Called on every flush that ends congested; a paused member is handed nothing, so
   * the buffer only shrinks meanwhile.
   */
  pause() {
    if (!this.handle) return;
    this.handle.pause();
    this.handle.holdUnsent(this.buffered);
    this.withheld = true;
  }
  /** The socket has room again: the member takes new deliveries. */
  resume() {
    this.handle?.resume();
    this.withheld = this.buffered.length > 0;
  }
  /**
   * Empties the buffer for a flush, without the deliveries that went stale while they waited: the
   * engine has given their records out again, and the client could only settle them as stale.
   */
  takeLive() {
    const waiting = this.buffered;
    this.buffered = [];
    return waiting.filter((delivery) => !delivery.stale);
  }
  /** Deliveries just sent under ids first, first + 1, ...; the array becomes this subscription's. */
  track(first, deliveries, nowMs) {
    if (deliveries.length === 0) return;
    for (let slot = 0; slot < deliveries.length; slot++) deliveries[slot].sinkId = first + slot;
    if (this.withheld) this.handle?.sent(deliveries);
    this.frames.push({ first, deliveries, open: deliveries.length, staleAfterMs: nowMs + 2 * this.ackTimeoutMs });
    this.count += deliveries.length;
    if (this.count > 2 * this.maxInFlight) this.forgetStale(nowMs);
  }
  extend(id2, ms, nowMs) {
    const delivery = this.peek(id2);
    if (!delivery) return;
    delivery.extend(ms);
    this.extendedStaleAfterMs.set(id2, nowMs + (ms ?? this.ackTimeoutMs) + this.ackTimeoutMs);
  }
  /** Removes the unsettled deliveries with ids in [first, last], handing each to `visit` in id order. */
  takeRange(first, last, visit) {
    for (let index = Math.max(0, this.frameIndex(first)); index < this.frames.length; index++) {
      const frame = this.frames[index];
      if (frame.first > last) break;
      const end = Math.min(last, frame.first + frame.deliveries.length - 1);
      for (let id2 = Math.max(first, frame.first); id2 <= end; id2++) {
        const delivery = this.takeFrom(frame, id2);
        if (delivery) visit(id2, delivery);
      }
    }
    this.dropEmptyFrames();
  }
  take(id2) {
    const frame = this.frames[this.frameIndex(id2)];
    const delivery = frame && this.takeFrom(frame, id2);
    this.dropEmptyFrames();
    return delivery;
  }
  /** The broker took back a delivery it had handed over: the next flush tells the client, if it was sent. */
  tookBack(delivery) {
    this.takenBack.push(delivery);
  }
  get hasTakenBack() {
    return this.takenBack.length > 0;
  }
  /**
   * The sent, unsettled deliveries the broker has taken back since the last call, as ascending id
   * ranges for a TAKEN_BACK frame; they are no longer outstanding (a settle of them is stale, as
   * it was). Each is found by its id (Delivery.sinkId), so this costs what was taken back, not
   * what is outstanding, and acks cost nothing for it. One not outstanding is skipped: settled
   * or forgotten meanwhile (its slot no longer holds it), or never sent (it has no id).
   */
  takeTakenBack() {
    const taken = this.takenBack;
    this.takenBack = [];
    const ids = [];
    for (const delivery of taken) {
      const id2 = delivery.sinkId;
      const frame = id2 < 0 ? void 0 : this.frames[this.frameIndex(id2)];
      if (frame?.deliveries[id2 - frame.first] !== delivery) continue;
      this.takeFrom(frame, id2);
      ids.push(id2);
    }
    this.dropEmptyFrames();
    return toRanges(ids);
  }
  /** How many ids are outstanding (tests). */
  get outstanding() {
    return this.count;
  }
  forget() {
    this.buffered = [];
    this.withheld = false;
    this.frames = [];
    this.emptyFrames = 0;
    this.count = 0;
    this.extendedStaleAfterMs.clear();
    this.takenBack = [];
  }
  peek(id2) {
    const frame = this.frames[this.frameIndex(id2)];
    return frame?.deliveries[id2 - frame.first];
  }
  takeFrom(frame, id2) {
    const slot = id2 - frame.first;
    const delivery = frame.deliveries[slot];
    if (slot < 0 || !delivery) return void 0;
    frame.deliveries[slot] = void 0;
    this.count -= 1;
    frame.open -= 1;
    if (frame.open === 0) this.emptyFrames += 1;
    if (this.extendedStaleAfterMs.size > 0) this.extendedStaleAfterMs.delete(id2);
    return delivery;
  }
  /** The index of the frame whose ids could hold `id`: the last one starting at or before it (-1: none). */
  frameIndex(id2) {
    let low = 0;
    let high = this.frames.length - 1;
    while (low <= high) {
      const middle = low + high >>> 1;
      if (this.frames[middle].first <= id2) low = middle + 1;
      else high = middle - 1;
    }
    return high;
  }
  /** Forgets the ids whose lease ran out a whole ackTimeoutMs ago (see the file comment). */
  forgetStale(nowMs) {
    for (const frame of this.frames) {
      if (frame.open === 0 || frame.staleAfterMs >= nowMs) continue;
      for (let slot = 0; slot < frame.deliveries.length; slot++) {
        const id2 = frame.first + slot;
        if (frame.deliveries[slot] && (this.extendedStaleAfterMs.get(id2) ?? frame.staleAfterMs) < nowMs) this.takeFrom(frame, id2);
      }
    }
    this.dropEmptyFrames();
  }
  /** Drops emptied frames at the front, and all of them once they are half the list: amortized O(1) a frame. */
  dropEmptyFrames() {
    let head = 0;
    while (head < this.frames.length && this.frames[head].open === 0) head += 1;
    if (head > 0) {
      this.frames.splice(0, head);
      this.emptyFrames -= head;
    }
    if (this.frames.length >= COMPACT_MIN_FRAMES && this.emptyFrames * 2 > this.frames.length) {
      this.frames = this.frames.filter((frame) => frame.open > 0);
      this.emptyFrames = 0;
    }
  }
};
function frameChunks(deliveries, recordsMax, bytesMax) {
  const chunks = [];
  let chunk = [];
  let bytes = FRAME_OVERHEAD_BYTES;
  for (const delivery of deliveries) {
    const size = deliveryBytes(delivery);
    if (chunk.length > 0 && (chunk.length === recordsMax || bytes + size > bytesMax)) {
      chunks.push(chunk);
      chunk = [];
      bytes = FRAME_OVERHEAD_BYTES;
    }
    chunk.push(delivery);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

// packages/broker/src/server/subscriptions.ts
var ID_MAX = Number.MAX_SAFE_INTEGER;
var EMPTY3 = { json: {} };
var SessionSubscriptions = class {
  constructor(broker, peer, clock, limits, state) {
    this.broker = broker;
    this.peer = peer;
    this.clock = clock;
    this.limits = limits;
    this.state = state;
  }
  broker;
  peer;
  clock;
  limits;
  state;
  subscriptions = /* @__PURE__ */ new Map();
  nextSubscription = 1;
  nextDeliveryId = 0;
  flushQueued = false;
  /** The last flush ended congested: every subscription's member is paused. */
  paused = false;
  /**
   * Joins the group (or starts a tail reader). Deliveries the engine hands over before the
   * RESPONSE is sent wait in the buffer, so the client learns the subscription number first.
   */
  async subscribe(args) {
    const options = readSubscribeOptions(args);
    if (this.subscriptions.size >= this.limits.subscriptionsMax) {
      throw invalidField("subscription count", `at most subscriptionsMax ${this.limits.subscriptionsMax}`, this.subscriptions.size + 1, { limit: "subscriptionsMax" });
    }
    const subscription = new WireSubscription(this.nextSubscription++, options);
    this.subscriptions.set(subscription.id, subscription);
    try {
      subscription.handle = await this.broker.attach(options, (delivery) => this.buffer(subscription, delivery));
    } catch (error) {
      this.subscriptions.delete(subscription.id);
      throw error;
    }
    if (this.subscriptions.get(subscription.id) !== subscription) {
      subscription.handle.abort();
      throw new BrookError("CLOSED", "the connection closed while subscribing");
    }
    if (this.state.tellsTakenBack()) subscription.handle.onTakenBack((delivery) => this.tookBack(subscription, delivery));
    subscription.handle.ended.catch((error) => {
      if (this.subscriptions.get(subscription.id) === subscription) this.endWith(subscription, error.code, error.description);
    });
    const ready = () => {
      subscription.ready = true;
      this.queueFlush();
    };
    const { memberId, ackTimeoutMs } = subscription.handle;
    const json = { subscription: subscription.id, memberId: memberId ?? null, maxInFlight: subscription.maxInFlight, ackTimeoutMs: ackTimeoutMs ?? null };
    return { json, afterSend: ready };
  }
  /**
   * Graceful unless `abort`: waits until every delivery it holds is settled; a second graceful one
   * meanwhile is refused (INVALID_REQUEST), an abort overtakes it. Unknown numbers are ignored (it
   * may have just ended). `release`: ids its consumer never saw, given back without an attempt
   * as the member leaves; it takes nothing new meanwhile, so none of them can come straight back
   * to it and be taken back again as a crash's. `receivedThrough`
   * (with abort): the last id the client had received (-1: none); later ones were still on their
   * way (sent before this request was read), so its consumer never saw them either.
   */
  async unsubscribe(args) {
    const subscription = this.subscriptions.get(args.int("subscription", 0, ID_MAX));
    const abort = args.optionalBoolean("abort") ?? false;
    const release = readIdRanges(args, "release");
    const receivedThrough = args.optionalInt("receivedThrough", -1, ID_MAX - 1);
    if (!subscription?.handle) return EMPTY3;
    if (abort) {
      subscription.handle.pause();
      releaseRanges(subscription, receivedThrough === void 0 ? release : [...release, [receivedThrough + 1, ID_MAX]]);
      this.end(subscription);
    } else {
      if (subscription.leaving) throw invalidField("subscription", "a subscription not already leaving (the first unsubscribe answers once it has left)", subscription.id);
      subscription.leaving = true;
      const left = subscription.handle.close();
      releaseRanges(subscription, release);
      await left;
    }
    this.subscriptions.delete(subscription.id);
    return EMPTY3;
  }
  /**
   * Settles deliveries by id: extends first, then acks, rejects and nacks (the first settlement of
   * an id wins); `alive` settles nothing, it only says the consumer runs (consumerSettled). Every argument is checked before anything is settled. Answers once every ack and
   * reject is durable, with `stale`: the acked and rejected ids that did nothing, because their
   * delivery was taken back (lease expired, rebalance, go-back) or is not outstanding (settled
   * before, forgotten, never sent). The client rejects those acks with DELIVERY_STALE. Stale
   * nacks and extends are ignored.
   */
  async settle(args) {
    const subscription = this.subscriptions.get(args.int("subscription", 0, ID_MAX));
    const ms = (value, field) => value === null ? void 0 : checkInt(value, field, 0, SETTLE_MS_MAX);
    const ack = readIdRanges(args, "ack");
    const extend = args.optionalPairs("extend", id, ms);
    const reject = args.optionalPairs("reject", id, checkString);
    const nack = args.optionalPairs("nack", id, ms);
    const release = readIdRanges(args, "release");
    const alive = args.optionalBoolean("alive") ?? false;
    if (!subscription) return unknownSubscriptionAnswer(ack, reject);
    if (alive || ack.length + extend.length + reject.length + nack.length > 0) subscription.handle?.consumerSettled();
    for (const [deliveryId, extendMs] of extend) subscription.extend(deliveryId, extendMs, this.clock.now());
    const durable = new DurableWaits();
    const stale = new StaleIds();
    for (const [first, last] of ack) {
      stale.startRange(first);
      subscription.takeRange(first, last, (deliveryId, delivery) => {
        if (delivery.stale) return;
        stale.tookEffect(deliveryId);
        durable.add(delivery.ack());
      });
      stale.endRange(last);
    }
    for (const [deliveryId, reason] of reject) {
      const delivery = subscription.take(deliveryId);
      if (delivery && !delivery.stale) durable.add(delivery.reject(reason));
      else stale.add(deliveryId);
    }
    for (const [deliveryId, delayMs] of nack) subscription.take(deliveryId)?.nack(delayMs === void 0 ? {} : { delayMs });
    releaseRanges(subscription, release);
    await durable.all();
    return stale.ranges.length === 0 ? EMPTY3 : { json: { stale: stale.ranges } };
  }
  /** The broker is closing: END every subscription. */
  endAll(code, message) {
    for (const subscription of this.subscriptions.values()) this.endWith(subscription, code, message);
  }
  /** The peer's send buffer emptied: send what congestion held back. */
  drained() {
    this.queueFlush();
  }
  /** The connection is gone: leave every group at once; what they held is redelivered. */
  abortAll() {
    for (const subscription of this.subscriptions.values()) this.end(subscription);
    this.subscriptions.clear();
  }
  endWith(subscription, code, message) {
    if (subscription.ready && this.state.canSend()) this.peer.send(encodeEnd(subscription.id, code, message));
    this.end(subscription);
    this.subscriptions.delete(subscription.id);
  }
  end(subscription) {
    subscription.handle?.abort();
    subscription.forget();
  }
  buffer(subscription, delivery) {
    subscription.hold(delivery);
    if (subscription.ready) this.queueFlush();
  }
  /** Batched: one TAKEN_BACK frame per subscription per flush, however many the broker took back. */
  tookBack(subscription, delivery) {
    subscription.tookBack(delivery);
    this.queueFlush();
  }
  queueFlush() {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }
  /** Stops while the peer is congested: drained() queues the next flush. */
  flush() {
    this.flushQueued = false;
    if (!this.state.canSend()) return;
    this.state.startHeldRequests();
    this.sendTakenBack();
    this.sendBuffered();
    this.pauseWhileCongested();
  }
  /**
   * A congested connection's members take nothing new, so their groups give the records to
   * members that can take them, and what waits in the buffers is held unsent (see the file
   * comment). They resume at the first flush that finds room, after what waited has gone out.
   */
  pauseWhileCongested() {
    const congested = this.state.congested();
    if (!congested && !this.paused) return;
    this.paused = congested;
    for (const subscription of this.subscriptions.values()) {
      if (congested) subscription.pause();
      else subscription.resume();
    }
  }
  /**
   * Before any DELIVER of the flush, so the client drops what was taken back before a redelivery
   * of it arrives. Not held by congestion: each sent id is told at most once, in a few bytes.
   */
  sendTakenBack() {
    for (const subscription of this.subscriptions.values()) {
      if (!subscription.hasTakenBack) continue;
      const ids = subscription.takeTakenBack();
      if (ids.length > 0) this.peer.send(encodeTakenBackFrame(subscription.id, ids));
    }
  }
  sendBuffered() {
    for (const [id2, subscription] of this.subscriptions) {
      if (!subscription.ready || subscription.buffered.length === 0) continue;
      if (this.state.congested()) return;
      if (!this.flushSubscription(subscription)) {
        this.subscriptions.delete(id2);
        this.subscriptions.set(id2, subscription);
        return;
      }
    }
  }
  /** False if congestion stopped it: what was not sent stays buffered. */
  flushSubscription(subscription) {
    const chunks = frameChunks(subscription.takeLive(), this.limits.deliverRecordsMax, this.limits.frameBytesMax);
    for (let index = 0; index < chunks.length; index++) {
      if (this.state.congested()) {
        subscription.buffered = chunks.slice(index).flat();
        return false;
      }
      const chunk = chunks[index];
      const first = this.nextDeliveryId;
      this.nextDeliveryId += chunk.length;
      this.peer.send(encodeDeliverFrame(subscription.id, first, chunk, subscription.takeNewlyLost()));
      subscription.track(first, chunk, this.clock.now());
    }
    return true;
  }
};
var DurableWaits = class {
  distinct = [];
  add(promise) {
    if (this.distinct[this.distinct.length - 1] !== promise) this.distinct.push(promise);
  }
  all() {
    return Promise.all(this.distinct);
  }
};
function unknownSubscriptionAnswer(ack, reject) {
  const stale = [...ack.map(([first, last]) => [first, last]), ...reject.map(([id2]) => [id2, id2])];
  return stale.length === 0 ? EMPTY3 : { json: { stale } };
}
var StaleIds = class {
  ranges = [];
  /** The first id of the current ack range not yet accounted for. */
  next = 0;
  startRange(first) {
    this.next = first;
  }
  /** `id`, the next of the current range to take effect (ids only grow within a range). */
  tookEffect(id2) {
    if (id2 > this.next) this.ranges.push([this.next, id2 - 1]);
    this.next = id2 + 1;
  }
  /** The current range ends at `last`: what is left of it did nothing. */
  endRange(last) {
    if (this.next <= last) this.ranges.push([this.next, last]);
  }
  add(id2) {
    this.ranges.push([id2, id2]);
  }
};
var id = (value, field) => checkInt(value, field, 0, ID_MAX);
function readIdRanges(args, field) {
  const ranges = args.optionalPairs(field, id, id);
  for (const [first, last] of ranges) if (first > last) throw invalidField(field, "ranges [first, last] with first <= last", [first, last]);
  return ranges;
}
function releaseRanges(subscription, ranges) {
  if (ranges.length === 0) return;
  const released = [];
  for (const [first, last] of ranges) subscription.takeRange(first, last, (_id, delivery) => void released.push(delivery));
  subscription.handle?.release(released);
}
function readSubscribeOptions(args) {
  const backoff = args.optionalObject("backoff");
  return {
    topic: args.string("topic"),
    group: args.optionalString("group"),
    name: args.optionalString("name"),
    // Settings are the broker's to check (resolveGroupConfig), whatever their type: INVALID_CONFIG.
    ordering: args.optionalSetting("ordering"),
    maxInFlight: args.optionalSetting("maxInFlight"),
    ackTimeoutMs: args.optionalSetting("ackTimeoutMs"),
    maxDeliveries: args.optionalSetting("maxDeliveries"),
    backoff: backoff && {
      initialMs: backoff.optionalSetting("initialMs"),
      maxMs: backoff.optionalSetting("maxMs"),
      multiplier: backoff.optionalSetting("multiplier"),
      jitter: backoff.optionalSetting("jitter")
    },
    deadLetterTopic: args.optionalString("deadLetterTopic"),
    from: args.optionalStartPosition("from")
  };
}
function encodeEnd(subscription, code, message) {
  return encodeFrame(FrameKind.END, subscription, stableJson({ code, message }));
}

// packages/broker/src/server/wire-error.ts
function wireError(error) {
  if (error instanceof BrookError) {
    const details = writableDetails(error.details);
    const bigintDetails = Object.keys(details).filter((key) => typeof details[key] === "bigint");
    const wire = { code: error.code, message: error.description, retriable: error.retriable, details };
    return bigintDetails.length === 0 ? wire : { ...wire, bigintDetails };
  }
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return { code: "IO_ERROR", message: `internal error: ${message}`, retriable: ErrorCodes.IO_ERROR.retriable, details: { internal: true, name } };
}
function writableDetails(details) {
  if (writable(details)) return details;
  return Object.fromEntries(Object.entries(details).filter(([key, value]) => writable({ [key]: value })));
}
function writable(details) {
  try {
    stableJson({ details });
    return true;
  } catch {
    return false;
  }
}

// packages/broker/src/server/session.ts
var Session = class {
  constructor(broker, peer, options) {
    this.broker = broker;
    this.peer = peer;
    this.options = options;
    this.subscriptions = new SessionSubscriptions(broker, peer, options.clock, options.limits, {
      canSend: () => this.state !== "closed",
      congested: () => this.congested(),
      startHeldRequests: () => this.pump(),
      tellsTakenBack: () => this.features.includes(Feature.TAKEN_BACK)
    });
    this.handshakeTimer = options.clock.setTimer(options.limits.handshakeTimeoutMs, () => {
      this.handshakeTimer = void 0;
      this.close(CloseCode.HANDSHAKE_TIMEOUT, "no HELLO within handshakeTimeoutMs");
    });
  }
  broker;
  peer;
  options;
  state = "awaiting-hello";
  handshakeTimer;
  requestsInFlight = 0;
  paused = false;
  /** Requests read while held, started in order as the hold lifts. */
  backlog = [];
  subscriptions;
  /** What HELLO asked for that this server knows: WELCOME names them, and the session uses them. */
  features = [];
  get isOpen() {
    return this.state === "open";
  }
  /** Takes one frame; its bytes become the session's (a produce batch is appended as it is). */
  receive(bytes) {
    if (this.state === "closed") return;
    if (bytes.length > this.options.limits.frameBytesMax) {
      this.close(CloseCode.MESSAGE_TOO_BIG, `frame of ${bytes.length} bytes exceeds frameBytesMax ${this.options.limits.frameBytesMax}`);
      return;
    }
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      this.violation(error);
      return;
    }
    if (this.state === "awaiting-hello") this.hello(frame);
    else if (frame.kind === FrameKind.REQUEST) this.request(frame);
    else this.violation(new BrookError("INVALID_REQUEST", `a client may only send REQUEST frames after HELLO, got kind ${frame.kind}`, { reason: "unexpected-kind", requestId: frame.requestId }));
  }
  disconnected() {
    if (this.state !== "closed") this.finish();
  }
  /** The peer's send buffer emptied: start what the hold kept back and send the held deliveries. */
  drained() {
    if (this.state !== "open") return;
    this.pump();
    this.subscriptions.drained();
  }
  /** The broker is closing: END every subscription, then close 1001. */
  shutdown() {
    if (this.state === "closed") return;
    this.subscriptions.endAll("CLOSED", "the broker is closing");
    this.close(CloseCode.GOING_AWAY, "broker closing");
  }
  close(code, reason) {
    if (this.state === "closed") return;
    this.finish();
    this.peer.close(code, reason);
  }
  finish() {
    this.state = "closed";
    this.backlog = [];
    this.handshakeTimer?.cancel();
    this.handshakeTimer = void 0;
    this.subscriptions.abortAll();
    this.options.onEnd(this);
  }
  hello(frame) {
    if (frame.kind !== FrameKind.HELLO) {
      this.violation(new BrookError("INVALID_REQUEST", `the first frame must be HELLO, got kind ${frame.kind}`, { reason: "expected-hello" }));
      return;
    }
    const { version, client, token, features } = frame.json;
    if (version !== PROTOCOL_VERSION) {
      this.refuse(new BrookError("INVALID_REQUEST", `protocol version ${JSON.stringify(version)} is not supported`, { field: "version", supported: [PROTOCOL_VERSION] }), CloseCode.UNSUPPORTED_VERSION);
      return;
    }
    if (typeof client !== "string") {
      this.violation(new BrookError("INVALID_REQUEST", "HELLO client must be a string", { field: "client", reason: "bad-hello" }));
      return;
    }
    try {
      this.features = knownFeatures(features);
    } catch (error) {
      this.violation(error);
      return;
    }
    if (this.options.token !== void 0 && !tokenMatches(token, this.options.token)) {
      this.refuse(new BrookError("UNAUTHORIZED", token === void 0 ? "a token is required" : "wrong token"), CloseCode.UNAUTHORIZED);
      return;
    }
    this.handshakeTimer?.cancel();
    this.handshakeTimer = void 0;
    this.state = "open";
    const { frameBytesMax, subscriptionsMax, requestsInFlightMax } = this.options.limits;
    this.send(encodeFrame(FrameKind.WELCOME, 0, stableJson({
      version: PROTOCOL_VERSION,
      server: "brook",
      sessionId: this.options.sessionId,
      incarnation: this.broker.incarnation,
      limits: { frameBytesMax, ...this.options.batchLimits, subscriptionsMax, requestsInFlightMax },
      features: this.features
    })));
  }
  request(frame) {
    if (isUnsubscribe(frame) && this.backlog.length === 0) {
      void this.answer(frame, false);
      return;
    }
    this.backlog.push(frame);
    this.pump();
  }
  /**
   * Starts backlog requests in order while not held, then pauses or resumes reading to match. An
   * unsubscribe is not counted against requestsInFlightMax, nor held by it: a graceful one waits
   * for the client's own settles, and were it held behind the in-flight limit, a client with
   * enough of them pending would stop the server reading those very settles (a deadlock). Its
   * number is bounded by subscriptionsMax instead, and its answer is tiny.
   */
  pump() {
    while (this.backlog.length > 0 && !this.congested()) {
      const counted = !isUnsubscribe(this.backlog[0]);
      if (counted && this.requestsInFlight >= this.options.limits.requestsInFlightMax) break;
      if (counted) this.requestsInFlight += 1;
      void this.answer(this.backlog.shift(), counted);
    }
    const pause = this.held();
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.peer.pause();
    else this.peer.resume();
  }
  /**
   * True while the broker works on a request of this client. Its silence is then the broker's
   * doing, not the client's: held for requestsInFlightMax (a slow disk), the session reads
   * nothing, pongs included.
   */
  get answering() {
    return this.requestsInFlight > 0;
  }
  held() {
    return this.requestsInFlight >= this.options.limits.requestsInFlightMax || this.congested();
  }
  congested() {
    return this.peer.bufferedAmount > this.options.limits.sendBufferBytesMax;
  }
  /** Never rejects: every outcome becomes a RESPONSE or an ERROR. */
  async answer(frame, counted) {
    const op = frame.json["op"];
    let reply;
    let answer;
    try {
      reply = await this.dispatch(op, new Args(frame.json), frame.data);
      answer = encodeFrame(FrameKind.RESPONSE, frame.requestId, stableJson(reply.json), reply.data);
    } catch (error) {
      if (!isBrookError(error)) this.options.onInternalError(error, `op ${String(op)}`);
      answer = encodeError(frame.requestId, error);
    }
    if (counted) this.requestsInFlight -= 1;
    this.send(answer);
    reply?.afterSend?.();
    if (this.state === "open") this.pump();
  }
  dispatch(op, args, data) {
    if (op === "subscribe") return this.subscriptions.subscribe(args);
    if (op === "unsubscribe") return this.subscriptions.unsubscribe(args);
    if (op === "settle") return this.subscriptions.settle(args);
    const handler = typeof op === "string" ? BROKER_REQUESTS.get(op) : void 0;
    if (!handler) throw new BrookError("INVALID_REQUEST", `unknown op ${JSON.stringify(op)}`, { field: "op" });
    return handler(this.broker, args, data);
  }
  /** A frame the session cannot follow: ERROR (on the frame's requestId if it was readable), then close 1002. */
  violation(error) {
    this.refuse(error, CloseCode.PROTOCOL_ERROR);
  }
  refuse(error, closeCode) {
    const requestId = isBrookError(error) && typeof error.details["requestId"] === "number" ? error.details["requestId"] : 0;
    this.send(encodeError(requestId, error));
    this.close(closeCode, isBrookError(error) ? error.code : "protocol error");
  }
  send(frame) {
    if (this.state !== "closed") this.peer.send(frame);
  }
};
function encodeError(requestId, error) {
  return encodeFrame(FrameKind.ERROR, requestId, stableJson(wireError(error)));
}
function tokenMatches(given, expected) {
  if (typeof given !== "string") return false;
  const digest = (text2) => createHash("sha256").update(text2, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}
function isUnsubscribe(frame) {
  return frame.json["op"] === "unsubscribe";
}

// packages/broker/src/server/ws-server.ts
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

// packages/broker/src/server/metrics.ts
var Metrics = class {
  constructor(broker, connections, unsentBytes) {
    this.broker = broker;
    this.connections = connections;
    this.unsentBytes = unsentBytes;
    broker.on("redelivered", this.onRedelivered);
    broker.on("deadLettered", this.onDeadLettered);
    broker.on("groupDeleted", this.onGroupDeleted);
    broker.on("retentionDropped", this.onRetentionDropped);
  }
  broker;
  connections;
  unsentBytes;
  /** By `topic\0group`. */
  redeliveries = /* @__PURE__ */ new Map();
  deadLetters = /* @__PURE__ */ new Map();
  onRedelivered = (event) => bump(this.redeliveries, event.topic, event.group);
  onDeadLettered = (event) => bump(this.deadLetters, event.topic, event.group);
  /** By `topic\0group`: records retention deleted before the group acked them. */
  groupLosses = /* @__PURE__ */ new Map();
  /** By `topic\0partition`: records retention deleted before a tail reader read them. */
  tailReaderLosses = /* @__PURE__ */ new Map();
  onRetentionDropped = ({ topic, partition, group, reader, lostRecords }) => {
    if (group !== void 0) bump(this.groupLosses, topic, group, Number(lostRecords));
    else if (reader !== void 0) bump(this.tailReaderLosses, topic, String(partition), Number(lostRecords));
  };
  onGroupDeleted = ({ topic, group }) => {
    for (const counts of [this.redeliveries, this.deadLetters, this.groupLosses]) counts.delete(keyOf(topic, group));
  };
  dispose() {
    this.broker.off("redelivered", this.onRedelivered);
    this.broker.off("deadLettered", this.onDeadLettered);
    this.broker.off("groupDeleted", this.onGroupDeleted);
    this.broker.off("retentionDropped", this.onRetentionDropped);
  }
  /**
   * GET /healthz: 200 'ok', or 503 with a line per log that refuses writes until the broker is
   * reopened, a topic partition's or a group journal's (both stop the broker doing its job: a
   * failed journal fails every ack of its group), naming it and why.
   */
  health() {
    const failed = this.broker.failedLogs();
    return failed.length === 0 ? { status: 200, text: "ok" } : { status: 503, text: `${failed.map(describeFailedLog).join("\n")}
` };
  }
  render() {
    const lines = [];
    const family = (name, type, help, samples) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${formatLabels(labels)} ${value}`);
    };
    const partitions = this.broker.listTopics().flatMap((topic) => this.broker.describeTopic(topic).partitions.map((p) => ({ labels: { topic, partition: p.partition }, p })));
    family("brook_partition_end_offset", "gauge", "Offset the next record of the partition will get.", partitions.map(({ labels, p }) => [labels, p.endOffset]));
    family(
      "brook_partition_log_failed",
      "gauge",
      "Whether the partition log failed and refuses writes until the broker is reopened (1) or not (0).",
      partitions.map(({ labels, p }) => [labels, p.failure ? 1 : 0])
    );
    const groups = this.broker.listGroups().map(({ topic, group }) => ({ labels: { topic, group }, description: this.broker.describeGroup(topic, group) }));
    const live = new Set(groups.map(({ labels }) => keyOf(labels.topic, labels.group)));
    family("brook_group_lag", "gauge", "Records of the topic the group has not acked yet.", groups.map(({ labels, description }) => [labels, description.lag]));
    const failedJournals = new Set(this.broker.failedLogs().flatMap((failed) => "group" in failed ? [keyOf(failed.topic, failed.group)] : []));
    family(
      "brook_group_journal_failed",
      "gauge",
      "Whether the group's journal failed and refuses writes until the broker is reopened (1) or not (0).",
      groups.map(({ labels }) => [labels, failedJournals.has(keyOf(labels.topic, labels.group)) ? 1 : 0])
    );
    family("brook_group_in_flight", "gauge", "Records delivered to the group and not yet settled.", groups.map(({ labels, description }) => [
      labels,
      description.partitions.reduce((sum, partition) => sum + partition.inFlight.length, 0)
    ]));
    family("brook_redeliveries_total", "counter", "Records scheduled for redelivery (nack, lease expiry, member left, rebalance, go-back, given back unsent) since the server started.", samplesOf(this.redeliveries, live));
    family("brook_dead_letters_total", "counter", "Records dead-lettered since the server started.", samplesOf(this.deadLetters, live));
    family("brook_group_lost_records_total", "counter", "Records retention deleted before the group acked them (its lostToRetention), since the server started.", samplesOf(this.groupLosses, live));
    family(
      "brook_tail_reader_lost_records_total",
      "counter",
      "Records retention deleted before a tail reader (a subscription without a group) read them, summed over its readers, since the server started.",
      this.tailReaderLossSamples()
    );
    family("brook_connections", "gauge", "Open WebSocket connections.", [[{}, this.connections()]]);
    family("brook_unsent_bytes", "gauge", "Bytes queued on WebSocket connections that the network has not taken yet (slow or stuck clients).", [[{}, this.unsentBytes()]]);
    return `${lines.join("\n")}
`;
  }
  /** The tail readers' losses of the topics listed now; a deleted topic's are forgotten. */
  tailReaderLossSamples() {
    const topics = new Set(this.broker.listTopics());
    const samples = [];
    for (const [key, lost] of this.tailReaderLosses) {
      const [topic = "", partition = ""] = key.split("\0");
      if (topics.has(topic)) samples.push([{ topic, partition: Number(partition) }, lost]);
      else this.tailReaderLosses.delete(key);
    }
    return samples;
  }
};
function keyOf(topic, group) {
  return `${topic}\0${group}`;
}
function bump(counts, topic, second, by = 1) {
  const key = keyOf(topic, second);
  counts.set(key, (counts.get(key) ?? 0) + by);
}
function samplesOf(counts, live) {
  return [...counts].filter(([key]) => live.has(key)).map(([key, value]) => {
    const [topic = "", group = ""] = key.split("\0");
    return [{ topic, group }, value];
  });
}
function formatLabels(labels) {
  const pairs2 = Object.entries(labels).map(([name, value]) => `${name}="${String(value).replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`)}"`);
  return pairs2.length === 0 ? "" : `{${pairs2.join(",")}}`;
}

// packages/broker/src/server/ws-server.ts
var CLOSE_REASON_CHARS_MAX = 123;
var SILENT_PEER_CLOSE_CODES = /* @__PURE__ */ new Set([CloseCode.HANDSHAKE_TIMEOUT, CloseCode.IDLE_TIMEOUT]);
async function listenWebSocket(hub, broker, clock, options) {
  const resolved = resolveListenOptions(options);
  const listener = new WsListener(hub, clock, resolved);
  const port = await listener.start(broker);
  const urlHost = resolved.host.includes(":") ? `[${resolved.host}]` : resolved.host;
  return { url: `ws://${urlHost}:${port}/`, port, host: resolved.host, close: () => listener.close() };
}
var WsListener = class {
  constructor(hub, clock, options) {
    this.hub = hub;
    this.clock = clock;
    this.options = options;
    this.http = createServer((request, response) => serveHttp(request, response, this.metrics));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.limits.frameBytesMax, perMessageDeflate: false });
    this.http.on("upgrade", (request, socket, head) => {
      socket.on("error", () => socket.destroy());
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, socket, remoteOf(request)));
    });
  }
  hub;
  clock;
  options;
  connections = /* @__PURE__ */ new Set();
  http;
  wss;
  metrics;
  pingTimer;
  closing;
  /** Listens; resolves with the bound port, or fails with IO_ERROR naming the errno (a port in use...). */
  async start(broker) {
    await new Promise((resolve, reject) => {
      const refused = (error) => reject(listenError(error, this.options.host, this.options.port));
      this.http.once("error", refused);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off("error", refused);
        resolve();
      });
    });
    this.metrics = new Metrics(broker, () => this.connections.size, () => this.unsentBytes());
    this.pingTimer = this.clock.setTimer(this.options.limits.idleTimeoutMs, () => this.pingRound());
    return this.http.address().port;
  }
  close() {
    this.closing ??= this.shutdown();
    return this.closing;
  }
  /**
   * After a close frame the server sent: a client that stopped reading never answers it, and ws
   * would keep the socket (and its connectionsMax slot) for its closeTimeout (30 s).
   */
  cutAfterGrace(ws) {
    if (ws.readyState === ws.CLOSED) return;
    const cut = this.clock.setTimer(this.options.limits.closeGraceMs, () => ws.terminate());
    ws.once("close", () => cut.cancel());
  }
  /** `socket` is the one ws writes to: ws reports no 'drain' itself. */
  accept(ws, socket, remote) {
    const stream = socket;
    ws.on("error", () => this.cutAfterGrace(ws));
    if (this.closing) {
      ws.close(CloseCode.GOING_AWAY, "broker closing");
      ws.terminate();
      return;
    }
    if (this.connections.size >= this.options.limits.connectionsMax) {
      ws.close(CloseCode.TRY_AGAIN_LATER, "connectionsMax reached");
      this.cutAfterGrace(ws);
      return;
    }
    ws.binaryType = "nodebuffer";
    const session = this.hub.open(peerOf(ws, () => this.cutAfterGrace(ws)), remote, { limits: this.options.limits, token: this.options.token });
    let ended;
    const closed = new Promise((resolve) => ended = resolve);
    const connection = { socket: ws, stream, session, alive: true, takenAtPing: bytesTaken(stream), closed };
    this.connections.add(connection);
    ws.on("message", (data, isBinary) => {
      connection.alive = true;
      if (isBinary) session.receive(data);
      else session.close(CloseCode.UNSUPPORTED_DATA, "Brook speaks binary frames only");
    });
    ws.on("pong", () => connection.alive = true);
    socket.on("drain", () => session.drained());
    ws.on("close", () => {
      this.connections.delete(connection);
      session.disconnected();
      ended();
    });
  }
  /** One round for every connection: close those idle since the last ping (file comment), ping the rest. */
  pingRound() {
    for (const connection of this.connections) {
      if (!connection.alive && !connection.session.answering && bytesTaken(connection.stream) <= connection.takenAtPing) {
        connection.session.close(CloseCode.IDLE_TIMEOUT, "no pong within idleTimeoutMs");
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
      connection.takenAtPing = bytesTaken(connection.stream);
    }
    this.pingTimer = this.clock.setTimer(this.options.limits.idleTimeoutMs, () => this.pingRound());
  }
  unsentBytes() {
    let sum = 0;
    for (const { stream } of this.connections) sum += stream.bytesWritten - bytesTaken(stream);
    return sum;
  }
  async shutdown() {
    this.pingTimer?.cancel();
    this.metrics?.dispose();
    const closed = new Promise((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const connections = [...this.connections];
    for (const connection of connections) connection.session.shutdown();
    await closed;
    await Promise.all(connections.map((connection) => connection.closed));
    this.wss.close();
  }
};
function bytesTaken(stream) {
  const internals = stream;
  const unwritten = internals._handle?.writeQueueSize;
  if (internals._bytesDispatched === void 0 || unwritten === void 0) return stream.bytesWritten - stream.writableLength;
  return internals._bytesDispatched - unwritten;
}
function peerOf(ws, cutAfterGrace) {
  return {
    send: (frame) => {
      if (ws.readyState === ws.OPEN) ws.send(frame);
    },
    close: (code, reason) => {
      ws.close(code, reason.slice(0, CLOSE_REASON_CHARS_MAX));
      if (SILENT_PEER_CLOSE_CODES.has(code)) ws.terminate();
      else cutAfterGrace();
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    pause: () => ws.pause(),
    resume: () => ws.resume()
  };
}
function remoteOf(request) {
  const { remoteAddress, remotePort } = request.socket;
  return `${remoteAddress ?? "?"}:${remotePort ?? "?"}`;
}
var HTTP_PATHS = /* @__PURE__ */ new Set(["/healthz", "/metrics"]);
var HTTP_METHODS = "GET, HEAD";
function serveHttp(request, response, metrics) {
  const path = (request.url ?? "/").split("?")[0];
  if (!HTTP_PATHS.has(path)) {
    response.writeHead(404, { "content-type": "text/plain" }).end("not found");
  } else if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { "content-type": "text/plain", allow: HTTP_METHODS }).end("method not allowed");
  } else if (path === "/healthz") {
    servePage(response, "text/plain", () => metrics.health());
  } else {
    servePage(response, "text/plain; version=0.0.4", () => ({ status: 200, text: metrics.render() }));
  }
}
function servePage(response, contentType, page) {
  let answer;
  try {
    answer = page();
  } catch (error) {
    response.writeHead(503, { "content-type": "text/plain" }).end(String(error));
    return;
  }
  response.writeHead(answer.status, { "content-type": contentType }).end(answer.text);
}
var LISTEN_FAILURES = {
  EADDRINUSE: "the port is in use (another broker listening? pick another port, or 0 for a free one)",
  EACCES: "permission denied (ports below 1024 need privileges; pick another port)",
  EADDRNOTAVAIL: "no such address on this machine (host)"
};
function listenError(error, host, port) {
  const errno = error.code ?? "UNKNOWN";
  const why = LISTEN_FAILURES[errno] ?? error.message;
  return new BrookError("IO_ERROR", `cannot listen on ${host}:${port}: ${errno}, ${why}`, { op: "listen", errno, host, port }, { cause: error });
}

// packages/broker/src/server/session-hub.ts
var INTERNAL_ERROR_WARNING = "BROOK_INTERNAL_ERROR";
var SessionHub = class {
  constructor(broker, clock, batchLimits) {
    this.broker = broker;
    this.clock = clock;
    this.batchLimits = batchLimits;
  }
  broker;
  clock;
  batchLimits;
  sessions = /* @__PURE__ */ new Set();
  servers = /* @__PURE__ */ new Set();
  nextSessionId = 1;
  inProcess = { limits: resolveServerLimits(), token: void 0 };
  open(peer, remote, settings = this.inProcess) {
    const sessionId = `s${this.nextSessionId++}`;
    const session = new Session(this.broker, peer, {
      sessionId,
      remote,
      limits: settings.limits,
      token: settings.token,
      batchLimits: this.batchLimits,
      clock: this.clock,
      onInternalError: (error, where) => this.reportInternalError(error, where, sessionId, remote),
      onEnd: (ended) => this.sessions.delete(ended)
    });
    this.sessions.add(session);
    return session;
  }
  async listen(options) {
    const server = await listenWebSocket(this, this.broker, this.clock, options);
    this.servers.add(server);
    return {
      ...server,
      close: async () => {
        this.servers.delete(server);
        await server.close();
      }
    };
  }
  /** Listeners first (their clients get END and 1001), then in-process sessions. */
  async close() {
    const servers = [...this.servers];
    this.servers.clear();
    await Promise.all(servers.map((server) => server.close()));
    for (const session of this.sessions) session.shutdown();
  }
  /**
   * A bug must neither crash a server with other clients nor go unheard: it becomes a process
   * warning (code BROOK_INTERNAL_ERROR), Node's channel for trouble that is not fatal. (Not a
   * broker event: the event table is the delivery engine's, and its test models assume every
   * event names a topic.)
   */
  reportInternalError(error, where, session, remote) {
    const detail = error instanceof Error ? error.stack ?? error.message : String(error);
    process.emitWarning(`internal error in ${where} (session ${session}, ${remote}): ${detail}`, { code: INTERNAL_ERROR_WARNING });
  }
};

// packages/broker/src/topics/fetch.ts
async function fetchRecords(log, request, limits, failure) {
  const maxRecords = request.maxRecords === void 0 ? limits.fetchRecordsMax : checkRange2("maxRecords", request.maxRecords, limits.fetchRecordsMax);
  const maxBytes = request.maxBytes === void 0 ? limits.fetchBytesMax : checkRange2("maxBytes", request.maxBytes, limits.fetchBytesMax);
  let batches;
  try {
    batches = await log.read(request.offset, { maxBytes, maxRecords });
  } catch (error) {
    throw failure(error);
  }
  const records = [];
  for (const batch of batches) {
    for (const record of decodeBatch(batch.bytes, 0, { crcVerified: true }).records) {
      if (record.offset < request.offset) continue;
      if (records.length === maxRecords) return records;
      records.push(record);
    }
  }
  return records;
}
function checkRange2(name, value, max) {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new BrookError("INVALID_REQUEST", `${name} must be an integer in [1, ${max}], got ${String(value)}`, { option: name, value, max });
  }
  return value;
}

// packages/broker/src/broker.ts
var Broker = class _Broker extends BrokerEventEmitter {
  constructor(fs, clock, logDefaults, limits, dir, random) {
    super();
    this.clock = clock;
    this.limits = limits;
    this.dir = dir;
    this.dataDir = dir.path;
    this.fsync = logDefaults.fsync;
    this.openedClean = dir.cleanShutdown;
    this.producers = new Producers({
      fs,
      clock,
      random,
      dataDir: dir.path,
      appendsDurable: logDefaults.fsync === "always",
      producersPerPartitionMax: limits.producersPerPartitionMax,
      producerSnapshotIntervalMs: limits.producerSnapshotIntervalMs
    });
    this.groups = new GroupCoordinator({
      fs,
      dataDir: dir.path,
      clock,
      random,
      events: this,
      ...groupJournalLimits(logDefaults, limits),
      partitions: (topic) => this.topic(topic).partitions,
      topicExists: (topic) => this.topics.has(topic),
      produce: (topic, records) => this.appendCopies(topic, records),
      // Dead-letter topics: created with default settings on first use.
      ensureTopic: (topic) => this.topics.ensure(topic, () => this.createTopic(topic)),
      copyLimits: { batchRecordsMax: limits.batchRecordsMax, batchBytesMax: limits.batchBytesMax }
    });
    this.lifecycle = {
      fs,
      groups: this.groups,
      producers: this.producers,
      logDefaults,
      limits,
      partitionFailed: this.partitionFailed,
      topicDir: (name) => this.topicDir(name)
    };
    this.sessions = new SessionHub(this, clock, { batchRecordsMax: limits.batchRecordsMax, batchBytesMax: limits.batchBytesMax });
    this.retention = new RetentionRunner(this.topics, this.groups, this, clock, limits.retentionCheckIntervalMs);
  }
  clock;
  limits;
  dir;
  dataDir;
  fsync;
  /** True if the last run ended with close() (its marker was found): no tail scan was needed. */
  openedClean;
  topics = new TopicRegistry();
  retention;
  producing = {
    now: () => this.clock.now(),
    appendWithRoom: (topic, batches) => this.retention.appendWithRoom(topic, batches),
    appended: (topic, partition, baseOffset, lastOffset) => this.appended(topic, partition, baseOffset, lastOffset),
    failure: (topic, error) => this.topics.failure(topic, error)
  };
  /** A partition log failed: the logFailed event, at once (failed-logs.ts). */
  partitionFailed = partitionFailureEvents(this);
  closed = false;
  groups;
  producers;
  sessions;
  lifecycle;
  static async open(options = {}) {
    const { fs, clock, dataDir, lock } = resolveStorage(options);
    const limits = resolveBrokerLimits(options);
    const dir = await DataDir.open(fs, dataDir, lock);
    try {
      return await _Broker.openIn(dir, options, fs, clock, limits);
    } catch (error) {
      await dir.abandon();
      throw error;
    }
  }
  static async openIn(dir, options, fs, clock, limits) {
    const logDefaults = logDefaultsFor({ fs, clock, fsync: checkFsyncPolicy(options.fsync), dir, limits });
    const random = options.random ?? new SeededRandom(options.seed ?? 1);
    const broker = new _Broker(fs, clock, logDefaults, limits, dir, random);
    try {
      await broker.topics.open(fs, `${dir.path}/topics`, logDefaults, broker.partitionFailed);
      await broker.groups.open();
      const partitions = [...broker.topics.values()].flatMap((topic) => topic.partitions.map((_, partition) => broker.partitionTarget(topic, partition)));
      await broker.producers.open(partitions, dir.cleanShutdown);
    } catch (error) {
      await broker.closeContents();
      throw error;
    }
    broker.retention.arm();
    return broker;
  }
  async createTopic(name, options = {}) {
    this.assertOpen();
    await this.topics.create(name, topicCreation(this.lifecycle, name, options));
    this.retention.arm();
  }
  /**
   * Deletes a topic and everything about it: its subscriptions end (END UNKNOWN_TOPIC over the
   * wire), its groups and producer state are forgotten, and its directory and its groups' are
   * removed durably; its groups' dead-letter topics stay. Removing topic.json commits, before
   * anything else is touched: a delete failing before it changes nothing (IO_ERROR, retriable);
   * after it the topic is gone for good, and open removes whatever a failure or crash left
   * (topics/topic-lifecycle.ts).
   */
  async deleteTopic(name) {
    this.assertOpen();
    const { commit, removeRest } = topicRemoval(this.lifecycle, name);
    await this.topics.delete(name, commit, removeRest);
  }
  // Admin reads, like every other call, throw CLOSED once close() began.
  listTopics() {
    this.assertOpen();
    return this.topics.names();
  }
  describeTopic(name) {
    this.assertOpen();
    return this.topic(name, "name").describe();
  }
  /**
   * The logs that refuse writes until the broker is reopened (a failed fsync, seal or torn write):
   * topic partitions, as describeTopic's `failure` shows them, and group journals. /healthz
   * answers 503 while there is one.
   */
  failedLogs() {
    this.assertOpen();
    return failedLogs(this.topics.names().map((name) => this.topics.get(name)), this.groups);
  }
  /**
   * Appends records, one batch per partition they map to (explicit `partition`, else murmur2 of
   * the key like Kafka's default partitioner, else round-robin). Resolves, in input order, with
   * each record's partition and offset once every batch is persisted per the fsync policy.
   */
  async produce(topic, records) {
    this.assertOpen();
    return produceRecords(this.producing, this.topic(topic), records, this.limits);
  }
  /**
   * A dead-letter copy or a redrive's copy back, durable when it resolves (fsynced whatever the
   * policy: the ack that finishes the move must not outlive it). A copy is its record plus bounded
   * trailers: it is held to the batch limit plus those (copyBatchBytesMax), so a record taken at
   * the limit can always be given up on, again and again (redrive's copies back, a trailer cut
   * off, fit as the records did).
   */
  async appendCopies(topicName, records) {
    this.assertOpen();
    const limits = { ...this.limits, batchBytesMax: copyBatchBytesMax(this.limits.batchBytesMax, records) };
    return produceCopies(this.producing, this.topic(topicName), records, limits, this.fsync === "always");
  }
  /** Records at offsets >= `offset`, oldest first, at most maxRecords / about maxBytes. */
  async fetch(request) {
    this.assertOpen();
    checkFetchRequest(request);
    const topic = this.topic(request.topic);
    return fetchRecords(topic.partition(request.partition), request, this.limits, (error) => this.topics.failure(topic, error));
  }
  /**
   * The first offset in a partition whose record timestamp is >= `timestampMs` (endOffset if none).
   * The arguments are checked first, as fetch's are and as the client checks them (checkOffsetForTimestamp).
   */
  async offsetForTimestamp(topic, partition, timestampMs) {
    this.assertOpen();
    checkOffsetForTimestamp(topic, partition, timestampMs);
    return this.topic(topic).partition(partition).offsetForTimestamp(timestampMs);
  }
  /** Runs retention on every partition now (it also runs every retentionCheckIntervalMs). */
  enforceRetention() {
    return this.retention.enforce();
  }
  // ---- idempotent producers (producers/) ----
  /**
   * A new producer id at epoch 0; or, with `producerId`, that id at its current epoch (a producer
   * resuming after a crash resends its batches with their original epoch and sequences), or at the
   * next epoch with `bumpEpoch: true`, which fences every instance still on an older one.
   */
  initProducer(request) {
    this.assertOpen();
    return this.producers.initProducer(request);
  }
  /**
   * Names this data directory: producer ids are unique only within one incarnation (a fresh data
   * directory issues them again from 0). Announced in WELCOME and in every initProducer answer.
   */
  get incarnation() {
    return this.producers.incarnation;
  }
  /**
   * Appends one client-encoded batch, checked in full first (topics/batch-input.ts). A batch with
   * producerId >= 0 goes through the partition's idempotence table: a retry of a recent batch is
   * answered with the original's offsets and `duplicate: true`; a gap in its sequence is
   * OUT_OF_ORDER_SEQUENCE, an old epoch PRODUCER_FENCED. producerId -1 is simply appended.
   */
  async produceBatch(request) {
    this.assertOpen();
    checkPartitionField(request.partition);
    const topic = this.topic(request.topic);
    const target = this.partitionTarget(topic, request.partition);
    const header = checkBatchInput(request.batch, this.limits);
    let result;
    try {
      result = await this.producers.append(target, header, request.batch, request.incarnation, () => this.retention.makeRoom(topic, request.partition, request.batch.length));
    } catch (error) {
      throw this.topics.failure(topic, error);
    }
    if (!result.duplicate) this.appended(topic.name, request.partition, result.baseOffset, result.lastOffset);
    return result;
  }
  // ---- consumer groups (groups/) ----
  /** Joins `handler` to a group (or, without `group`, reads the tail). Resolve = ack, throw = nack. */
  subscribe(options, handler) {
    return this.attach(options, handlerSink(handler));
  }
  /**
   * subscribe with a raw sink: the engine calls `sink` synchronously with each delivery, and
   * whoever holds the sink settles it (the wire server buffers them into DELIVER frames), and
   * tells the engine what it could not send yet (SinkControl).
   */
  async attach(options, sink) {
    this.assertOpen();
    const joined = await this.groups.join(options, sink);
    const ackTimeoutMs = joined.kind === "member" ? joined.group.config.ackTimeoutMs : void 0;
    return Object.assign(this.groups.subscription(options, joined), sinkControl(joined), { ackTimeoutMs });
  }
  /** `for await (const msg of broker.consume(...)) await msg.ack()`. A misspelled option throws here, as in the client. */
  consume(options) {
    checkSubscribeOptionKeys(options);
    return this.groups.stream(options, this.closed);
  }
  listGroups(topic) {
    this.assertOpen();
    checkStringFields({ topic }, true);
    if (topic !== void 0) this.topic(topic);
    return this.groups.listGroups(topic);
  }
  describeGroup(topic, group) {
    this.checkGroupCall(topic, group);
    return this.groups.describeGroup(topic, group);
  }
  /** Replay (or skip): the group continues from `to` on every partition. Returns the new positions. */
  async resetGroup(topic, group, to) {
    this.checkGroupCall(topic, group);
    return this.groups.resetGroup(topic, group, to);
  }
  /** Removes a group and its progress; GROUP_NOT_EMPTY while it has members (GroupCoordinator.deleteGroup). */
  async deleteGroup(topic, group) {
    this.checkGroupCall(topic, group);
    await this.groups.deleteGroup(topic, group);
  }
  /** Moves dead-lettered records back to their origin topics; returns how many moved and how many could not. */
  async redrive(deadLetterTopic, options = {}) {
    this.assertOpen();
    const topic = this.topic(deadLetterTopic, "deadLetterTopic");
    return this.groups.redrive(deadLetterTopic, options).catch((error) => {
      throw this.topics.failure(topic, error);
    });
  }
  // ---- the wire protocol (server/) ----
  /** A session speaking the wire protocol's frames in process (`connect(broker)`); no token. */
  openSession(peer, info) {
    this.assertOpen();
    return this.sessions.open(peer, info.remote);
  }
  /** Serves the wire protocol, /healthz and /metrics on one port (docs/protocol.md). */
  listen(options = {}) {
    this.assertOpen();
    return this.sessions.listen(options);
  }
  /**
   * Clean shutdown: listeners and sessions first (clients get END and 1001), then every log
   * fsynced and indexed, then the marker that lets the next open skip recovery scans.
   */
  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.topics.closing();
    await this.sessions.close();
    this.retention.stop();
    const failures = await this.closeContents();
    await this.dir.close(failures.length === 0).catch((error) => void failures.push(error));
    if (failures.length > 0) throw failures[0];
  }
  /**
   * Closes the groups, the producer state and the topics, each step whatever became of the one
   * before (a journal whose last flush failed must not leave the topics' files open); returns
   * the failures in order.
   */
  async closeContents() {
    const failures = [];
    const step = (work) => work().catch((error) => void failures.push(error));
    await step(() => this.groups.close());
    await step(() => this.producers.close());
    await step(() => settleAll([...this.topics.values()].map((topic) => topic.close())));
    return failures;
  }
  appended(topic, partition, baseOffset, lastOffset) {
    if (this.wants("produced")) this.emit("produced", { topic, partition, baseOffset, lastOffset, records: Number(lastOffset - baseOffset) + 1 });
    this.groups.notifyAppended(topic);
  }
  /** An admin call on a group: the broker open, both names strings, the topic there. */
  checkGroupCall(topic, group) {
    this.assertOpen();
    checkStringFields({ topic, group });
    this.topic(topic);
  }
  /** The topic named by argument `field`: INVALID_REQUEST naming it if it is not a string, else UNKNOWN_TOPIC if there is none. */
  topic(name, field = "topic") {
    checkStringFields({ [field]: name });
    return this.topics.get(name);
  }
  /** A partition as producer state knows it: its log and its directory. */
  partitionTarget(topic, partition) {
    return { log: topic.partition(partition), dir: partitionDir(this.topicDir(topic.name), partition) };
  }
  topicDir(name) {
    return `${this.dataDir}/topics/${name}`;
  }
  assertOpen() {
    if (this.closed) throw brokerClosedError();
  }
};

// packages/broker/src/log/dump-format.ts
var utf84 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// bench/_e2e.ts
var N = Number(process.env.N ?? 3e5);
var ORD = process.env.ORD ?? "none";
var STORAGE = process.env.STORAGE ?? "memory";
var KEYS = Array.from({ length: 64 }, (_, i) => `k${i}`);
async function once() {
  const broker = await Broker.open({ storage: "memory", fsync: "never" });
  await broker.createTopic("bench", { partitions: 4 });
  let received = 0;
  let done;
  const fin = new Promise((r) => done = r);
  for (let m = 0; m < 2; m++) await broker.subscribe({ topic: "bench", group: "g", ordering: ORD, maxInFlight: 1e3, from: "earliest" }, () => {
    if (++received === N) done();
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const value = new Uint8Array(100);
  for (let sent = 0; sent < N; sent += 100) {
    const batch = [];
    for (let i = 0; i < 100; i++) batch.push({ key: KEYS[(sent + i) % 64], value });
    await broker.produce("bench", batch);
    if (sent % 5e3 === 0) await new Promise((r) => setImmediate(r));
  }
  await fin;
  const s = (performance.now() - t0) / 1e3;
  const c = process.cpuUsage(c0);
  await broker.close();
  return [Math.round(N / s), Math.round((c.user + c.system) * 1e3 / N)];
}
for (let r = 0; r < Number(process.env.R ?? 4); r++) console.log(await once());
export {
  once
};
