/**
 * Gradients of functional control flow (TF2 graphs): `While` / `StatelessWhile`, `If` / `StatelessIf` / `Case` /
 * `StatelessCase`, and the call ops `PartitionedCall` / `StatefulPartitionedCall`. `train/gradients` registers
 * them; `whileGradient` is also the entry point for code that rewrites other loops into a functional While.
 */
import { Graph, Operation, Output } from '../../graph';
import { callGradient, condGradient } from './cond_grad';
import { whileGradient } from './while_grad';

export { whileGradient, zerosFor } from './while_grad';
export { callGradient, condGradient } from './cond_grad';
export { FunctionLibrary, buildFunction, callInline } from './function_builder';

/** The gradient functions of the functional control-flow ops, by op type. */
export const CONTROL_FLOW_GRADIENTS: ReadonlyArray<
  [string, (graph: Graph, op: Operation, outputGradients: Array<Output | null>) => Array<Output | null>]
> = [
  ['While', whileGradient],
  ['StatelessWhile', whileGradient],
  ['If', condGradient],
  ['StatelessIf', condGradient],
  ['Case', condGradient],
  ['StatelessCase', condGradient],
  ['PartitionedCall', callGradient],
  ['StatefulPartitionedCall', callGradient],
];
