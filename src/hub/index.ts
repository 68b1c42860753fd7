/**
 * The `hub` namespace: Python's `tensorflow_hub` names in camelCase.
 *   hub.loadModuleSpec, hub.Module, hub.evalFunctionForModule  (TF1 Hub format)
 *   hub.resolve                                               (handles, downloads, cache)
 */
import { promises as fs } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TfhubError } from '../errors';
import { ModuleSpec, loadModuleSpecFromDir } from './spec';
import { LoadOptions, LoadedModel, load as loadSavedModel } from './tf2';

export { Module, ModuleOptions, CallOptions, Variable, SaveSliceInfo, SparseOutputs, RaggedOutputs, ModuleOutput, ModuleInput, DenseInput, GraphKeys } from './module';
export { ModuleSpec, TagsOption, MessageDecoder, getUnsupportedCollections, SUPPORTED_COLLECTIONS } from './spec';
export { ParsedTensorInfo } from './tensor_info';
export { evalFunctionForModule, ModuleFunction, EvalOutput } from './eval_function';
export {
  LoadOptions, LoadedModel, isTf1HubModule, kwargs, Kwargs, ModelFormat, SignatureFunction, SignatureOutput, SparseValue,
  RaggedValue, RestoredFunction, ConcreteFunctionInfo, LoadedVariable, RegularizationLoss, TensorSpecInfo, StructuredOutput,
} from './tf2';
export { KerasLayer, KerasLayerOptions, KerasLayerApplyOptions, KerasLayerOutput, KerasLayerFormat } from './keras_layer';
export { createModuleSpec, addSignature, attachMessage, CreateModuleSpecOptions, SignatureTensor, saveVariables } from './export';

/** Options accepted wherever a handle is resolved. */
export interface HandleOptions {
  /** Progress of downloads. */
  onProgress?: (event: { bytes: number; total?: number; url: string }) => void;
}

/** Resolves a handle to a local directory (local paths and file:// URLs; remote handles via the resolver). */
export async function resolveHandle(handle: string, options: HandleOptions = {}): Promise<string> {
  if (typeof handle !== 'string' || handle === '') throw new TfhubError('ERR_INVALID_HANDLE', `Expected a string handle, got ${String(handle)}`);
  if (/^file:\/\//i.test(handle)) return fileURLToPath(handle);
  if (/^https?:\/\//i.test(handle)) {
    void options;
    throw new TfhubError('ERR_UNSUPPORTED_HANDLE', `remote handles are not supported yet: ${handle}`);
  }
  const st = await fs.stat(handle).catch(() => null);
  if (!st) throw new TfhubError('ERR_HANDLE_NOT_FOUND', `${handle} does not exist.`);
  return handle;
}

/**
 * Loads a SavedModel or TF1 Hub module from a handle (Python's `hub.load`): signatures, restored functions,
 * variables. Tags: exact set equality; default: the only meta graph, `['serve']` when present, `[]` for a TF1
 * Hub module.
 */
export async function load(handle: string, options: Omit<LoadOptions, 'resolve'> & HandleOptions = {}): Promise<LoadedModel> {
  return loadSavedModel(handle, { ...options, resolve: (h) => resolveHandle(h, options) });
}

/** Loads a TF1 Hub module spec from a handle (Python's `hub.load_module_spec`). */
export async function loadModuleSpec(handle: string, options: HandleOptions = {}): Promise<ModuleSpec> {
  return loadModuleSpecFromDir(await resolveHandle(handle, options));
}
