/** Graph variables (resource `VarHandleOp` or reference `VariableV2`) and Python's GraphKeys collections. */
import { DType } from './dtypes';
import { TfhubError, typeError } from './errors';
import { Graph, Operation, Output } from './graph';
import { tensorflow } from './proto';
import { partialShape } from './shape';
import { Tensor, tensor as makeTensor } from './tensor';

/** Python's GraphKeys, as used in collections. */
export const GraphKeys = {
  GLOBAL_VARIABLES: 'variables',
  TRAINABLE_VARIABLES: 'trainable_variables',
  MODEL_VARIABLES: 'model_variables',
  REGULARIZATION_LOSSES: 'regularization_losses',
  UPDATE_OPS: 'update_ops',
  TABLE_INITIALIZERS: 'table_initializer',
  ASSET_FILEPATHS: 'asset_filepaths',
  COND_CONTEXT: 'cond_context',
  WHILE_CONTEXT: 'while_context',
  GLOBAL_STEP: 'global_step',
  TRAIN_OP: 'train_op',
} as const;

/** Partition info of a partitioned variable (SaveSliceInfoDef). */
export interface SaveSliceInfo {
  /** Name of the whole (unpartitioned) variable, as the checkpoint keys it. */
  fullName: string;
  /** Shape of the whole variable. */
  fullShape: number[];
  /** This slice's offset in the whole variable, per dimension. */
  varOffset: number[];
  /** This slice's shape. */
  varShape: number[];
}

/** A variable of a graph (resource `VarHandleOp` or reference `VariableV2`). */
export class Variable {
  /** @internal */
  constructor(
    /** The variable's operation. */
    readonly op: Operation,
    /** Runs this to give the variable its value (for hub modules: restore from the checkpoint). */
    public initializer: Operation,
    /** An Output that reads the value (the graph's snapshot), if the graph has one. */
    private readonly snapshot: Output | null,
    /** In the TRAINABLE_VARIABLES collection: optimizers update it by default. */
    readonly trainable: boolean,
    /** Where this slice sits in a partitioned variable; null when not partitioned. */
    readonly saveSliceInfo: SaveSliceInfo | null,
    /** The initial value's Output, when known. */
    readonly initialValue: Output | null = null,
  ) {}

  /** Tensor name, e.g. `module/dense/kernel:0`. */
  get name(): string {
    return `${this.op.name}:0`;
  }

  /** Operation name, e.g. `module/dense/kernel`. */
  get opName(): string {
    return this.op.name;
  }

  /** The graph it lives in. */
  get graph(): Graph {
    return this.op.graph;
  }

  /** Whether it is a resource variable (`VarHandleOp`) rather than a reference variable. */
  get isResource(): boolean {
    return this.op.output(0).dtype === 'resource';
  }

  /** Value dtype. */
  get dtype(): DType {
    return this.op.getAttr('dtype') as DType;
  }

  /** Declared shape (null: unknown rank). */
  get shape(): number[] | null {
    return this.op.getAttr('shape') as number[] | null;
  }

  /** The handle (resource) or reference output. */
  get handle(): Output {
    return this.op.output(0);
  }

  /** An Output reading the current value. */
  value(): Output {
    if (this.snapshot) return this.snapshot;
    return this.read();
  }

  /** A new read of the variable (ReadVariableOp / Identity), e.g. after control dependencies. */
  read(options: { controlInputs?: Operation[] } = {}): Output {
    const graph = this.op.graph;
    // Reads and assignments sit on the variable's device (Python: `ops.device(handle.device)`).
    if (this.op.device) return graph.withDevice(this.op.device, () => this.readHere(options));
    return this.readHere(options);
  }

  private readHere(options: { controlInputs?: Operation[] }): Output {
    const graph = this.op.graph;
    if (this.isResource) {
      return graph
        .addOperation('ReadVariableOp', {
          name: graph.uniqueName(`${this.op.name}/Read/ReadVariableOp`),
          inputs: [this.handle],
          attrs: { dtype: this.dtype },
          controlInputs: options.controlInputs,
        })
        .output(0);
    }
    return graph
      .addOperation('Identity', {
        name: graph.uniqueName(`${this.op.name}/read`),
        inputs: [this.handle],
        controlInputs: options.controlInputs,
      })
      .output(0);
  }

  /** An op assigning `value` to the variable. */
  assign(value: Output, name?: string): Operation {
    const graph = this.op.graph;
    if (this.op.device) return graph.withDevice(this.op.device, () => this.assignHere(value, name));
    return this.assignHere(value, name);
  }

  private assignHere(value: Output, name?: string): Operation {
    const graph = this.op.graph;
    if (this.isResource)
      return graph.addOperation('AssignVariableOp', {
        name: graph.uniqueName(name ?? `${this.op.name}/Assign`),
        inputs: [this.handle, value],
      });
    return graph.addOperation('Assign', { name: graph.uniqueName(name ?? `${this.op.name}/Assign`), inputs: [this.handle, value] });
  }

  /** The VariableDef proto Python writes into the `variables` collection. */
  toVariableDef(stripScope = ''): tensorflow.IVariableDef {
    const strip = (n: string) => (stripScope && n.startsWith(stripScope + '/') ? n.slice(stripScope.length + 1) : n);
    const def: tensorflow.IVariableDef = {
      variableName: strip(this.name),
      initializerName: strip(this.initializer.name),
      snapshotName: this.snapshot ? strip(this.snapshot.name) : '',
      isResource: this.isResource,
      trainable: this.trainable,
    };
    if (this.initialValue) def.initialValueName = strip(this.initialValue.name);
    if (this.saveSliceInfo) {
      const { fullName, fullShape, varOffset, varShape } = this.saveSliceInfo;
      def.saveSliceInfoDef = { fullName, fullShape, varOffset, varShape };
    }
    return def;
  }

  /** A short description for logs, e.g. `Variable(dense/kernel:0, float32, (3, 4))`. */
  toString(): string {
    const shape = this.shape;
    return `Variable(${this.name}, ${this.dtype}, ${shape === null ? '<unknown>' : `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`})`;
  }
}

/** Options of `variable(graph, …)`. */
export interface VariableOptions {
  /** Op name (made unique under the current name scope). */
  name: string;
  /**
   * Initial value: an Output, a Tensor, JS values (with `dtype`), or a function building the initial value's
   * Output, called inside the variable's name scope (Python's callable `initial_value`).
   */
  initialValue: Output | Tensor | ((graph: Graph) => Output) | unknown;
  /** Element type (default: the initial value's dtype, float32 for JS numbers). */
  dtype?: DType;
  /** Declared shape (`null` or `-1` for an unknown dimension, `null` for an unknown rank); default: the initial value's static shape. */
  shape?: ReadonlyArray<number | null> | null;
  /** Add to `trainable_variables` too (default true). */
  trainable?: boolean;
  /** Resource variable (default) or reference variable (TF1 `VariableV2`). */
  useResource?: boolean;
  /** Collections to add it to (default `['variables']`, plus `trainable_variables` when trainable). */
  collections?: string[];
}

/** Creates a variable in `graph` (Python's `tf.compat.v1.get_variable`/`tf.Variable` in graph mode). */
export function variable(graph: Graph, options: VariableOptions): Variable {
  if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'variable(graph, options): graph must be a Graph');
  if (!options || typeof options.name !== 'string' || options.name === '')
    throw typeError('ERR_INVALID_ARG_TYPE', 'variable options need a name');
  const name = graph.uniqueName(options.name);
  return graph.withNameScope(name + '/', () => {
    let init: Output;
    if (options.initialValue instanceof Output) init = options.initialValue;
    else if (typeof options.initialValue === 'function') {
      init = (options.initialValue as (graph: Graph) => Output)(graph);
      if (!(init instanceof Output) || init.graph !== graph)
        throw typeError('ERR_INVALID_ARG_TYPE', `the initial value function of ${name} must return an Output of the graph`);
    } else {
      const t =
        options.initialValue instanceof Tensor ? options.initialValue : makeTensor(options.initialValue, options.dtype ?? 'float32');
      init = graph.addOperation('Const', { name: graph.uniqueName('Initializer/Const'), attrs: { dtype: t.dtype, value: t } }).output(0);
      if (!(options.initialValue instanceof Tensor)) t.dispose();
    }
    const dtype = options.dtype ?? init.dtype;
    if (init.dtype !== dtype) throw new TfhubError('ERR_INVALID_ARG_VALUE', `initial value of ${name} is ${init.dtype}, not ${dtype}`);
    const shape = options.shape !== undefined ? partialShape(options.shape, `shape of variable ${name}`) : init.shape;
    const trainable = options.trainable ?? true;
    let v: Variable;
    if (options.useResource ?? true) {
      const op = graph.addOperation('VarHandleOp', { name, attrs: { dtype, shape: shape ?? null, shared_name: name } });
      const [assign, read] = graph.withDevice(
        op.device,
        () =>
          [
            graph.addOperation('AssignVariableOp', { name: graph.uniqueName('Assign'), inputs: [op.output(0), init] }),
            graph
              .addOperation('ReadVariableOp', { name: graph.uniqueName('Read/ReadVariableOp'), inputs: [op.output(0)], attrs: { dtype } })
              .output(0),
          ] as const,
      );
      v = new Variable(op, assign, read, trainable, null, init);
    } else {
      const op = graph.addOperation('VariableV2', { name, attrs: { dtype, shape: shape ?? null } });
      const [assign, read] = graph.withDevice(
        op.device,
        () =>
          [
            graph.addOperation('Assign', {
              name: graph.uniqueName('Assign'),
              inputs: [op.output(0), init],
              attrs: { validate_shape: shape !== null },
            }),
            graph.addOperation('Identity', { name: graph.uniqueName('read'), inputs: [op.output(0)] }).output(0),
          ] as const,
      );
      v = new Variable(op, assign, read, trainable, null, init);
    }
    const collections = options.collections ?? [GraphKeys.GLOBAL_VARIABLES, ...(trainable ? [GraphKeys.TRAINABLE_VARIABLES] : [])];
    for (const c of collections) graph.addToCollection(c, v);
    return v;
  });
}
