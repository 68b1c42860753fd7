/**
 * The JSON reader of the REST API. Like TF Serving's (rapidjson with NaN/Infinity), it accepts `NaN`,
 * `Infinity` and `-Infinity`, and it keeps what JSON.parse loses: integers beyond 2^53 stay exact (bigint), and
 * a number written with a fraction or exponent but an integral value (`1.0`, `2e3`) is a `JsonDecimal`, so an
 * int64 input can refuse it and a tf.Example feature can be a float, as TF Serving decides. Nesting is bounded.
 */
import { InvalidArgumentError } from '../../errors';

/** A decimal literal with an integral value (`1.0`, `2e3`): a float for TF Serving, not an integer. */
export class JsonDecimal {
  constructor(readonly value: number) {}
}

/** What the reader returns. */
export type JsonValue = null | boolean | number | bigint | string | JsonDecimal | JsonValue[] | { [key: string]: JsonValue };

/** Deepest nesting accepted (TensorFlow's maximum rank is 254). */
export const MAX_JSON_DEPTH = 512;

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;

/** A digit followed by a point or an exponent: the document may hold decimal literals (or strings that look so). */
const MAY_HAVE_DECIMALS = /\d[.eE]/;

/**
 * Whether JSON.parse read `v` as the exact reader would: every number is finite, every integral one a safe
 * integer and, when the document may hold decimal literals, there is no integral number at all (it could have
 * been `1.0`, a JsonDecimal here); nesting within the limit. Returns the number of object members seen (-1:
 * not exact), so the caller can tell that no member was shadowed by a duplicate key (whose value JSON.parse
 * drops unread, where the exact reader might refuse it).
 */
function readExactly(v: unknown, depth: number, decimals: boolean): number {
  if (depth > MAX_JSON_DEPTH) return -1;
  if (typeof v === 'number') return Number.isFinite(v) && (!Number.isInteger(v) || (!decimals && Number.isSafeInteger(v))) ? 0 : -1;
  if (v === null || typeof v !== 'object') return 0;
  let members = 0;
  if (Array.isArray(v)) {
    for (let k = 0; k < v.length; k++) {
      const m = readExactly(v[k], depth + 1, decimals);
      if (m < 0) return -1;
      members += m;
    }
    return members;
  }
  for (const k in v) {
    const m = readExactly((v as Record<string, unknown>)[k], depth + 1, decimals);
    if (m < 0) return -1;
    members += m + 1;
  }
  return members;
}

/** Colons in `text` (object members, plus any inside strings). */
function colons(text: string): number {
  let n = 0;
  for (let at = text.indexOf(':'); at >= 0; at = text.indexOf(':', at + 1)) n++;
  return n;
}

/**
 * Parses `text`; errors are InvalidArgumentErrors worded as TF Serving's (`JSON Parse error: … at offset: N`).
 * JSON.parse (several times faster) reads it first; its result is kept when it is what the exact reader below
 * gives ({@link readExactly}, and as many members as colons in the text), else (and for anything JSON.parse
 * refuses: NaN, Infinity, syntax errors) the exact reader reads the text again.
 */
export function parseJson(text: string): JsonValue {
  let fast: unknown;
  try {
    fast = JSON.parse(text);
  } catch {
    return parseExact(text);
  }
  const members = readExactly(fast, 0, MAY_HAVE_DECIMALS.test(text));
  return members >= 0 && members === colons(text) ? (fast as JsonValue) : parseExact(text);
}

function parseExact(text: string): JsonValue {
  if (text.length === 0) throw new InvalidArgumentError('JSON Parse error: The document is empty');
  let i = 0;
  const fail = (what: string, at = i): never => {
    throw new InvalidArgumentError(`JSON Parse error: ${what} at offset: ${at}`);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else return;
    }
  };
  const string = (): string => {
    const start = ++i;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) fail('Missing a closing quotation mark in string.', start - 1);
      if (c === 34) break;
      if (c < 32) fail('Invalid encoding in string.');
      if (c === 92) {
        escaped = true;
        i += 2;
        continue;
      }
      i++;
    }
    const raw = text.slice(start, i);
    i++;
    if (!escaped) return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return fail('Invalid escape character in string.', start);
    }
  };
  const value = (depth: number): JsonValue => {
    if (depth > MAX_JSON_DEPTH) fail(`Nesting deeper than ${MAX_JSON_DEPTH} levels.`);
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: { [key: string]: JsonValue } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('Missing a name for object member.');
        const key = string();
        ws();
        if (text[i] !== ':') fail('Missing a colon after a name of object member.');
        i++;
        const v = value(depth + 1);
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("Missing a comma or '}' after an object member.");
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("Missing a comma or ']' after an array element.");
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    if (text.startsWith('NaN', i)) {
      i += 3;
      return NaN;
    }
    if (text.startsWith('Infinity', i)) {
      i += 8;
      return Infinity;
    }
    if (text.startsWith('-Infinity', i)) {
      i += 9;
      return -Infinity;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail(i >= text.length ? 'The document root must not be followed by other values.' : 'Invalid value.');
    i += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    const n = Number(m[0]);
    if (!Number.isFinite(n)) fail('Number too big to be stored in double.', i - m[0].length);
    return Number.isInteger(n) ? new JsonDecimal(n) : n;
  };
  const root = value(0);
  ws();
  if (i < text.length) fail('The document root must not be followed by other values.');
  return root;
}

/** The type name TF Serving prints for a JSON value (`Number`, `String`, `Array`, …). */
export function jsonTypeName(v: JsonValue): string {
  if (v === null) return 'Null';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return 'String';
  if (Array.isArray(v)) return 'Array';
  if (typeof v === 'object' && !(v instanceof JsonDecimal)) return 'Object';
  return 'Number';
}

/** A short JSON rendering of a value for error messages (at most 256 characters, as TF Serving truncates). */
export function jsonDebugString(v: JsonValue): string {
  const s = stringify(v);
  return s.length > 256 ? s.slice(0, 256) : s;
}

function stringify(v: JsonValue): string {
  if (v instanceof JsonDecimal) return Number.isInteger(v.value) ? `${v.value}.0` : String(v.value);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (Array.isArray(v)) {
    let out = '[';
    for (let k = 0; k < v.length && out.length < 300; k++) out += (k ? ', ' : '') + stringify(v[k]);
    return out + ']';
  }
  if (v !== null && typeof v === 'object') {
    let out = '{';
    for (const [k, x] of Object.entries(v)) {
      if (out.length >= 300) break;
      out += (out.length > 1 ? ', ' : '') + JSON.stringify(k) + ': ' + stringify(x);
    }
    return out + '}';
  }
  return JSON.stringify(v);
}
