/**
 * A reader for the protobuf text format (what `tensorflow_model_server` reads from `--model_config_file` and
 * `--batching_parameters_file`): `name: value`, `name { ... }` / `name: < ... >`, lists `[a, b]`, comments `#`,
 * strings in single or double quotes with C escapes. It gives a schema-less tree; callers map it onto their
 * messages. Errors are `TextFormatError`s carrying the line and column (1-based).
 */
import { TfhubError } from '../errors';

/** A scalar as written: an identifier (enum, true/false), a number, or a string. */
export type TextScalar = { kind: 'ident'; text: string } | { kind: 'number'; text: string } | { kind: 'string'; value: string };

/** One `name: value` or `name { ... }` entry. */
export interface TextField {
  name: string;
  line: number;
  col: number;
  value: TextScalar | TextMessage;
  /** Where the value starts (for scalars; the field name's position for messages). */
  valueLine: number;
  valueCol: number;
}

/** A message: its fields in file order (repeated fields appear once per value). */
export interface TextMessage {
  kind: 'message';
  fields: TextField[];
}

/** A parse error at `file:line:col`. */
export class TextFormatError extends TfhubError {
  /** The message type being parsed (`tensorflow.serving.ModelServerConfig`), when the caller named one. */
  messageType?: string;

  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    reason: string,
  ) {
    super('ERR_TEXT_FORMAT', `${file}:${line}:${col}: ${reason}`);
  }
}

interface Token {
  type: 'ident' | 'number' | 'string' | 'punct' | 'eof';
  text: string;
  value?: string;
  line: number;
  col: number;
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '?': '?',
};

function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const err = (reason: string, at = i) => new TextFormatError(file, line, at - lineStart + 1, reason);
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const col = i - lineStart + 1;
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_.]/.test(text[j])) j++;
      tokens.push({ type: 'ident', text: text.slice(i, j), line, col });
      i = j;
    } else if (/[0-9.+-]/.test(c)) {
      const m = /^[-+]?(0[xX][0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?[fF]?|inf(inity)?|nan)/i.exec(text.slice(i));
      if (!m || m[0] === '-' || m[0] === '+') throw err(`Expected a number, got "${c}"`);
      tokens.push({ type: 'number', text: m[0], line, col });
      i += m[0].length;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length || text[j] === '\n') throw err('String literal is not terminated', i);
        const d = text[j];
        if (d === c) break;
        if (d === '\\') {
          const e = text[j + 1];
          if (e !== undefined && e in ESCAPES) {
            value += ESCAPES[e];
            j += 2;
            continue;
          }
          const oct = /^[0-7]{1,3}/.exec(text.slice(j + 1));
          if (oct) {
            value += String.fromCharCode(parseInt(oct[0], 8));
            j += 1 + oct[0].length;
            continue;
          }
          const hex = /^x([0-9a-fA-F]{1,2})/.exec(text.slice(j + 1));
          if (hex) {
            value += String.fromCharCode(parseInt(hex[1], 16));
            j += 1 + hex[0].length;
            continue;
          }
          throw err(`Invalid escape sequence in string literal: \\${e ?? ''}`, j);
        }
        value += d;
        j++;
      }
      // Adjacent string literals concatenate, as in C.
      const prev = tokens[tokens.length - 1];
      if (prev && prev.type === 'string' && prev.text === 'adjacent') prev.value += value;
      else tokens.push({ type: 'string', text: 'adjacent', value, line, col });
      i = j + 1;
      continue;
    } else if ('{}<>:[],;'.includes(c)) {
      tokens.push({ type: 'punct', text: c, line, col });
      i++;
    } else {
      throw err(`Unexpected character "${c}"`);
    }
    const last = tokens[tokens.length - 1];
    if (last.type === 'string') last.text = 'string';
  }
  for (const t of tokens) if (t.type === 'string') t.text = 'string';
  tokens.push({ type: 'eof', text: '', line, col: i - lineStart + 1 });
  return tokens;
}

/** Parses text-format `text` (named `file` in errors) into a schema-less tree. */
export function parseTextFormat(text: string, file = '<text>'): TextMessage {
  const tokens = tokenize(text, file);
  let p = 0;
  const err = (t: Token, reason: string) => new TextFormatError(file, t.line, t.col, reason);
  const describe = (t: Token) => (t.type === 'eof' ? 'end of input' : `"${t.type === 'string' ? t.value : t.text}"`);

  const parseMessage = (close: string | null, depth: number): TextMessage => {
    if (depth > 100) throw err(tokens[p], 'Message is nested too deeply');
    const fields: TextField[] = [];
    for (;;) {
      const t = tokens[p];
      if (close === null && t.type === 'eof') break;
      if (close !== null && t.type === 'punct' && t.text === close) {
        p++;
        break;
      }
      if (t.type !== 'ident') throw err(t, `Expected identifier, got: ${describe(t)}`);
      p++;
      let sawColon = false;
      if (tokens[p].type === 'punct' && tokens[p].text === ':') {
        p++;
        sawColon = true;
      }
      type Positioned = { v: TextScalar | TextMessage; line: number; col: number };
      const values = (): Positioned[] => {
        const v = tokens[p];
        if (v.type === 'punct' && (v.text === '{' || v.text === '<')) {
          p++;
          return [{ v: parseMessage(v.text === '{' ? '}' : '>', depth + 1), line: t.line, col: t.col }];
        }
        if (v.type === 'punct' && v.text === '[' && sawColon) {
          p++;
          const out: Positioned[] = [];
          if (tokens[p].type === 'punct' && tokens[p].text === ']') {
            p++;
            return out;
          }
          for (;;) {
            out.push(...values());
            const s = tokens[p];
            if (s.type === 'punct' && s.text === ',') {
              p++;
              continue;
            }
            if (s.type === 'punct' && s.text === ']') {
              p++;
              return out;
            }
            throw err(s, `Expected "," or "]", got: ${describe(s)}`);
          }
        }
        if (!sawColon) throw err(v, `Expected ":", found ${describe(v)}.`);
        p++;
        const at = { line: v.line, col: v.col };
        if (v.type === 'string') return [{ v: { kind: 'string', value: v.value! }, ...at }];
        if (v.type === 'number') return [{ v: { kind: 'number', text: v.text }, ...at }];
        if (v.type === 'ident') return [{ v: { kind: 'ident', text: v.text }, ...at }];
        throw err(v, `Expected a value, got: ${describe(v)}`);
      };
      for (const { v, line, col } of values())
        fields.push({ name: t.text, line: t.line, col: t.col, value: v, valueLine: line, valueCol: col });
      const sep = tokens[p];
      if (sep.type === 'punct' && (sep.text === ',' || sep.text === ';')) p++;
    }
    return { kind: 'message', fields };
  };
  return parseMessage(null, 0);
}
