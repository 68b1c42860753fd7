/**
 * The batcher's queue: calls grouped into batches by what can be merged, TF Serving's limits (rows per batch,
 * waiting batches), per-call abort, and the choice of the next batch to run (full, or its timeout passed).
 */
import { CancelledError, DeadlineExceededError, InvalidArgumentError, TFError, UnavailableError } from '../errors';
import { Tensor } from '../tensor';
import { ResolvedBatchingParameters } from './params';
import { isMergeableDType } from './rows';

/** One call waiting for its batch. */
export interface Task {
  readonly inputs: Record<string, Tensor>;
  /** Dimension-0 size shared by every input (1 for a call that runs alone without one). */
  readonly rows: number;
  /** When it was enqueued (performance.now(), ms). */
  readonly enqueuedAt: number;
  resolve(outputs: Record<string, Tensor>): void;
  reject(error: unknown): void;
  /** Removes the abort listener; set while the task is queued. */
  detach?: () => void;
}

/** Calls merged into one run. */
export interface Batch {
  /** Merge key: calls with the same key have the same input keys, dtypes, ranks (and trailing shapes unless padded). */
  readonly key: string;
  readonly tasks: Task[];
  rows: number;
  /** No more calls join it (full, or a call that runs alone). */
  closed: boolean;
  /** When its first call arrived (ms). */
  readonly openedAt: number;
}

/** Why a call cannot be merged with others (it then runs alone), or its merge key and row count. */
export function mergeKeyOf(inputs: Record<string, Tensor>, padVariableLength: boolean): { key: string; rows: number } | { alone: string } {
  const keys = Object.keys(inputs).sort();
  if (keys.length === 0) return { alone: 'no inputs' };
  let rows = -1;
  const parts: string[] = [];
  for (const k of keys) {
    const t = inputs[k];
    if (!(t instanceof Tensor)) return { alone: `input '${k}' is not a Tensor` };
    const shape = t.shape;
    if (shape.length === 0) return { alone: `input '${k}' is a scalar (no batch dimension)` };
    if (!isMergeableDType(t.dtype)) return { alone: `input '${k}' is a ${t.dtype} tensor` };
    if (rows === -1) rows = shape[0];
    else if (shape[0] !== rows) return { alone: `inputs have different sizes in dimension 0 (${rows} and ${shape[0]} at '${k}')` };
    const trailing = padVariableLength ? `rank${shape.length}` : shape.slice(1).join('x');
    parts.push(`${JSON.stringify(k)}:${t.dtype}:${trailing}`);
  }
  if (rows === 0) return { alone: 'an empty batch (dimension 0 is 0)' };
  return { key: parts.join('|'), rows };
}

/**
 * The error of a call whose signal was aborted: the reason itself when it is a TF error, DEADLINE_EXCEEDED for
 * a `TimeoutError` (`AbortSignal.timeout(ms)`), else CANCELLED.
 */
export function abortError(signal: AbortSignal): TFError {
  const reason: unknown = signal.reason;
  if (reason instanceof TFError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError')
    return new DeadlineExceededError('Deadline exceeded while waiting in the batch queue');
  return new CancelledError('The call was cancelled while waiting in the batch queue');
}

/** Depth of the queue: waiting calls, their rows, and waiting batches. */
export interface QueueDepth {
  /** Calls waiting (not running). */
  readonly calls: number;
  /** Rows of the waiting calls. */
  readonly rows: number;
  /** Batches waiting, open ones included. */
  readonly batches: number;
}

/** FIFO of waiting batches with TF Serving's SharedBatchScheduler limits. */
export class BatchQueue {
  private readonly batches: Batch[] = [];
  private aloneSeq = 0;
  /**
   * @param changed called after every change of the waiting calls
   * @param dropped called with the error of a call that an abort took out of the queue
   */
  constructor(
    private readonly params: ResolvedBatchingParameters,
    private readonly changed: () => void,
    private readonly dropped: (error: TFError) => void,
  ) {}

  /** Waiting calls, rows and batches. */
  depth(): QueueDepth {
    let calls = 0;
    let rows = 0;
    for (const b of this.batches) {
      calls += b.tasks.length;
      rows += b.rows;
    }
    return { calls, rows, batches: this.batches.length };
  }

  /** Whether no batch is waiting. */
  get empty(): boolean {
    return this.batches.length === 0;
  }

  /**
   * Adds a call to the open batch of its kind, or to a new batch. Throws (never queues) when the call is larger
   * than `maxBatchSize` (InvalidArgumentError, TF Serving's message), when a new batch is needed and
   * `maxEnqueuedBatches` are waiting (UnavailableError), or when `signal` is already aborted.
   */
  add(task: Task, key: string | null, signal: AbortSignal | undefined): void {
    const { maxBatchSize, maxEnqueuedBatches } = this.params;
    if (signal?.aborted) throw abortError(signal);
    if (key !== null && task.rows > maxBatchSize) {
      throw new InvalidArgumentError(`Task size ${task.rows} is larger than maximum input batch size ${maxBatchSize}`);
    }
    let batch = key === null ? undefined : this.openBatch(key);
    if (batch && batch.rows + task.rows > maxBatchSize) {
      batch.closed = true;
      batch = undefined;
    }
    if (!batch) {
      if (this.batches.length >= maxEnqueuedBatches) {
        throw new UnavailableError('The batch scheduling queue to which this task was submitted is full');
      }
      batch = { key: key ?? `alone#${++this.aloneSeq}`, tasks: [], rows: 0, closed: key === null, openedAt: task.enqueuedAt };
      this.batches.push(batch);
    }
    batch.tasks.push(task);
    batch.rows += task.rows;
    if (batch.rows >= maxBatchSize) batch.closed = true;
    if (signal) {
      const onAbort = () => this.remove(task, batch!, abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      task.detach = () => signal.removeEventListener('abort', onAbort);
    }
    this.changed();
  }

  private openBatch(key: string): Batch | undefined {
    for (let i = this.batches.length - 1; i >= 0; i--) {
      const b = this.batches[i];
      if (b.key === key && !b.closed) return b;
    }
    return undefined;
  }

  private remove(task: Task, batch: Batch, error: TFError): void {
    const i = batch.tasks.indexOf(task);
    if (i < 0) return; // already taken to run
    batch.tasks.splice(i, 1);
    batch.rows -= task.rows;
    task.detach?.();
    if (batch.tasks.length === 0) {
      const j = this.batches.indexOf(batch);
      if (j >= 0) this.batches.splice(j, 1);
    }
    task.reject(error);
    this.dropped(error);
    this.changed();
  }

  /**
   * Takes the first batch that may run at `now`: a closed one, or an open one whose first call has waited
   * `batchTimeoutMicros` (all of them when `flush`). Otherwise returns the time (ms) the earliest open batch
   * becomes ready, or null when nothing waits.
   */
  take(now: number, flush: boolean): Batch | number | null {
    const timeoutMs = this.params.batchTimeoutMicros / 1000;
    let earliest: number | null = null;
    for (let i = 0; i < this.batches.length; i++) {
      const b = this.batches[i];
      const readyAt = b.openedAt + timeoutMs;
      if (b.closed || flush || readyAt <= now) {
        this.batches.splice(i, 1);
        for (const t of b.tasks) t.detach?.();
        b.closed = true;
        this.changed();
        return b;
      }
      earliest = earliest === null ? readyAt : Math.min(earliest, readyAt);
    }
    return earliest;
  }
}
