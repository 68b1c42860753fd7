/**
 * The gradient of one iteration of a v1 while loop, built apart: the loop body is copied into a scratch graph
 * whose placeholders stand for the loop variables and invariants of one iteration, and differentiated there with
 * `Graph.addGradients` (TypeScript and C++ gradients; nested loops and conds are plain top-level control flow in
 * that graph). The result comes back as NodeDefs for the backward loop to import: only the nodes the gradients
 * need, so the parts of the body the gradient does not read are not recomputed.
 *
 * TensorArray ops of the body are copied too (their gradients need them), but never run again: a read clears the
 * element it read, a write refuses a second write, a size grows. The outputs the gradient reads of them (a read's
 * value, a write's flow, a concat's lengths) are instead placeholders `cfv1__t<k>` whose forward values the
 * forward loop pushes on stacks, as Python's `tf.gradients` stacks every forward value a backward loop needs.
 */
import { DType, isFloating } from '../../dtypes';
import { TfhubError } from '../../errors';
import { Graph, Operation, Output } from '../../graph';
import { tensorflow } from '../../proto';
import { opDefs } from '../../registry';
import { ENTER, EXIT, MERGE, SWITCH, V1Loop } from './frame';
import { NodeDef, importNodes, node, parseInput, typeAttr } from './node_defs';
import { TENSOR_ARRAY_STATEFUL, gradientSource, withGradientSource } from './tensor_array_grad';

/** Placeholder names in the scratch graph (renamed when the nodes are imported). */
export const valueName = (i: number) => `cfv1__s${i}`;
export const invariantName = (j: number) => `cfv1__v${j}`;
export const dnextName = (i: number) => `cfv1__d${i}`;
export const stackedName = (k: number) => `cfv1__t${k}`;
/** The scratch placeholder names: kind (s value, v invariant, d next gradient, t stacked) and index. */
export const PLACEHOLDER = /^cfv1__([svdt])(\d+)$/;

/** The gradient of one iteration, as nodes to import. */
export interface BodyVjp {
  /** The scratch nodes the gradients need but the placeholders: part of the body recomputed and its gradient. */
  nodes: NodeDef[];
  /** Functions the scratch graph made that `graph` lacks. */
  library: tensorflow.IFunctionDefLibrary | undefined;
  /** d(next values)·dnext / d(value of variable i), by variable index: a scratch tensor name. */
  variableGrads: Map<number, string>;
  /** The same for invariant j, with the gradient's dtype. */
  invariantGrads: Map<number, { name: string; dtype: DType }>;
  /** Variables and invariants whose placeholders the nodes read. */
  usedVariables: Set<number>;
  usedInvariants: Set<number>;
  /** Outputs of the body's TensorArray ops the nodes read as `cfv1__t<k>`, by k: each iteration's value is stacked. */
  stacked: Output[];
}

function placeholder(name: string, out: Output): NodeDef {
  const attr: Record<string, tensorflow.IAttrValue> = { dtype: typeAttr(out.dtype) };
  const shape = out.dtype === 'resource' ? null : out.shape;
  if (shape) attr.shape = { shape: { dim: shape.map((size) => ({ size })) } };
  return node(name, 'Placeholder', [], attr);
}

/**
 * Stateful ops a recomputed iteration may run again: reads and checks. Any other stateful op (assignments, random
 * ops, queue ops) would act twice, so a gradient that needs one is refused.
 */
const REPEATABLE = new Set(['ReadVariableOp', 'ResourceGather', 'VariableShape', 'Assert', 'Print', 'PrintV2', 'VarIsInitializedOp']);

function checkRepeatable(loop: V1Loop, op: Operation): void {
  const stateful = opDefs().get(op.type)?.isStateful || TENSOR_ARRAY_STATEFUL.has(op.type);
  if (!stateful || REPEATABLE.has(op.type)) return;
  throw new TfhubError(
    'ERR_NO_GRADIENT',
    `no gradient through TF1 while loop '${loop.frameName}': its body runs the stateful op ${op.type} ('${op.name}'), which the backward loop would run again`,
  );
}

/**
 * Checks that the outputs of TensorArray op `op` can be stacked: it runs once in every iteration, at the top level
 * of the body (not in a cond branch or a nested loop, whose values a per-iteration stack cannot hold), and is not
 * the creation of an array.
 */
function checkStackable(loop: V1Loop, op: Operation, stop: Map<string, string>): void {
  const refuse = (why: string) => {
    throw new TfhubError(
      'ERR_NO_GRADIENT',
      `no gradient through TF1 while loop '${loop.frameName}': its ${op.type} '${op.name}' ${why}; only TensorArray ops at the top level of the body are supported`,
    );
  };
  if (op.type.startsWith('TensorArrayGrad') || op.type === 'TensorArrayV3') refuse('makes an array in every iteration');
  const seen = new Set<string>();
  const stack = [...op.inputs.map((x) => x.op), ...op.controlInputs];
  while (stack.length > 0) {
    const o = stack.pop()!;
    if (seen.has(o.name) || stop.has(o.name)) continue;
    seen.add(o.name);
    if (MERGE.has(o.type) || EXIT.has(o.type)) continue; // a value alive in every iteration
    if (SWITCH.has(o.type)) refuse('runs inside a cond branch');
    if (ENTER.has(o.type)) refuse('runs inside a nested loop');
    for (const x of o.inputs) stack.push(x.op);
    for (const c of o.controlInputs) stack.push(c);
  }
}

/** The body's operations needed for the next values of `variables`, in no particular order. */
function bodyOps(loop: V1Loop, variables: number[], stop: Map<string, string>): Map<string, Operation> {
  // The loop's own plumbing is never part of an iteration: control edges to it are dropped.
  const plumbing = new Set([loop.loopCond.name]);
  for (const v of loop.variables) for (const op of [v.enter, v.merge, ...v.merge.inputs.map((x) => x.op)]) plumbing.add(op.name);
  const seen = new Map<string, Operation>();
  const stack = variables.map((i) => loop.variables[i].next.op);
  while (stack.length > 0) {
    const op = stack.pop()!;
    if (seen.has(op.name) || stop.has(op.name)) continue;
    if (plumbing.has(op.name)) {
      throw new TfhubError('ERR_NO_GRADIENT', `the body of TF1 while loop '${loop.frameName}' reads '${op.name}' directly`);
    }
    if (!loop.ops.has(op.name)) {
      throw new TfhubError('ERR_NO_GRADIENT', `the body of TF1 while loop '${loop.frameName}' reads '${op.name}' from outside its frame`);
    }
    seen.set(op.name, op);
    for (const input of op.inputs) stack.push(input.op);
    for (const c of op.controlInputs) if (!plumbing.has(c.name)) stack.push(c);
  }
  return seen;
}

/**
 * The nodes of `all` the tensors `roots` need (inputs and control inputs, transitively), with references to outputs
 * of `cuts` (nodes not to run again) turned into stacked placeholders: `stacked` lists those outputs by index.
 */
function prune(all: NodeDef[], roots: string[], cuts: Set<string>) {
  const byName = new Map(all.map((n) => [n.name ?? '', n]));
  const stacked = new Map<string, number>();
  const keep = new Set<string>();
  const pending: string[] = [];
  const mapRef = (ref: string): string | null => {
    const [name, index] = parseInput(ref);
    if (!cuts.has(name)) {
      if (byName.has(name) && !keep.has(name)) {
        keep.add(name);
        pending.push(name);
      }
      return ref;
    }
    if (index === -1) return null; // ordering after a stacked op: its value is there already
    if (!stacked.has(ref)) stacked.set(ref, stacked.size);
    return `${stackedName(stacked.get(ref)!)}:0`;
  };
  const mappedRoots = roots.map((r) => mapRef(r)!);
  const inputs = new Map<string, string[]>();
  while (pending.length > 0) {
    const name = pending.pop()!;
    inputs.set(
      name,
      (byName.get(name)!.input ?? []).map(mapRef).filter((x): x is string => x !== null),
    );
  }
  const nodes = all.filter((n) => keep.has(n.name ?? '')).map((n) => ({ ...n, input: inputs.get(n.name ?? '') }));
  return { nodes, roots: mappedRoots, stacked: [...stacked.keys()] };
}

/**
 * Builds the gradient of one iteration of `loop` given the gradients of the next values of `diffVariables`; the
 * gradients returned cover every floating variable (those not in `diffVariables` tell which ones a gradient reaches).
 */
export function bodyVjp(graph: Graph, loop: V1Loop, diffVariables: number[]): BodyVjp {
  // Loop-variable Switches and invariant Enters become placeholders.
  const stop = new Map<string, string>();
  loop.variables.forEach((v, i) => stop.set(v.switch.name, valueName(i)));
  loop.invariants.forEach((inv, j) => stop.set(inv.enter.name, invariantName(j)));
  const body = bodyOps(loop, diffVariables, stop);
  const mapRef = (ref: string): string | null => {
    const [name, index] = parseInput(ref);
    const ph = stop.get(name);
    if (ph !== undefined) return index === -1 ? null : `${ph}:0`;
    return index === -1 && !body.has(name) ? null : ref;
  };
  const nodes: NodeDef[] = [];
  for (const op of body.values()) {
    const nd = op.nodeDef();
    const attr = { ...nd.attr };
    delete attr._class; // colocation with nodes the scratch graph does not have
    nodes.push({ ...nd, attr, input: (nd.input ?? []).map(mapRef).filter((x): x is string => x !== null) });
  }
  loop.variables.forEach((v, i) => nodes.push(placeholder(valueName(i), v.value)));
  loop.invariants.forEach((inv, j) => nodes.push(placeholder(invariantName(j), inv.enter.output(0))));
  for (const i of diffVariables) nodes.push(placeholder(dnextName(i), loop.variables[i].next));
  const diffInvariants = loop.invariants
    .map((inv, j) => (isFloating(inv.dtype) || inv.dtype === 'resource' ? j : -1))
    .filter((j) => j >= 0);

  const scratch = new Graph();
  try {
    scratch.copyFunctionsFrom(graph);
    importNodes(scratch, nodes, new Map(), []);
    const nextOf = (i: number) => {
      const ref = mapRef(loop.variables[i].next.name)!;
      return scratch.output(ref);
    };
    const ys = diffVariables.map(nextOf);
    const floating = loop.variables.map((v, i) => (isFloating(v.dtype) ? i : -1)).filter((i) => i >= 0);
    const xVars = floating.map((i) => scratch.output(`${valueName(i)}:0`));
    const xInvs = diffInvariants.map((j) => scratch.output(`${invariantName(j)}:0`));
    const dys = diffVariables.map((i) => scratch.output(`${dnextName(i)}:0`));
    const grads = withGradientSource(gradientSource(graph), () =>
      scratch.addGradients(ys, [...xVars, ...xInvs], dys, { unconnected: 'null', prefix: 'cfv1__grad' }),
    );
    const roots: string[] = [];
    const rootOf = (gr: Output) => roots.push(gr.name) - 1;
    const variableAt = new Map<number, number>();
    floating.forEach((i, k) => {
      if (grads[k]) variableAt.set(i, rootOf(grads[k]));
    });
    const invariantAt = new Map<number, { at: number; dtype: DType }>();
    diffInvariants.forEach((j, k) => {
      const gr = grads[floating.length + k];
      if (gr) invariantAt.set(j, { at: rootOf(gr), dtype: gr.dtype });
    });
    const def = tensorflow.GraphDef.decode(scratch.toGraphDef());
    const placeholders = new Set([...stop.values(), ...diffVariables.map(dnextName)]);
    const all = def.node.filter((n) => !placeholders.has(n.name ?? ''));
    const cuts = new Set([...body.values()].filter((op) => TENSOR_ARRAY_STATEFUL.has(op.type)).map((op) => op.name));
    const pruned = prune(all, roots, cuts);
    for (const n of pruned.nodes) {
      const op = body.get(n.name ?? '');
      if (op) checkRepeatable(loop, op);
    }
    const stacked = pruned.stacked.map((ref) => {
      const [name, index] = parseInput(ref);
      checkStackable(loop, body.get(name)!, stop);
      return body.get(name)!.output(index);
    });
    const variableGrads = new Map([...variableAt].map(([i, at]) => [i, pruned.roots[at]]));
    const invariantGrads = new Map([...invariantAt].map(([j, { at, dtype }]) => [j, { name: pruned.roots[at], dtype }]));
    const usedVariables = new Set<number>();
    const usedInvariants = new Set<number>();
    const note = (ref: string) => {
      const m = PLACEHOLDER.exec(parseInput(ref)[0]);
      if (m?.[1] === 's') usedVariables.add(Number(m[2]));
      if (m?.[1] === 'v') usedInvariants.add(Number(m[2]));
    };
    for (const n of pruned.nodes) for (const ref of n.input ?? []) note(ref);
    for (const ref of pruned.roots) note(ref);
    const known = new Set(graph.functionDefs().map((f) => f.signature?.name ?? ''));
    const fresh = (def.library?.function ?? []).filter((f) => !known.has(f.signature?.name ?? ''));
    const library = fresh.length > 0 ? { function: fresh, gradient: def.library?.gradient ?? [] } : undefined;
    return { nodes: pruned.nodes, library, variableGrads, invariantGrads, usedVariables, usedInvariants, stacked };
  } finally {
    scratch.dispose();
  }
}
