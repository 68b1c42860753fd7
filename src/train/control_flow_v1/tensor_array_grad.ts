/**
 * Gradients of TF1 TensorArrays (`TensorArrayV3` and its Read/Write/Gather/Scatter/Concat/Split ops), as
 * `tf.compat.v1.nn.dynamic_rnn` and `tf.while_loop` over a `tf.TensorArray` leave them in TF1 Hub modules and
 * TF1 SavedModels. The rules are Python's (`tensor_array_grad.py`):
 *
 * - The gradient of a TensorArray is another TensorArray, made (or found) by `TensorArrayGradV3` on the forward
 *   array's handle with a `source` naming the gradient computation, so that every gradient op of one
 *   `addGradients` call shares one accumulator and two calls never share one. Elements written twice to it add up.
 * - Reading (Read, Gather, Concat) writes the output gradient into the gradient array (Write, Scatter, Split) and
 *   passes on the new flow as the gradient of the read's flow input; writing (Write, Scatter, Split) reads the
 *   value's gradient back (Read, Gather, Concat) and passes the flow gradient through. Flows are float scalars
 *   whose only job is ordering: a gradient array is read only after every gradient written into it.
 * - TensorArrayV3, TensorArrayGradV3, TensorArraySizeV3 and TensorArrayCloseV3 have no gradient.
 *
 * The source is the name scope the gradient is built in (`gradients`, `gradients_1`, …, one per call). The body of
 * a TF1 while loop is differentiated in a scratch graph (body_vjp.ts), which builds its gradient under the source of
 * the call that differentiates the loop (`withGradientSource`). There, TensorArray ops are never run again: their
 * outputs are pushed onto stacks in the forward loop and popped in the backward one (`TENSOR_ARRAY_STATEFUL`).
 */
import { Graph, Operation, Output } from '../../graph';
import type { GradientFunction } from '../gradients';
import * as ops from '../ops';

let sourceOverride: string | null = null;

/** The `source` of the TensorArray gradients built now in `graph`. */
export function gradientSource(graph: Graph): string {
  return sourceOverride ?? (graph.nameScope.replace(/\/$/, '') || 'gradients');
}

/** Runs `fn` with TensorArray gradients keyed by `source` (a loop body differentiated apart). */
export function withGradientSource<T>(source: string, fn: () => T): T {
  const previous = sourceOverride;
  sourceOverride = source;
  try {
    return fn();
  } finally {
    sourceOverride = previous;
  }
}

/**
 * TensorArray ops that act on the array (or read what it holds now): in a loop body they are not recomputed, their
 * outputs are stacked (reads clear elements, writes refuse a second write, sizes grow).
 */
export const TENSOR_ARRAY_STATEFUL = new Set([
  'TensorArrayV3',
  'TensorArrayGradV3',
  'TensorArrayGradWithShape',
  'TensorArrayReadV3',
  'TensorArrayWriteV3',
  'TensorArrayGatherV3',
  'TensorArrayScatterV3',
  'TensorArrayConcatV3',
  'TensorArraySplitV3',
  'TensorArraySizeV3',
  'TensorArrayCloseV3',
]);

/** The gradient array of the array `handle` (after `flow`), with its flow, as Python's `TensorArray.grad`. */
function gradArray(g: Graph, handle: Output, flow: Output): { handle: Output; flow: Output } {
  const op = g.addOperation('TensorArrayGradV3', {
    name: g.uniqueName('TensorArrayGrad/TensorArrayGradV3'),
    inputs: [handle, flow],
    attrs: { source: gradientSource(g) },
  });
  const gflow = g.addOperation('Identity', {
    name: g.uniqueName('TensorArrayGrad/gradient_flow'),
    inputs: [flow],
    controlInputs: [op],
  });
  return { handle: op.output(0), flow: gflow.output(0) };
}

/**
 * The incoming flow gradient of a write-like op, held until the op's own write is done (Python's `write_barrier`:
 * the gradient array is not made before the forward array's last write).
 */
function writeBarrier(g: Graph, op: Operation, flow: Output): Output {
  const done = ops.op0(g, 'Identity', [op.output(0)], {}, 'flow_out');
  return g.addOperation('Identity', { name: g.uniqueName('write_barrier'), inputs: [flow], controlInputs: [done.op] }).output(0);
}

/** The static shape of `x` without its first dimension (null: unknown rank). */
function elementShape(x: Output): Array<number | null> | null {
  const s = x.shape;
  return s === null || s.length === 0 ? null : s.slice(1).map((d) => (d < 0 ? null : d));
}

const none = (op: Operation) => op.inputs.map(() => null);

const readGrad: GradientFunction = (g, op, [grad]) => {
  if (!grad) return none(op);
  const [handle, index, flow] = op.inputs;
  const ga = gradArray(g, handle, flow);
  const written = ops.op0(g, 'TensorArrayWriteV3', [ga.handle, index, grad, ga.flow]);
  return [null, null, written];
};

const writeGrad: GradientFunction = (g, op, [flow]) => {
  if (!flow) return none(op);
  const [handle, index, value] = op.inputs;
  const barrier = writeBarrier(g, op, flow);
  const ga = gradArray(g, handle, barrier);
  const grad = ops.op0(g, 'TensorArrayReadV3', [ga.handle, index, ga.flow], { dtype: value.dtype });
  return [null, null, grad, barrier];
};

const gatherGrad: GradientFunction = (g, op, [grad]) => {
  if (!grad) return none(op);
  const [handle, indices, flow] = op.inputs;
  const ga = gradArray(g, handle, flow);
  return [null, null, ops.op0(g, 'TensorArrayScatterV3', [ga.handle, indices, grad, ga.flow])];
};

const scatterGrad: GradientFunction = (g, op, [flow]) => {
  if (!flow) return none(op);
  const [handle, indices, value] = op.inputs;
  const barrier = writeBarrier(g, op, flow);
  const ga = gradArray(g, handle, barrier);
  const grad = ops.op0(g, 'TensorArrayGatherV3', [ga.handle, indices, ga.flow], {
    dtype: value.dtype,
    element_shape: elementShape(value),
  });
  return [null, null, grad, barrier];
};

const concatGrad: GradientFunction = (g, op, [grad]) => {
  if (!grad) return none(op);
  const [handle, flow] = op.inputs;
  const lengths = op.output(1);
  const ga = gradArray(g, handle, flow);
  return [null, ops.op0(g, 'TensorArraySplitV3', [ga.handle, grad, lengths, ga.flow])];
};

const splitGrad: GradientFunction = (g, op, [flow]) => {
  if (!flow) return none(op);
  const [handle, value] = op.inputs;
  const barrier = writeBarrier(g, op, flow);
  const ga = gradArray(g, handle, barrier);
  const grad = g
    .addOperation('TensorArrayConcatV3', {
      name: g.uniqueName('TensorArrayConcatV3'),
      inputs: [ga.handle, ga.flow],
      attrs: { dtype: value.dtype, element_shape_except0: elementShape(value) },
    })
    .output(0);
  return [null, grad, null, barrier];
};

/** The TensorArray gradient functions, by op type. */
export const TENSOR_ARRAY_GRADIENTS: ReadonlyArray<[string, GradientFunction]> = [
  ['TensorArrayReadV3', readGrad],
  ['TensorArrayWriteV3', writeGrad],
  ['TensorArrayGatherV3', gatherGrad],
  ['TensorArrayScatterV3', scatterGrad],
  ['TensorArrayConcatV3', concatGrad],
  ['TensorArraySplitV3', splitGrad],
  ...['TensorArrayV3', 'TensorArrayGradV3', 'TensorArrayGradWithShape', 'TensorArraySizeV3', 'TensorArrayCloseV3'].map(
    (type): [string, GradientFunction] => [type, (_g, op) => none(op)],
  ),
];
