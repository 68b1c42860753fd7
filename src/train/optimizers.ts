/** Python's `tf.compat.v1.train` optimizers: GradientDescent, Momentum, Adam, Adagrad and RMSProp. */
import { TfhubError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import { Variable } from '../variable';
import { Hyperparameter, Optimizer, checkNumber, hyper } from './optimizer';
import * as ops from './ops';

/** Options every optimizer takes. */
export interface OptimizerOptions {
  /** Passed to the kernels' `use_locking` (default false). */
  useLocking?: boolean;
  /** Name of the apply op and prefix of the slots (default: the optimizer's, e.g. `Momentum`). */
  name?: string;
}

/** Python's `tf.compat.v1.train.GradientDescentOptimizer`: `var -= lr * grad`. */
export class GradientDescentOptimizer extends Optimizer {
  constructor(
    /** The learning rate: a number or a scalar Output (e.g. a decaying schedule). */ readonly learningRate: Hyperparameter,
    options: OptimizerOptions = {},
  ) {
    super(options.name ?? 'GradientDescent', options.useLocking);
    checkNumber(learningRate, 'learningRate');
  }

  getSlotNames(): string[] {
    return [];
  }

  protected createSlots(): void {}

  protected prepare(g: Graph): void {
    this.tensors.learningRate = hyper(g, this.learningRate, 'learning_rate');
  }

  protected applyDense(g: Graph, grad: Output, v: Variable, deps: Operation[]): Operation {
    return this.kernel(g, 'GradientDescent', v, [], [this.hyper(g, 'learningRate', v.dtype), grad], deps);
  }
}

/** Options of `MomentumOptimizer`. */
export interface MomentumOptions extends OptimizerOptions {
  /** Use Nesterov momentum (default false). */
  useNesterov?: boolean;
}

/** Python's `tf.compat.v1.train.MomentumOptimizer`: `accum = accum * momentum + grad; var -= lr * accum`. */
export class MomentumOptimizer extends Optimizer {
  /** Whether Nesterov momentum is used. */
  readonly useNesterov: boolean;

  constructor(
    /** The learning rate: a number or a scalar Output (e.g. a decaying schedule). */ readonly learningRate: Hyperparameter,
    /** The momentum coefficient (number or scalar Output). */ readonly momentum: Hyperparameter,
    options: MomentumOptions = {},
  ) {
    super(options.name ?? 'Momentum', options.useLocking);
    checkNumber(learningRate, 'learningRate');
    checkNumber(momentum, 'momentum');
    this.useNesterov = options.useNesterov ?? false;
  }

  getSlotNames(): string[] {
    return ['momentum'];
  }

  protected createSlots(g: Graph, vars: Variable[]): void {
    for (const v of vars) this.slot(g, v, 'momentum', this.name);
  }

  protected prepare(g: Graph): void {
    this.tensors.learningRate = hyper(g, this.learningRate, 'learning_rate');
    this.tensors.momentum = hyper(g, this.momentum, 'momentum');
  }

  protected applyDense(g: Graph, grad: Output, v: Variable, deps: Operation[]): Operation {
    return this.kernel(
      g,
      'Momentum',
      v,
      [this.getSlot(v, 'momentum')!],
      [this.hyper(g, 'learningRate', v.dtype), grad, this.hyper(g, 'momentum', v.dtype)],
      deps,
      { use_nesterov: this.useNesterov },
    );
  }
}

/** Options of `AdamOptimizer`. */
export interface AdamOptions extends OptimizerOptions {
  /** The learning rate (default 0.001). */
  learningRate?: Hyperparameter;
  /** Decay rate of the first-moment estimate (default 0.9). */
  beta1?: Hyperparameter;
  /** Decay rate of the second-moment estimate (default 0.999). */
  beta2?: Hyperparameter;
  /** Added to the denominator for numerical stability (default 1e-8). */
  epsilon?: Hyperparameter;
}

/**
 * Python's `tf.compat.v1.train.AdamOptimizer`. Bias correction as in Python: the kernel gets `beta1_power` and
 * `beta2_power` (non-slot variables starting at β1 and β2) and uses lr·sqrt(1−β2^t)/(1−β1^t); the powers are
 * multiplied by β1 and β2 after every update.
 */
export class AdamOptimizer extends Optimizer {
  /** The learning rate in use. */
  readonly learningRate: Hyperparameter;
  /** First-moment decay rate in use. */
  readonly beta1: Hyperparameter;
  /** Second-moment decay rate in use. */
  readonly beta2: Hyperparameter;
  /** Epsilon in use. */
  readonly epsilon: Hyperparameter;

  constructor(options: AdamOptions = {}) {
    super(options.name ?? 'Adam', options.useLocking);
    this.learningRate = options.learningRate ?? 0.001;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    checkNumber(this.learningRate, 'learningRate');
    // The beta powers start at β1 and β2: those must be numbers.
    checkNumber(this.beta1, 'beta1', false);
    checkNumber(this.beta2, 'beta2', false);
    checkNumber(this.epsilon, 'epsilon');
  }

  getSlotNames(): string[] {
    return ['m', 'v'];
  }

  protected createSlots(g: Graph, vars: Variable[]): void {
    // Python colocates the beta powers with the variable whose name sorts first and makes them resource
    // variables when that one is.
    const first = [...vars].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
    this.nonSlot(g, 'beta1_power', this.beta1 as number, first);
    this.nonSlot(g, 'beta2_power', this.beta2 as number, first);
    for (const v of vars) {
      this.slot(g, v, 'm', this.name);
      this.slot(g, v, 'v', `${this.name}_1`);
    }
  }

  protected prepare(g: Graph): void {
    this.tensors.learningRate = hyper(g, this.learningRate, 'learning_rate');
    this.tensors.beta1 = hyper(g, this.beta1, 'beta1');
    this.tensors.beta2 = hyper(g, this.beta2, 'beta2');
    this.tensors.epsilon = hyper(g, this.epsilon, 'epsilon');
  }

  /** `beta1_power` and `beta2_power` of `graph` (null before the first applyGradients). */
  getBetaAccumulators(graph: Graph): [Variable, Variable] | null {
    const b1 = this.getNonSlot(graph, 'beta1_power');
    const b2 = this.getNonSlot(graph, 'beta2_power');
    return b1 && b2 ? [b1, b2] : null;
  }

  protected applyDense(g: Graph, grad: Output, v: Variable, deps: Operation[]): Operation {
    const [b1, b2] = this.getBetaAccumulators(g)!;
    const dt = v.dtype;
    return this.kernel(
      g,
      'Adam',
      v,
      [this.getSlot(v, 'm')!, this.getSlot(v, 'v')!],
      [
        ops.cast(g, b1.value(), dt),
        ops.cast(g, b2.value(), dt),
        this.hyper(g, 'learningRate', dt),
        this.hyper(g, 'beta1', dt),
        this.hyper(g, 'beta2', dt),
        this.hyper(g, 'epsilon', dt),
        grad,
      ],
      deps,
    );
  }

  protected finish(g: Graph, updates: Operation[], name: string): Operation {
    const [b1, b2] = this.getBetaAccumulators(g)!;
    // Read the powers after every update (they fed the kernels), then multiply them by β1 and β2.
    const update1 = b1.assign(ops.mul(g, b1.read({ controlInputs: updates }), this.hyper(g, 'beta1', 'float32')), 'Assign');
    const update2 = b2.assign(ops.mul(g, b2.read({ controlInputs: updates }), this.hyper(g, 'beta2', 'float32')), 'Assign');
    return g.addOperation('NoOp', { name, controlInputs: [...updates, update1, update2] });
  }
}

/** Options of `AdagradOptimizer`. */
export interface AdagradOptions extends OptimizerOptions {
  /** Starting value of the `accumulator` slots (default 0.1). */
  initialAccumulatorValue?: number;
}

/** Python's `tf.compat.v1.train.AdagradOptimizer`: `accum += grad²; var -= lr * grad / sqrt(accum)`. */
export class AdagradOptimizer extends Optimizer {
  /** Starting value of the accumulators. */
  readonly initialAccumulatorValue: number;

  constructor(
    /** The learning rate: a number or a scalar Output (e.g. a decaying schedule). */ readonly learningRate: Hyperparameter,
    options: AdagradOptions = {},
  ) {
    super(options.name ?? 'Adagrad', options.useLocking);
    checkNumber(learningRate, 'learningRate');
    this.initialAccumulatorValue = options.initialAccumulatorValue ?? 0.1;
    checkNumber(this.initialAccumulatorValue, 'initialAccumulatorValue', false);
    if (this.initialAccumulatorValue <= 0) {
      throw new TfhubError('ERR_INVALID_ARG_VALUE', `initialAccumulatorValue must be positive: ${this.initialAccumulatorValue}`);
    }
  }

  getSlotNames(): string[] {
    return ['accumulator'];
  }

  protected createSlots(g: Graph, vars: Variable[]): void {
    for (const v of vars) this.slot(g, v, 'accumulator', this.name, this.initialAccumulatorValue);
  }

  protected prepare(g: Graph): void {
    this.tensors.learningRate = hyper(g, this.learningRate, 'learning_rate');
  }

  protected applyDense(g: Graph, grad: Output, v: Variable, deps: Operation[]): Operation {
    return this.kernel(g, 'Adagrad', v, [this.getSlot(v, 'accumulator')!], [this.hyper(g, 'learningRate', v.dtype), grad], deps, {
      update_slots: true,
    });
  }
}

/** Options of `RMSPropOptimizer`. */
export interface RMSPropOptions extends OptimizerOptions {
  /** Discounting factor of the gradient history (default 0.9). */
  decay?: Hyperparameter;
  /** Momentum coefficient (default 0). */
  momentum?: Hyperparameter;
  /** Added to the denominator for numerical stability (default 1e-10). */
  epsilon?: Hyperparameter;
  /** Normalize by the centered second moment (an estimate of the variance); adds the `mg` slot. */
  centered?: boolean;
}

/**
 * Python's `tf.compat.v1.train.RMSPropOptimizer`. Slots: `rms` (starts at ones), `mg` (centered only) and
 * `momentum`, named `<var>/RMSProp`, `<var>/RMSProp_1`, … in that order.
 */
export class RMSPropOptimizer extends Optimizer {
  /** Decay in use. */
  readonly decay: Hyperparameter;
  /** Momentum in use. */
  readonly momentum: Hyperparameter;
  /** Epsilon in use. */
  readonly epsilon: Hyperparameter;
  /** Whether the centered variant is used. */
  readonly centered: boolean;

  constructor(
    /** The learning rate: a number or a scalar Output (e.g. a decaying schedule). */ readonly learningRate: Hyperparameter,
    options: RMSPropOptions = {},
  ) {
    super(options.name ?? 'RMSProp', options.useLocking);
    this.decay = options.decay ?? 0.9;
    this.momentum = options.momentum ?? 0;
    this.epsilon = options.epsilon ?? 1e-10;
    this.centered = options.centered ?? false;
    checkNumber(learningRate, 'learningRate');
    checkNumber(this.decay, 'decay');
    checkNumber(this.momentum, 'momentum');
    checkNumber(this.epsilon, 'epsilon');
  }

  getSlotNames(): string[] {
    return this.centered ? ['mg', 'momentum', 'rms'] : ['momentum', 'rms'];
  }

  protected createSlots(g: Graph, vars: Variable[]): void {
    for (const v of vars) {
      this.slot(g, v, 'rms', this.name, 1);
      if (this.centered) this.slot(g, v, 'mg', this.name);
      this.slot(g, v, 'momentum', this.name);
    }
  }

  protected prepare(g: Graph): void {
    this.tensors.learningRate = hyper(g, this.learningRate, 'learning_rate');
    this.tensors.decay = hyper(g, this.decay, 'decay');
    this.tensors.momentum = hyper(g, this.momentum, 'momentum');
    this.tensors.epsilon = hyper(g, this.epsilon, 'epsilon');
  }

  protected applyDense(g: Graph, grad: Output, v: Variable, deps: Operation[]): Operation {
    const dt = v.dtype;
    const inputs = [
      this.hyper(g, 'learningRate', dt),
      this.hyper(g, 'decay', dt),
      this.hyper(g, 'momentum', dt),
      this.hyper(g, 'epsilon', dt),
      grad,
    ];
    const rms = this.getSlot(v, 'rms')!;
    const mom = this.getSlot(v, 'momentum')!;
    if (this.centered) return this.kernel(g, 'CenteredRMSProp', v, [this.getSlot(v, 'mg')!, rms, mom], inputs, deps);
    return this.kernel(g, 'RMSProp', v, [rms, mom], inputs, deps);
  }
}
