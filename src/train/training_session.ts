/**
 * `TrainingSession`: a small `tf.compat.v1.train.MonitoredTrainingSession`. The chief initializes the
 * variables or restores them from the latest checkpoint of `checkpointDir`, saves on a schedule and at the end;
 * other workers wait until the chief has initialized the (shared, ps-placed) variables. Stops at a step.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TfhubError, typeError } from '../errors';
import { Graph } from '../graph';
import { Feeds, Fetches, FetchResult, RunOptions, Session, SessionOptions } from '../session';
import { GraphKeys, Variable } from '../variable';
import { getGlobalStep } from './optimizer';
import { Saver } from './saver';
import { latestCheckpoint } from './checkpoint_state';

/** A hook called around training runs (Python's `SessionRunHook`, reduced to what runs need). */
export interface TrainingHook {
  /** Called once the session is ready (initialized or restored). */
  begin?(info: { globalStep: number; restoredFrom: string | null }): void | Promise<void>;
  /** Called after each run with the global step after it; return `'stop'` to request a stop. */
  afterRun?(info: { globalStep: number; results: unknown }): void | 'stop' | Promise<void | 'stop'>;
  /** Called at close(), after the final checkpoint. */
  end?(info: { globalStep: number }): void | Promise<void>;
}

/** Options of `new TrainingSession(graph, options)`. */
export interface TrainingSessionOptions {
  /** Where checkpoints are saved and restored from (none: no checkpoints). */
  checkpointDir?: string;
  /** Save every this many global steps (chief). */
  saveCheckpointSteps?: number;
  /** Save when this many seconds passed since the last save (chief; default 600 when neither is given, as Python). */
  saveCheckpointSecs?: number;
  /** Session target, e.g. this worker's `server.target`. */
  target?: string;
  /** Whether this task initializes, restores and saves (default true). */
  isChief?: boolean;
  /** Hooks called around runs. */
  hooks?: TrainingHook[];
  /** Stop once the global step reaches this (Python's StopAtStepHook(last_step)). */
  lastStep?: number;
  /** Other session options (device counts, soft placement …). */
  config?: Omit<SessionOptions, 'target'>;
  /** The saver (default: a Saver of the global variables, maxToKeep 5). */
  saver?: Saver;
  /** How long a non-chief waits for the chief's initialization (ms, default 60000). */
  waitForChiefMs?: number;
}

/** A session for training loops: initialization or restore, scheduled checkpoints, hooks and a stop step. */
export class TrainingSession {
  /** The underlying session. */
  readonly session: Session;
  /** The graph trained. */
  readonly graph: Graph;
  private readonly options: TrainingSessionOptions;
  private readonly globalStep: Variable;
  private readonly saver: Saver | null;
  private readyPromise: Promise<void> | null = null;
  private step = 0;
  private lastSaveStep = -1;
  private lastSaveTime = Date.now();
  private stopRequested = false;
  /** The checkpoint restored at start, if any. */
  restoredFrom: string | null = null;

  constructor(graph: Graph, options: TrainingSessionOptions = {}) {
    if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'new TrainingSession(graph, options): graph must be a Graph');
    for (const k of ['saveCheckpointSteps', 'saveCheckpointSecs', 'lastStep', 'waitForChiefMs'] as const) {
      const v = options[k];
      if (v !== undefined && (typeof v !== 'number' || !(v > 0)))
        throw typeError('ERR_INVALID_ARG_VALUE', `${k} must be a positive number, got ${String(v)}`);
    }
    const step = getGlobalStep(graph);
    if (!step)
      throw new TfhubError('ERR_NO_VARIABLES', 'TrainingSession needs a global step: call train.getOrCreateGlobalStep(graph) before');
    this.graph = graph;
    this.options = options;
    this.globalStep = step;
    this.saver = options.checkpointDir ? (options.saver ?? new Saver({ graph })) : null;
    this.session = new Session(graph, { ...(options.config ?? {}), target: options.target });
  }

  /** The global step after the last run. */
  get currentStep(): number {
    return this.step;
  }

  /** Whether a hook or `lastStep` asked to stop. */
  get shouldStop(): boolean {
    return this.stopRequested;
  }

  /** Initializes (chief) or waits for the chief (others); runs once, before the first run. */
  ready(): Promise<void> {
    if (!this.readyPromise) this.readyPromise = this.prepare();
    return this.readyPromise;
  }

  /** One training run (after `ready()`), then the hooks and the checkpoint schedule. */
  run<F extends Fetches>(fetches: F, feeds?: Feeds, options?: RunOptions): Promise<FetchResult<F>>;
  async run(fetches: Fetches, feeds?: Feeds, options?: RunOptions): Promise<unknown> {
    await this.ready();
    const results = await (this.session.run.bind(this.session) as (f: unknown, fd?: Feeds, o?: RunOptions) => Promise<unknown>)(
      fetches,
      feeds,
      options,
    );
    // A read fetched with the train op may run before the increment: read the step after the run.
    this.step = await this.readStep();
    if (this.options.lastStep !== undefined && this.step >= this.options.lastStep) this.stopRequested = true;
    for (const h of this.options.hooks ?? [])
      if ((await h.afterRun?.({ globalStep: this.step, results })) === 'stop') this.stopRequested = true;
    await this.maybeSave(false);
    return results;
  }

  /** Saves a last checkpoint (chief), calls the hooks' `end`, closes the session. */
  async close(): Promise<void> {
    try {
      if (this.readyPromise) {
        await this.readyPromise;
        // Other workers may have stepped since this one's last run: save at the global step now (as Python's
        // CheckpointSaverHook.end reads it).
        this.step = await this.readStep();
        await this.maybeSave(true);
        for (const h of this.options.hooks ?? []) await h.end?.({ globalStep: this.step });
      }
    } finally {
      this.session.close();
    }
  }

  private async prepare(): Promise<void> {
    const chief = this.options.isChief ?? true;
    if (chief) {
      // As Python's checkpoint hook (its summary writer makes the directory).
      if (this.options.checkpointDir) await fs.mkdir(this.options.checkpointDir, { recursive: true });
      const latest = this.options.checkpointDir ? await latestCheckpoint(this.options.checkpointDir) : null;
      if (latest && this.saver) {
        await this.saver.recoverFromDirectory(this.options.checkpointDir!);
        await this.saver.restore(this.session, latest);
        this.restoredFrom = latest;
      } else {
        await this.session.run([], {}, { targets: [this.graph.globalVariablesInitializer()] });
      }
    } else {
      await this.waitForInitialization();
    }
    this.step = await this.readStep();
    this.lastSaveStep = this.step;
    this.lastSaveTime = Date.now();
    if (this.options.lastStep !== undefined && this.step >= this.options.lastStep) this.stopRequested = true;
    for (const h of this.options.hooks ?? []) await h.begin?.({ globalStep: this.step, restoredFrom: this.restoredFrom });
  }

  private async readStep(): Promise<number> {
    const t = await this.session.run(this.globalStep.value());
    const v = Number(t.array());
    t.dispose();
    return v;
  }

  private async waitForInitialization(): Promise<void> {
    const vars = this.graph.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES);
    const checks = this.graph.withDevice(null, () =>
      this.graph.withNameScope('report_uninitialized', () =>
        vars.map((v) =>
          (v.isResource
            ? this.graph.addOperation('VarIsInitializedOp', { inputs: [v.handle] })
            : this.graph.addOperation('IsVariableInitialized', { inputs: [v.handle], attrs: { dtype: v.dtype } })
          ).output(0),
        ),
      ),
    );
    const deadline = Date.now() + (this.options.waitForChiefMs ?? 60_000);
    for (;;) {
      const ts = await this.session.run(checks);
      const ok = ts.every((t) => t.array() === true);
      for (const t of ts) t.dispose();
      if (ok) return;
      if (Date.now() > deadline)
        throw new TfhubError(
          'ERR_CHIEF_TIMEOUT',
          `the chief did not initialize the variables within ${this.options.waitForChiefMs ?? 60_000} ms`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async maybeSave(final: boolean): Promise<void> {
    if (!this.saver || !(this.options.isChief ?? true) || this.step === this.lastSaveStep) return;
    const o = this.options;
    const bySteps = o.saveCheckpointSteps !== undefined && this.step - this.lastSaveStep >= o.saveCheckpointSteps;
    const secs = o.saveCheckpointSecs ?? (o.saveCheckpointSteps === undefined ? 600 : undefined);
    const bySecs = secs !== undefined && Date.now() - this.lastSaveTime >= secs * 1000;
    if (!final && !bySteps && !bySecs) return;
    await this.saver.save(this.session, path.join(o.checkpointDir!, 'model.ckpt'), { globalStep: this.step });
    this.lastSaveStep = this.step;
    this.lastSaveTime = Date.now();
  }
}
