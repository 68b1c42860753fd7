/**
 * Symbolic gradients that also cover ops TF's C++ gradient registry lacks (SparseSoftmaxCrossEntropyWithLogits,
 * SparseSegment{Sum,Mean,SqrtN}, ResourceGather, TopKV2, …).
 *
 * When no op between xs and ys has a TypeScript gradient, one TF_AddGradients call does everything. Otherwise
 * the graph is cut at those ops: backprop walks the ops between xs and ys in reverse topological order, asking
 * TF for the gradient of each C++-differentiable op (TF_AddGradients with that op's output gradients as dys) and
 * the TypeScript registry for the others.
 */
import { DType, isFloating } from '../dtypes';
import { TfhubError, typeError } from '../errors';
import { GradientOptions, Graph, Operation, Output, setSymbolicGradients } from '../graph';
import { hasDeviceScope } from '../device_scope';
import { isRegisteredOp } from '../registry';
import { GradientOwners, placedGradients } from './gradient_placement';
import { inputsDependOnEachOther, isolatedNativeGradients } from './local_gradient';
import * as ops from './ops';
import { CONTROL_FLOW_GRADIENTS } from './control_flow';
import { V1_CONTROL_FLOW_GRADIENTS, v1LoopRegions } from './control_flow_v1';

/**
 * A gradient function: given the op and the gradients of its outputs (null where none flows), returns one
 * gradient per input (null for inputs without one).
 */
export type GradientFunction = (graph: Graph, op: Operation, outputGradients: Array<Output | null>) => Array<Output | null>;

const registry = new Map<string, GradientFunction>();
const WHILE_LOOP_OPS = new Set(['Enter', 'RefEnter', 'Exit', 'RefExit', 'NextIteration', 'RefNextIteration', 'LoopCond']);

/**
 * Registers (or replaces) the gradient of `opType`. Registered gradients are used instead of TensorFlow's C++
 * ones for that op type. Returns a function that undoes the registration (restoring the previous TypeScript
 * gradient, or none).
 */
export function registerGradient(opType: string, fn: GradientFunction): () => void {
  if (typeof opType !== 'string' || opType === '')
    throw typeError('ERR_INVALID_ARG_TYPE', 'registerGradient(opType, fn): opType must be a non-empty string');
  if (typeof fn !== 'function') throw typeError('ERR_INVALID_ARG_TYPE', 'registerGradient(opType, fn): fn must be a function');
  const previous = registry.get(opType);
  registry.set(opType, fn);
  return () => {
    if (registry.get(opType) !== fn) return;
    if (previous) registry.set(opType, previous);
    else registry.delete(opType);
  };
}

/**
 * Operations differentiated as one unit (a TF1 while loop: the tensors entering its frame to the tensors leaving
 * it). `backprop` asks the region for the gradients of its inputs instead of visiting its operations.
 */
export interface GradientRegion {
  readonly name: string;
  readonly type: string;
  /** The tensors the region consumes (one gradient is returned per entry; repeats are summed). */
  readonly inputs: Output[];
  /** The tensors the region produces (one gradient is passed per entry, null where none flows). */
  readonly outputs: Output[];
  /** Names of the operations the region stands for. */
  readonly opNames: ReadonlySet<string>;
  gradient(graph: Graph, outputGradients: Array<Output | null>): Array<Output | null>;
}

/** Finds the regions among the operations between xs and ys (given in topological order). */
export type RegionFinder = (graph: Graph, between: Operation[]) => GradientRegion[];

const regionFinders: RegionFinder[] = [];

/** Registers a region finder (see `GradientRegion`); returns a function that removes it. */
export function registerGradientRegions(finder: RegionFinder): () => void {
  regionFinders.push(finder);
  return () => {
    const i = regionFinders.indexOf(finder);
    if (i >= 0) regionFinders.splice(i, 1);
  };
}

/**
 * `between` with each region's operations replaced by the region, placed after the producers of its inputs (the
 * consumers of its outputs already come after those).
 */
function collapseRegions(graph: Graph, between: Operation[]): Array<Operation | GradientRegion> {
  const regions = regionFinders.flatMap((find) => find(graph, between));
  if (regions.length === 0) return between;
  const owner = new Map<string, GradientRegion>();
  for (const r of regions) for (const name of r.opNames) owner.set(name, r);
  const order: Array<Operation | GradientRegion> = between.filter((op) => !owner.has(op.name));
  for (const r of regions) {
    const producers = new Set(r.inputs.map((x) => x.op.name));
    let at = 0;
    order.forEach((op, i) => {
      if (op instanceof Operation && producers.has(op.name)) at = i + 1;
    });
    order.splice(at, 0, r);
  }
  return order;
}

/** Op types with a TypeScript gradient. */
export function registeredGradients(): string[] {
  return [...registry.keys()].sort();
}

/** Something gradients can be taken with respect to: an Output or a variable (its handle). */
export type GradientTarget = Output | { readonly handle: Output };

function targetOutput(x: GradientTarget): Output {
  if (x instanceof Output) return x;
  if (x && typeof x === 'object' && (x as { handle?: unknown }).handle instanceof Output) return (x as { handle: Output }).handle;
  throw typeError('ERR_INVALID_ARG_TYPE', 'gradients are taken with respect to Outputs or Variables');
}

function differentiable(dtype: DType): boolean {
  return isFloating(dtype) || dtype === 'resource' || dtype === 'variant';
}

/** Ops lying on a path from some x to some y, in topological order. */
function opsBetween(graph: Graph, ys: Output[], xs: Output[]): Operation[] {
  const ancestors = graph.ancestorOps(ys);
  const between = new Set<string>();
  const stack = xs.map((x) => x.op).filter((op) => ancestors.has(op.name));
  while (stack.length > 0) {
    const op = stack.pop()!;
    if (between.has(op.name)) continue;
    between.add(op.name);
    for (const out of op.outputs) {
      for (const { op: consumer } of out.consumers()) if (ancestors.has(consumer.name) && !between.has(consumer.name)) stack.push(consumer);
    }
  }
  // Topological order by depth-first search over inputs restricted to the set.
  const order: Operation[] = [];
  const state = new Map<string, number>();
  const visit = (op: Operation) => {
    if (state.get(op.name) === 2) return;
    if (state.get(op.name) === 1) return; // cycles only exist through NextIteration, which TF1 loops own
    state.set(op.name, 1);
    for (const input of op.inputs) if (between.has(input.op.name)) visit(input.op);
    state.set(op.name, 2);
    order.push(op);
  };
  for (const name of between) visit(graph.operation(name)!);
  return order;
}

function sum(graph: Graph, parts: Output[] | undefined): Output | null {
  if (!parts || parts.length === 0) return null;
  return ops.addN(graph, parts);
}

/**
 * Gradients of `sum(ys · dys)` with respect to `xs` (Outputs or variables). Used by `Graph.addGradients`.
 */
export function addSymbolicGradients(
  graph: Graph,
  ys: Output | Output[],
  xs: GradientTarget | GradientTarget[],
  dys?: Output[] | null,
  options: GradientOptions = {},
  internal: { exactPrefix: string; owners: GradientOwners | null } | null = null,
): Output[] {
  const yList = Array.isArray(ys) ? ys : [ys];
  const xList = (Array.isArray(xs) ? xs : [xs]).map(targetOutput);
  if (yList.length === 0 || xList.length === 0)
    throw new TfhubError('ERR_INVALID_ARG_VALUE', 'addGradients needs at least one y and one x');
  for (const o of [...yList, ...xList, ...(dys ?? [])]) {
    if (!(o instanceof Output) || o.graph !== graph) throw typeError('ERR_INVALID_ARG_TYPE', 'addGradients takes Outputs of this graph');
  }
  if (dys && dys.length !== yList.length) throw new TfhubError('ERR_INVALID_ARG_VALUE', 'dys must have one entry per y');
  const prefix = internal ? internal.exactPrefix : graph.uniqueName(options.prefix ?? 'gradients');
  if (!internal && (hasDeviceScope(graph) || options.colocateGradientsWithOps)) {
    // Placed gradients: built in a scratch copy, imported with devices (gradient_placement.ts).
    const grads = placedGradients(graph, yList, xList, dys ?? null, options, prefix, (scratch, y, x, d, o, inner) =>
      addSymbolicGradients(scratch, y, x, d, o, inner),
    );
    return grads as Output[];
  }
  const owners = internal?.owners ?? null;
  const between = opsBetween(graph, yList, xList);
  const order = collapseRegions(graph, between);
  // TF1 while loops imported from a GraphDef carry no WhileContext, and TF's C++ gradient builder dereferences
  // it: refuse loop ops no region covers before TF crashes the process.
  const loopOps = order.filter((op): op is Operation => op instanceof Operation && WHILE_LOOP_OPS.has(op.type) && !registry.has(op.type));
  if (loopOps.length > 0) {
    throw new TfhubError(
      'ERR_NO_GRADIENT',
      `gradients of or with respect to tensors inside a TF1 while loop are not supported; take them of the loop's outputs, with respect to what enters it (ops ${loopOps
        .slice(0, 3)
        .map((op) => `'${op.name}'`)
        .join(', ')}${loopOps.length > 3 ? ', …' : ''} lie between ys and xs)`,
    );
  }
  // Colocation needs to know each gradient op's forward op: one TF_AddGradients call per op.
  const needsTs = owners !== null || order.some((op) => !(op instanceof Operation) || registry.has(op.type));
  let grads: Array<Output | null>;
  if (!needsTs) {
    // TF rejects xs that ys never reach: ask only for the connected ones.
    const reachable = graph.ancestorOps(yList);
    const connected = xList.map((x) => reachable.has(x.op.name));
    const ask = xList.filter((_, i) => connected[i]);
    let got: Array<Output | null> = [];
    try {
      if (ask.length > 0) got = graph.nativeGradients(prefix, yList, ask, dys ?? null);
    } catch (e) {
      throw noGradientError(e, between);
    }
    let k = 0;
    grads = xList.map((_, i) => (connected[i] ? got[k++] : null));
  } else {
    grads = graph.withNameScope(prefix + '/', () => backprop(graph, prefix, order, yList, xList, dys ?? null, owners));
  }
  const mode = options.unconnected ?? 'error';
  const missing = xList.filter((_, i) => grads[i] === null);
  if (missing.length > 0 && mode === 'error') {
    throw new TfhubError(
      'ERR_UNCONNECTED_GRADIENT',
      `no gradient: ${yList.map((y) => y.name).join(', ')} do(es) not depend on ${missing.map((x) => x.name).join(', ')} (pass {unconnected: 'zero'} for zeros)`,
    );
  }
  return grads.map((g, i) => {
    if (g) return g;
    if (mode === 'null') return null as unknown as Output;
    const x = xList[i];
    if (x.dtype === 'resource') {
      throw new TfhubError(
        'ERR_UNCONNECTED_GRADIENT',
        `cannot make zeros for unconnected variable handle ${x.name}; use {unconnected: 'null'}`,
      );
    }
    return graph.withNameScope(prefix + '/', () => ops.zerosLike(graph, x));
  });
}

/** TF's "No gradient defined for op: T" as ERR_NO_GRADIENT naming the operation(s) of type T (other errors as they are). */
function noGradientError(e: unknown, between: Operation[]): unknown {
  const m = /No gradient defined for op: ([A-Za-z0-9_]+)/.exec((e as Error)?.message ?? '');
  if (!m) return e;
  const names = between.filter((op) => op.type === m[1]).map((op) => `'${op.name}'`);
  const which = names.length > 0 ? ` op${names.length > 1 ? 's' : ''} ${names.join(', ')}` : '';
  return new TfhubError('ERR_NO_GRADIENT', `no gradient for ${m[1]}${which}; register one with registerGradient('${m[1]}', fn)`, {
    cause: e,
  });
}

function backprop(
  graph: Graph,
  prefix: string,
  order: Array<Operation | GradientRegion>,
  ys: Output[],
  xs: Output[],
  dys: Output[] | null,
  owners: GradientOwners | null,
): Array<Output | null> {
  const pending = new Map<string, Output[]>();
  const push = (name: string, g: Output) => {
    const list = pending.get(name);
    if (list) list.push(g);
    else pending.set(name, [g]);
  };
  ys.forEach((y, i) => push(y.name, dys ? dys[i] : ops.onesLike(graph, y)));
  const inSet = new Set(order.flatMap((op) => (op instanceof Operation ? [op.name] : [...op.opNames])));
  const position = new Map(
    order.flatMap((op, k) => (op instanceof Operation ? [[op.name, k]] : [...op.opNames].map((n) => [n, k]))) as Array<[string, number]>,
  );
  const xNames = new Set(xs.map((x) => x.name));
  for (let k = order.length - 1; k >= 0; k--) {
    const op = order[k];
    const outGrads = op.outputs.map((o) => {
      const parts = pending.get(o.name);
      if (!parts) return null;
      const total = sum(graph, parts);
      pending.set(o.name, [total!]);
      return total;
    });
    if (outGrads.every((g) => g === null)) continue;
    const inputs = op.inputs;
    const wanted = inputs.map((input) => inSet.has(input.op.name) && differentiable(input.dtype));
    if (!wanted.some(Boolean)) continue;
    // An x that is itself produced by a wanted path still passes gradients further up; only stop at graph
    // sources, which have no inputs.
    let inGrads: Array<Output | null>;
    const fn: GradientFunction | undefined = op instanceof Operation ? registry.get(op.type) : (g, _op, og) => op.gradient(g, og);
    if (fn || !(op instanceof Operation)) {
      // Recording the ops the function builds (a device function sees each of them) when colocating.
      const record = (o: { name: string; device: string }) => {
        owners!.byName.set(o.name, op.name);
        return o.device;
      };
      const build = () => fn!(graph, op as Operation, outGrads);
      inGrads = owners ? graph.withDevice(record, build) : build();
      if (inGrads.length !== inputs.length) {
        throw new TfhubError(
          'ERR_GRADIENT_FUNCTION',
          `gradient of ${op.type} returned ${inGrads.length} gradients for ${inputs.length} inputs`,
        );
      }
    } else {
      // One TF_AddGradients call for this op alone: its outputs as ys, their gradients as dys, its distinct
      // wanted inputs as xs (an input used twice must be asked once, or its gradient would count twice).
      const ysOp: Output[] = [];
      const dysOp: Output[] = [];
      outGrads.forEach((g, i) => {
        if (g) {
          ysOp.push(op.output(i));
          dysOp.push(g);
        }
      });
      const unique = new Map<string, Output>();
      inputs.forEach((input, i) => {
        if (wanted[i] && !unique.has(input.name)) unique.set(input.name, input);
      });
      const xsOp = [...unique.values()];
      let got: Array<Output | null>;
      try {
        const opPrefix = graph.uniqueName(`${op.name.replace(/\//g, '_')}_grad`);
        owners?.byPrefix.push([opPrefix, op.name]);
        // Inputs that depend on each other: TF would also follow the paths between them (local_gradient.ts).
        got = inputsDependOnEachOther(op, xsOp, inSet, position)
          ? isolatedNativeGradients(graph, opPrefix, op, ysOp, xsOp, dysOp)
          : graph.nativeGradients(opPrefix, ysOp, xsOp, dysOp);
      } catch (e) {
        throw new TfhubError(
          'ERR_NO_GRADIENT',
          `no gradient for ${op.type} op '${op.name}' (TF: ${(e as Error).message.split('\n')[0]}); register one with registerGradient('${op.type}', fn)`,
          { cause: e },
        );
      }
      const byName = new Map(xsOp.map((x, i) => [x.name, got[i]]));
      const done = new Set<string>();
      inGrads = inputs.map((input, i) => {
        if (!wanted[i] || done.has(input.name)) return null;
        done.add(input.name);
        return byName.get(input.name) ?? null;
      });
    }
    inputs.forEach((input, i) => {
      const g = inGrads[i];
      if (g && wanted[i]) push(input.name, g);
    });
  }
  void xNames;
  return xs.map((x) => {
    const parts = pending.get(x.name);
    return parts ? sum(graph, parts) : null;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Gradients TF's C++ registry does not have.

/** First dimension of `x` as an int32 scalar. */
function dim0(graph: Graph, x: Output): Output {
  return ops.element(graph, ops.shape(graph, x, 'int32'), 0);
}

registerGradient('SparseSoftmaxCrossEntropyWithLogits', (g, op, [dLoss]) => {
  if (!dLoss) return [null, null];
  // d loss / d logits = softmax - onehot(labels) = the op's second output (backprop), scaled per example.
  return [ops.mul(g, ops.expandDims(g, dLoss, -1), op.output(1)), null];
});

function sparseSegmentGrad(kind: 'Sum' | 'Mean' | 'SqrtN'): GradientFunction {
  return (g, op, [grad]) => {
    const n = op.numInputs;
    if (!grad) return new Array(n).fill(null);
    const [data, indices, segmentIds] = op.inputs;
    const rows = dim0(g, data);
    let dData: Output;
    const gradOp = `SparseSegment${kind}Grad`;
    if (kind !== 'Sum' || isRegisteredOp(gradOp)) {
      dData = ops.op0(g, gradOp, [grad, indices, segmentIds, rows]);
    } else {
      dData = ops.op0(g, 'UnsortedSegmentSum', [ops.gather(g, grad, segmentIds), indices, rows]);
    }
    // SparseSegment*Grad ops may return a static shape TF cannot infer; the value has data's shape.
    return [dData, ...new Array(n - 1).fill(null)];
  };
}
for (const kind of ['Sum', 'Mean', 'SqrtN'] as const) {
  registerGradient(`SparseSegment${kind}`, sparseSegmentGrad(kind));
  registerGradient(`SparseSegment${kind}WithNumSegments`, sparseSegmentGrad(kind));
}

registerGradient('ResourceGather', (g, op, [grad]) => {
  if (!grad) return [null, null];
  const batchDims = op.getAttr('batch_dims') as number | undefined;
  if (batchDims) throw new TfhubError('ERR_NO_GRADIENT', `ResourceGather with batch_dims=${batchDims} has no gradient here`);
  const [resource, indices] = op.inputs;
  // Dense gradient of the variable: rows of `grad` summed into the gathered rows.
  const paramsShape = ops.op0(g, 'VariableShape', [resource], { out_type: 'int32' });
  const rows = ops.element(g, paramsShape, 0);
  const inner = ops.op0(g, 'Slice', [paramsShape, ops.constant(g, [1], 'int32'), ops.constant(g, [-1], 'int32')]);
  const values = ops.reshape(g, grad, ops.concat(g, [ops.constant(g, [-1], 'int32'), inner]));
  const flatIndices = ops.reshape(g, indices, ops.constant(g, [-1], 'int32'));
  return [ops.op0(g, 'UnsortedSegmentSum', [values, flatIndices, rows]), null];
});

registerGradient('TopKV2', (g, op, [dValues]) => {
  if (!dValues) return [null, null];
  const [input] = op.inputs;
  const indices = op.output(1);
  const inShape = ops.shape(g, input, 'int32');
  const indShape = ops.shape(g, indices, 'int32');
  const lastDim = (s: Output) => ops.gather(g, s, ops.sub(g, ops.op0(g, 'Size', [s], { out_type: 'int32' }), ops.constant(g, 1, 'int32')));
  const indLast = lastDim(indShape);
  const ind2d = ops.reshape(g, indices, ops.op0(g, 'Pack', [[ops.constant(g, -1, 'int32'), indLast]], { axis: 0 }));
  const inLast = lastDim(inShape);
  const outer = dim0(g, ind2d);
  const offsets = ops.op0(g, 'Range', [ops.constant(g, 0, 'int32'), ops.mul(g, outer, inLast), inLast]);
  const flat = ops.reshape(g, ops.add(g, ind2d, ops.expandDims(g, offsets, -1)), ops.constant(g, [-1], 'int32'));
  const total = ops.op0(g, 'Prod', [inShape, ops.constant(g, 0, 'int32')], { keep_dims: true });
  const scattered = ops.op0(g, 'ScatterNd', [ops.expandDims(g, flat, -1), ops.reshape(g, dValues, ops.constant(g, [-1], 'int32')), total]);
  return [ops.reshape(g, scattered, inShape), null];
});

// Functional control flow (While, If, Case, calls): train/control_flow.
for (const [type, fn] of CONTROL_FLOW_GRADIENTS) registerGradient(type, fn);

// TF1 (v1) control flow (Switch/Merge, while frames as regions): train/control_flow_v1.
for (const [type, fn] of V1_CONTROL_FLOW_GRADIENTS) registerGradient(type, fn);
registerGradientRegions(v1LoopRegions);

// Graph.addGradients delegates here: the graph layer does not import train/ (no import cycle).
setSymbolicGradients(addSymbolicGradients);
