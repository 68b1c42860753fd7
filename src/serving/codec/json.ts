// JSON that keeps each number's text. TF Serving (RapidJSON) decides int64 vs float by how a number is written
// (`1` is an integer, `1.0` and `1e3` are floats) and keeps int64 exact; JSON.parse loses both. `parseJson`
// returns JsonNumber objects for numbers (everything else as JSON.parse gives it); `stringifyJson` writes them
// back verbatim. Linear time, strict RFC 8259, nesting capped; errors name the offset.

import { InvalidArgumentError } from '../../errors';

/** A JSON number as written. */
export class JsonNumber {
  /** The number's text, e.g. `"1.0"` or `"9007199254740993"`. */
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
  /** Written with a fraction or an exponent (RapidJSON's IsDouble). */
  get isFloat(): boolean {
    return /[.eE]/.test(this.source);
  }
  /** The value as a JS number (rounded as JSON.parse would). */
  valueOf(): number {
    return Number(this.source);
  }
  /** The exact integer; only for integers (`isFloat` false). */
  toBigInt(): bigint {
    return BigInt(this.source);
  }
}

/** Deepest nesting `parseJson` accepts. */
export const MAX_JSON_DEPTH = 512;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WS = /[ \t\n\r]*/y;

/** Parses JSON text, numbers as JsonNumber. @throws InvalidArgumentError naming the offset of the problem. */
export function parseJson(text: string): unknown {
  let pos = 0;
  const fail = (what: string): never => {
    throw new InvalidArgumentError(`JSON Parse error: ${what} at offset: ${pos}`);
  };
  const ws = (): void => {
    WS.lastIndex = pos;
    WS.exec(text);
    pos = WS.lastIndex;
  };
  const str = (): string => {
    STRING.lastIndex = pos;
    const m = STRING.exec(text);
    if (!m) fail('Invalid string');
    pos = STRING.lastIndex;
    return JSON.parse(m![0]) as string;
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_JSON_DEPTH) fail('Nesting too deep');
    ws();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[pos] === '}') { pos++; return obj; }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('Missing a name for object member');
        const k = str();
        ws();
        if (text[pos] !== ':') fail('Missing a colon after a name of object member');
        pos++;
        Object.defineProperty(obj, k, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[pos] === ',') { pos++; continue; }
        if (text[pos] === '}') { pos++; return obj; }
        fail('Missing a comma or \'}\' after an object member');
      }
    }
    if (c === '[') {
      pos++;
      const arr: unknown[] = [];
      ws();
      if (text[pos] === ']') { pos++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[pos] === ',') { pos++; continue; }
        if (text[pos] === ']') { pos++; return arr; }
        fail('Missing a comma or \']\' after an array element');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', pos)) { pos += 4; return true; }
    if (text.startsWith('false', pos)) { pos += 5; return false; }
    if (text.startsWith('null', pos)) { pos += 4; return null; }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail(pos >= text.length ? 'The document is empty' : 'Invalid value');
    pos = NUMBER.lastIndex;
    return new JsonNumber(m[0]);
  };
  const v = value(0);
  ws();
  if (pos !== text.length) fail('The document root must not be followed by other values');
  return v;
}

/** JSON text of a value; JsonNumber and bigint are written as their digits, the rest as JSON.stringify does. */
export function stringifyJson(value: unknown): string {
  if (value instanceof JsonNumber) return value.source;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined || typeof v === 'function' ? 'null' : stringifyJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || typeof v === 'function') continue;
      parts.push(`${JSON.stringify(k)}:${stringifyJson(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
