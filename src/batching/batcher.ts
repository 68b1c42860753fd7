/**
 * `createBatcher(run, params)`: server-side dynamic batching with TF Serving's BatchingParameters semantics.
 * Concurrent calls are merged along dimension 0 into one run of `run`, whose outputs are split back per call.
 */
import { performance } from 'node:perf_hooks';
import { TFError, UnavailableError } from '../errors';
import { Tensor } from '../tensor';
import { BatchingParameters, ResolvedBatchingParameters, parseBatchingParameters } from './params';
import { Batch, BatchQueue, QueueDepth, Task, mergeKeyOf } from './queue';
import { concatRows, splitRows } from './rows';

/** A function of named input tensors to named output tensors (a signature), as the batcher takes and gives it. */
export type TensorFunction = (inputs: Record<string, Tensor>) => Promise<Record<string, Tensor>>;

/** Per-call options of a batched function. */
export interface BatchCallOptions {
  /**
   * Aborting it takes the call out of the queue before it runs: the call rejects with `DeadlineExceededError`
   * when the reason is a `TimeoutError` (`AbortSignal.timeout(ms)`), the reason itself when it is a TF error,
   * else `CancelledError`. Once its batch runs, the call completes normally.
   */
  signal?: AbortSignal;
}

/** What one run of the underlying function did, for metrics. */
export interface BatchRunInfo {
  /** Calls served by the run. */
  readonly calls: number;
  /** Rows the calls brought. */
  readonly rows: number;
  /** Rows of the run after padding to an allowed batch size. */
  readonly batchSize: number;
  /** Padding rows (`batchSize - rows`). */
  readonly padding: number;
  /** How long each call waited in the queue, in microseconds. */
  readonly queueMicros: readonly number[];
  /** Duration of the run, in microseconds. */
  readonly runMicros: number;
  /** Whether the calls were merged into one run (false: one call, or the calls ran one by one). */
  readonly merged: boolean;
}

/** Observation hooks (metrics plug in here). A hook that throws is reported as a process warning and ignored. */
export interface BatchingHooks {
  /** The queue changed: waiting calls, rows and batches. */
  onQueueDepth?(depth: QueueDepth): void;
  /** A batch ran. */
  onBatch?(info: BatchRunInfo): void;
  /** A call was refused or dropped before running (queue full, too large, deadline, cancelled, closed). */
  onReject?(error: TFError): void;
  /** Merging stopped for good: the outputs did not have the batch dimension (`reason` says which). */
  onMergeDisabled?(reason: string): void;
}

/** Options of {@link createBatcher}. */
export interface BatcherOptions {
  /**
   * Whether every output has the batch dimension (its dimension 0 is the merged batch size). Default true:
   * checked on every merged run; the first run whose outputs do not have it is re-run call by call and merging
   * stops for good. `false`: never merge (every call runs alone, still under the queue limits).
   */
  outputsHaveBatchDim?: boolean;
  /** Observation hooks. */
  hooks?: BatchingHooks;
}

/** Counters of a batcher. */
export interface BatcherStats extends QueueDepth {
  /** Batches running now (at most `numBatchThreads`). */
  readonly running: number;
  /** Why merging is off (null while it is on). */
  readonly mergeDisabled: string | null;
}

/** A batched function: call it as the function it wraps, plus per-call options. */
export interface Batcher {
  /** Queues the call; resolves to its own outputs (rows split from the merged run). */
  (inputs: Record<string, Tensor>, options?: BatchCallOptions): Promise<Record<string, Tensor>>;
  /** The checked parameters in force. */
  readonly parameters: ResolvedBatchingParameters;
  /** Queue depth, running batches, merge state. */
  stats(): BatcherStats;
  /** Refuses new calls (UnavailableError), runs what is queued at once, resolves when nothing is left running. */
  close(): Promise<void>;
}

function safeHook<A extends unknown[]>(fn: ((...a: A) => void) | undefined, ...args: A): void {
  if (!fn) return;
  try {
    fn(...args);
  } catch (e) {
    process.emitWarning(`a batching hook threw: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function disposeAll(records: Array<Record<string, Tensor>>, keep: Set<Tensor>): void {
  for (const r of records) for (const t of Object.values(r)) if (t instanceof Tensor && !keep.has(t)) t.dispose();
}

/**
 * Wraps `run` so that concurrent calls are merged into one run along dimension 0 (TF Serving's batching).
 * Calls that cannot be merged (other input keys, dtypes or trailing shapes unless `padVariableLengthInputs`,
 * scalars, inputs of different dimension-0 sizes, empty batches) go into other batches or run alone; a merged
 * run whose outputs lack the batch dimension is re-run call by call (never a wrong split). A merged run that
 * fails is re-run call by call too, so each call gets the answer it would get alone.
 * Errors at once, without queueing: `UnavailableError` (queue full, or closed), `InvalidArgumentError` (a call
 * larger than `maxBatchSize`), the abort error when the signal is already aborted.
 * @param params BatchingParameters (camelCase, or TF Serving's snake_case with `{value}` wrappers)
 */
export function createBatcher(
  run: TensorFunction,
  params: BatchingParameters | Record<string, unknown> = {},
  options: BatcherOptions = {},
): Batcher {
  const parameters = parseBatchingParameters(params);
  const hooks = options.hooks ?? {};
  let mergeDisabled: string | null = options.outputsHaveBatchDim === false ? 'outputsHaveBatchDim is false' : null;
  let running = 0;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Infinity;
  let dispatchPending = false;
  const idle: Array<() => void> = [];
  const queue = new BatchQueue(
    parameters,
    () => safeHook(hooks.onQueueDepth, queue.depth()),
    (e) => safeHook(hooks.onReject, e),
  );

  const reject = (error: TFError): Promise<never> => {
    safeHook(hooks.onReject, error);
    return Promise.reject(error);
  };

  const scheduleDispatch = () => {
    if (dispatchPending) return;
    dispatchPending = true;
    // Calls made in the same turn of the event loop join the batch before it is taken.
    setImmediate(() => {
      dispatchPending = false;
      dispatch();
    });
  };

  // Nothing waits any more: a pending timeout must not keep the process alive.
  const clearTimerIfIdle = () => {
    if (!timer || !queue.empty) return;
    clearTimeout(timer);
    timer = null;
    timerAt = Infinity;
  };

  const dispatch = () => {
    clearTimerIfIdle();
    while (running < parameters.numBatchThreads) {
      const next = queue.take(performance.now(), closed);
      if (next === null) break;
      if (typeof next === 'number') {
        if (next < timerAt) {
          if (timer) clearTimeout(timer);
          timerAt = next;
          timer = setTimeout(
            () => {
              timer = null;
              timerAt = Infinity;
              dispatch();
            },
            Math.max(0, next - performance.now()),
          );
        }
        break;
      }
      running++;
      clearTimerIfIdle();
      void execute(next).finally(() => {
        running--;
        dispatch();
        if (running === 0 && queue.empty) idle.splice(0).forEach((f) => f());
      });
    }
  };

  const runAlone = async (task: Task): Promise<void> => {
    try {
      task.resolve(await run(task.inputs));
    } catch (e) {
      task.reject(e);
    }
  };

  const execute = async (batch: Batch): Promise<void> => {
    const started = performance.now();
    const tasks = batch.tasks;
    const rows = batch.rows;
    const queueMicros = tasks.map((t) => Math.round((started - t.enqueuedAt) * 1000));
    const report = (batchSize: number, merged: boolean) =>
      safeHook(hooks.onBatch, {
        calls: tasks.length,
        rows,
        batchSize,
        padding: batchSize - rows,
        queueMicros,
        runMicros: Math.round((performance.now() - started) * 1000),
        merged,
      });
    const allowed = parameters.allowedBatchSizes;
    const batchSize = batch.key.startsWith('alone#') ? rows : (allowed.find((s) => s >= rows) ?? rows);
    if (tasks.length === 1 && batchSize === rows) {
      await runAlone(tasks[0]);
      report(rows, false);
      return;
    }
    let merged: Record<string, Tensor> | null = null;
    let outputs: Record<string, Tensor> | null = null;
    try {
      merged = mergeInputs(tasks, batchSize - rows, parameters.padVariableLengthInputs);
      outputs = await run(merged);
    } catch {
      // Each call gets the answer it would get alone (a bad row must not fail the others).
      if (merged) disposeAll([merged], new Set());
      for (const t of tasks) await runAlone(t);
      report(rows, false);
      return;
    }
    const why = missingBatchDim(outputs, batchSize);
    if (why) {
      disposeAll([merged, outputs], new Set());
      if (mergeDisabled === null) {
        mergeDisabled = why;
        safeHook(hooks.onMergeDisabled, why);
      }
      for (const t of tasks) await runAlone(t);
      report(rows, false);
      return;
    }
    const counts = tasks.map((t) => t.rows);
    const perTask: Array<Record<string, Tensor>> = tasks.map(() => ({}));
    try {
      for (const [name, t] of Object.entries(outputs)) {
        splitRows(t, counts).forEach((part, i) => {
          perTask[i][name] = part;
        });
      }
    } catch (e) {
      disposeAll([merged, outputs, ...perTask], new Set());
      tasks.forEach((t) => t.reject(e));
      return;
    }
    disposeAll([merged, outputs], new Set());
    tasks.forEach((t, i) => t.resolve(perTask[i]));
    report(batchSize, true);
  };

  const batched = ((inputs: Record<string, Tensor>, callOptions: BatchCallOptions = {}) => {
    if (closed) return reject(new UnavailableError('The batcher is closed'));
    const kind =
      mergeDisabled === null && inputs !== null && typeof inputs === 'object'
        ? mergeKeyOf(inputs, parameters.padVariableLengthInputs)
        : { alone: mergeDisabled ?? 'inputs are not a record' };
    return new Promise<Record<string, Tensor>>((resolve, rejectCall) => {
      const task: Task = {
        inputs,
        rows: 'rows' in kind ? kind.rows : 1,
        enqueuedAt: performance.now(),
        resolve,
        reject: rejectCall,
      };
      try {
        queue.add(task, 'key' in kind ? kind.key : null, callOptions.signal);
      } catch (e) {
        if (e instanceof TFError) safeHook(hooks.onReject, e);
        rejectCall(e);
        return;
      }
      scheduleDispatch();
    });
  }) as Batcher;
  Object.defineProperties(batched, {
    parameters: { value: parameters, enumerable: true },
    stats: { value: (): BatcherStats => ({ ...queue.depth(), running, mergeDisabled }) },
    close: {
      value: (): Promise<void> => {
        closed = true;
        dispatch();
        if (running === 0 && queue.empty) return Promise.resolve();
        return new Promise<void>((resolve) => idle.push(resolve));
      },
    },
  });
  return batched;
}

/** The merged inputs of a batch: per input key, the calls' tensors concatenated (and padded). */
function mergeInputs(tasks: readonly Task[], padRows: number, padVariableLength: boolean): Record<string, Tensor> {
  const merged: Record<string, Tensor> = {};
  try {
    for (const key of Object.keys(tasks[0].inputs)) {
      const parts = tasks.map((t) => t.inputs[key]);
      let trailing = parts[0].shape.slice(1);
      if (padVariableLength) {
        for (const p of parts) trailing = trailing.map((d, i) => Math.max(d, p.shape[i + 1]));
      }
      merged[key] = concatRows(parts, trailing, padRows);
    }
  } catch (e) {
    disposeAll([merged], new Set());
    throw e;
  }
  return merged;
}

/** Why the outputs of a run of `batchSize` rows cannot be split per call (null when they can). */
function missingBatchDim(outputs: unknown, batchSize: number): string | null {
  if (outputs === null || typeof outputs !== 'object') return 'the outputs are not a record of Tensors';
  for (const [name, t] of Object.entries(outputs)) {
    if (!(t instanceof Tensor)) return `output '${name}' is not a Tensor`;
    const shape = t.shape;
    if (shape.length === 0) return `output '${name}' is a scalar`;
    if (shape[0] !== batchSize) return `output '${name}' has ${shape[0]} rows for a batch of ${batchSize}`;
  }
  return null;
}
