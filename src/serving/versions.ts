/**
 * The versions of one model (TF Serving's per-model manager): finds the numeric version directories under the
 * base path, picks the ones the version policy asks for, loads new ones before they take traffic, and unloads
 * removed ones once their in-flight requests finish. A version that fails to load ends in `END` with its error
 * while the others keep serving.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError, TFError } from '../errors';
import { ModelConfigObject } from './config';
import { LoadSpec, Servable } from './servable';
import { runWarmup, WarmupOptions } from './warmup_replay';

/** How a model's versions are loaded: the servable's spec, plus warmup (null: off). */
export interface VersionLoadSpec extends LoadSpec {
  /** Replay `assets.extra/tf_serving_warmup_requests` before a version takes traffic (null: `--enable_model_warmup=false`). */
  warmup: WarmupOptions | null;
}

/** TF Serving's `ModelVersionStatus.State`. */
export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';
/** One entry of GetModelStatus: a version, its state and its status (`OK` or the TF code of its load error). */
export interface VersionStatus {
  /** The version number. */
  version: number;
  /** Where it is in its lifecycle. */
  state: VersionState;
  /** `OK`, or the TF code and message of its load error. */
  status: { errorCode: string; errorMessage: string };
}

interface VersionEntry {
  version: number;
  state: VersionState;
  error: TFError | null;
  servable: Servable | null;
  inflight: number;
  drained: (() => void) | null;
}

/** A version lent to one request; `release()` it when the request is done. */
export interface Lease {
  servable: Servable;
  release(): void;
}

/** The numeric version directories under `basePath` (names that are non-negative integers, e.g. `00000123`), by version. */
export async function listVersionDirs(basePath: string): Promise<Map<number, string>> {
  let names: string[];
  try {
    names = await fs.readdir(basePath);
  } catch {
    return new Map();
  }
  const out = new Map<number, string>();
  for (const n of names.sort()) {
    if (!/^\d+$/.test(n)) continue;
    const v = Number(n);
    if (!Number.isSafeInteger(v) || out.has(v)) continue;
    const st = await fs.stat(path.join(basePath, n)).catch(() => null);
    if (st?.isDirectory()) out.set(v, path.join(basePath, n));
  }
  return out;
}

/** The versions a policy wants from those on disk (`latest` with `numVersions` 1 by default). */
export function selectVersions(config: ModelConfigObject, available: Iterable<number>): number[] {
  const onDisk = [...available].sort((a, b) => a - b);
  const policy = config.modelVersionPolicy;
  if (policy?.all) return [...onDisk];
  if (policy?.specific) return onDisk.filter((v) => policy.specific!.versions.includes(v));
  const n = policy?.latest?.numVersions || 1;
  return onDisk.slice(-n);
}

/** See the module comment. */
export class ModelVersions {
  private readonly entries = new Map<number, VersionEntry>();
  private config: ModelConfigObject;
  private syncing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    config: ModelConfigObject,
    private readonly loadSpec: VersionLoadSpec,
    private readonly log: (line: string) => void,
  ) {
    this.config = config;
  }

  /** The model's name. */
  get name(): string {
    return this.config.name;
  }

  /** Replaces the config (policy, labels, base path); the next `sync()` applies it. */
  setConfig(config: ModelConfigObject): void {
    this.config = config;
  }

  /** Rescans the base path and loads/unloads to match the policy. Calls are serialized. */
  sync(): Promise<void> {
    const run = this.syncing.then(() => this.doSync());
    this.syncing = run.catch(() => undefined);
    return run;
  }

  private id(version: number): string {
    return `{name: ${this.config.name} version: ${version}}`;
  }

  private async doSync(): Promise<void> {
    if (this.closed) return;
    const dirs = await listVersionDirs(this.config.basePath);
    const wanted = new Set(selectVersions(this.config, dirs.keys()));
    const loads: Promise<void>[] = [];
    for (const v of wanted) {
      const e = this.entries.get(v);
      if (e && e.state !== 'END') continue;
      if (e && e.error) continue; // a failed version is not retried while it stays on disk
      loads.push(this.loadVersion(v, dirs.get(v)!));
    }
    await Promise.all(loads);
    // New versions are available before old ones stop taking traffic. As TF Serving's AvailabilityPreservingPolicy:
    // while no wanted version is available (a new one failed to load or warm up), the newest old one keeps serving.
    const unloads: Promise<void>[] = [];
    const old = [...this.entries.values()]
      .filter((e) => !wanted.has(e.version) && e.state === 'AVAILABLE')
      .sort((a, b) => a.version - b.version);
    const wantedServing = [...this.entries.values()].some((e) => wanted.has(e.version) && e.state === 'AVAILABLE');
    for (const e of wanted.size > 0 && !wantedServing ? old.slice(0, -1) : old) unloads.push(this.unloadVersion(e));
    for (const e of this.entries.values()) {
      if (!wanted.has(e.version) && e.state === 'END' && e.error) this.entries.delete(e.version);
    }
    await Promise.all(unloads);
  }

  private async loadVersion(version: number, dir: string): Promise<void> {
    const entry: VersionEntry = { version, state: 'LOADING', error: null, servable: null, inflight: 0, drained: null };
    this.entries.set(version, entry);
    this.log(`Loading servable version ${this.id(version)}`);
    const start = process.hrtime.bigint();
    const metrics = this.loadSpec.metrics;
    try {
      const servable = await Servable.load(dir, version, { ...this.loadSpec, modelName: this.config.name });
      if (this.loadSpec.warmup) {
        try {
          const n = await runWarmup(servable, dir, this.config.name, this.loadSpec.warmup, metrics);
          if (n > 0) this.log(`Finished reading warmup data for ${this.id(version)}: ${n} records`);
        } catch (e) {
          servable.close();
          metrics?.forgetVersion(this.config.name, version, Object.keys(servable.signatureDefs));
          throw e;
        }
      }
      metrics?.recordLoad(this.config.name, version, dir, true, Number(process.hrtime.bigint() - start) / 1000);
      if (this.closed) {
        servable.close();
        entry.state = 'END';
        return;
      }
      entry.servable = servable;
      entry.state = 'AVAILABLE';
      this.log(`Successfully loaded servable version ${this.id(version)}`);
    } catch (e) {
      metrics?.recordLoad(this.config.name, version, dir, false, Number(process.hrtime.bigint() - start) / 1000);
      entry.state = 'END';
      entry.error = e as TFError;
      this.log(`Loading servable version ${this.id(version)} failed: ${entry.error.code}: ${entry.error.message}`);
    }
  }

  private async unloadVersion(entry: VersionEntry): Promise<void> {
    entry.state = 'UNLOADING';
    if (entry.inflight > 0)
      await new Promise<void>((resolve) => {
        entry.drained = resolve;
      });
    if (entry.servable) this.loadSpec.metrics?.forgetVersion(this.config.name, entry.version, Object.keys(entry.servable.signatureDefs));
    entry.servable?.close();
    entry.servable = null;
    entry.state = 'END';
    this.log(`Successfully unloaded servable version ${this.id(entry.version)}`);
  }

  /** Unloads every version (after in-flight requests) and stops. */
  async close(): Promise<void> {
    this.closed = true;
    await this.syncing;
    await Promise.all([...this.entries.values()].filter((e) => e.state === 'AVAILABLE').map((e) => this.unloadVersion(e)));
  }

  /** The version a request asks for: a number, a label, or the latest available. */
  resolveVersion(version: number | undefined, label: string | undefined): number {
    if (version !== undefined && label !== undefined) {
      throw new InvalidArgumentError(`Both model version (${version}) and model version label (${label}) cannot be supplied.`);
    }
    if (label !== undefined) {
      const v = this.config.versionLabels?.[label];
      if (v === undefined) throw new InvalidArgumentError(`Unrecognized servable version label: ${label}`);
      return v;
    }
    if (version !== undefined) return version;
    let latest = -1;
    for (const e of this.entries.values()) if (e.state === 'AVAILABLE' && e.version > latest) latest = e.version;
    if (latest < 0) throw new NotFoundError(`Servable not found for request: Latest(${this.config.name})`);
    return latest;
  }

  /** Lends the version a request asks for; it is not unloaded before `release()`. */
  acquire(version: number | undefined, label: string | undefined): Lease {
    const v = this.resolveVersion(version, label);
    const e = this.entries.get(v);
    if (!e || e.state !== 'AVAILABLE' || !e.servable) {
      throw new NotFoundError(`Servable not found for request: Specific(${this.config.name}, ${v})`);
    }
    e.inflight++;
    let released = false;
    return {
      servable: e.servable,
      release: () => {
        if (released) return;
        released = true;
        if (--e.inflight === 0 && e.drained) {
          const d = e.drained;
          e.drained = null;
          d();
        }
      },
    };
  }

  /** GetModelStatus: every known version (newest first), or one. */
  status(version?: number): VersionStatus[] {
    const toStatus = (e: VersionEntry): VersionStatus => ({
      version: e.version,
      state: e.state,
      status: { errorCode: e.error ? e.error.code : 'OK', errorMessage: e.error ? e.error.message : '' },
    });
    if (version !== undefined) {
      const e = this.entries.get(version);
      if (!e) throw new NotFoundError(`Could not find version ${version} of model ${this.config.name}`);
      return [toStatus(e)];
    }
    const all = [...this.entries.values()].sort((a, b) => b.version - a.version).map(toStatus);
    if (all.length === 0) throw new NotFoundError(`Could not find any versions of model ${this.config.name}`);
    return all;
  }
}
