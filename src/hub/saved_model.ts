/**
 * Reading `saved_model.pb` and choosing a graph variant (meta graph) by tags, shared by hub.Module (TF1 Hub
 * format) and hub.load (TF2 SavedModels).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TfhubError } from '../errors';
import { readModelFile } from '../io/read_model_file';
import { checkObjectGraphRefs } from './object_graph_refs';
import { decodeSavedModel, tensorflow } from '../proto';

/** Reads and decodes `<dir>/saved_model.pb`. Errors name the file (code ERR_SAVED_MODEL_NOT_FOUND / INVALID_PROTO). */
export async function readSavedModel(dir: string): Promise<tensorflow.SavedModel> {
  const file = path.join(dir, 'saved_model.pb');
  let bytes: Buffer;
  try {
    bytes = await readModelFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const hasText = await fs.stat(path.join(dir, 'saved_model.pbtxt')).then(() => true, () => false);
      throw new TfhubError('ERR_SAVED_MODEL_NOT_FOUND', hasText
        ? `SavedModel directory ${dir} has only saved_model.pbtxt; the text format is not supported, write saved_model.pb`
        : `SavedModel file does not exist at: ${dir} (contains neither saved_model.pb nor saved_model.pbtxt)`, { cause: e });
    }
    throw e instanceof TfhubError ? e : new TfhubError('ERR_READ', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
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
  return JSON.stringify([...new Set(tags)].sort());
}

/** Python-style rendering of a tag set as a sorted list, e.g. `['gpu', 'serve']`; empty → `[]`. */
export function formatTags(tags: Iterable<string>): string {
  return `[${[...new Set(tags)].sort().map((t) => `'${t}'`).join(', ')}]`;
}

/** Every tag set in the SavedModel, sorted. */
export function availableTagSets(savedModel: tensorflow.ISavedModel): string[][] {
  return (savedModel.metaGraphs ?? []).map((mg) => [...new Set(metaGraphTags(mg))].sort())
    .sort((a, b) => a.length - b.length || (tagSetKey(a) < tagSetKey(b) ? -1 : tagSetKey(a) > tagSetKey(b) ? 1 : 0));
}

/**
 * The meta graph whose tag set equals `tags` exactly (as a set). Throws ERR_NO_SUCH_GRAPH_VARIANT naming the
 * requested set and listing the available ones.
 */
export function selectMetaGraph(savedModel: tensorflow.ISavedModel, tags: Iterable<string>, where = 'SavedModel'): tensorflow.IMetaGraphDef {
  const wanted = tagSetKey(tags);
  const found = (savedModel.metaGraphs ?? []).filter((mg) => tagSetKey(metaGraphTags(mg)) === wanted);
  if (found.length === 1) return found[0];
  if (found.length > 1) throw new TfhubError('ERR_DUPLICATE_TAGS', `Tags ${formatTags(tags)} used repeatedly in ${where}`);
  const available = availableTagSets(savedModel).map(formatTags).join(', ');
  throw new TfhubError('ERR_NO_SUCH_GRAPH_VARIANT',
    `No such graph variant: tags=${formatTags(tags)} in ${where}; available tag sets: [${available}]`);
}
