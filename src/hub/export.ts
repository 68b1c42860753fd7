/**
 * Writing TF1 Hub modules: `hub.createModuleSpec` + `hub.addSignature` / `hub.attachMessage` inside the module
 * function, `ModuleSpec.export`, and `Module.export` (fine-tuned values from a session). The files match what
 * Python's tensorflow_hub 0.15 writes (semantics doc §1), so Python's `hub.Module` loads them too.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DType, tfDataType } from '../dtypes';
import { TfhubError, typeError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import {
  decodeSavedModel, encodeModuleAttachment, encodeModuleDef, encodeSavedModel, encodeVariableDef, google, shapeProto,
  tensorflow, tensorflow_hub,
} from '../proto';
import { opDefs } from '../registry';
import { Session } from '../session';
import { Tensor } from '../tensor';
import { GraphKeys, Variable } from '../variable';
import { CheckpointIndex } from './checkpoint';
import { readValidatedCheckpoint } from './checkpoint_validate';
import { copyModelFile } from '../io/read_model_file';
import { formatShape, isShapeCompatible } from './tensor_info';
import { ASSETS_COLLECTION, ATTACHMENTS_COLLECTION, ModuleSpec, getUnsupportedCollections } from './spec';
import { tagSetKey } from './saved_model';

const ASSET_PLACEHOLDER = 'SAVEDMODEL-ASSET';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ------------------------------------------------------------------------------------------------ building

/** A signature value: a dense Output or a sparse one. */
export type SignatureTensor = Output | { indices: Output; values: Output; denseShape: Output };

interface SpecBuilder {
  graph: Graph;
  signatures: Map<string, tensorflow.ISignatureDef>;
  attachments: Map<string, Uint8Array>;
}

const builders: SpecBuilder[] = [];

function currentBuilder(what: string): SpecBuilder {
  const b = builders[builders.length - 1];
  if (!b) throw new TfhubError('ERR_NOT_IN_MODULE_FN', `hub.${what}() must be called inside the module function of hub.createModuleSpec()`);
  return b;
}

function tensorInfo(graph: Graph, key: string, value: unknown, signature: string, kind: string): tensorflow.ITensorInfo {
  const check = (o: unknown): Output => {
    if (!(o instanceof Output)) {
      throw new TfhubError('ERR_UNSUPPORTED_SIGNATURE_TYPE',
        `The inputs and outputs declared in hub.addSignature() for signature '${signature}' should have one of the types that are supported by this version of tfhub-node: Output, {indices, values, denseShape}.\n  * ${kind} '${key}' has type ${o === null ? 'null' : typeof o}`);
    }
    if (o.graph !== graph) throw new TfhubError('ERR_GRAPH_MISMATCH', `${kind} '${key}' of signature '${signature}' is not from the module's graph`);
    return o;
  };
  if (value && typeof value === 'object' && !(value instanceof Output) && 'indices' in value) {
    const v = value as { indices: unknown; values: unknown; denseShape: unknown };
    const values = check(v.values);
    const indices = check(v.indices);
    const denseShape = check(v.denseShape);
    const rank = denseShape.shape?.[0];
    return {
      cooSparse: { valuesTensorName: values.name, indicesTensorName: indices.name, denseShapeTensorName: denseShape.name },
      dtype: tfDataType(values.dtype),
      tensorShape: rank === undefined || rank < 0 ? { unknownRank: true } : shapeProto(new Array(rank).fill(-1)),
    };
  }
  const o = check(value);
  return { name: o.name, dtype: tfDataType(o.dtype), tensorShape: shapeProto(o.shape) };
}

/**
 * Declares a signature of the module being built (Python's `hub.add_signature`). `inputs`/`outputs`: a record
 * of Outputs (or sparse `{indices, values, denseShape}`), or a single one (becomes `{default: x}`). The last
 * definition of a name wins.
 */
export function addSignature(name: string | null | undefined, inputs?: SignatureTensor | Record<string, SignatureTensor> | null, outputs?: SignatureTensor | Record<string, SignatureTensor> | null): void {
  const b = currentBuilder('addSignature');
  const sigName = name || 'default';
  const asDict = (v: unknown): Record<string, unknown> => {
    if (v === undefined || v === null) return {};
    if (v instanceof Output || (typeof v === 'object' && 'indices' in (v as object) && 'values' in (v as object))) return { default: v };
    if (typeof v !== 'object' || Array.isArray(v)) return { default: v };
    return v as Record<string, unknown>;
  };
  const sig: tensorflow.ISignatureDef = { inputs: {}, outputs: {}, methodName: '' };
  for (const [k, v] of Object.entries(asDict(inputs))) sig.inputs![k] = tensorInfo(b.graph, k, v, sigName, 'input');
  for (const [k, v] of Object.entries(asDict(outputs))) sig.outputs![k] = tensorInfo(b.graph, k, v, sigName, 'output');
  b.signatures.set(sigName, sig);
}

/** Attaches a serialized message under `key` to the module being built (last one wins). */
export function attachMessage(key: string, message: Uint8Array | { finish(): Uint8Array } | { constructor: { encode(m: unknown): { finish(): Uint8Array } } }): void {
  const b = currentBuilder('attachMessage');
  if (typeof key !== 'string' || key === '') throw typeError('ERR_INVALID_ARG_TYPE', 'attachMessage(key, bytes): key must be a non-empty string');
  let bytes: Uint8Array;
  if (message instanceof Uint8Array) bytes = message;
  else if (message && typeof (message as { finish?: unknown }).finish === 'function') bytes = (message as { finish(): Uint8Array }).finish();
  else if (message && typeof (message.constructor as { encode?: unknown })?.encode === 'function') bytes = (message.constructor as { encode(m: unknown): { finish(): Uint8Array } }).encode(message).finish();
  else throw typeError('ERR_INVALID_ARG_TYPE', 'attachMessage(key, message): message must be bytes or a protobufjs message');
  b.attachments.set(key, Uint8Array.from(bytes));
}

/** Options of `createModuleSpec`. */
export interface CreateModuleSpecOptions<A> {
  /** One graph variant per entry: its tag set and the arguments passed to the module function. */
  tagsAndArgs?: Array<[Iterable<string>, A]>;
  /** Collections to empty before serializing (e.g. custom ones hub modules cannot hold). */
  dropCollections?: string[];
}

function nodeListValue(v: unknown): string | null {
  if (v instanceof Output) return v.name;
  if (v instanceof Operation) return v.name;
  if (v instanceof Variable) return v.name;
  return null;
}

function collectionDefs(graph: Graph, drop: Set<string>): { [k: string]: tensorflow.ICollectionDef } {
  const out: { [k: string]: tensorflow.ICollectionDef } = {};
  const keys = graph.getAllCollectionKeys().filter((k) => !drop.has(k));
  const unsupported = getUnsupportedCollections(keys);
  if (unsupported.length > 0) {
    throw new TfhubError('ERR_UNSUPPORTED_COLLECTIONS', `Unsupported collections in graph: [${unsupported.map((k) => `'${k}'`).join(', ')}]\nUse hub.createModuleSpec(..., {dropCollections: [...]}) as appropriate.`);
  }
  for (const key of keys) {
    const values = graph.getCollection(key);
    if (values.length === 0) continue;
    if (key === GraphKeys.GLOBAL_VARIABLES || key === GraphKeys.TRAINABLE_VARIABLES || key === GraphKeys.MODEL_VARIABLES) {
      out[key] = { bytesList: { value: values.map((v) => {
        if (!(v instanceof Variable)) throw new TfhubError('ERR_INVALID_COLLECTION', `collection '${key}' holds a non-variable`);
        return encodeVariableDef(v.toVariableDef());
      }) } };
    } else {
      const names = values.map(nodeListValue);
      if (names.some((n) => n === null)) throw new TfhubError('ERR_INVALID_COLLECTION', `collection '${key}' must hold Outputs or Operations`);
      out[key] = { nodeList: { value: names as string[] } };
    }
  }
  return out;
}

function strippedOpList(graphDef: tensorflow.IGraphDef): tensorflow.IOpList {
  const used = new Set<string>();
  for (const n of graphDef.node ?? []) used.add(n.op ?? '');
  for (const f of graphDef.library?.function ?? []) for (const n of f.nodeDef ?? []) used.add(n.op ?? '');
  const registry = opDefs();
  return { op: [...used].sort().filter((t) => registry.has(t)).map((t) => registry.get(t)!) };
}

/**
 * Builds a module spec by running `moduleFn(graph, args)` once per graph variant in a fresh Graph (Python's
 * `hub.create_module_spec`). Inside it, use `hub.addSignature` and `hub.attachMessage`. The spec has no
 * checkpoint: instantiating it runs the module function's own initializers.
 */
export function createModuleSpec<A = Record<string, unknown>>(moduleFn: (graph: Graph, args: A) => void, options: CreateModuleSpecOptions<A> = {}): ModuleSpec {
  if (typeof moduleFn !== 'function') throw typeError('ERR_INVALID_ARG_TYPE', 'createModuleSpec(moduleFn): moduleFn must be a function');
  const variants = options.tagsAndArgs ?? [[[], {} as A]];
  const drop = new Set(options.dropCollections ?? []);
  const savedModel = new tensorflow.SavedModel();
  const attachments = new Map<string, Map<string, Uint8Array>>();
  const seen = new Set<string>();
  for (const [tagsIn, args] of variants) {
    const tags = [...new Set(tagsIn)].sort();
    const key = tagSetKey(tags);
    if (seen.has(key)) throw new TfhubError('ERR_DUPLICATE_TAGS', `Tags [${tags.map((t) => `'${t}'`).join(', ')}] used repeatedly`);
    seen.add(key);
    const graph = new Graph();
    const builder: SpecBuilder = { graph, signatures: new Map(), attachments: new Map() };
    builders.push(builder);
    try {
      const r = moduleFn(graph, args) as unknown;
      if (r && typeof (r as Promise<unknown>).then === 'function') throw typeError('ERR_ASYNC_MODULE_FN', 'the module function must be synchronous');
    } finally {
      builders.pop();
    }
    if (builder.signatures.size === 0) {
      throw new TfhubError('ERR_NO_SIGNATURES', 'No signatures present. Please call hub.addSignature(...) at least once in the module function.');
    }
    const graphDef = tensorflow.GraphDef.decode(graph.toGraphDef());
    const collections = collectionDefs(graph, drop);
    if (builder.attachments.size > 0) {
      collections[ATTACHMENTS_COLLECTION] = { bytesList: { value: [...builder.attachments].map(([k, v]) => encodeModuleAttachment({ key: k, value: v })) } };
    }
    savedModel.metaGraphs.push(tensorflow.MetaGraphDef.create({
      metaInfoDef: { tags, strippedOpList: strippedOpList(graphDef), tensorflowVersion: '2.21.0', strippedDefaultAttrs: false },
      graphDef,
      signatureDef: Object.fromEntries(builder.signatures),
      collectionDef: collections,
    }));
    attachments.set(key, builder.attachments);
    graph.dispose();
  }
  return new ModuleSpec('', savedModel, null, attachments);
}

// ------------------------------------------------------------------------------------------------ writing

/**
 * Python's `_make_assets_key_collection`: each asset Const becomes `SAVEDMODEL-ASSET` plus an AssetFileDef;
 * returns source path → exported file name (same basenames of different files get suffixes 0, 1, …).
 */
function makeAssetsCollection(savedModel: tensorflow.SavedModel): Map<string, string> {
  const exported = new Map<string, string>();
  const used = new Set<string>();
  for (const mg of savedModel.metaGraphs) {
    const collection = mg.collectionDef?.[GraphKeys.ASSET_FILEPATHS];
    if (!collection) continue;
    if (!collection.nodeList) throw new TfhubError('ERR_INVALID_ASSETS', 'MetaGraph collection ASSET_FILEPATHS is not a list of tensors.');
    const nodes = new Map((mg.graphDef?.node ?? []).map((n) => [n.name, n]));
    const defs: tensorflow.IAssetFileDef[] = [];
    for (const tensorName of collection.nodeList.value ?? []) {
      if (!tensorName.endsWith(':0')) throw new TfhubError('ERR_INVALID_ASSETS', 'Unexpected tensor in ASSET_FILEPATHS collection.');
      const node = nodes.get(tensorName.slice(0, -2));
      if (!node || node.op !== 'Const') throw new TfhubError('ERR_INVALID_ASSETS', 'Asset node must be of type constant.');
      const t = node.attr?.value?.tensor;
      if (!t || t.dtype !== tensorflow.DataType.DT_STRING) throw new TfhubError('ERR_INVALID_ASSETS', 'Asset node must be of dtype string.');
      if ((t.tensorShape?.dim?.length ?? 0) !== 0 || (t.stringVal?.length ?? 0) !== 1) throw new TfhubError('ERR_INVALID_ASSETS', 'Asset node must be a scalar.');
      const source = decoder.decode(t.stringVal![0]);
      if (source === ASSET_PLACEHOLDER) continue;
      let name = exported.get(source);
      if (name === undefined) {
        const base = path.basename(source);
        name = base;
        for (let i = 0; used.has(name); i++) name = `${base}${i}`;
        used.add(name);
        exported.set(source, name);
      }
      t.stringVal = [encoder.encode(ASSET_PLACEHOLDER)];
      defs.push({ tensorInfo: { name: tensorName }, filename: name });
    }
    defs.sort((a, b) => (a.tensorInfo!.name! < b.tensorInfo!.name! ? -1 : 1));
    if (defs.length > 0) {
      mg.collectionDef![ASSETS_COLLECTION] = {
        anyList: { value: defs.map((d) => google.protobuf.Any.create({ typeUrl: 'type.googleapis.com/tensorflow.AssetFileDef', value: tensorflow.AssetFileDef.encode(d).finish() })) },
      };
    }
  }
  return exported;
}

/** Writes the module directory; `writeVariables` fills `<path>/variables/variables`. */
/**
 * Creates directory `dir` with the content `fill` writes, all or nothing. `dir` must not exist or be empty
 * (`ERR_ALREADY_EXISTS` before anything is written): an export never lands in or over another model. `fill`
 * writes into a sibling temp directory that is renamed into place at the end, so a failure midway (a full disk,
 * a bad asset, a killed process) leaves no half-written model under `dir`.
 */
export async function writeNewDirectory(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw typeError('ERR_INVALID_ARG_TYPE', 'export path must be a non-empty string');
  const target = path.resolve(dir);
  const existing = await fs.readdir(target).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    if (e.code === 'ENOTDIR') throw new TfhubError('ERR_ALREADY_EXISTS', `${target} exists and is not a directory`, { cause: e });
    throw e;
  });
  if (existing && existing.length > 0) {
    const what = existing.includes('saved_model.pb') ? 'a model' : `${existing.length} entries`;
    throw new TfhubError('ERR_ALREADY_EXISTS', `${target} already exists and is not empty (it holds ${what}); export into a new or empty directory`);
  }
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = await fs.mkdtemp(`${target}.export-`);
  try {
    await fill(tmp);
    if (existing) await fs.rmdir(target); // empty, checked above; rename cannot replace a directory portably
    try {
      await fs.rename(tmp, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new TfhubError('ERR_ALREADY_EXISTS', `${target} appeared while exporting`, { cause: e });
      throw e;
    }
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function writeModule(spec: ModuleSpec, dir: string, writeVariables: ((prefix: string) => Promise<void>) | null): Promise<void> {
  const savedModel = decodeSavedModel(encodeSavedModel(spec.savedModel), 'module spec');
  const assets = makeAssetsCollection(savedModel);
  await writeNewDirectory(dir, async (tmp) => {
    await fs.mkdir(path.join(tmp, 'assets'));
    await fs.mkdir(path.join(tmp, 'variables'));
    for (const [source, name] of assets) {
      try {
        await copyModelFile(source, path.join(tmp, 'assets', name));
      } catch (e) {
        throw new TfhubError('ERR_ASSET_COPY', `cannot copy asset ${source}: ${(e as Error).message}`, { cause: e });
      }
    }
    if (writeVariables) await writeVariables(path.join(tmp, 'variables', 'variables'));
    await fs.writeFile(path.join(tmp, 'saved_model.pb'), encodeSavedModel(savedModel));
    // Last: its presence marks a complete module.
    await fs.writeFile(path.join(tmp, 'tfhub_module.pb'), encodeModuleDef({ format: tensorflow_hub.ModuleDef.Format.FORMAT_V3 }), { flag: 'wx' });
  });
}

/** Saves `variables` under the given checkpoint keys with SaveV2 (one run of `session`). */
export async function saveVariables(session: Session, entries: Array<{ key: string; variable: Variable }>, prefix: string): Promise<void> {
  const g = session.graph;
  if (entries.length === 0) return;
  const save = g.withNameScope('save', () => {
    const names = new Tensor('string', [entries.length], entries.map((e) => e.key));
    const slices = new Tensor('string', [entries.length], entries.map((e) => {
      const s = e.variable.saveSliceInfo;
      return s ? `${s.fullShape.join(' ')} ${s.varOffset.map((o, i) => `${o},${s.varShape[i]}`).join(':')}` : '';
    }));
    const prefixT = new Tensor('string', [], [prefix]);
    try {
      return g.addOperation('SaveV2', {
        name: g.uniqueName('SaveV2'),
        inputs: [g.constant(prefixT), g.constant(names), g.constant(slices), entries.map((e) => e.variable.read())],
      });
    } finally {
      names.dispose();
      slices.dispose();
      prefixT.dispose();
    }
  });
  await session.run(save);
}

/** Writes `spec` (its graph variants) with variables from `checkpointPath`, restored by module-relative names. */
export async function exportSpec(spec: ModuleSpec, dir: string, options: { checkpointPath?: string; nameTransform?: (key: string) => string } = {}): Promise<void> {
  if (!options.checkpointPath) {
    if (spec.checkpointPath) {
      const from = spec.checkpointPath;
      await writeModule(spec, dir, async (prefix) => {
        for (const f of await fs.readdir(path.dirname(from))) {
          if (f.startsWith(path.basename(from) + '.')) await copyModelFile(path.join(path.dirname(from), f), path.join(path.dirname(prefix), f), { maxBytes: Number.MAX_SAFE_INTEGER });
        }
      });
      return;
    }
    return writeModule(spec, dir, null);
  }
  // Instantiate the spec, restore from the checkpoint by (transformed) relative names, write.
  const { Module } = await import('./module');
  const graph = new Graph();
  try {
    const module = new Module(spec, { graph });
    const entries = module.variables.map((v) => ({ key: v.saveSliceInfo ? v.saveSliceInfo.fullName : v.opName.slice(module.scope.length + 1), variable: v }));
    const transform = options.nameTransform ?? ((k: string) => k);
    await checkCheckpointFits(options.checkpointPath, entries.map((e) => ({
      key: transform(e.key),
      name: e.variable.name,
      shape: e.variable.saveSliceInfo ? e.variable.saveSliceInfo.fullShape : e.variable.shape,
    })));
    const restore = graph.withNameScope('restore', () => {
      const keys = new Tensor('string', [entries.length], entries.map((e) => transform(e.key)));
      const specs = new Tensor('string', [entries.length], entries.map(() => ''));
      const prefixT = new Tensor('string', [], [options.checkpointPath!]);
      const r = graph.addOperation('RestoreV2', { inputs: [graph.constant(prefixT), graph.constant(keys), graph.constant(specs)], attrs: { dtypes: entries.map((e) => e.variable.dtype as DType) } });
      keys.dispose(); specs.dispose(); prefixT.dispose();
      return entries.map((e, i) => e.variable.assign(r.output(i)));
    });
    const session = new Session(graph);
    try {
      await session.run(graph.tablesInitializer());
      await session.run(restore);
      await writeModule(spec, dir, (prefix) => saveVariables(session, entries, prefix));
    } finally {
      session.close();
    }
  } finally {
    graph.dispose();
  }
}

/**
 * Checks, before anything runs, that the checkpoint holds every variable under its key with its shape, with
 * Python's messages (`init_from_checkpoint`): TF's own errors would come from inside a restore op.
 */
async function checkCheckpointFits(prefix: string, wanted: Array<{ key: string; name: string; shape: number[] | null }>): Promise<void> {
  let index: CheckpointIndex;
  try {
    index = await readValidatedCheckpoint(prefix);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TfhubError('ERR_CHECKPOINT_NOT_FOUND', `No checkpoint at ${prefix} (${prefix}.index does not exist).`);
    throw e;
  }
  for (const w of wanted) {
    const entry = index.entries.get(w.key);
    if (!entry) throw new TfhubError('ERR_CHECKPOINT_KEY_NOT_FOUND', `Tensor ${w.key} is not found in ${prefix} checkpoint (for variable ${w.name}).`);
    if (!isShapeCompatible(entry.shape, w.shape)) {
      throw new TfhubError('ERR_CHECKPOINT_SHAPE', `Shape of variable ${w.name} ${formatShape(w.shape)} doesn't match with shape of tensor ${w.key} ${formatShape(entry.shape)} from checkpoint reader.`);
    }
  }
}

/**
 * Writes a module instance with its current values in `session` (Python's `Module.export(path, session)`):
 * the spec's graph variants, variables under module-relative keys, assets copied, `tfhub_module.pb` last.
 */
export async function exportModule(module: { spec: ModuleSpec; graph: Graph; scope: string; variables: Variable[] }, dir: string, session: Session): Promise<void> {
  if (!(session instanceof Session)) throw typeError('ERR_INVALID_ARG_TYPE', 'export(path, session): session must be a Session');
  if (session.graph !== module.graph) throw new TfhubError('ERR_GRAPH_MISMATCH', 'session graph differs from the graph where the module was instantiated.');
  const entries = module.variables.map((v) => ({ key: v.saveSliceInfo ? v.saveSliceInfo.fullName : v.opName.slice(module.scope.length + 1), variable: v }));
  await writeModule(module.spec, dir, entries.length > 0 ? (prefix) => saveVariables(session, entries, prefix) : null);
}

