/**
 * Writing the TF1 Hub format (Python's tensorflow_hub 0.15, semantics doc §1): `ModuleSpec.export` and
 * `Module.export` write through here — assets collected into `saved_model_assets`, variables into
 * `variables/variables`, `saved_model.pb`, and `tfhub_module.pb` last, all or nothing.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { dtypeFromTf } from '../dtypes';
import { TfhubError } from '../errors';
import { Graph } from '../graph';
import {
  decodeSavedModel,
  decodeVariableDef,
  dimsOf,
  encodeModuleDef,
  encodeSavedModel,
  google,
  tensorflow,
  tensorflow_hub,
  toSafeNumber,
} from '../proto';
import { Session } from '../session';
import { GraphKeys } from '../variable';
import { CheckpointIndex } from './checkpoint';
import { readValidatedCheckpoint } from './checkpoint_validate';
import { copyModelFile } from '../io/read_model_file';
import { ASSETS_COLLECTION, formatShape, isShapeCompatible, opName, restoreV2, selectMetaGraph, sliceSpec } from './saved_model';
import { writeCheckpoint, writeNewDirectory } from './writer';

const ASSET_PLACEHOLDER = 'SAVEDMODEL-ASSET';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options of `ModuleSpec.export`. */
export interface SpecExportOptions {
  /** Restore the variables from this checkpoint instead of the spec's own. */
  checkpointPath?: string;
  /** Maps a variable's module-relative checkpoint key to its key in `checkpointPath`. */
  nameTransform?: (key: string) => string;
}

/**
 * Python's `_make_assets_key_collection`: each asset Const becomes `SAVEDMODEL-ASSET` plus an AssetFileDef;
 * returns source path → exported file name (same basenames of different files get suffixes 0, 1, …).
 */
function makeAssetsCollection(savedModel: tensorflow.SavedModel): Map<string, string> {
  const exported = new Map<string, string>();
  const used = new Set<string>();
  for (const mg of savedModel.metaGraphs) {
    const collection = mg.collectionDef?.[GraphKeys.ASSET_FILEPATHS];
    if (!collection) continue;
    if (!collection.nodeList) throw new TfhubError('ERR_INVALID_ASSET', 'MetaGraph collection ASSET_FILEPATHS is not a list of tensors.');
    const nodes = new Map((mg.graphDef?.node ?? []).map((n) => [n.name, n]));
    const defs: tensorflow.IAssetFileDef[] = [];
    for (const tensorName of collection.nodeList.value ?? []) {
      if (!tensorName.endsWith(':0')) throw new TfhubError('ERR_INVALID_ASSET', 'Unexpected tensor in ASSET_FILEPATHS collection.');
      const node = nodes.get(tensorName.slice(0, -2));
      if (!node || node.op !== 'Const') throw new TfhubError('ERR_INVALID_ASSET', 'Asset node must be of type constant.');
      const t = node.attr?.value?.tensor;
      if (!t || t.dtype !== tensorflow.DataType.DT_STRING) throw new TfhubError('ERR_INVALID_ASSET', 'Asset node must be of dtype string.');
      if ((t.tensorShape?.dim?.length ?? 0) !== 0 || (t.stringVal?.length ?? 0) !== 1)
        throw new TfhubError('ERR_INVALID_ASSET', 'Asset node must be a scalar.');
      const source = decoder.decode(t.stringVal![0]);
      if (source === ASSET_PLACEHOLDER) continue;
      let name = exported.get(source);
      if (name === undefined) {
        const base = path.basename(source);
        name = base;
        for (let i = 0; used.has(name); i++) name = `${base}${i}`;
        used.add(name);
        exported.set(source, name);
      }
      t.stringVal = [encoder.encode(ASSET_PLACEHOLDER)];
      defs.push({ tensorInfo: { name: tensorName }, filename: name });
    }
    defs.sort((a, b) => (a.tensorInfo!.name! < b.tensorInfo!.name! ? -1 : 1));
    if (defs.length > 0) {
      mg.collectionDef![ASSETS_COLLECTION] = {
        anyList: {
          value: defs.map((d) =>
            google.protobuf.Any.create({
              typeUrl: 'type.googleapis.com/tensorflow.AssetFileDef',
              value: tensorflow.AssetFileDef.encode(d).finish(),
            }),
          ),
        },
      };
    }
  }
  return exported;
}

/** Writes a TF1 Hub module with the graph variants of `source`; `writeVariables` fills `<dir>/variables/variables`. */
export async function writeModule(
  source: tensorflow.ISavedModel,
  dir: string,
  writeVariables: ((prefix: string) => Promise<void>) | null,
): Promise<void> {
  const savedModel = decodeSavedModel(encodeSavedModel(source), 'module spec');
  const assets = makeAssetsCollection(savedModel);
  await writeNewDirectory(dir, async (tmp) => {
    await fs.mkdir(path.join(tmp, 'assets'));
    await fs.mkdir(path.join(tmp, 'variables'));
    for (const [source, name] of assets) {
      try {
        await copyModelFile(source, path.join(tmp, 'assets', name));
      } catch (e) {
        throw new TfhubError('ERR_ASSET_COPY', `cannot copy asset ${source}: ${(e as Error).message}`, { cause: e });
      }
    }
    if (writeVariables) await writeVariables(path.join(tmp, 'variables', 'variables'));
    await fs.writeFile(path.join(tmp, 'saved_model.pb'), encodeSavedModel(savedModel));
    // Last: its presence marks a complete module.
    await fs.writeFile(path.join(tmp, 'tfhub_module.pb'), encodeModuleDef({ format: tensorflow_hub.ModuleDef.Format.FORMAT_V3 }), {
      flag: 'wx',
    });
  });
}

/** A variable of a module's graph as its checkpoint keys it (what `Module` makes of its `variables` collection). */
interface ModuleVariable {
  readonly key: string;
  readonly name: string;
  readonly dtype: ReturnType<typeof dtypeFromTf>;
  readonly shape: number[] | null;
  readonly slice: string;
  /** Offset of a partition in its first dimension (0 for a whole variable). */
  readonly offset: number;
}

/** The variables in `Module.variables` order: by key, partitions by offset. */
function moduleVariables(metaGraph: tensorflow.IMetaGraphDef): ModuleVariable[] {
  const nodes = new Map((metaGraph.graphDef?.node ?? []).map((n) => [n.name ?? '', n]));
  const list: ModuleVariable[] = (metaGraph.collectionDef?.[GraphKeys.GLOBAL_VARIABLES]?.bytesList?.value ?? []).map((bytes) => {
    const def = decodeVariableDef(bytes, 'variable');
    const op = opName(def.variableName ?? '');
    const node = nodes.get(op);
    if (!node) throw new TfhubError('ERR_INVALID_MODULE', `variable ${def.variableName} is not in the module's graph`);
    const s = def.saveSliceInfoDef;
    const info = s?.fullName
      ? {
          fullShape: (s.fullShape ?? []).map((v) => toSafeNumber(v, 'full_shape')),
          varOffset: (s.varOffset ?? []).map((v) => toSafeNumber(v, 'var_offset')),
          varShape: (s.varShape ?? []).map((v) => toSafeNumber(v, 'var_shape')),
        }
      : null;
    return {
      key: s?.fullName || op,
      name: `module/${op}:0`,
      dtype: dtypeFromTf(node.attr?.dtype?.type ?? 0),
      shape: info ? info.fullShape : dimsOf(node.attr?.shape?.shape ?? { unknownRank: true }),
      slice: info ? sliceSpec(info) : '',
      offset: info?.varOffset[0] ?? 0,
    };
  });
  return list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.offset - b.offset));
}

/**
 * Writes a spec (its `savedModel`, checkpoint `own` or none) as a TF1 Hub module at `dir` (Python's
 * `ModuleSpec.export`). With `checkpointPath`, each variable of the default graph variant is copied from that
 * checkpoint under its (transformed) module-relative key, shapes checked first; else `own` is copied.
 */
export async function exportSpec(
  savedModel: tensorflow.ISavedModel,
  own: string | null,
  dir: string,
  options: SpecExportOptions = {},
): Promise<void> {
  const from = options.checkpointPath;
  if (!from) {
    return writeModule(
      savedModel,
      dir,
      own
        ? async (prefix) => {
            for (const f of await fs.readdir(path.dirname(own))) {
              if (f.startsWith(path.basename(own) + '.'))
                await copyModelFile(path.join(path.dirname(own), f), path.join(path.dirname(prefix), f), {
                  maxBytes: Number.MAX_SAFE_INTEGER,
                });
            }
          }
        : null,
    );
  }
  const variables = moduleVariables(selectMetaGraph(savedModel, [], 'module spec'));
  const transform = options.nameTransform ?? ((k: string) => k);
  await checkCheckpointFits(
    from,
    variables.map((v) => ({ key: transform(v.key), name: v.name, shape: v.shape })),
  );
  const graph = new Graph();
  try {
    const restore = graph.withNameScope('restore', () =>
      restoreV2(graph, {
        prefix: from,
        keys: variables.map((v) => transform(v.key)),
        slices: variables.map((v) => v.slice),
        dtypes: variables.map((v) => v.dtype),
      }),
    );
    const session = new Session(graph);
    try {
      await writeModule(savedModel, dir, (prefix) =>
        writeCheckpoint(
          session,
          prefix,
          variables.map((v, i) => ({ key: v.key, value: restore.output(i), slice: v.slice })),
        ),
      );
    } finally {
      session.close();
    }
  } finally {
    graph.dispose();
  }
}

/**
 * Checks, before anything runs, that the checkpoint holds every variable under its key with its shape, with
 * Python's messages (`init_from_checkpoint`): TF's own errors would come from inside a restore op.
 */
async function checkCheckpointFits(prefix: string, wanted: Array<{ key: string; name: string; shape: number[] | null }>): Promise<void> {
  let index: CheckpointIndex;
  try {
    index = await readValidatedCheckpoint(prefix);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new TfhubError('ERR_CHECKPOINT_NOT_FOUND', `No checkpoint at ${prefix} (${prefix}.index does not exist).`);
    throw e;
  }
  for (const w of wanted) {
    const entry = index.entries.get(w.key);
    if (!entry)
      throw new TfhubError(
        'ERR_CHECKPOINT_KEY_NOT_FOUND',
        `Tensor ${w.key} is not found in ${prefix} checkpoint (for variable ${w.name}).`,
      );
    if (!isShapeCompatible(entry.shape, w.shape)) {
      throw new TfhubError(
        'ERR_CHECKPOINT_SHAPE',
        `Shape of variable ${w.name} ${formatShape(w.shape)} doesn't match with shape of tensor ${w.key} ${formatShape(entry.shape)} from checkpoint reader.`,
      );
    }
  }
}
