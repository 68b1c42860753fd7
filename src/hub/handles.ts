/** `hub.load` on handles: the handle resolved (URL, archive, cache) by `hub.resolve`, then loaded. */
import { ResolveOptions, resolve } from './resolver';
import { LoadOptions, LoadedModel, load as loadSavedModel } from './tf2';

/** Options accepted wherever a handle is resolved: those of {@link resolve} (progress, cache, offline, …). */
export type HandleOptions = ResolveOptions;

/**
 * Loads a SavedModel or TF1 Hub module from a handle (Python's `hub.load`): signatures, restored functions,
 * variables. Tags: exact set equality; default: the only meta graph, `['serve']` when present, `[]` for a TF1
 * Hub module.
 */
export async function load(handle: string, options: Omit<LoadOptions, 'resolve'> & HandleOptions = {}): Promise<LoadedModel> {
  return loadSavedModel(handle, { ...options, resolve: (h) => resolve(h, options) });
}
