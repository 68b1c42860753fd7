/**
 * The C++ gradient of one operation, for `backprop` in train/gradients (one `TF_AddGradients` call with the op's
 * outputs as ys, their gradients as dys and its distinct wanted inputs as xs).
 *
 * TensorFlow's gradient builder works on nodes: it backpropagates through every node that lies on a path from the
 * producer of an x to a y. When the producer of one input also reaches the op through another input (`f(a, g(a))`,
 * or a `While` whose output 1 is used directly and output 2 through a `TensorListStack`), TF would differentiate
 * that other path too: the gradients of the op's inputs would already contain the path's part (and backprop adds it
 * again), or TF fails on an op it has no gradient for. Such an op is isolated first: a copy of it whose wanted
 * inputs go through fresh `Identity` ops is differentiated instead, with the Identities as xs; TF then sees the op
 * alone. The copy computes what the op computes (it only runs when its gradient reads its outputs).
 */
import { TfhubError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import { importNodes } from './control_flow_v1/node_defs';
import { GradientOwners } from './gradient_placement';

/**
 * Whether TF's builder, started at the producers of `op`'s wanted inputs, reaches `op` by another path than those
 * inputs: some producer of a wanted input is an ancestor of a producer of an input. `position` is the topological
 * position of the operations between xs and ys (the only ones such a path can cross).
 */
export function needsIsolation(op: Operation, wanted: boolean[], position: Map<string, number>): boolean {
  const producers = new Set(op.inputs.filter((_, i) => wanted[i]).map((x) => x.op.name));
  if (producers.size === 0) return false;
  let lowest = Infinity;
  for (const p of producers) lowest = Math.min(lowest, position.get(p) ?? Infinity);
  if (lowest === Infinity) return false;
  // Walk back from the op's input producers, through operations no earlier than the earliest wanted producer.
  const seen = new Set<string>();
  const stack = op.inputs.map((x) => x.op);
  while (stack.length > 0) {
    const n = stack.pop()!;
    for (const input of n.inputs) {
      const p = input.op;
      if (producers.has(p.name)) return true;
      const at = position.get(p.name);
      if (at === undefined || at < lowest || seen.has(p.name)) continue;
      seen.add(p.name);
      stack.push(p);
    }
  }
  return false;
}

/** A copy of `op` whose wanted inputs go through fresh Identity ops, named under `prefix`; returns it and them. */
function isolatedCopy(graph: Graph, op: Operation, wanted: boolean[], prefix: string): { copy: Operation; inputs: Output[] } {
  const inputs = op.inputs.map((x, i) =>
    wanted[i] ? graph.addOperation('Identity', { name: graph.uniqueName(`${prefix}/input`), inputs: [x] }).output(0) : x,
  );
  const def = op.nodeDef();
  const attr = Object.fromEntries(Object.entries(def.attr ?? {}).filter(([k]) => k !== '_class' && k !== '_output_shapes'));
  const name = graph.uniqueName(`${prefix}/op`);
  const external = new Map(inputs.map((x, i) => [`tfhub_input_${i}`, x] as [string, Output]));
  importNodes(graph, [{ name, op: def.op, input: inputs.map((_, i) => `tfhub_input_${i}`), attr, device: def.device }], external, []);
  return { copy: graph.operation(name)!, inputs };
}

/**
 * The gradients of `op`'s inputs from TensorFlow's C++ registry, given its output gradients (null where none flows):
 * one per input, null for inputs not `wanted` and for repeats of an input (its gradient is counted once).
 * `isolate` differentiates an isolated copy (see above). TF's failure is ERR_NO_GRADIENT naming the op.
 */
export function nativeOpGradient(
  graph: Graph,
  op: Operation,
  outGrads: Array<Output | null>,
  wanted: boolean[],
  isolate: boolean,
  owners: GradientOwners | null,
): Array<Output | null> {
  const opPrefix = graph.uniqueName(`${op.name.replace(/\//g, '_')}_grad`);
  owners?.byPrefix.push([opPrefix, op.name]);
  let target = op;
  let inputs = op.inputs;
  try {
    if (isolate) ({ copy: target, inputs } = isolatedCopy(graph, op, wanted, opPrefix));
    const ysOp: Output[] = [];
    const dysOp: Output[] = [];
    outGrads.forEach((g, i) => {
      if (g) {
        ysOp.push(target.output(i));
        dysOp.push(g);
      }
    });
    // The distinct wanted inputs (an input used twice must be asked once, or its gradient would count twice).
    const unique = new Map<string, number>();
    inputs.forEach((input, i) => {
      if (wanted[i] && !unique.has(input.name)) unique.set(input.name, i);
    });
    const xsOp = [...unique.values()].map((i) => inputs[i]);
    const got = graph.nativeGradients(isolate ? graph.uniqueName(`${opPrefix}/grad`) : opPrefix, ysOp, xsOp, dysOp);
    const result: Array<Output | null> = op.inputs.map(() => null);
    [...unique.values()].forEach((i, k) => {
      result[i] = got[k];
    });
    return result;
  } catch (e) {
    if (e instanceof TfhubError) throw e;
    throw new TfhubError(
      'ERR_NO_GRADIENT',
      `no gradient for ${op.type} op '${op.name}' (TF: ${(e as Error).message.split('\n')[0]}); register one with registerGradient('${op.type}', fn)`,
      { cause: e },
    );
  }
}
