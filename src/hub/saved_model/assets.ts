/**
 * Assets of a SavedModel: the one rule that keeps an asset inside `<dir>/assets` (a hostile `filename` such as
 * `../../etc/passwd` is refused), and the rewriting of TF1 Hub asset Consts to the real paths.
 */
import * as path from 'node:path';
import { TfhubError } from '../../errors';
import { tensorflow, unpackAny } from '../../proto';

/** Collection holding AssetFileDefs in the TF1 Hub format (tf.saved_model.ASSETS_KEY). */
export const ASSETS_COLLECTION = 'saved_model_assets';

/** The op name of a tensor or control-input name (`^name`, `name:0` → `name`). */
export function opName(tensorName: string): string {
  return tensorName.replace(/^\^/, '').replace(/:\d+$/, '');
}

/**
 * The path of asset `filename` of the SavedModel in `dir`: `<dir>/assets/<filename>`. Throws ERR_INVALID_ASSET
 * when the name is empty or leads outside `<dir>/assets`.
 */
export function assetPath(dir: string, filename: string): string {
  const assetsDir = path.resolve(dir, 'assets');
  const target = path.join(dir, 'assets', filename);
  const abs = path.resolve(target);
  if (filename === '' || !(abs === assetsDir || abs.startsWith(assetsDir + path.sep))) {
    throw new TfhubError('ERR_INVALID_ASSET', `Asset filename (${filename}) points outside assets_dir`);
  }
  return target;
}

/**
 * Rewrites each TF1 Hub asset Const (listed in the `saved_model_assets` collection of `metaGraph`) among the
 * nodes of `graphDef` to its path under `<dir>/assets` (Python's hub load). Returns whether the collection exists.
 */
export function rewriteHubAssets(metaGraph: tensorflow.IMetaGraphDef, graphDef: tensorflow.IGraphDef, dir: string): boolean {
  const collection = metaGraph.collectionDef?.[ASSETS_COLLECTION];
  if (!collection) return false;
  const nodes = new Map((graphDef.node ?? []).map((n) => [n.name, n]));
  for (const any of collection.anyList?.value ?? []) {
    const asset = unpackAny(any, tensorflow.AssetFileDef, `asset in ${dir}`);
    const target = assetPath(dir, asset.filename ?? '');
    const tensorName = asset.tensorInfo?.name ?? '';
    const node = nodes.get(opName(tensorName));
    if (!node || node.op !== 'Const' || !node.attr?.value?.tensor) {
      throw new TfhubError('ERR_INVALID_ASSET', `asset tensor ${tensorName} is not a string Const in ${dir}`);
    }
    node.attr.value.tensor.stringVal = [new TextEncoder().encode(target)];
  }
  return true;
}
