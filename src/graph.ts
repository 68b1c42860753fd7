/** `Graph`, `Operation` and `Output`: building and inspecting TensorFlow graphs. */
import { DType, canonicalDType, dtypeFromTf, isDType, tfDataType } from './dtypes';
import { InvalidArgumentError, TfhubError, typeError } from './errors';
import { DeviceScope, deviceFor, hasDeviceScope, placeGraphDef, withDevice } from './device_scope';
import { NativeAttr, NativeGraph, NativeImportOptions, NativeOperation, NativeOutput, binding } from './native';
import { shapeProto, tensorflow, toSafeNumber } from './proto';
import { Tensor, tensor as makeTensor } from './tensor';

/** One output of an operation: what Python calls a `tf.Tensor` in graph mode. */
export class Output {
  /** The operation that produces this tensor. */
  readonly op: Operation;
  /** Which of the operation's outputs it is (0-based). */
  readonly index: number;

  constructor(op: Operation, index: number) {
    this.op = op;
    this.index = index;
  }

  /** `"op_name:index"`, as TensorFlow names tensors. */
  get name(): string {
    return `${this.op.name}:${this.index}`;
  }

  /** Element type. */
  get dtype(): DType {
    return dtypeFromTf(this.op.native.outputType(this.index));
  }

  /** Whether the output is a reference (TF1 `VariableV2` and friends). */
  get isRef(): boolean {
    return this.op.native.outputType(this.index) > 100;
  }

  /** Static shape from shape inference: `null` for unknown rank, `-1` for unknown dimensions. */
  get shape(): number[] | null {
    return this.op.graph.native.tensorShape(this.native);
  }

  /** The graph this output lives in. */
  get graph(): Graph {
    return this.op.graph;
  }

  /** Operations consuming this output, with the input slot each uses. */
  consumers(): Array<{ op: Operation; inputIndex: number }> {
    return this.op.native.consumers(this.index).map(([op, i]) => ({ op: this.op.graph.wrapOperation(op), inputIndex: i }));
  }

  /** @internal */
  get native(): NativeOutput {
    return [this.op.native, this.index];
  }

  /** A short description for logs, e.g. `Output(dense/MatMul:0, float32)`. */
  toString(): string {
    return `Output(${this.name}, ${this.dtype})`;
  }
}

/** A node of a Graph. */
export class Operation {
  /** The graph this operation belongs to. */
  readonly graph: Graph;
  /** @internal */
  readonly native: NativeOperation;
  /** The operation's unique name in its graph, e.g. `dense/MatMul`. */
  readonly name: string;

  /** @internal */
  constructor(graph: Graph, native: NativeOperation, name: string) {
    this.graph = graph;
    this.native = native;
    this.name = name;
  }

  /** Op type, e.g. `"MatMul"`. */
  get type(): string {
    return this.native.type();
  }

  /** Requested device (may be empty). */
  get device(): string {
    return this.native.device();
  }

  /** How many outputs (tensors) it produces. */
  get numOutputs(): number {
    return this.native.numOutputs();
  }

  /** How many data inputs it takes (control inputs not counted). */
  get numInputs(): number {
    return this.native.numInputs();
  }

  /** Output `i` (RangeError if out of range). */
  output(i: number): Output {
    if (!Number.isInteger(i) || i < 0 || i >= this.numOutputs) {
      const e = new RangeError(`operation '${this.name}' has ${this.numOutputs} outputs, no output ${i}`) as RangeError & { code: string };
      e.code = 'ERR_OUT_OF_RANGE';
      throw e;
    }
    return new Output(this, i);
  }

  /** All outputs. */
  get outputs(): Output[] {
    return Array.from({ length: this.numOutputs }, (_, i) => new Output(this, i));
  }

  /** The outputs feeding this operation's inputs. */
  get inputs(): Output[] {
    return Array.from({ length: this.numInputs }, (_, i) => {
      const [op, index] = this.native.input(i);
      return new Output(this.graph.wrapOperation(op), index);
    });
  }

  /** Operations this one has control dependencies on. */
  get controlInputs(): Operation[] {
    return this.native.controlInputs().map((op) => this.graph.wrapOperation(op));
  }

  /** Operations that depend on this one through control edges. */
  get controlOutputs(): Operation[] {
    return this.native.controlOutputs().map((op) => this.graph.wrapOperation(op));
  }

  /** The serialized NodeDef. */
  nodeDef(): tensorflow.NodeDef {
    return tensorflow.NodeDef.decode(this.native.nodeDef());
  }

  /** An attribute as a decoded AttrValue proto (throws InvalidArgumentError when absent). */
  attrValue(name: string): tensorflow.AttrValue {
    return tensorflow.AttrValue.decode(this.native.attrValue(name));
  }

  /** An attribute as a plain JS value (int → number, type → dtype name, shape → dims, tensor → Tensor …). */
  getAttr(name: string): unknown {
    return attrToJs(this.attrValue(name));
  }

  /** A short description for logs, e.g. `Operation(dense/MatMul, MatMul)`. */
  toString(): string {
    return `Operation(${this.name}, ${this.type})`;
  }
}

/** Inputs of `addOperation`: an Output, or an array of Outputs for a list input. */
export type OperationInput = Output | Output[];

/** Options of `Graph.addOperation`. */
export interface AddOperationOptions {
  /**
   * The exact full name (an error if taken; `graph.uniqueName(base)` makes a free one). Default: the op type
   * made unique (`MatMul`, `MatMul_1`, …) inside the current name scope.
   */
  name?: string;
  /** The op's inputs in OpDef order; a list input takes an array of Outputs. */
  inputs?: OperationInput[];
  /** Attribute values, typed by the op's registered OpDef; type attrs are inferred from inputs when omitted. */
  attrs?: Record<string, unknown>;
  /** Device placement, e.g. `/device:CPU:0` (default: TF places it). */
  device?: string;
  /** Operations that must run before this one (control edges). */
  controlInputs?: Operation[];
  /** Place this operation on the same device as these (the `_class` colocation attribute). */
  colocateWith?: Operation[];
}

/** Options of `Graph.importGraphDef`. */
export interface ImportGraphDefOptions {
  /** Prefix for every imported name (`prefix/...`). */
  prefix?: string;
  /** Map imported tensors (`"name:index"` or `"name"` for index 0) to existing outputs. */
  inputMap?: Record<string, Output> | Map<string, Output>;
  /** Imported tensors to return, by name (`"op:0"`). */
  returnOutputs?: string[];
  /** Imported operations to return, by name. */
  returnOperations?: string[];
  /** Extra control dependencies for every imported operation without inputs mapped from outside. */
  controlDependencies?: Operation[];
  /** Replace control inputs `^name` of imported nodes by existing operations. */
  controlRemap?: Record<string, Operation>;
  /** Rename imported operations whose names are taken (`a` → `a_1`) instead of failing. */
  uniquifyNames?: boolean;
  /** Make `prefix` itself unique when it is already used in the graph. */
  uniquifyPrefix?: boolean;
  /** Device for imported operations that name none. */
  defaultDevice?: string;
}

/** What an import returns. */
export interface ImportResult {
  /** The tensors asked for with `returnOutputs`, in that order. */
  outputs: Output[];
  /** The operations asked for with `returnOperations`, in that order. */
  operations: Operation[];
  /** inputMap keys that matched nothing in the GraphDef. */
  missingUnusedInputs: string[];
}

/** Options of `Graph.addGradients`. */
export interface GradientOptions {
  /** Name scope of the gradient ops (default `gradients`, made unique). */
  prefix?: string;
  /** What to do with an x that ys do not depend on: `'error'` (default) or `'zero'` (zeros like x). */
  unconnected?: 'error' | 'zero' | 'null';
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
  private readonly collections = new Map<string, unknown[]>();
  private readonly nameCounters = new Map<string, number>();
  private scopeStack: string[] = [];
  /** Name scopes of existing operations (`a`, `a/b` for `a/b/c`); built on demand, dropped when TF adds ops. */
  private scopeCache: Set<string> | null = null;

  constructor() {
    this.native = new (binding().Graph)();
  }

  // ------------------------------------------------------------------ names

  /** The current name scope (`""` at top level). */
  get nameScope(): string {
    return this.scopeStack.join('/');
  }

  /**
   * Runs `fn` with `name` pushed onto the name scope, made unique like Python's `tf.name_scope`; a name ending
   * in `/` is taken as an absolute scope, as in Python.
   */
  withNameScope<T>(name: string, fn: () => T): T {
    const unique = name.endsWith('/') ? name.slice(0, -1) : this.uniqueName(name);
    const saved = this.scopeStack;
    this.scopeStack = unique === '' ? [] : unique.split('/');
    try {
      return fn();
    } finally {
      this.scopeStack = saved;
    }
  }

  /**
   * Runs `fn` with a device scope (Python's `with tf.device(device):`): a device string or DeviceSpec merged
   * into the device of every operation built inside (inner scopes win field by field), a function choosing
   * each operation's device, or null to clear the outer scopes.
   */
  withDevice<T>(device: DeviceScope, fn: () => T): T {
    return withDevice(this, device, fn);
  }

  /** Whether `name` is taken: by an operation, by a name made with uniqueName, or as a scope of existing ops. */
  isNameUsed(name: string): boolean {
    if (this.nameCounters.has(name.toLowerCase()) || this.native.operationByName(name) !== null) return true;
    // A scan of every operation per call made graph building quadratic: keep the scopes in a set instead.
    if (!this.scopeCache) {
      this.scopeCache = new Set();
      for (const op of this.native.operations()) addScopes(this.scopeCache, op.name());
    }
    return this.scopeCache.has(name);
  }

  /**
   * A fresh name under the current scope: `base`, else `base_1`, `base_2`, … (Python's `Graph.unique_name`).
   * Names of imported operations count as used.
   */
  uniqueName(base: string, markUsed = true): string {
    const name = this.scoped(base);
    const key = name.toLowerCase();
    let i = this.nameCounters.get(key) ?? 0;
    let candidate = name;
    if (i > 0 || this.isNameUsed(name)) {
      i = Math.max(i, 1);
      while (this.isNameUsed(`${name}_${i}`)) i++;
      candidate = `${name}_${i}`;
    }
    if (markUsed) {
      this.nameCounters.set(key, i + 1);
      this.nameCounters.set(candidate.toLowerCase(), Math.max(this.nameCounters.get(candidate.toLowerCase()) ?? 0, 1));
    }
    return candidate;
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
      // TF only logs and ignores attrs its OpDef lacks: a misspelt attr would silently do nothing. Internal attrs
      // (`_class`, `_output_shapes`, …) are not in OpDefs and stay allowed.
      if (!def && !name.startsWith('_')) {
        throw typeError('ERR_INVALID_ATTR', `${type} has no attr '${name}' (its attrs: ${opDef.attr.map((a) => a.name).join(', ') || 'none'})`);
      }
      nativeAttrs.push(encodeAttr(name, def?.type ?? guessAttrType(value), value, type));
    }
    const name = options.name !== undefined ? options.name : this.uniqueName(type);
    // Device scopes (withDevice); colocated ops take their target's device and ignore them, as in Python.
    const colocated = options.colocateWith?.length ? options.device ?? options.colocateWith[0].device : null;
    const device = !hasDeviceScope(this) ? options.device ?? null : colocated ?? deviceFor(this, { type, name, device: options.device, attrs });
    const native = this.native.addOperation(
      type, name,
      inputs.map((i) => (Array.isArray(i) ? i.map((o) => o.native) : i.native)),
      nativeAttrs,
      device,
      options.controlInputs ? options.controlInputs.map((o) => o.native) : null,
      options.colocateWith ? options.colocateWith.map((o) => o.native) : null,
    );
    this.nameCounters.set(name.toLowerCase(), Math.max(this.nameCounters.get(name.toLowerCase()) ?? 0, 1));
    if (this.scopeCache) addScopes(this.scopeCache, name);
    return this.wrapOperation(native);
  }

  private scoped(name: string): string {
    return this.nameScope ? `${this.nameScope}/${name}` : name;
  }

  /** A Placeholder of `dtype` (shape: `null`/omitted = unknown rank, `-1` = unknown dimension). */
  placeholder(dtype: DType, shape: number[] | null = null, name?: string): Output {
    const attrs: Record<string, unknown> = { dtype };
    if (shape !== null) attrs.shape = shape;
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
      const placed = placeGraphDef(this, toBytes(graphDef), options.prefix, attrToJs);
      return this.wrapImport(this.native.importGraphDef(placed, this.importOptions(options)));
    } finally {
      this.scopeCache = null;
    }
  }

  /** Like importGraphDef, on a background thread (for large graphs). */
  async importGraphDefAsync(graphDef: Uint8Array, options: ImportGraphDefOptions = {}): Promise<ImportResult> {
    this.checkPrefixClash(toBytes(graphDef), options);
    try {
      const placed = placeGraphDef(this, toBytes(graphDef), options.prefix, attrToJs);
      return this.wrapImport(await this.native.importGraphDefAsync(placed, this.importOptions(options)));
    } finally {
      this.scopeCache = null;
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
        throw new InvalidArgumentError(`Node name '${name}' already exists in the Graph (import prefix '${prefix}' is in use; pass uniquifyPrefix: true for a fresh one)`);
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

  private wrapImport(r: { outputs: NativeOutput[]; operations: NativeOperation[]; missingUnusedInputs: Array<[string, number]> }): ImportResult {
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
  addGradients(ys: Output | Output[], xs: Output | { readonly handle: Output } | Array<Output | { readonly handle: Output }>, dys?: Output[] | null, options: GradientOptions = {}): Output[] {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { addSymbolicGradients } = require('./train/gradients') as typeof import('./train/gradients');
    return addSymbolicGradients(this, ys, xs, dys, options);
  }

  /** @internal One TF_AddGradientsWithPrefix call; null where TF found no path. */
  nativeGradients(prefix: string, ys: Output[], xs: Output[], dys: Output[] | null): Array<Output | null> {
    let grads: Array<NativeOutput | null>;
    try {
      grads = this.native.addGradients(prefix, ys.map((o) => o.native), xs.map((o) => o.native), dys ? dys.map((o) => o.native) : null);
    } finally {
      this.scopeCache = null; // TF added operations
    }
    return grads.map((g) => (g ? new Output(this.wrapOperation(g[0]), g[1]) : null));
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
    return [...((this.collections.get(key) as T[] | undefined) ?? [])];
  }

  /** Appends `value` to collection `key`. */
  addToCollection(key: string, value: unknown): void {
    let list = this.collections.get(key);
    if (!list) this.collections.set(key, (list = []));
    list.push(value);
  }

  /** Keys of non-empty collections. */
  getAllCollectionKeys(): string[] {
    return [...this.collections.keys()].filter((k) => this.collections.get(k)!.length > 0);
  }

  /** Removes every value of collection `key`. */
  clearCollection(key: string): void {
    this.collections.delete(key);
  }

  /** A single operation that runs every op in collection `key` (a NoOp with control inputs; a plain NoOp if empty). */
  groupCollection(key: string, name: string): Operation {
    const ops = this.getCollection<unknown>(key).map((v) => (v instanceof Output ? v.op : v as Operation)).filter((v) => v instanceof Operation);
    return this.addOperation('NoOp', { name: this.uniqueName(name), controlInputs: ops });
  }

  /** `Python: tf.compat.v1.global_variables_initializer()`: runs the `initializer` of every global variable. */
  globalVariablesInitializer(): Operation {
    const ops = this.getCollection<{ initializer?: Operation }>('variables').map((v) => v.initializer).filter((v): v is Operation => v instanceof Operation);
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

/** Adds the name scopes of an operation name: `a` and `a/b` for `a/b/c`. */
function addScopes(into: Set<string>, name: string): void {
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) into.add(name.slice(0, i));
}

function toBytes(b: Uint8Array): Uint8Array {
  if (!(b instanceof Uint8Array)) throw typeError('ERR_INVALID_ARG_TYPE', 'expected a Uint8Array');
  return b;
}

// ---------------------------------------------------------------------- attrs

function inferAttrsFromInputs(opDef: tensorflow.OpDef, inputs: OperationInput[], attrs: Record<string, unknown>): void {
  opDef.inputArg.forEach((arg, i) => {
    const input = inputs[i];
    if (input === undefined) return;
    const list = Array.isArray(input) ? input : [input];
    if (arg.numberAttr && attrs[arg.numberAttr] === undefined) attrs[arg.numberAttr] = list.length;
    if (arg.typeAttr && attrs[arg.typeAttr] === undefined && list.length > 0) attrs[arg.typeAttr] = list[0].dtype;
    if (arg.typeListAttr && attrs[arg.typeListAttr] === undefined) attrs[arg.typeListAttr] = list.map((o) => o.dtype);
  });
}

function guessAttrType(value: unknown): string {
  if (value instanceof Tensor) return 'tensor';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return isDType(value) ? 'type' : 'string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (Array.isArray(value) && value.every((v) => v instanceof Tensor)) return 'list(tensor)';
  return 'unknown';
}

function dtypeAttr(v: unknown, op: string, name: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return tfDataType(canonicalDType(v));
  throw typeError('ERR_INVALID_ATTR', `attr '${name}' of ${op} must be a dtype name`);
}

function funcAttr(v: unknown): tensorflow.INameAttrList {
  if (typeof v === 'string') return { name: v };
  if (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') return v as tensorflow.INameAttrList;
  throw typeError('ERR_INVALID_ATTR', 'function attrs take a function name or {name, attr}');
}

function stringBytes(v: unknown): Uint8Array {
  if (typeof v === 'string') return new TextEncoder().encode(v);
  if (v instanceof Uint8Array) return v;
  throw typeError('ERR_INVALID_ATTR', 'string attrs take a string or Uint8Array');
}

function encodeAttr(name: string, type: string, value: unknown, op: string): NativeAttr {
  if (value instanceof tensorflow.AttrValue) return [name, 'proto', tensorflow.AttrValue.encode(value).finish()];
  const bad = (what: string) => typeError('ERR_INVALID_ATTR', `attr '${name}' of ${op} must be ${what}, got ${typeof value}`);
  const list = (check: (v: unknown) => boolean, what: string): unknown[] => {
    if (!Array.isArray(value) || !value.every(check)) throw bad(`an array of ${what}`);
    return value;
  };
  let attr: tensorflow.IAttrValue;
  switch (type) {
    case 'tensor':
      if (!(value instanceof Tensor)) throw bad('a Tensor');
      return [name, 'tensor', value.native];
    case 'list(tensor)':
      return [name, 'tensors', (list((v) => v instanceof Tensor, 'Tensors') as Tensor[]).map((t) => t.native)];
    case 'int':
      if (typeof value !== 'number' && typeof value !== 'bigint') throw bad('an integer');
      if (typeof value === 'number' && !Number.isSafeInteger(value)) throw bad('an integer');
      attr = { i: Number(value) };
      break;
    case 'float':
      if (typeof value !== 'number') throw bad('a number');
      attr = { f: value };
      break;
    case 'bool':
      if (typeof value !== 'boolean') throw bad('a boolean');
      attr = { b: value };
      break;
    case 'string':
      attr = { s: stringBytes(value) };
      break;
    case 'type':
      attr = { type: dtypeAttr(value, op, name) };
      break;
    case 'shape':
      if (value !== null && !(Array.isArray(value) && value.every((d) => Number.isInteger(d)))) throw bad('an array of dimensions or null');
      attr = { shape: shapeProto(value as number[] | null) };
      break;
    case 'func':
      attr = { func: funcAttr(value) };
      break;
    case 'list(int)':
      attr = { list: { i: list((v) => Number.isSafeInteger(v), 'integers') as number[] } };
      break;
    case 'list(float)':
      attr = { list: { f: list((v) => typeof v === 'number', 'numbers') as number[] } };
      break;
    case 'list(bool)':
      attr = { list: { b: list((v) => typeof v === 'boolean', 'booleans') as boolean[] } };
      break;
    case 'list(string)':
      attr = { list: { s: list(() => true, 'strings').map(stringBytes) } };
      break;
    case 'list(type)':
      attr = { list: { type: list(() => true, 'dtypes').map((v) => dtypeAttr(v, op, name)) } };
      break;
    case 'list(shape)':
      attr = { list: { shape: list((v) => v === null || Array.isArray(v), 'shapes').map((v) => shapeProto(v as number[] | null)) } };
      break;
    case 'list(func)':
      attr = { list: { func: list(() => true, 'functions').map(funcAttr) } };
      break;
    default:
      throw typeError('ERR_INVALID_ATTR', `attr '${name}' is not an attribute of ${op} (or its type is unknown)`);
  }
  return [name, 'proto', tensorflow.AttrValue.encode(attr).finish()];
}

/** Converts a decoded AttrValue to a plain JS value. */
export function attrToJs(a: tensorflow.IAttrValue): unknown {
  const num = (v: unknown) => toSafeNumber(v as number, 'attr value');
  const shape = (s: tensorflow.ITensorShapeProto | null | undefined) => (!s || s.unknownRank ? null : (s.dim ?? []).map((d) => num(d.size)));
  switch ((a as { value?: string }).value) {
    case 's': return new TextDecoder().decode(a.s ?? new Uint8Array());
    case 'i': return num(a.i);
    case 'f': return a.f;
    case 'b': return a.b;
    case 'type': return dtypeFromTf(a.type as number);
    case 'shape': return shape(a.shape);
    case 'func': return a.func?.name;
    case 'tensor': return a.tensor;
    case 'placeholder': return a.placeholder;
    case 'list': {
      const l = a.list ?? {};
      if (l.i?.length) return l.i.map(num);
      if (l.f?.length) return l.f;
      if (l.b?.length) return l.b;
      if (l.type?.length) return l.type.map((t) => dtypeFromTf(t as number));
      if (l.shape?.length) return l.shape.map(shape);
      if (l.s?.length) return l.s.map((b) => new TextDecoder().decode(b));
      if (l.func?.length) return l.func.map((f) => f.name);
      if (l.tensor?.length) return l.tensor;
      return [];
    }
    default: return undefined;
  }
}
