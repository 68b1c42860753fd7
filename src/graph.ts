/** `Graph`: the binding wrapper of a TensorFlow graph (operations, imports, functions, gradients). */
import { DType } from './dtypes';
import { InvalidArgumentError, TfhubError, callerStack, rangeError, typeError, withCallerStack } from './errors';
import { NativeAttr, NativeGraph, NativeImportOptions, NativeImportResult, NativeOperation, NativeOutput, binding } from './native';
import { tensorflow } from './proto';
import { isUnknownAttr } from './registry';
import { Tensor, tensor as makeTensor } from './tensor';
import { Operation, OperationInput, Output } from './operation';
import { attrToJs, encodeAttr, guessAttrType, inferAttrsFromInputs } from './attr_codec';
import { DeviceScope, deviceFor, hasDeviceScope, placeGraphDef, withDevice } from './device_scope';
import { NameScopes } from './name_scopes';
import { Collections } from './collections';
import { partialShape } from './shape';

import { AddOperationOptions, GradientOptions, ImportGraphDefOptions, ImportResult } from './graph_options';
export { Operation, OperationInput, Output };
export { AddOperationOptions, GradientOptions, ImportGraphDefOptions, ImportResult } from './graph_options';

/** What `Graph.addGradients` delegates to: the registry-aware gradients of `train/`. */
type SymbolicGradients = (
  graph: Graph,
  ys: Output | Output[],
  xs: GradientSources,
  dys: Output[] | null | undefined,
  options: GradientOptions,
) => Output[];

/** What gradients are taken with respect to: Outputs or variables (their handles). */
type GradientSources = Output | { readonly handle: Output } | Array<Output | { readonly handle: Output }>;

let symbolicGradients: SymbolicGradients | undefined;

/** @internal Installed by `train/gradients` when it loads (the graph layer does not import train/). */
export function setSymbolicGradients(fn: SymbolicGradients): void {
  symbolicGradients = fn;
}

function splitTensorName(name: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(name);
  return m ? [m[1], Number(m[2])] : [name, 0];
}

/** A TensorFlow graph, with Python-style collections and name scopes kept on the JS side. */
export class Graph {
  /** @internal */
  readonly native: NativeGraph;
  private readonly opCache = new Map<string, Operation>();
  private readonly opDefCache = new Map<string, tensorflow.OpDef>();
  private readonly collections = new Collections();
  private readonly names: NameScopes;

  constructor() {
    this.native = new (binding().Graph)();
    this.names = new NameScopes(this.native);
  }

  // ------------------------------------------------------------------ names

  /** The current name scope (`""` at top level). */
  get nameScope(): string {
    return this.names.current;
  }

  /**
   * Runs `fn` with a device scope (Python's `with tf.device(device):`): a device string or DeviceSpec merged
   * into the device of every operation built inside (inner scopes win field by field), a function choosing
   * each operation's device, or null to clear the outer scopes.
   */
  withDevice<T>(device: DeviceScope, fn: () => T): T {
    return withDevice(this, device, fn);
  }

  /**
   * Runs `fn` with `name` pushed onto the name scope, made unique like Python's `tf.name_scope`; a name ending
   * in `/` is taken as an absolute scope, as in Python.
   */
  withNameScope<T>(name: string, fn: () => T): T {
    return this.names.withScope(name, fn);
  }

  /** Whether `name` is taken: by an operation, by a name made with uniqueName, or as a scope of existing ops. */
  isNameUsed(name: string): boolean {
    return this.names.isUsed(name);
  }

  /**
   * A fresh name under the current scope: `base`, else `base_1`, `base_2`, … (Python's `Graph.unique_name`).
   * Names of imported operations count as used.
   */
  uniqueName(base: string, markUsed = true): string {
    return this.names.unique(base, markUsed);
  }

  // ------------------------------------------------------------------ operations

  /** @internal a cached wrapper per operation name */
  wrapOperation(native: NativeOperation): Operation {
    const name = native.name();
    let op = this.opCache.get(name);
    if (!op) {
      op = new Operation(this, native, name);
      this.opCache.set(name, op);
    }
    return op;
  }

  /** The operation called `name`, or null. */
  operation(name: string): Operation | null {
    const cached = this.opCache.get(name);
    if (cached) return cached;
    const native = this.native.operationByName(name);
    return native ? this.wrapOperation(native) : null;
  }

  /** The output called `"op:index"` (or `"op"` for index 0); throws NOT_FOUND-style error if absent. */
  output(name: string): Output {
    const [opName, index] = splitTensorName(name);
    const op = this.operation(opName);
    if (!op) throw new TfhubError('ERR_NOT_FOUND', `no operation '${opName}' in the graph (for tensor '${name}')`);
    return op.output(index);
  }

  /** Every operation, in creation order. */
  operations(): Operation[] {
    return this.native.operations().map((op) => this.wrapOperation(op));
  }

  /** The registered OpDef of an op type (decoded). */
  opDef(type: string): tensorflow.OpDef {
    let def = this.opDefCache.get(type);
    if (!def) {
      def = tensorflow.OpDef.decode(this.native.opDef(type));
      this.opDefCache.set(type, def);
    }
    return def;
  }

  /**
   * Adds an operation. Attribute values are converted according to the op's OpDef (ints vs floats, shapes,
   * dtypes, tensors, lists, function names); type attributes left out are inferred from the inputs as TF does.
   */
  addOperation(type: string, options: AddOperationOptions = {}): Operation {
    if (typeof type !== 'string' || type === '') throw typeError('ERR_INVALID_ARG_TYPE', 'operation type must be a non-empty string');
    const opDef = this.opDef(type);
    const inputs = options.inputs ?? [];
    if (!Array.isArray(inputs)) throw typeError('ERR_INVALID_ARG_TYPE', `inputs of ${type} must be an array`);
    for (const input of inputs) {
      const items = Array.isArray(input) ? input : [input];
      for (const o of items) {
        if (!(o instanceof Output)) throw typeError('ERR_INVALID_ARG_TYPE', `inputs of ${type} must be Outputs`);
        if (o.graph !== this) throw new TfhubError('ERR_GRAPH_MISMATCH', `input ${o.name} of ${type} belongs to another graph`);
      }
    }
    const attrs = { ...(options.attrs ?? {}) };
    inferAttrsFromInputs(opDef, inputs, attrs);
    const nativeAttrs: NativeAttr[] = [];
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined) continue;
      const def = opDef.attr.find((a) => a.name === name);
      if (isUnknownAttr(opDef, name)) {
        throw typeError(
          'ERR_INVALID_ATTR',
          `${type} has no attr '${name}' (its attrs: ${opDef.attr.map((a) => a.name).join(', ') || 'none'})`,
        );
      }
      nativeAttrs.push(encodeAttr(name, def?.type ?? guessAttrType(value), value, type));
    }
    const name = options.name !== undefined ? options.name : this.uniqueName(type);
    // Device scopes (withDevice); colocated ops take their target's device and ignore them, as in Python.
    const colocated = options.colocateWith?.length ? (options.device ?? options.colocateWith[0].device) : null;
    const device = !hasDeviceScope(this)
      ? (options.device ?? null)
      : (colocated ?? deviceFor(this, { type, name, device: options.device, attrs }));
    const native = this.native.addOperation(
      type,
      name,
      inputs.map((i) => (Array.isArray(i) ? i.map((o) => o.native) : i.native)),
      nativeAttrs,
      device,
      options.controlInputs ? options.controlInputs.map((o) => o.native) : null,
      options.colocateWith ? options.colocateWith.map((o) => o.native) : null,
    );
    this.names.added(name);
    return this.wrapOperation(native);
  }

  /**
   * A Placeholder of `dtype`. shape: `null`/omitted = unknown rank; `null` or `-1` for an unknown dimension
   * (`[null, 2]`, as Python's `[None, 2]`).
   */
  placeholder(dtype: DType, shape: ReadonlyArray<number | null> | null = null, name?: string): Output {
    const dims = partialShape(shape, 'placeholder shape');
    const attrs: Record<string, unknown> = { dtype };
    if (dims !== null) attrs.shape = dims;
    return this.addOperation('Placeholder', { name: this.uniqueName(name ?? 'Placeholder'), attrs }).output(0);
  }

  /** A Const holding `value` (a Tensor, or JS values converted with `dtype`). */
  constant(value: Tensor | unknown, name?: string, dtype?: DType): Output {
    const t = value instanceof Tensor ? value : makeTensor(value, dtype);
    try {
      return this.addOperation('Const', { name: this.uniqueName(name ?? 'Const'), attrs: { dtype: t.dtype, value: t } }).output(0);
    } finally {
      if (!(value instanceof Tensor)) t.dispose();
    }
  }

  /** Imports a serialized GraphDef. */
  importGraphDef(graphDef: Uint8Array, options: ImportGraphDefOptions = {}): ImportResult {
    this.checkPrefixClash(toBytes(graphDef), options);
    try {
      return this.wrapImport(
        this.native.importGraphDef(placeGraphDef(this, toBytes(graphDef), options.prefix, attrToJs), this.importOptions(options)),
      );
    } finally {
      this.names.invalidate();
    }
  }

  /** Like importGraphDef, on a background thread (for large graphs). */
  async importGraphDefAsync(graphDef: Uint8Array, options: ImportGraphDefOptions = {}): Promise<ImportResult> {
    const caller = callerStack(this.importGraphDefAsync);
    this.checkPrefixClash(toBytes(graphDef), options);
    try {
      const pending = this.native.importGraphDefAsync(
        placeGraphDef(this, toBytes(graphDef), options.prefix, attrToJs),
        this.importOptions(options),
      );
      return this.wrapImport(await pending.catch((e: unknown) => Promise.reject(withCallerStack(e, caller))));
    } finally {
      this.names.invalidate();
    }
  }

  /**
   * TF checks imported names against the graph only without a prefix: under a prefix already in use, a clash
   * would leave two nodes with one name (a graph that can no longer run or be exported). Check here instead.
   */
  private checkPrefixClash(graphDef: Uint8Array, o: ImportGraphDefOptions): void {
    const prefix = o.prefix?.replace(/\/$/, '');
    if (!prefix || o.uniquifyPrefix || o.uniquifyNames || !this.isNameUsed(prefix)) return;
    for (const node of tensorflow.GraphDef.decode(graphDef).node) {
      const name = `${prefix}/${node.name}`;
      if (this.native.operationByName(name) !== null) {
        throw new InvalidArgumentError(
          `Node name '${name}' already exists in the Graph (import prefix '${prefix}' is in use; pass uniquifyPrefix: true for a fresh one)`,
        );
      }
    }
  }

  private importOptions(o: ImportGraphDefOptions): NativeImportOptions {
    const inputMap: Array<[string, number, NativeOutput]> = [];
    const entries = o.inputMap instanceof Map ? [...o.inputMap.entries()] : Object.entries(o.inputMap ?? {});
    for (const [key, out] of entries) {
      if (!(out instanceof Output)) throw typeError('ERR_INVALID_ARG_TYPE', `inputMap['${key}'] must be an Output`);
      if (key.startsWith('^')) continue;
      const [name, index] = splitTensorName(key);
      inputMap.push([name, index, out.native]);
    }
    return {
      prefix: o.prefix,
      defaultDevice: o.defaultDevice,
      uniquifyNames: o.uniquifyNames,
      uniquifyPrefix: o.uniquifyPrefix,
      inputMap,
      controlRemap: Object.entries(o.controlRemap ?? {}).map(([k, op]) => [k.replace(/^\^/, ''), op.native]),
      controlDependencies: (o.controlDependencies ?? []).map((op) => op.native),
      returnOutputs: (o.returnOutputs ?? []).map(splitTensorName),
      returnOperations: o.returnOperations ?? [],
    };
  }

  private wrapImport(r: NativeImportResult): ImportResult {
    return {
      outputs: r.outputs.map(([op, i]) => new Output(this.wrapOperation(op), i)),
      operations: r.operations.map((op) => this.wrapOperation(op)),
      missingUnusedInputs: r.missingUnusedInputs.map(([n, i]) => `${n}:${i}`),
    };
  }

  /** The graph as a serialized GraphDef. */
  toGraphDef(): Uint8Array {
    return this.native.toGraphDef();
  }

  /**
   * Symbolic gradients of sum(ys · dys) with respect to xs (Outputs or variables). Ops without a C++ gradient
   * use the TypeScript registry (`train.registerGradient`). An x that no y depends on is an error naming it,
   * or zeros with `{unconnected: 'zero'}`, or null with `'null'`.
   */
  addGradients(ys: Output | Output[], xs: GradientSources, dys?: Output[] | null, options: GradientOptions = {}): Output[] {
    if (!symbolicGradients)
      throw new TfhubError(
        'ERR_INTERNAL',
        "Graph.addGradients: the gradient registry (train/) is not loaded; import tfhub-node's entry point",
      );
    return symbolicGradients(this, ys, xs, dys, options);
  }

  /** @internal One TF_AddGradientsWithPrefix call; null where TF found no path. */
  nativeGradients(prefix: string, ys: Output[], xs: Output[], dys: Output[] | null): Array<Output | null> {
    let grads: Array<NativeOutput | null>;
    try {
      grads = this.native.addGradients(
        prefix,
        ys.map((o) => o.native),
        xs.map((o) => o.native),
        dys ? dys.map((o) => o.native) : null,
      );
    } finally {
      this.names.invalidate(); // TF added operations
    }
    return grads.map((g) => (g ? new Output(this.wrapOperation(g[0]), g[1]) : null));
  }

  /** @internal Set when a Session runs this graph: edits of operations a session already ran do not reach it. */
  sessionRan = false;

  /**
   * Makes input `index` of `op` read `source` instead (Python's private `Operation._update_input`,
   * `TF_UpdateEdge`). The dtypes must match (ERR_INVALID_ARG_VALUE); TensorFlow checks the shapes. A session that
   * already ran `op` keeps running it unedited (TensorFlow logs a warning): edit before running, or make a new
   * session.
   */
  updateInput(op: Operation, index: number, source: Output): void {
    if (!(op instanceof Operation) || !(source instanceof Output))
      throw typeError('ERR_INVALID_ARG_TYPE', 'updateInput(op, index, source) takes an Operation and an Output');
    if (op.graph !== this || source.graph !== this)
      throw new TfhubError('ERR_GRAPH_MISMATCH', 'updateInput: op and source must belong to this graph');
    const input = op.inputs[index];
    if (!input) throw rangeError('ERR_OUT_OF_RANGE', `operation '${op.name}' has ${op.numInputs} inputs, no input ${String(index)}`);
    if (input.dtype !== source.dtype)
      throw new TfhubError(
        'ERR_INVALID_ARG_VALUE',
        `updateInput: input ${index} of '${op.name}' is ${input.dtype}, ${source.name} is ${source.dtype}`,
      );
    this.native.updateEdge(source.native, [op.native, index]);
  }

  /**
   * Makes `controls` the control inputs of `op`, replacing the ones it has (Python's private
   * `Operation._remove_all_control_inputs` + `_add_control_inputs`). Sessions that already ran `op` keep it as it was.
   */
  setControlInputs(op: Operation, controls: Operation[]): void {
    if (!(op instanceof Operation) || !Array.isArray(controls) || !controls.every((c) => c instanceof Operation))
      throw typeError('ERR_INVALID_ARG_TYPE', 'setControlInputs(op, controls) takes an Operation and an array of Operations');
    if ([op, ...controls].some((o) => o.graph !== this))
      throw new TfhubError('ERR_GRAPH_MISMATCH', 'setControlInputs: operations of another graph');
    this.native.setControlInputs(
      op.native,
      controls.map((c) => c.native),
    );
  }

  /** Names of the operations whose outputs flow (through data edges) into `outputs`. */
  ancestorOps(outputs: Output[]): Set<string> {
    const seen = new Set<string>();
    const stack = outputs.map((o) => o.op);
    while (stack.length > 0) {
      const op = stack.pop()!;
      if (seen.has(op.name)) continue;
      seen.add(op.name);
      for (const input of op.inputs) if (!seen.has(input.op.name)) stack.push(input.op);
    }
    return seen;
  }

  /** Adds a serialized FunctionDef (optionally with a gradient FunctionDef) to the graph's library. */
  importFunctionDef(functionDef: Uint8Array, gradient?: Uint8Array): void {
    this.native.importFunctionDef(toBytes(functionDef), gradient ? toBytes(gradient) : null);
  }

  /** The FunctionDefs in the graph's library (decoded). */
  functionDefs(): tensorflow.FunctionDef[] {
    return this.native.functionDefs().map((b) => tensorflow.FunctionDef.decode(b));
  }

  /** Copies every function of `other` into this graph. */
  copyFunctionsFrom(other: Graph): void {
    for (const b of other.native.functionDefs()) this.native.importFunctionDef(b, null);
  }

  // ------------------------------------------------------------------ collections (Python GraphKeys)

  /** The values in collection `key` (a copy), e.g. `'variables'`, `'trainable_variables'`, `'update_ops'`. */
  getCollection<T = unknown>(key: string): T[] {
    return this.collections.get<T>(key);
  }

  /** Appends `value` to collection `key`. */
  addToCollection(key: string, value: unknown): void {
    this.collections.add(key, value);
  }

  /** Keys of non-empty collections. */
  getAllCollectionKeys(): string[] {
    return this.collections.keys();
  }

  /** Removes every value of collection `key`. */
  clearCollection(key: string): void {
    this.collections.clear(key);
  }

  /** A single operation that runs every op in collection `key` (a NoOp with control inputs; a plain NoOp if empty). */
  groupCollection(key: string, name: string): Operation {
    const ops = this.getCollection<unknown>(key)
      .map((v) => (v instanceof Output ? v.op : (v as Operation)))
      .filter((v) => v instanceof Operation);
    return this.addOperation('NoOp', { name: this.uniqueName(name), controlInputs: ops });
  }

  /** `Python: tf.compat.v1.global_variables_initializer()`: runs the `initializer` of every global variable. */
  globalVariablesInitializer(): Operation {
    const ops = this.getCollection<{ initializer?: Operation }>('variables')
      .map((v) => v.initializer)
      .filter((v): v is Operation => v instanceof Operation);
    return this.addOperation('NoOp', { name: this.uniqueName('init'), controlInputs: ops });
  }

  /** `Python: tf.compat.v1.tables_initializer()`: runs every op in the `table_initializer` collection. */
  tablesInitializer(): Operation {
    return this.groupCollection('table_initializer', 'init_all_tables');
  }

  /** Frees the graph when no session uses it any more. */
  dispose(): void {
    this.native.dispose();
    this.opCache.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** True after `dispose()`: the graph's memory is freed once no Session uses it. */
  get isDisposed(): boolean {
    return this.native.isDisposed();
  }
}

function toBytes(b: Uint8Array): Uint8Array {
  if (!(b instanceof Uint8Array)) throw typeError('ERR_INVALID_ARG_TYPE', 'expected a Uint8Array');
  return b;
}
