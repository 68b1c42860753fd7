/** `SessionOptions`: what `new Session(graph, options)` accepts, its checks, and its encoding as a ConfigProto. */
import { rangeError, typeError } from './errors';
import { tensorflow } from './proto';

/** Options of `new Session(graph, options)`. */
export interface SessionOptions {
  /** Threads for one op's internal parallelism (0 = TF's choice). */
  intraOpParallelism?: number;
  /** Threads for running independent ops (0 = TF's choice). */
  interOpParallelism?: number;
  /**
   * Give this session its own inter-op thread pool instead of the process-wide one fixed by the first session. The
   * intra-op pool stays process-wide (TensorFlow's `TF_OVERRIDE_GLOBAL_THREADPOOL=1` gives each session its own).
   */
  usePerSessionThreads?: boolean;
  /**
   * Idle pool threads sleep at once instead of polling for work first (ConfigProto
   * `experimental.disable_thread_spinning`). Applies to the pools this session creates: the process-wide ones when
   * it is the first session, its own with `usePerSessionThreads`. Polling threads take cores from the thread that
   * runs the step on machines with few cores (bench/RESULTS.md §5g). Default false, as in Python.
   */
  disableThreadSpinning?: boolean;
  /** Place ops on another device when the requested one cannot run them (e.g. no GPU kernel). */
  allowSoftPlacement?: boolean;
  /** Log the device each op runs on (to stderr, as TF logs). */
  logDevicePlacement?: boolean;
  /** GPU memory grows on demand instead of being reserved up front. */
  gpuMemoryGrowth?: boolean;
  /** Comma-separated GPU ids visible to this session, e.g. `'0'`. */
  visibleDevices?: string;
  /** Device counts, e.g. `{GPU: 0}` to hide GPUs. */
  deviceCount?: Record<string, number>;
  /**
   * Only these devices of the cluster take part in this session's runs (ConfigProto `device_filters`, e.g.
   * `['/job:ps', '/job:worker/task:1']`): a worker's session then neither waits for nor depends on the other
   * workers, which is what lets one restart while the others train. Default: every task of the cluster.
   */
  deviceFilters?: string[];
  /** Remote target (grpc://…); empty for in-process. */
  target?: string;
  /** A raw serialized ConfigProto; merged under the fields above (the fields above win). */
  config?: Uint8Array;
  /**
   * Default of {@link RunOptions.inline} for every run of this session (default false, as in Python).
   */
  inline?: boolean;
  /**
   * XLA JIT on CPU (Python: `tf.config.optimizer.set_jit(True)`, ConfigProto `global_jit_level = ON_1` with
   * `--tf_xla_cpu_global_jit`): clusters of XLA-compilable ops are compiled once per input shape and run as one
   * kernel. Through `TF_EnableXLACompilation`, which also sets two process-wide XLA flags (CPU auto-clustering
   * allowed, minimum cluster size 1); sessions without `jit` keep their JIT level off. Outputs agree with the
   * unjitted session to float rounding. oneDNN's fused kernels (the default, see `TF_ENABLE_ONEDNN_OPTS`) are not
   * XLA-compilable, so clusters are small unless oneDNN is off; measured effect in bench/RESULTS.md §5.
   * Each new batch size compiles again (tens of ms). Default false.
   */
  jit?: boolean;
  /**
   * Inline the bodies of function-call ops (`PartitionedCall`, `StatefulPartitionedCall`) into the session's graph
   * when it is built (ConfigProto `optimizer_options.do_function_inlining`, which TF's lowering pass reads): the
   * step then runs one executor instead of a nested one per call, ~50 µs less per call of a `hub.load`
   * signature on the test machine (bench/RESULTS.md §5). Default false, as in Python's `Session`; `hub.load`
   * turns it on.
   */
  inlineFunctions?: boolean;
  /**
   * Refuse a fed tensor whose shape does not fit the static shape of the tensor it feeds (default true, as Python's
   * client does; TensorFlow itself does not check, and TF Serving does not either: `hub.load` with
   * `strictSignatures: false` turns it off).
   */
  checkFeedShapes?: boolean;
}

/** The most threads a session option may ask for (TF builds a thread pool of that size at once). */
export const MAX_SESSION_THREADS = 4096;
/** The most devices of one type `deviceCount` may ask for (TF creates that many device objects). */
export const MAX_DEVICE_COUNT = 4096;

/** The most entries `deviceFilters` may have. */
const MAX_DEVICE_FILTERS = 4096;

const OPTION_KINDS: Record<keyof SessionOptions, 'threads' | 'boolean' | 'string' | 'strings' | 'deviceCount' | 'bytes'> = {
  intraOpParallelism: 'threads',
  interOpParallelism: 'threads',
  usePerSessionThreads: 'boolean',
  disableThreadSpinning: 'boolean',
  allowSoftPlacement: 'boolean',
  logDevicePlacement: 'boolean',
  gpuMemoryGrowth: 'boolean',
  visibleDevices: 'string',
  deviceCount: 'deviceCount',
  deviceFilters: 'strings',
  target: 'string',
  config: 'bytes',
  inline: 'boolean',
  jit: 'boolean',
  inlineFunctions: 'boolean',
  checkFeedShapes: 'boolean',
};

/** A short description of a bad option value for error messages. */
export function describe(v: unknown): string {
  return v === null ? 'null' : typeof v === 'number' ? String(v) : typeof v;
}

function checkCount(v: unknown, what: string, max: number): void {
  if (typeof v !== 'number') throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be an integer in [0, ${max}], got ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw rangeError('ERR_OUT_OF_RANGE', `${what} must be an integer in [0, ${max}], got ${describe(v)}`);
}

/** Checks session options before any of them reaches TensorFlow (which crashes or runs out of memory on some). */
/** Checks `new Session` options (kinds, ranges, unknown keys); returns them typed. */
export function checkSessionOptions(options: unknown): SessionOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options))
    throw typeError('ERR_INVALID_ARG_TYPE', `new Session(graph, options): options must be an object, got ${describe(options)}`);
  for (const [key, value] of Object.entries(options)) {
    const kind = (OPTION_KINDS as Record<string, string | undefined>)[key];
    if (kind === undefined)
      throw typeError('ERR_INVALID_ARG_VALUE', `unknown session option '${key}' (known: ${Object.keys(OPTION_KINDS).join(', ')})`);
    if (value === undefined) continue;
    const what = `session option ${key}`;
    if (kind === 'threads') checkCount(value, what, MAX_SESSION_THREADS);
    else if (kind === 'boolean' && typeof value !== 'boolean')
      throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be a boolean, got ${describe(value)}`);
    else if (kind === 'string' && typeof value !== 'string')
      throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be a string, got ${describe(value)}`);
    else if (kind === 'strings') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
        throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be an array of strings`);
      if (value.length > MAX_DEVICE_FILTERS)
        throw rangeError('ERR_OUT_OF_RANGE', `${what} has ${value.length} entries, more than ${MAX_DEVICE_FILTERS}`);
    } else if (kind === 'bytes' && !(value instanceof Uint8Array))
      throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be a Uint8Array (a serialized ConfigProto), got ${describe(value)}`);
    else if (kind === 'deviceCount') {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be a record of device type → count, got ${describe(value)}`);
      const entries = Object.entries(value);
      if (entries.length > 64) throw rangeError('ERR_OUT_OF_RANGE', `${what} names ${entries.length} device types, more than 64`);
      for (const [device, count] of entries) checkCount(count, `${what}.${device}`, MAX_DEVICE_COUNT);
    }
  }
  return options as SessionOptions;
}

/** @internal The ConfigProto bytes of session options (null when nothing is set). */
export function encodeConfig(o: SessionOptions): Uint8Array | null {
  const fields: tensorflow.IConfigProto = {};
  let any = false;
  const set = <K extends keyof tensorflow.IConfigProto>(k: K, v: tensorflow.IConfigProto[K] | undefined) => {
    if (v !== undefined) {
      fields[k] = v;
      any = true;
    }
  };
  set('intraOpParallelismThreads', o.intraOpParallelism);
  set('interOpParallelismThreads', o.interOpParallelism);
  set('usePerSessionThreads', o.usePerSessionThreads);
  set('allowSoftPlacement', o.allowSoftPlacement);
  set('logDevicePlacement', o.logDevicePlacement);
  set('deviceCount', o.deviceCount);
  if (o.inlineFunctions !== undefined) set('graphOptions', { optimizerOptions: { doFunctionInlining: o.inlineFunctions } });
  if (o.disableThreadSpinning !== undefined) set('experimental', { disableThreadSpinning: o.disableThreadSpinning });
  set('deviceFilters', o.deviceFilters);
  if (o.gpuMemoryGrowth !== undefined || o.visibleDevices !== undefined) {
    set('gpuOptions', { allowGrowth: o.gpuMemoryGrowth, visibleDeviceList: o.visibleDevices });
  }
  if (!any && !o.config) return null;
  const own = tensorflow.ConfigProto.encode(fields).finish();
  if (!o.config) return own;
  // Protobuf merge semantics: concatenating serializations merges them, later fields winning.
  const merged = new Uint8Array(o.config.length + own.length);
  merged.set(o.config, 0);
  merged.set(own, o.config.length);
  return merged;
}
