/**
 * The structure of a TF1 (v1) while loop found from its operations alone (imported graphs carry no WhileContext):
 * its loop variables (Enter → Merge ← NextIteration, Switch on the LoopCond, Exit), its loop invariants (constant
 * Enters) and every operation of its frame, nested frames included.
 */
import { DType } from '../../dtypes';
import { Operation, Output } from '../../graph';

/** One loop variable of a v1 while loop. */
export interface LoopVariable {
  /** The tensor entering the frame (the Enter's input). */
  readonly init: Output;
  readonly enter: Operation;
  readonly merge: Operation;
  readonly switch: Operation;
  /** The Exit of this variable, if the loop has one. */
  readonly exit: Operation | null;
  /** The value inside an iteration (the Switch's true output). */
  readonly value: Output;
  /** The value of the next iteration (the NextIteration's input). */
  readonly next: Output;
  readonly dtype: DType;
}

/** A loop invariant: a constant Enter of a tensor from outside the loop. */
export interface LoopInvariant {
  readonly outer: Output;
  readonly enter: Operation;
  readonly dtype: DType;
}

/** A v1 while loop. */
export interface V1Loop {
  readonly loopCond: Operation;
  readonly frameName: string;
  readonly parallelIterations: number;
  readonly variables: LoopVariable[];
  readonly invariants: LoopInvariant[];
  /** Every operation of the frame (nested frames included). */
  readonly ops: Set<string>;
}

export const ENTER = new Set(['Enter', 'RefEnter']);
export const EXIT = new Set(['Exit', 'RefExit']);
export const SWITCH = new Set(['Switch', 'RefSwitch']);
export const MERGE = new Set(['Merge', 'RefMerge']);
const NEXT = new Set(['NextIteration', 'RefNextIteration']);

/** The LoopCond a Switch is driven by, or null (a cond's Switch). */
export function loopCondOf(sw: Operation): Operation | null {
  if (!SWITCH.has(sw.type)) return null;
  const pred = sw.inputs[1].op;
  return pred.type === 'LoopCond' ? pred : null;
}

/** Whether a Merge joins a loop variable (its second input is a NextIteration). */
export function isLoopMerge(op: Operation): boolean {
  return MERGE.has(op.type) && op.inputs.some((x) => NEXT.has(x.op.type));
}

function attrString(op: Operation, name: string): string {
  const v = op.getAttr(name);
  return typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString();
}

/** The loop of `loopCond`, read from the graph. */
export function analyzeLoop(loopCond: Operation): V1Loop {
  const switches = loopCond
    .output(0)
    .consumers()
    .map((c) => c.op)
    .filter((op) => SWITCH.has(op.type) && op.inputs[1].op === loopCond);
  const variables: LoopVariable[] = [];
  for (const sw of switches) {
    const merge = sw.inputs[0].op;
    if (!isLoopMerge(merge)) throw new Error(`loop switch ${sw.name} is not fed by a loop Merge`);
    const enterIn = merge.inputs.find((x) => ENTER.has(x.op.type));
    const nextIn = merge.inputs.find((x) => NEXT.has(x.op.type));
    if (!enterIn || !nextIn) throw new Error(`loop merge ${merge.name} lacks an Enter or a NextIteration`);
    const exit =
      sw
        .output(0)
        .consumers()
        .map((c) => c.op)
        .find((op) => EXIT.has(op.type)) ?? null;
    variables.push({
      init: enterIn.op.inputs[0],
      enter: enterIn.op,
      merge,
      switch: sw,
      exit,
      value: sw.output(1),
      next: nextIn.op.inputs[0],
      dtype: sw.output(1).dtype,
    });
  }
  if (variables.length === 0) throw new Error(`LoopCond ${loopCond.name} drives no Switch`);
  const frameName = attrString(variables[0].enter, 'frame_name');
  const parallelIterations = Number(variables[0].enter.getAttr('parallel_iterations') ?? 10);
  // The frame: everything connected to the Merges through data and control edges, without going past this
  // loop's Exits (forward) or its Enters (backward): nested frames are inside, the rest of the graph is not.
  const ops = new Set<string>();
  const loopEnters = new Set(variables.map((v) => v.enter.name));
  const invariants: LoopInvariant[] = [];
  const stack: Operation[] = variables.map((v) => v.merge);
  while (stack.length > 0) {
    const op = stack.pop()!;
    if (ops.has(op.name)) continue;
    ops.add(op.name);
    const ownEnter = ENTER.has(op.type) && attrString(op, 'frame_name') === frameName;
    if (ownEnter && !loopEnters.has(op.name)) invariants.push({ outer: op.inputs[0], enter: op, dtype: op.output(0).dtype });
    if (!ownEnter) {
      for (const input of op.inputs) stack.push(input.op);
      for (const c of op.controlInputs) stack.push(c);
    }
    const ownExit = EXIT.has(op.type) && op.inputs[0].op.inputs[1]?.op.name === loopCond.name;
    if (!ownExit) {
      for (const out of op.outputs) for (const { op: c } of out.consumers()) stack.push(c);
      for (const c of op.controlOutputs) stack.push(c);
    }
  }
  return { loopCond, frameName, parallelIterations, variables, invariants, ops };
}

/** The outermost v1 loops with an Exit among `ops`. */
export function outermostLoops(ops: Operation[]): V1Loop[] {
  const loops: V1Loop[] = [];
  const done = new Set<string>();
  for (const op of ops) {
    if (!EXIT.has(op.type)) continue;
    const loopCond = loopCondOf(op.inputs[0].op);
    if (!loopCond || done.has(loopCond.name)) continue;
    done.add(loopCond.name);
    loops.push(analyzeLoop(loopCond));
  }
  return loops.filter((l) => !loops.some((other) => other !== l && other.ops.has(l.loopCond.name)));
}
