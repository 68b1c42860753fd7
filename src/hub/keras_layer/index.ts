/**
 * `hub.KerasLayer`: a SavedModel (or TF1 Hub module) as a layer of a graph the caller builds, for inference and
 * fine-tuning (Python's `hub.KerasLayer`).
 *
 * For a TF2 SavedModel, `apply` builds the model into the caller's graph with the restored functions *inlined*
 * (src/inline.ts), so `graph.addGradients` works through them. The layer's variables are created once per
 * (layer, graph) as `VarHandleOp`s under the layer's scope; each Variable's `initializer` restores it from the
 * SavedModel's checkpoint (RestoreV2 by its object-graph key + AssignVariableOp), so
 * `graph.globalVariablesInitializer()` restores them. A TF1 Hub module is delegated to `hub.Module`.
 *
 *   const layer = await hub.KerasLayer.load('path/to/saved_model', { trainable: true });
 *   const y = layer.apply(graph, x) as Output;
 *   const grads = graph.addGradients(loss, layer.trainableWeights(graph));
 */
import { TfhubError, typeError } from '../../errors';
import { Graph, Output } from '../../graph';
import { Session } from '../../session';
import { Variable } from '../../variable';
import { Module } from '../module';
import { RevivalPlan } from '../object_graph';
import {
  chooseMetaGraph,
  resolveModelDir,
  isTf1HubModule,
  noSuchGraphVariant,
  readSavedModel,
  tagSetKey,
  tagsOption,
} from '../saved_model';
import { loadModuleSpecFromDir } from '../spec';
import { resolve } from '../resolver';
import { Structured } from '../tf2/structure';
import { invalid, isPlainObject } from './inputs';
import { Tf1Layer } from './tf1';
import { Tf2Layer } from './tf2';

/** Options of `KerasLayer.load` (Python's `hub.KerasLayer(handle, …)` arguments, camelCased). */
export interface KerasLayerOptions {
  /**
   * Whether the layer's variables are trained (default false): they go to the graph's `trainable_variables`
   * collection, `trainableWeights` lists them, the model's regularization losses are applied, and a `training`
   * argument of `__call__` receives `apply`'s `training` option (else always false).
   */
  trainable?: boolean;
  /**
   * Call this signature (`model.signatures[name]`) instead of the object's `__call__`; then exactly one of
   * `outputKey` / `signatureOutputsAsDict` must be set. For a TF1 Hub module the default is `'default'`.
   */
  signature?: string;
  /** Return only this output of the result (which must be a record). TF1 Hub module default: `'default'`. */
  outputKey?: string;
  /** Return every output of the signature as a record (needs `signature`, or a TF1 Hub module). */
  signatureOutputsAsDict?: boolean;
  /** Extra keyword arguments of every call (Python's `arguments`): JS values, Tensors or Outputs of the graph. */
  arguments?: Record<string, unknown>;
  /**
   * Tag set of the meta graph to load. Default as `hub.load`: `[]` for a TF1 Hub module, otherwise the only meta
   * graph or the one tagged exactly `['serve']`.
   */
  tags?: Iterable<string> | null;
  /** Base name of the layer's scope in each graph (made unique there; default `'keras_layer'`). */
  name?: string;
  /** Maps the handle to a local directory; default `hub.resolve` (paths, file:// and http(s) URLs, archives). */
  resolve?: (handle: string) => Promise<string> | string;
}

/** Options of `layer.apply`. */
export interface KerasLayerApplyOptions {
  /**
   * Training mode (default false). As in Python, a `training` argument of `__call__` receives
   * `trainable && training`; signatures and TF1 modules have none (a TF1 module's training variant is chosen
   * with `tags`).
   */
  training?: boolean;
}

/**
 * What `apply` returns: the called function's output structure made of graph Outputs — usually one Output, or
 * a record of Outputs for a signature with `signatureOutputsAsDict` (sparse/ragged values as records of Outputs).
 */
export type KerasLayerOutput = Structured<Output>;

/** Format of the model behind a layer. */
export type KerasLayerFormat = 'tf2_saved_model' | 'tf1_hub_module';

/**
 * A SavedModel as a layer of graphs the caller builds (Python's `hub.KerasLayer`). Make one with
 * `KerasLayer.load(handle, options)`; `apply(graph, inputs)` builds it into a graph (variables once per graph,
 * shared by every call there), `trainableWeights` / `nonTrainableWeights` / `losses` give what an optimizer
 * needs, `export(path, session)` writes the fine-tuned model.
 */
export class KerasLayer {
  /** The handle the layer was loaded from. */
  readonly handle: string;
  /** The model directory (after resolving the handle). */
  readonly path: string;
  /** `'tf2_saved_model'` (restored functions, inlined) or `'tf1_hub_module'` (through `hub.Module`). */
  readonly format: KerasLayerFormat;
  /** Whether the layer's variables are trained (fixed at load). */
  readonly trainable: boolean;
  /** The signature called, if any (`'default'` for a TF1 Hub module unless given). */
  readonly signature: string | undefined;
  /** The output returned, if any (`'default'` for a TF1 Hub module unless `signatureOutputsAsDict`). */
  readonly outputKey: string | undefined;
  /** Whether `apply` returns every output of the signature as a record. */
  readonly signatureOutputsAsDict: boolean;
  /** Extra keyword arguments of every call. */
  readonly arguments: Readonly<Record<string, unknown>> | undefined;
  /** Tag set of the loaded meta graph (sorted). */
  readonly tags: string[];
  /** Base name of the layer's scope in each graph. */
  readonly name: string;
  private impl!: Tf2Layer | Tf1Layer;

  private constructor(handle: string, dir: string, format: KerasLayerFormat, tags: string[], options: KerasLayerOptions) {
    this.handle = handle;
    this.path = dir;
    this.format = format;
    this.tags = tags;
    this.trainable = options.trainable ?? false;
    this.name = options.name ?? 'keras_layer';
    this.arguments = options.arguments ? Object.freeze({ ...options.arguments }) : undefined;
    let signature = options.signature;
    let outputKey = options.outputKey;
    const asDict = options.signatureOutputsAsDict ?? false;
    if (format === 'tf1_hub_module') {
      signature = signature || 'default';
      if (!asDict) outputKey = outputKey ?? 'default';
    }
    if (signature !== undefined && (outputKey !== undefined) === asDict) {
      throw invalid('When using a signature, either outputKey or signatureOutputsAsDict: true should be set (not both).');
    }
    if (signature === undefined && asDict) {
      throw invalid('signatureOutputsAsDict is only valid if specifying a signature (*or* for TF1 format models).');
    }
    this.signature = signature;
    this.outputKey = outputKey;
    this.signatureOutputsAsDict = asDict;
  }

  /**
   * Loads the model behind `handle` as a layer (Python's `hub.KerasLayer(handle, trainable=…, signature=…,
   * output_key=…, signature_outputs_as_dict=…, arguments=…, tags=…)`).
   *
   * TF2 SavedModels: without `signature` the root object's `__call__` is called (the concrete function chosen by
   * the inputs, `arguments` and — when it has one — the `training` argument); with `signature` that signature.
   * TF1 Hub modules (`tfhub_module.pb`): through `hub.Module`, trainable too (Python refuses that).
   *
   * Errors: `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` (bad options, as Python's ValueErrors),
   * `ERR_HANDLE_NOT_FOUND`, `ERR_SAVED_MODEL_NOT_FOUND`, `ERR_NO_SUCH_GRAPH_VARIANT`, `ERR_UNKNOWN_SIGNATURE`,
   * `ERR_NOT_CALLABLE` (no `__call__` and no `signature`), `ERR_UNSUPPORTED_SAVED_MODEL` (a TF1 SavedModel
   * without `tfhub_module.pb`).
   */
  static async load(handle: string, options: KerasLayerOptions = {}): Promise<KerasLayer> {
    if (typeof handle !== 'string' || handle === '')
      throw typeError('ERR_INVALID_ARG_TYPE', `KerasLayer.load(handle): expected a non-empty string, got ${String(handle)}`);
    if (!isPlainObject(options as unknown))
      throw typeError('ERR_INVALID_ARG_TYPE', 'KerasLayer.load(handle, options): options must be a plain object');
    for (const k of ['signature', 'outputKey', 'name'] as const) {
      if (options[k] !== undefined && (typeof options[k] !== 'string' || options[k] === ''))
        throw typeError('ERR_INVALID_ARG_TYPE', `option ${k} must be a non-empty string`);
    }
    for (const k of ['trainable', 'signatureOutputsAsDict'] as const) {
      if (options[k] !== undefined && typeof options[k] !== 'boolean')
        throw typeError('ERR_INVALID_ARG_TYPE', `option ${k} must be a boolean`);
    }
    if (options.arguments !== undefined && !isPlainObject(options.arguments))
      throw typeError('ERR_INVALID_ARG_TYPE', 'option arguments must be a plain object');
    const tagList = options.tags === undefined || options.tags === null ? undefined : tagsOption(options.tags, 'option tags');
    const dir = await resolveModelDir(handle, options.resolve ?? ((h) => resolve(h)));

    if (await isTf1HubModule(dir)) {
      const spec = await loadModuleSpecFromDir(dir);
      const tags = [...new Set(tagList ?? [])].sort();
      if (!spec.getTags().some((t) => tagSetKey(t) === tagSetKey(tags))) throw noSuchGraphVariant(tags, spec.getTags(), dir);
      const layer = new KerasLayer(handle, dir, 'tf1_hub_module', tags, options);
      layer.impl = new Tf1Layer(layer, spec, tags);
      return layer;
    }
    const savedModel = await readSavedModel(dir);
    const metaGraph = chooseMetaGraph(savedModel, dir, tagList, false);
    if ((metaGraph.objectGraphDef?.nodes?.length ?? 0) === 0) {
      throw new TfhubError(
        'ERR_UNSUPPORTED_SAVED_MODEL',
        `${dir} is a TF1 SavedModel (no object graph, no tfhub_module.pb): KerasLayer supports TF2 SavedModels and TF1 Hub modules; use hub.load(handle).signatures for it`,
      );
    }
    const plan = await RevivalPlan.create(dir, metaGraph);
    const tags = [...new Set(metaGraph.metaInfoDef?.tags ?? [])].sort();
    const layer = new KerasLayer(handle, dir, 'tf2_saved_model', tags, options);
    layer.impl = new Tf2Layer(layer, plan);
    return layer;
  }

  /**
   * Builds the layer into `graph` on `inputs` and returns its outputs (Python's `layer(inputs, training=…)`).
   * Inputs: an Output of `graph`, a Tensor or JS values (made constants); for a signature, a record keyed by its
   * input names (or the value of its only input). The first call in a graph creates the layer's variables
   * there (restored by `graph.globalVariablesInitializer()`); later calls share them.
   */
  apply(graph: Graph, inputs: unknown, options: KerasLayerApplyOptions = {}): KerasLayerOutput {
    if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'apply(graph, inputs): graph must be a Graph');
    if (options.training !== undefined && typeof options.training !== 'boolean')
      throw typeError('ERR_INVALID_ARG_TYPE', 'option training must be a boolean');
    return (
      this.impl instanceof Tf2Layer ? this.impl.apply(graph, inputs, !!options.training) : this.impl.apply(graph, inputs)
    ) as KerasLayerOutput;
  }

  /** The variables trained in `graph` (empty unless `trainable`), creating them there if needed (Python's `trainable_weights`). */
  trainableWeights(graph: Graph): Variable[] {
    return this.impl.weights(graph, true);
  }

  /** The other variables of the layer in `graph` (all of them unless `trainable`) (Python's `non_trainable_weights`). */
  nonTrainableWeights(graph: Graph): Variable[] {
    return this.impl.weights(graph, false);
  }

  /** `trainableWeights(graph)` followed by `nonTrainableWeights(graph)` (Python's `weights`). */
  weights(graph: Graph): Variable[] {
    return [...this.trainableWeights(graph), ...this.nonTrainableWeights(graph)];
  }

  /**
   * The model's regularization losses in `graph` (scalar Outputs; the same ones on every call), empty unless
   * `trainable`. They are also in the graph's `regularization_losses` collection: add one or the other to a
   * loss, not both.
   */
  losses(graph: Graph): Output[] {
    return this.impl.losses(graph);
  }

  /** Whether the layer was built in `graph` (by apply, weights or losses). */
  isBuiltIn(graph: Graph): boolean {
    return this.impl.built(graph) !== undefined;
  }

  /**
   * Writes the model with the variable values of `session` (whose graph the layer was applied in). TF2: a
   * SavedModel Python's `tf.saved_model.load` reads — `saved_model.pb`, `fingerprint.pb` and `assets/` copied,
   * `variables/` written with SaveV2 under the original checkpoint keys (the object graph and the tensors of
   * objects not created in the graph copied from the original checkpoint); `saved_model.pb` last. TF1 Hub
   * module: `hub.Module.export` (the TF1 Hub format). `dir` must be new or empty (`ERR_ALREADY_EXISTS`), and a failed
   * export leaves nothing there.
   */
  async export(dir: string, session: Session): Promise<void> {
    if (typeof dir !== 'string' || dir === '')
      throw typeError('ERR_INVALID_ARG_TYPE', 'export(path, session): path must be a non-empty string');
    if (!(session instanceof Session)) throw typeError('ERR_INVALID_ARG_TYPE', 'export(path, session): session must be a Session');
    return this.impl.export(dir, session);
  }

  /** The `hub.Module` a TF1 Hub module layer uses in `graph` (created if needed); null for a TF2 SavedModel. */
  moduleIn(graph: Graph): Module | null {
    return this.impl instanceof Tf1Layer ? this.impl.module(graph) : null;
  }

  /** e.g. `KerasLayer(/models/m, tf2_saved_model, trainable=true)`. */
  toString(): string {
    return `KerasLayer(${this.path}, ${this.format}, trainable=${this.trainable}${this.signature ? `, signature=${this.signature}` : ''})`;
  }
}
