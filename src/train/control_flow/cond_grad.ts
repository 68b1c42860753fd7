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
import { FunctionLibrary, buildFunction, callInline, resourceValueDtype } from './function_builder';
import { zerosFor } from './while_grad';

/**
 * Builds the gradient function of library function `fnName`: arguments [inputs..., dys...] (one dy per floating
 * output), results one gradient per entry of `wanted` (zeros where the function gives none).
 */
function gradientFunction(
  lib: FunctionLibrary,
  fnName: string,
  inputDtypes: DType[],
  outputDtypes: DType[],
  wanted: Array<{ index: number; dtype: DType }>,
): string {
  const floatOuts = outputDtypes.map((d, i) => (isFloating(d) ? i : -1)).filter((i) => i >= 0);
  const types = [...inputDtypes, ...floatOuts.map((i) => outputDtypes[i])];
  return buildFunction(lib, `${fnName}_grad`, types, (g, args, l) => {
    const inputs = args.slice(0, inputDtypes.length);
    const outs = callInline(g, l, fnName, inputs);
    const ys = floatOuts.map((i) => g.addOperation('Identity', { name: g.uniqueName('y'), inputs: [outs[i]] }).output(0));
    const dys = floatOuts.map((_, k) => args[inputDtypes.length + k]);
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
    else if (x.dtype === 'resource') {
      const dtype = functions.map((f) => resourceValueDtype(lib, f, index)).find((d) => d !== null);
      if (dtype) wanted.push({ index, dtype });
    }
  });
  return wanted;
}

/** Output gradients with zeros for floating outputs that got none (the gradient functions take one per output). */
function floatDys(g: Graph, op: Operation, outputGradients: Array<Output | null>): Output[] {
  return op.outputs.filter((o) => isFloating(o.dtype)).map((o) => outputGradients[o.index] ?? ops.zerosLike(g, o));
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
  const gradBranches = branches.map((b) => gradientFunction(lib, b, inTypes, outTypes, wanted));
  const stateless = op.type.startsWith('Stateless') && !inTypes.includes('resource');
  const type = isCase ? (stateless ? 'StatelessCase' : 'Case') : stateless ? 'StatelessIf' : 'If';
  const dys = floatDys(graph, op, outputGradients);
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
  const gradFn = gradientFunction(
    lib,
    fnName,
    inputs.map((x) => x.dtype),
    op.outputs.map((o) => o.dtype),
    wanted,
  );
  const dys = floatDys(graph, op, outputGradients);
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
