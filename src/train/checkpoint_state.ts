/**
 * The `checkpoint` state file of a checkpoint directory (a text-format `CheckpointState`, as Python's
 * `tf.train.update_checkpoint_state` writes it) and `latestCheckpoint(dir)`.
 */
import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import { TfhubError, typeError } from '../errors';

/** What the state file records: the latest checkpoint and the ones kept, with their save times (seconds). */
export interface CheckpointState {
  /** The most recent checkpoint prefix. */
  modelCheckpointPath: string;
  /** Every kept checkpoint prefix, oldest first (the latest last). */
  allModelCheckpointPaths: string[];
  /** Unix times (seconds) of the kept checkpoints, in the same order. */
  allModelCheckpointTimestamps: number[];
  /** Unix time (seconds) of the last checkpoint kept for ever (keep_checkpoint_every_n_hours); 0 if none. */
  lastPreservedTimestamp: number;
}

// Text format escapes strings C-style (text_format.CEscape): quotes, backslashes and unprintable bytes.
function quote(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x27) out += "\\'";
    else if (b < 0x20 || b >= 0x7f) out += '\\' + b.toString(8).padStart(3, '0');
    else out += String.fromCharCode(b);
  }
  return out + '"';
}

function unquote(s: string, file: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(s) ?? /^'((?:[^'\\]|\\.)*)'$/.exec(s);
  if (!m) throw new TfhubError('ERR_INVALID_CHECKPOINT_STATE', `${file}: ${s} is not a quoted string`);
  const bytes: number[] = [];
  const body = Buffer.from(m[1], 'utf8');
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== 0x5c) {
      bytes.push(body[i]);
      continue;
    }
    const c = String.fromCharCode(body[++i]);
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '"': 0x22, "'": 0x27, '\\': 0x5c, a: 7, b: 8, f: 12, v: 11 };
    if (c in simple) bytes.push(simple[c]);
    else if (/[0-7]/.test(c)) {
      let oct = c;
      while (oct.length < 3 && /[0-7]/.test(String.fromCharCode(body[i + 1]))) oct += String.fromCharCode(body[++i]);
      bytes.push(parseInt(oct, 8));
    } else if (c === 'x') {
      let hex = '';
      while (hex.length < 2 && /[0-9a-fA-F]/.test(String.fromCharCode(body[i + 1]))) hex += String.fromCharCode(body[++i]);
      bytes.push(parseInt(hex, 16));
    } else throw new TfhubError('ERR_INVALID_CHECKPOINT_STATE', `${file}: bad escape \\${c}`);
  }
  return Buffer.from(bytes).toString('utf8');
}

// Python prints floats with repr(): the shortest string that reads back the same double (as JS does).
function formatFloat(x: number): string {
  const s = String(x);
  return /[.eE]/.test(s) || !Number.isFinite(x) ? s : `${s}.0`;
}

/** The state file's text, field for field as Python's text_format writes a CheckpointState. */
export function formatCheckpointState(s: CheckpointState): string {
  const lines = [`model_checkpoint_path: ${quote(s.modelCheckpointPath)}`];
  for (const p of s.allModelCheckpointPaths) lines.push(`all_model_checkpoint_paths: ${quote(p)}`);
  for (const t of s.allModelCheckpointTimestamps) lines.push(`all_model_checkpoint_timestamps: ${formatFloat(t)}`);
  if (s.lastPreservedTimestamp) lines.push(`last_preserved_timestamp: ${formatFloat(s.lastPreservedTimestamp)}`);
  return lines.join('\n') + '\n';
}

/** Parses a state file's text (ERR_INVALID_CHECKPOINT_STATE when it is not a CheckpointState). */
export function parseCheckpointState(text: string, file = 'checkpoint'): CheckpointState {
  const s: CheckpointState = {
    modelCheckpointPath: '',
    allModelCheckpointPaths: [],
    allModelCheckpointTimestamps: [],
    lastPreservedTimestamp: 0,
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-z_]+)\s*:\s*(.+)$/.exec(line);
    if (!m) throw new TfhubError('ERR_INVALID_CHECKPOINT_STATE', `${file}: cannot parse '${line}'`);
    const [, key, value] = m;
    const num = () => {
      const x = Number(value);
      if (!Number.isFinite(x)) throw new TfhubError('ERR_INVALID_CHECKPOINT_STATE', `${file}: ${key} is not a number: ${value}`);
      return x;
    };
    if (key === 'model_checkpoint_path') s.modelCheckpointPath = unquote(value, file);
    else if (key === 'all_model_checkpoint_paths') s.allModelCheckpointPaths.push(unquote(value, file));
    else if (key === 'all_model_checkpoint_timestamps') s.allModelCheckpointTimestamps.push(num());
    else if (key === 'last_preserved_timestamp') s.lastPreservedTimestamp = num();
    else throw new TfhubError('ERR_INVALID_CHECKPOINT_STATE', `${file}: unknown field ${key}`);
  }
  return s;
}

/**
 * Reads `<dir>/<latestFilename>` (Python's `get_checkpoint_state`); relative paths are made relative to `dir`.
 * Null when there is no state file.
 */
export async function getCheckpointState(dir: string, latestFilename = 'checkpoint'): Promise<CheckpointState | null> {
  if (typeof dir !== 'string' || dir === '') throw typeError('ERR_INVALID_ARG_TYPE', 'checkpoint directory must be a non-empty string');
  const file = path.join(dir, latestFilename);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const s = parseCheckpointState(text, file);
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.join(dir, p));
  if (!s.modelCheckpointPath) throw new TfhubError('ERR_INVALID_CHECKPOINT_STATE', `${file}: no model_checkpoint_path`);
  return { ...s, modelCheckpointPath: abs(s.modelCheckpointPath), allModelCheckpointPaths: s.allModelCheckpointPaths.map(abs) };
}

/** Writes the state file atomically (a temp file renamed into place, as Python does). */
export async function writeCheckpointState(dir: string, s: CheckpointState, latestFilename = 'checkpoint'): Promise<void> {
  const file = path.join(dir, latestFilename);
  const tmp = `${file}.tmp${process.pid}.${Date.now()}`;
  await fs.writeFile(tmp, formatCheckpointState(s));
  await fs.rename(tmp, file);
}

/**
 * The latest checkpoint prefix of `dir` (Python's `tf.train.latest_checkpoint`): from the state file, if its
 * `.index` exists; else null.
 */
export async function latestCheckpoint(dir: string, latestFilename = 'checkpoint'): Promise<string | null> {
  const s = await getCheckpointState(dir, latestFilename);
  if (!s) return null;
  return existsSync(`${s.modelCheckpointPath}.index`) ? s.modelCheckpointPath : null;
}
