/**
 * The gradient of one iteration of a v1 while loop, built apart: the loop body is copied into a scratch graph
 * whose placeholders stand for the loop variables and invariants of one iteration, and differentiated there with
 * `Graph.addGradients` (TypeScript and C++ gradients; nested loops and conds are plain top-level control flow in
 * that graph). The result comes back as NodeDefs for the backward loop to import.
 */
import { DType, isFloating } from '../../dtypes';
import { TfhubError } from '../../errors';
import { Graph, Operation, Output } from '../../graph';
import { tensorflow } from '../../proto';
import { opDefs } from '../../registry';
import { V1Loop } from './frame';
import { NodeDef, importNodes, node, parseInput, typeAttr } from './node_defs';

/** Placeholder names in the scratch graph (renamed when the nodes are imported). */
export const valueName = (i: number) => `cfv1__s${i}`;
export const invariantName = (j: number) => `cfv1__v${j}`;
export const dnextName = (i: number) => `cfv1__d${i}`;

/** The gradient of one iteration, as nodes to import. */
export interface BodyVjp {
  /** Every scratch node but the placeholders: the body recomputed and its gradient. */
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
}

function placeholder(name: string, out: Output): NodeDef {
  const attr: Record<string, tensorflow.IAttrValue> = { dtype: typeAttr(out.dtype) };
  const shape = out.dtype === 'resource' ? null : out.shape;
  if (shape) attr.shape = { shape: { dim: shape.map((size) => ({ size })) } };
  return node(name, 'Placeholder', [], attr);
}

/**
 * Stateful ops a recomputed iteration may run again: reads and checks. Any other stateful op (assignments, random
 * ops, TensorArray and queue ops) would act twice, so such loops are refused.
 */
const REPEATABLE = new Set(['ReadVariableOp', 'ResourceGather', 'VariableShape', 'Assert', 'Print', 'PrintV2', 'VarIsInitializedOp']);

function checkRepeatable(loop: V1Loop, op: Operation): void {
  if (!opDefs().get(op.type)?.isStateful || REPEATABLE.has(op.type)) return;
  throw new TfhubError(
    'ERR_NO_GRADIENT',
    `no gradient through TF1 while loop '${loop.frameName}': its body runs the stateful op ${op.type} ('${op.name}'), which the backward loop would run again`,
  );
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
    checkRepeatable(loop, op);
    seen.set(op.name, op);
    for (const input of op.inputs) stack.push(input.op);
    for (const c of op.controlInputs) if (!plumbing.has(c.name)) stack.push(c);
  }
  return seen;
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
    const grads = scratch.addGradients(ys, [...xVars, ...xInvs], dys, { unconnected: 'null', prefix: 'cfv1__grad' });
    const variableGrads = new Map<number, string>();
    floating.forEach((i, k) => {
      if (grads[k]) variableGrads.set(i, grads[k].name);
    });
    const invariantGrads = new Map<number, { name: string; dtype: DType }>();
    diffInvariants.forEach((j, k) => {
      const gr = grads[floating.length + k];
      if (gr) invariantGrads.set(j, { name: gr.name, dtype: gr.dtype });
    });
    const def = tensorflow.GraphDef.decode(scratch.toGraphDef());
    const placeholders = new Set([...stop.values(), ...diffVariables.map(dnextName)]);
    const out = def.node.filter((n) => !placeholders.has(n.name ?? ''));
    const usedVariables = new Set<number>();
    const usedInvariants = new Set<number>();
    const note = (ref: string) => {
      const [name] = parseInput(ref);
      const m = /^cfv1__([sv])(\d+)$/.exec(name);
      if (m) (m[1] === 's' ? usedVariables : usedInvariants).add(Number(m[2]));
    };
    for (const n of out) for (const ref of n.input ?? []) note(ref);
    for (const name of [...variableGrads.values(), ...[...invariantGrads.values()].map((x) => x.name)]) note(name);
    const known = new Set(graph.functionDefs().map((f) => f.signature?.name ?? ''));
    const fresh = (def.library?.function ?? []).filter((f) => !known.has(f.signature?.name ?? ''));
    const library = fresh.length > 0 ? { function: fresh, gradient: def.library?.gradient ?? [] } : undefined;
    return { nodes: out, library, variableGrads, invariantGrads, usedVariables, usedInvariants };
  } finally {
    scratch.dispose();
  }
}
