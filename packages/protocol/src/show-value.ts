/**
 * How an error message shows the value it refuses. Used by every check that names a bad value
 * (an option, a request field, a settle argument), so all of them show it alike and none of them
 * can fail while building its own error.
 *
 * Turning an arbitrary value into text can throw: `String(value)` and a template string throw a
 * TypeError for an object whose `toString` and `valueOf` are not functions (`{"toString": 0}`,
 * which any JSON frame may carry) or that has no prototype; `JSON.stringify` throws on a cycle or
 * a bigint. Such a TypeError would replace the BrookError being built: a caller's mistake would
 * read as a broker bug, and over the wire as an internal error. `showValue` never throws.
 */

/** Longer texts are cut to this many characters, the last three of them `...`. */
export const SHOWN_VALUE_CHARS_MAX = 80;

/** `value` as text for an error message (module comment); never throws. */
export function showValue(value: unknown): string {
  const text = asText(value);
  return text.length > SHOWN_VALUE_CHARS_MAX ? `${text.slice(0, SHOWN_VALUE_CHARS_MAX - 3)}...` : text;
}

function asText(value: unknown): string {
  switch (typeof value) {
    case 'number': return String(value); // NaN and Infinity, which JSON would show as null
    case 'bigint': return `${value}n`;
    case 'function': return 'a function';
    case 'symbol': return value.description === undefined ? 'a symbol' : `Symbol(${value.description})`;
    case 'undefined': return 'undefined';
    default: return asJson(value);
  }
}

function asJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `${item}n` : item)) ?? kindOf(value);
  } catch {
    // A cycle, or a toJSON that throws: the object's kind is all that can be said safely.
    return kindOf(value);
  }
}

/** `[object Object]`, `[object Array]`, ...; even that reads a property, which a Proxy may refuse. */
function kindOf(value: unknown): string {
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return typeof value;
  }
}

/**
 * A server URL as errors show it (the CLI prints them, services log them): no user, password or
 * query string, the places a credential would go. Brook reads its token from HELLO only, but one
 * put in the URL by mistake must not end up in a log. A URL that does not parse is shown as
 * `showValue` shows any value.
 */
export function showUrl(url: string): string {
  if (!URL.canParse(url)) return showValue(url);
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
