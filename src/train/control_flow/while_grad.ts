/**
 * The gradient of functional `While` / `StatelessWhile` (TF2 `tf.while_loop`, Python's while_v2), built the way
 * while_v2 builds it:
 *
 * 1. A forward loop that also keeps what the backward pass needs: the same loop, with an iteration counter and one
 *    `TensorList` accumulator per loop variable that changes between iterations (each iteration pushes the values
 *    it starts from). Loop-invariant variables (captured tensors, variable handles) are not accumulated.
 * 2. A backward `While` that runs the iterations in reverse: it pops the values of iteration t, recomputes the body
 *    on them, and takes the body's gradient with the gradient registry (`Graph.addGradients`: TypeScript gradients
 *    plus TF's C++ ones, recursively through nested loops and conds) with the loop variables' gradients as dys.
 *    Loop-invariant variables get the sum of their gradients over all iterations.
 *
 * TensorList loop variables (TensorArrays) of floating elements carry a list gradient, zeros (`ZerosLike` of the
 * list) where none flows in, as while_v2 does; the list ops' gradients are in `train/list_grads`.
 *
 * The accumulating loop is a copy of the forward loop (TF's C API cannot add outputs to an existing op); the
 * consumers of the original are rewired to it when no session has run the graph yet (`retireForwardLoop`), so the
 * forward pass runs once. Otherwise both run, with the same numbers as long as the body is deterministic.
 */
import { DType, isFloating } from '../../dtypes';
import { TfhubError } from '../../errors';
import { Graph, Operation, Output } from '../../graph';
import { tensorflow } from '../../proto';
import * as ops from '../ops';
import {
  FunctionLibrary,
  buildFunction,
  callInline,
  listElementDtype,
  producedListElementDtype,
  resourceValueDtype,
} from './function_builder';

/** How gradients flow through one loop variable. */
interface LoopVar {
  /** Position in the While's inputs and outputs. */
  index: number;
  dtype: DType;
  /** The body returns its argument unchanged (captured tensor, variable handle, loop bound). */
  invariant: boolean;
  /** The dtype of its gradient (the variable's value dtype for a resource), or null when it has none. */
  gradDtype: DType | null;
}

/**
 * Whether a TensorList of `elementDtype` carries a gradient (a list of the gradients of its elements): floating
 * elements, and lists of lists. Python treats a variant of unknown contents as trainable; here a variant that no
 * list op makes or reads (null) gets no gradient, so loops carrying other variants (optionals, dataset iterators)
 * still differentiate with respect to their other variables.
 */
export function trainableList(elementDtype: DType | null): boolean {
  return elementDtype !== null && (isFloating(elementDtype) || elementDtype === 'variant');
}

/** The argument index that return value `k` of `fn` passes through unchanged (through Identity ops), or -1. */
function passThroughArg(fn: tensorflow.IFunctionDef, k: number): number {
  const args = (fn.signature?.inputArg ?? []).map((a) => a.name ?? '');
  const nodes = new Map((fn.nodeDef ?? []).map((n) => [n.name ?? '', n]));
  let ref = fn.ret?.[fn.signature?.outputArg?.[k]?.name ?? ''] ?? '';
  for (let hops = 0; hops < 16; hops++) {
    const at = args.indexOf(ref);
    if (at >= 0) return at;
    const node = nodes.get(ref.split(':')[0]);
    if (!node || node.op !== 'Identity' || (ref.split(':')[2] !== undefined && ref.split(':')[2] !== '0')) return -1;
    ref = (node.input ?? []).find((i) => !i.startsWith('^')) ?? '';
  }
  return -1;
}

function loopVars(op: Operation, lib: FunctionLibrary, body: tensorflow.IFunctionDef): LoopVar[] {
  const bodyName = body.signature?.name ?? '';
  return op.inputs.slice(0, body.signature?.inputArg?.length ?? 0).map((input, index) => {
    const dtype = input.dtype;
    const invariant = passThroughArg(body, index) === index;
    let gradDtype: DType | null = null;
    if (isFloating(dtype)) gradDtype = dtype;
    else if (dtype === 'resource' && invariant) gradDtype = resourceValueDtype(lib, bodyName, index);
    else if (dtype === 'variant' && trainableList(producedListElementDtype(input) ?? listElementDtype(lib, bodyName, index)))
      gradDtype = 'variant';
    if (dtype === 'resource' && !invariant) {
      throw new TfhubError(
        'ERR_NO_GRADIENT',
        `While '${op.name}': loop variable ${index} is a resource handle that changes between iterations`,
      );
    }
    return { index, dtype, invariant, gradDtype };
  });
}

/** Zeros shaped like the value of `x` (a tensor, or the variable behind a resource handle). */
export function zerosFor(g: Graph, x: Output, dtype: DType): Output {
  if (x.dtype !== 'resource') return ops.zerosLike(g, x);
  const shape = ops.op0(g, 'VariableShape', [x], { out_type: 'int32' });
  return ops.op0(g, 'Fill', [shape, ops.constant(g, 0, dtype)]);
}

/** Attributes of the new loops taken from the forward one (parallelism, lowering). */
function loopAttrs(op: Operation): Record<string, unknown> {
  const attrs: Record<string, unknown> = {};
  const nodeAttrs = op.nodeDef().attr ?? {};
  if (nodeAttrs.parallel_iterations) attrs.parallel_iterations = op.getAttr('parallel_iterations');
  if (nodeAttrs._lower_using_switch_merge) attrs._lower_using_switch_merge = op.getAttr('_lower_using_switch_merge');
  return attrs;
}

const ELEMENT_SHAPE_UNKNOWN = -1;

/** Names the original body and cond on an accumulating loop, whose gradient reuses its accumulators. */
const ACCUMULATING_BODY = '_tfhub_accumulating_body';
const ACCUMULATING_COND = '_tfhub_accumulating_cond';

/** The forward loop's static output shapes (when it has them), then scalars for the counter and the lists. */
function accumulatingShapes(op: Operation, extra: number): Record<string, unknown> {
  const shapes = op.nodeDef().attr?.output_shapes?.list?.shape ?? [];
  if (shapes.length !== op.numOutputs) return {};
  return { output_shapes: tensorflow.AttrValue.create({ list: { shape: [...shapes, ...new Array(extra).fill({})] } }) };
}

/**
 * Makes the consumers of `op`'s outputs read the same outputs of the accumulating loop `fwd`, so that only `fwd`
 * runs (TF's C API cannot add outputs to `op` itself); what waits on `op` through a control edge waits on `fwd`.
 * Only while no session has run the graph (a session that ran an operation keeps running it unedited, with a
 * warning); otherwise both loops run, computing the same values. Stops at the first edit TensorFlow refuses (e.g. static
 * shapes that do not merge): each consumer reads one loop or the other, both right.
 */
function retireForwardLoop(graph: Graph, op: Operation, fwd: Operation, n: number): void {
  if (graph.sessionRan) return;
  try {
    for (let i = 0; i < n; i++) {
      for (const { op: consumer, inputIndex } of op.output(i).consumers()) graph.updateInput(consumer, inputIndex, fwd.output(i));
    }
    // What waits on the loop (an inlined function's control outputs) waits on the copy instead.
    for (const waiting of op.controlOutputs) {
      graph.setControlInputs(
        waiting,
        waiting.controlInputs.map((c) => (c.name === op.name ? fwd : c)),
      );
    }
  } catch {
    // Left as it is: both loops run.
  }
}

/** What `accumulatingLoop` copies: the loop's functions, its variables and those it accumulates. */
interface LoopParts {
  bodyName: string;
  condName: string;
  vars: LoopVar[];
  accumulated: LoopVar[];
  base: string;
}

/**
 * The forward loop with a counter and one accumulator per changing variable: args = [vars..., counter, lists...].
 * Marked with the original body and cond, so that a later gradient of it reuses its accumulators.
 */
function accumulatingLoop(graph: Graph, op: Operation, lib: FunctionLibrary, parts: LoopParts): Operation {
  const { bodyName, condName, vars, accumulated, base } = parts;
  const n = vars.length;
  const inputs = op.inputs.slice(0, n);
  const fwdTypes: DType[] = [...vars.map((v) => v.dtype), 'int32', ...accumulated.map(() => 'variant' as DType)];
  const fwdCond = buildFunction(lib, `${base}_acc_cond`, fwdTypes, (g, args, l) => callInline(g, l, condName, args.slice(0, n)));
  const fwdBody = buildFunction(lib, `${base}_acc_body`, fwdTypes, (g, args, l) => {
    const outs = callInline(g, l, bodyName, args.slice(0, n));
    const counter = ops.add(g, args[n], ops.constant(g, 1, 'int32'));
    const lists = accumulated.map((v, k) => ops.op0(g, 'TensorListPushBack', [args[n + 1 + k], args[v.index]], { element_dtype: v.dtype }));
    return [...outs, counter, ...lists];
  });
  return graph.withNameScope(`${base}_grad/`, () => {
    const elementShape = ops.constant(graph, ELEMENT_SHAPE_UNKNOWN, 'int32');
    const noLimit = ops.constant(graph, -1, 'int32');
    const lists = accumulated.map((v) => ops.op0(graph, 'EmptyTensorList', [elementShape, noLimit], { element_dtype: v.dtype }));
    return graph.addOperation(op.type, {
      name: graph.uniqueName('forward_accumulating'),
      inputs: [[...inputs, ops.constant(graph, 0, 'int32'), ...lists]],
      attrs: {
        T: fwdTypes,
        cond: fwdCond,
        body: fwdBody,
        ...loopAttrs(op),
        ...accumulatingShapes(op, 1 + accumulated.length),
        [ACCUMULATING_BODY]: bodyName,
        [ACCUMULATING_COND]: condName,
      },
    });
  });
}

/**
 * The gradient of a functional `While` / `StatelessWhile` op: one gradient per input (null for inputs without one:
 * integer counters, loop variables nothing depends on, variants that are not lists of floating elements; a list
 * gradient for a TensorList of floating elements), given the gradients flowing into its outputs
 * (null where none flows). Builds the accumulating forward loop and the backward loop described above, in
 * `graph`; the new functions go into the graph's library. Used by `Graph.addGradients` for While ops, and usable
 * by any code that rewrites other loops into a functional While.
 */
export function whileGradient(graph: Graph, op: Operation, outputGradients: Array<Output | null>): Array<Output | null> {
  if (op.type !== 'While' && op.type !== 'StatelessWhile')
    throw new TfhubError('ERR_INVALID_ARG_VALUE', `whileGradient takes a While op, not ${op.type}`);
  const lib = new FunctionLibrary(graph);
  // An accumulating loop built by an earlier gradient (the consumers of its original now read it): its gradient
  // is that of the original loop, over the accumulators it already has.
  const reuse = (op.nodeDef().attr ?? {})[ACCUMULATING_BODY] !== undefined;
  const bodyName = op.getAttr(reuse ? ACCUMULATING_BODY : 'body') as string;
  const condName = op.getAttr(reuse ? ACCUMULATING_COND : 'cond') as string;
  const body = lib.get(bodyName);
  const vars = loopVars(op, lib, body);
  const n = vars.length;
  const result: Array<Output | null> = new Array(op.numInputs).fill(null);
  if (!vars.some((v) => v.gradDtype !== null) || outputGradients.slice(0, n).every((g) => g === null)) return result;
  const accumulated = vars.filter((v) => !v.invariant);
  const inputs = op.inputs.slice(0, n);
  const base = op.name.replace(/[^A-Za-z0-9_]/g, '_');

  // 1. The forward loop with a counter and accumulators: args = [vars..., counter, lists...].
  const fwd = reuse ? op : accumulatingLoop(graph, op, lib, { bodyName, condName, vars, accumulated, base });
  if (!reuse) retireForwardLoop(graph, op, fwd, n);
  const iterations = fwd.output(n);
  const listsOut = accumulated.map((_, k) => fwd.output(n + 1 + k));

  // 2. The backward loop: args = [i, N, grads..., lists..., invariants...].
  const grads = vars.filter((v) => v.gradDtype !== null);
  const invariants = vars.filter((v) => v.invariant);
  const bwdTypes: DType[] = [
    'int32',
    'int32',
    ...grads.map((v) => v.gradDtype!),
    ...accumulated.map(() => 'variant' as DType),
    ...invariants.map((v) => v.dtype),
  ];
  const gOff = 2;
  const lOff = gOff + grads.length;
  const iOff = lOff + accumulated.length;
  const bwdCond = buildFunction(lib, `${base}_grad_cond`, bwdTypes, (g, args) => [ops.op0(g, 'Less', [args[0], args[1]])]);
  const bwdBody = buildFunction(lib, `${base}_grad_body`, bwdTypes, (g, args, l) => {
    const elementShape = ops.constant(g, ELEMENT_SHAPE_UNKNOWN, 'int32');
    const values: Output[] = new Array(n);
    const listsNext: Output[] = [];
    accumulated.forEach((v, k) => {
      const pop = g.addOperation('TensorListPopBack', {
        name: g.uniqueName('pop'),
        inputs: [args[lOff + k], elementShape],
        attrs: { element_dtype: v.dtype },
      });
      listsNext.push(pop.output(0));
      values[v.index] = pop.output(1);
    });
    invariants.forEach((v, k) => {
      values[v.index] = args[iOff + k];
    });
    const outs = callInline(g, l, bodyName, values);
    // d(body outputs)/d(body inputs) with the loop variables' gradients as dys; invariants pass theirs on.
    const ys: Output[] = [];
    const dys: Output[] = [];
    grads.forEach((v, k) => {
      if (v.invariant || outs[v.index].dtype === 'resource') return;
      ys.push(g.addOperation('Identity', { name: g.uniqueName('y'), inputs: [outs[v.index]] }).output(0));
      dys.push(args[gOff + k]);
    });
    const xs = grads.map((v) => values[v.index]);
    const got = ys.length > 0 ? g.addGradients(ys, xs, dys, { unconnected: 'null' }) : xs.map(() => null);
    const next = grads.map((v, k) => {
      const parts = [got[k], v.invariant ? args[gOff + k] : null].filter((p): p is Output => p !== null);
      if (parts.length === 0) return zerosFor(g, values[v.index], v.gradDtype!);
      return ops.addN(g, parts);
    });
    return [ops.add(g, args[0], ops.constant(g, 1, 'int32')), args[1], ...next, ...listsNext, ...invariants.map((_, k) => args[iOff + k])];
  });
  const bwd = graph.withNameScope(`${base}_grad/`, () => {
    const initial = grads.map(
      (v) => outputGradients[v.index] ?? zerosFor(graph, v.invariant ? inputs[v.index] : fwd.output(v.index), v.gradDtype!),
    );
    return graph.addOperation(
      op.type === 'StatelessWhile' && !invariants.some((v) => v.dtype === 'resource') ? 'StatelessWhile' : 'While',
      {
        name: graph.uniqueName('backward'),
        inputs: [[ops.constant(graph, 0, 'int32'), iterations, ...initial, ...listsOut, ...invariants.map((v) => inputs[v.index])]],
        attrs: { T: bwdTypes, cond: bwdCond, body: bwdBody, ...loopAttrs(op) },
      },
    );
  });
  grads.forEach((v, k) => {
    result[v.index] = bwd.output(gOff + k);
  });
  return result;
}
