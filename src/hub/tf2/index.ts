/**
 * `hub.load`: TF2 SavedModels (signatures, restored tf.functions, the reusable SavedModel API) and TF1 Hub
 * modules / TF1 SavedModels (signatures only), as Python's `hub.load` / `tf.saved_model.load` return them.
 *
 *   const model = await load('path/to/saved_model');
 *   const y = await model.call(tensor([10, 20]));
 *   const out = await model.signatures.serving_default({ x: [[1, 2, 3]] });
 *   model.close();
 */
export { load, LoadOptions } from './load';
export { isTf1HubModule } from '../saved_model';
export {
  LoadedModel,
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
} from './model';
export { kwargs, Kwargs } from './structure';
