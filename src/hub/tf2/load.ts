/** `load(handle, options)`: Python's `hub.load` / `tf.saved_model.load` for TF2 SavedModels and TF1 formats. */
import * as os from 'node:os';
import * as path from 'node:path';
import { TfhubError, typeError } from '../../errors';
import { SessionOptions } from '../../session';
import { chooseMetaGraph, resolveModelDir, exists, isTf1HubModule, metaGraphTags, readSavedModel } from '../saved_model';
import { loadTf1Model } from '../load_v1';
import { LoadedModel } from './model';
import { loadObjectGraphModel } from '../object_graph';

/** Options of `load`. */
export interface LoadOptions {
  /**
   * The meta graph's tag set (exact set equality, order-insensitive). Default: `[]` for a TF1 Hub module;
   * otherwise the only meta graph, or the one tagged exactly `['serve']` when there are several.
   */
  tags?: Iterable<string> | null;
  /**
   * Options of the model's Session (threads, GPU memory, …). `inline` defaults to true here: each call runs its
   * ops on the thread that runs the call, which halves small-batch latency (bench/RESULTS.md); concurrent calls
   * still run in parallel. Pass `{inline: false}` for graphs whose independent branches should run in parallel
   * within one call. `allowSoftPlacement` defaults to true, as in Python: ops pinned to a device this machine
   * lacks (`tf.device('/gpu:0')` at export) run where they can; pass `{allowSoftPlacement: false}` to refuse them.
   * `inlineFunctions` defaults to true here: a signature's function body runs in the session's own step instead of
   * a nested function call (about 50 µs less per call; bench/RESULTS.md §5); `{inlineFunctions: false}` keeps the
   * call op. On machines with at most {@link NO_SPIN_MAX_CORES} cores `disableThreadSpinning` defaults to true: TF's
   * idle pool threads then sleep instead of polling for work, which there takes cores from the thread running the
   * call and from the event loop (batch-1 latency 0.5–0.8×, bench/RESULTS.md §5g).
   */
  session?: SessionOptions;
  /** Maps a handle (URL, archive, …) to a local directory; default: the handle is a directory path. */
  resolve?: (handle: string) => Promise<string> | string;
  /**
   * Python's signature checks (default true): a call whose input shape does not fit the declared TensorSpec is
   * refused, and a TF1 signature naming a graph tensor of another dtype than it declares fails the load. `false`
   * is TF Serving's behaviour: inputs of any shape are fed as given (the graph decides; dtypes are still checked),
   * and such a signature fails only when it is called.
   */
  strictSignatures?: boolean;
}

/** The most cores on which `load` turns TF's thread spinning off by default (measured at 2; TF's default above). */
export const NO_SPIN_MAX_CORES = 4;

/** @internal The session options `load` uses unless the caller's say otherwise. */
export function loadSessionDefaults(cores: number = os.availableParallelism()): SessionOptions {
  // Python's defaults: soft placement (a graph pinned to '/gpu:0' runs on the CPU).
  const defaults: SessionOptions = { inline: true, allowSoftPlacement: true, inlineFunctions: true };
  if (cores <= NO_SPIN_MAX_CORES) defaults.disableThreadSpinning = true;
  return defaults;
}

/**
 * Loads a SavedModel (TF2, with restored tf.functions) or a TF1 Hub module / TF1 SavedModel (signatures only),
 * as Python's `hub.load(handle, tags)` does. The returned model owns one Session; `close()` it when done.
 *
 * Errors: `ERR_INVALID_ARG_TYPE` (handle not a string), `ERR_HANDLE_NOT_FOUND` (no such directory),
 * `ERR_SAVED_MODEL_NOT_FOUND` (neither saved_model.pb nor saved_model.pbtxt), `ERR_NO_SUCH_GRAPH_VARIANT`
 * (no meta graph with exactly these tags; the message lists the available tag sets), `ERR_TAGS_REQUIRED`,
 * `ERR_MISSING_OPS` (custom ops not loaded), TensorFlow errors from restoring.
 */
export async function load(handle: string, options: LoadOptions = {}): Promise<LoadedModel> {
  if (typeof handle !== 'string' || handle === '')
    throw typeError('ERR_INVALID_ARG_TYPE', `Expected a string, got ${handle === '' ? "''" : String(handle)}`);
  const resolved = await resolveModelDir(handle, options.resolve ?? ((h) => h));
  const isHub = await isTf1HubModule(resolved);
  const hasPb = await exists(path.join(resolved, 'saved_model.pb'));
  if (!hasPb && !(await exists(path.join(resolved, 'saved_model.pbtxt')))) {
    throw new TfhubError(
      'ERR_SAVED_MODEL_NOT_FOUND',
      `Trying to load a model of incompatible/unknown type. '${resolved}' contains neither 'saved_model.pb' nor 'saved_model.pbtxt'.`,
    );
  }
  const savedModel = await readSavedModel(resolved);
  const metaGraph = chooseMetaGraph(savedModel, resolved, options.tags, isHub);
  const tags = [...new Set(metaGraphTags(metaGraph))].sort();
  const hasObjectGraph = !isHub && (metaGraph.objectGraphDef?.nodes?.length ?? 0) > 0;
  const strictSignatures = options.strictSignatures !== false;
  const sessionOptions: SessionOptions = {
    ...loadSessionDefaults(),
    checkFeedShapes: strictSignatures,
    ...options.session, // explicit options win
  };
  const parts = hasObjectGraph
    ? await loadObjectGraphModel(resolved, metaGraph, sessionOptions, strictSignatures)
    : await loadTf1Model(resolved, metaGraph, isHub, sessionOptions, strictSignatures);
  return new LoadedModel(resolved, tags, parts, strictSignatures);
}
