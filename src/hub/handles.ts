/** `hub.load` on handles: the handle resolved (URL, archive, cache) by `hub.resolve`, then loaded. */
import { BatchingParameters, parseBatchingParameters } from '../batching';
import { withBatching } from './batching';
import { ResolveOptions, resolve } from './resolver';
import { LoadOptions, LoadedModel, load as loadSavedModel } from './tf2';

/** Options accepted wherever a handle is resolved: those of {@link resolve} (progress, cache, offline, …). */
export type HandleOptions = ResolveOptions;

/** Options of {@link load}: those of the loader, of {@link resolve}, and `batching`. */
export type HubLoadOptions = Omit<LoadOptions, 'resolve'> &
  HandleOptions & {
    /**
     * TF Serving's BatchingParameters (`{maxBatchSize, batchTimeoutMicros, …}` or the snake_case proto spelling):
     * signature functions then merge concurrent calls into one run (docs/batching.md). Checked before loading.
     */
    batching?: BatchingParameters;
  };

/**
 * Loads a SavedModel or TF1 Hub module from a handle (Python's `hub.load`): signatures, restored functions,
 * variables. Tags: exact set equality; default: the only meta graph, `['serve']` when present, `[]` for a TF1
 * Hub module. With `batching`, signature functions batch concurrent calls.
 */
export async function load(handle: string, options: HubLoadOptions = {}): Promise<LoadedModel> {
  const batching = options.batching === undefined ? undefined : parseBatchingParameters(options.batching);
  const model = await loadSavedModel(handle, { ...options, resolve: (h) => resolve(h, options) });
  return batching ? withBatching(model, batching) : model;
}
