/**
 * The gradient of one op alone from TF's C++ registry, when its inputs depend on each other.
 *
 * `backprop` asks `TF_AddGradients` for one op at a time: the op's outputs as ys, its inputs as xs. TF's builder
 * differentiates every path from xs to ys, so when one input is an ancestor of another (`x · tanh(x)`, a residual
 * `x + f(x)`, a GRU's `u · h` with `u` computed from `h`), the gradient it returns for the first input already
 * includes the path through the second, which `backprop` then follows again: that path would count twice. Such an op
 * is copied into a scratch graph whose placeholders stand for its inputs, differentiated there, and the gradient
 * imported back with the placeholders mapped to the real inputs (and the copy's outputs to the op's own outputs).
 */
import { Graph, Operation, Output } from '../graph';
import { tensorflow } from '../proto';
import { NodeDef, importNodes, node, typeAttr } from './control_flow_v1/node_defs';

/**
 * Whether some input of `op` in `inputs` is an ancestor of another one (through operations in `within`, whose
 * positions in a topological order are `position`: a path only goes from lower to higher positions). Only an input
 * whose op also feeds another operation of `within` can start such a path, which keeps the search to the few ops
 * that need it (residual connections, gates).
 */
export function inputsDependOnEachOther(
  op: Operation,
  inputs: Output[],
  within: ReadonlySet<string>,
  position: ReadonlyMap<string, number>,
): boolean {
  const producers = [...new Set(inputs.map((x) => x.op))];
  if (producers.length < 2) return false;
  const at = (o: Operation) => position.get(o.name) ?? -1;
  const branching = producers.filter((p) => p.outputs.some((o) => o.consumers().some((c) => c.op !== op && within.has(c.op.name))));
  for (const target of producers) {
    const sources = branching.filter((p) => p !== target && at(p) <= at(target));
    if (sources.length === 0) continue;
    const names = new Set(sources.map((p) => p.name));
    const floor = Math.min(...sources.map(at));
    const seen = new Set<string>();
    const stack = target.inputs.map((x) => x.op);
    while (stack.length > 0) {
      const o = stack.pop()!;
      if (seen.has(o.name) || !within.has(o.name) || at(o) < floor) continue;
      if (names.has(o.name)) return true;
      seen.add(o.name);
      for (const x of o.inputs) stack.push(x.op);
    }
  }
  return false;
}

const inName = (i: number) => `cfl__in${i}`;
const dyName = (k: number) => `cfl__dy${k}`;
const OP = 'cfl__op';

function placeholder(name: string, like: Output): NodeDef {
  const attr: Record<string, tensorflow.IAttrValue> = { dtype: typeAttr(like.dtype) };
  const shape = like.dtype === 'resource' ? null : like.shape;
  if (shape) attr.shape = { shape: { dim: shape.map((size) => ({ size })) } };
  return node(name, 'Placeholder', [], attr);
}

/**
 * TF's gradient of `op` alone: of its outputs `ys` (given their gradients `dys`) with respect to `xs` (distinct
 * inputs of `op`), with the gradient ops named under `prefix`. Null where TF finds none.
 */
export function isolatedNativeGradients(
  graph: Graph,
  prefix: string,
  op: Operation,
  ys: Output[],
  xs: Output[],
  dys: Output[],
): Array<Output | null> {
  const nd = op.nodeDef();
  const attr = { ...nd.attr };
  delete attr._class;
  const nodes: NodeDef[] = op.inputs.map((x, i) => placeholder(inName(i), x));
  nodes.push({ ...nd, name: OP, attr, input: op.inputs.map((_, i) => `${inName(i)}:0`) });
  ys.forEach((y, k) => nodes.push(placeholder(dyName(k), y)));
  const scratch = new Graph();
  try {
    scratch.copyFunctionsFrom(graph);
    importNodes(scratch, nodes, new Map(), []);
    const inputIndex = (x: Output) => op.inputs.findIndex((input) => input.name === x.name);
    const grads = scratch.nativeGradients(
      prefix,
      ys.map((y) => scratch.output(`${OP}:${y.index}`)),
      xs.map((x) => scratch.output(`${inName(inputIndex(x))}:0`)),
      ys.map((_, k) => scratch.output(`${dyName(k)}:0`)),
    );
    // Scratch names of the stand-ins → the tensors and operations they stand for.
    const external = new Map<string, Output>();
    const controls = new Map<string, Operation>([[OP, op]]);
    op.inputs.forEach((x, i) => {
      external.set(`${inName(i)}:0`, x);
      controls.set(inName(i), x.op);
    });
    op.outputs.forEach((y) => external.set(`${OP}:${y.index}`, y));
    ys.forEach((_, k) => {
      external.set(`${dyName(k)}:0`, dys[k]);
      controls.set(dyName(k), dys[k].op);
    });
    const def = tensorflow.GraphDef.decode(scratch.toGraphDef());
    const added = def.node.filter((n) => (n.name ?? '').startsWith(`${prefix}/`));
    const wanted = grads.filter((g): g is Output => g !== null && !external.has(g.name));
    const known = new Set(graph.functionDefs().map((f) => f.signature?.name ?? ''));
    const fresh = (def.library?.function ?? []).filter((f) => !known.has(f.signature?.name ?? ''));
    const library = fresh.length > 0 ? { function: fresh } : undefined;
    const imported =
      added.length > 0
        ? importNodes(
            graph,
            added,
            external,
            wanted.map((g) => g.name),
            library,
            controls,
          )
        : [];
    const byName = new Map(wanted.map((g, i) => [g.name, imported[i]]));
    return grads.map((g) => (g === null ? null : (external.get(g.name) ?? byName.get(g.name)!)));
  } finally {
    scratch.dispose();
  }
}
