/**
 * TF Serving's `BatchingParameters` (tensorflow_serving/servables/tensorflow/session_bundle_config.proto) as an
 * object: the camelCase form, or the snake_case form with `{value: …}` wrappers that a text-format parse of a
 * `--batching_parameters_file` gives. Defaults are those of TF Serving's BasicBatchScheduler.
 */
import { availableParallelism } from 'node:os';
import { rangeError, typeError } from '../errors';

/** Batching parameters as a user writes them (every field optional; see {@link ResolvedBatchingParameters}). */
export interface BatchingParameters {
  /** Largest batch (sum of the calls' dimension-0 sizes) one run takes. Default 1000. */
  maxBatchSize?: number;
  /** How long the first call of a batch may wait for more calls before the batch runs anyway. Default 0. */
  batchTimeoutMicros?: number;
  /** Most batches waiting (not running) at once; a call that would need one more is refused. Default 10. */
  maxEnqueuedBatches?: number;
  /** Most batches running at once. Default: the number of CPUs (`os.availableParallelism()`). */
  numBatchThreads?: number;
  /** Batch sizes a run may have, increasing, the last equal to `maxBatchSize`; a batch is padded up to the next one. */
  allowedBatchSizes?: readonly number[];
  /** Pad inputs whose non-batch dimensions differ between calls up to the largest (with their first element). */
  padVariableLengthInputs?: boolean;
  /** Accepted for compatibility; there is no thread pool to name here. */
  threadPoolName?: string;
  /** Splitting a call larger than `maxBatchSize` across batches is not supported: only `false` is accepted. */
  enableLargeBatchSplitting?: boolean;
  /** Accepted for compatibility; only meaningful with large batch splitting. */
  maxExecutionBatchSize?: number;
}

/** Batching parameters with every default applied and every value checked. */
export interface ResolvedBatchingParameters {
  /** Largest batch (rows) one run takes. */
  readonly maxBatchSize: number;
  /** Longest wait of a batch's first call before the batch runs, in microseconds. */
  readonly batchTimeoutMicros: number;
  /** Most waiting batches. */
  readonly maxEnqueuedBatches: number;
  /** Most concurrently running batches. */
  readonly numBatchThreads: number;
  /** Allowed batch sizes (empty: any size). */
  readonly allowedBatchSizes: readonly number[];
  /** Whether inputs of different non-batch shapes are padded to merge. */
  readonly padVariableLengthInputs: boolean;
}

/** TF Serving's BasicBatchScheduler defaults (max_batch_size 1000, timeout 0, 10 enqueued batches). */
export const DEFAULT_BATCHING_PARAMETERS: Readonly<Omit<ResolvedBatchingParameters, 'numBatchThreads'>> = Object.freeze({
  maxBatchSize: 1000,
  batchTimeoutMicros: 0,
  maxEnqueuedBatches: 10,
  allowedBatchSizes: Object.freeze([]) as readonly number[],
  padVariableLengthInputs: false,
});

const CODE = 'ERR_INVALID_BATCHING_PARAMETERS';

// proto field name → camelCase key
const FIELDS: Record<string, keyof BatchingParameters> = {
  max_batch_size: 'maxBatchSize',
  batch_timeout_micros: 'batchTimeoutMicros',
  max_enqueued_batches: 'maxEnqueuedBatches',
  num_batch_threads: 'numBatchThreads',
  thread_pool_name: 'threadPoolName',
  enable_large_batch_splitting: 'enableLargeBatchSplitting',
  max_execution_batch_size: 'maxExecutionBatchSize',
  allowed_batch_sizes: 'allowedBatchSizes',
  pad_variable_length_inputs: 'padVariableLengthInputs',
};
const CAMEL = new Set<string>(Object.values(FIELDS));

function unwrap(v: unknown): unknown {
  // google.protobuf.*Value wrappers after a text-format or JSON parse: {value: X}; an empty wrapper is the default.
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !isLong(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) return undefined;
    if (keys.length === 1 && keys[0] === 'value') return (v as { value: unknown }).value;
  }
  return v;
}

function isLong(v: unknown): v is { toNumber(): number } {
  return v !== null && typeof v === 'object' && typeof (v as { toNumber?: unknown }).toNumber === 'function';
}

function integer(field: string, raw: unknown, min: number): number {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'bigint') n = Number(raw);
  else if (typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) n = Number(raw);
  else if (isLong(raw))
    n = raw.toNumber(); // protobufjs int64
  else throw typeError(CODE, `BatchingParameters.${field} must be an integer, got ${describe(raw)}`);
  if (!Number.isSafeInteger(n)) throw rangeError(CODE, `BatchingParameters.${field} must be an integer, got ${describe(raw)}`);
  if (n < min) throw rangeError(CODE, `BatchingParameters.${field} must be >= ${min}, got ${n}`);
  return n;
}

function bool(field: string, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw typeError(CODE, `BatchingParameters.${field} must be a boolean, got ${describe(raw)}`);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Checks batching parameters and applies TF Serving's defaults. Takes `{maxBatchSize: 128}`, or the proto's
 * field names with or without wrappers (`{max_batch_size: {value: 128}}`, `{max_batch_size: 128}`); int64 values
 * may be numbers, bigints, decimal strings or protobufjs Longs. Errors (code `ERR_INVALID_BATCHING_PARAMETERS`,
 * TypeError or RangeError) name the field: an unknown field, a value of the wrong type or out of range,
 * `allowed_batch_sizes` not increasing or its last entry not `max_batch_size` (TF Serving's message), and
 * `enable_large_batch_splitting: true` (not supported).
 */
export function parseBatchingParameters(input: unknown = {}): ResolvedBatchingParameters {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw typeError(CODE, `BatchingParameters must be an object, got ${describe(input)}`);
  }
  const given: Partial<Record<keyof BatchingParameters, unknown>> = {};
  for (const [key, raw] of Object.entries(input as Record<string, unknown>)) {
    const name = FIELDS[key] ?? (CAMEL.has(key) ? (key as keyof BatchingParameters) : undefined);
    if (!name) throw typeError(CODE, `BatchingParameters has no field '${key}' (fields: ${Object.keys(FIELDS).join(', ')})`);
    if (name in given) throw typeError(CODE, `BatchingParameters.${name} is given twice (as '${key}' too)`);
    const v = unwrap(raw);
    if (v !== undefined) given[name] = v;
  }
  const maxBatchSize =
    given.maxBatchSize === undefined ? DEFAULT_BATCHING_PARAMETERS.maxBatchSize : integer('max_batch_size', given.maxBatchSize, 1);
  const batchTimeoutMicros = given.batchTimeoutMicros === undefined ? 0 : integer('batch_timeout_micros', given.batchTimeoutMicros, 0);
  const maxEnqueuedBatches =
    given.maxEnqueuedBatches === undefined
      ? DEFAULT_BATCHING_PARAMETERS.maxEnqueuedBatches
      : integer('max_enqueued_batches', given.maxEnqueuedBatches, 1);
  const numBatchThreads =
    given.numBatchThreads === undefined ? availableParallelism() : integer('num_batch_threads', given.numBatchThreads, 1);
  if (given.threadPoolName !== undefined && typeof given.threadPoolName !== 'string') {
    throw typeError(CODE, `BatchingParameters.thread_pool_name must be a string, got ${describe(given.threadPoolName)}`);
  }
  if (given.maxExecutionBatchSize !== undefined) integer('max_execution_batch_size', given.maxExecutionBatchSize, 1);
  if (given.enableLargeBatchSplitting !== undefined && bool('enable_large_batch_splitting', given.enableLargeBatchSplitting)) {
    throw rangeError(
      CODE,
      'BatchingParameters.enable_large_batch_splitting is not supported: a call larger than max_batch_size is refused (INVALID_ARGUMENT) instead of being split',
    );
  }
  const padVariableLengthInputs =
    given.padVariableLengthInputs === undefined ? false : bool('pad_variable_length_inputs', given.padVariableLengthInputs);
  let allowedBatchSizes: number[] = [];
  if (given.allowedBatchSizes !== undefined) {
    const list = given.allowedBatchSizes;
    if (!Array.isArray(list))
      throw typeError(CODE, `BatchingParameters.allowed_batch_sizes must be an array of integers, got ${describe(list)}`);
    allowedBatchSizes = list.map((v, i) => integer(`allowed_batch_sizes[${i}]`, unwrap(v), 1));
    for (let i = 1; i < allowedBatchSizes.length; i++) {
      if (allowedBatchSizes[i] <= allowedBatchSizes[i - 1]) {
        throw rangeError(CODE, `BatchingParameters.allowed_batch_sizes must be in increasing order, got [${allowedBatchSizes.join(', ')}]`);
      }
    }
    const last = allowedBatchSizes[allowedBatchSizes.length - 1];
    if (last !== undefined && last !== maxBatchSize) {
      throw rangeError(
        CODE,
        `Last entry in allowed_batch_sizes must match max_batch_size; last entry was ${last}; expected ${maxBatchSize}`,
      );
    }
  }
  return Object.freeze({
    maxBatchSize,
    batchTimeoutMicros,
    maxEnqueuedBatches,
    numBatchThreads,
    allowedBatchSizes: Object.freeze(allowedBatchSizes),
    padVariableLengthInputs,
  });
}
