/**
 * The gradient of a TF1 (v1) while loop, as one region from the tensors entering its frame to its Exits.
 *
 * Forward: a counter loop variable is added to the loop's own frame, and each iteration pushes the loop
 * variables it starts from, and the outputs of its TensorArray ops the gradient reads, onto stacks (StackPushV2,
 * ordered by the counter). Backward: a v1 loop of as many iterations pops them in reverse, recomputes the rest of
 * the body from them and applies the body's gradient (see body_vjp.ts), carrying the gradients of the loop
 * variables and summing those of the loop invariants (captured tensors and variables; a TensorArray's flow counts
 * as a float). The numbers are Python's: the same per-op gradients applied in the same order.
 */
import { DType, isFloating } from '../../dtypes';
import { Graph, Output } from '../../graph';
import * as ops from '../ops';
import type { GradientRegion } from '../gradients';
import { BodyVjp, PLACEHOLDER, bodyVjp } from './body_vjp';
import { V1Loop } from './frame';
import { NodeDef, enter, importNodes, loopVariable, node, parseInput, scalarConst, typeAttr } from './node_defs';

/** The region of `loop` for `backprop`: inputs = loop-variable inits then invariants; outputs = Exits. */
export function loopRegion(loop: V1Loop): GradientRegion {
  const withExit = loop.variables.filter((v) => v.exit !== null);
  return {
    name: loop.loopCond.name,
    type: 'TF1WhileLoop',
    inputs: [...loop.variables.map((v) => v.init), ...loop.invariants.map((inv) => inv.outer)],
    outputs: withExit.map((v) => v.exit!.output(0)),
    opNames: loop.ops,
    gradient: (graph, outGrads) => {
      const byVariable = loop.variables.map((v) => {
        const k = withExit.indexOf(v);
        return k >= 0 ? outGrads[k] : null;
      });
      return whileGradient(graph, loop, byVariable);
    },
  };
}

/** A control input standing for the op of the first loop variable's init (same frame and liveness as the loop). */
const CONTROL_INIT = 'cfv1__init';

function whileGradient(graph: Graph, loop: V1Loop, exitGrads: Array<Output | null>): Array<Output | null> {
  const none = new Array<Output | null>(loop.variables.length + loop.invariants.length).fill(null);
  // The variables gradients flow through: those with an Exit gradient, then those their next values read (as
  // Python, a variable no gradient reaches gets none, not zeros).
  let diff = loop.variables.map((v, i) => (isFloating(v.dtype) && exitGrads[i] !== null ? i : -1)).filter((i) => i >= 0);
  if (diff.length === 0) return none;
  let vjp = bodyVjp(graph, loop, diff);
  for (;;) {
    const more = [...vjp.variableGrads.keys()].filter((i) => !diff.includes(i));
    if (more.length === 0) break;
    diff = [...diff, ...more].sort((a, b) => a - b);
    vjp = bodyVjp(graph, loop, diff);
  }
  const S = graph.uniqueName('while_grad');
  const external = new Map<string, Output>();
  const ext = (key: string, o: Output) => {
    external.set(key, o);
    return `${key}:0`;
  };
  const nodes: NodeDef[] = [];
  const pushed = [...vjp.usedVariables].sort((a, b) => a - b);
  const pushes: Push[] = [
    ...pushed.map((i) => ({ id: `${i}`, dtype: loop.variables[i].dtype, value: loop.variables[i].value })),
    ...vjp.stacked.map((value, k) => ({ id: `t${k}`, dtype: value.dtype, value })),
  ];
  nodes.push(...forwardAugmentation(loop, S, pushes));

  // The backward loop (frame S, one iteration at a time so that the pops run in order).
  const B = S;
  const pred = `${S}/cond`;
  const pivot = `${S}/k_body`;
  nodes.push(...loopVariable(`${S}/k`, `${S}/fwd/count_exit`, 'int32', B, 1, pred, `${S}/k_sub`));
  nodes.push(scalarConst(`${S}/k_zero`, 'int32', 0, [`${S}/k_merge`]));
  nodes.push(node(`${S}/k_gt`, 'Greater', [`${S}/k_merge`, `${S}/k_zero`], { T: typeAttr('int32') }));
  nodes.push(node(pred, 'LoopCond', [`${S}/k_gt`]));
  nodes.push(scalarConst(`${S}/k_one`, 'int32', 1, [pivot]));
  nodes.push(node(`${S}/k_sub`, 'Sub', [pivot, `${S}/k_one`], { T: typeAttr('int32') }));
  for (const { id, dtype } of pushes) {
    nodes.push(enter(`${S}/pop${id}_enter`, `${S}/fwd/stack${id}`, 'resource', B, true, 1));
    nodes.push(node(`${S}/pop${id}`, 'StackPopV2', [`${S}/pop${id}_enter`, `^${pivot}`], { elem_type: typeAttr(dtype) }));
  }
  for (const j of vjp.usedInvariants) {
    const inv = loop.invariants[j];
    nodes.push(enter(`${S}/inv${j}`, ext(`cfv1_ext_u${j}`, inv.outer), inv.dtype, B, true, 1));
  }
  const rename = renamer(S);
  for (const i of diff) {
    const v = loop.variables[i];
    const dy = exitGrads[i] ?? ops.zerosLike(graph, v.exit ? v.exit.output(0) : v.init);
    const grad = vjp.variableGrads.get(i);
    const next = grad ? rename(grad) : `${S}/d${i}_zeros`;
    if (!grad) nodes.push(node(`${S}/d${i}_zeros`, 'ZerosLike', [`${S}/d${i}_body`], { T: typeAttr(v.dtype) }));
    nodes.push(...loopVariable(`${S}/d${i}`, ext(`cfv1_ext_dy${i}`, dy), v.dtype, B, 1, pred, next));
  }
  for (const [j, { name, dtype }] of vjp.invariantGrads) {
    const inv = loop.invariants[j];
    const zeros =
      inv.dtype === 'resource'
        ? ops.zerosLike(graph, ops.op0(graph, 'ReadVariableOp', [inv.outer], { dtype }))
        : ops.zerosLike(graph, inv.outer);
    nodes.push(...loopVariable(`${S}/a${j}`, ext(`cfv1_ext_acc${j}`, zeros), dtype, B, 1, pred, `${S}/a${j}_add`));
    nodes.push(node(`${S}/a${j}_add`, 'AddV2', [`${S}/a${j}_body`, rename(name)], { T: typeAttr(dtype) }));
  }
  nodes.push(...fragment(vjp, S, rename));

  ext('cfv1_ext_cond', loop.loopCond.output(0));
  for (const { id, value } of pushes) ext(`cfv1_ext_s${id}`, value);
  const returns = [...diff.map((i) => `${S}/d${i}_exit:0`), ...[...vjp.invariantGrads.keys()].map((j) => `${S}/a${j}_exit:0`)];
  const controls = new Map([[CONTROL_INIT, loop.variables[0].init.op]]);
  const got = importNodes(graph, nodes, external, returns, vjp.library, controls);
  const result = [...none];
  diff.forEach((i, k) => {
    result[i] = got[k];
  });
  [...vjp.invariantGrads.keys()].forEach((j, k) => {
    result[loop.variables.length + j] = got[diff.length + k];
  });
  return result;
}

/** A tensor of the forward loop pushed in every iteration: stack `<S>/fwd/stack<id>`, popped as `<S>/pop<id>`. */
interface Push {
  id: string;
  dtype: DType;
  value: Output;
}

/**
 * Nodes added to the forward loop's frame: a counter (`<S>/fwd/count_exit` = the number of iterations) and, per
 * push, a stack `<S>/fwd/stack<id>` receiving its value in each iteration (read as `cfv1_ext_s<id>`).
 */
function forwardAugmentation(loop: V1Loop, S: string, pushes: Push[]): NodeDef[] {
  const F = loop.frameName;
  const P = loop.parallelIterations;
  const f = `${S}/fwd`;
  const nodes: NodeDef[] = [scalarConst(`${f}/zero`, 'int32', 0, [CONTROL_INIT])];
  nodes.push(...loopVariable(`${f}/count`, `${f}/zero`, 'int32', F, P, 'cfv1_ext_cond:0', `${f}/count_add`));
  for (const { id, dtype } of pushes) {
    nodes.push(scalarConst(`${f}/stack${id}_size`, 'int32', -1));
    nodes.push(
      node(`${f}/stack${id}`, 'StackV2', [`${f}/stack${id}_size`], {
        elem_type: typeAttr(dtype),
        stack_name: { s: Buffer.from(`${f}/stack${id}`) },
      }),
    );
    nodes.push(enter(`${f}/stack${id}_enter`, `${f}/stack${id}`, 'resource', F, true, P));
    nodes.push(
      node(`${f}/push${id}`, 'StackPushV2', [`${f}/stack${id}_enter`, `cfv1_ext_s${id}:0`, `^${f}/count_body`], {
        T: typeAttr(dtype),
        swap_memory: { b: false },
      }),
    );
  }
  nodes.push(scalarConst(`${f}/one`, 'int32', 1, [`${f}/count_body`]));
  nodes.push(
    node(`${f}/count_add`, 'AddV2', [`${f}/count_body`, `${f}/one`, ...pushes.map(({ id }) => `^${f}/push${id}`)], {
      T: typeAttr('int32'),
    }),
  );
  return nodes;
}

/** Scratch tensor names → names in the imported backward loop. */
function renamer(S: string): (ref: string) => string {
  return (ref) => {
    const [name, index] = parseInput(ref);
    const m = PLACEHOLDER.exec(name);
    const target = !m
      ? `${S}/body/${name}`
      : { s: `${S}/pop${m[2]}`, t: `${S}/popt${m[2]}`, v: `${S}/inv${m[2]}`, d: `${S}/d${m[2]}_body` }[m[1]]!;
    return index === -1 ? `^${target}` : `${target}:${index}`;
  };
}

/** The scratch nodes renamed into the backward frame: nested frames renamed, source nodes tied to the pivot. */
function fragment(vjp: BodyVjp, S: string, rename: (ref: string) => string): NodeDef[] {
  return vjp.nodes.map((n) => {
    const input = (n.input ?? []).map(rename);
    if (input.length === 0) input.push(`^${S}/k_body`);
    const attr = { ...n.attr };
    if ((n.op === 'Enter' || n.op === 'RefEnter') && attr.frame_name) {
      attr.frame_name = { s: Buffer.from(`${S}/${Buffer.from(attr.frame_name.s ?? []).toString()}`) };
    }
    return { ...n, name: `${S}/body/${n.name}`, input, attr };
  });
}
