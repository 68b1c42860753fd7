/**
 * `hub.Module`: a TF1 Hub module instantiated in a Graph (Python's `hub.Module`, removed from tensorflow_hub in
 * 2023). The whole meta graph is imported once as the module's state under a unique scope; every call imports
 * it again with its inputs and state mapped, so all calls share one set of variables and tables.
 */
import { DType, dtypeFromTf } from '../dtypes';
import { TfhubError, typeError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import { Session } from '../session';
import { GraphKeys, SaveSliceInfo, Variable } from '../variable';
import { decodeVariableDef, dimsOf, encodeGraphDef, tensorflow, toSafeNumber } from '../proto';
import { opDefs } from '../registry';
import { Tensor, tensor as makeTensor, tensorFromView } from '../tensor';
import { checkGraphDef } from './graph_check';
import { MessageDecoder, ModuleSpec, TagsOption } from './spec';
import { ParsedTensorInfo, formatShape, isShapeCompatible, parseTensorInfo } from './tensor_info';

export { GraphKeys, Variable, SaveSliceInfo } from '../variable';

/** A SparseTensor made of graph Outputs. */
export interface SparseOutputs {
  /** int64 [N, rank]: the coordinates of the N values. */
  indices: Output;
  /** [N]: the values. */
  values: Output;
  /** int64 [rank]: the shape of the dense tensor. */
  denseShape: Output;
}

/** A RaggedTensor made of graph Outputs: flat values and one row-splits vector per ragged dimension. */
export interface RaggedOutputs {
  /** The values of all rows, concatenated. */
  flatValues: Output;
  /** One row-splits vector per ragged dimension, outermost first. */
  rowSplits: Output[];
}

/** What a signature output becomes. */
export type ModuleOutput = Output | SparseOutputs | RaggedOutputs;

/** A value for a dense input: an Output of the module's graph, a Tensor, or JS values (made constants). */
export type DenseInput = Output | Tensor | number | bigint | boolean | string | unknown[];
/** A value for any input; sparse inputs take `{indices, values, denseShape}`, ragged `{values, rowSplits}`. */
export type ModuleInput = DenseInput | { indices: DenseInput; values: DenseInput; denseShape: DenseInput } | { values: DenseInput; rowSplits: DenseInput | DenseInput[] };

/** Options of `new hub.Module(spec, options)`. */
export interface ModuleOptions extends TagsOption {
  /** The graph to instantiate the module in. */
  graph: Graph;
  /** Export trainable variables, regularization losses and update ops to the graph's collections. */
  trainable?: boolean;
  /** Base name of the module's scope (made unique: `module`, `module_1`, …). */
  name?: string;
}

/** Options of `module.call`. */
export interface CallOptions {
  /** Signature to apply; default `'default'`. */
  signature?: string;
  /** Return every output as a record instead of the `default` output. */
  asDict?: boolean;
  /** Control dependencies for the applied ops. */
  controlDependencies?: Operation[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cloneGraphDef(gd: tensorflow.IGraphDef): tensorflow.GraphDef {
  return tensorflow.GraphDef.decode(encodeGraphDef(gd));
}

/** Python's prefix_shared_name_attributes: every non-empty `shared_name` gets `<scope>/` in front. */
function prefixSharedNames(gd: tensorflow.GraphDef, scope: string): void {
  for (const node of gd.node) {
    const attr = node.attr?.shared_name;
    if (attr && attr.s && attr.s.length > 0) attr.s = encoder.encode(`${scope}/${decoder.decode(attr.s)}`);
  }
}

function tensorOpName(name: string): string {
  return name.replace(/^\^/, '').replace(/:\d+$/, '');
}

/** Stateful ops without inputs hold a module's state (variables, tables, queues, readers, …). */
function isStateOpType(type: string): boolean {
  const def = opDefs().get(type);
  return !!def && !!def.isStateful && (def.inputArg?.length ?? 0) === 0;
}

function sliceSpec(info: SaveSliceInfo): string {
  return `${info.fullShape.join(' ')} ${info.varOffset.map((o, i) => `${o},${info.varShape[i]}`).join(':')}`;
}

/** A TF1 Hub module instantiated in a graph. */
export class Module {
  /** The spec it was made from. */
  readonly spec: ModuleSpec;
  /** The graph it lives in. */
  readonly graph: Graph;
  /** The selected graph variant's tags (sorted). */
  readonly tags: string[];
  /** Whether its variables were made trainable (Python's `trainable=True`): they join TRAINABLE_VARIABLES. */
  readonly trainable: boolean;
  /** Last component of the state scope, e.g. `module_1`. */
  readonly name: string;
  /** Absolute state scope, e.g. `outer/module_1`. */
  readonly scope: string;
  /** Variables by name relative to the scope (partitioned variables: the ordered list of parts). */
  readonly variableMap: Record<string, Variable | Variable[]>;
  private readonly metaGraph: tensorflow.MetaGraphDef;
  private readonly stateMap = new Map<string, Output>();
  private readonly stateNodeNames = new Set<string>();

  /**
   * Instantiates `spec` in `options.graph` (synchronous, as in Python). `hub.Module.load(handle, options)` is
   * the async convenience that loads the spec first.
   */
  constructor(spec: ModuleSpec, options: ModuleOptions) {
    if (!(spec instanceof ModuleSpec)) throw typeError('ERR_INVALID_ARG_TYPE', `Unknown module spec type: ${String(spec)}`);
    if (!options || !(options.graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'new hub.Module(spec, {graph}): graph must be a Graph');
    this.spec = spec;
    this.graph = options.graph;
    this.trainable = options.trainable ?? false;
    this.tags = [...new Set(options.tags ?? [])].sort();
    const found = spec.getTags().some((t) => JSON.stringify(t) === JSON.stringify(this.tags));
    if (!found) {
      throw new TfhubError('ERR_NO_SUCH_GRAPH_VARIANT',
        `No such graph variant: tags=[${this.tags.map((t) => `'${t}'`).join(', ')}]; available tag sets: [${spec.getTags().map((t) => `[${t.map((x) => `'${x}'`).join(', ')}]`).join(', ')}]`);
    }
    this.metaGraph = spec.metaGraph(this.tags);
    this.checkOpsRegistered();
    checkGraphDef(this.metaGraph.graphDef ?? {}, spec.path);

    const name = options.name ?? 'module';
    // TF's rule for op names (a scope is one): a hostile or empty name fails here, not deep inside the import.
    if (typeof name !== 'string' || !/^[A-Za-z0-9.][A-Za-z0-9_.\-/]*$/.test(name) || name.endsWith('/')) {
      throw typeError('ERR_INVALID_ARG_VALUE', `new hub.Module(spec, {name}): ${JSON.stringify(name)} is not a valid scope name`);
    }
    this.scope = this.graph.uniqueName(name);
    this.name = this.scope.split('/').pop()!;

    const stateDef = cloneGraphDef(this.metaGraph.graphDef ?? {});
    prefixSharedNames(stateDef, this.scope);
    this.graph.importGraphDef(encodeGraphDef(stateDef), { prefix: this.scope });

    for (const node of this.metaGraph.graphDef?.node ?? []) {
      if (!node.op || !node.name || !isStateOpType(node.op)) continue;
      const op = this.graph.operation(`${this.scope}/${node.name}`)!;
      if (op.numOutputs !== 1) throw new TfhubError('ERR_INVALID_MODULE', `Stateful op ${node.name} has ${op.numOutputs} outputs, expected 1`);
      this.stateMap.set(`${node.name}:0`, op.output(0));
      this.stateNodeNames.add(node.name);
    }

    const variables = this.importVariables();
    this.variableMap = this.buildVariableMap(variables);
    if (variables.length > 0 && spec.checkpointPath) this.restoreFromCheckpoint(variables, spec.checkpointPath);
    this.exportStateCollections(variables);
  }

  /** Loads the spec behind `handle` and instantiates it. */
  static async load(handle: string | ModuleSpec, options: ModuleOptions): Promise<Module> {
    const spec = typeof handle === 'string' ? await (await import('./index')).loadModuleSpec(handle) : handle;
    return new Module(spec, options);
  }

  // ------------------------------------------------------------------ state

  private checkOpsRegistered(): void {
    const library = new Set((this.metaGraph.graphDef?.library?.function ?? []).map((f) => f.signature?.name ?? ''));
    const used = new Set<string>();
    for (const op of this.metaGraph.metaInfoDef?.strippedOpList?.op ?? []) used.add(op.name ?? '');
    for (const n of this.metaGraph.graphDef?.node ?? []) used.add(n.op ?? '');
    for (const f of this.metaGraph.graphDef?.library?.function ?? []) for (const n of f.nodeDef ?? []) used.add(n.op ?? '');
    const registry = opDefs();
    const missing = [...used].filter((op) => op && !library.has(op) && !registry.has(op)).sort();
    if (missing.length > 0) {
      throw new TfhubError('ERR_MISSING_OPS',
        `Graph ops missing from the registry: {${missing.map((m) => `'${m}'`).join(', ')}}. Load the library that defines them first with loadOpLibrary(path) (e.g. the .so shipped with tensorflow_text or sentencepiece).`);
    }
  }

  private collection(key: string): tensorflow.ICollectionDef | undefined {
    return this.metaGraph.collectionDef?.[key];
  }

  private scoped(name: string): string {
    return `${this.scope}/${name.replace(/^\^/, '')}`;
  }

  private nodeListEntries(key: string, scope: string): Array<Output | Operation> {
    const names = this.collection(key)?.nodeList?.value ?? [];
    return names.map((n) => (/:\d+$/.test(n) ? this.graph.output(`${scope}/${n}`) : this.graph.operation(`${scope}/${n}`)!)).filter((v) => v !== null);
  }

  private importVariables(): Variable[] {
    const trainableNames = new Set(
      (this.collection(GraphKeys.TRAINABLE_VARIABLES)?.bytesList?.value ?? []).map((b) => decodeVariableDef(b, 'trainable variable').variableName ?? ''),
    );
    const out: Variable[] = [];
    for (const bytes of this.collection(GraphKeys.GLOBAL_VARIABLES)?.bytesList?.value ?? []) {
      const def = decodeVariableDef(bytes, `variable in ${this.spec.path}`);
      const variableName = def.variableName ?? '';
      const op = this.graph.operation(this.scoped(tensorOpName(variableName)));
      if (!op) throw new TfhubError('ERR_INVALID_MODULE', `variable ${variableName} is not in the module's graph`);
      const initializer = def.initializerName ? this.graph.operation(this.scoped(tensorOpName(def.initializerName))) : null;
      const snapshot = def.snapshotName ? this.graph.output(this.scoped(def.snapshotName)) : null;
      const slice = def.saveSliceInfoDef && def.saveSliceInfoDef.fullName
        ? {
          fullName: def.saveSliceInfoDef.fullName,
          fullShape: (def.saveSliceInfoDef.fullShape ?? []).map((v) => toSafeNumber(v, 'full_shape')),
          varOffset: (def.saveSliceInfoDef.varOffset ?? []).map((v) => toSafeNumber(v, 'var_offset')),
          varShape: (def.saveSliceInfoDef.varShape ?? []).map((v) => toSafeNumber(v, 'var_shape')),
        }
        : null;
      out.push(new Variable(op, initializer ?? this.graph.addOperation('NoOp', { name: this.graph.uniqueName(`${op.name}/no_initializer`) }), snapshot,
        trainableNames.has(variableName) || def.trainable === true, slice));
    }
    return out;
  }

  private buildVariableMap(variables: Variable[]): Record<string, Variable | Variable[]> {
    const map: Record<string, Variable | Variable[]> = {};
    const parts = new Map<string, Variable[]>();
    for (const v of variables) {
      if (v.saveSliceInfo) {
        const key = v.saveSliceInfo.fullName;
        if (!parts.has(key)) parts.set(key, []);
        parts.get(key)!.push(v);
      } else {
        map[v.opName.slice(this.scope.length + 1)] = v;
      }
    }
    for (const [key, list] of parts) map[key] = list.sort((a, b) => a.saveSliceInfo!.varOffset[0] - b.saveSliceInfo!.varOffset[0]);
    return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Replaces each variable's initializer by a restore from the checkpoint (one RestoreV2 for all). */
  private restoreFromCheckpoint(variables: Variable[], checkpoint: string): void {
    const g = this.graph;
    g.withNameScope(`${this.scope}/checkpoint_initializer`, () => {
      const keys = variables.map((v) => v.saveSliceInfo ? v.saveSliceInfo.fullName : v.opName.slice(this.scope.length + 1));
      const specs = variables.map((v) => (v.saveSliceInfo ? sliceSpec(v.saveSliceInfo) : ''));
      const prefix = g.constant(new Tensor('string', [], [checkpoint]), 'prefix');
      const names = g.constant(new Tensor('string', [keys.length], keys), 'tensor_names');
      const slices = g.constant(new Tensor('string', [specs.length], specs), 'shape_and_slices');
      const restore = g.addOperation('RestoreV2', {
        name: g.uniqueName('RestoreV2'), inputs: [prefix, names, slices], attrs: { dtypes: variables.map((v) => v.dtype) },
      });
      variables.forEach((v, i) => {
        // Python's init_from_checkpoint refuses a checkpoint tensor whose shape differs from the variable's; a
        // resource assign would silently reshape the variable, so check the restored value (the error names the key).
        const shape = v.shape;
        const value = shape === null ? restore.output(i)
          : g.addOperation('EnsureShape', { name: g.uniqueName(`${keys[i]}/EnsureShape`), inputs: [restore.output(i)], attrs: { shape } }).output(0);
        v.initializer = v.isResource
          ? g.addOperation('AssignVariableOp', { name: g.uniqueName('AssignVariableOp'), inputs: [v.handle, value] })
          : g.addOperation('Assign', { name: g.uniqueName('Assign'), inputs: [v.handle, value], attrs: { validate_shape: true } });
      });
    });
  }

  private exportStateCollections(variables: Variable[]): void {
    const g = this.graph;
    const modelVarNames = new Set((this.collection(GraphKeys.MODEL_VARIABLES)?.bytesList?.value ?? []).map((b) => decodeVariableDef(b, 'model variable').variableName));
    for (const v of variables) {
      g.addToCollection(GraphKeys.GLOBAL_VARIABLES, v);
      if (modelVarNames.has(`${v.opName.slice(this.scope.length + 1)}:0`)) g.addToCollection(GraphKeys.MODEL_VARIABLES, v);
      if (this.trainable && v.trainable) g.addToCollection(GraphKeys.TRAINABLE_VARIABLES, v);
    }
    if (this.trainable) for (const loss of this.nodeListEntries(GraphKeys.REGULARIZATION_LOSSES, this.scope)) g.addToCollection(GraphKeys.REGULARIZATION_LOSSES, loss);
    for (const op of this.nodeListEntries(GraphKeys.TABLE_INITIALIZERS, this.scope)) g.addToCollection(GraphKeys.TABLE_INITIALIZERS, op instanceof Output ? op.op : op);
    for (const t of this.nodeListEntries(GraphKeys.ASSET_FILEPATHS, this.scope)) g.addToCollection(GraphKeys.ASSET_FILEPATHS, t);
  }

  /** Every variable, sorted by variableMap key (partitions flattened in order). */
  get variables(): Variable[] {
    return Object.values(this.variableMap).flatMap((v) => (Array.isArray(v) ? v : [v]));
  }

  // ------------------------------------------------------------------ signatures

  /** Signature names of the selected graph variant. */
  getSignatureNames(): string[] {
    return this.spec.getSignatureNames({ tags: this.tags });
  }

  /** Inputs of a signature. */
  getInputInfoDict(signature = 'default'): Record<string, ParsedTensorInfo> {
    return this.spec.getInputInfoDict(signature, { tags: this.tags });
  }

  /** Outputs of a signature. */
  getOutputInfoDict(signature = 'default'): Record<string, ParsedTensorInfo> {
    return this.spec.getOutputInfoDict(signature, { tags: this.tags });
  }

  /** The message attached under `key` to the selected graph variant. */
  getAttachedMessage<T = Uint8Array>(key: string, decoder?: MessageDecoder<T> | null, options: { required?: boolean } = {}): T | null {
    return this.spec.getAttachedMessage(key, decoder, { tags: this.tags, required: options.required });
  }

  /**
   * Applies a signature to `inputs` (Python's `module(inputs, signature=…, as_dict=…)`): the `default` output,
   * or with `asDict` a record of every output. Inputs: one value for a one-input signature, else a record.
   */
  call(inputs: ModuleInput | Record<string, ModuleInput> | null | undefined, options: CallOptions & { asDict: true }): Record<string, ModuleOutput>;
  call(inputs?: ModuleInput | Record<string, ModuleInput> | null, options?: CallOptions): ModuleOutput;
  call(inputs?: ModuleInput | Record<string, ModuleInput> | null, options: CallOptions = {}): ModuleOutput | Record<string, ModuleOutput> {
    const g = this.graph;
    const signature = options.signature || 'default';
    const sig = this.metaGraph.signatureDef?.[signature];
    if (!sig) throw new TfhubError('ERR_UNKNOWN_SIGNATURE', `Signature '${signature}' is missing from meta graph.`);
    const inputInfos = Object.fromEntries(Object.entries(sig.inputs ?? {}).map(([k, v]) => [k, parseTensorInfo(v)]));
    const outputInfos = Object.fromEntries(Object.entries(sig.outputs ?? {}).map(([k, v]) => [k, parseTensorInfo(v)]));
    for (const [kind, infos] of [['input', inputInfos], ['output', outputInfos]] as const) {
      for (const [k, info] of Object.entries(infos)) {
        if (!info.isSupportedType) throw new TfhubError('ERR_UNSUPPORTED_SIGNATURE_TYPE', `Signature '${signature}' expects a ${info.kind} for ${kind} '${k}', which is not supported by this version of tfhub-node.`);
      }
    }
    const dict = normalizeInputs(inputs, inputInfos);
    const inputMap = new Map<string, Output>();
    for (const key of Object.keys(inputInfos).sort()) {
      for (const [name, out] of convertInput(g, key, dict[key], inputInfos[key])) inputMap.set(name, out);
    }

    const applyScope = g.uniqueName(`${this.name}_apply_${signature.replace(/:/g, '_')}`);
    const feedMap = new Map<string, Output>([...this.stateMap, ...inputMap]);
    const applyDef = cloneGraphDef(this.metaGraph.graphDef ?? {});
    prefixSharedNames(applyDef, applyScope);
    const replaced = new Set<string>();
    for (const node of applyDef.node) {
      if (node.name && this.stateNodeNames.has(node.name) && feedMap.has(`${node.name}:0`)) {
        // A "stillborn" placeholder: its consumers are rewired to the state by the input map; it never runs.
        const shape = node.attr?.shape;
        node.op = 'Placeholder';
        const attrs: { [k: string]: tensorflow.IAttrValue } = { dtype: { type: tensorflow.DataType.DT_RESOURCE } };
        if (shape) attrs.shape = shape;
        node.attr = attrs;
        node.input = [];
        replaced.add(node.name);
      }
    }
    // Colocation with a replaced state node would point at its stillborn copy: drop those constraints (the
    // placer colocates resource consumers with their variable anyway).
    for (const node of applyDef.node) {
      const cls = node.attr?._class;
      if (!cls?.list?.s?.length) continue;
      cls.list.s = cls.list.s.filter((b) => !replaced.has(decoder.decode(b).replace(/^loc:@/, '')));
      if (cls.list.s.length === 0) delete node.attr!._class;
    }
    g.importGraphDef(encodeGraphDef(applyDef), { prefix: applyScope, inputMap: feedMap, controlDependencies: options.controlDependencies });

    for (const t of this.nodeListEntries(GraphKeys.ASSET_FILEPATHS, applyScope)) g.addToCollection(GraphKeys.ASSET_FILEPATHS, t);
    if (this.trainable) for (const op of this.nodeListEntries(GraphKeys.UPDATE_OPS, applyScope)) g.addToCollection(GraphKeys.UPDATE_OPS, op);

    const lookup = (name: string): Output => feedMap.get(/:\d+$/.test(name) ? name : `${name}:0`) ?? g.output(`${applyScope}/${name}`);
    const outputs: Record<string, ModuleOutput> = {};
    for (const [key, info] of Object.entries(outputInfos)) {
      if (info.isSparse) outputs[key] = { indices: lookup(info.names.indices!), values: lookup(info.names.values!), denseShape: lookup(info.names.denseShape!) };
      else if (info.isComposite) {
        const [flat, ...splits] = info.names.components!.map(lookup);
        outputs[key] = { flatValues: flat, rowSplits: splits };
      } else outputs[key] = lookup(info.names.dense!);
    }
    if (options.asDict) return outputs;
    if (!('default' in outputs)) throw typeError('ERR_NO_DEFAULT_OUTPUT', "There is no output named 'default'. Use asDict: true.");
    return outputs.default;
  }

  /**
   * Writes this module with the variable values of `session` as a TF1 Hub module (Python's
   * `Module.export(path, session)`); `tfhub_module.pb` is written last and never over an existing one.
   */
  async export(path: string, session: Session): Promise<void> {
    const { exportModule } = await import('./export');
    return exportModule(this, path, session);
  }

  /** Operations that initialize this module's variables (restore from the checkpoint). */
  get initializers(): Operation[] {
    return this.variables.map((v) => v.initializer);
  }

  /** A short description for logs: the module's path, name scope and tags. */
  toString(): string {
    return `hub.Module(${this.spec.path}, scope=${this.scope}, tags=[${this.tags.join(', ')}])`;
  }
}

function isOutputLike(v: unknown): boolean {
  return v instanceof Output || v instanceof Tensor || Array.isArray(v) || ['number', 'bigint', 'boolean', 'string'].includes(typeof v) || ArrayBuffer.isView(v);
}

/** Python's `_prepare_dict_inputs` plus the key check of `_convert_dict_inputs`. */
function normalizeInputs(inputs: unknown, infos: Record<string, ParsedTensorInfo>): Record<string, ModuleInput> {
  const keys = Object.keys(infos);
  let dict: Record<string, ModuleInput>;
  if (inputs === undefined || inputs === null) dict = {};
  else if (isPlainRecord(inputs) && !isCompositeValue(inputs, keys)) dict = inputs as Record<string, ModuleInput>;
  else if (keys.length === 1) dict = { [keys[0]]: inputs as ModuleInput };
  else if (keys.length === 0) throw typeError('ERR_SIGNATURE_INPUTS', 'Signature expects no inputs.');
  else throw typeError('ERR_SIGNATURE_INPUTS', 'Signature expects multiple inputs. Use a dict.');
  const given = Object.keys(dict);
  const missing = keys.filter((k) => !(k in dict)).sort();
  const extra = given.filter((k) => !(k in infos)).sort();
  if (missing.length > 0 || extra.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing [${missing.map((k) => `'${k}'`).join(', ')}]`);
    if (extra.length > 0) parts.push(`extra given [${extra.map((k) => `'${k}'`).join(', ')}]`);
    throw typeError('ERR_SIGNATURE_INPUTS', `Cannot convert dict_inputs: ${parts.join(', ')}`);
  }
  return dict;
}

function isPlainRecord(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !isOutputLike(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** A record that is itself a sparse/ragged value for a single-input signature (not a dict of inputs). */
function isCompositeValue(v: object, keys: string[]): boolean {
  const k = Object.keys(v);
  const composite = (k.includes('indices') && k.includes('values') && k.includes('denseShape')) || (k.includes('rowSplits') && (k.includes('values') || k.includes('flatValues')));
  return composite && !k.every((x) => keys.includes(x));
}

function denseOutput(g: Graph, key: string, value: unknown, dtype: DType, declared: number[] | null, what = ''): Output {
  const label = what ? `${key}.${what}` : key;
  let out: Output;
  if (value instanceof Output) {
    if (value.graph !== g) throw new TfhubError('ERR_GRAPH_MISMATCH', 'Module must be applied in the graph it was instantiated for.');
    if (value.dtype !== dtype) throw typeError('ERR_INPUT_DTYPE', `Can't convert '${label}': Got ${value.dtype} tensor. Expected ${dtype}.`);
    out = value;
  } else if (value instanceof Tensor) {
    if (value.dtype !== dtype) throw typeError('ERR_INPUT_DTYPE', `Can't convert '${label}': Got ${value.dtype} tensor. Expected ${dtype}.`);
    out = g.constant(value);
  } else if (isPlainRecord(value)) {
    throw typeError('ERR_INPUT_KIND', `Can't convert '${label}': Got a record. Expected Tensor.`);
  } else {
    let t: Tensor;
    try {
      t = ArrayBuffer.isView(value) ? tensorFromView(dtype, value) : makeTensor(value, dtype);
    } catch (e) {
      throw typeError('ERR_INPUT_CONVERSION', `Can't convert '${label}': ${(e as Error).message}`);
    }
    try {
      out = g.constant(t);
    } finally {
      t.dispose();
    }
  }
  const shape = out.shape;
  if (!isShapeCompatible(shape, declared)) {
    throw typeError('ERR_INPUT_SHAPE', `Can't convert '${label}': Got TensorSpec(shape=${formatShape(shape)}, dtype=${dtype}). Expected TensorSpec(shape=${formatShape(declared)}, dtype=${dtype}).`);
  }
  return out;
}

/** The numbers of a dense-shape value given as data (a Tensor or JS values); null for graph Outputs. */
function knownDims(value: unknown): number[] | null {
  if (value instanceof Output || value === null || value === undefined) return null;
  try {
    const t = value instanceof Tensor ? value : ArrayBuffer.isView(value) ? tensorFromView('int64', value) : makeTensor(value, 'int64');
    try {
      return Array.from(t.data() as BigInt64Array, Number);
    } finally {
      if (t !== value) t.dispose();
    }
  } catch {
    return null; // denseOutput reports what is wrong with the value itself
  }
}

/** Converts one signature input to graph Outputs keyed by the module graph's tensor names. */
function convertInput(g: Graph, key: string, value: ModuleInput, info: ParsedTensorInfo): Array<[string, Output]> {
  const record = isPlainRecord(value) ? (value as Record<string, DenseInput>) : null;
  if (info.isSparse) {
    if (!record || !('indices' in record) || !('values' in record) || !('denseShape' in record)) {
      throw typeError('ERR_INPUT_KIND', `Can't convert '${key}': Got Tensor. Expected SparseTensor ({indices, values, denseShape}).`);
    }
    const rank = info.shape === null ? -1 : info.shape.length;
    const denseShape = denseOutput(g, key, record.denseShape, 'int64', [rank], 'denseShape');
    // A constant dense shape is the SparseTensor's static shape (Python: constant_value_as_shape): it must fit
    // the declared one, or the module's outputs would silently take the wrong shape.
    const dims = knownDims(record.denseShape);
    if (dims && !isShapeCompatible(dims, info.shape)) {
      throw typeError('ERR_INPUT_SHAPE', `Can't convert '${key}': Got SparseTensorSpec(shape=${formatShape(dims)}). Expected SparseTensorSpec(shape=${formatShape(info.shape)}).`);
    }
    return [
      [info.names.indices!, denseOutput(g, key, record.indices, 'int64', [-1, rank], 'indices')],
      [info.names.values!, denseOutput(g, key, record.values, info.dtype, [-1], 'values')],
      [info.names.denseShape!, denseShape],
    ];
  }
  if (info.isComposite) {
    if (!record || !('rowSplits' in record)) {
      throw typeError('ERR_INPUT_KIND', `Can't convert '${key}': Got Tensor. Expected RaggedTensor ({values, rowSplits}).`);
    }
    const flat = 'flatValues' in record ? record.flatValues : record.values;
    const splits = Array.isArray(record.rowSplits) && record.rowSplits.length > 0 && !['number', 'bigint'].includes(typeof record.rowSplits[0])
      ? (record.rowSplits as DenseInput[]) : [record.rowSplits as DenseInput];
    const comps = info.names.components!;
    if (splits.length !== comps.length - 1) {
      throw typeError('ERR_INPUT_KIND', `Can't convert '${key}': expected ${comps.length - 1} row-splits tensors, got ${splits.length}`);
    }
    const compInfos = info.proto.compositeTensor?.components ?? [];
    return comps.map((name, i) => {
      const ci = compInfos[i];
      const dtype = ci?.dtype ? dtypeFromTf(ci.dtype) : (i === 0 ? info.dtype : 'int64');
      const shape = ci?.tensorShape ? dimsOf(ci.tensorShape) : null;
      return [name, denseOutput(g, key, i === 0 ? flat : splits[i - 1], dtype, shape, i === 0 ? 'values' : `rowSplits[${i - 1}]`)] as [string, Output];
    });
  }
  if (record) throw typeError('ERR_INPUT_KIND', `Can't convert '${key}': Got a record. Expected Tensor.`);
  return [[info.names.dense!, denseOutput(g, key, value, info.dtype, info.shape)]];
}
