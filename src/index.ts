/**
 * tfhub-node: TensorFlow Hub for Node.js over the TensorFlow C API.
 *
 *   import { Tensor, Graph, Session, hub, train, serving } from 'tfhub-node';
 */
export * from './errors';
export { DType, DataTypeMap, NumericDType, isDType, canonicalDType } from './dtypes';
export { Tensor, TensorData, TensorOptions, tensor } from './tensor';
export {
  Graph,
  Operation,
  Output,
  OperationInput,
  AddOperationOptions,
  ImportGraphDefOptions,
  ImportResult,
  GradientOptions,
} from './graph';
export { Session, SessionOptions, Fetch, Fetches, Feeds, FeedValue, FetchResult, RunOptions } from './session';
export { DeviceSpec, DeviceOp, DeviceFunction, DeviceScope } from './device_scope';
export { Server, ServerOptions } from './distributed/server';
export { ClusterSpec } from './distributed/cluster';
export { tensorflowVersion, tensorflowLibraryPath } from './native';
export { opDefs, loadOpLibrary } from './registry';
/** Python's `tensorflow_hub` in camelCase: `hub.Module`, `hub.load`, `hub.resolve`, `hub.KerasLayer`, … */
export * as hub from './hub';
/** TensorFlow Serving in Node: `serving.ModelServer` (REST + gRPC + model lifecycle), as `tfhub-node serve` runs it. */
export * as serving from './serving';
/** Training: optimizers (`tf.compat.v1.train`), variables and gradient registration. */
export * as train from './train';
/** Dynamic batching with TF Serving's BatchingParameters: `createBatcher(run, params)` merges concurrent calls. */
export * as batching from './batching';
export { Variable, GraphKeys, SaveSliceInfo, variable, VariableOptions } from './variable';
