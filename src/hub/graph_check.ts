/**
 * Validation of a model's GraphDef and function library before TensorFlow imports it. TF `CHECK`-fails (aborts the
 * process) or overflows its stack on some malformed graphs; what is cheap to check is checked here, in one linear
 * pass, and refused with `ERR_INVALID_GRAPH`:
 * - a Const without a `value` tensor, or whose tensor's dtype differs from its `dtype` attr (also in function bodies);
 * - an input naming a node (or function argument) that does not exist, or an output index the node does not have;
 * - a TF1 `Merge` with the same input twice;
 * - a function attr (`f`, `body`, `then_branch`, …) naming a function that is not in the library, and a call of a
 *   library function (`While`/`If`/`Case`/`PartitionedCall` or a direct call) whose argument or result count
 *   differs from the function's signature;
 * - a function that calls itself, directly or through others;
 * - attrs a registered op's OpDef does not have (the rule of `Graph.addOperation`, `isUnknownAttr`).
 * Ops that are neither registered nor in the library are left to the callers' `ERR_MISSING_OPS` checks.
 */
import { dtypeFromTf } from '../dtypes';
import { TfhubError } from '../errors';
import { Graph } from '../graph';
import { isUnknownAttr, opDefs } from '../registry';
import { tensorflow, toSafeNumber } from '../proto';

type NodeDef = tensorflow.INodeDef;
type FunctionDef = tensorflow.IFunctionDef;
type AttrMap = { [k: string]: tensorflow.IAttrValue };

/** Control-flow and call ops: their function attrs, and which attrs list the arguments and results. */
const CALLS: Record<string, { fns: string[]; args: string; results: string | null; condition?: string }> = {
  While: { fns: ['body'], args: 'T', results: 'T', condition: 'cond' },
  StatelessWhile: { fns: ['body'], args: 'T', results: 'T', condition: 'cond' },
  If: { fns: ['then_branch', 'else_branch'], args: 'Tin', results: 'Tout' },
  StatelessIf: { fns: ['then_branch', 'else_branch'], args: 'Tin', results: 'Tout' },
  Case: { fns: ['branches'], args: 'Tin', results: 'Tout' },
  StatelessCase: { fns: ['branches'], args: 'Tin', results: 'Tout' },
  PartitionedCall: { fns: ['f'], args: 'Tin', results: 'Tout' },
  StatefulPartitionedCall: { fns: ['f'], args: 'Tin', results: 'Tout' },
};

function invalid(where: string, message: string): TfhubError {
  return new TfhubError('ERR_INVALID_GRAPH', `${where}: ${message}`);
}

/** The argument count of a function signature, or null when an argument is a list sized by attrs. */
function arity(args: tensorflow.OpDef.IArgDef[] | null | undefined): number | null {
  let n = 0;
  for (const a of args ?? []) {
    if (a.numberAttr || a.typeListAttr) return null;
    n++;
  }
  return n;
}

function listLength(attr: tensorflow.IAttrValue | undefined): number | null {
  if (!attr || attr.placeholder) return null;
  return attr.list?.type?.length ?? 0;
}

/** Every function name an attr value refers to. */
function functionNames(value: tensorflow.IAttrValue): string[] {
  const out: string[] = [];
  if (value.func?.name) out.push(value.func.name);
  for (const f of value.list?.func ?? []) if (f.name) out.push(f.name);
  return out;
}

/** How many outputs a node of a registered op has, or null when attrs do not say (placeholders). */
function registeredOutputCount(def: tensorflow.IOpDef, attrs: AttrMap): number | null {
  let n = 0;
  for (const a of def.outputArg ?? []) {
    if (a.numberAttr) {
      const v = attrs[a.numberAttr];
      if (!v || v.placeholder || v.i === undefined || v.i === null) return null;
      n += toSafeNumber(v.i, 'number attr');
    } else if (a.typeListAttr) {
      const len = listLength(attrs[a.typeListAttr]);
      if (len === null) return null;
      n += len;
    } else n++;
  }
  return n;
}

class Checker {
  private readonly registry = opDefs();
  readonly library = new Map<string, FunctionDef>();

  constructor(
    graphDef: tensorflow.IGraphDef,
    private readonly where: string,
  ) {
    for (const f of graphDef.library?.function ?? []) {
      const name = f.signature?.name ?? '';
      if (name === '') throw invalid(where, 'a library function has no name');
      if (this.library.has(name)) throw invalid(where, `the library defines function '${name}' twice`);
      this.library.set(name, f);
    }
  }

  private outputCount(node: NodeDef): number | null {
    const fn = this.library.get(node.op ?? '');
    if (fn) return arity(fn.signature?.outputArg);
    const def = this.registry.get(node.op ?? '');
    return def ? registeredOutputCount(def, node.attr ?? {}) : null;
  }

  /** The rules of one node; `scope` names where it is (the graph, or `function 'f'`). */
  node(node: NodeDef, scope: string, calls: Set<string> | null): void {
    const op = node.op ?? '';
    const attrs = node.attr ?? {};
    const what = `${scope}: node '${node.name}' (${op})`;
    if (op === 'Const') {
      const value = attrs.value;
      if (!value || !value.tensor) throw invalid(this.where, `${what} has no 'value' tensor`);
      const dtype = attrs.dtype;
      if (dtype && !dtype.placeholder && (dtype.type ?? 0) !== (value.tensor.dtype ?? 0)) {
        throw invalid(
          this.where,
          `${what}: its tensor is ${tensorflow.DataType[value.tensor.dtype ?? 0]} but its dtype attr is ${tensorflow.DataType[dtype.type ?? 0]}`,
        );
      }
    }
    const def = this.registry.get(op);
    const fn = this.library.get(op);
    if (def && !fn) {
      for (const name of Object.keys(attrs)) {
        if (isUnknownAttr(def, name))
          throw invalid(
            this.where,
            `${what} has attr '${name}', which ${op} does not have (its attrs: ${(def.attr ?? []).map((a) => a.name).join(', ') || 'none'})`,
          );
      }
    }
    if (fn) {
      calls?.add(op);
      const want = arity(fn.signature?.inputArg);
      const got = (node.input ?? []).filter((i) => !i.startsWith('^')).length;
      if (want !== null && got !== want) throw invalid(this.where, `${what} calls '${op}' with ${got} inputs; it takes ${want}`);
    }
    for (const [attrName, value] of Object.entries(attrs)) {
      for (const name of functionNames(value)) {
        if (!this.library.has(name) && !this.registry.has(name))
          throw invalid(this.where, `${what}: attr '${attrName}' names function '${name}', which is missing from the library`);
        if (this.library.has(name)) calls?.add(name);
      }
    }
    const call = CALLS[op];
    if (call) this.callArity(node, call, what);
    if (op === 'Merge' || op === 'RefMerge') {
      const seen = new Set<string>();
      for (const input of node.input ?? []) {
        if (input.startsWith('^')) continue;
        const canonical = /:\d+$/.test(input) ? input : `${input}:0`;
        if (seen.has(canonical)) throw invalid(this.where, `${what} has input '${input}' twice`);
        seen.add(canonical);
      }
    }
  }

  private callArity(node: NodeDef, call: (typeof CALLS)[string], what: string): void {
    const attrs = node.attr ?? {};
    const args = listLength(attrs[call.args]);
    const results = call.results ? listLength(attrs[call.results]) : null;
    const check = (fnName: string, wantArgs: number | null, wantResults: number | null, role: string) => {
      const fn = this.library.get(fnName);
      if (!fn) return; // a registered op used as a function, or already reported missing
      const inputs = arity(fn.signature?.inputArg);
      const outputs = arity(fn.signature?.outputArg);
      if (wantArgs !== null && inputs !== null && inputs !== wantArgs)
        throw invalid(this.where, `${what}: ${role} '${fnName}' takes ${inputs} arguments, the node passes ${wantArgs}`);
      if (wantResults !== null && outputs !== null && outputs !== wantResults)
        throw invalid(this.where, `${what}: ${role} '${fnName}' returns ${outputs} values, the node expects ${wantResults}`);
    };
    for (const attrName of call.fns) {
      const value = attrs[attrName];
      const names = value ? functionNames(value) : [];
      if (names.length === 0 && !value?.placeholder) throw invalid(this.where, `${what} has no function in attr '${attrName}'`);
      for (const name of names) check(name, args, results, attrName);
    }
    if (call.condition) {
      const value = attrs[call.condition];
      const names = value ? functionNames(value) : [];
      if (names.length === 0 && !value?.placeholder) throw invalid(this.where, `${what} has no function in attr '${call.condition}'`);
      for (const name of names) check(name, args, 1, call.condition);
    }
  }

  /** Graph nodes: unique names, inputs that exist, output indices in range. */
  graphNodes(nodes: NodeDef[]): void {
    const byName = new Map<string, NodeDef>();
    for (const n of nodes) {
      const name = n.name ?? '';
      if (name === '') throw invalid(this.where, `a node of op ${n.op} has no name`);
      if (byName.has(name)) throw invalid(this.where, `two nodes are named '${name}'`);
      byName.set(name, n);
    }
    const counts = new Map<string, number | null>();
    for (const n of nodes) {
      this.node(n, 'graph', null);
      for (const input of n.input ?? []) {
        const control = input.startsWith('^');
        const body = control ? input.slice(1) : input;
        const m = /^(.*?)(?::(\d+))?$/.exec(body)!;
        const src = byName.get(m[1]);
        if (!src) throw invalid(this.where, `graph: node '${n.name}' (${n.op}) has input '${input}', which is not a node of the graph`);
        if (control || m[2] === undefined) continue;
        if (!counts.has(m[1])) counts.set(m[1], this.outputCount(src));
        const count = counts.get(m[1]);
        if (count !== null && count !== undefined && Number(m[2]) >= count) {
          throw invalid(
            this.where,
            `graph: node '${n.name}' (${n.op}) has input '${input}', but '${m[1]}' (${src.op}) has ${count} output${count === 1 ? '' : 's'}`,
          );
        }
      }
    }
  }

  /** A function body: its nodes' rules, inputs naming arguments or nodes; returns the functions it calls. */
  functionBody(fn: FunctionDef): Set<string> {
    const name = fn.signature?.name ?? '';
    const scope = `function '${name}'`;
    const calls = new Set<string>();
    const local = new Set<string>((fn.signature?.inputArg ?? []).map((a) => a.name ?? ''));
    for (const n of fn.nodeDef ?? []) {
      if (local.has(n.name ?? '')) throw invalid(this.where, `${scope}: two nodes or arguments are named '${n.name}'`);
      local.add(n.name ?? '');
    }
    for (const n of fn.nodeDef ?? []) {
      this.node(n, scope, calls);
      for (const input of n.input ?? []) {
        const first = (input.startsWith('^') ? input.slice(1) : input).split(':')[0];
        if (!local.has(first))
          throw invalid(
            this.where,
            `${scope}: node '${n.name}' (${n.op}) has input '${input}', which is neither an argument nor a node of the function`,
          );
      }
    }
    for (const [out, ref] of Object.entries(fn.ret ?? {})) {
      if (!local.has(ref.split(':')[0])) throw invalid(this.where, `${scope}: result '${out}' is '${ref}', which is not in the function`);
    }
    return calls;
  }

  /** Refuses call cycles (iterative DFS over the call graph: linear in functions + calls). */
  noRecursion(edges: Map<string, Set<string>>): void {
    const state = new Map<string, 1 | 2>(); // 1: on the stack, 2: done
    for (const root of edges.keys()) {
      if (state.has(root)) continue;
      const stack: Array<{ name: string; next: Iterator<string> }> = [{ name: root, next: edges.get(root)!.values() }];
      state.set(root, 1);
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        const step = top.next.next();
        if (step.done) {
          state.set(top.name, 2);
          stack.pop();
          continue;
        }
        const callee = step.value;
        const s = state.get(callee);
        if (s === 1) {
          const cycle = [...stack.slice(stack.findIndex((f) => f.name === callee)).map((f) => f.name), callee];
          throw invalid(
            this.where,
            cycle.length === 2 ? `function '${callee}' calls itself` : `functions call each other in a cycle: ${cycle.join(' -> ')}`,
          );
        }
        if (s === undefined) {
          state.set(callee, 1);
          stack.push({ name: callee, next: (edges.get(callee) ?? new Set<string>()).values() });
        }
      }
    }
  }
}

/**
 * Validates a model's GraphDef (its nodes and its function library) before it is imported;
 * throws `ERR_INVALID_GRAPH` naming `where`, the node and the rule. Linear in the size of the graph.
 */
export function checkGraphDef(graphDef: tensorflow.IGraphDef, where: string): void {
  // A spec's meta graph is instantiated again by every hub.Module: check each GraphDef object once.
  if (checked.has(graphDef)) return;
  const checker = new Checker(graphDef, where);
  const edges = new Map<string, Set<string>>();
  for (const [name, fn] of checker.library) edges.set(name, checker.functionBody(fn));
  checker.noRecursion(edges);
  checker.graphNodes(graphDef.node ?? []);
  checked.add(graphDef);
}

const checked = new WeakSet<tensorflow.IGraphDef>();

/** A TF2 meta graph before import: its concrete functions exist, and its GraphDef passes `checkGraphDef`. */
export function checkModelGraph(metaGraph: tensorflow.IMetaGraphDef, where: string): void {
  checkObjectGraphFunctions(metaGraph, where);
  checkGraphDef(metaGraph.graphDef ?? {}, where);
}

/** Refuses a TF2 object graph naming a concrete function its library lacks (Python fails at load, not at call). */
export function checkObjectGraphFunctions(metaGraph: tensorflow.IMetaGraphDef, where: string): void {
  const library = new Set((metaGraph.graphDef?.library?.function ?? []).map((f) => f.signature?.name ?? ''));
  const missing = (name: string | null | undefined, by: string) => {
    if (name && !library.has(name)) throw invalid(where, `${by} names function '${name}', which is missing from the library`);
  };
  for (const name of Object.keys(metaGraph.objectGraphDef?.concreteFunctions ?? {})) missing(name, 'the object graph');
  (metaGraph.objectGraphDef?.nodes ?? []).forEach((n, id) => {
    for (const name of n.function?.concreteFunctions ?? []) missing(name, `object ${id} (a function)`);
    missing(n.bareConcreteFunction?.concreteFunctionName, `object ${id} (a concrete function)`);
  });
}

/**
 * A TF1 meta graph's signatures against its imported graph: every tensor a signature names exists, with the dtype
 * the signature declares (ref types count as their base type). Python's loader prunes a function per signature
 * at load and fails there; this refuses the same models at load with `ERR_INVALID_SIGNATURE` instead of at a call.
 * With `onError`, a signature that fails is reported to it and the others are still checked.
 */
export function checkSignatureTensors(
  metaGraph: tensorflow.IMetaGraphDef,
  graph: Graph,
  where: string,
  onError?: (signature: string, error: TfhubError) => void,
): void {
  const check = (sig: string, key: string, info: tensorflow.ITensorInfo, dtype: number | null | undefined) => {
    const names: Array<[string, number | null | undefined]> = [];
    if (info.name) names.push([info.name, dtype]);
    if (info.cooSparse) {
      names.push([info.cooSparse.indicesTensorName ?? '', tensorflow.DataType.DT_INT64]);
      names.push([info.cooSparse.valuesTensorName ?? '', dtype]);
      names.push([info.cooSparse.denseShapeTensorName ?? '', tensorflow.DataType.DT_INT64]);
    }
    for (const [name, want] of names) {
      let output;
      try {
        output = graph.output(name);
      } catch {
        throw new TfhubError(
          'ERR_INVALID_SIGNATURE',
          `${where}: signature '${sig}' names tensor '${name}' for '${key}', which is not in the graph`,
        );
      }
      if (want && output.dtype !== dtypeFromTf(want)) {
        throw new TfhubError(
          'ERR_INVALID_SIGNATURE',
          `${where}: signature '${sig}' declares '${key}' (${name}) as ${dtypeFromTf(want)}, but the graph's tensor is ${output.dtype}`,
        );
      }
    }
    for (const c of info.compositeTensor?.components ?? []) check(sig, key, c, c.dtype);
  };
  for (const [sig, def] of Object.entries(metaGraph.signatureDef ?? {})) {
    try {
      for (const [key, info] of Object.entries(def.inputs ?? {})) check(sig, key, info, info.dtype);
      for (const [key, info] of Object.entries(def.outputs ?? {})) check(sig, key, info, info.dtype);
    } catch (e) {
      if (!onError || !(e instanceof TfhubError)) throw e;
      onError(sig, e);
    }
  }
}
