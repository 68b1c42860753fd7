/**
 * `Saver`: Python's `tf.compat.v1.train.Saver` — V2 checkpoints (`<prefix>.index` + `<prefix>.data-*-of-*`)
 * written by SaveV2 (sharded: one SaveV2 per device then MergeV2Checkpoints) and read back by RestoreV2, plus
 * the `checkpoint` state file, so Python restores what Node saves and the other way round.
 */
import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TfhubError, typeError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import { readCheckpointIndex } from '../hub/checkpoint';
import { restoreV2, saveV2, sliceSpec } from '../hub/saved_model/checkpoint_ops';
import { Session } from '../session';
import { GraphKeys, Variable } from '../variable';
import { getCheckpointState, writeCheckpointState } from './checkpoint_state';

/** Options of `new Saver(options)`. */
export interface SaverOptions {
  /** The variables to save: a list (keyed by op name, as Python) or a record of checkpoint key → variable. Default: the graph's global variables when the saver is first used. */
  varList?: Variable[] | Record<string, Variable>;
  /** The graph (default: the varList's, else the session's at the first save or restore). */
  graph?: Graph;
  /** How many recent checkpoints to keep (default 5; 0 or null keeps all). */
  maxToKeep?: number | null;
  /** One checkpoint shard per device of the variables (default false). */
  sharded?: boolean;
  /** Write paths in the state file relative to its directory (default false: absolute). */
  saveRelativePaths?: boolean;
  /** Name scope of the saver's ops (default `save`). */
  name?: string;
}

/** Options of `saver.save`. */
export interface SaveOptions {
  /** Appended to the prefix as `-<step>`: a number, or a variable / scalar output read in the session. */
  globalStep?: number | Variable | Output;
  /** Update the directory's `checkpoint` state file (default true). */
  writeState?: boolean;
  /** Name of the state file (default `checkpoint`). */
  latestFilename?: string;
}

interface Built {
  filename: Output;
  save: Output;
  restore: Operation;
  keys: string[];
  vars: Variable[];
}

function shardSuffix(i: number, n: number): string {
  return `data-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}`;
}

function sliceSpecOf(v: Variable): string {
  return v.saveSliceInfo ? sliceSpec(v.saveSliceInfo) : '';
}

/** Saves and restores variables as V2 checkpoints, keeping the last `maxToKeep`. */
export class Saver {
  /** How many checkpoints are kept (0: all). */
  readonly maxToKeep: number;
  /** Whether checkpoints are sharded by device. */
  readonly sharded: boolean;
  private readonly options: SaverOptions;
  private built: Built | null = null;
  private graph: Graph | null;
  private last: Array<{ path: string; time: number }> = [];
  private readonly createdAt = Date.now() / 1000;

  constructor(options: SaverOptions = {}) {
    if (!options || typeof options !== 'object') throw typeError('ERR_INVALID_ARG_TYPE', 'new Saver(options): options must be an object');
    const keep = options.maxToKeep ?? 0;
    if (options.maxToKeep === undefined) this.maxToKeep = 5;
    else if (!Number.isInteger(keep) || keep < 0)
      throw typeError('ERR_INVALID_ARG_VALUE', `maxToKeep must be a non-negative integer, got ${String(options.maxToKeep)}`);
    else this.maxToKeep = keep;
    this.sharded = options.sharded === true;
    this.options = options;
    const list = options.varList === undefined ? [] : Array.isArray(options.varList) ? options.varList : Object.values(options.varList);
    this.graph = options.graph ?? list[0]?.graph ?? null;
    if (this.graph) this.build(this.graph);
  }

  /** Checkpoint prefixes this saver kept, oldest first. */
  get lastCheckpoints(): string[] {
    return this.last.map((c) => c.path);
  }

  /**
   * Saves the variables' values in `session` to `prefix` (`prefix-<globalStep>` with a step) and returns that
   * checkpoint path; old checkpoints beyond `maxToKeep` are deleted and the state file updated.
   */
  async save(session: Session, prefix: string, options: SaveOptions = {}): Promise<string> {
    if (!(session instanceof Session)) throw typeError('ERR_INVALID_ARG_TYPE', 'saver.save(session, prefix): session must be a Session');
    if (typeof prefix !== 'string' || prefix === '')
      throw typeError('ERR_INVALID_ARG_TYPE', 'saver.save(session, prefix): prefix must be a non-empty string');
    const b = this.forSession(session);
    let step = options.globalStep;
    if (step instanceof Variable || step instanceof Output) {
      const t = await session.run(step instanceof Variable ? step.value() : step);
      step = Number(t.array() as number | bigint);
      t.dispose();
    }
    if (step !== undefined && (typeof step !== 'number' || !Number.isInteger(step)))
      throw typeError('ERR_INVALID_ARG_TYPE', `globalStep must be an integer, got ${String(step)}`);
    const ckpt = path.resolve(step === undefined ? prefix : `${prefix}-${step}`);
    const dir = path.dirname(ckpt);
    if (!existsSync(dir)) throw new TfhubError('ERR_CHECKPOINT_DIR', `Parent directory of ${ckpt} doesn't exist, can't save.`);
    const out = await session.run(b.save, { [b.filename.name]: ckpt });
    out.dispose();
    if (this.maxToKeep > 0) {
      this.last = this.last.filter((c) => c.path !== ckpt);
      this.last.push({ path: ckpt, time: Date.now() / 1000 });
      while (this.last.length > this.maxToKeep) await deleteCheckpoint(this.last.shift()!.path);
    }
    if (options.writeState ?? true) {
      const kept = this.maxToKeep > 0 ? this.last : [{ path: ckpt, time: Date.now() / 1000 }];
      const rel = (p: string) => (this.options.saveRelativePaths ? path.relative(dir, p) : p);
      await writeCheckpointState(
        dir,
        {
          modelCheckpointPath: rel(ckpt),
          allModelCheckpointPaths: kept.map((c) => rel(c.path)),
          allModelCheckpointTimestamps: kept.map((c) => c.time),
          lastPreservedTimestamp: this.createdAt,
        },
        options.latestFilename,
      );
    }
    return ckpt;
  }

  /**
   * Restores the variables from checkpoint `checkpointPath`. The index is checked first (every key present
   * with the variable's dtype and shape, data files long enough) and TF verifies each tensor's checksum before
   * any variable is assigned: a missing or corrupt checkpoint is a typed error and leaves the variables as they were.
   */
  async restore(session: Session, checkpointPath: string): Promise<void> {
    if (!(session instanceof Session)) throw typeError('ERR_INVALID_ARG_TYPE', 'saver.restore(session, path): session must be a Session');
    if (typeof checkpointPath !== 'string' || checkpointPath === '')
      throw typeError('ERR_INVALID_ARG_TYPE', 'saver.restore(session, path): path must be a non-empty string');
    const b = this.forSession(session);
    await checkCheckpoint(checkpointPath, b);
    await session.run([], { [b.filename.name]: checkpointPath }, { targets: [b.restore] });
  }

  /** Remembers checkpoints saved earlier (e.g. from the state file after a restart), for maxToKeep. */
  recoverLastCheckpoints(paths: string[], times?: number[]): void {
    this.last = paths.map((p, i) => ({ path: p, time: times?.[i] ?? Date.now() / 1000 }));
  }

  /** Reads `dir`'s state file into `lastCheckpoints` (what a restarted trainer does before saving again). */
  async recoverFromDirectory(dir: string): Promise<void> {
    const s = await getCheckpointState(dir);
    if (s) this.recoverLastCheckpoints(s.allModelCheckpointPaths, s.allModelCheckpointTimestamps);
  }

  private forSession(session: Session): Built {
    if (!this.built) this.build(session.graph);
    if (this.graph !== session.graph) throw new TfhubError('ERR_GRAPH_MISMATCH', "the session does not run the saver's graph");
    return this.built!;
  }

  private build(g: Graph): void {
    const { keys, vars } = this.variables(g);
    this.graph = g;
    this.built = g.withNameScope(this.options.name ?? 'save', () =>
      g.withDevice(null, () => {
        const filename = g.placeholder('string', [], 'Const');
        const slices = vars.map(sliceSpecOf);
        // Group by device: one shard per device when sharded, one for all otherwise.
        const groups = new Map<string, number[]>();
        vars.forEach((v, i) => {
          const d = this.sharded ? v.op.device : '';
          if (!groups.has(d)) groups.set(d, []);
          groups.get(d)!.push(i);
        });
        const devices = [...groups.keys()].sort();
        const pick = <T>(xs: T[], idx: number[]) => idx.map((i) => xs[i]);
        let save: Output;
        if (!this.sharded) {
          const op = saveV2(g, { prefix: filename, keys, slices, tensors: vars.map((v) => v.read()) });
          save = g
            .addOperation('Identity', { name: g.uniqueName('control_dependency'), inputs: [filename], controlInputs: [op] })
            .output(0);
        } else {
          const tmp = g
            .addOperation('StringJoin', {
              inputs: [[filename, g.constant(`_temp_${randomBytes(16).toString('hex')}/part`, 'StringJoin/inputs_1', 'string')]],
            })
            .output(0);
          const n = g.constant(devices.length, 'num_shards', 'int32');
          const prefixes: Output[] = [];
          const saves: Operation[] = [];
          devices.forEach((d, shard) =>
            g.withDevice(d, () => {
              const idx = groups.get(d)!;
              const sf = g
                .addOperation('ShardedFilename', { inputs: [tmp, g.constant(shard, 'ShardedFilename/shard', 'int32'), n] })
                .output(0);
              prefixes.push(sf);
              saves.push(
                saveV2(g, { prefix: sf, keys: pick(keys, idx), slices: pick(slices, idx), tensors: pick(vars, idx).map((v) => v.read()) }),
              );
            }),
          );
          const merge = g.withDevice(devices[devices.length - 1], () =>
            g.addOperation('MergeV2Checkpoints', {
              inputs: [g.addOperation('Pack', { inputs: [prefixes], attrs: { N: prefixes.length } }).output(0), filename],
              attrs: { delete_old_dirs: true },
              controlInputs: saves,
            }),
          );
          save = g.addOperation('Identity', { inputs: [filename], controlInputs: [merge] }).output(0);
        }
        // Restores: one RestoreV2 per group; every assignment waits for all of them, so a failed read assigns nothing.
        const restored: Output[] = new Array(vars.length);
        const restoreOps: Operation[] = [];
        for (const d of devices)
          g.withDevice(this.sharded ? d : '', () => {
            const idx = groups.get(d)!;
            const op = restoreV2(g, {
              prefix: filename,
              keys: pick(keys, idx),
              slices: pick(slices, idx),
              dtypes: pick(vars, idx).map((v) => v.dtype),
            });
            restoreOps.push(op);
            idx.forEach((i, j) => {
              restored[i] = op.output(j);
            });
          });
        const ready = g.addOperation('NoOp', { name: g.uniqueName('restore_ready'), controlInputs: restoreOps });
        const assigns = vars.map((v, i) =>
          v.assign(g.addOperation('Identity', { inputs: [restored[i]], controlInputs: [ready] }).output(0), 'Assign'),
        );
        const restore = g.addOperation('NoOp', { name: g.uniqueName('restore_all'), controlInputs: assigns });
        return { filename, save, restore, keys, vars };
      }),
    );
  }

  private variables(g: Graph): { keys: string[]; vars: Variable[] } {
    const list = this.options.varList;
    let entries: Array<[string, Variable]>;
    if (list === undefined)
      entries = g.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES).map((v) => [v.saveSliceInfo?.fullName ?? v.opName, v]);
    else if (Array.isArray(list)) entries = list.map((v) => [v instanceof Variable ? (v.saveSliceInfo?.fullName ?? v.opName) : '', v]);
    else if (list && typeof list === 'object') entries = Object.entries(list);
    else throw typeError('ERR_INVALID_ARG_TYPE', 'varList must be an array or a record of Variables');
    const seen = new Set<string>();
    for (const [key, v] of entries) {
      if (!(v instanceof Variable)) throw typeError('ERR_INVALID_ARG_TYPE', `varList: ${String(v)} is not a Variable`);
      if (v.graph !== g) throw new TfhubError('ERR_GRAPH_MISMATCH', `variable ${v.name} belongs to another graph`);
      const id = `${key}\0${sliceSpecOf(v)}`;
      if (seen.has(id)) throw new TfhubError('ERR_INVALID_ARG_VALUE', `At least two variables have the same name: ${key}`);
      seen.add(id);
    }
    if (entries.length === 0) throw new TfhubError('ERR_NO_VARIABLES', 'No variables to save');
    return { keys: entries.map(([k]) => k), vars: entries.map(([, v]) => v) };
  }
}

/** Checks a checkpoint against the variables before anything is assigned. */
async function checkCheckpoint(prefix: string, b: Built): Promise<void> {
  let index;
  try {
    index = await readCheckpointIndex(prefix);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new TfhubError('ERR_CHECKPOINT_NOT_FOUND', `Failed to find any matching files for ${prefix} (no ${prefix}.index)`);
    if (e instanceof TfhubError) throw e;
    throw new TfhubError('ERR_INVALID_CHECKPOINT', `${prefix}.index cannot be read: ${(e as Error).message}`, { cause: e });
  }
  const sizes = new Map<number, number>();
  for (let i = 0; i < index.numShards; i++) {
    const file = `${prefix}.${shardSuffix(i, index.numShards)}`;
    try {
      sizes.set(i, (await fs.stat(file)).size);
    } catch {
      throw new TfhubError('ERR_INVALID_CHECKPOINT', `checkpoint data file ${file} is missing`);
    }
  }
  const missing = b.keys.filter((k) => !index.entries.has(k));
  if (missing.length > 0)
    throw new TfhubError('ERR_CHECKPOINT_KEY_NOT_FOUND', `Key ${missing.join(', ')} not found in checkpoint ${prefix}`);
  b.vars.forEach((v, i) => {
    const key = b.keys[i];
    const e = index.entries.get(key)!;
    if (e.dtype !== v.dtype)
      throw new TfhubError('ERR_CHECKPOINT_DTYPE', `checkpoint ${prefix}: ${key} is ${e.dtype}, the variable ${v.dtype}`);
    const want = v.saveSliceInfo ? v.saveSliceInfo.fullShape : v.shape;
    if (want && e.shape && (want.length !== e.shape.length || want.some((d, j) => d >= 0 && d !== e.shape![j]))) {
      throw new TfhubError(
        'ERR_CHECKPOINT_SHAPE',
        `checkpoint ${prefix}: ${key} has shape [${e.shape.join(', ')}], the variable [${want.join(', ')}]`,
      );
    }
    if (!e.sliced && e.offset + e.size > (sizes.get(e.shardId) ?? 0)) {
      throw new TfhubError(
        'ERR_INVALID_CHECKPOINT',
        `checkpoint ${prefix}: the data of ${key} lies past the end of shard ${e.shardId} (truncated file)`,
      );
    }
  });
}

/** Deletes a checkpoint's files (index, data shards, meta graph), as Python's Saver does past maxToKeep. */
async function deleteCheckpoint(prefix: string): Promise<void> {
  const dir = path.dirname(prefix);
  const base = path.basename(prefix);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (n === `${base}.index` || n === `${base}.meta` || (n.startsWith(`${base}.data-`) && /\.data-\d{5}-of-\d{5}$/.test(n))) {
      await fs.rm(path.join(dir, n), { force: true });
    }
  }
}
