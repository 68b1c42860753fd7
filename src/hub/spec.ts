/**
 * `ModuleSpec`: a TF1 Hub format module on disk (tfhub_module.pb + saved_model.pb + variables/ + assets/),
 * parsed and validated once, with its graph variants, signatures and attached messages.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TfhubError } from '../errors';
import { decodeModuleAttachment, decodeModuleDef, tensorflow, tensorflow_hub } from '../proto';
import {
  ASSETS_COLLECTION,
  ParsedTensorInfo,
  availableTagSets,
  exists,
  formatTags,
  metaGraphTags,
  noSuchGraphVariant,
  parseTensorInfoMap,
  readSavedModel,
  rewriteHubAssets,
  selectMetaGraph,
  tagSetKey,
} from './saved_model';
import { SpecExportOptions, exportSpec } from './module_writer';
import { ResolveOptions, resolve } from './resolver';
import { readModelFileOr } from '../io/read_model_file';
import { readValidatedCheckpoint } from './checkpoint_validate';

/** Collections a module's graph may have (Python's `_SUPPORTED_COLLECTIONS`). */
export const SUPPORTED_COLLECTIONS: ReadonlySet<string> = new Set([
  'variables',
  'trainable_variables',
  'model_variables',
  'table_initializer',
  'update_ops',
  'regularization_losses',
  'asset_filepaths',
  'cond_context',
  'while_context',
  'hub_module_attachments',
]);

/** Collection holding serialized ModuleAttachments. */
export const ATTACHMENTS_COLLECTION = 'hub_module_attachments';

/** Options naming a graph variant. */
export interface TagsOption {
  /** The graph variant's tag set (exact set equality); default: the empty set. */
  tags?: Iterable<string> | null;
}

/** A decoder for attached messages: a protobufjs message type or a function of the bytes. */
export type MessageDecoder<T> = { decode(bytes: Uint8Array): T } | ((bytes: Uint8Array) => T);

/** Lists the keys of `keys` that hub modules cannot hold (Python's `get_unsupported_collections`). */
export function getUnsupportedCollections(keys: Iterable<string>): string[] {
  return [...keys].filter((k) => !SUPPORTED_COLLECTIONS.has(k)).sort();
}

/** A loaded TF1 Hub module specification (Python's `hub.ModuleSpec` from `hub.load_module_spec`). */
export class ModuleSpec {
  /** @internal */
  constructor(
    /** The module directory. */
    readonly path: string,
    /** @internal the SavedModel, asset paths already rewritten */
    readonly savedModel: tensorflow.SavedModel,
    /** Checkpoint prefix `<path>/variables/variables`, or null when the module has no variables. */
    readonly checkpointPath: string | null,
    private readonly attachments: Map<string, Map<string, Uint8Array>>,
  ) {}

  /**
   * Writes the spec as a TF1 Hub module at `path` (Python's `ModuleSpec.export`). With `checkpointPath`, the
   * variables are restored from that checkpoint by their module-relative names (mapped by `nameTransform`);
   * without it, a loaded spec's own variables are copied.
   */
  async export(path: string, options: SpecExportOptions = {}): Promise<void> {
    return exportSpec(this.savedModel, this.checkpointPath, path, options);
  }

  /** The graph variants' tag sets, each sorted; the list sorted. */
  getTags(): string[][] {
    return availableTagSets(this.savedModel);
  }

  /** @internal */
  metaGraph(tags?: Iterable<string> | null): tensorflow.MetaGraphDef {
    try {
      return selectMetaGraph(this.savedModel, tags ?? [], `module ${this.path}`) as tensorflow.MetaGraphDef;
    } catch (e) {
      if ((e as TfhubError).code === 'ERR_NO_SUCH_GRAPH_VARIANT') {
        throw noSuchGraphVariant(tags ?? [], this.getTags(), null, 'SavedModelHandler has no graph with tags: ');
      }
      throw e;
    }
  }

  /** Signature names of a graph variant (proto map order). */
  getSignatureNames(options: TagsOption = {}): string[] {
    return Object.keys(this.metaGraph(options.tags).signatureDef ?? {});
  }

  /** @internal */
  signature(name: string, tags?: Iterable<string> | null): tensorflow.ISignatureDef {
    const sig = (this.metaGraph(tags).signatureDef ?? {})[name];
    if (!sig) throw new TfhubError('ERR_UNKNOWN_SIGNATURE', `Signature '${name}' is missing from meta graph.`);
    return sig;
  }

  /** Inputs of a signature (default `'default'`). */
  getInputInfoDict(signature = 'default', options: TagsOption = {}): Record<string, ParsedTensorInfo> {
    return parseTensorInfoMap(this.signature(signature || 'default', options.tags).inputs);
  }

  /** Outputs of a signature (default `'default'`). */
  getOutputInfoDict(signature = 'default', options: TagsOption = {}): Record<string, ParsedTensorInfo> {
    return parseTensorInfoMap(this.signature(signature || 'default', options.tags).outputs);
  }

  /**
   * The message attached under `key` to a graph variant (last attachment wins): decoded with `decoder`, or the
   * raw bytes (a copy) without one. Absent: null, or a KeyError-like error (ERR_NO_ATTACHED_MESSAGE) when required.
   */
  getAttachedMessage<T = Uint8Array>(
    key: string,
    decoder?: MessageDecoder<T> | null,
    options: TagsOption & { required?: boolean } = {},
  ): T | null {
    const tags = options.tags ?? [];
    this.metaGraph(tags);
    const bytes = this.attachments.get(tagSetKey(tags))?.get(key);
    if (bytes === undefined) {
      if (options.required)
        throw new TfhubError(
          'ERR_NO_ATTACHED_MESSAGE',
          `No attached message for key '${key}' in graph version ${formatTags(tags)} of Hub Module`,
        );
      return null;
    }
    const copy = Uint8Array.from(bytes);
    if (!decoder) return copy as unknown as T;
    // protobufjs message types are functions too (constructors): prefer their static decode.
    if (typeof (decoder as { decode?: unknown }).decode === 'function') return (decoder as { decode(bytes: Uint8Array): T }).decode(copy);
    return (decoder as (bytes: Uint8Array) => T)(copy);
  }
}

/** Reads and validates `tfhub_module.pb` (format 3, no required features). */
async function checkModuleDef(dir: string): Promise<void> {
  const file = path.join(dir, 'tfhub_module.pb');
  const bytes = await readModelFileOr(file, async (e) =>
    (await exists(path.join(dir, 'saved_model.pb')))
      ? new TfhubError(
          'ERR_NOT_TF1_HUB_MODULE',
          `${dir} is a TF2 SavedModel, not a TF1 Hub module (no tfhub_module.pb): use hub.load() for it`,
        )
      : new TfhubError('ERR_MODULE_NOT_FOUND', `${file}; No such file or directory`, { cause: e }),
  );
  const def = decodeModuleDef(bytes, file);
  if (def.format !== tensorflow_hub.ModuleDef.Format.FORMAT_V3) {
    throw new TfhubError('ERR_UNSUPPORTED_MODULE_FORMAT', `Unsupported module def format: ${def.format} (in ${file})`);
  }
  if (def.requiredFeatures.length > 0) {
    throw new TfhubError(
      'ERR_UNSUPPORTED_MODULE_FEATURES',
      `Unsupported features: [${def.requiredFeatures.map((f) => `'${f}'`).join(', ')}] (in ${file})`,
    );
  }
}

/** Rewrites each asset Const to `<dir>/assets/<filename>` and drops the assets collection (Python's load). */
function mergeAssets(metaGraph: tensorflow.IMetaGraphDef, dir: string): void {
  if (rewriteHubAssets(metaGraph, metaGraph.graphDef ?? {}, dir) && metaGraph.collectionDef)
    delete metaGraph.collectionDef[ASSETS_COLLECTION];
}

function readAttachments(metaGraph: tensorflow.IMetaGraphDef, what: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const bytes of metaGraph.collectionDef?.[ATTACHMENTS_COLLECTION]?.bytesList?.value ?? []) {
    const a = decodeModuleAttachment(bytes, `attachment in ${what}`);
    out.set(a.key ?? '', a.value ?? new Uint8Array()); // last one wins
  }
  return out;
}

/**
 * Loads a module spec from a local directory (Python's `hub.load_module_spec`). `resolve` maps a handle
 * (URL, archive, …) to a directory first.
 */
export async function loadModuleSpecFromDir(dir: string): Promise<ModuleSpec> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new TfhubError('ERR_MODULE_NOT_FOUND', `${dir} does not exist.`);
  if (!st.isDirectory()) throw new TfhubError('ERR_MODULE_NOT_FOUND', `${dir} is not a directory.`);
  await checkModuleDef(dir);
  const savedModel = await readSavedModel(dir);
  const seen = new Set<string>();
  const attachments = new Map<string, Map<string, Uint8Array>>();
  for (const mg of savedModel.metaGraphs) {
    const key = tagSetKey(metaGraphTags(mg));
    if (seen.has(key)) throw new TfhubError('ERR_DUPLICATE_TAGS', `Tags ${formatTags(metaGraphTags(mg))} used repeatedly`);
    seen.add(key);
    mergeAssets(mg, dir);
    const unsupported = getUnsupportedCollections(Object.keys(mg.collectionDef ?? {}));
    if (unsupported.length > 0) {
      throw new TfhubError(
        'ERR_UNSUPPORTED_COLLECTIONS',
        `Unsupported collections in graph: [${unsupported.map((k) => `'${k}'`).join(', ')}]\nUse hub.createModuleSpec(..., {dropCollections: [...]}) as appropriate.`,
      );
    }
    attachments.set(key, readAttachments(mg, dir));
  }
  if (savedModel.metaGraphs.length === 0) throw new TfhubError('ERR_INVALID_MODULE', `${dir}/saved_model.pb has no meta graphs`);
  const prefix = path.join(dir, 'variables', 'variables');
  const hasVariables = await exists(prefix + '.index');
  if (hasVariables) await readValidatedCheckpoint(prefix); // before any restore op reads it
  // Python restores variables from <dir>/variables/variables and fails when it is missing; without this check
  // the module would silently run its graph's own initializers (zeros, random values).
  if (!hasVariables && savedModel.metaGraphs.some((mg) => (mg.collectionDef?.variables?.bytesList?.value?.length ?? 0) > 0)) {
    throw new TfhubError(
      'ERR_CHECKPOINT_NOT_FOUND',
      `${prefix}.index: No such file or directory (the module has variables but no checkpoint)`,
    );
  }
  return new ModuleSpec(dir, savedModel, hasVariables ? prefix : null, attachments);
}

/** Loads a TF1 Hub module spec from a handle (Python's `hub.load_module_spec`). */
export async function loadModuleSpec(handle: string, options: ResolveOptions = {}): Promise<ModuleSpec> {
  return loadModuleSpecFromDir(await resolve(handle, options));
}
