/**
 * The `Optimizer` base of Python's `tf.compat.v1.train` optimizers (the concrete ones are in optimizers.ts) and the
 * global step.
 *
 * Each builds the same graph Python does: `computeGradients` is `Graph.addGradients` of the loss with respect to
 * the variables; `applyGradients` creates the slot variables (`<var>/Adam`, `<var>/Adam_1`, …, not trainable,
 * in the `variables` collection so that `graph.globalVariablesInitializer()` initializes them), then one raw
 * training kernel per variable (`ResourceApplyAdam` for resource variables, `ApplyAdam` for reference variables,
 * …) under `<name>/update_<var>/`, then the optimizer's bookkeeping (Adam's beta powers) and the optional
 * global-step increment.
 */
import { DType } from '../dtypes';
import { TfhubError, typeError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import { GraphKeys, Variable, variable } from '../variable';
import * as ops from './ops';

/** A hyperparameter: a number (made a constant) or a scalar Output (e.g. a placeholder or a decayed rate). */
export type Hyperparameter = number | Output;

/** One gradient and its variable; the gradient is null where the loss does not depend on the variable. */
export type GradAndVar = [Output | null, Variable];

/** Options of `computeGradients`. */
export interface ComputeGradientsOptions {
  /** Variables to differentiate; default: the graph's `trainable_variables` collection. */
  varList?: Variable[];
  /** The gradient of the loss itself (Python's `grad_loss`); default ones. */
  gradLoss?: Output;
  /** Place each op's gradient ops on that op's device (Python's `colocate_gradients_with_ops`, default false). */
  colocateGradientsWithOps?: boolean;
}

/** Options of `applyGradients`. */
export interface ApplyGradientsOptions {
  /** Incremented by one (AssignAddVariableOp / AssignAdd) after the updates: see `getOrCreateGlobalStep`. */
  globalStep?: Variable;
  /** Name of the returned op and scope of the update ops; default the optimizer's name (made unique). */
  name?: string;
  /**
   * Operations (or the ops of Outputs) every update must wait for, e.g. the graph's `update_ops` collection
   * (batch-norm moving averages): Python's `with tf.control_dependencies(update_ops): train_op = opt.minimize(loss)`.
   */
  controlInputs?: Array<Operation | Output>;
}

/** Options of `minimize`. */
export interface MinimizeOptions extends ComputeGradientsOptions, ApplyGradientsOptions {}

const TRAINABLE_DTYPES: DType[] = ['float16', 'bfloat16', 'float32', 'float64'];

/** A scalar constant of `dtype` (non-32/64-bit floats through a float32 Cast, as their storage is raw bits). */
/** @internal */
export function scalar(g: Graph, value: number, dtype: DType, name: string): Output {
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'int32' || dtype === 'int64') return ops.constant(g, value, dtype, name);
  return ops.cast(g, ops.constant(g, value, 'float32', name), dtype);
}

/** @internal A hyperparameter as a scalar Output. */
export function hyper(g: Graph, value: Hyperparameter, name: string): Output {
  if (value instanceof Output) {
    if (value.graph !== g) throw new TfhubError('ERR_GRAPH_MISMATCH', `hyperparameter ${value.name} belongs to another graph`);
    return value;
  }
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw typeError('ERR_INVALID_ARG_TYPE', `${name} must be a finite number or a scalar Output`);
  return ops.constant(g, value, 'float32', name);
}

/** @internal A TypeError unless `value` is a finite number (or an Output where allowed). */
export function checkNumber(value: unknown, name: string, allowOutput = true): void {
  if (allowOutput && value instanceof Output) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw typeError(
      'ERR_INVALID_ARG_TYPE',
      `${name} must be a finite number${allowOutput ? ' or a scalar Output' : ''}, got ${String(value)}`,
    );
  }
}

/** Per graph: slots by variable op name then slot name, and non-slot variables by name. */
interface OptimizerState {
  slots: Map<string, Map<string, Variable>>;
  nonSlots: Map<string, Variable>;
  created: Variable[];
}

/**
 * Base class of the optimizers (Python's `tf.compat.v1.train.Optimizer`). Subclasses create their slots and add
 * one training kernel per variable.
 */
export abstract class Optimizer {
  /** Default name of the apply op and prefix of the slot names (`Adam`, `Momentum`, …). */
  readonly name: string;
  /** Passed to the kernels' `use_locking`. */
  readonly useLocking: boolean;
  private readonly states = new WeakMap<Graph, OptimizerState>();
  /** Hyperparameter Outputs of the apply_gradients call being built. */
  protected tensors: Record<string, Output> = {};

  protected constructor(name: string, useLocking = false) {
    if (typeof name !== 'string' || name === '') throw typeError('ERR_INVALID_ARG_TYPE', 'optimizer name must be a non-empty string');
    this.name = name;
    this.useLocking = useLocking;
  }

  /**
   * Gradients of `loss` with respect to `varList` (default: the graph's trainable variables), as
   * `[gradient, variable]` pairs; the gradient is null for a variable the loss does not depend on.
   */
  computeGradients(loss: Output, options: ComputeGradientsOptions = {}): GradAndVar[] {
    if (!(loss instanceof Output)) throw typeError('ERR_INVALID_ARG_TYPE', 'computeGradients(loss): loss must be an Output');
    if (!TRAINABLE_DTYPES.includes(loss.dtype)) {
      throw typeError('ERR_INVALID_DTYPE', `loss ${loss.name} has dtype ${loss.dtype}; expected one of ${TRAINABLE_DTYPES.join(', ')}`);
    }
    const g = loss.graph;
    const varList = options.varList ?? g.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES);
    if (!Array.isArray(varList)) throw typeError('ERR_INVALID_ARG_TYPE', 'varList must be an array of Variables');
    if (varList.length === 0) throw new TfhubError('ERR_NO_VARIABLES', 'No variables to optimize.');
    for (const v of varList) {
      if (!(v instanceof Variable)) throw typeError('ERR_INVALID_ARG_TYPE', `varList must hold Variables, got ${String(v)}`);
      if (v.graph !== g) throw new TfhubError('ERR_GRAPH_MISMATCH', `variable ${v.name} belongs to another graph than the loss`);
      if (!TRAINABLE_DTYPES.includes(v.dtype)) {
        throw typeError('ERR_INVALID_DTYPE', `variable ${v.name} has dtype ${v.dtype}; expected one of ${TRAINABLE_DTYPES.join(', ')}`);
      }
    }
    const grads = g.addGradients([loss], varList, options.gradLoss ? [options.gradLoss] : null, {
      unconnected: 'null',
      colocateGradientsWithOps: options.colocateGradientsWithOps,
    });
    return varList.map((v, i) => [grads[i] ?? null, v]);
  }

  /**
   * Adds the ops applying `gradsAndVars` (pairs with a null gradient are skipped) and returns the op to run for
   * one training step: a NoOp grouping the updates, or the global-step increment when `globalStep` is given
   * (which runs after the updates). The op is also added to the `train_op` collection.
   */
  applyGradients(gradsAndVars: GradAndVar[], options: ApplyGradientsOptions = {}): Operation {
    if (!Array.isArray(gradsAndVars) || gradsAndVars.length === 0) throw new TfhubError('ERR_NO_VARIABLES', 'No variables provided.');
    const seen = new Set<string>();
    for (const pair of gradsAndVars) {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw typeError('ERR_INVALID_ARG_TYPE', 'gradsAndVars must hold [gradient, variable] pairs');
      const [grad, v] = pair;
      if (!(v instanceof Variable)) throw typeError('ERR_INVALID_ARG_TYPE', `gradsAndVars: ${String(v)} is not a Variable`);
      if (grad !== null && !(grad instanceof Output))
        throw typeError('ERR_INVALID_ARG_TYPE', `gradsAndVars: the gradient of ${v.name} must be an Output or null`);
      if (seen.has(v.opName)) throw new TfhubError('ERR_INVALID_ARG_VALUE', `Duplicate variable in gradsAndVars: ${v.name}`);
      seen.add(v.opName);
      if (grad && grad.graph !== v.graph) throw new TfhubError('ERR_GRAPH_MISMATCH', `the gradient of ${v.name} belongs to another graph`);
      if (grad && grad.dtype !== v.dtype)
        throw typeError('ERR_INVALID_DTYPE', `the gradient of ${v.name} is ${grad.dtype}, the variable ${v.dtype}`);
    }
    const pairs = gradsAndVars.filter(([grad]) => grad !== null) as Array<[Output, Variable]>;
    if (pairs.length === 0) {
      throw new TfhubError(
        'ERR_NO_VARIABLE_GRADIENTS',
        `No gradients provided for any variable: [${gradsAndVars.map(([, v]) => v.name).join(', ')}]`,
      );
    }
    const g = pairs[0][1].graph;
    for (const [, v] of pairs) if (v.graph !== g) throw new TfhubError('ERR_GRAPH_MISMATCH', 'all variables must belong to one graph');
    const step = options.globalStep;
    if (step !== undefined && (!(step instanceof Variable) || step.graph !== g))
      throw typeError('ERR_INVALID_ARG_TYPE', 'globalStep must be a Variable of the same graph');
    const deps = (options.controlInputs ?? []).map((d) => {
      const op = d instanceof Output ? d.op : d;
      if (!(op instanceof Operation)) throw typeError('ERR_INVALID_ARG_TYPE', 'controlInputs must hold Operations or Outputs');
      if (op.graph !== g) throw new TfhubError('ERR_GRAPH_MISMATCH', `control input ${op.name} belongs to another graph`);
      return op;
    });

    // Slots live at the top level, named after their variable (Python creates them under init_scope).
    g.withNameScope('/', () =>
      this.createSlots(
        g,
        pairs.map(([, v]) => v),
      ),
    );
    const name = g.uniqueName(options.name ?? this.name);
    return g.withNameScope(name + '/', () => {
      this.tensors = {};
      this.prepare(g);
      const updates = pairs.map(([grad, v]) =>
        g.withNameScope(`${name}/update_${v.opName}/`, () => g.withDevice(v.op.device, () => this.applyDense(g, grad, v, deps))),
      );
      let result: Operation;
      if (!step) {
        result = this.finish(g, updates, name, deps);
      } else {
        const finished = this.finish(g, updates, g.uniqueName('update'), deps);
        const one = scalar(g, 1, step.dtype, 'value');
        result = g.withDevice(step.op.device, () =>
          step.isResource
            ? g.addOperation('AssignAddVariableOp', {
                name,
                inputs: [step.handle, one],
                attrs: { dtype: step.dtype },
                controlInputs: [finished],
              })
            : g.addOperation('AssignAdd', {
                name,
                inputs: [step.handle, one],
                attrs: { use_locking: this.useLocking },
                controlInputs: [finished],
              }),
        );
      }
      if (!g.getCollection(GraphKeys.TRAIN_OP).includes(result)) g.addToCollection(GraphKeys.TRAIN_OP, result);
      this.tensors = {};
      return result;
    });
  }

  /** `computeGradients` then `applyGradients`: the op to run for one training step. */
  minimize(loss: Output, options: MinimizeOptions = {}): Operation {
    const gradsAndVars = this.computeGradients(loss, options);
    if (gradsAndVars.every(([grad]) => grad === null)) {
      throw new TfhubError(
        'ERR_NO_VARIABLE_GRADIENTS',
        `No gradients provided for any variable, check your graph for ops that do not support gradients, between variables [${gradsAndVars.map(([, v]) => v.name).join(', ')}] and loss ${loss.name}.`,
      );
    }
    return this.applyGradients(gradsAndVars, options);
  }

  /** The slot `slotName` (e.g. `'m'`) of `v`, or null. */
  getSlot(v: Variable, slotName: string): Variable | null {
    return this.states.get(v.graph)?.slots.get(v.opName)?.get(slotName) ?? null;
  }

  /** Names of the slots this optimizer creates (e.g. `['m', 'v']` for Adam), sorted. */
  abstract getSlotNames(): string[];

  /** The variables this optimizer created in `graph` (slots and non-slot variables such as `beta1_power`). */
  variables(graph: Graph): Variable[] {
    return [...(this.states.get(graph)?.created ?? [])];
  }

  // ---------------------------------------------------------------- for subclasses

  /** Creates the slots of `vars` (called at the top-level name scope). */
  protected abstract createSlots(g: Graph, vars: Variable[]): void;

  /** Creates the hyperparameter tensors of one applyGradients call into `this.tensors`. */
  protected abstract prepare(g: Graph): void;

  /** The training kernel of one variable. */
  protected abstract applyDense(g: Graph, grad: Output, v: Variable, controlInputs: Operation[]): Operation;

  /** Groups the updates (Adam also updates its beta powers here) into an op named exactly `name`. */
  protected finish(g: Graph, updates: Operation[], name: string, _controlInputs: Operation[]): Operation {
    return g.addOperation('NoOp', { name, controlInputs: updates });
  }

  private state(g: Graph): OptimizerState {
    let s = this.states.get(g);
    if (!s) this.states.set(g, (s = { slots: new Map(), nonSlots: new Map(), created: [] }));
    return s;
  }

  /**
   * The slot `slotName` of `v`, created when missing as a non-trainable variable `<v>/<opName>` (made unique)
   * filled with `value` (Python's `_zeros_slot` / `_get_or_make_slot_with_initializer`).
   */
  protected slot(g: Graph, v: Variable, slotName: string, opName: string, value = 0): Variable {
    const state = this.state(g);
    let perVar = state.slots.get(v.opName);
    if (!perVar) state.slots.set(v.opName, (perVar = new Map()));
    const existing = perVar.get(slotName);
    if (existing) return existing;
    const shape = v.shape;
    const known = shape !== null && shape.every((d) => d >= 0);
    // Colocated with the primary variable, whatever the device scopes say (Python's colocate_vars_with).
    const s = g.withDevice(null, () =>
      g.withDevice(v.op.device, () =>
        variable(g, {
          name: `${v.opName}/${opName}`,
          dtype: v.dtype,
          shape,
          trainable: false,
          useResource: v.isResource,
          collections: [GraphKeys.GLOBAL_VARIABLES],
          initialValue: (graph: Graph) => {
            const fill = scalar(graph, value, v.dtype, 'Initializer/value');
            const dims = known ? ops.constant(graph, shape!, 'int32', 'Initializer/shape') : ops.shape(graph, v.value(), 'int32');
            return ops.op0(graph, 'Fill', [dims, fill], {}, value === 0 ? 'Initializer/zeros' : 'Initializer/Fill');
          },
        }),
      ),
    );
    perVar.set(slotName, s);
    state.created.push(s);
    return s;
  }

  /** A non-slot variable (one per graph), e.g. Adam's `beta1_power`, created when missing. */
  protected nonSlot(g: Graph, key: string, initialValue: number, first: Variable): Variable {
    const state = this.state(g);
    const existing = state.nonSlots.get(key);
    if (existing) return existing;
    const v = g.withDevice(null, () =>
      g.withDevice(first.op.device, () =>
        variable(g, {
          name: key,
          initialValue: (graph: Graph) => ops.constant(graph, initialValue, 'float32', 'initial_value'),
          dtype: 'float32',
          shape: [],
          trainable: false,
          useResource: first.isResource,
          collections: [GraphKeys.GLOBAL_VARIABLES],
        }),
      ),
    );
    state.nonSlots.set(key, v);
    state.created.push(v);
    return v;
  }

  /** The non-slot variable `key`, or null. */
  protected getNonSlot(g: Graph, key: string): Variable | null {
    return this.states.get(g)?.nonSlots.get(key) ?? null;
  }

  /** A hyperparameter prepared by `prepare`, cast to `dtype`. */
  protected hyper(g: Graph, key: string, dtype: DType): Output {
    const t = this.tensors[key];
    if (!t) throw new TfhubError('ERR_INTERNAL', `hyperparameter ${key} was not prepared`);
    return ops.cast(g, t, dtype);
  }

  /**
   * Adds the kernel `Apply<kind>` (reference variables) or `ResourceApply<kind>` (resource variables) with the
   * variable, its slots and `inputs`, in the order of the op's inputs.
   */
  protected kernel(
    g: Graph,
    kind: string,
    v: Variable,
    slots: Variable[],
    inputs: Output[],
    controlInputs: Operation[],
    attrs: Record<string, unknown> = {},
  ): Operation {
    const type = v.isResource ? `ResourceApply${kind}` : `Apply${kind}`;
    for (const s of slots) {
      if (s.isResource !== v.isResource)
        throw new TfhubError('ERR_INVALID_ARG_VALUE', `slot ${s.name} and variable ${v.name} mix resource and reference variables`);
    }
    return g.addOperation(type, {
      name: g.uniqueName(type),
      inputs: [v.handle, ...slots.map((s) => s.handle), ...inputs],
      attrs: { T: v.dtype, use_locking: this.useLocking, ...attrs },
      controlInputs: controlInputs.length > 0 ? controlInputs : undefined,
    });
  }
}

/** The graph's global step (the one variable in the `global_step` collection), or null. */
export function getGlobalStep(graph: Graph): Variable | null {
  if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'getGlobalStep(graph): graph must be a Graph');
  const list = graph.getCollection<Variable>(GraphKeys.GLOBAL_STEP);
  if (list.length > 1) throw new TfhubError('ERR_INVALID_ARG_VALUE', `Multiple tensors in global_step collection: ${list.length}`);
  return list.length === 1 ? list[0] : null;
}

/**
 * Python's `tf.compat.v1.train.get_or_create_global_step`: the graph's global step, else a new non-trainable
 * int64 scalar variable `global_step` (initial value 0) in the `variables` and `global_step` collections.
 */
export function getOrCreateGlobalStep(graph: Graph, options: { useResource?: boolean } = {}): Variable {
  const existing = getGlobalStep(graph);
  if (existing) return existing;
  return graph.withNameScope('/', () =>
    variable(graph, {
      name: GraphKeys.GLOBAL_STEP,
      dtype: 'int64',
      shape: [],
      trainable: false,
      useResource: options.useResource ?? true,
      collections: [GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP],
      initialValue: (g: Graph) => ops.constant(g, 0, 'int64', 'Initializer/zeros'),
    }),
  );
}
