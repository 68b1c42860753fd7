/** `Session`: runs a Graph. Runs are asynchronous (own threads) by default; `runSync` blocks. */
import { DType } from './dtypes';
import { TfhubError, callerStack, isErrorCode, rangeError, typeError, withCallerStack } from './errors';
import { Graph, Operation, Output } from './graph';
import { NativeOperation, NativeRunArgs, NativeSession, NativeTensor, binding } from './native';
import { tensorflow } from './proto';
import { Tensor, tensor as makeTensor, tensorFromView } from './tensor';
import { SessionOptions, checkSessionOptions, describe, encodeConfig } from './session_options';

export { MAX_DEVICE_COUNT, MAX_SESSION_THREADS, SessionOptions, encodeConfig } from './session_options';

/** Something to fetch: an Output, a `"op:0"` name, an Operation (run for its effect; gives `null`). */
export type Fetch = Output | Operation | string;
/** A fetch structure: one fetch, an array or a record of fetches (nested), mirrored by the result. */
export type Fetches = Fetch | readonly Fetches[] | { readonly [key: string]: Fetches };
/** Values to feed: Tensors, or JS values converted to the fed output's dtype. */
export type FeedValue = Tensor | number | bigint | boolean | string | unknown[] | ArrayBufferView;
/** Feeds keyed by Output (Map) or by `"op:0"` name (record). */
export type Feeds = Map<Output | string, FeedValue> | Record<string, FeedValue>;

/** The result structure of a run: Tensors where fetches were outputs, null for operations. */
export type FetchResult<F> = F extends Output | string
  ? Tensor
  : F extends Operation
    ? null
    : F extends readonly unknown[]
      ? { -readonly [K in keyof F]: FetchResult<F[K]> }
      : F extends object
        ? { -readonly [K in keyof F]: FetchResult<F[K]> }
        : unknown;

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

interface Plan {
  feedOps: NativeOperation[];
  feedIndices: Int32Array;
  feedTensors: NativeTensor[];
  fetchOps: NativeOperation[];
  fetchIndices: Int32Array;
  targets: NativeOperation[];
  owned: Tensor[]; // tensors converted from JS values, disposed after the run
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
  private readonly checkFeedShapes: boolean;

  constructor(graph: Graph, options: SessionOptions = {}) {
    if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'new Session(graph): graph must be a Graph');
    options = checkSessionOptions(options);
    this.graph = graph;
    this.inline = options.inline === true;
    this.checkFeedShapes = options.checkFeedShapes !== false;
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
      this.graph.sessionRan = true;
      try {
        values = await this.native.run(...runArgs(plan));
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
      this.graph.sessionRan = true;
      return finish(plan, this.native.runSync(...runArgs(plan)));
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
      throw new TfhubError(
        'ERR_FEED_SHAPE',
        `Cannot feed value of shape ${fmt(shape)} for Tensor '${key}', which has shape '${fmt(declared)}'`,
      );
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
      throw typeError(
        'ERR_INVALID_ARG_TYPE',
        `feeds must be a Map or a record of name → value, got ${Array.isArray(feeds) ? 'an array' : describe(feeds)}`,
      );
    }
    if (options === null || options === undefined) options = {};
    else if (typeof options !== 'object')
      throw typeError('ERR_INVALID_ARG_TYPE', `run options must be an object, got ${describe(options)}`);
    if (options.targets !== undefined && !Array.isArray(options.targets))
      throw typeError('ERR_INVALID_ARG_TYPE', 'run option targets must be an array');
    if (options.runOptions !== undefined && !(options.runOptions instanceof Uint8Array))
      throw typeError('ERR_INVALID_ARG_TYPE', 'run option runOptions must be a Uint8Array (a serialized RunOptions)');
    if (options.runMetadata !== undefined && typeof options.runMetadata !== 'function')
      throw typeError('ERR_INVALID_ARG_TYPE', 'run option runMetadata must be a function');
    if (
      options.timeoutMs !== undefined &&
      (typeof options.timeoutMs !== 'number' || !Number.isSafeInteger(options.timeoutMs) || options.timeoutMs < 0)
    ) {
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
        if (this.checkFeedShapes) this.checkFeedShape(out, t);
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
    const flatten = (f: Fetches): ((values: Array<NativeTensor | null>) => unknown) => {
      if (
        (Array.isArray(f) || (f && typeof f === 'object' && !(f instanceof Output) && !(f instanceof Operation))) &&
        open.has(f as object)
      ) {
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
        if (depth >= MAX_FETCH_DEPTH)
          throw typeError('ERR_INVALID_ARG_VALUE', `the fetch structure nests deeper than ${MAX_FETCH_DEPTH} levels`);
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
      feedOps,
      feedIndices: Int32Array.from(feedIdx),
      feedTensors,
      fetchOps,
      fetchIndices: Int32Array.from(fetchIdx),
      targets,
      owned,
      build,
      runOptions,
      runMetadata: options.runMetadata ?? null,
    };
  }
}

/** Hands the run's metadata to the caller's callback (when asked for), then re-nests the results. */
/** The native run arguments of a plan. */
function runArgs(plan: Plan): NativeRunArgs {
  return [
    plan.feedOps,
    plan.feedIndices,
    plan.feedTensors,
    plan.fetchOps,
    plan.fetchIndices,
    plan.targets,
    plan.runOptions,
    plan.runMetadata !== null,
  ];
}

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
