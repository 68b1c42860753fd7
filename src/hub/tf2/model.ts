/**
 * `LoadedModel`: what `hub.load` returns (Python's `tf.saved_model.load` object): signatures, restored
 * tf.functions, the reusable SavedModel attributes, and the one Session that runs all of them.
 */
import { DType } from '../../dtypes';
import { TfhubError, typeError } from '../../errors';
import { Graph } from '../../graph';
import { Session } from '../../session';
import { Tensor } from '../../tensor';
import { Kwargs, StructuredOutput } from './structure';

export { StructuredOutput } from './structure';

/** dtype and static shape of one signature input or output (`null` = unknown rank, `-1` = unknown dimension). */
export interface TensorSpecInfo {
  /** Element type. */
  readonly dtype: DType;
  /** Static shape (`null` = unknown rank, `-1` = unknown dimension). */
  readonly shape: number[] | null;
  /** `'Tensor'`, `'SparseTensor'` or `'RaggedTensor'` (outputs of TF1 signatures may be composite). */
  readonly kind: 'Tensor' | 'SparseTensor' | 'RaggedTensor';
}

/** A sparse signature output. */
export interface SparseValue {
  /** int64 [N, rank]: the coordinates of the N values. */
  indices: Tensor;
  /** [N]: the values. */
  values: Tensor;
  /** int64 [rank]: the shape of the dense tensor. */
  denseShape: Tensor;
}

/** A ragged signature output: flat values and one row-splits vector per ragged dimension. */
export interface RaggedValue {
  /** The values of all rows, concatenated. */
  flatValues: Tensor;
  /** One row-splits vector per ragged dimension, outermost first. */
  rowSplits: Tensor[];
}

/** One output of a signature. */
export type SignatureOutput = Tensor | SparseValue | RaggedValue;

/**
 * A signature (`model.signatures[name]`): takes a record keyed by the signature's input keys (or, for a
 * one-input signature, the value alone) and resolves to a record of outputs. Values are Tensors or JS
 * arrays/numbers/strings/booleans converted to the declared dtype; wrong keys, dtypes or shapes are rejected
 * before anything runs (TypeError with code `ERR_SIGNATURE_INPUTS`, `ERR_INPUT_DTYPE` or `ERR_INPUT_SHAPE`).
 */
export interface SignatureFunction {
  /** Runs the signature: a record of inputs by key (or the value alone for a one-input signature). */
  (inputs?: unknown): Promise<Record<string, SignatureOutput>>;
  /** The signature's key in `model.signatures`. */
  readonly signatureName: string;
  /** Declared inputs, by the keys the function takes. */
  readonly inputs: Readonly<Record<string, TensorSpecInfo>>;
  /** Declared outputs. */
  readonly outputs: Readonly<Record<string, TensorSpecInfo>>;
}

/** Description of one concrete function (trace) of a restored tf.function. */
export interface ConcreteFunctionInfo {
  /** The function's name in the graph's library, e.g. `__inference___call___1688`. */
  readonly name: string;
  /** Python-style text of the arguments it accepts, e.g. `(TensorSpec(shape=(None, 3), dtype=tf.float32, name='x'), False)`. */
  readonly inputSignature: string;
  /** Python-style text of its output structure. */
  readonly outputSignature: string;
}

/**
 * A restored `tf.function` (`model.functions[path]`, `model.call`): call it with positional arguments, plus a
 * trailing `kwargs({...})` for keyword arguments. The concrete function whose input signature matches is
 * chosen as Python does (tensors by dtype and shape, Python literals such as `training=False` by value); the
 * result has the function's output structure (a Tensor, an array, a record, nested).
 */
export interface RestoredFunction {
  /** Calls the function: positional arguments, then an optional trailing `kwargs({...})`. */
  (...args: unknown[]): Promise<StructuredOutput>;
  /** Attribute path from the root object, e.g. `'__call__'`, `'encoder.__call__'`, `'serve'`. */
  readonly path: string;
  /** Same as calling it, with keyword arguments given separately. */
  callWithKwargs(args: unknown[], kwargs?: Record<string, unknown>): Promise<StructuredOutput>;
  /** The traces that can be called. */
  readonly concreteFunctions: readonly ConcreteFunctionInfo[];
}

/** A restored variable (`model.variables[i]`). */
export interface LoadedVariable {
  /** Python's `v.name`, e.g. `'dense/kernel:0'`. */
  readonly name: string;
  /** Element type. */
  readonly dtype: DType;
  /** Static shape (`null` = unknown rank, `-1` = unknown dimension). */
  readonly shape: number[] | null;
  /** Whether the SavedModel marks it trainable (it is in `trainableVariables`). */
  readonly trainable: boolean;
  /** The current value (a copy). */
  read(): Promise<Tensor>;
}

/** A regularization loss of the reusable SavedModel API: call it for the scalar loss. */
export type RegularizationLoss = () => Promise<Tensor>;

/** On-disk format a model was loaded from. */
export type ModelFormat = 'tf2_saved_model' | 'tf1_saved_model' | 'tf1_hub_module';

/** @internal what a format-specific loader hands to LoadedModel */
export interface ModelParts {
  format: ModelFormat;
  graph: Graph;
  session: Session;
  signatures: Array<{
    name: string;
    inputs: Record<string, TensorSpecInfo>;
    outputs: Record<string, TensorSpecInfo>;
    run(inputs: unknown): Promise<Record<string, SignatureOutput>>;
  }>;
  functions: Array<{
    path: string;
    concreteFunctions: ConcreteFunctionInfo[];
    invoke(args: unknown[], kwargs: Record<string, unknown>): Promise<StructuredOutput>;
  }>;
  variables: Array<{ name: string; dtype: DType; shape: number[] | null; trainable: boolean; read(): Promise<Tensor> }>;
  trainableVariables: ModelParts['variables'];
  /** Attribute paths of the regularization-loss functions. */
  regularizationLosses: string[];
  /** Python's `tensorflow_version` of the meta graph, if recorded. */
  tensorflowVersion: string;
}

function disposedError(): TfhubError {
  return new TfhubError('ERR_DISPOSED', 'the model was closed');
}

/** Splits a trailing Kwargs off an argument list. */
function splitKwargs(args: unknown[]): [unknown[], Record<string, unknown>] {
  if (args.length > 0 && args[args.length - 1] instanceof Kwargs) {
    return [args.slice(0, -1), { ...(args[args.length - 1] as Kwargs).values }];
  }
  return [args, {}];
}

/**
 * A loaded SavedModel or TF1 Hub module (Python's object from `hub.load` / `tf.saved_model.load`). One Session
 * runs every signature and function; calls may overlap. `close()` frees it; later calls throw `ERR_DISPOSED`.
 */
export class LoadedModel {
  /** The model directory (after resolving the handle). */
  readonly path: string;
  /** Tag set of the loaded meta graph (sorted). */
  readonly tags: string[];
  /** `'tf2_saved_model'` (object graph: callable functions), `'tf1_saved_model'` or `'tf1_hub_module'` (signatures only). */
  readonly format: ModelFormat;
  /** Python's `_is_hub_module_v1`: loaded from the TF1 Hub format (`tfhub_module.pb`). */
  readonly isHubModuleV1: boolean;
  /** TensorFlow version that wrote the meta graph (may be empty). */
  readonly tensorflowVersion: string;
  /** Signatures by name (`serving_default`, …; the internal `__saved_model_init_op` is not one). */
  readonly signatures: Readonly<Record<string, SignatureFunction>>;
  /** Every restored tf.function by attribute path (`__call__`, `serve`, `encoder.__call__`, …). TF2 only. */
  readonly functions: Readonly<Record<string, RestoredFunction>>;
  /**
   * Variables: the root's `variables` attribute (reusable SavedModel API, Keras exports) when present; otherwise
   * every variable restored from the object graph except the checkpoint's `save_counter` (Python raises
   * AttributeError there). TF1 formats: the graph's global variables.
   */
  readonly variables: readonly LoadedVariable[];
  /** The root's `trainable_variables` attribute when present, else the trainable ones of `variables`. Empty for TF1 formats. */
  readonly trainableVariables: readonly LoadedVariable[];
  /** The root's `regularization_losses` callables (empty when the model has none). */
  readonly regularizationLosses: readonly RegularizationLoss[];
  /** Whether signatures are checked as Python checks them (`LoadOptions.strictSignatures`). */
  readonly strictSignatures: boolean;
  /** @internal */
  readonly graph: Graph;
  /** @internal */
  readonly session: Session;
  private closed = false;

  /** @internal use `load()` */
  constructor(path: string, tags: string[], parts: ModelParts, strictSignatures = true) {
    this.path = path;
    this.strictSignatures = strictSignatures;
    this.tags = [...tags].sort();
    this.format = parts.format;
    this.isHubModuleV1 = parts.format === 'tf1_hub_module';
    this.tensorflowVersion = parts.tensorflowVersion;
    this.graph = parts.graph;
    this.session = parts.session;
    const guard = <T>(fn: () => Promise<T>): Promise<T> => {
      if (this.closed) return Promise.reject(disposedError());
      try {
        return fn();
      } catch (e) {
        return Promise.reject(e);
      }
    };

    const signatures: Record<string, SignatureFunction> = {};
    for (const sig of parts.signatures) {
      const f = ((inputs?: unknown) => guard(() => sig.run(inputs))) as SignatureFunction;
      Object.defineProperties(f, {
        signatureName: { value: sig.name, enumerable: true },
        inputs: { value: Object.freeze({ ...sig.inputs }), enumerable: true },
        outputs: { value: Object.freeze({ ...sig.outputs }), enumerable: true },
        name: { value: sig.name },
      });
      signatures[sig.name] = f;
    }
    this.signatures = Object.freeze(signatures);

    const functions: Record<string, RestoredFunction> = {};
    for (const fn of parts.functions) {
      const f = ((...args: unknown[]) => {
        const [a, kw] = splitKwargs(args);
        return guard(() => fn.invoke(a, kw));
      }) as RestoredFunction;
      Object.defineProperties(f, {
        path: { value: fn.path, enumerable: true },
        concreteFunctions: { value: Object.freeze([...fn.concreteFunctions]), enumerable: true },
        callWithKwargs: {
          value: (args: unknown[] = [], kw: Record<string, unknown> = {}) => {
            if (!Array.isArray(args))
              return Promise.reject(typeError('ERR_INVALID_ARG_TYPE', 'callWithKwargs(args, kwargs): args must be an array'));
            return guard(() => fn.invoke(args, { ...kw }));
          },
        },
        name: { value: fn.path },
      });
      functions[fn.path] = f;
    }
    this.functions = Object.freeze(functions);

    const wrapVar = (v: ModelParts['variables'][number]): LoadedVariable =>
      Object.freeze({
        name: v.name,
        dtype: v.dtype,
        shape: v.shape,
        trainable: v.trainable,
        read: () => guard(() => v.read()),
      });
    const wrapped = new Map(parts.variables.map((v) => [v, wrapVar(v)]));
    this.variables = Object.freeze(parts.variables.map((v) => wrapped.get(v)!));
    this.trainableVariables = Object.freeze(parts.trainableVariables.map((v) => wrapped.get(v) ?? wrapVar(v)));
    this.regularizationLosses = Object.freeze(
      parts.regularizationLosses.map((p) => {
        const f = this.functions[p];
        return () =>
          f
            ? (f() as Promise<Tensor>)
            : Promise.reject(new TfhubError('ERR_NOT_CALLABLE', `regularization loss ${p} is not a restored function`));
      }),
    );
  }

  /** Whether the root object is callable (has a restored `__call__`). TF1 formats never are. */
  get callable(): boolean {
    return '__call__' in this.functions;
  }

  /**
   * Calls the root object (Python's `model(...)`, i.e. its restored `__call__`). Keyword arguments go in a
   * trailing `kwargs({...})`. Throws `ERR_NOT_CALLABLE` when there is no `__call__` (TF1 formats, Keras exports).
   */
  call(...args: unknown[]): Promise<StructuredOutput> {
    if (this.closed) return Promise.reject(disposedError());
    const f = this.functions.__call__;
    if (!f) {
      const why =
        this.format === 'tf2_saved_model'
          ? `the loaded object has no __call__ (restored functions: ${Object.keys(this.functions).join(', ') || 'none'}; signatures: ${Object.keys(this.signatures).join(', ') || 'none'})`
          : `a model in the ${this.format === 'tf1_hub_module' ? 'TF1 Hub' : 'TF1 SavedModel'} format is not callable; use model.signatures[name] (${Object.keys(this.signatures).join(', ')})`;
      return Promise.reject(new TfhubError('ERR_NOT_CALLABLE', `The loaded object is not callable: ${why}`));
    }
    return f(...args);
  }

  /** Whether close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Frees the session and graph (after in-flight calls finish). Idempotent. Later calls reject with `ERR_DISPOSED`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
    this.graph.dispose();
  }

  /** Same as close() (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as close() (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** e.g. `LoadedModel(/models/m, tf2_saved_model, tags=[serve])`. */
  toString(): string {
    return `LoadedModel(${this.path}, ${this.format}, tags=[${this.tags.join(', ')}])`;
  }
}
