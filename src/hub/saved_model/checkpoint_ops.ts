/**
 * Graph builders for reading and writing checkpoints (RestoreV2 / SaveV2). The string constants they need
 * (prefix, tensor names, slice specs) are made and disposed here, so no caller leaves a Tensor to the GC.
 */
import { DType } from '../../dtypes';
import { Graph, Operation, Output } from '../../graph';
import { Tensor } from '../../tensor';

/** The slice part of a partitioned variable: full shape, offset and length per dimension. */
export interface SliceInfo {
  readonly fullShape: readonly number[];
  readonly varOffset: readonly number[];
  readonly varShape: readonly number[];
}

/** A checkpoint slice spec (`"10 4 0,5:0,4"`): the full shape, then `offset,length` per dimension. */
export function sliceSpec(s: SliceInfo): string {
  return `${s.fullShape.join(' ')} ${s.varOffset.map((o, i) => `${o},${s.varShape[i]}`).join(':')}`;
}

/** A string Const of `graph` (scalar when `values` is a string, else a vector); the Tensor is disposed here. */
export function stringConstant(graph: Graph, values: string | string[], name?: string): Output {
  const t = typeof values === 'string' ? new Tensor('string', [], [values]) : new Tensor('string', [values.length], values);
  try {
    return graph.constant(t, name);
  } finally {
    t.dispose();
  }
}

/** What a RestoreV2 op reads: checkpoint `prefix`, tensor `keys` (with slice specs, default whole) and dtypes. */
export interface RestoreSpec {
  /** The checkpoint prefix: a path (made a constant) or a string tensor of the graph (e.g. a fed filename). */
  readonly prefix: string | Output;
  readonly keys: readonly string[];
  readonly dtypes: readonly DType[];
  /** Slice specs, one per key (`''` = the whole tensor); default all whole. */
  readonly slices?: readonly string[];
}

/** The three string inputs RestoreV2 and SaveV2 share: prefix, tensor_names, shape_and_slices. */
function bundleInputs(graph: Graph, spec: { prefix: string | Output; keys: readonly string[]; slices?: readonly string[] }): Output[] {
  return [
    typeof spec.prefix === 'string' ? stringConstant(graph, spec.prefix, 'prefix') : spec.prefix,
    stringConstant(graph, [...spec.keys], 'tensor_names'),
    stringConstant(graph, spec.slices ? [...spec.slices] : spec.keys.map(() => ''), 'shape_and_slices'),
  ];
}

/** Adds a RestoreV2 op to `graph` (under the current name scope); its outputs are the tensors of `spec.keys`. */
export function restoreV2(graph: Graph, spec: RestoreSpec): Operation {
  return graph.addOperation('RestoreV2', {
    name: graph.uniqueName('RestoreV2'),
    inputs: bundleInputs(graph, spec),
    attrs: { dtypes: [...spec.dtypes] },
  });
}

/** Adds a SaveV2 op writing `tensors` under `keys` (with slice specs, default whole) to checkpoint `prefix`. */
export function saveV2(
  graph: Graph,
  spec: { prefix: string | Output; keys: readonly string[]; tensors: Output[]; slices?: readonly string[] },
): Operation {
  return graph.addOperation('SaveV2', { name: graph.uniqueName('SaveV2'), inputs: [...bundleInputs(graph, spec), spec.tensors] });
}
