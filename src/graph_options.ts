/** The option and result types of `Graph` (addOperation, imports, gradients). */
import { Operation, OperationInput, Output } from './operation';

/** Options of `Graph.addOperation`. */
export interface AddOperationOptions {
  /**
   * The exact full name (an error if taken; `graph.uniqueName(base)` makes a free one). Default: the op type
   * made unique (`MatMul`, `MatMul_1`, …) inside the current name scope.
   */
  name?: string;
  /** The op's inputs in OpDef order; a list input takes an array of Outputs. */
  inputs?: OperationInput[];
  /** Attribute values, typed by the op's registered OpDef; type attrs are inferred from inputs when omitted. */
  attrs?: Record<string, unknown>;
  /** Device placement, e.g. `/device:CPU:0` (default: TF places it). */
  device?: string;
  /** Operations that must run before this one (control edges). */
  controlInputs?: Operation[];
  /** Place this operation on the same device as these (the `_class` colocation attribute). */
  colocateWith?: Operation[];
}

/** Options of `Graph.importGraphDef`. */
export interface ImportGraphDefOptions {
  /** Prefix for every imported name (`prefix/...`). */
  prefix?: string;
  /** Map imported tensors (`"name:index"` or `"name"` for index 0) to existing outputs. */
  inputMap?: Record<string, Output> | Map<string, Output>;
  /** Imported tensors to return, by name (`"op:0"`). */
  returnOutputs?: string[];
  /** Imported operations to return, by name. */
  returnOperations?: string[];
  /** Extra control dependencies for every imported operation without inputs mapped from outside. */
  controlDependencies?: Operation[];
  /** Replace control inputs `^name` of imported nodes by existing operations. */
  controlRemap?: Record<string, Operation>;
  /** Rename imported operations whose names are taken (`a` → `a_1`) instead of failing. */
  uniquifyNames?: boolean;
  /** Make `prefix` itself unique when it is already used in the graph. */
  uniquifyPrefix?: boolean;
  /** Device for imported operations that name none. */
  defaultDevice?: string;
}

/** What an import returns. */
export interface ImportResult {
  /** The tensors asked for with `returnOutputs`, in that order. */
  outputs: Output[];
  /** The operations asked for with `returnOperations`, in that order. */
  operations: Operation[];
  /** inputMap keys that matched nothing in the GraphDef. */
  missingUnusedInputs: string[];
}

/** Options of `Graph.addGradients`. */
export interface GradientOptions {
  /** Name scope of the gradient ops (default `gradients`, made unique). */
  prefix?: string;
  /** What to do with an x that ys do not depend on: `'error'` (default) or `'zero'` (zeros like x). */
  unconnected?: 'error' | 'zero' | 'null';
  /**
   * Place the ops of each op's gradient on that op's device (Python's `colocate_gradients_with_ops`);
   * default: the device scopes active at this call place every gradient op.
   */
  colocateGradientsWithOps?: boolean;
}
