/**
 * TF Serving's `ModelServerConfig` (model_server_config.proto) as a plain object, and reading it from the
 * protobuf text format of `--model_config_file`. Unknown fields, wrong value kinds and duplicate names are errors
 * naming the file, line and column.
 */
import { promises as fs } from 'node:fs';
import { InvalidArgumentError } from '../errors';
import { TextField, TextFormatError, TextMessage, TextScalar, parseTextFormat } from './text_format';

/** `ServableVersionPolicy`: which versions under the base path to serve (default: the latest one). */
export interface VersionPolicyObject {
  /** The `numVersions` highest versions (default 1). */
  latest?: { numVersions?: number };
  /** Every version. */
  all?: Record<string, never>;
  /** Exactly these versions. */
  specific?: { versions: number[] };
}

/** The configuration of one model (TF Serving's `ModelConfig`, camelCase). */
export interface ModelConfigObject {
  /** Name requests use (`/v1/models/<name>`). */
  name: string;
  /** Directory holding the numeric version directories. */
  basePath: string;
  /** `tensorflow` (the only platform; anything else is refused). */
  modelPlatform?: string;
  /** Which versions to serve. */
  modelVersionPolicy?: VersionPolicyObject;
  /** Label → version (`/labels/<label>`, `version_label`). */
  versionLabels?: Record<string, number>;
}

/** TF Serving's `ModelServerConfig` as an object (`model_config_list`). */
export interface ModelServerConfigObject {
  /** The models to serve (`model_config_list { config { … } }`). */
  modelConfigList: { config: ModelConfigObject[] };
}

type Where = (f: TextField, reason: string) => Error;

function scalar(f: TextField, where: Where): TextScalar {
  if (f.value.kind === 'message') throw where(f, `Field "${f.name}" is a scalar, got a message`);
  return f.value;
}

function message(f: TextField, where: Where): TextMessage {
  if (f.value.kind !== 'message') throw where(f, `Field "${f.name}" is a message, expected "{"`);
  return f.value;
}

function str(f: TextField, where: Where): string {
  const v = scalar(f, where);
  if (v.kind !== 'string') throw where(f, `Expected string, got: ${v.text}`);
  return v.value;
}

function int(f: TextField, where: Where, min: number): number {
  const v = scalar(f, where);
  const n = v.kind === 'number' && /^[-+]?\d+$/.test(v.text) ? Number(v.text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw where(f, `Expected integer${min >= 0 ? ' >= ' + min : ''}, got: ${v.kind === 'string' ? JSON.stringify(v.value) : v.text}`);
  return n;
}

function fieldsOf(msg: TextMessage, type: string, known: string[], where: Where): void {
  for (const f of msg.fields) if (!known.includes(f.name)) throw where(f, `Message type "${type}" has no field named "${f.name}".`);
}

function single(msg: TextMessage, type: string, names: string[], where: Where): void {
  for (const n of names) {
    const all = msg.fields.filter((f) => f.name === n);
    if (all.length > 1) throw where(all[1], `Non-repeated field "${n}" is specified multiple times.`);
  }
  void type;
}

function policyFrom(msg: TextMessage, where: Where): VersionPolicyObject {
  const type = 'tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy';
  fieldsOf(msg, type, ['latest', 'all', 'specific'], where);
  if (msg.fields.length > 1) throw where(msg.fields[1], `Field "${msg.fields[1].name}" is specified along with field "${msg.fields[0].name}", another member of oneof "policy_choice".`);
  const f = msg.fields[0];
  if (!f) return {};
  const body = message(f, where);
  if (f.name === 'all') {
    fieldsOf(body, `${type}.All`, [], where);
    return { all: {} };
  }
  if (f.name === 'latest') {
    fieldsOf(body, `${type}.Latest`, ['num_versions'], where);
    single(body, 'Latest', ['num_versions'], where);
    const n = body.fields[0];
    return { latest: n ? { numVersions: int(n, where, 0) } : {} };
  }
  fieldsOf(body, `${type}.Specific`, ['versions'], where);
  return { specific: { versions: body.fields.map((v) => int(v, where, 0)) } };
}

function modelFrom(msg: TextMessage, where: Where): ModelConfigObject {
  const type = 'tensorflow.serving.ModelConfig';
  fieldsOf(msg, type, ['name', 'base_path', 'model_type', 'model_platform', 'model_version_policy', 'version_labels', 'logging_config'], where);
  single(msg, type, ['name', 'base_path', 'model_type', 'model_platform', 'model_version_policy', 'logging_config'], where);
  const out: ModelConfigObject = { name: '', basePath: '' };
  for (const f of msg.fields) {
    if (f.name === 'name') out.name = str(f, where);
    else if (f.name === 'base_path') out.basePath = str(f, where);
    else if (f.name === 'model_platform') out.modelPlatform = str(f, where);
    else if (f.name === 'model_version_policy') out.modelVersionPolicy = policyFrom(message(f, where), where);
    else if (f.name === 'version_labels') {
      const entry = message(f, where);
      fieldsOf(entry, `${type}.VersionLabelsEntry`, ['key', 'value'], where);
      const k = entry.fields.find((e) => e.name === 'key');
      const v = entry.fields.find((e) => e.name === 'value');
      (out.versionLabels ??= {})[k ? str(k, where) : ''] = v ? int(v, where, 0) : 0;
    } else if (f.name === 'model_type') {
      const v = scalar(f, where);
      if (v.kind !== 'ident' || !['MODEL_TYPE_UNSPECIFIED', 'TENSORFLOW', 'OTHER'].includes(v.text)) throw where(f, `Unknown enumeration value of "${v.kind === 'string' ? v.value : v.text}" for field "model_type".`);
      if (v.text === 'TENSORFLOW') out.modelPlatform ??= 'tensorflow';
    } else message(f, where); // logging_config: accepted, not used
  }
  return out;
}

/** Parses a `ModelServerConfig` in text format (file name used in errors). */
export function parseModelServerConfig(text: string, file = '<model_config>'): ModelServerConfigObject {
  const root = parseTextFormat(text, file);
  // Errors about a value point at the value; others at the field name.
  const where: Where = (f, reason) => (/^Expected (string|integer)|Unknown enumeration/.test(reason)
    ? new TextFormatError(file, f.valueLine, f.valueCol, reason)
    : new TextFormatError(file, f.line, f.col, reason));
  fieldsOf(root, 'tensorflow.serving.ModelServerConfig', ['model_config_list', 'custom_model_config'], where);
  const configs: ModelConfigObject[] = [];
  for (const f of root.fields) {
    if (f.name === 'custom_model_config') throw where(f, 'custom_model_config is not supported; use model_config_list');
    const list = message(f, where);
    fieldsOf(list, 'tensorflow.serving.ModelConfigList', ['config'], where);
    for (const c of list.fields) configs.push(modelFrom(message(c, where), where));
  }
  return { modelConfigList: { config: configs } };
}

/** Reads and parses a `--model_config_file`. */
export async function readModelServerConfig(file: string): Promise<ModelServerConfigObject> {
  return parseModelServerConfig(await fs.readFile(file, 'utf8'), file);
}

/**
 * Checks a config object as ServerCore does before anything loads: names and base paths present, names unique,
 * platform `tensorflow`, labels integer versions. Throws InvalidArgumentError.
 */
export function validateConfig(config: ModelServerConfigObject): void {
  const list = config?.modelConfigList?.config;
  if (!Array.isArray(list)) throw new InvalidArgumentError('ModelServerConfig must have model_config_list.config (an array of ModelConfig)');
  const names = new Set<string>();
  for (const c of list) {
    if (!c || typeof c.name !== 'string' || c.name === '') throw new InvalidArgumentError('Illegal setting of ModelConfig: name must be a non-empty string');
    if (typeof c.basePath !== 'string' || c.basePath === '') throw new InvalidArgumentError(`Illegal setting of ModelConfig ${c.name}: base_path must be a non-empty string`);
    if (names.has(c.name)) throw new InvalidArgumentError(`Illegal to list model ${c.name} multiple times in config list`);
    names.add(c.name);
    if (c.modelPlatform !== undefined && c.modelPlatform !== '' && c.modelPlatform !== 'tensorflow') {
      throw new InvalidArgumentError(`Model ${c.name}: model_platform ${c.modelPlatform} is not supported (only tensorflow)`);
    }
    for (const [label, v] of Object.entries(c.versionLabels ?? {})) {
      if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`Model ${c.name}: version label ${label} must map to a version number, got ${String(v)}`);
    }
    const n = c.modelVersionPolicy?.latest?.numVersions;
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new InvalidArgumentError(`Model ${c.name}: latest.num_versions must be a non-negative integer`);
  }
}
