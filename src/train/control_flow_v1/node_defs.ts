/**
 * NodeDefs written by hand and imported in one piece: TF1 loop frames have cycles (Merge ← NextIteration), which
 * `Graph.addOperation` cannot build but `Graph.importGraphDef` can.
 */
import { DType, tfDataType } from '../../dtypes';
import { Graph, Operation, Output } from '../../graph';
import { tensorflow } from '../../proto';

/** A NodeDef under construction. */
export type NodeDef = tensorflow.INodeDef;

/** A `type` attr. */
export function typeAttr(dtype: DType): tensorflow.IAttrValue {
  return { type: tfDataType(dtype) };
}

/** A NodeDef of `op` named `name` with `inputs` (`"node:i"`, `"^node"`) and attrs. */
export function node(name: string, op: string, inputs: string[], attr: Record<string, tensorflow.IAttrValue> = {}): NodeDef {
  return { name, op, input: inputs, attr };
}

/** A scalar Const NodeDef (int32 or a float type). */
export function scalarConst(name: string, dtype: DType, value: number, controls: string[] = []): NodeDef {
  const tensor: tensorflow.ITensorProto = { dtype: tfDataType(dtype), tensorShape: {} };
  if (dtype === 'int32') tensor.intVal = [value];
  else if (dtype === 'float32') tensor.floatVal = [value];
  else if (dtype === 'float64') tensor.doubleVal = [value];
  else throw new Error(`scalarConst: unsupported dtype ${dtype}`);
  return node(
    name,
    'Const',
    controls.map((c) => `^${c}`),
    { dtype: typeAttr(dtype), value: { tensor } },
  );
}

/** An `Enter` into frame `frame`. */
export function enter(name: string, input: string, dtype: DType, frame: string, isConstant: boolean, parallelIterations: number): NodeDef {
  return node(name, 'Enter', [input], {
    T: typeAttr(dtype),
    frame_name: { s: Buffer.from(frame) },
    is_constant: { b: isConstant },
    parallel_iterations: { i: parallelIterations },
  });
}

/**
 * The nodes of one loop variable: `<base>_enter` → `<base>_merge` (with `<base>_next`) → `<base>_switch` on `pred`
 * → `<base>_exit` and `<base>_body` (the value inside an iteration). `next` is the value of the next iteration.
 */
export function loopVariable(
  base: string,
  init: string,
  dtype: DType,
  frame: string,
  parallelIterations: number,
  pred: string,
  next: string,
): NodeDef[] {
  const T = { T: typeAttr(dtype) };
  return [
    enter(`${base}_enter`, init, dtype, frame, false, parallelIterations),
    node(`${base}_merge`, 'Merge', [`${base}_enter`, `${base}_next`], { ...T, N: { i: 2 } }),
    node(`${base}_switch`, 'Switch', [`${base}_merge`, pred], T),
    node(`${base}_exit`, 'Exit', [`${base}_switch`], T),
    node(`${base}_body`, 'Identity', [`${base}_switch:1`], T),
    node(`${base}_next`, 'NextIteration', [next], T),
  ];
}

let versions: tensorflow.IVersionDef | undefined;

/**
 * Imports `nodes` (and `library`) into `graph`. `external` maps the placeholder names the nodes use for tensors
 * already in the graph; returns the outputs named in `outputs`. `controls` maps
 * the names control inputs (`^name`) use for operations already in the graph.
 */
export function importNodes(
  graph: Graph,
  nodes: NodeDef[],
  external: Map<string, Output>,
  outputs: string[],
  library?: tensorflow.IFunctionDefLibrary,
  controls: Map<string, Operation> = new Map(),
): Output[] {
  if (!versions) {
    const empty = new Graph();
    try {
      versions = tensorflow.GraphDef.decode(empty.toGraphDef()).versions ?? undefined;
    } finally {
      empty.dispose();
    }
  }
  const bytes = tensorflow.GraphDef.encode({ node: nodes, versions, library }).finish();
  return graph.importGraphDef(bytes, { inputMap: external, returnOutputs: outputs, controlRemap: Object.fromEntries(controls) }).outputs;
}

/** `"name:i"` / `"name"` / `"^name"` split into the node name, the output index (-1 for a control input). */
export function parseInput(input: string): [string, number] {
  if (input.startsWith('^')) return [input.slice(1), -1];
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? [m[1], Number(m[2])] : [input, 0];
}
