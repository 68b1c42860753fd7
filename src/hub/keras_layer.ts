/**
 * `hub.KerasLayer`: a SavedModel (or TF1 Hub module) as a layer of a graph the caller builds, for inference and
 * fine-tuning (Python's `hub.KerasLayer`).
 *
 * For a TF2 SavedModel, `apply` builds the model into the caller's graph with the restored functions *inlined*
 * (src/inline.ts), so `graph.addGradients` works through them. The layer's variables are created once per
 * (layer, graph) as `VarHandleOp`s under the layer's scope; each Variable's `initializer` restores it from the
 * SavedModel's checkpoint (RestoreV2 by its object-graph key + AssignVariableOp), so
 * `graph.globalVariablesInitializer()` restores them. A TF1 Hub module is delegated to `hub.Module`.
 *
 *   const layer = await hub.KerasLayer.load('path/to/saved_model', { trainable: true });
 *   const y = layer.apply(graph, x) as Output;
 *   const grads = graph.addGradients(loss, layer.trainableWeights(graph));
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { dtypeFromTf } from '../dtypes';
import { TfhubError, typeError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import { inlineFunctionDetailed } from '../inline';
import { decodeTrackableObjectGraph, tensorflow, toSafeNumber } from '../proto';
import { Session } from '../session';
import { Tensor } from '../tensor';
import { GraphKeys, Variable } from '../variable';
import { CheckpointIndex, readCheckpointString } from './checkpoint';
import { readValidatedCheckpoint } from './checkpoint_validate';
import { copyModelFile } from '../io/read_model_file';
import { writeNewDirectory } from './export';
import { Module, ModuleOutput } from './module';
import { readSavedModel } from './saved_model';
import { ModuleSpec, loadModuleSpecFromDir } from './spec';
import { resolve } from './resolver';
import { formatShape, isShapeCompatible } from './tensor_info';
import { chooseMetaGraph, isTf1HubModule } from './tf2/load';
import { ArgBinding, Concrete, bindArguments, bindingFromFunctionSpec } from './tf2/object_graph';
import { BoundLeaf as BoundValue, LeafBinder, LeafSpec, Spec, bindSpec, decodeSpec, flattenSpec, formatSpec, formatValue, packOutputs, Structured, tensorBinder, toTensor, unsupportedIn } from './tf2/structure';

type SavedObject = tensorflow.ISavedObject;

/** Options of `KerasLayer.load` (Python's `hub.KerasLayer(handle, …)` arguments, camelCased). */
export interface KerasLayerOptions {
  /**
   * Whether the layer's variables are trained (default false): they go to the graph's `trainable_variables`
   * collection, `trainableWeights` lists them, the model's regularization losses are applied, and a `training`
   * argument of `__call__` receives `apply`'s `training` option (else always false).
   */
  trainable?: boolean;
  /**
   * Call this signature (`model.signatures[name]`) instead of the object's `__call__`; then exactly one of
   * `outputKey` / `signatureOutputsAsDict` must be set. For a TF1 Hub module the default is `'default'`.
   */
  signature?: string;
  /** Return only this output of the result (which must be a record). TF1 Hub module default: `'default'`. */
  outputKey?: string;
  /** Return every output of the signature as a record (needs `signature`, or a TF1 Hub module). */
  signatureOutputsAsDict?: boolean;
  /** Extra keyword arguments of every call (Python's `arguments`): JS values, Tensors or Outputs of the graph. */
  arguments?: Record<string, unknown>;
  /**
   * Tag set of the meta graph to load. Default as `hub.load`: `[]` for a TF1 Hub module, otherwise the only meta
   * graph or the one tagged exactly `['serve']`.
   */
  tags?: Iterable<string> | null;
  /** Base name of the layer's scope in each graph (made unique there; default `'keras_layer'`). */
  name?: string;
  /** Maps the handle to a local directory; default `hub.resolve` (paths, file:// and http(s) URLs, archives). */
  resolve?: (handle: string) => Promise<string> | string;
}

/** Options of `layer.apply`. */
export interface KerasLayerApplyOptions {
  /**
   * Training mode (default false). As in Python, a `training` argument of `__call__` receives
   * `trainable && training`; signatures and TF1 modules have none (a TF1 module's training variant is chosen
   * with `tags`).
   */
  training?: boolean;
}

/**
 * What `apply` returns: the called function's output structure made of graph Outputs — usually one Output, or
 * a record of Outputs for a signature with `signatureOutputsAsDict` (sparse/ragged values as records of Outputs).
 */
export type KerasLayerOutput = Structured<Output>;

/** Format of the model behind a layer. */
export type KerasLayerFormat = 'tf2_saved_model' | 'tf1_hub_module';

function invalid(message: string): TfhubError {
  return new TfhubError('ERR_INVALID_ARG_VALUE', message);
}

function kindOf(node: SavedObject | undefined): string {
  return (node as { kind?: string } | undefined)?.kind ?? '';
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/^[^A-Za-z0-9.]+/, '').replace(/(?<!\/)\/+$/, '') || 'x'; // lookbehind: linear on long runs of '/'
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

// ------------------------------------------------------------------------------------------------ binding

/**
 * Graph calls bind Outputs (dtype equal, static shape compatible) as well as Tensors and, with
 * `allowConversion`, JS values.
 */
const graphBinder: LeafBinder = {
  mismatch(value, leaf, allowConversion) {
    if (!(value instanceof Output)) return tensorBinder.mismatch(value, leaf, allowConversion);
    if (value.dtype !== leaf.dtype) return `got a ${value.dtype} Output, expected ${leaf.dtype}`;
    if (!isShapeCompatible(value.shape, leaf.shape)) return `got shape ${formatShape(value.shape)}, expected ${formatShape(leaf.shape)}`;
    return null;
  },
  isLeaf: (value) => value instanceof Output || value instanceof Tensor,
  describe: (value) => (value instanceof Output ? value.toString() : formatValue(value)),
};

/** The record a signature is called with: `inputs` (a record, or the value of the one remaining key) plus `arguments`. */
function signatureInputs(name: string, keys: string[], inputs: unknown, extra: Record<string, unknown>): Record<string, unknown> {
  let dict: Record<string, unknown>;
  if (isPlainObject(inputs) && !('indices' in inputs && 'denseShape' in inputs) && !('rowSplits' in inputs)) dict = { ...extra, ...inputs };
  else {
    const free = keys.filter((k) => !(k in extra));
    if (free.length !== 1) {
      throw typeError('ERR_SIGNATURE_INPUTS', `Signature '${name}' expects inputs [${[...keys].sort().map((k) => `'${k}'`).join(', ')}]: pass a record`);
    }
    dict = { ...extra, [free[0]]: inputs };
  }
  const missing = keys.filter((k) => dict[k] === undefined).sort();
  const unknown = Object.keys(dict).filter((k) => !keys.includes(k)).sort();
  if (missing.length > 0 || unknown.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing [${missing.map((k) => `'${k}'`).join(', ')}]`);
    if (unknown.length > 0) parts.push(`extra given [${unknown.map((k) => `'${k}'`).join(', ')}]`);
    throw typeError('ERR_SIGNATURE_INPUTS', `Signature '${name}' cannot take these inputs: ${parts.join(', ')} (expected [${[...keys].sort().map((k) => `'${k}'`).join(', ')}])`);
  }
  return dict;
}

/** Turns a bound value into an Output of `graph` (Tensors and JS values become constants). */
function toGraphOutput(graph: Graph, b: BoundValue): Output {
  if (b.value instanceof Output) {
    if (b.value.graph !== graph) throw new TfhubError('ERR_GRAPH_MISMATCH', `input ${b.value.name} belongs to another graph than the one the layer is applied in`);
    return b.value;
  }
  const { tensor, owned } = toTensor(b.value, b.leaf.dtype);
  try {
    return graph.constant(tensor);
  } finally {
    if (owned) tensor.dispose();
  }
}

// ------------------------------------------------------------------------------------------------ TF2 models

/** A restored function's traces and how it binds arguments. */
interface CallableFunction {
  readonly path: string;
  readonly binding: ArgBinding;
  readonly concretes: Concrete[];
}

/** What a TF2 layer holds in one graph. */
interface GraphState {
  readonly graph: Graph;
  /** Absolute scope of the layer's nodes in this graph, e.g. `keras_layer_1`. */
  readonly scope: string;
  /** Variable object id → Variable. */
  readonly variables: Map<number, Variable>;
  /** Captured object id → the Output functions take for it. */
  readonly captures: Map<number, Output>;
  losses: Output[] | null;
}

/** The parsed TF2 SavedModel behind a layer (shared by every graph it is applied in). */
class Tf2Model {
  readonly nodes: SavedObject[];
  readonly concrete = new Map<string, Concrete>();
  readonly fdefs = new Map<string, tensorflow.IFunctionDef>();
  readonly library: tensorflow.IFunctionDefLibrary;
  /** Variable object id → checkpoint key (`…/.ATTRIBUTES/VARIABLE_VALUE`). */
  readonly variableKeys = new Map<number, string>();
  /** The layer's weights: the root's `variables` (else every variable but `save_counter`). */
  readonly weightIds: number[];
  /** The root's `trainable_variables` (else the trainable ones of the weights), in that order. */
  readonly trainableOrder: number[];
  readonly trainableIds: Set<number>;
  /** Function object ids of the root's `regularization_losses`. */
  readonly lossIds: number[];

  constructor(
    readonly dir: string,
    readonly metaGraph: tensorflow.IMetaGraphDef,
    readonly index: CheckpointIndex | null,
    checkpointGraph: tensorflow.TrackableObjectGraph | null,
  ) {
    this.nodes = metaGraph.objectGraphDef?.nodes ?? [];
    for (const [name, cf] of Object.entries(metaGraph.objectGraphDef?.concreteFunctions ?? {})) {
      this.concrete.set(name, { name, boundInputs: [...(cf.boundInputs ?? [])], input: decodeSpec(cf.canonicalizedInputSignature), output: decodeSpec(cf.outputSignature) });
    }
    this.library = metaGraph.graphDef?.library ?? {};
    for (const f of this.library.function ?? []) this.fdefs.set(f.signature?.name ?? '', f);
    if (checkpointGraph) {
      for (const [id, cid] of this.matchCheckpoint(checkpointGraph)) {
        if (kindOf(this.nodes[id]) !== 'variable') continue;
        const attr = (checkpointGraph.nodes[cid]?.attributes ?? []).find((a) => a.name === 'VARIABLE_VALUE');
        if (attr?.checkpointKey) this.variableKeys.set(id, attr.checkpointKey);
      }
    }
    const isVar = (id: number) => kindOf(this.nodes[id]) === 'variable';
    const varsId = this.child(0, 'variables');
    const trainId = this.child(0, 'trainable_variables');
    const saveCounter = this.child(0, 'save_counter');
    const all = this.nodes.map((_, id) => id).filter((id) => isVar(id) && id !== saveCounter);
    this.weightIds = [...new Set(varsId !== undefined ? this.listChildren(varsId).filter(isVar) : all)];
    this.trainableOrder = [...new Set(trainId !== undefined
      ? this.listChildren(trainId).filter(isVar)
      : this.weightIds.filter((id) => !!this.nodes[id].variable?.trainable))];
    this.trainableIds = new Set(this.trainableOrder);
    for (const id of this.trainableIds) if (!this.weightIds.includes(id)) this.weightIds.push(id);
    const lossesId = this.child(0, 'regularization_losses');
    this.lossIds = lossesId !== undefined ? this.listChildren(lossesId).filter((id) => ['function', 'bareConcreteFunction'].includes(kindOf(this.nodes[id]))) : [];
  }

  child(nodeId: number, name: string): number | undefined {
    const id = (this.nodes[nodeId]?.children ?? []).find((c) => c.localName === name)?.nodeId;
    return id === null || id === undefined ? undefined : id;
  }

  /** Elements of a (nested) trackable list, in index order. */
  listChildren(nodeId: number): number[] {
    const node = this.nodes[nodeId];
    if (kindOf(node) !== 'userObject') return [nodeId];
    const children = [...(node.children ?? [])].filter((c) => /^\d+$/.test(c.localName ?? ''));
    children.sort((a, b) => Number(a.localName) - Number(b.localName));
    return children.flatMap((c) => this.listChildren(c.nodeId ?? 0));
  }

  /** Saved-object id → checkpoint node id, walking both object graphs from the root along child names. */
  private matchCheckpoint(ckpt: tensorflow.TrackableObjectGraph): Map<number, number> {
    const map = new Map<number, number>([[0, 0]]);
    const queue = [0];
    while (queue.length > 0) {
      const id = queue.shift()!;
      const ckChildren = new Map((ckpt.nodes[map.get(id)!]?.children ?? []).map((c) => [c.localName ?? '', c.nodeId ?? 0]));
      for (const c of this.nodes[id]?.children ?? []) {
        const target = ckChildren.get(c.localName ?? '');
        if (target === undefined || map.has(c.nodeId ?? 0)) continue;
        map.set(c.nodeId ?? 0, target);
        queue.push(c.nodeId ?? 0);
      }
    }
    return map;
  }

  concreteNamesOf(nodeId: number): string[] {
    const n = this.nodes[nodeId];
    if (kindOf(n) === 'function') return [...(n.function?.concreteFunctions ?? [])];
    if (kindOf(n) === 'bareConcreteFunction') return [n.bareConcreteFunction?.concreteFunctionName ?? ''];
    return [];
  }

  firstConcrete(nodeId: number, what: string): Concrete {
    const name = this.concreteNamesOf(nodeId)[0];
    const c = name ? this.concrete.get(name) : undefined;
    if (!c) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: ${what} has no concrete function`);
    return c;
  }

  /** The root's restored `__call__`, or null. */
  callFunction(): CallableFunction | null {
    const id = this.child(0, '__call__');
    if (id === undefined) return null;
    const node = this.nodes[id];
    const kind = kindOf(node);
    if (kind !== 'function' && kind !== 'bareConcreteFunction') return null;
    const binding: ArgBinding = kind === 'function'
      ? bindingFromFunctionSpec(node.function?.functionSpec)
      : { kind: 'keywords', keywords: [...(node.bareConcreteFunction?.argumentKeywords ?? [])], positional: Number(node.bareConcreteFunction?.allowedPositionalArguments ?? 0) };
    const concretes = this.concreteNamesOf(id).map((n) => this.concrete.get(n)).filter((c): c is Concrete => !!c);
    return { path: '__call__', binding, concretes };
  }

  /** Signature name → its concrete function. */
  signatures(): Map<string, Concrete> {
    const out = new Map<string, Concrete>();
    const mapId = this.child(0, 'signatures');
    if (mapId === undefined || this.nodes[mapId]?.userObject?.identifier !== 'signature_map') return out;
    for (const ref of this.nodes[mapId].children ?? []) {
      const name = this.concreteNamesOf(ref.nodeId ?? 0)[0];
      const c = name ? this.concrete.get(name) : undefined;
      if (c) out.set(ref.localName ?? '', c);
    }
    return out;
  }
}

/** Whether a restored function takes a `training` argument (Python's `func_has_training_argument`). */
function hasTrainingArgument(b: ArgBinding): boolean {
  return b.kind === 'spec' ? b.args.includes('training') || b.kwonly.includes('training') : b.keywords.includes('training');
}

class Tf2Layer {
  private readonly states = new WeakMap<Graph, GraphState>();
  private readonly callFn: CallableFunction | null;
  private readonly signature: Concrete | null;
  private readonly signatureKeys: string[];

  constructor(private readonly layer: KerasLayer, readonly model: Tf2Model) {
    this.callFn = model.callFunction();
    const signatures = model.signatures();
    if (layer.signature !== undefined) {
      const c = signatures.get(layer.signature);
      if (!c) {
        throw new TfhubError('ERR_UNKNOWN_SIGNATURE', `${model.dir} has no signature '${layer.signature}' (signatures: ${[...signatures.keys()].map((k) => `'${k}'`).join(', ') || 'none'})`);
      }
      const args = c.input.kind === 'tuple' ? c.input.items[0] : undefined;
      const kw = c.input.kind === 'tuple' ? c.input.items[1] : undefined;
      if (!args || args.kind !== 'tuple' || args.items.length > 0 || !kw || kw.kind !== 'dict') {
        throw new TfhubError('ERR_UNSUPPORTED_SIGNATURE', `signature '${layer.signature}' of ${model.dir} does not take keyword tensors`);
      }
      if (layer.outputKey !== undefined && (c.output.kind !== 'dict' || !c.output.keys.includes(layer.outputKey))) {
        const keys = c.output.kind === 'dict' ? c.output.keys : [];
        throw invalid(`KerasLayer output does not contain the output key '${layer.outputKey}' (available: ${keys.map((k) => `'${k}'`).join(', ')})`);
      }
      this.signature = c;
      this.signatureKeys = kw.keys;
    } else {
      if (!this.callFn || this.callFn.concretes.length === 0) {
        throw new TfhubError('ERR_NOT_CALLABLE',
          `${model.dir}: the SavedModel's root object has no __call__; pass {signature} (signatures: ${[...signatures.keys()].map((k) => `'${k}'`).join(', ') || 'none'})`);
      }
      this.signature = null;
      this.signatureKeys = [];
    }
  }

  // -------------------------------------------------------------------------------------------- per graph

  state(graph: Graph): GraphState {
    if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'expected a Graph');
    let s = this.states.get(graph);
    if (s) return s;
    if (graph.isDisposed) throw new TfhubError('ERR_DISPOSED', 'the graph was disposed');
    s = { graph, scope: graph.uniqueName(this.layer.name), variables: new Map(), captures: new Map(), losses: null };
    this.states.set(graph, s);
    this.createVariables(s, this.model.weightIds);
    if (this.layer.trainable) {
      s.losses = this.model.lossIds.map((id, i) => {
        const c = this.model.firstConcrete(id, `regularization_losses[${i}]`);
        const out = this.inline(s!, c, [], `regularization_loss_${i}`);
        if (out.length !== 1) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.model.dir}: regularization_losses[${i}] returns ${out.length} tensors`);
        return out[0];
      });
      for (const l of s.losses) graph.addToCollection(GraphKeys.REGULARIZATION_LOSSES, l);
    }
    return s;
  }

  built(graph: Graph): GraphState | undefined {
    return this.states.get(graph);
  }

  /** Creates the variables `ids` (those not made yet) with checkpoint-restoring initializers. */
  private createVariables(s: GraphState, ids: number[]): void {
    const g = s.graph;
    const todo = [...new Set(ids)].filter((id) => !s.variables.has(id));
    if (todo.length === 0) return;
    g.withNameScope(s.scope + '/', () => {
      const made = todo.map((id) => {
        const v = this.model.nodes[id].variable!;
        const dtype = dtypeFromTf(v.dtype ?? 0);
        const shape = v.shape && !v.shape.unknownRank ? (v.shape.dim ?? []).map((d) => toSafeNumber(d.size ?? 0, 'variable shape')) : null;
        const name = g.uniqueName(safeName(v.name || `variable_${id}`));
        const op = g.addOperation('VarHandleOp', { name, attrs: { dtype, shape, shared_name: name } });
        return { id, op, dtype, shape };
      });
      const restorable = made.filter((m) => this.model.variableKeys.has(m.id) && this.model.index);
      let restore: Operation | null = null;
      if (restorable.length > 0) {
        restore = g.withNameScope('restore', () => {
          const keys = restorable.map((m) => this.model.variableKeys.get(m.id)!);
          const prefix = new Tensor('string', [], [this.model.index!.prefix]);
          const names = new Tensor('string', [keys.length], keys);
          const slices = new Tensor('string', [keys.length], keys.map(() => ''));
          try {
            return g.addOperation('RestoreV2', {
              name: g.uniqueName('RestoreV2'),
              inputs: [g.constant(prefix, 'prefix'), g.constant(names, 'tensor_names'), g.constant(slices, 'shape_and_slices')],
              attrs: { dtypes: restorable.map((m) => m.dtype) },
            });
          } finally {
            prefix.dispose(); names.dispose(); slices.dispose();
          }
        });
      }
      for (const m of made) {
        const handle = m.op.output(0);
        const k = restorable.indexOf(m);
        let init: Operation;
        if (restore && k >= 0) {
          // A checkpoint tensor of another shape would silently reshape a resource variable: check it.
          const value = m.shape === null ? restore.output(k)
            : g.addOperation('EnsureShape', { name: g.uniqueName(`${m.op.name.slice(s.scope.length + 1)}/EnsureShape`), inputs: [restore.output(k)], attrs: { shape: m.shape } }).output(0);
          init = g.addOperation('AssignVariableOp', { name: g.uniqueName(`${m.op.name.slice(s.scope.length + 1)}/Restore`), inputs: [handle, value] });
        } else {
          init = g.addOperation('NoOp', { name: g.uniqueName(`${m.op.name.slice(s.scope.length + 1)}/no_initializer`) });
        }
        const read = g.addOperation('ReadVariableOp', { name: g.uniqueName(`${m.op.name.slice(s.scope.length + 1)}/Read/ReadVariableOp`), inputs: [handle], attrs: { dtype: m.dtype } }).output(0);
        const trainable = this.model.trainableIds.has(m.id);
        const variable = new Variable(m.op, init, read, trainable, null);
        s.variables.set(m.id, variable);
        s.captures.set(m.id, handle);
        g.addToCollection(GraphKeys.GLOBAL_VARIABLES, variable);
        if (this.layer.trainable && trainable) g.addToCollection(GraphKeys.TRAINABLE_VARIABLES, variable);
      }
    });
  }

  /** The Output a function takes for captured object `id` (variables, constants, assets, resources). */
  private capture(s: GraphState, id: number): Output {
    const cached = s.captures.get(id);
    if (cached) return cached;
    const g = s.graph;
    const node = this.model.nodes[id];
    let out: Output;
    switch (kindOf(node)) {
      case 'variable':
        this.createVariables(s, [id]);
        return s.captures.get(id)!;
      case 'constant': {
        const opName = node!.constant?.operation ?? '';
        const def = (this.model.metaGraph.graphDef?.node ?? []).find((n) => n.name === opName);
        if (!def || def.op !== 'Const') throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.model.dir}: captured constant '${opName}' is not a Const of the graph`);
        out = g.withNameScope(s.scope + '/', () => g.addOperation('Const', {
          name: g.uniqueName(`constants/${safeName(opName)}`),
          attrs: { dtype: tensorflow.AttrValue.create(def.attr!.dtype!), value: tensorflow.AttrValue.create(def.attr!.value!) },
        }).output(0));
        break;
      }
      case 'asset': {
        const index = node!.asset?.assetFileDefIndex ?? 0;
        const def = this.model.metaGraph.assetFileDef?.[index];
        if (!def) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.model.dir}: asset ${index} is not in asset_file_def`);
        const file = path.join(this.model.dir, 'assets', def.filename ?? '');
        out = g.withNameScope(s.scope + '/assets/', () => g.constant(new Tensor('string', [], [file]), safeName(def.filename ?? 'asset')));
        g.addToCollection(GraphKeys.ASSET_FILEPATHS, out);
        break;
      }
      case 'resource': {
        const createId = this.model.child(id, '_create_resource');
        if (createId === undefined) throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.model.dir}: resource object ${id} has no _create_resource function`);
        const created = this.inline(s, this.model.firstConcrete(createId, `_create_resource of object ${id}`), [], `resource_${id}`);
        if (created.length !== 1) throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.model.dir}: _create_resource of object ${id} returns ${created.length} values`);
        out = created[0];
        s.captures.set(id, out);
        const initId = this.model.child(id, '_initialize');
        if (initId !== undefined) {
          const c = this.model.firstConcrete(initId, `_initialize of object ${id}`);
          const { ops } = this.inlineWithOps(s, c, [], `resource_${id}_init`);
          const init = g.addOperation('NoOp', { name: g.uniqueName(`${s.scope}/resource_${id}_initializer`), controlInputs: ops });
          g.addToCollection(GraphKeys.TABLE_INITIALIZERS, init);
        }
        return out;
      }
      default:
        throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.model.dir}: functions capturing a '${kindOf(node)}' object (node ${id}) are not supported`);
    }
    s.captures.set(id, out);
    return out;
  }

  private inline(s: GraphState, c: Concrete, inputs: Output[], label: string): Output[] {
    return this.inlineWithOps(s, c, inputs, label).outputs;
  }

  /** Inlines concrete function `c` (its captures wired to this graph's objects) under the layer's scope. */
  private inlineWithOps(s: GraphState, c: Concrete, inputs: Output[], label: string): { outputs: Output[]; ops: Operation[] } {
    const unsupported = unsupportedIn(c.input) ?? unsupportedIn(c.output);
    if (unsupported) throw new TfhubError('ERR_UNSUPPORTED_SIGNATURE', `function ${c.name} uses ${unsupported} values, which are not supported`);
    const fdef = this.model.fdefs.get(c.name);
    if (!fdef) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.model.dir}: function ${c.name} is not in the graph's library`);
    const nArgs = fdef.signature?.inputArg?.length ?? 0;
    if (inputs.length + c.boundInputs.length !== nArgs) {
      throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.model.dir}: function ${c.name} takes ${nArgs} inputs, but its signature has ${inputs.length} tensors and ${c.boundInputs.length} captures`);
    }
    const captured = c.boundInputs.map((id) => this.capture(s, id));
    const g = s.graph;
    const r = g.withNameScope(s.scope + '/', () => inlineFunctionDetailed(g, fdef, [...inputs, ...captured], { library: this.model.library, name: label }));
    return { outputs: r.outputs, ops: r.operations };
  }

  // -------------------------------------------------------------------------------------------- calls

  apply(graph: Graph, inputs: unknown, options: KerasLayerApplyOptions): KerasLayerOutput {
    const s = this.state(graph);
    const layer = this.layer;
    const extra = { ...(layer.arguments ?? {}) };
    let c: Concrete;
    let bound: BoundValue[];
    if (this.signature) {
      c = this.signature;
      const dict = signatureInputs(layer.signature!, this.signatureKeys, inputs, extra);
      bound = [];
      const why = bindSpec(c.input, [[], dict], true, 'inputs', bound, graphBinder);
      if (why) throw typeError('ERR_SIGNATURE_INPUTS', `Signature '${layer.signature}': ${why.replace(/^inputs\[1\]\./, '')}`);
    } else {
      const fn = this.callFn!;
      if (hasTrainingArgument(fn.binding)) extra.training = layer.trainable && !!options.training;
      const found = this.select(fn, [inputs], extra);
      c = found.concrete;
      bound = found.bound;
    }
    const tensors = bound.map((b) => toGraphOutput(graph, b));
    const outs = this.inline(s, c, tensors, this.signature ? `signature_${safeName(layer.signature!)}` : 'call');
    const expected = flattenSpec(c.output).length;
    if (outs.length !== expected) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.model.dir}: function ${c.name} returns ${outs.length} tensors but its output signature has ${expected}`);
    const result = packOutputs(c.output, outs);
    if (layer.signatureOutputsAsDict) return result;
    if (layer.outputKey !== undefined) {
      if (!isPlainObject(result)) throw invalid(`Specifying outputKey is forbidden if the output is not a record (got ${formatSpec(c.output)})`);
      if (!(layer.outputKey in result)) throw invalid(`KerasLayer output does not contain the output key '${layer.outputKey}' (available: ${Object.keys(result).map((k) => `'${k}'`).join(', ')})`);
      return (result as Record<string, KerasLayerOutput>)[layer.outputKey];
    }
    return result;
  }

  /** Python's concrete-function dispatch: tensors first without conversion, then with. */
  private select(fn: CallableFunction, args: unknown[], kwargs: Record<string, unknown>): { concrete: Concrete; bound: BoundValue[] } {
    const reasons = new Map<Concrete, string>();
    for (const allowConversion of [false, true]) {
      for (const c of fn.concretes) {
        const b = bindArguments(fn.binding, c, args, kwargs);
        if (typeof b === 'string') {
          reasons.set(c, b);
          continue;
        }
        const bound: BoundValue[] = [];
        const why = bindSpec(c.input, b, allowConversion, 'args', bound, graphBinder);
        if (why === null) return { concrete: c, bound };
        reasons.set(c, why.replace(/^args\[0\]\[(\d+)\]/, 'args[$1]').replace(/^args\[1\]\./, 'kwargs.'));
      }
    }
    const show = (v: unknown) => (v instanceof Output ? `Output(shape=${formatShape(v.shape)}, dtype=${v.dtype})` : formatValue(v));
    const got = [...args.map(show), ...Object.entries(kwargs).map(([k, v]) => `${k}=${show(v)}`)].join(', ');
    const opts = fn.concretes.map((c, i) => `  Option ${i + 1}: ${formatSpec(c.input)}\n    (${reasons.get(c) ?? 'no match'})`).join('\n');
    throw typeError('ERR_NO_MATCHING_FUNCTION',
      `Could not find matching concrete function to call loaded from the SavedModel for '${fn.path}'. Got: (${got}).\n` +
      `Expected these arguments to match one of the following ${fn.concretes.length} option(s):\n${opts}`);
  }

  weights(graph: Graph, trainable: boolean): Variable[] {
    const s = this.state(graph);
    const ids = trainable
      ? (this.layer.trainable ? this.model.trainableOrder : [])
      : this.model.weightIds.filter((id) => !(this.layer.trainable && this.model.trainableIds.has(id)));
    return ids.map((id) => s.variables.get(id)!);
  }

  losses(graph: Graph): Output[] {
    const s = this.state(graph);
    return [...(s.losses ?? [])];
  }

  // -------------------------------------------------------------------------------------------- export

  async export(dir: string, session: Session): Promise<void> {
    const g = session.graph;
    const s = this.states.get(g);
    if (!s) throw new TfhubError('ERR_NOT_BUILT', 'the layer was never applied in the session\'s graph: nothing to export');
    const src = this.model.dir;
    await writeNewDirectory(dir, async (tmp) => {
      await fs.mkdir(path.join(tmp, 'variables'));
      for (const sub of ['assets', 'assets.extra']) {
        if (await exists(path.join(src, sub))) await fs.cp(path.join(src, sub), path.join(tmp, sub), { recursive: true });
      }
      if (this.model.index) await this.saveCheckpoint(s, session, path.join(tmp, 'variables', 'variables'));
      if (await exists(path.join(src, 'fingerprint.pb'))) await copyModelFile(path.join(src, 'fingerprint.pb'), path.join(tmp, 'fingerprint.pb'));
      // Last: its presence marks a complete SavedModel.
      await copyModelFile(path.join(src, 'saved_model.pb'), path.join(tmp, 'saved_model.pb'));
    });
  }

  /**
   * Writes every tensor of the original checkpoint under its key: the layer's variables with their current
   * values in `session`, everything else (the object graph, `save_counter`, variables not created in this
   * graph, saveables) copied from the original checkpoint.
   */
  private async saveCheckpoint(s: GraphState, session: Session, prefix: string): Promise<void> {
    const g = s.graph;
    const index = this.model.index!;
    const byKey = new Map<string, Variable>();
    for (const [id, key] of this.model.variableKeys) {
      const v = s.variables.get(id);
      if (v) byKey.set(key, v);
    }
    const entries = [...index.entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const sliced = entries.filter((e) => e.sliced);
    if (sliced.length > 0) throw new TfhubError('ERR_UNSUPPORTED_CHECKPOINT', `${index.prefix}: partitioned checkpoint tensors (${sliced.map((e) => e.key).slice(0, 3).join(', ')}) are not supported`);
    const copied = entries.filter((e) => !byKey.has(e.key));
    const save = g.withNameScope(`${s.scope}/export/`, () => {
      const str = (shape: number[], values: string[], name: string) => {
        const t = new Tensor('string', shape, values);
        try {
          return g.constant(t, name);
        } finally {
          t.dispose();
        }
      };
      let restored: Operation | null = null;
      if (copied.length > 0) {
        restored = g.addOperation('RestoreV2', {
          name: g.uniqueName('RestoreV2'),
          inputs: [str([], [index.prefix], 'source_prefix'), str([copied.length], copied.map((e) => e.key), 'source_names'), str([copied.length], copied.map(() => ''), 'source_slices')],
          attrs: { dtypes: copied.map((e) => e.dtype) },
        });
      }
      const tensors = entries.map((e) => {
        const v = byKey.get(e.key);
        return v ? v.read() : restored!.output(copied.indexOf(e));
      });
      return g.addOperation('SaveV2', {
        name: g.uniqueName('SaveV2'),
        inputs: [str([], [prefix], 'prefix'), str([entries.length], entries.map((e) => e.key), 'tensor_names'), str([entries.length], entries.map(() => ''), 'shape_and_slices'), tensors],
      });
    });
    await session.run([], undefined, { targets: [save] });
  }
}

// ------------------------------------------------------------------------------------------------ TF1 modules

class Tf1Layer {
  private readonly modules = new WeakMap<Graph, Module>();

  constructor(private readonly layer: KerasLayer, readonly spec: ModuleSpec, readonly tags: string[]) {
    const names = spec.getSignatureNames({ tags });
    if (!names.includes(layer.signature!)) {
      throw new TfhubError('ERR_UNKNOWN_SIGNATURE', `${spec.path} has no signature '${layer.signature}' (signatures: ${names.map((k) => `'${k}'`).join(', ')})`);
    }
    if (layer.outputKey !== undefined) {
      const outputs = Object.keys(spec.getOutputInfoDict(layer.signature!, { tags }));
      if (!outputs.includes(layer.outputKey)) {
        throw invalid(`KerasLayer output does not contain the output key '${layer.outputKey}' (available: ${outputs.map((k) => `'${k}'`).join(', ')})`);
      }
    }
  }

  module(graph: Graph): Module {
    if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'expected a Graph');
    let m = this.modules.get(graph);
    if (!m) {
      m = new Module(this.spec, { graph, trainable: this.layer.trainable, tags: this.tags, name: this.layer.name });
      this.modules.set(graph, m);
    }
    return m;
  }

  built(graph: Graph): Module | undefined {
    return this.modules.get(graph);
  }

  apply(graph: Graph, inputs: unknown): KerasLayerOutput {
    const m = this.module(graph);
    const layer = this.layer;
    const keys = Object.keys(m.getInputInfoDict(layer.signature!));
    const extra = layer.arguments ?? {};
    let given: unknown = inputs;
    if (Object.keys(extra).length > 0) given = signatureInputs(layer.signature!, keys, inputs, extra);
    const outputs = m.call(given as never, { signature: layer.signature, asDict: true }) as Record<string, ModuleOutput>;
    if (layer.signatureOutputsAsDict) return outputs as KerasLayerOutput;
    return outputs[layer.outputKey!] as KerasLayerOutput;
  }

  weights(graph: Graph, trainable: boolean): Variable[] {
    return this.module(graph).variables.filter((v) => (this.layer.trainable && v.trainable) === trainable);
  }

  losses(graph: Graph): Output[] {
    const m = this.module(graph);
    if (!this.layer.trainable) return [];
    return graph.getCollection<unknown>(GraphKeys.REGULARIZATION_LOSSES)
      .filter((l): l is Output => l instanceof Output && l.op.name.startsWith(`${m.scope}/`));
  }

  async export(dir: string, session: Session): Promise<void> {
    const m = this.modules.get(session.graph);
    if (!m) throw new TfhubError('ERR_NOT_BUILT', 'the layer was never applied in the session\'s graph: nothing to export');
    await m.export(dir, session);
  }
}

// ------------------------------------------------------------------------------------------------ the layer

/**
 * A SavedModel as a layer of graphs the caller builds (Python's `hub.KerasLayer`). Make one with
 * `KerasLayer.load(handle, options)`; `apply(graph, inputs)` builds it into a graph (variables once per graph,
 * shared by every call there), `trainableWeights` / `nonTrainableWeights` / `losses` give what an optimizer
 * needs, `export(path, session)` writes the fine-tuned model.
 */
export class KerasLayer {
  /** The handle the layer was loaded from. */
  readonly handle: string;
  /** The model directory (after resolving the handle). */
  readonly path: string;
  /** `'tf2_saved_model'` (restored functions, inlined) or `'tf1_hub_module'` (through `hub.Module`). */
  readonly format: KerasLayerFormat;
  /** Whether the layer's variables are trained (fixed at load). */
  readonly trainable: boolean;
  /** The signature called, if any (`'default'` for a TF1 Hub module unless given). */
  readonly signature: string | undefined;
  /** The output returned, if any (`'default'` for a TF1 Hub module unless `signatureOutputsAsDict`). */
  readonly outputKey: string | undefined;
  /** Whether `apply` returns every output of the signature as a record. */
  readonly signatureOutputsAsDict: boolean;
  /** Extra keyword arguments of every call. */
  readonly arguments: Readonly<Record<string, unknown>> | undefined;
  /** Tag set of the loaded meta graph (sorted). */
  readonly tags: string[];
  /** Base name of the layer's scope in each graph. */
  readonly name: string;
  private impl!: Tf2Layer | Tf1Layer;

  private constructor(handle: string, dir: string, format: KerasLayerFormat, tags: string[], options: KerasLayerOptions) {
    this.handle = handle;
    this.path = dir;
    this.format = format;
    this.tags = tags;
    this.trainable = options.trainable ?? false;
    this.name = options.name ?? 'keras_layer';
    this.arguments = options.arguments ? Object.freeze({ ...options.arguments }) : undefined;
    let signature = options.signature;
    let outputKey = options.outputKey;
    const asDict = options.signatureOutputsAsDict ?? false;
    if (format === 'tf1_hub_module') {
      signature = signature || 'default';
      if (!asDict) outputKey = outputKey ?? 'default';
    }
    if (signature !== undefined && (outputKey !== undefined) === asDict) {
      throw invalid('When using a signature, either outputKey or signatureOutputsAsDict: true should be set (not both).');
    }
    if (signature === undefined && asDict) {
      throw invalid('signatureOutputsAsDict is only valid if specifying a signature (*or* for TF1 format models).');
    }
    this.signature = signature;
    this.outputKey = outputKey;
    this.signatureOutputsAsDict = asDict;
  }

  /**
   * Loads the model behind `handle` as a layer (Python's `hub.KerasLayer(handle, trainable=…, signature=…,
   * output_key=…, signature_outputs_as_dict=…, arguments=…, tags=…)`).
   *
   * TF2 SavedModels: without `signature` the root object's `__call__` is called (the concrete function chosen by
   * the inputs, `arguments` and — when it has one — the `training` argument); with `signature` that signature.
   * TF1 Hub modules (`tfhub_module.pb`): through `hub.Module`, trainable too (Python refuses that).
   *
   * Errors: `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` (bad options, as Python's ValueErrors),
   * `ERR_HANDLE_NOT_FOUND`, `ERR_SAVED_MODEL_NOT_FOUND`, `ERR_NO_SUCH_GRAPH_VARIANT`, `ERR_UNKNOWN_SIGNATURE`,
   * `ERR_NOT_CALLABLE` (no `__call__` and no `signature`), `ERR_UNSUPPORTED_SAVED_MODEL` (a TF1 SavedModel
   * without `tfhub_module.pb`).
   */
  static async load(handle: string, options: KerasLayerOptions = {}): Promise<KerasLayer> {
    if (typeof handle !== 'string' || handle === '') throw typeError('ERR_INVALID_ARG_TYPE', `KerasLayer.load(handle): expected a non-empty string, got ${String(handle)}`);
    if (!isPlainObject(options as unknown)) throw typeError('ERR_INVALID_ARG_TYPE', 'KerasLayer.load(handle, options): options must be a plain object');
    for (const k of ['signature', 'outputKey', 'name'] as const) {
      if (options[k] !== undefined && (typeof options[k] !== 'string' || options[k] === '')) throw typeError('ERR_INVALID_ARG_TYPE', `option ${k} must be a non-empty string`);
    }
    for (const k of ['trainable', 'signatureOutputsAsDict'] as const) {
      if (options[k] !== undefined && typeof options[k] !== 'boolean') throw typeError('ERR_INVALID_ARG_TYPE', `option ${k} must be a boolean`);
    }
    if (options.arguments !== undefined && !isPlainObject(options.arguments)) throw typeError('ERR_INVALID_ARG_TYPE', 'option arguments must be a plain object');
    let tagList: string[] | undefined;
    const tagsIn: unknown = options.tags;
    if (tagsIn !== undefined && tagsIn !== null) {
      if (typeof tagsIn !== 'object' || typeof (tagsIn as Iterable<string>)[Symbol.iterator] !== 'function') throw typeError('ERR_INVALID_ARG_TYPE', 'option tags must be an array of strings');
      tagList = Array.from(tagsIn as Iterable<string>);
      if (tagList.some((t: unknown) => typeof t !== 'string')) throw typeError('ERR_INVALID_ARG_TYPE', 'option tags must be an array of strings');
    }
    const dir = options.resolve ? await options.resolve(handle) : await resolve(handle);
    if (typeof dir !== 'string') throw typeError('ERR_INVALID_ARG_TYPE', `resolve(${handle}) must give a directory path, got ${String(dir)}`);
    const st = await fs.stat(dir).catch(() => null);
    if (!st || !st.isDirectory()) throw new TfhubError('ERR_HANDLE_NOT_FOUND', `${dir} ${st ? 'is not a directory' : 'does not exist'}.`);

    if (await isTf1HubModule(dir)) {
      const spec = await loadModuleSpecFromDir(dir);
      const tags = [...new Set(tagList ?? [])].sort();
      if (!spec.getTags().some((t) => JSON.stringify(t) === JSON.stringify(tags))) {
        throw new TfhubError('ERR_NO_SUCH_GRAPH_VARIANT', `No such graph variant: tags=[${tags.map((t) => `'${t}'`).join(', ')}] in ${dir}; available tag sets: [${spec.getTags().map((t) => `[${t.map((x) => `'${x}'`).join(', ')}]`).join(', ')}]`);
      }
      const layer = new KerasLayer(handle, dir, 'tf1_hub_module', tags, options);
      layer.impl = new Tf1Layer(layer, spec, tags);
      return layer;
    }
    const savedModel = await readSavedModel(dir);
    const metaGraph = chooseMetaGraph(savedModel, dir, tagList, false);
    if ((metaGraph.objectGraphDef?.nodes?.length ?? 0) === 0) {
      throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${dir} is a TF1 SavedModel (no object graph, no tfhub_module.pb): KerasLayer supports TF2 SavedModels and TF1 Hub modules; use hub.load(handle).signatures for it`);
    }
    const prefix = path.join(dir, 'variables', 'variables');
    let index: CheckpointIndex | null = null;
    let ckptGraph: tensorflow.TrackableObjectGraph | null = null;
    if (await exists(`${prefix}.index`)) {
      index = await readValidatedCheckpoint(prefix);
      if (index.entries.has('_CHECKPOINTABLE_OBJECT_GRAPH')) {
        ckptGraph = decodeTrackableObjectGraph(await readCheckpointString(index, '_CHECKPOINTABLE_OBJECT_GRAPH'), `${prefix} (_CHECKPOINTABLE_OBJECT_GRAPH)`);
      }
    }
    const model = new Tf2Model(dir, metaGraph, index, ckptGraph);
    if (!index && model.nodes.some((n) => kindOf(n) === 'variable')) {
      throw new TfhubError('ERR_CHECKPOINT_NOT_FOUND', `${dir} has variables but no checkpoint at ${prefix}.index`);
    }
    const tags = [...new Set(metaGraph.metaInfoDef?.tags ?? [])].sort();
    const layer = new KerasLayer(handle, dir, 'tf2_saved_model', tags, options);
    layer.impl = new Tf2Layer(layer, model);
    return layer;
  }

  /**
   * Builds the layer into `graph` on `inputs` and returns its outputs (Python's `layer(inputs, training=…)`).
   * Inputs: an Output of `graph`, a Tensor or JS values (made constants); for a signature, a record keyed by its
   * input names (or the value of its only input). The first call in a graph creates the layer's variables
   * there (restored by `graph.globalVariablesInitializer()`); later calls share them.
   */
  apply(graph: Graph, inputs: unknown, options: KerasLayerApplyOptions = {}): KerasLayerOutput {
    if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'apply(graph, inputs): graph must be a Graph');
    if (options.training !== undefined && typeof options.training !== 'boolean') throw typeError('ERR_INVALID_ARG_TYPE', 'option training must be a boolean');
    return this.impl instanceof Tf2Layer ? this.impl.apply(graph, inputs, options) : this.impl.apply(graph, inputs);
  }

  /** The variables trained in `graph` (empty unless `trainable`), creating them there if needed (Python's `trainable_weights`). */
  trainableWeights(graph: Graph): Variable[] {
    return this.impl.weights(graph, true);
  }

  /** The other variables of the layer in `graph` (all of them unless `trainable`) (Python's `non_trainable_weights`). */
  nonTrainableWeights(graph: Graph): Variable[] {
    return this.impl.weights(graph, false);
  }

  /** `trainableWeights(graph)` followed by `nonTrainableWeights(graph)` (Python's `weights`). */
  weights(graph: Graph): Variable[] {
    return [...this.trainableWeights(graph), ...this.nonTrainableWeights(graph)];
  }

  /**
   * The model's regularization losses in `graph` (scalar Outputs; the same ones on every call), empty unless
   * `trainable`. They are also in the graph's `regularization_losses` collection: add one or the other to a
   * loss, not both.
   */
  losses(graph: Graph): Output[] {
    return this.impl.losses(graph);
  }

  /** Whether the layer was built in `graph` (by apply, weights or losses). */
  isBuiltIn(graph: Graph): boolean {
    return this.impl.built(graph) !== undefined;
  }

  /**
   * Writes the model with the variable values of `session` (whose graph the layer was applied in). TF2: a
   * SavedModel Python's `tf.saved_model.load` reads — `saved_model.pb`, `fingerprint.pb` and `assets/` copied,
   * `variables/` written with SaveV2 under the original checkpoint keys (the object graph and the tensors of
   * objects not created in the graph copied from the original checkpoint); `saved_model.pb` last. TF1 Hub
   * module: `hub.Module.export` (the TF1 Hub format). `dir` must be new or empty (`ERR_ALREADY_EXISTS`), and a failed
   * export leaves nothing there.
   */
  async export(dir: string, session: Session): Promise<void> {
    if (typeof dir !== 'string' || dir === '') throw typeError('ERR_INVALID_ARG_TYPE', 'export(path, session): path must be a non-empty string');
    if (!(session instanceof Session)) throw typeError('ERR_INVALID_ARG_TYPE', 'export(path, session): session must be a Session');
    return this.impl.export(dir, session);
  }

  /** The `hub.Module` a TF1 Hub module layer uses in `graph` (created if needed); null for a TF2 SavedModel. */
  moduleIn(graph: Graph): Module | null {
    return this.impl instanceof Tf1Layer ? this.impl.module(graph) : null;
  }

  /** e.g. `KerasLayer(/models/m, tf2_saved_model, trainable=true)`. */
  toString(): string {
    return `KerasLayer(${this.path}, ${this.format}, trainable=${this.trainable}${this.signature ? `, signature=${this.signature}` : ''})`;
  }
}
