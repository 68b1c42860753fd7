/**
 * The `hub` namespace: Python's `tensorflow_hub` names in camelCase.
 *   hub.loadModuleSpec, hub.Module, hub.evalFunctionForModule  (TF1 Hub format)
 *   hub.resolve                                               (handles, downloads, cache)
 */
export {
  Module,
  ModuleOptions,
  CallOptions,
  Variable,
  SaveSliceInfo,
  SparseOutputs,
  RaggedOutputs,
  ModuleOutput,
  ModuleInput,
  DenseInput,
  GraphKeys,
} from './module';
export { ModuleSpec, TagsOption, MessageDecoder, getUnsupportedCollections, SUPPORTED_COLLECTIONS, loadModuleSpec } from './spec';
export { load, HandleOptions, HubLoadOptions } from './handles';
export { BatchedSignatureFunction, batchSignature, whyNotBatchable, withBatching } from './batching';
export { ParsedTensorInfo } from './saved_model';
export { evalFunctionForModule, ModuleFunction, EvalOutput } from './eval_function';
export {
  LoadOptions,
  LoadedModel,
  isTf1HubModule,
  kwargs,
  Kwargs,
  ModelFormat,
  SignatureFunction,
  SignatureOutput,
  SparseValue,
  RaggedValue,
  RestoredFunction,
  ConcreteFunctionInfo,
  LoadedVariable,
  RegularizationLoss,
  TensorSpecInfo,
  StructuredOutput,
} from './tf2';
export { KerasLayer, KerasLayerOptions, KerasLayerApplyOptions, KerasLayerOutput, KerasLayerFormat } from './keras_layer';
export {
  resolve,
  ResolveOptions,
  ResolveError,
  ResolveErrorCode,
  ResolveErrorDetails,
  ProgressEvent,
  resolveCacheDir,
  cachedModulePath,
} from './resolver';
export { createModuleSpec, addSignature, attachMessage, CreateModuleSpecOptions, SignatureTensor } from './export';
export { saveVariables } from './writer';
