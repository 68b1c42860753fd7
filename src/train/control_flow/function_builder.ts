/**
 * Building library functions (FunctionDefs) from graph code, for the gradients of functional control flow: a
 * scratch Graph gets one Placeholder per argument, a builder adds ops (inlined bodies, their gradients, …), and the
 * ops the results depend on become the FunctionDef's body (what Python's `func_graph` + `TF_GraphToFunction` do).
 */
import { DType, dtypeFromTf, tfDataType } from '../../dtypes';
import { TfhubError } from '../../errors';
import { Graph, Output } from '../../graph';
import { inlineFunctionDetailed, outputArgSizes } from '../../inline';
import { encodeMessage, tensorflow } from '../../proto';
import { opDefs } from '../../registry';

/** A graph's function library, decoded once per gradient construction. */
export class FunctionLibrary {
  /** The graph's FunctionDefs by name (kept in step by `add`). */
  readonly functions: Map<string, tensorflow.IFunctionDef>;
  /** The graph whose library this is. */
  readonly graph: Graph;

  /** Reads the library of `graph`. */
  constructor(graph: Graph) {
    this.graph = graph;
    this.functions = new Map(graph.functionDefs().map((f) => [f.signature?.name ?? '', f]));
  }

  /** The FunctionDef called `name`; ERR_INVALID_FUNCTION when the graph has none. */
  get(name: string): tensorflow.IFunctionDef {
    const fn = this.functions.get(name);
    if (!fn) throw new TfhubError('ERR_INVALID_FUNCTION', `function '${name}' is not in the graph's library`);
    return fn;
  }

  /** A function name not in the library yet, from `base`. */
  freshName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '') || 'fn';
    let name = clean;
    for (let k = 1; this.functions.has(name); k++) name = `${clean}_${k}`;
    return name;
  }

  /** Adds a FunctionDef to the graph and to this view. */
  add(fn: tensorflow.IFunctionDef): void {
    this.graph.importFunctionDef(encodeMessage(tensorflow.FunctionDef, fn));
    this.functions.set(fn.signature?.name ?? '', fn);
  }
}

/** Inlines library function `name` into `g` with `inputs` as its arguments; returns its outputs. */
export function callInline(g: Graph, lib: FunctionLibrary, name: string, inputs: Output[]): Output[] {
  const library = { function: [...lib.functions.values()] };
  return inlineFunctionDetailed(g, lib.get(name), inputs, { library, name: 'fwd' }).outputs;
}

/**
 * Makes a function `base_N` of `parent`'s library: `build` gets a scratch graph (holding copies of the parent's
 * functions) and one Output per argument, and returns the results. Functions that `build` added to the scratch
 * graph (gradients of nested control flow) are copied into the parent too. Returns the new function's name.
 */
export function buildFunction(
  lib: FunctionLibrary,
  base: string,
  argDtypes: DType[],
  build: (g: Graph, args: Output[], scratchLib: FunctionLibrary) => Output[],
): string {
  const g = new Graph();
  try {
    g.copyFunctionsFrom(lib.graph);
    const scratchLib = new FunctionLibrary(g);
    const args = argDtypes.map((dtype, i) => g.placeholder(dtype, null, `cf_arg_${i}`));
    const results = build(g, args, scratchLib).map((o) =>
      g.addOperation('Identity', { name: g.uniqueName('cf_ret'), inputs: [o] }).output(0),
    );
    // Gradients of nested control flow added functions to the scratch graph: the parent needs them too.
    const after = new FunctionLibrary(g);
    for (const [name, fn] of after.functions) if (!lib.functions.has(name)) lib.add(fn);
    const fn = toFunctionDef(g, after, lib.freshName(base), args, results);
    lib.add(fn);
    return fn.signature!.name!;
  } finally {
    g.dispose();
  }
}

/** The ops that `results` depend on (data and control edges), as a FunctionDef with `args` as its arguments. */
function toFunctionDef(g: Graph, lib: FunctionLibrary, name: string, args: Output[], results: Output[]): tensorflow.IFunctionDef {
  const graphDef = tensorflow.GraphDef.decode(g.toGraphDef());
  const byName = new Map(graphDef.node.map((n) => [n.name, n]));
  const argNames = new Map(args.map((a, i) => [a.op.name, `cf_arg_${i}`]));
  // Keep only what the results need: the rest of the scratch graph (e.g. side effects of an inlined body)
  // must not run again.
  const keep = new Set<string>();
  const stack = results.map((r) => r.op.name);
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (keep.has(n) || argNames.has(n)) continue;
    keep.add(n);
    for (const input of byName.get(n)?.input ?? []) stack.push(input.replace(/^\^/, '').split(':')[0]);
  }
  const library = { functions: lib.functions };
  const outArgs = new Map<string, Array<[string, number, number]>>();
  const ref = (input: string): string => {
    if (input.startsWith('^')) return argNames.has(input.slice(1)) ? '' : input;
    const m = /^(.*?)(?::(\d+))?$/.exec(input)!;
    const node = m[1];
    const index = Number(m[2] ?? 0);
    const arg = argNames.get(node);
    if (arg !== undefined) return arg;
    let table = outArgs.get(node);
    if (!table) {
      let pos = 0;
      table = outputArgSizes(byName.get(node)!, library).map(([argName, n]) => {
        const row: [string, number, number] = [argName, pos, n];
        pos += n;
        return row;
      });
      outArgs.set(node, table);
    }
    const hit = table.find(([, start, n]) => index >= start && index < start + n);
    if (!hit) throw new TfhubError('ERR_INTERNAL', `output ${input} does not exist`);
    return `${node}:${hit[0]}:${index - hit[1]}`;
  };
  const nodeDef: tensorflow.INodeDef[] = [];
  let stateful = false;
  for (const n of graphDef.node) {
    if (!n.name || !n.op || !keep.has(n.name)) continue;
    const attr: Record<string, tensorflow.IAttrValue> = {};
    for (const [k, v] of Object.entries(n.attr ?? {})) if (k !== '_class') attr[k] = v;
    if (opDefs().get(n.op)?.isStateful || lib.functions.has(n.op)) stateful = true;
    nodeDef.push({ name: n.name, op: n.op, input: (n.input ?? []).map(ref).filter(Boolean), attr });
  }
  const dtypeOf = (o: Output) => tfDataType(o.dtype);
  return {
    signature: {
      name,
      inputArg: args.map((a, i) => ({ name: `cf_arg_${i}`, type: dtypeOf(a) })),
      outputArg: results.map((r, i) => ({ name: `out_${i}`, type: dtypeOf(r) })),
      isStateful: stateful,
    },
    nodeDef,
    ret: Object.fromEntries(results.map((r, i) => [`out_${i}`, ref(r.name)])),
  };
}

/** What a node that consumes a value says about it: a dtype, or undefined to keep looking. */
type DtypeFromConsumer = (node: tensorflow.INodeDef) => DType | undefined;

/**
 * A dtype that the nodes consuming argument `index` of `fn` tell (see `resourceValueDtype`, `listElementDtype`),
 * looking through Identity nodes, calls and nested control flow functions; null when none does.
 */
function argumentDtype(lib: FunctionLibrary, fnName: string, index: number, pick: DtypeFromConsumer, depth = 0): DType | null {
  if (depth > 16) return null;
  const fn = lib.functions.get(fnName);
  const argName = fn?.signature?.inputArg?.[index]?.name;
  if (!fn || !argName) return null;
  // The argument and the outputs of Identity nodes forwarding it.
  const refs = new Set([argName]);
  for (let changed = true; changed;) {
    changed = false;
    for (const node of fn.nodeDef ?? []) {
      const ref = `${node.name}:output:0`;
      if (node.op === 'Identity' && !refs.has(ref) && refs.has((node.input ?? [])[0] ?? '')) {
        refs.add(ref);
        changed = true;
      }
    }
  }
  for (const node of fn.nodeDef ?? []) {
    if (node.op === 'Identity') continue;
    const dataInputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const positions = dataInputs.map((input, i) => (refs.has(input) ? i : -1)).filter((i) => i >= 0);
    if (positions.length === 0) continue;
    const dtype = pick(node);
    if (dtype) return dtype;
    // Calls and control flow pass it on: look in the callee at the matching argument.
    const callees: Array<[string, number]> = [];
    const f = node.attr?.f?.func?.name;
    if (f) positions.forEach((p) => callees.push([f, p]));
    for (const key of ['body', 'cond', 'then_branch', 'else_branch']) {
      const name = node.attr?.[key]?.func?.name;
      if (!name) continue;
      const shift = key === 'then_branch' || key === 'else_branch' ? 1 : 0;
      positions.forEach((p) => callees.push([name, p - shift]));
    }
    for (const b of node.attr?.branches?.list?.func ?? []) positions.forEach((p) => callees.push([b.name ?? '', p - 1]));
    if (lib.functions.has(node.op ?? '')) positions.forEach((p) => callees.push([node.op!, p]));
    for (const [callee, p] of callees) {
      if (p < 0) continue;
      const found = argumentDtype(lib, callee, p, pick, depth + 1);
      if (found) return found;
    }
  }
  return null;
}

/**
 * The value dtype of a resource argument of `fn`: the `dtype` attr of a node reading it (ReadVariableOp,
 * ResourceGather, …), looking through calls and nested control flow functions; null when nothing reads it.
 */
export function resourceValueDtype(lib: FunctionLibrary, fnName: string, index: number): DType | null {
  return argumentDtype(lib, fnName, index, (node) => {
    const t = node.attr?.dtype?.type;
    return t ? dtypeFromTf(t) : undefined;
  });
}

/** The `element_dtype` of a TensorList op (a variant that is a TensorList), or undefined. */
function listOpElementDtype(type: string | null | undefined, attr: Record<string, tensorflow.IAttrValue> | null | undefined) {
  const t = attr?.element_dtype?.type;
  return t && /^(TensorList|EmptyTensorList)/.test(type ?? '') ? dtypeFromTf(t) : undefined;
}

/**
 * The element dtype of a variant argument of `fn` that is a TensorList: the `element_dtype` of a list op that
 * consumes it (looking through Identity nodes, calls and nested control flow); null when none does (not a list, or
 * a list nothing in `fn` reads or writes).
 */
export function listElementDtype(lib: FunctionLibrary, fnName: string, index: number): DType | null {
  return argumentDtype(lib, fnName, index, (node) => listOpElementDtype(node.op, node.attr));
}

/**
 * The element dtype of the TensorList `x` from the op that makes it (looking through Identity ops and through the
 * matching input of the `While` producing it); null when that is not a list op.
 */
export function producedListElementDtype(x: Output, depth = 0): DType | null {
  const op = x.op;
  if (depth > 16) return null;
  const found = listOpElementDtype(op.type, op.nodeDef().attr);
  if (found) return found;
  if (op.type === 'Identity') return producedListElementDtype(op.inputs[0], depth + 1);
  if (op.type === 'While' || op.type === 'StatelessWhile') return producedListElementDtype(op.inputs[x.index], depth + 1);
  return null;
}
