/**
 * `hub.Module`: a TF1 Hub module instantiated in a Graph (Python's `hub.Module`, removed from tensorflow_hub in
 * 2023). The whole meta graph is imported once as the module's state under a unique scope; every call imports
 * it again with its inputs and state mapped, so all calls share one set of variables and tables.
 */
import { TfhubError, typeError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import { Session } from '../session';
import { GraphKeys, Variable } from '../variable';
import { decodeVariableDef, encodeGraphDef, tensorflow, toSafeNumber } from '../proto';
import { opDefs } from '../registry';
import { checkGraphDef } from './graph_check';
import { ModuleInput, convertInput, normalizeInputs } from './module_inputs';
import { writeModule } from './module_writer';
import { MessageDecoder, ModuleSpec, TagsOption, loadModuleSpec } from './spec';
import { saveVariables } from './writer';
import {
  ParsedTensorInfo,
  checkOpsRegistered,
  noSuchGraphVariant,
  opName as tensorOpName,
  parseTensorInfo,
  restoreV2,
  sliceSpec,
  tagSetKey,
  tagsOption,
} from './saved_model';

export { GraphKeys, Variable, SaveSliceInfo } from '../variable';
export { DenseInput, ModuleInput } from './module_inputs';

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

/**
 * TF1 loop frames are identified by the Enters' `frame_name`, which imports do not prefix: each application gets
 * its own frames (two copies of a loop in one frame fail at run time with "more than one LoopCond").
 */
function prefixFrameNames(gd: tensorflow.GraphDef, scope: string): void {
  for (const node of gd.node) {
    const attr = node.attr?.frame_name;
    if ((node.op === 'Enter' || node.op === 'RefEnter') && attr?.s) attr.s = encoder.encode(`${scope}/${decoder.decode(attr.s)}`);
  }
}

/** Stateful ops without inputs hold a module's state (variables, tables, queues, readers, …). */
function isStateOpType(type: string): boolean {
  const def = opDefs().get(type);
  return !!def && !!def.isStateful && (def.inputArg?.length ?? 0) === 0;
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
    if (!options || !(options.graph instanceof Graph))
      throw typeError('ERR_INVALID_ARG_TYPE', 'new hub.Module(spec, {graph}): graph must be a Graph');
    this.spec = spec;
    this.graph = options.graph;
    this.trainable = options.trainable ?? false;
    this.tags = [...new Set(options.tags === undefined || options.tags === null ? [] : tagsOption(options.tags, 'option tags'))].sort();
    if (!spec.getTags().some((t) => tagSetKey(t) === tagSetKey(this.tags))) throw noSuchGraphVariant(this.tags, spec.getTags(), null);
    this.metaGraph = spec.metaGraph(this.tags);
    checkOpsRegistered(this.metaGraph.graphDef ?? {}, {
      extraOps: (this.metaGraph.metaInfoDef?.strippedOpList?.op ?? []).map((op) => op.name ?? ''),
    });
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
      if (op.numOutputs !== 1)
        throw new TfhubError('ERR_INVALID_MODULE', `Stateful op ${node.name} has ${op.numOutputs} outputs, expected 1`);
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
    const spec = typeof handle === 'string' ? await loadModuleSpec(handle) : handle;
    return new Module(spec, options);
  }

  // ------------------------------------------------------------------ state

  private collection(key: string): tensorflow.ICollectionDef | undefined {
    return this.metaGraph.collectionDef?.[key];
  }

  private scoped(name: string): string {
    return `${this.scope}/${name.replace(/^\^/, '')}`;
  }

  private nodeListEntries(key: string, scope: string): Array<Output | Operation> {
    const names = this.collection(key)?.nodeList?.value ?? [];
    return names
      .map((n) => (/:\d+$/.test(n) ? this.graph.output(`${scope}/${n}`) : this.graph.operation(`${scope}/${n}`)!))
      .filter((v) => v !== null);
  }

  private importVariables(): Variable[] {
    const trainableNames = new Set(
      (this.collection(GraphKeys.TRAINABLE_VARIABLES)?.bytesList?.value ?? []).map(
        (b) => decodeVariableDef(b, 'trainable variable').variableName ?? '',
      ),
    );
    const out: Variable[] = [];
    for (const bytes of this.collection(GraphKeys.GLOBAL_VARIABLES)?.bytesList?.value ?? []) {
      const def = decodeVariableDef(bytes, `variable in ${this.spec.path}`);
      const variableName = def.variableName ?? '';
      const op = this.graph.operation(this.scoped(tensorOpName(variableName)));
      if (!op) throw new TfhubError('ERR_INVALID_MODULE', `variable ${variableName} is not in the module's graph`);
      const initializer = def.initializerName ? this.graph.operation(this.scoped(tensorOpName(def.initializerName))) : null;
      const snapshot = def.snapshotName ? this.graph.output(this.scoped(def.snapshotName)) : null;
      const slice =
        def.saveSliceInfoDef && def.saveSliceInfoDef.fullName
          ? {
              fullName: def.saveSliceInfoDef.fullName,
              fullShape: (def.saveSliceInfoDef.fullShape ?? []).map((v) => toSafeNumber(v, 'full_shape')),
              varOffset: (def.saveSliceInfoDef.varOffset ?? []).map((v) => toSafeNumber(v, 'var_offset')),
              varShape: (def.saveSliceInfoDef.varShape ?? []).map((v) => toSafeNumber(v, 'var_shape')),
            }
          : null;
      out.push(
        new Variable(
          op,
          initializer ?? this.graph.addOperation('NoOp', { name: this.graph.uniqueName(`${op.name}/no_initializer`) }),
          snapshot,
          trainableNames.has(variableName) || def.trainable === true,
          slice,
        ),
      );
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
      const keys = variables.map((v) => (v.saveSliceInfo ? v.saveSliceInfo.fullName : v.opName.slice(this.scope.length + 1)));
      const specs = variables.map((v) => (v.saveSliceInfo ? sliceSpec(v.saveSliceInfo) : ''));
      const restore = restoreV2(g, { prefix: checkpoint, keys, slices: specs, dtypes: variables.map((v) => v.dtype) });
      variables.forEach((v, i) => {
        // Python's init_from_checkpoint refuses a checkpoint tensor whose shape differs from the variable's; a
        // resource assign would silently reshape the variable, so check the restored value (the error names the key).
        const shape = v.shape;
        const value =
          shape === null
            ? restore.output(i)
            : g
                .addOperation('EnsureShape', {
                  name: g.uniqueName(`${keys[i]}/EnsureShape`),
                  inputs: [restore.output(i)],
                  attrs: { shape },
                })
                .output(0);
        v.initializer = v.isResource
          ? g.addOperation('AssignVariableOp', { name: g.uniqueName('AssignVariableOp'), inputs: [v.handle, value] })
          : g.addOperation('Assign', { name: g.uniqueName('Assign'), inputs: [v.handle, value], attrs: { validate_shape: true } });
      });
    });
  }

  private exportStateCollections(variables: Variable[]): void {
    const g = this.graph;
    const modelVarNames = new Set(
      (this.collection(GraphKeys.MODEL_VARIABLES)?.bytesList?.value ?? []).map((b) => decodeVariableDef(b, 'model variable').variableName),
    );
    for (const v of variables) {
      g.addToCollection(GraphKeys.GLOBAL_VARIABLES, v);
      if (modelVarNames.has(`${v.opName.slice(this.scope.length + 1)}:0`)) g.addToCollection(GraphKeys.MODEL_VARIABLES, v);
      if (this.trainable && v.trainable) g.addToCollection(GraphKeys.TRAINABLE_VARIABLES, v);
    }
    if (this.trainable)
      for (const loss of this.nodeListEntries(GraphKeys.REGULARIZATION_LOSSES, this.scope))
        g.addToCollection(GraphKeys.REGULARIZATION_LOSSES, loss);
    for (const op of this.nodeListEntries(GraphKeys.TABLE_INITIALIZERS, this.scope))
      g.addToCollection(GraphKeys.TABLE_INITIALIZERS, op instanceof Output ? op.op : op);
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
  call(
    inputs: ModuleInput | Record<string, ModuleInput> | null | undefined,
    options: CallOptions & { asDict: true },
  ): Record<string, ModuleOutput>;
  call(inputs?: ModuleInput | Record<string, ModuleInput> | null, options?: CallOptions): ModuleOutput;
  call(inputs?: ModuleInput | Record<string, ModuleInput> | null, options: CallOptions = {}): ModuleOutput | Record<string, ModuleOutput> {
    const g = this.graph;
    const signature = options.signature || 'default';
    const sig = this.metaGraph.signatureDef?.[signature];
    if (!sig) throw new TfhubError('ERR_UNKNOWN_SIGNATURE', `Signature '${signature}' is missing from meta graph.`);
    const inputInfos = Object.fromEntries(Object.entries(sig.inputs ?? {}).map(([k, v]) => [k, parseTensorInfo(v)]));
    const outputInfos = Object.fromEntries(Object.entries(sig.outputs ?? {}).map(([k, v]) => [k, parseTensorInfo(v)]));
    for (const [kind, infos] of [
      ['input', inputInfos],
      ['output', outputInfos],
    ] as const) {
      for (const [k, info] of Object.entries(infos)) {
        if (!info.isSupportedType)
          throw new TfhubError(
            'ERR_UNSUPPORTED_SIGNATURE_TYPE',
            `Signature '${signature}' expects a ${info.kind} for ${kind} '${k}', which is not supported by this version of tfhub-node.`,
          );
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
    prefixFrameNames(applyDef, applyScope);
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
    if (this.trainable)
      for (const op of this.nodeListEntries(GraphKeys.UPDATE_OPS, applyScope)) g.addToCollection(GraphKeys.UPDATE_OPS, op);

    const lookup = (name: string): Output => feedMap.get(/:\d+$/.test(name) ? name : `${name}:0`) ?? g.output(`${applyScope}/${name}`);
    const outputs: Record<string, ModuleOutput> = {};
    for (const [key, info] of Object.entries(outputInfos)) {
      if (info.isSparse)
        outputs[key] = {
          indices: lookup(info.names.indices!),
          values: lookup(info.names.values!),
          denseShape: lookup(info.names.denseShape!),
        };
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
    if (!(session instanceof Session)) throw typeError('ERR_INVALID_ARG_TYPE', 'export(path, session): session must be a Session');
    if (session.graph !== this.graph)
      throw new TfhubError('ERR_GRAPH_MISMATCH', 'session graph differs from the graph where the module was instantiated.');
    const entries = this.variables.map((v) => ({
      key: v.saveSliceInfo ? v.saveSliceInfo.fullName : v.opName.slice(this.scope.length + 1),
      variable: v,
    }));
    await writeModule(this.spec.savedModel, path, entries.length > 0 ? (prefix) => saveVariables(session, entries, prefix) : null);
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
