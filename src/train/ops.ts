/** Small graph-building helpers used by gradients and optimizers (thin wrappers over `Graph.addOperation`). */
import { DType } from '../dtypes';
import { Graph, Operation, Output } from '../graph';
import { Tensor } from '../tensor';

/** Adds `type` with `inputs` and `attrs` under a unique name derived from `name` (default: the type). */
function op(g: Graph, type: string, inputs: Array<Output | Output[]>, attrs: Record<string, unknown> = {}, name?: string): Operation {
  return g.addOperation(type, { name: g.uniqueName(name ?? type), inputs, attrs });
}

/** Output 0 of `op(...)`. */
export function op0(g: Graph, type: string, inputs: Array<Output | Output[]>, attrs: Record<string, unknown> = {}, name?: string): Output {
  return op(g, type, inputs, attrs, name).output(0);
}

/** A scalar or vector constant of `dtype`. */
export function constant(g: Graph, values: number | number[] | bigint[], dtype: DType, name = 'Const'): Output {
  const flat = Array.isArray(values) ? values : [values];
  const shape = Array.isArray(values) ? [flat.length] : [];
  const t = new Tensor(dtype, shape, flat as never);
  try {
    return g.constant(t, name);
  } finally {
    t.dispose();
  }
}

export const shape = (g: Graph, x: Output, outType: DType = 'int32') => op0(g, 'Shape', [x], { out_type: outType });
export const reshape = (g: Graph, x: Output, s: Output) => op0(g, 'Reshape', [x, s]);
export const cast = (g: Graph, x: Output, to: DType) => (x.dtype === to ? x : op0(g, 'Cast', [x], { DstT: to }));
export const mul = (g: Graph, a: Output, b: Output) => op0(g, 'Mul', [a, b]);
export const add = (g: Graph, a: Output, b: Output) => op0(g, 'AddV2', [a, b]);
export const sub = (g: Graph, a: Output, b: Output) => op0(g, 'Sub', [a, b]);
export const zerosLike = (g: Graph, a: Output) => op0(g, 'ZerosLike', [a]);
export const onesLike = (g: Graph, a: Output) => op0(g, 'OnesLike', [a]);
export const expandDims = (g: Graph, x: Output, axis: number) => op0(g, 'ExpandDims', [x, constant(g, axis, 'int32')]);
/** Element `i` of a vector (e.g. a dimension of a shape). */
export const element = (g: Graph, v: Output, i: number) => op0(g, 'GatherV2', [v, constant(g, i, 'int32'), constant(g, 0, 'int32')]);
export const gather = (g: Graph, params: Output, indices: Output, axis = 0) =>
  op0(g, 'GatherV2', [params, indices, constant(g, axis, 'int32')]);
export const concat = (g: Graph, values: Output[], axis = 0) => op0(g, 'ConcatV2', [values, constant(g, axis, 'int32')]);
/** Sum of a list of same-shaped tensors. */
export function addN(g: Graph, xs: Output[]): Output {
  return xs.length === 1 ? xs[0] : op0(g, 'AddN', [xs]);
}
