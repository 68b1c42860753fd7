/**
 * Gradients through TF1 (v1) control flow, as imported from TF1 Hub modules and TF1 SavedModels: while loops
 * (Enter/Merge/Switch/LoopCond/NextIteration/Exit frames) are differentiated as regions (while_grad.ts), conds
 * outside loops by the Switch and Merge gradients (cond_grad.ts), TF1 TensorArrays by tensor_array_grad.ts (in
 * straight-line code and in loop bodies). `train/gradients` registers them.
 */
import { Graph, Operation } from '../../graph';
import type { GradientFunction, GradientRegion } from '../gradients';
import { mergeGradient, switchGradient } from './cond_grad';
import { outermostLoops } from './frame';
import { TENSOR_ARRAY_GRADIENTS } from './tensor_array_grad';
import { loopRegion } from './while_grad';

/** The gradient functions of the v1 cond ops and of TensorArrays, by op type. */
export const V1_CONTROL_FLOW_GRADIENTS: ReadonlyArray<[string, GradientFunction]> = [
  ['Switch', switchGradient],
  ['RefSwitch', switchGradient],
  ['Merge', mergeGradient],
  ['RefMerge', mergeGradient],
  ...TENSOR_ARRAY_GRADIENTS,
];

/** The region finder of v1 while loops: one region per outermost loop with an Exit between xs and ys. */
export function v1LoopRegions(_graph: Graph, between: Operation[]): GradientRegion[] {
  return outermostLoops(between).map(loopRegion);
}
