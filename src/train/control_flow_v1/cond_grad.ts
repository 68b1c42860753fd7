/**
 * Gradients of TF1 (v1) cond ops outside loops: Switch and Merge. A v1 cond runs one branch; the other branch's
 * tensors are dead, and so are their gradients, so each gradient is routed the way its value was:
 *
 * - Merge: the gradient goes to the input that was taken (`Switch(grad, value_index == i)`).
 * - Switch: the gradients of its two outputs are merged; a missing one is zeros that are alive exactly when that
 *   output is (ZerosLike of the output itself), so the merged gradient always has a live value, as Python's.
 *
 * Loop Switches and Merges (driven by a LoopCond, fed by a NextIteration) belong to while-loop regions.
 */
import { TfhubError } from '../../errors';
import { Graph, Operation, Output } from '../../graph';
import * as ops from '../ops';
import { isLoopMerge, loopCondOf } from './frame';

function notInLoop(op: Operation): void {
  if (loopCondOf(op) || isLoopMerge(op)) {
    throw new TfhubError(
      'ERR_NO_GRADIENT',
      `${op.type} '${op.name}' belongs to a TF1 while loop whose frame could not be differentiated as a whole`,
    );
  }
}

/** Gradient of Merge / RefMerge: the output gradient sent to the input that was taken. */
export function mergeGradient(g: Graph, op: Operation, [grad]: Array<Output | null>): Array<Output | null> {
  notInLoop(op);
  if (!grad) return op.inputs.map(() => null);
  const taken = op.output(1);
  return op.inputs.map((_, i) => {
    const isTaken = ops.op0(g, 'Equal', [taken, ops.constant(g, i, 'int32')]);
    return g.addOperation('Switch', { name: g.uniqueName('cond_grad_switch'), inputs: [grad, isTaken] }).output(1);
  });
}

/** Zeros alive exactly when output `side` of the Switch is, for a gradient like `like`. */
function zerosOf(g: Graph, op: Operation, side: number, like: Output): Output {
  const value = op.output(side);
  if (value.dtype !== 'resource') return ops.zerosLike(g, value);
  return ops.zerosLike(g, ops.op0(g, 'ReadVariableOp', [value], { dtype: like.dtype }));
}

/** Gradient of Switch / RefSwitch: the gradients of both outputs merged (zeros for a branch without one). */
export function switchGradient(g: Graph, op: Operation, [gFalse, gTrue]: Array<Output | null>): Array<Output | null> {
  notInLoop(op);
  if (!gFalse && !gTrue) return [null, null];
  const f = gFalse ?? zerosOf(g, op, 0, gTrue!);
  const t = gTrue ?? zerosOf(g, op, 1, gFalse!);
  return [g.addOperation('Merge', { name: g.uniqueName('cond_grad'), inputs: [[f, t]] }).output(0), null];
}
