/**
 * Where a model's asset lives: `<dir>/assets/<filename>`, refused when the filename leaves `assets/` (tensorflow_hub's
 * `_get_asset_filename` rule, applied by every loader here: hub.Module specs, and hub.load for TF1 and TF2 formats).
 */
import * as path from 'node:path';
import { TfhubError } from '../errors';

/** The path of asset `filename` of the model in `dir`; `ERR_INVALID_ASSET` when it points outside `dir/assets`. */
export function assetPath(dir: string, filename: string): string {
  const assetsDir = path.resolve(dir, 'assets');
  const target = path.join(dir, 'assets', filename);
  const abs = path.resolve(target);
  if (filename === '' || !(abs === assetsDir || abs.startsWith(assetsDir + path.sep))) {
    throw new TfhubError('ERR_INVALID_ASSET', `Asset filename (${filename}) points outside assets_dir`);
  }
  return target;
}
