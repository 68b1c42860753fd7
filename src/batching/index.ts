/** Server-side dynamic batching (TF Serving's `BatchingParameters` semantics) for signature functions. */
export {
  createBatcher,
  Batcher,
  BatcherOptions,
  BatcherStats,
  BatchCallOptions,
  BatchingHooks,
  BatchRunInfo,
  TensorFunction,
} from './batcher';
export { BatchingParameters, ResolvedBatchingParameters, DEFAULT_BATCHING_PARAMETERS, parseBatchingParameters } from './params';
export { QueueDepth } from './queue';
