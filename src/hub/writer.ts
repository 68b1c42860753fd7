/**
 * Writing model files: a new directory filled all or nothing, and a checkpoint (one SaveV2) of graph values.
 * Used by every export (hub.Module, ModuleSpec, hub.KerasLayer).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TfhubError, typeError } from '../errors';
import { Output } from '../graph';
import { Session } from '../session';
import { Variable } from '../variable';
import { saveV2, sliceSpec } from './saved_model';

/**
 * Creates directory `dir` with the content `fill` writes, all or nothing. `dir` must not exist or be empty
 * (`ERR_ALREADY_EXISTS` before anything is written): an export never lands in or over another model. `fill`
 * writes into a sibling temp directory that is renamed into place at the end, so a failure midway (a full disk,
 * a bad asset, a killed process) leaves no half-written model under `dir`.
 */
export async function writeNewDirectory(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw typeError('ERR_INVALID_ARG_TYPE', 'export path must be a non-empty string');
  const target = path.resolve(dir);
  const existing = await fs.readdir(target).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    if (e.code === 'ENOTDIR') throw new TfhubError('ERR_ALREADY_EXISTS', `${target} exists and is not a directory`, { cause: e });
    throw e;
  });
  if (existing && existing.length > 0) {
    const what = existing.includes('saved_model.pb') ? 'a model' : `${existing.length} entries`;
    throw new TfhubError(
      'ERR_ALREADY_EXISTS',
      `${target} already exists and is not empty (it holds ${what}); export into a new or empty directory`,
    );
  }
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = await fs.mkdtemp(`${target}.export-`);
  try {
    await fill(tmp);
    if (existing) await fs.rmdir(target); // empty, checked above; rename cannot replace a directory portably
    try {
      await fs.rename(tmp, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST')
        throw new TfhubError('ERR_ALREADY_EXISTS', `${target} appeared while exporting`, { cause: e });
      throw e;
    }
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Writes a checkpoint at `prefix`: each entry's `value` (an Output of the session's graph, e.g. a variable read)
 * under `key`, with its slice spec (`''` = whole). The SaveV2 op is built under `scope`; one run of `session`.
 */
export async function writeCheckpoint(
  session: Session,
  prefix: string,
  entries: Array<{ key: string; value: Output; slice?: string }>,
  scope = 'save',
): Promise<void> {
  if (entries.length === 0) return;
  const g = session.graph;
  const save = g.withNameScope(scope, () =>
    saveV2(g, { prefix, keys: entries.map((e) => e.key), slices: entries.map((e) => e.slice ?? ''), tensors: entries.map((e) => e.value) }),
  );
  await session.run([], undefined, { targets: [save] });
}

/** Saves `variables` under the given checkpoint keys with SaveV2 (one run of `session`; partitions by slice). */
export async function saveVariables(session: Session, entries: Array<{ key: string; variable: Variable }>, prefix: string): Promise<void> {
  await writeCheckpoint(
    session,
    prefix,
    entries.map((e) => ({
      key: e.key,
      value: e.variable.read(),
      slice: e.variable.saveSliceInfo ? sliceSpec(e.variable.saveSliceInfo) : '',
    })),
  );
}
