/**
 * The `hub` namespace: Python's `tensorflow_hub` names in camelCase.
 *   hub.loadModuleSpec, hub.Module, hub.evalFunctionForModule  (TF1 Hub format)
 *   hub.resolve                                               (handles, downloads, cache)
 */
import { ResolveOptions, resolve } from './resolver';
import { ModuleSpec, loadModuleSpecFromDir } from './spec';
import { LoadOptions, LoadedModel, load as loadSavedModel } from './tf2';
import { BatchingParameters, parseBatchingParameters, withBatching } from '../serving/batching';

export { Module, ModuleOptions, CallOptions, Variable, SaveSliceInfo, SparseOutputs, RaggedOutputs, ModuleOutput, ModuleInput, DenseInput, GraphKeys } from './module';
export { ModuleSpec, TagsOption, MessageDecoder, getUnsupportedCollections, SUPPORTED_COLLECTIONS } from './spec';
export { ParsedTensorInfo } from './tensor_info';
export { evalFunctionForModule, ModuleFunction, EvalOutput } from './eval_function';
export {
  LoadOptions, LoadedModel, isTf1HubModule, kwargs, Kwargs, ModelFormat, SignatureFunction, SignatureOutput, SparseValue,
  RaggedValue, RestoredFunction, ConcreteFunctionInfo, LoadedVariable, RegularizationLoss, TensorSpecInfo, StructuredOutput,
} from './tf2';
export { KerasLayer, KerasLayerOptions, KerasLayerApplyOptions, KerasLayerOutput, KerasLayerFormat } from './keras_layer';
export {
  resolve, ResolveOptions, ResolveError, ResolveErrorCode, ResolveErrorDetails, ProgressEvent, resolveCacheDir,
  cachedModulePath,
} from './resolver';
export { createModuleSpec, addSignature, attachMessage, CreateModuleSpecOptions, SignatureTensor, saveVariables } from './export';

/** Options accepted wherever a handle is resolved: those of {@link resolve} (progress, cache, offline, …). */
export type HandleOptions = ResolveOptions;

/**
 * Loads a SavedModel or TF1 Hub module from a handle (Python's `hub.load`): signatures, restored functions,
 * variables. Tags: exact set equality; default: the only meta graph, `['serve']` when present, `[]` for a TF1
 * Hub module. `batching`: TF Serving's BatchingParameters; signature functions then batch concurrent calls.
 */
export async function load(handle: string, options: Omit<LoadOptions, 'resolve'> & HandleOptions & { batching?: BatchingParameters } = {}): Promise<LoadedModel> {
  // batching: signature functions merge concurrent calls (docs/batching.md); checked before anything loads.
  const batching = options.batching === undefined ? undefined : parseBatchingParameters(options.batching);
  const model = await loadSavedModel(handle, { ...options, resolve: (h) => resolve(h, options) });
  return batching ? withBatching(model, batching) : model;
}

/** Loads a TF1 Hub module spec from a handle (Python's `hub.load_module_spec`). */
export async function loadModuleSpec(handle: string, options: HandleOptions = {}): Promise<ModuleSpec> {
  return loadModuleSpecFromDir(await resolve(handle, options));
}
