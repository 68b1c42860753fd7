/**
 * Gradients of functional conditionals and calls: `If` / `StatelessIf` / `Case` / `StatelessCase` (TF2 `tf.cond`,
 * `tf.switch_case`, Python's cond_v2) and `PartitionedCall` / `StatefulPartitionedCall` left in a graph (not
 * inlined). Each branch (or the called function) gets a gradient function: it recomputes the branch on the op's
 * inputs and differentiates it with the gradient registry (`Graph.addGradients`), the output gradients as dys. The
 * gradient op is the same conditional over those functions (or a call of the one function).
 */
import { DType, isFloating } from '../../dtypes';
import { TfhubError } from '../../errors';
import { Graph, Operation, Output } from '../../graph';
import * as ops from '../ops';
import {
  FunctionLibrary,
  buildFunction,
  callInline,
  listElementDtype,
  producedListElementDtype,
  resourceValueDtype,
} from './function_builder';
import { trainableList, zerosFor } from './while_grad';

/**
 * Builds the gradient function of library function `fnName`: arguments [inputs..., dys...] (one dy per entry of
 * `differentiated`, an output index), results one gradient per entry of `wanted` (zeros where the function gives
 * none).
 */
function gradientFunction(
  lib: FunctionLibrary,
  fnName: string,
  inputDtypes: DType[],
  outputDtypes: DType[],
  differentiated: number[],
  wanted: Array<{ index: number; dtype: DType }>,
): string {
  const types = [...inputDtypes, ...differentiated.map((i) => outputDtypes[i])];
  return buildFunction(lib, `${fnName}_grad`, types, (g, args, l) => {
    const inputs = args.slice(0, inputDtypes.length);
    const outs = callInline(g, l, fnName, inputs);
    const ys = differentiated.map((i) => g.addOperation('Identity', { name: g.uniqueName('y'), inputs: [outs[i]] }).output(0));
    const dys = differentiated.map((_, k) => args[inputDtypes.length + k]);
    const xs = wanted.map((w) => inputs[w.index]);
    const got = ys.length > 0 ? g.addGradients(ys, xs, dys, { unconnected: 'null' }) : xs.map(() => null);
    return wanted.map((w, k) => got[k] ?? zerosFor(g, inputs[w.index], w.dtype));
  });
}

/** The inputs of `functions` that can have a gradient, with its dtype (a resource's value dtype). */
function differentiableInputs(lib: FunctionLibrary, functions: string[], inputs: Output[]): Array<{ index: number; dtype: DType }> {
  const wanted: Array<{ index: number; dtype: DType }> = [];
  inputs.forEach((x, index) => {
    if (isFloating(x.dtype)) wanted.push({ index, dtype: x.dtype });
    else if (x.dtype === 'variant') {
      const element = producedListElementDtype(x) ?? functions.map((f) => listElementDtype(lib, f, index)).find((d) => d !== null) ?? null;
      if (trainableList(element)) wanted.push({ index, dtype: 'variant' });
    } else if (x.dtype === 'resource') {
      const dtype = functions.map((f) => resourceValueDtype(lib, f, index)).find((d) => d !== null);
      if (dtype) wanted.push({ index, dtype });
    }
  });
  return wanted;
}

/**
 * The outputs the gradient function differentiates (floating ones, and TensorLists a gradient flows into) and their
 * gradients (zeros for floating outputs that got none).
 */
function outputDys(g: Graph, op: Operation, outputGradients: Array<Output | null>): { differentiated: number[]; dys: Output[] } {
  const differentiated = op.outputs
    .filter((o) => isFloating(o.dtype) || (o.dtype === 'variant' && outputGradients[o.index]))
    .map((o) => o.index);
  return { differentiated, dys: differentiated.map((i) => outputGradients[i] ?? ops.zerosLike(g, op.output(i))) };
}

/**
 * The gradient of an `If`, `StatelessIf`, `Case` or `StatelessCase` op: null for the predicate / branch index, one
 * gradient per other input (null for inputs without one). The gradient op is a conditional of the same kind over
 * the branches' gradient functions, taking the same predicate or index.
 */
export function condGradient(graph: Graph, op: Operation, outputGradients: Array<Output | null>): Array<Output | null> {
  const isCase = op.type === 'Case' || op.type === 'StatelessCase';
  if (!isCase && op.type !== 'If' && op.type !== 'StatelessIf')
    throw new TfhubError('ERR_INVALID_ARG_VALUE', `condGradient takes an If or Case op, not ${op.type}`);
  const result: Array<Output | null> = new Array(op.numInputs).fill(null);
  if (outputGradients.every((g) => g === null)) return result;
  const lib = new FunctionLibrary(graph);
  const [selector, ...inputs] = op.inputs;
  const branches = isCase
    ? (op.getAttr('branches') as string[])
    : [op.getAttr('then_branch') as string, op.getAttr('else_branch') as string];
  const wanted = differentiableInputs(lib, branches, inputs);
  if (wanted.length === 0) return result;
  const inTypes = inputs.map((x) => x.dtype);
  const outTypes = op.outputs.map((o) => o.dtype);
  const { differentiated, dys } = outputDys(graph, op, outputGradients);
  const gradBranches = branches.map((b) => gradientFunction(lib, b, inTypes, outTypes, differentiated, wanted));
  const stateless = op.type.startsWith('Stateless') && !inTypes.includes('resource');
  const type = isCase ? (stateless ? 'StatelessCase' : 'Case') : stateless ? 'StatelessIf' : 'If';
  const attrs: Record<string, unknown> = { Tin: [...inTypes, ...dys.map((d) => d.dtype)], Tout: wanted.map((w) => w.dtype) };
  if (isCase) attrs.branches = gradBranches;
  else Object.assign(attrs, { then_branch: gradBranches[0], else_branch: gradBranches[1], Tcond: selector.dtype });
  const gradOp = graph.addOperation(type, {
    name: graph.uniqueName(`${op.name.replace(/[^A-Za-z0-9_./-]/g, '_')}_grad`),
    inputs: [selector, [...inputs, ...dys]],
    attrs,
  });
  wanted.forEach((w, k) => {
    result[1 + w.index] = gradOp.output(k);
  });
  return result;
}

/**
 * The gradient of a `PartitionedCall` / `StatefulPartitionedCall` op: the called function's gradient function,
 * called the same way. One gradient per input (null for inputs without one).
 */
export function callGradient(graph: Graph, op: Operation, outputGradients: Array<Output | null>): Array<Output | null> {
  const result: Array<Output | null> = new Array(op.numInputs).fill(null);
  if (outputGradients.every((g) => g === null)) return result;
  const lib = new FunctionLibrary(graph);
  const fnName = op.getAttr('f') as string;
  const inputs = op.inputs;
  const wanted = differentiableInputs(lib, [fnName], inputs);
  if (wanted.length === 0) return result;
  const { differentiated, dys } = outputDys(graph, op, outputGradients);
  const gradFn = gradientFunction(
    lib,
    fnName,
    inputs.map((x) => x.dtype),
    op.outputs.map((o) => o.dtype),
    differentiated,
    wanted,
  );
  const call = graph.addOperation('StatefulPartitionedCall', {
    name: graph.uniqueName(`${op.name.replace(/[^A-Za-z0-9_./-]/g, '_')}_grad`),
    inputs: [[...inputs, ...dys]],
    attrs: { Tin: [...inputs.map((x) => x.dtype), ...dys.map((d) => d.dtype)], Tout: wanted.map((w) => w.dtype), f: gradFn },
  });
  wanted.forEach((w, k) => {
    result[w.index] = call.output(k);
  });
  return result;
}
