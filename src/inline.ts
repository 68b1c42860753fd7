/**
 * Inlining FunctionDefs into a graph: the function's body becomes ordinary graph nodes (recursively through
 * PartitionedCall / StatefulPartitionedCall and direct calls of library functions), so that gradients — which TF's
 * C API cannot take through function-call ops — flow through it. Functional control flow (If, While, …) stays as
 * it is.
 */
import { baseDtype } from './dtypes';
import { TfhubError } from './errors';
import { Graph, Operation, Output } from './graph';
import { encodeGraphDef, tensorflow, toSafeNumber } from './proto';
import { opDefs } from './registry';

const CALL_OPS = new Set(['PartitionedCall', 'StatefulPartitionedCall']);

/** Options of `inlineFunctionDetailed`. */
export interface InlineOptions {
  /** Name scope of the inlined nodes (made unique); default: the function name. */
  name?: string;
  /** Functions the body may call (default: those in `library`). */
  library?: tensorflow.IFunctionDefLibrary | null;
  /** Control dependencies for the inlined nodes. */
  controlDependencies?: import('./graph').Operation[];
}

/** Library functions by name (what a node's op may call). */
export interface Library {
  functions: Map<string, tensorflow.IFunctionDef>;
}

/** Number of tensors each output arg of a node produces, in order (a library function's outputs count 1 each). */
export function outputArgSizes(node: tensorflow.INodeDef, lib: Library): Array<[string, number]> {
  const fn = lib.functions.get(node.op ?? '');
  if (fn) return (fn.signature?.outputArg ?? []).map((a) => [a.name ?? '', 1]);
  const def = opDefs().get(node.op ?? '');
  if (!def) throw new TfhubError('ERR_MISSING_OPS', `op ${node.op} (node ${node.name}) is not registered`);
  return (def.outputArg ?? []).map((arg) => {
    let n = 1;
    if (arg.numberAttr) n = toSafeNumber(node.attr?.[arg.numberAttr]?.i ?? 0, `${node.name}.${arg.numberAttr}`);
    else if (arg.typeListAttr) n = node.attr?.[arg.typeListAttr]?.list?.type?.length ?? 0;
    return [arg.name ?? '', n];
  });
}

/**
 * Turns a function body into GraphDef nodes named `<scope>/<node>`. Returns the nodes and the graph tensor
 * name (or `arg:<i>` for a function argument) of each return value.
 */
function expand(
  fn: tensorflow.IFunctionDef,
  scope: string,
  argRefs: string[],
  lib: Library,
  depth: number,
  out: tensorflow.INodeDef[],
): string[] {
  if (depth > 64) throw new TfhubError('ERR_INLINE_DEPTH', 'function calls nested more than 64 deep (recursion?)');
  const sig = fn.signature ?? {};
  const args = new Map((sig.inputArg ?? []).map((a, i) => [a.name ?? '', argRefs[i]]));
  const nodes = fn.nodeDef ?? [];
  const byName = new Map(nodes.map((n) => [n.name ?? '', n]));
  const offsets = new Map<string, Map<string, number>>();
  const callResults = new Map<string, string[]>();

  const offsetOf = (nodeName: string, argName: string): number => {
    let table = offsets.get(nodeName);
    if (!table) {
      table = new Map();
      let pos = 0;
      const node = byName.get(nodeName);
      if (!node)
        throw new TfhubError(
          'ERR_INVALID_FUNCTION',
          `function ${sig.name ?? ''}: an input refers to node '${nodeName}', which is not in its body`,
        );
      for (const [name, n] of outputArgSizes(node, lib)) {
        table.set(name, pos);
        pos += n;
      }
      offsets.set(nodeName, table);
    }
    const o = table.get(argName);
    if (o === undefined) throw new TfhubError('ERR_INVALID_FUNCTION', `node ${nodeName} has no output ${argName}`);
    return o;
  };
  // FunctionDef input syntax: "arg", "node:out_arg:idx", "^node" → graph tensor names.
  const resolve = (ref: string): string => {
    if (ref.startsWith('^')) {
      const name = ref.slice(1);
      if (!byName.has(name)) return ''; // a control edge on an argument: the argument exists already
      const call = callResults.get(name);
      return call ? `^${scope}/${name}` : `^${scope}/${name}`;
    }
    const parts = ref.split(':');
    if (parts.length === 1) {
      const a = args.get(parts[0]);
      if (a === undefined) throw new TfhubError('ERR_INVALID_FUNCTION', `unknown function input ${ref}`);
      return a;
    }
    const [node, outArg, idxText] = parts;
    const idx = Number(idxText ?? 0);
    const call = callResults.get(node);
    if (call) return call[offsetOf(node, outArg) + idx];
    return `${scope}/${node}:${offsetOf(node, outArg) + idx}`;
  };

  // Calls are expanded in place; their results become aliases. Visit in dependency order.
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (node: tensorflow.INodeDef) => {
    const name = node.name ?? '';
    if (done.has(name)) return;
    if (visiting.has(name)) throw new TfhubError('ERR_INVALID_FUNCTION', `cycle at ${name} in function ${sig.name}`);
    visiting.add(name);
    for (const input of node.input ?? []) {
      const isNodeRef = input.startsWith('^') || input.includes(':');
      const dep = byName.get(input.replace(/^\^/, '').split(':')[0]);
      if (isNodeRef && dep) visit(dep);
    }
    visiting.delete(name);
    const callee = CALL_OPS.has(node.op ?? '') ? (node.attr?.f?.func?.name ?? '') : lib.functions.has(node.op ?? '') ? (node.op ?? '') : '';
    const calleeDef = callee ? lib.functions.get(callee) : undefined;
    if (calleeDef) {
      const dataInputs = (node.input ?? []).filter((i) => !i.startsWith('^')).map(resolve);
      const results = expand(calleeDef, `${scope}/${name}`, dataInputs, lib, depth + 1, out);
      callResults.set(name, results);
      // Control inputs of the call: keep them on an Identity-free NoOp so ordering is preserved.
      const controls = (node.input ?? [])
        .filter((i) => i.startsWith('^'))
        .map(resolve)
        .filter(Boolean);
      out.push({ name: `${scope}/${name}`, op: 'NoOp', input: controls, device: node.device ?? '' });
    } else {
      out.push({ ...node, name: `${scope}/${name}`, input: (node.input ?? []).map(resolve).filter(Boolean) });
    }
    done.add(name);
  };
  for (const n of nodes) visit(n);
  return (sig.outputArg ?? []).map((a) => {
    const ref = fn.ret?.[a.name ?? ''];
    if (ref === undefined) throw new TfhubError('ERR_INVALID_FUNCTION', `function ${sig.name} has no return for ${a.name}`);
    return resolve(ref);
  });
}

/** What `inlineFunctionDetailed` returns. */
export interface InlinedFunction {
  /** The function's return values. */
  outputs: Output[];
  /** The name scope of the inlined nodes. */
  scope: string;
  /**
   * Every inlined node of the body (not the stillborn argument placeholders): e.g. a NoOp with these as control
   * inputs runs a function that has no outputs (a resource initializer).
   */
  operations: Operation[];
}

/**
 * Inlines `fn` into `graph` with `inputs` as its arguments; returns its outputs, the inlined operations and their
 * scope. Library functions it calls are inlined too (`options.library`, defaulting to the graph's own library).
 */
export function inlineFunctionDetailed(
  graph: Graph,
  fn: tensorflow.IFunctionDef,
  inputs: Output[],
  options: InlineOptions = {},
): InlinedFunction {
  const sig = fn.signature ?? {};
  if ((sig.inputArg?.length ?? 0) !== inputs.length) {
    throw new TfhubError('ERR_INVALID_ARG_VALUE', `function ${sig.name} takes ${sig.inputArg?.length ?? 0} inputs, got ${inputs.length}`);
  }
  const libFns = options.library?.function ?? graph.functionDefs();
  const lib: Library = { functions: new Map(libFns.map((f) => [f.signature?.name ?? '', f])) };
  // Node names must start with a letter, digit or '.': `__inference_f_12` becomes `inference_f_12`.
  const base = (options.name ?? sig.name ?? 'inlined').replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/^[^A-Za-z0-9.]+/, '') || 'inlined';
  const scope = graph.uniqueName(base);
  // Arguments are placeholders in the GraphDef, mapped to the caller's tensors on import.
  const argRefs = inputs.map((_, i) => `${scope}/arg_${i}:0`);
  const nodes: tensorflow.INodeDef[] = [];
  const rets = expand(fn, scope, argRefs, lib, 0, nodes);
  const placeholders: tensorflow.INodeDef[] = inputs.map((x, i) => ({
    name: `${scope}/arg_${i}`,
    op: 'Placeholder',
    attr: { dtype: { type: baseDtype(x.op.native.outputType(x.index)) } },
  }));
  // Only the functions the inlined nodes still reference (control flow bodies, func attrs) go into the graph:
  // fewer clashes with same-named functions of other models already there.
  const library = options.library ? usedLibrary(options.library, nodes, lib) : undefined;
  const graphDef = { node: [...placeholders, ...nodes], library, versions: { producer: producer() } };
  const inputMap = new Map<string, Output>(inputs.map((x, i) => [`${scope}/arg_${i}:0`, x]));
  const result = graph.importGraphDef(encodeGraphDef(graphDef), {
    inputMap,
    returnOutputs: rets.filter((r) => !inputMap.has(r)),
    controlDependencies: options.controlDependencies,
    returnOperations: nodes.map((n) => n.name ?? ''),
  });
  let k = 0;
  return { outputs: rets.map((r) => inputMap.get(r) ?? result.outputs[k++]), scope, operations: result.operations };
}

/** The part of `library` that `nodes` reference through func attributes or op names, transitively. */
function usedLibrary(library: tensorflow.IFunctionDefLibrary, nodes: tensorflow.INodeDef[], lib: Library): tensorflow.IFunctionDefLibrary {
  const used = new Set<string>();
  const stack: string[] = [];
  const note = (name: string | null | undefined) => {
    if (name && lib.functions.has(name) && !used.has(name)) {
      used.add(name);
      stack.push(name);
    }
  };
  const scan = (ns: tensorflow.INodeDef[]) => {
    for (const n of ns) {
      note(n.op);
      for (const a of Object.values(n.attr ?? {})) {
        note(a.func?.name);
        for (const f of a.list?.func ?? []) note(f.name);
      }
    }
  };
  scan(nodes);
  while (stack.length > 0) scan(lib.functions.get(stack.pop()!)?.nodeDef ?? []);
  return {
    function: (library.function ?? []).filter((f) => used.has(f.signature?.name ?? '')),
    gradient: (library.gradient ?? []).filter((gd) => used.has(gd.functionName ?? '')),
  };
}

let producerVersion: number | undefined;
/** The GraphDef producer version of the loaded TensorFlow. */
function producer(): number {
  if (producerVersion === undefined) {
    const g = new Graph();
    try {
      producerVersion = toSafeNumber(tensorflow.GraphDef.decode(g.toGraphDef()).versions?.producer ?? 0, 'producer');
    } finally {
      g.dispose();
    }
  }
  return producerVersion;
}
