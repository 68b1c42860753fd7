/**
 * Reading `saved_model.pb` and choosing a graph variant (meta graph) by tags, shared by hub.Module (TF1 Hub
 * format), hub.load and hub.KerasLayer. The "No such graph variant" error is formatted here only.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TfhubError, typeError } from '../../errors';
import { decodeSavedModel, tensorflow } from '../../proto';
import { readModelFileOr } from '../../io/read_model_file';
import { checkObjectGraphRefs } from '../object_graph_refs';

/** Whether `p` exists (file or directory). */
export async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** Throws ERR_HANDLE_NOT_FOUND unless `dir` is an existing directory. */
async function checkModelDir(dir: string): Promise<void> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new TfhubError('ERR_HANDLE_NOT_FOUND', `${dir} does not exist.`);
  if (!st.isDirectory()) throw new TfhubError('ERR_HANDLE_NOT_FOUND', `${dir} is not a directory.`);
}

/**
 * The model directory of `handle`: `resolve(handle)`, which must give the path of an existing directory
 * (ERR_INVALID_ARG_TYPE / ERR_HANDLE_NOT_FOUND otherwise).
 */
export async function resolveModelDir(handle: string, resolve: (handle: string) => Promise<string> | string): Promise<string> {
  const dir = await resolve(handle);
  if (typeof dir !== 'string') throw typeError('ERR_INVALID_ARG_TYPE', `resolve(${handle}) must give a directory path, got ${String(dir)}`);
  await checkModelDir(dir);
  return dir;
}

/** Whether `dir` holds a model in the TF1 Hub format (has `tfhub_module.pb`, Python's `_is_hub_module_v1`). */
export async function isTf1HubModule(dir: string): Promise<boolean> {
  if (typeof dir !== 'string') throw typeError('ERR_INVALID_ARG_TYPE', `isTf1HubModule(dir): expected a string, got ${String(dir)}`);
  return exists(path.join(dir, 'tfhub_module.pb'));
}

/** Reads and decodes `<dir>/saved_model.pb`. Errors name the file (code ERR_SAVED_MODEL_NOT_FOUND / INVALID_PROTO). */
export async function readSavedModel(dir: string): Promise<tensorflow.SavedModel> {
  const file = path.join(dir, 'saved_model.pb');
  const bytes = await readModelFileOr(file, async (e) => {
    const hasText = await fs.stat(path.join(dir, 'saved_model.pbtxt')).then(
      () => true,
      () => false,
    );
    return new TfhubError(
      'ERR_SAVED_MODEL_NOT_FOUND',
      hasText
        ? `SavedModel directory ${dir} has only saved_model.pbtxt; the text format is not supported, write saved_model.pb`
        : `SavedModel file does not exist at: ${dir} (contains neither saved_model.pb nor saved_model.pbtxt)`,
      { cause: e },
    );
  });
  const savedModel = decodeSavedModel(bytes, file);
  checkObjectGraphRefs(savedModel, file);
  return savedModel;
}

/** The tags of a meta graph (possibly empty). */
export function metaGraphTags(metaGraph: tensorflow.IMetaGraphDef): string[] {
  return [...(metaGraph.metaInfoDef?.tags ?? [])];
}

/** A canonical, order-insensitive key for a tag set. */
export function tagSetKey(tags: Iterable<string>): string {
  return JSON.stringify([...new Set(tagsOption(tags))].sort());
}

/** Python-style rendering of a tag set as a sorted list, e.g. `['gpu', 'serve']`; empty → `[]`. */
export function formatTags(tags: Iterable<string>): string {
  return `[${[...new Set(tags)]
    .sort()
    .map((t) => `'${t}'`)
    .join(', ')}]`;
}

/** Every tag set in the SavedModel, sorted. */
export function availableTagSets(savedModel: tensorflow.ISavedModel): string[][] {
  return (savedModel.metaGraphs ?? [])
    .map((mg) => [...new Set(metaGraphTags(mg))].sort())
    .sort((a, b) => a.length - b.length || (tagSetKey(a) < tagSetKey(b) ? -1 : tagSetKey(a) > tagSetKey(b) ? 1 : 0));
}

/**
 * The error for a tag set no meta graph has: `No such graph variant: tags=[…] in <where>; available tag sets: […]`
 * (code ERR_NO_SUCH_GRAPH_VARIANT). `lead` replaces the first words where Python's message differs (ModuleSpec
 * getters: `SavedModelHandler has no graph with tags: `).
 */
export function noSuchGraphVariant(
  tags: Iterable<string>,
  available: Iterable<Iterable<string>>,
  where: string | null,
  lead = 'No such graph variant: tags=',
): TfhubError {
  return new TfhubError(
    'ERR_NO_SUCH_GRAPH_VARIANT',
    `${lead}${formatTags(tags)}${where ? ` in ${where}` : ''}; available tag sets: [${[...available].map(formatTags).join(', ')}]`,
  );
}

/**
 * The meta graph whose tag set equals `tags` exactly (as a set). Throws ERR_NO_SUCH_GRAPH_VARIANT naming the
 * requested set and listing the available ones.
 */
export function selectMetaGraph(
  savedModel: tensorflow.ISavedModel,
  tags: Iterable<string>,
  where = 'SavedModel',
): tensorflow.IMetaGraphDef {
  const wanted = tagSetKey(tags);
  const found = (savedModel.metaGraphs ?? []).filter((mg) => tagSetKey(metaGraphTags(mg)) === wanted);
  if (found.length === 1) return found[0];
  if (found.length > 1) throw new TfhubError('ERR_DUPLICATE_TAGS', `Tags ${formatTags(tags)} used repeatedly in ${where}`);
  throw noSuchGraphVariant(tags, availableTagSets(savedModel), where);
}

/** Checks a `tags` option: an iterable of strings (not a string); returns it as an array. */
export function tagsOption(tags: unknown, name = 'tags'): string[] {
  const list =
    typeof tags === 'string' ||
    typeof tags !== 'object' ||
    tags === null ||
    typeof (tags as Iterable<string>)[Symbol.iterator] !== 'function'
      ? null
      : [...(tags as Iterable<unknown>)];
  if (!list || list.some((t) => typeof t !== 'string'))
    throw typeError('ERR_INVALID_ARG_TYPE', `${name} must be an array of strings, got ${shown(list ?? tags)}`);
  return list as string[];
}

/** A value for an error message: JSON where it can be (cycles and bigints cannot), at most 200 characters. */
function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * The meta graph `hub.load` and `KerasLayer` use: by `tags`, else (TF1 Hub module) the one tagged `[]`, else the
 * only one, else the one tagged exactly `['serve']` (ERR_TAGS_REQUIRED otherwise).
 */
export function chooseMetaGraph(
  savedModel: tensorflow.ISavedModel,
  dir: string,
  tags: Iterable<string> | null | undefined,
  isHub: boolean,
): tensorflow.IMetaGraphDef {
  const where = `SavedModel at ${dir}`;
  const metaGraphs = savedModel.metaGraphs ?? [];
  if (metaGraphs.length === 0) {
    // An empty saved_model.pb decodes as a SavedModel with nothing in it: say so instead of asking for tags.
    throw new TfhubError(
      'ERR_INVALID_SAVED_MODEL',
      `${path.join(dir, 'saved_model.pb')} holds no MetaGraphDef (empty, or not a SavedModel)`,
    );
  }
  if (tags !== undefined && tags !== null) return selectMetaGraph(savedModel, tagsOption(tags), where);
  if (isHub) return selectMetaGraph(savedModel, [], where);
  if (metaGraphs.length === 1) return metaGraphs[0];
  const serve = metaGraphs.filter((mg) => formatTags(metaGraphTags(mg)) === "['serve']");
  if (serve.length === 1) return serve[0];
  throw new TfhubError(
    'ERR_TAGS_REQUIRED',
    `Loading this SavedModel requires the tags option: ${dir} has ${metaGraphs.length} meta graphs, with tag sets: [${availableTagSets(savedModel).map(formatTags).join(', ')}]`,
  );
}
