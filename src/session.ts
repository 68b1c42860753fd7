/** `Session`: runs a Graph. Runs are asynchronous (own threads) by default; `runSync` blocks. */
import { DType } from './dtypes';
import { TfhubError, callerStack, isErrorCode, rangeError, typeError, withCallerStack } from './errors';
import { Graph, Operation, Output } from './graph';
import { NativeOperation, NativeSession, NativeTensor, binding } from './native';
import { tensorflow } from './proto';
import { Tensor, tensor as makeTensor, tensorFromView } from './tensor';

/** Options of `new Session(graph, options)`. */
export interface SessionOptions {
  /** Threads for one op's internal parallelism (0 = TF's choice). */
  intraOpParallelism?: number;
  /** Threads for running independent ops (0 = TF's choice). */
  interOpParallelism?: number;
  /** Give this session its own thread pools instead of the process-wide ones fixed by the first session. */
  usePerSessionThreads?: boolean;
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
}

/** Something to fetch: an Output, a `"op:0"` name, an Operation (run for its effect; gives `null`). */
export type Fetch = Output | Operation | string;
/** A fetch structure: one fetch, an array or a record of fetches (nested), mirrored by the result. */
export type Fetches = Fetch | readonly Fetches[] | { readonly [key: string]: Fetches };
/** Values to feed: Tensors, or JS values converted to the fed output's dtype. */
export type FeedValue = Tensor | number | bigint | boolean | string | unknown[] | ArrayBufferView;
/** Feeds keyed by Output (Map) or by `"op:0"` name (record). */
export type Feeds = Map<Output | string, FeedValue> | Record<string, FeedValue>;

/** The result structure of a run: Tensors where fetches were outputs, null for operations. */
export type FetchResult<F> = F extends Output | string ? Tensor : F extends Operation ? null
  : F extends readonly unknown[] ? { -readonly [K in keyof F]: FetchResult<F[K]> }
  : F extends object ? { -readonly [K in keyof F]: FetchResult<F[K]> } : unknown;

/** Options of one run. */
export interface RunOptions {
  /** Operations to run without fetching anything. */
  targets?: Array<Operation | string>;
  /** A raw serialized RunOptions proto (timeouts, tracing). */
  runOptions?: Uint8Array;
  /** Shorthand for RunOptions.timeout_in_ms. */
  timeoutMs?: number;
  /**
   * Run the step's ops on the thread that runs the step instead of TF's inter-op pool (RunOptions
   * `inter_op_thread_pool = -1`). Saves two thread hand-offs per run, which dominate small graphs (see
   * bench/RESULTS.md); loses parallelism between independent ops of one run (one op's own parallelism, e.g. a big
   * MatMul on the intra-op pool, is kept). Concurrent runs still run in parallel. Default: the session's `inline`.
   */
  inline?: boolean;
  /**
   * Receives the run's serialized `RunMetadata` proto (Python's `run_metadata=` argument): step stats when
   * `runOptions` asks for tracing (`trace_level: FULL_TRACE`), partition graphs, cost graph. Called before the run's
   * result is returned; not called when the run fails.
   */
  runMetadata?: (metadata: Uint8Array) => void;
}

/** How deep a fetch structure may nest (the result mirrors it, built recursively). */
const MAX_FETCH_DEPTH = 254;

const INLINE_RUN_OPTIONS = tensorflow.RunOptions.encode({ interOpThreadPool: -1 }).finish();

function concatBytes(a: Uint8Array | null, b: Uint8Array): Uint8Array {
  if (!a || a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The most threads a session option may ask for (TF builds a thread pool of that size at once). */
export const MAX_SESSION_THREADS = 4096;
/** The most devices of one type `deviceCount` may ask for (TF creates that many device objects). */
export const MAX_DEVICE_COUNT = 4096;

/** The most entries `deviceFilters` may have. */
const MAX_DEVICE_FILTERS = 4096;

const OPTION_KINDS: Record<keyof SessionOptions, 'threads' | 'boolean' | 'string' | 'strings' | 'deviceCount' | 'bytes'> = {
  intraOpParallelism: 'threads', interOpParallelism: 'threads', usePerSessionThreads: 'boolean',
  allowSoftPlacement: 'boolean', logDevicePlacement: 'boolean', gpuMemoryGrowth: 'boolean', visibleDevices: 'string',
  deviceCount: 'deviceCount', deviceFilters: 'strings', target: 'string', config: 'bytes', inline: 'boolean', jit: 'boolean',
  inlineFunctions: 'boolean',
};

function describe(v: unknown): string {
  return v === null ? 'null' : typeof v === 'number' ? String(v) : typeof v;
}

function checkCount(v: unknown, what: string, max: number): void {
  if (typeof v !== 'number') throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be an integer in [0, ${max}], got ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0 || v > max) throw rangeError('ERR_OUT_OF_RANGE', `${what} must be an integer in [0, ${max}], got ${describe(v)}`);
}

/** Checks session options before any of them reaches TensorFlow (which crashes or runs out of memory on some). */
function checkSessionOptions(options: unknown): SessionOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) throw typeError('ERR_INVALID_ARG_TYPE', `new Session(graph, options): options must be an object, got ${describe(options)}`);
  for (const [key, value] of Object.entries(options)) {
    const kind = (OPTION_KINDS as Record<string, string | undefined>)[key];
    if (kind === undefined) throw typeError('ERR_INVALID_ARG_VALUE', `unknown session option '${key}' (known: ${Object.keys(OPTION_KINDS).join(', ')})`);
    if (value === undefined) continue;
    const what = `session option ${key}`;
    if (kind === 'threads') checkCount(value, what, MAX_SESSION_THREADS);
    else if (kind === 'boolean' && typeof value !== 'boolean') throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be a boolean, got ${describe(value)}`);
    else if (kind === 'string' && typeof value !== 'string') throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be a string, got ${describe(value)}`);
    else if (kind === 'strings') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be an array of strings`);
      if (value.length > MAX_DEVICE_FILTERS) throw rangeError('ERR_OUT_OF_RANGE', `${what} has ${value.length} entries, more than ${MAX_DEVICE_FILTERS}`);
    } else if (kind === 'bytes' && !(value instanceof Uint8Array)) throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be a Uint8Array (a serialized ConfigProto), got ${describe(value)}`);
    else if (kind === 'deviceCount') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be a record of device type → count, got ${describe(value)}`);
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
    if (v !== undefined) { fields[k] = v; any = true; }
  };
  set('intraOpParallelismThreads', o.intraOpParallelism);
  set('interOpParallelismThreads', o.interOpParallelism);
  set('usePerSessionThreads', o.usePerSessionThreads);
  set('allowSoftPlacement', o.allowSoftPlacement);
  set('logDevicePlacement', o.logDevicePlacement);
  set('deviceCount', o.deviceCount);
  if (o.inlineFunctions !== undefined) set('graphOptions', { optimizerOptions: { doFunctionInlining: o.inlineFunctions } });
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

interface Plan {
  feedOps: NativeOperation[];
  feedIndices: Int32Array;
  feedTensors: NativeTensor[];
  fetchOps: NativeOperation[];
  fetchIndices: Int32Array;
  targets: NativeOperation[];
  owned: Tensor[];               // tensors converted from JS values, disposed after the run
  build: (values: Array<NativeTensor | null>) => unknown;
  runOptions: Uint8Array | null;
  runMetadata: ((metadata: Uint8Array) => void) | null;
}

/** Runs a Graph. Thread-safe: many runs may be in flight at once. */
export class Session {
  /** @internal */
  readonly native: NativeSession;
  /** The graph this session runs (kept alive by the session). */
  readonly graph: Graph;
  /** Default of `RunOptions.inline` for this session's runs. */
  readonly inline: boolean;
  private readonly staticShapes = new Map<string, number[] | null>();

  constructor(graph: Graph, options: SessionOptions = {}) {
    if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'new Session(graph): graph must be a Graph');
    options = checkSessionOptions(options);
    this.graph = graph;
    this.inline = options.inline === true;
    this.native = new (binding().Session)(graph.native, encodeConfig(options), options.target ?? null, options.jit === true);
  }

  /**
   * Runs the graph: computes `fetches` given `feeds`, on a background thread. The result mirrors the fetch
   * structure (Tensor per output, null per operation).
   */
  run<F extends Fetches>(fetches: F, feeds?: Feeds | null, options?: RunOptions | null): Promise<FetchResult<F>>;
  async run(fetches: Fetches, feeds?: Feeds | null, options?: RunOptions | null): Promise<unknown> {
    const caller = callerStack(this.run);
    const plan = this.plan(fetches, feeds, options);
    try {
      // Nothing for TF to do (no fetches, or only fed tensors): Python's client returns without a run, too.
      if (plan.fetchOps.length === 0 && plan.targets.length === 0) return plan.build([]);
      let values: Array<NativeTensor | null>;
      try {
        values = await this.native.run(
          plan.feedOps, plan.feedIndices, plan.feedTensors, plan.fetchOps, plan.fetchIndices, plan.targets, plan.runOptions,
          plan.runMetadata !== null);
      } catch (e) {
        throw withCallerStack(e, caller); // settled on the JS thread from a run thread: no JS frames of its own
      }
      return finish(plan, values);
    } finally {
      for (const t of plan.owned) t.dispose();
    }
  }

  /** Like run, blocking the JS thread (lowest latency for tiny graphs; avoid in servers). */
  runSync<F extends Fetches>(fetches: F, feeds?: Feeds | null, options?: RunOptions | null): FetchResult<F>;
  runSync(fetches: Fetches, feeds?: Feeds | null, options?: RunOptions | null): unknown {
    const plan = this.plan(fetches, feeds, options);
    try {
      if (plan.fetchOps.length === 0 && plan.targets.length === 0) return plan.build([]);
      return finish(plan, this.native.runSync(
        plan.feedOps, plan.feedIndices, plan.feedTensors, plan.fetchOps, plan.fetchIndices, plan.targets, plan.runOptions,
        plan.runMetadata !== null));
    } finally {
      for (const t of plan.owned) t.dispose();
    }
  }

  /** Devices available to this session. */
  listDevices(): Array<{ name: string; type: string; memoryBytes: number }> {
    return this.native.listDevices();
  }

  /** Closes the session (after in-flight runs finish); later runs throw ERR_DISPOSED. Idempotent. */
  close(): void {
    this.native.close();
  }

  /** Same as close(). */
  dispose(): void {
    this.close();
  }

  /** True once `close()` was called (runs in flight may still be finishing). */
  get isClosed(): boolean {
    return this.native.isClosed();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** TF does not check fed shapes against the graph (Python's client does): check them here. */
  private checkFeedShape(out: Output, t: Tensor): void {
    const key = out.name;
    let declared = this.staticShapes.get(key);
    if (declared === undefined) {
      declared = out.shape;
      this.staticShapes.set(key, declared);
    }
    if (declared === null) return;
    const shape = t.shape;
    if (shape.length !== declared.length || shape.some((d, i) => declared![i] !== -1 && declared![i] !== d)) {
      const fmt = (s: number[]) => `(${s.map((d) => (d === -1 ? '?' : d)).join(', ')}${s.length === 1 ? ',' : ''})`;
      throw new TfhubError('ERR_FEED_SHAPE', `Cannot feed value of shape ${fmt(shape)} for Tensor '${key}', which has shape '${fmt(declared)}'`);
    }
  }

  private resolveOutput(f: Output | string, what: string): Output {
    if (f instanceof Output) {
      if (f.graph !== this.graph) throw new TfhubError('ERR_GRAPH_MISMATCH', `${what} ${f.name} belongs to another graph`);
      return f;
    }
    return this.graph.output(f);
  }

  private plan(fetches: Fetches, feeds: Feeds | null | undefined, options: RunOptions | null | undefined): Plan {
    if (feeds !== undefined && feeds !== null && (typeof feeds !== 'object' || Array.isArray(feeds))) {
      throw typeError('ERR_INVALID_ARG_TYPE', `feeds must be a Map or a record of name → value, got ${Array.isArray(feeds) ? 'an array' : describe(feeds)}`);
    }
    if (options === null || options === undefined) options = {};
    else if (typeof options !== 'object') throw typeError('ERR_INVALID_ARG_TYPE', `run options must be an object, got ${describe(options)}`);
    if (options.targets !== undefined && !Array.isArray(options.targets)) throw typeError('ERR_INVALID_ARG_TYPE', 'run option targets must be an array');
    if (options.runOptions !== undefined && !(options.runOptions instanceof Uint8Array)) throw typeError('ERR_INVALID_ARG_TYPE', 'run option runOptions must be a Uint8Array (a serialized RunOptions)');
    if (options.runMetadata !== undefined && typeof options.runMetadata !== 'function') throw typeError('ERR_INVALID_ARG_TYPE', 'run option runMetadata must be a function');
    if (options.timeoutMs !== undefined && (typeof options.timeoutMs !== 'number' || !Number.isSafeInteger(options.timeoutMs) || options.timeoutMs < 0)) {
      throw rangeError('ERR_OUT_OF_RANGE', `run option timeoutMs must be a safe integer >= 0, got ${describe(options.timeoutMs)}`);
    }
    const fetchOps: NativeOperation[] = [];
    const fetchIdx: number[] = [];
    const targets: NativeOperation[] = [];
    const toTarget = (op: Operation) => {
      if (op.graph !== this.graph) throw new TfhubError('ERR_GRAPH_MISMATCH', `operation ${op.name} belongs to another graph`);
      targets.push(op.native);
    };
    const feedOps: NativeOperation[] = [];
    const feedIdx: number[] = [];
    const feedTensors: NativeTensor[] = [];
    const owned: Tensor[] = [];
    const fed = new Map<string, Tensor>();
    const entries: Array<[Output | string, FeedValue]> = feeds instanceof Map ? [...feeds.entries()] : Object.entries(feeds ?? {});
    try {
      for (const [key, value] of entries) {
        const out = this.resolveOutput(key, 'feed');
        let t: Tensor;
        if (value instanceof Tensor) t = value;
        else {
          t = feedTensor(value, out.dtype, out.name);
          owned.push(t);
        }
        this.checkFeedShape(out, t);
        feedOps.push(out.op.native);
        feedIdx.push(out.index);
        feedTensors.push(t.native);
        fed.set(out.name, t);
      }
    } catch (e) {
      for (const t of owned) t.dispose();
      throw e;
    }
    // Flatten the fetch structure into position lists; `build` re-nests the results.
    const open = new Set<object>(); // containers being flattened: a fetch structure must not contain itself
    let depth = 0;
    const flatten = (f: Fetches): (values: Array<NativeTensor | null>) => unknown => {
      if ((Array.isArray(f) || (f && typeof f === 'object' && !(f instanceof Output) && !(f instanceof Operation))) && open.has(f as object)) {
        throw typeError('ERR_INVALID_ARG_VALUE', 'the fetch structure contains itself');
      }
      if (f instanceof Output || (typeof f === 'string' && f.includes(':'))) {
        const o = this.resolveOutput(f as Output | string, 'fetch');
        const fedValue = fed.get(o.name);
        if (fedValue) {
          // TF refuses to fetch a fed tensor; Python's client returns the fed value: so do we, as a copy that the
          // caller disposes like any other result (disposing it must not dispose the feed).
          return () => new Tensor(fedValue.dtype, fedValue.shape, fedValue.data() as never);
        }
        const pos = fetchOps.length;
        fetchOps.push(o.op.native);
        fetchIdx.push(o.index);
        return (values) => new Tensor(values[pos]!);
      }
      if (f instanceof Operation || typeof f === 'string') {
        const op = f instanceof Operation ? f : this.graph.operation(f);
        if (!op) throw new TfhubError('ERR_NOT_FOUND', `no operation '${String(f)}' in the graph`);
        toTarget(op);
        return () => null;
      }
      if (Array.isArray(f) || (f && typeof f === 'object')) {
        if (depth >= MAX_FETCH_DEPTH) throw typeError('ERR_INVALID_ARG_VALUE', `the fetch structure nests deeper than ${MAX_FETCH_DEPTH} levels`);
        depth++;
        open.add(f);
        try {
          if (Array.isArray(f)) {
            const parts = f.map(flatten);
            return (values) => parts.map((p) => p(values));
          }
          const entries = Object.entries(f as Record<string, Fetches>).map(([k, v]) => [k, flatten(v)] as const);
          return (values) => Object.fromEntries(entries.map(([k, p]) => [k, p(values)]));
        } finally {
          open.delete(f);
          depth--;
        }
      }
      throw typeError('ERR_INVALID_ARG_TYPE', `cannot fetch ${String(f)}`);
    };
    let build: (values: Array<NativeTensor | null>) => unknown;
    try {
      build = flatten(fetches);
      for (const t of options.targets ?? []) {
        const op = typeof t === 'string' ? this.graph.operation(t) : t;
        if (!op) throw new TfhubError('ERR_NOT_FOUND', `no operation '${String(t)}' in the graph`);
        toTarget(op);
      }
    } catch (e) {
      for (const t of owned) t.dispose();
      throw e;
    }

    // Serialized protos concatenate as a merge (later fields win), so the typed options go after the raw bytes.
    let runOptions = options.runOptions ?? null;
    if (options.inline ?? this.inline) runOptions = concatBytes(runOptions, INLINE_RUN_OPTIONS);
    if (options.timeoutMs !== undefined) {
      const extra = tensorflow.RunOptions.encode({ timeoutInMs: options.timeoutMs }).finish();
      runOptions = concatBytes(runOptions, extra);
    }
    return {
      feedOps, feedIndices: Int32Array.from(feedIdx), feedTensors,
      fetchOps, fetchIndices: Int32Array.from(fetchIdx), targets, owned, build, runOptions, runMetadata: options.runMetadata ?? null,
    };
  }
}

/** Hands the run's metadata to the caller's callback (when asked for), then re-nests the results. */
function finish(plan: Plan, values: Array<NativeTensor | null> & { metadata?: Uint8Array }): unknown {
  if (plan.runMetadata && values.metadata) {
    try {
      plan.runMetadata(values.metadata);
    } catch (e) {
      for (const v of values) v?.dispose();
      throw e;
    }
  }
  return plan.build(values);
}

/** Converts a JS feed value to a Tensor of the fed output's dtype. */
export function feedTensor(value: FeedValue, dtype: DType, name: string): Tensor {
  try {
    if (ArrayBuffer.isView(value)) return tensorFromView(dtype, value);
    return makeTensor(value, dtype);
  } catch (e) {
    const err = e as Error & { code?: string };
    const code = isErrorCode(err.code) ? err.code : 'ERR_INVALID_FEED';
    const message = `cannot feed ${name} (${dtype}): ${err.message}`;
    throw e instanceof RangeError ? rangeError(code, message) : typeError(code, message);
  }
}
