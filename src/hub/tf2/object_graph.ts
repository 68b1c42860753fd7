/**
 * TF2 SavedModels (meta graphs with a SavedObjectGraph): revives the objects the way Python's
 * `tf.saved_model.load` does, on one graph and one session.
 *
 * - The FunctionDefs of `graph_def.library` are copied into the graph; the graph_def's own nodes (its saver and
 *   signature call ops) are not used.
 * - Every variable of the object graph gets a VarHandleOp; values are restored with one RestoreV2 using the
 *   object-graph checkpoint keys (`…/.ATTRIBUTES/VARIABLE_VALUE`) read from the checkpoint's
 *   `_CHECKPOINTABLE_OBJECT_GRAPH`.
 * - Resources (lookup tables, …) are created by calling their `_create_resource` function inside the graph (the
 *   handle is wired to every consumer; a fetched resource tensor could not be fed back) and initialised once by
 *   `_initialize`, with asset captures bound to the real paths under `<dir>/assets`.
 * - A concrete function is called through a StatefulPartitionedCall whose inputs are placeholders for the
 *   user's tensors followed by the captured handles (`bound_inputs`); one call op per concrete function, built on
 *   first use, so a call costs one session run.
 */
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { DType, dtypeFromTf } from '../../dtypes';
import { TfhubError, typeError } from '../../errors';
import { Graph, Operation, Output } from '../../graph';
import { opDefs } from '../../registry';
import { Session, SessionOptions } from '../../session';
import { decodeTrackableObjectGraph, encodeConfigProto, encodeGraphDef, tensorflow } from '../../proto';
import { Tensor } from '../../tensor';
import { readCheckpointIndex } from '../checkpoint';
import { readValidatedCheckpoint } from '../checkpoint_validate';
import { formatShape, isShapeCompatible } from '../tensor_info';
import { ConcreteFunctionInfo, ModelParts, TensorSpecInfo } from './model';
import { checkSignatureInput, normalizeSignatureInputs } from './signature_inputs';
import {
  BoundLeaf, LeafSpec, Spec, StructuredOutput, bindSpec, decodeSpec, flattenSpec, formatSpec, formatValue, packOutputs, toTensor, unsupportedIn,
} from './structure';

type SavedObject = tensorflow.ISavedObject;

/** @internal A concrete function of the object graph: its name, captures and (args, kwargs) input structure. */
export interface Concrete {
  readonly name: string;
  readonly boundInputs: number[];
  /** `(args_tuple, kwargs_dict)` */
  readonly input: Spec;
  readonly output: Spec;
}

interface BuiltCall {
  readonly placeholders: Output[];
  readonly op: Operation;
  readonly outputs: Output[];
}

/** @internal How a restored function binds call arguments (Python's FunctionSpec / bare concrete function keywords). */
export type ArgBinding =
  | { kind: 'spec'; args: string[]; defaults: Map<string, unknown>; kwonly: string[]; kwonlyDefaults: Map<string, unknown>; varargs: boolean; varkw: boolean }
  | { kind: 'keywords'; keywords: string[]; positional: number };

const MISSING = Symbol('missing');

function safeName(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/^[^A-Za-z0-9.]+/, '');
  return cleaned || 'x';
}

function kindOf(node: SavedObject): string {
  return (node as { kind?: string }).kind ?? '';
}

/** A JS value for a Python default argument stored as a StructuredValue. */
function specToJs(spec: Spec): unknown {
  switch (spec.kind) {
    case 'none': return null;
    case 'literal': return spec.value;
    case 'list':
    case 'tuple': return spec.items.map(specToJs);
    case 'dict':
    case 'namedtuple': return Object.fromEntries(spec.keys.map((k, i) => [k, specToJs(spec.values[i])]));
    default: return MISSING;
  }
}

function stringsOf(spec: Spec | undefined): string[] {
  if (!spec || (spec.kind !== 'list' && spec.kind !== 'tuple')) return [];
  return spec.items.map((s) => (s.kind === 'literal' ? String(s.value) : ''));
}

/** @internal The argument binding of a restored tf.function (Python's FunctionSpec). */
export function bindingFromFunctionSpec(fs: tensorflow.IFunctionSpec | null | undefined): ArgBinding {
  const full = decodeSpec(fs?.fullargspec);
  const field = (k: string): Spec | undefined => (full.kind === 'namedtuple' ? full.values[full.keys.indexOf(k)] : undefined);
  let args = stringsOf(field('args'));
  if (fs?.isMethod && args[0] === 'self') args = args.slice(1);
  const defaults = new Map<string, unknown>();
  const d = field('defaults');
  if (d && (d.kind === 'tuple' || d.kind === 'list')) {
    const offset = args.length - d.items.length;
    d.items.forEach((item, i) => {
      const v = specToJs(item);
      if (v !== MISSING && offset + i >= 0) defaults.set(args[offset + i], v);
    });
  }
  const kwonly = stringsOf(field('kwonlyargs'));
  const kwonlyDefaults = new Map<string, unknown>();
  const kd = field('kwonlydefaults');
  if (kd && kd.kind === 'dict') kd.keys.forEach((k, i) => {
    const v = specToJs(kd.values[i]);
    if (v !== MISSING) kwonlyDefaults.set(k, v);
  });
  const varargs = field('varargs');
  const varkw = field('varkw');
  return { kind: 'spec', args, defaults, kwonly, kwonlyDefaults, varargs: !!varargs && varargs.kind !== 'none', varkw: !!varkw && varkw.kind !== 'none' };
}

/** @internal Binds call arguments to the `(args, kwargs)` structure of a concrete function; a string is an error. */
export function bindArguments(b: ArgBinding, c: Concrete, args: unknown[], kwargs: Record<string, unknown>): [unknown[], Record<string, unknown>] | string {
  const argsLen = c.input.kind === 'tuple' && c.input.items[0]?.kind === 'tuple' ? c.input.items[0].items.length : 0;
  if (b.kind === 'keywords') {
    if (args.length > b.positional) return `takes ${b.positional} positional argument${b.positional === 1 ? '' : 's'} but ${args.length} were given`;
    const values = new Map<string, unknown>();
    b.keywords.forEach((k, i) => { if (i < args.length) values.set(k, args[i]); });
    for (const [k, v] of Object.entries(kwargs)) {
      if (!b.keywords.includes(k)) return `got an unexpected keyword argument '${k}'`;
      if (values.has(k)) return `got multiple values for argument '${k}'`;
      values.set(k, v);
    }
    const missing = b.keywords.filter((k) => !values.has(k));
    if (missing.length > 0) return `missing required argument${missing.length > 1 ? 's' : ''}: ${missing.map((m) => `'${m}'`).join(', ')}`;
    const positional = b.keywords.slice(0, argsLen).map((k) => values.get(k));
    const kw = Object.fromEntries(b.keywords.slice(argsLen).map((k) => [k, values.get(k)]));
    return [positional, kw];
  }
  if (args.length > b.args.length && !b.varargs) return `takes ${b.args.length} positional argument${b.args.length === 1 ? '' : 's'} but ${args.length} were given`;
  const positional: unknown[] = [];
  const used = new Set<string>();
  for (let i = 0; i < b.args.length; i++) {
    const name = b.args[i];
    if (i < args.length) {
      if (Object.prototype.hasOwnProperty.call(kwargs, name)) return `got multiple values for argument '${name}'`;
      positional.push(args[i]);
    } else if (Object.prototype.hasOwnProperty.call(kwargs, name)) {
      positional.push(kwargs[name]);
      used.add(name);
    } else if (b.defaults.has(name)) positional.push(b.defaults.get(name));
    else return `missing a required argument: '${name}'`;
  }
  if (args.length > b.args.length) positional.push(...args.slice(b.args.length));
  const kw: Record<string, unknown> = {};
  for (const name of b.kwonly) {
    if (Object.prototype.hasOwnProperty.call(kwargs, name)) { kw[name] = kwargs[name]; used.add(name); }
    else if (b.kwonlyDefaults.has(name)) kw[name] = b.kwonlyDefaults.get(name);
    else return `missing a required keyword-only argument: '${name}'`;
  }
  for (const [k, v] of Object.entries(kwargs)) {
    if (used.has(k)) continue;
    if (!b.varkw) return `got an unexpected keyword argument '${k}'`;
    kw[k] = v;
  }
  return [positional, kw];
}

function formatConcreteInputs(c: Concrete): string {
  if (c.input.kind !== 'tuple' || c.input.items.length !== 2) return formatSpec(c.input);
  const [a, k] = c.input.items;
  const parts: string[] = [];
  if (a.kind === 'tuple') parts.push(...a.items.map(formatSpec));
  if (k.kind === 'dict') parts.push(...k.keys.map((key, i) => `${key}=${formatSpec(k.values[i])}`));
  return `(${parts.join(', ')})`;
}

function leafInfo(leaf: LeafSpec): TensorSpecInfo {
  return { dtype: leaf.dtype, shape: leaf.shape, kind: 'Tensor' };
}

function specInfo(spec: Spec): TensorSpecInfo {
  if (spec.kind === 'tensor') return leafInfo(spec.leaf);
  if (spec.kind === 'sparse') return { dtype: spec.dtype, shape: spec.shape, kind: 'SparseTensor' };
  if (spec.kind === 'ragged') return { dtype: spec.dtype, shape: spec.shape, kind: 'RaggedTensor' };
  throw new TfhubError('ERR_UNSUPPORTED_SIGNATURE', `signature value ${formatSpec(spec)} is not a tensor`);
}

/** A SavedVariable's declared shape (null: unknown rank, -1: unknown dimension). */
function variableShape(v: tensorflow.ISavedVariable): number[] | null {
  return v.shape && !v.shape.unknownRank ? (v.shape.dim ?? []).map((d) => Number(d.size)) : null;
}

/** Loads a TF2 SavedModel meta graph into a fresh graph and session. */
export async function loadObjectGraphModel(dir: string, metaGraph: tensorflow.IMetaGraphDef, sessionOptions: SessionOptions | undefined): Promise<ModelParts> {
  const loader = new ObjectGraphLoader(dir, metaGraph);
  try {
    return await loader.load(sessionOptions);
  } catch (e) {
    loader.dispose();
    throw e;
  }
}

class ObjectGraphLoader {
  private readonly graph = new Graph();
  private session: Session | null = null;
  private readonly nodes: SavedObject[];
  private readonly concrete = new Map<string, Concrete>();
  private readonly fdefs = new Map<string, tensorflow.IFunctionDef>();
  private readonly captures = new Map<number, Output>();
  private readonly built = new Map<string, BuiltCall>();
  private readonly variableHandles = new Map<number, Output>();
  private readonly variableReads = new Map<number, Output>();
  private readonly constantOutputs = new Map<number, Output>();
  private readonly callConfig: Uint8Array;

  constructor(private readonly dir: string, private readonly metaGraph: tensorflow.IMetaGraphDef) {
    this.nodes = metaGraph.objectGraphDef?.nodes ?? [];
    for (const [name, cf] of Object.entries(metaGraph.objectGraphDef?.concreteFunctions ?? {})) {
      this.concrete.set(name, {
        name,
        boundInputs: [...(cf.boundInputs ?? [])],
        input: decodeSpec(cf.canonicalizedInputSignature),
        output: decodeSpec(cf.outputSignature),
      });
    }
    // Python's eager runtime places function bodies with soft placement; do the same for our call ops.
    this.callConfig = encodeConfigProto({ allowSoftPlacement: true });
  }

  dispose(): void {
    this.session?.close();
    this.graph.dispose();
  }

  private child(nodeId: number, name: string): number | undefined {
    return (this.nodes[nodeId]?.children ?? []).find((c) => c.localName === name)?.nodeId ?? undefined;
  }

  async load(sessionOptions: SessionOptions | undefined): Promise<ModelParts> {
    if (this.nodes.length === 0) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: the meta graph has an empty object graph`);
    this.importLibrary();
    this.importConstants();
    this.createVariables();
    this.session = new Session(this.graph, sessionOptions);
    const ckpt = await this.restoreVariables();
    if (ckpt) await this.restoreSaveables(ckpt.graph, ckpt.map, ckpt.prefix);
    await this.initializeResources();
    return this.parts();
  }

  // ---------------------------------------------------------------------------------------------- graph setup

  private importLibrary(): void {
    const library = tensorflow.FunctionDefLibrary.create(this.metaGraph.graphDef?.library ?? {});
    // Stateful ops inside resource creators must find the same resource in every run: each distinct run of a
    // Session instantiates functions afresh, so give anonymous ones (empty shared_name) a stable name.
    const creators = new Set<string>();
    this.nodes.forEach((n) => {
      if (kindOf(n) !== 'resource') return;
      const id = (n.children ?? []).find((c) => c.localName === '_create_resource')?.nodeId;
      if (id !== undefined && id !== null) for (const c of this.concreteNamesOf(id)) creators.add(c);
    });
    const enc = new TextEncoder();
    for (const f of library.function ?? []) {
      const name = f.signature?.name ?? '';
      this.fdefs.set(name, f);
      if (!creators.has(name)) continue;
      for (const node of f.nodeDef ?? []) {
        const shared = node.attr?.shared_name;
        if (shared && (!shared.s || shared.s.length === 0) && !node.attr?.use_node_name_sharing?.b) shared.s = enc.encode(`${name}/${node.name}`);
      }
    }
    this.checkOpsRegistered(library);
    this.graph.importGraphDef(encodeGraphDef({ library, versions: this.metaGraph.graphDef?.versions }));
  }

  private checkOpsRegistered(library: tensorflow.IFunctionDefLibrary): void {
    const functions = new Set((library.function ?? []).map((f) => f.signature?.name ?? ''));
    const registry = opDefs();
    const missing = new Set<string>();
    for (const f of library.function ?? []) for (const n of f.nodeDef ?? []) {
      if (n.op && !functions.has(n.op) && !registry.has(n.op)) missing.add(n.op);
    }
    if (missing.size > 0) {
      throw new TfhubError('ERR_MISSING_OPS', `Graph ops missing from the registry: {${[...missing].sort().map((m) => `'${m}'`).join(', ')}}. Load the library that defines them first with loadOpLibrary(path) (e.g. the .so shipped with tensorflow_text or sentencepiece).`);
    }
  }

  private importConstants(): void {
    const wanted = new Map<string, number[]>();
    this.nodes.forEach((n, id) => {
      if (kindOf(n) !== 'constant') return;
      const op = n.constant?.operation ?? '';
      if (!wanted.has(op)) wanted.set(op, []);
      wanted.get(op)!.push(id);
    });
    if (wanted.size === 0) return;
    const nodes = (this.metaGraph.graphDef?.node ?? []).filter((n) => wanted.has(n.name ?? '')).map((n) => {
      const copy = tensorflow.NodeDef.create({ ...n, device: '', input: [] });
      return copy;
    });
    for (const op of wanted.keys()) {
      if (!nodes.some((n) => n.name === op)) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: captured constant '${op}' is not in the graph`);
    }
    const prefix = this.graph.uniqueName('saved_constants');
    const names = nodes.map((n) => `${n.name}:0`);
    const result = this.graph.importGraphDef(encodeGraphDef({ node: nodes, versions: this.metaGraph.graphDef?.versions }), { prefix, returnOutputs: names });
    nodes.forEach((n, i) => { for (const id of wanted.get(n.name ?? '')!) this.constantOutputs.set(id, result.outputs[i]); });
  }

  private createVariables(): void {
    this.graph.withNameScope('variables', () => {
      this.nodes.forEach((n, id) => {
        if (kindOf(n) !== 'variable') return;
        const v = n.variable!;
        const shape = variableShape(v);
        const name = this.graph.uniqueName(safeName(v.name || `variable_${id}`));
        const op = this.graph.addOperation('VarHandleOp', { name, attrs: { dtype: dtypeFromTf(v.dtype ?? 0), shape, shared_name: name } });
        this.variableHandles.set(id, op.output(0));
        this.captures.set(id, op.output(0));
      });
    });
  }

  // ---------------------------------------------------------------------------------------------- checkpoint

  private async readCheckpointObjectGraph(prefix: string): Promise<tensorflow.TrackableObjectGraph> {
    const g = this.graph;
    const restore = g.withNameScope('checkpoint_object_graph', () => g.addOperation('RestoreV2', {
      name: g.uniqueName('RestoreV2'),
      inputs: [g.constant(new Tensor('string', [], [prefix]), 'prefix'), g.constant(new Tensor('string', [1], ['_CHECKPOINTABLE_OBJECT_GRAPH']), 'tensor_names'), g.constant(new Tensor('string', [1], ['']), 'shape_and_slices')],
      attrs: { dtypes: ['string'] },
    }));
    const t = await this.session!.run(restore.output(0));
    try {
      return decodeTrackableObjectGraph(t.bytes()[0], `${prefix} (_CHECKPOINTABLE_OBJECT_GRAPH)`);
    } finally {
      t.dispose();
    }
  }

  /** Saved-object node id → checkpoint node id, by walking both graphs from the root along child names. */
  private matchCheckpointNodes(ckpt: tensorflow.TrackableObjectGraph): Map<number, number> {
    const map = new Map<number, number>([[0, 0]]);
    const queue = [0];
    while (queue.length > 0) {
      const id = queue.shift()!;
      const cid = map.get(id)!;
      const ckChildren = new Map((ckpt.nodes[cid]?.children ?? []).map((c) => [c.localName ?? '', c.nodeId ?? 0]));
      for (const c of this.nodes[id]?.children ?? []) {
        const target = ckChildren.get(c.localName ?? '');
        if (target === undefined || map.has(c.nodeId ?? 0)) continue;
        map.set(c.nodeId ?? 0, target);
        queue.push(c.nodeId ?? 0);
      }
    }
    return map;
  }

  /** Restores every variable; returns the checkpoint's object graph (null when the model has no checkpoint). */
  private async restoreVariables(): Promise<{ graph: tensorflow.TrackableObjectGraph; map: Map<number, number>; prefix: string } | null> {
    const prefix = path.join(this.dir, 'variables', 'variables');
    const hasCheckpoint = await fs.stat(prefix + '.index').then(() => true, () => false);
    if (!hasCheckpoint) {
      if (this.variableHandles.size === 0) return null;
      throw new TfhubError('ERR_CHECKPOINT_NOT_FOUND', `${this.dir} has variables but no checkpoint at ${prefix}.index`);
    }
    await readValidatedCheckpoint(prefix); // before TF reads anything of it
    const ckpt = await this.readCheckpointObjectGraph(prefix);
    const map = this.matchCheckpointNodes(ckpt);
    const result = { graph: ckpt, map, prefix };
    const ids: number[] = [];
    const keys: string[] = [];
    for (const id of this.variableHandles.keys()) {
      const cid = map.get(id);
      const attr = cid === undefined ? undefined : (ckpt.nodes[cid]?.attributes ?? []).find((a) => a.name === 'VARIABLE_VALUE');
      if (!attr?.checkpointKey) continue;  // not saved (Python leaves it uninitialized too)
      ids.push(id);
      keys.push(attr.checkpointKey);
    }
    if (ids.length === 0) return result;
    // AssignVariableOp takes any shape: a checkpoint tensor of another shape would be restored as it is and
    // broadcast later into wrong numbers. Python refuses such a restore; so do we, from the index, before any run.
    const index = await readCheckpointIndex(prefix);
    ids.forEach((id, i) => {
      const v = this.nodes[id].variable!;
      const declared = variableShape(v);
      const stored = index.entries.get(keys[i])?.shape ?? null;
      if (!isShapeCompatible(stored, declared)) {
        throw new TfhubError('ERR_CHECKPOINT_SHAPE', `Received incompatible tensor with shape ${formatShape(stored)} when attempting to restore variable ${v.name || keys[i]} with shape ${formatShape(declared)} (checkpoint key ${keys[i]} in ${prefix})`);
      }
    });
    const g = this.graph;
    const init = g.withNameScope('restore', () => {
      const restore = g.addOperation('RestoreV2', {
        name: g.uniqueName('RestoreV2'),
        inputs: [g.constant(new Tensor('string', [], [prefix]), 'prefix'), g.constant(new Tensor('string', [keys.length], keys), 'tensor_names'), g.constant(new Tensor('string', [keys.length], keys.map(() => '')), 'shape_and_slices')],
        attrs: { dtypes: ids.map((id) => dtypeFromTf(this.nodes[id].variable!.dtype ?? 0)) },
      });
      const assigns = ids.map((id, i) => g.addOperation('AssignVariableOp', { name: g.uniqueName('AssignVariableOp'), inputs: [this.variableHandles.get(id)!, restore.output(i)] }));
      return g.addOperation('NoOp', { name: g.uniqueName('restore_all'), controlInputs: assigns });
    });
    await this.session!.run([], undefined, { targets: [init] });
    return result;
  }

  /**
   * Restores objects saved through save/restore functions (e.g. MutableHashTable contents): the save function
   * names the checkpoint tensors, RestoreV2 reads them, the restore function takes them (Python's
   * RestoredSaveableObject).
   */
  private async restoreSaveables(ckpt: tensorflow.TrackableObjectGraph, map: Map<number, number>, prefix: string): Promise<void> {
    for (let id = 0; id < this.nodes.length; id++) {
      const saveables = Object.entries(this.nodes[id].saveableObjects ?? {});
      if (saveables.length === 0) continue;
      const cid = map.get(id);
      if (cid === undefined) continue;
      for (const [name, fns] of saveables) {
        const attr = (ckpt.nodes[cid]?.attributes ?? []).find((a) => a.name === name);
        if (!attr?.checkpointKey) continue;
        const save = this.concrete.get(this.concreteNamesOf(fns.saveFunction ?? -1)[0] ?? '');
        const restoreFn = this.concrete.get(this.concreteNamesOf(fns.restoreFunction ?? -1)[0] ?? '');
        if (!save || !restoreFn) throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.dir}: saveable '${name}' of object ${id} has no save/restore function`);
        const specs = await this.invokeConcrete(save, [attr.checkpointKey]) as Array<{ name: Tensor; slice_spec: Tensor; tensor: Tensor }>;
        if (!Array.isArray(specs)) throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.dir}: save function of '${name}' returned ${formatValue(specs)}`);
        const names = specs.map((s) => s.name.strings()[0]);
        const slices = specs.map((s) => s.slice_spec.strings()[0]);
        const dtypes = specs.map((s) => s.tensor.dtype);
        for (const s of specs) { s.name.dispose(); s.slice_spec.dispose(); s.tensor.dispose(); }
        const g = this.graph;
        const r = g.withNameScope('restore_saveables', () => g.addOperation('RestoreV2', {
          name: g.uniqueName('RestoreV2'),
          inputs: [g.constant(new Tensor('string', [], [prefix]), 'prefix'), g.constant(new Tensor('string', [names.length], names), 'tensor_names'), g.constant(new Tensor('string', [slices.length], slices), 'shape_and_slices')],
          attrs: { dtypes },
        }));
        const restored = await this.session!.run(r.outputs);
        try {
          await this.invokeConcrete(restoreFn, restored);
        } finally {
          for (const t of restored) t.dispose();
        }
      }
    }
  }

  /** Calls a concrete function with positional arguments (internal use). */
  private async invokeConcrete(c: Concrete, args: unknown[]): Promise<StructuredOutput> {
    const bound: BoundLeaf[] = [];
    const why = bindSpec(c.input, [args, {}], true, 'args', bound);
    if (why) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: cannot call ${c.name}: ${why}`);
    return this.runConcrete(c, bound);
  }

  // ---------------------------------------------------------------------------------------------- resources

  private concreteNamesOf(nodeId: number): string[] {
    const n = this.nodes[nodeId];
    if (!n) return [];
    if (kindOf(n) === 'function') return [...(n.function?.concreteFunctions ?? [])];
    if (kindOf(n) === 'bareConcreteFunction') return [n.bareConcreteFunction?.concreteFunctionName ?? ''];
    return [];
  }

  private resourceFunction(resourceId: number, name: string): Concrete | null {
    const id = this.child(resourceId, name);
    if (id === undefined) return null;
    const names = this.concreteNamesOf(id);
    const c = names.length > 0 ? this.concrete.get(names[0]) : undefined;
    return c ?? null;
  }

  private capture(id: number): Output {
    const cached = this.captures.get(id);
    if (cached) return cached;
    const node = this.nodes[id];
    if (!node) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: a function captures object ${id}, which does not exist`);
    let out: Output;
    switch (kindOf(node)) {
      case 'resource': {
        const creator = this.resourceFunction(id, '_create_resource');
        if (!creator) throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.dir}: resource object ${id} has no _create_resource function`);
        const built = this.build(creator, `resource_${id}`);
        if (built.outputs.length !== 1) throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.dir}: _create_resource of object ${id} returns ${built.outputs.length} values`);
        out = built.outputs[0];
        break;
      }
      case 'asset': {
        const index = node.asset?.assetFileDefIndex ?? 0;
        const def = this.metaGraph.assetFileDef?.[index];
        if (!def) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: asset ${index} is not in asset_file_def`);
        const file = path.join(this.dir, 'assets', def.filename ?? '');
        out = this.graph.withNameScope('assets', () => this.graph.constant(new Tensor('string', [], [file]), safeName(def.filename ?? 'asset')));
        break;
      }
      case 'constant': {
        const c = this.constantOutputs.get(id);
        if (!c) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: constant object ${id} was not imported`);
        out = c;
        break;
      }
      default:
        throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.dir}: functions capturing a '${kindOf(node)}' object (node ${id}) are not supported`);
    }
    this.captures.set(id, out);
    return out;
  }

  private async initializeResources(): Promise<void> {
    for (let id = 0; id < this.nodes.length; id++) {
      if (kindOf(this.nodes[id]) !== 'resource') continue;
      this.capture(id);
      const init = this.resourceFunction(id, '_initialize');
      if (!init) continue;
      const built = this.build(init, `resource_${id}_init`);
      await this.session!.run([], undefined, { targets: [built.op] });
    }
  }

  // ---------------------------------------------------------------------------------------------- calls

  private fdefOutputTypes(name: string): DType[] {
    const f = this.fdefs.get(name);
    if (!f) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: function ${name} is not in the graph's library`);
    return (f.signature?.outputArg ?? []).map((a) => dtypeFromTf(a.type ?? 0));
  }

  /** The call op of a concrete function (built once). */
  private build(c: Concrete, label?: string): BuiltCall {
    const cached = this.built.get(c.name);
    if (cached) return cached;
    const unsupported = unsupportedIn(c.input) ?? unsupportedIn(c.output);
    if (unsupported) throw new TfhubError('ERR_UNSUPPORTED_SIGNATURE', `function ${c.name} uses ${unsupported} values, which are not supported`);
    const fdef = this.fdefs.get(c.name);
    if (!fdef) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: function ${c.name} is not in the graph's library`);
    const leaves = flattenSpec(c.input);
    const inputArgs = fdef.signature?.inputArg ?? [];
    if (leaves.length + c.boundInputs.length !== inputArgs.length) {
      throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: function ${c.name} takes ${inputArgs.length} inputs, but its signature has ${leaves.length} tensors and ${c.boundInputs.length} captures`);
    }
    const g = this.graph;
    const scope = label ?? `call_${safeName(c.name.replace(/^__inference_/, ''))}`;
    return g.withNameScope(scope, () => {
      const placeholders = leaves.map((leaf, i) => g.placeholder(dtypeFromTf(inputArgs[i].type ?? 0), leaf.shape, `input_${i}`));
      const captured = c.boundInputs.map((id) => this.capture(id));
      const outTypes = this.fdefOutputTypes(c.name);
      const op = g.addOperation('StatefulPartitionedCall', {
        name: g.uniqueName('StatefulPartitionedCall'),
        inputs: [[...placeholders, ...captured]],
        attrs: { Tout: outTypes, f: c.name, config_proto: this.callConfig },
      });
      const built: BuiltCall = { placeholders, op, outputs: op.outputs };
      this.built.set(c.name, built);
      return built;
    });
  }

  /** Runs a concrete function on bound values (already checked against its input spec). */
  private async runConcrete(c: Concrete, bound: BoundLeaf[]): Promise<StructuredOutput> {
    const built = this.build(c);
    const expected = flattenSpec(c.output).length;
    if (expected !== built.outputs.length) {
      throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: function ${c.name} returns ${built.outputs.length} tensors but its output signature has ${expected}`);
    }
    const feeds = new Map<Output, Tensor>();
    const owned: Tensor[] = [];
    try {
      bound.forEach((b, i) => {
        const { tensor, owned: isOwned } = toTensor(b.value, b.leaf.dtype, `${c.name.replace(/^__inference_/, '')} ${b.path}`);
        if (isOwned) owned.push(tensor);
        feeds.set(built.placeholders[i], tensor);
      });
      const flat = built.outputs.length > 0
        ? await this.session!.run(built.outputs, feeds)
        : (await this.session!.run([], feeds, { targets: [built.op] }), []);
      return packOutputs(c.output, flat as Tensor[]);
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  private restoredFunction(nodeId: number, fnPath: string): ModelParts['functions'][number] {
    const node = this.nodes[nodeId];
    const binding: ArgBinding = kindOf(node) === 'function'
      ? bindingFromFunctionSpec(node.function?.functionSpec)
      : { kind: 'keywords', keywords: [...(node.bareConcreteFunction?.argumentKeywords ?? [])], positional: Number(node.bareConcreteFunction?.allowedPositionalArguments ?? 0) };
    const concretes = this.concreteNamesOf(nodeId).map((n) => this.concrete.get(n)).filter((c): c is Concrete => !!c);
    const infos: ConcreteFunctionInfo[] = concretes.map((c) => ({ name: c.name, inputSignature: formatConcreteInputs(c), outputSignature: formatSpec(c.output) }));
    const invoke = async (args: unknown[], kwargs: Record<string, unknown>): Promise<StructuredOutput> => {
      const reasons = new Map<Concrete, string>();
      for (const allowConversion of [false, true]) {
        for (const c of concretes) {
          const bound = bindArguments(binding, c, args, kwargs);
          if (typeof bound === 'string') {
            reasons.set(c, bound);
            continue;
          }
          const leaves: BoundLeaf[] = [];
          const why = bindSpec(c.input, bound, allowConversion, 'args', leaves);
          if (why === null) return this.runConcrete(c, leaves);
          reasons.set(c, why.replace(/^args\[0\]\[(\d+)\]/, 'args[$1]').replace(/^args\[1\]\./, 'kwargs.'));
        }
      }
      const got = [...args.map((a) => formatValue(a)), ...Object.entries(kwargs).map(([k, v]) => `${k}=${formatValue(v)}`)].join(', ');
      const options = concretes.map((c, i) => `  Option ${i + 1}: ${infos[i].inputSignature}\n    (${reasons.get(c) ?? 'no match'})`).join('\n');
      throw typeError('ERR_NO_MATCHING_FUNCTION',
        `Could not find matching concrete function to call loaded from the SavedModel for '${fnPath}'. Got: (${got}).\n` +
        `Expected these arguments to match one of the following ${concretes.length} option(s):\n${options}`);
    };
    return { path: fnPath, concreteFunctions: infos, invoke };
  }

  // ---------------------------------------------------------------------------------------------- the API

  /** Attribute paths of every function node reachable from the root (signature maps and resources excluded). */
  private functionPaths(): Map<string, number> {
    const paths = new Map<string, number>();
    const visited = new Set<number>([0]);
    const queue: Array<[number, string]> = [[0, '']];
    const LIMIT = 20000;
    while (queue.length > 0 && paths.size < LIMIT) {
      const [id, prefix] = queue.shift()!;
      for (const c of this.nodes[id]?.children ?? []) {
        const cid = c.nodeId ?? 0;
        const child = this.nodes[cid];
        if (!child) continue;
        const p = prefix ? `${prefix}.${c.localName}` : c.localName ?? '';
        const kind = kindOf(child);
        if (kind === 'function' || kind === 'bareConcreteFunction') {
          if (!paths.has(p)) paths.set(p, cid);
        } else if (kind === 'userObject' && child.userObject?.identifier !== 'signature_map' && !visited.has(cid)) {
          visited.add(cid);
          queue.push([cid, p]);
        }
      }
    }
    return paths;
  }

  private listChildren(nodeId: number | undefined): number[] {
    if (nodeId === undefined) return [];
    const node = this.nodes[nodeId];
    if (kindOf(node) !== 'userObject') return [nodeId];
    const children = [...(node.children ?? [])].filter((c) => /^\d+$/.test(c.localName ?? ''));
    children.sort((a, b) => Number(a.localName) - Number(b.localName));
    return children.flatMap((c) => this.listChildren(c.nodeId ?? 0));
  }

  private variablePart(id: number): ModelParts['variables'][number] {
    const v = this.nodes[id].variable!;
    const dtype = dtypeFromTf(v.dtype ?? 0);
    const shape = variableShape(v);
    const read = async (): Promise<Tensor> => {
      let out = this.variableReads.get(id);
      if (!out) {
        const handle = this.variableHandles.get(id)!;
        out = this.graph.addOperation('ReadVariableOp', { name: this.graph.uniqueName(`${handle.op.name}/Read/ReadVariableOp`), inputs: [handle], attrs: { dtype } }).output(0);
        this.variableReads.set(id, out);
      }
      return this.session!.run(out);
    };
    return { name: `${v.name}:0`, dtype, shape, trainable: !!v.trainable, read };
  }

  private signatures(): ModelParts['signatures'] {
    const mapId = this.child(0, 'signatures');
    if (mapId === undefined || this.nodes[mapId]?.userObject?.identifier !== 'signature_map') return [];
    const out: ModelParts['signatures'] = [];
    for (const ref of this.nodes[mapId].children ?? []) {
      const name = ref.localName ?? '';
      const cname = this.concreteNamesOf(ref.nodeId ?? 0)[0];
      const c = cname ? this.concrete.get(cname) : undefined;
      if (!c) continue;
      const kw = c.input.kind === 'tuple' ? c.input.items[1] : undefined;
      const args = c.input.kind === 'tuple' ? c.input.items[0] : undefined;
      if (!kw || kw.kind !== 'dict' || !args || args.kind !== 'tuple' || args.items.length > 0 || kw.values.some((v) => v.kind !== 'tensor')) continue;
      if (c.output.kind !== 'dict') continue;
      const leaves = new Map(kw.keys.map((k, i) => [k, (kw.values[i] as { leaf: LeafSpec }).leaf]));
      const keys = kw.keys;
      const outSpec = c.output;
      const inputs = Object.fromEntries(keys.map((k) => [k, leafInfo(leaves.get(k)!)]));
      const outputs = Object.fromEntries(outSpec.keys.map((k, i) => [k, specInfo(outSpec.values[i])]));
      const run = async (given: unknown) => {
        const dict = normalizeSignatureInputs(name, keys, given);
        for (const k of keys) checkSignatureInput(name, k, leaves.get(k)!, dict[k]);
        const bound: BoundLeaf[] = [];
        const why = bindSpec(c.input, [[], dict], true, 'inputs', bound);
        if (why) throw typeError('ERR_SIGNATURE_INPUTS', `Signature '${name}': ${why}`);
        return await this.runConcrete(c, bound) as Record<string, never>;
      };
      out.push({ name, inputs, outputs, run });
    }
    return out;
  }

  private parts(): ModelParts {
    const functionPaths = this.functionPaths();
    const lossesId = this.child(0, 'regularization_losses');
    const lossPaths: string[] = [];
    if (lossesId !== undefined && kindOf(this.nodes[lossesId]) === 'userObject') {
      const refs = [...(this.nodes[lossesId].children ?? [])].filter((c) => /^\d+$/.test(c.localName ?? '')).sort((a, b) => Number(a.localName) - Number(b.localName));
      for (const r of refs) {
        const kind = kindOf(this.nodes[r.nodeId ?? 0]);
        if (kind !== 'function' && kind !== 'bareConcreteFunction') continue;
        const p = `regularization_losses.${r.localName}`;
        if (!functionPaths.has(p)) functionPaths.set(p, r.nodeId ?? 0);
        lossPaths.push(p);
      }
    }
    const functions = [...functionPaths.entries()].map(([p, id]) => this.restoredFunction(id, p));

    const varParts = new Map<number, ModelParts['variables'][number]>();
    const part = (id: number) => {
      let p = varParts.get(id);
      if (!p) varParts.set(id, (p = this.variablePart(id)));
      return p;
    };
    const isVar = (id: number) => kindOf(this.nodes[id]) === 'variable';
    const varsId = this.child(0, 'variables');
    const trainId = this.child(0, 'trainable_variables');
    const saveCounter = this.child(0, 'save_counter');
    const allVars = [...this.variableHandles.keys()].filter((id) => id !== saveCounter);
    const variables = varsId !== undefined ? this.listChildren(varsId).filter(isVar).map(part) : allVars.map(part);
    const trainableVariables = trainId !== undefined ? this.listChildren(trainId).filter(isVar).map(part) : variables.filter((v) => v.trainable);

    return {
      format: 'tf2_saved_model',
      graph: this.graph,
      session: this.session!,
      signatures: this.signatures(),
      functions,
      variables,
      trainableVariables,
      regularizationLosses: lossPaths,
      tensorflowVersion: this.metaGraph.metaInfoDef?.tensorflowVersion ?? '',
    };
  }
}
