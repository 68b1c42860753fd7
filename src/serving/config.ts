/**
 * TF Serving's `ModelServerConfig` (model_server_config.proto) as a plain object, and reading it from the
 * protobuf text format of `--model_config_file` or the gRPC message, through one conversion (`configFromMessage`).
 * Unknown fields, wrong value kinds and duplicate names in the text are errors naming the file, line and column.
 */
import { promises as fs } from 'node:fs';
import { InvalidArgumentError, UnimplementedError } from '../errors';
import { toBigInt } from '../proto';
import { messageType } from './proto';
import { parseTextProto } from './text_proto';

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

type Int64 = number | string | { low: number; high: number; unsigned?: boolean };

/** A decoded (or `fromObject`-built) `tensorflow.serving.ModelConfig`. */
interface ModelConfigMessage {
  name?: string;
  basePath?: string;
  modelPlatform?: string;
  modelType?: number;
  modelVersionPolicy?: { latest?: { numVersions?: Int64 } | null; all?: object | null; specific?: { versions?: Int64[] } | null } | null;
  versionLabels?: Record<string, Int64>;
}

/** A decoded `tensorflow.serving.ModelServerConfig` (gRPC HandleReloadConfigRequest, or the text file). */
export interface ModelServerConfigMessage {
  /** `model_config_list` */
  modelConfigList?: { config?: ModelConfigMessage[] } | null;
  /** `custom_model_config` (refused) */
  customModelConfig?: unknown;
}

/** `ModelType.TENSORFLOW` (deprecated `model_type`): platform `tensorflow`. */
const MODEL_TYPE_TENSORFLOW = 1;

function safe(v: Int64 | null | undefined, what: string): number {
  const b = toBigInt(typeof v === 'string' ? BigInt(v) : v);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER))
    throw new InvalidArgumentError(`${what}: ${b} is out of range`);
  return Number(b);
}

/**
 * A ModelServerConfig message as the object ModelServer takes: the one conversion, used for the gRPC
 * HandleReloadConfigRequest and for `--model_config_file` (parsed to the message first).
 */
export function configFromMessage(msg: ModelServerConfigMessage): ModelServerConfigObject {
  if (msg.customModelConfig) throw new UnimplementedError('custom_model_config is not supported');
  const config: ModelConfigObject[] = (msg.modelConfigList?.config ?? []).map((c) => {
    const out: ModelConfigObject = { name: c.name ?? '', basePath: c.basePath ?? '' };
    if (c.modelPlatform) out.modelPlatform = c.modelPlatform;
    else if (c.modelType === MODEL_TYPE_TENSORFLOW) out.modelPlatform = 'tensorflow';
    const p = c.modelVersionPolicy;
    if (p) {
      const policy: VersionPolicyObject = {};
      if (p.latest) {
        const n = safe(p.latest.numVersions, 'latest.num_versions');
        policy.latest = n ? { numVersions: n } : {};
      } else if (p.all) policy.all = {};
      else if (p.specific) policy.specific = { versions: (p.specific.versions ?? []).map((v) => safe(v, 'specific version')) };
      out.modelVersionPolicy = policy;
    }
    const labels = Object.entries(c.versionLabels ?? {});
    if (labels.length) out.versionLabels = Object.fromEntries(labels.map(([k, v]) => [k, safe(v, `version label ${k}`)]));
    return out;
  });
  return { modelConfigList: { config } };
}

/**
 * Parses a `ModelServerConfig` in text format (file name used in errors): checked against the proto schema by
 * the one text-format reader (`parseTextProto`), then converted by `configFromMessage`.
 */
export function parseModelServerConfig(text: string, file = '<model_config>'): ModelServerConfigObject {
  const type = messageType('tensorflow.serving.ModelServerConfig');
  return configFromMessage(type.fromObject(parseTextProto('tensorflow.serving.ModelServerConfig', text, file)) as ModelServerConfigMessage);
}

/**
 * Reads, parses and checks (`validateConfig`) a `--model_config_file`; a config the server would refuse is an
 * InvalidArgumentError naming the file.
 */
export async function readModelServerConfig(file: string): Promise<ModelServerConfigObject> {
  const config = parseModelServerConfig(await fs.readFile(file, 'utf8'), file);
  try {
    validateConfig(config);
  } catch (e) {
    throw new InvalidArgumentError(`${file}: ${(e as Error).message}`);
  }
  return config;
}

/**
 * Checks a config object as ServerCore does before anything loads: names and base paths present, names unique,
 * platform `tensorflow`, labels integer versions. Throws InvalidArgumentError.
 */
export function validateConfig(config: ModelServerConfigObject): void {
  const list = config?.modelConfigList?.config;
  if (!Array.isArray(list))
    throw new InvalidArgumentError('ModelServerConfig must have model_config_list.config (an array of ModelConfig)');
  const names = new Set<string>();
  for (const c of list) {
    if (!c || typeof c.name !== 'string' || c.name === '')
      throw new InvalidArgumentError('Illegal setting of ModelConfig: name must be a non-empty string');
    if (typeof c.basePath !== 'string' || c.basePath === '')
      throw new InvalidArgumentError(`Illegal setting of ModelConfig ${c.name}: base_path must be a non-empty string`);
    if (names.has(c.name)) throw new InvalidArgumentError(`Illegal to list model ${c.name} multiple times in config list`);
    names.add(c.name);
    if (c.modelPlatform !== undefined && c.modelPlatform !== '' && c.modelPlatform !== 'tensorflow') {
      throw new InvalidArgumentError(`Model ${c.name}: model_platform ${c.modelPlatform} is not supported (only tensorflow)`);
    }
    for (const [label, v] of Object.entries(c.versionLabels ?? {})) {
      if (!Number.isSafeInteger(v) || v < 0)
        throw new InvalidArgumentError(`Model ${c.name}: version label ${label} must map to a version number, got ${String(v)}`);
    }
    const n = c.modelVersionPolicy?.latest?.numVersions;
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0))
      throw new InvalidArgumentError(`Model ${c.name}: latest.num_versions must be a non-negative integer`);
    for (const v of c.modelVersionPolicy?.specific?.versions ?? []) {
      if (!Number.isSafeInteger(v) || v < 0)
        throw new InvalidArgumentError(`Model ${c.name}: specific versions must be non-negative integers, got ${String(v)}`);
    }
  }
}
