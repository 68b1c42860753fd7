/**
 * `ModelServer`: TensorFlow Serving's model server as a library. It loads the models of a `ModelServerConfig`
 * (version directories under a base path, version policy, labels), keeps them up to date by polling, and answers
 * Predict / Classify / Regress / GetModelMetadata / GetModelStatus. REST and gRPC front ends are thin layers over
 * it (`restHandler()`, `addGrpcServices()`).
 *
 *   const server = new serving.ModelServer({ modelName: 'half', modelBasePath: '/models/half' });
 *   await server.start();
 *   const { outputs } = await server.predict('half', { x: [[1], [2]] });
 *   http.createServer(server.restHandler()).listen(8501);
 */
import type * as http from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../errors';
import { ResolvedBatchingParameters, parseBatchingParameters } from '../batching';
import { abortError } from '../batching/queue';
import { tensorflow } from '../proto';
import { Tensor } from '../tensor';
import { ModelConfigObject, ModelServerConfigObject, validateConfig } from './config';
import type { GrpcServiceOptions } from './grpc';
import { createRestHandler } from './rest/handler';
import { Drain } from './drain';
import { DEFAULT_SIGNATURE, Servable } from './servable';
import { Lease, ModelVersions, VersionStatus } from './versions';
import { checkVersionLabels } from './version_labels';
import { RequestTracer } from './request_trace';
import type { ServingMetrics } from './metrics';
import type { ModelServerOptions } from './model_server_options';

export { ModelConfigObject, ModelServerConfigObject, VersionPolicyObject } from './config';
export { ModelServerOptions, MonitoringConfigObject } from './model_server_options';
export { VersionState, VersionStatus } from './versions';

/** Which model, version and signature a request is for (TF Serving's `ModelSpec`). */
export interface ModelSpecQuery {
  /** The model's name in the config. */
  name: string;
  /** A version number (default: the latest available). */
  version?: number | bigint;
  /** A version label of the config's `versionLabels` (not together with `version`). */
  versionLabel?: string;
  /** The signature (default `serving_default`). */
  signatureName?: string;
}
/** The model, version and signature that answered a request. */
export interface ResolvedModelSpec {
  /** The model's name. */
  name: string;
  /** The version that answered. */
  version: number;
  /** The signature that ran. */
  signatureName: string;
}
/** Result of Classify: one list of (label, score) per example. */
export interface ClassifyResult {
  /** What answered. */
  modelSpec: ResolvedModelSpec;
  /** Per example, its (label, score) pairs (label `''` when the signature has no classes, score 0 without scores). */
  classifications: Array<Array<{ label: string; score: number }>>;
}
/** Result of Regress: one value per example. */
export interface RegressResult {
  /** What answered. */
  modelSpec: ResolvedModelSpec;
  /** One value per example. */
  values: number[];
}
/** Options of `predict`: an output filter, an abort signal, and (when the model is given by name) the spec fields. */
export interface PredictOptions extends Omit<Partial<ModelSpecQuery>, 'name'> {
  /** Only these outputs, in this order (TF Serving's `output_filter`). */
  outputFilter?: string[];
  /**
   * Aborting it before the run starts (while waiting in the batch queue included) rejects with the abort reason
   * when it is a TF error (e.g. DeadlineExceededError), DEADLINE_EXCEEDED for `AbortSignal.timeout`, else
   * CANCELLED; the dropped request does not run.
   */
  signal?: AbortSignal;
}

/** src/serving/metrics, loaded on first use (prom-client costs as much to load as @grpc/grpc-js). */
function metricsModule(): typeof import('./metrics') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./metrics') as typeof import('./metrics');
}

function toQuery(query: ModelSpecQuery | string, opts?: Partial<ModelSpecQuery>): ModelSpecQuery {
  if (typeof query === 'string') return { ...opts, name: query };
  if (!query || typeof query !== 'object' || typeof query.name !== 'string') throw new InvalidArgumentError('Missing ModelSpec');
  return query;
}

function versionOf(v: number | bigint | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`Invalid model version: ${String(v)}`);
  return n;
}

/** TF Serving's model server as a library; see the module comment. */
export class ModelServer {
  private readonly models = new Map<string, ModelVersions>();
  private readonly options: ModelServerOptions;
  private readonly batching: ResolvedBatchingParameters | undefined;
  private config: ModelServerConfigObject;
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly drain = new Drain();
  private closing: Promise<void> | null = null;
  private state: 'new' | 'started' | 'draining' | 'closing' | 'closed' = 'new';
  private labelsApplied = false;
  private polling: Promise<void> = Promise.resolve();
  private metricsInstance: ServingMetrics | null = null;
  /** Requests recorded for on-demand profiling (the profiler service of `tfhub-node serve`). */
  readonly tracer = new RequestTracer();

  /** Creates a server for `options`; nothing is loaded until `start()`. Throws InvalidArgumentError for a bad config. */
  constructor(options: ModelServerOptions) {
    this.options = options;
    this.config =
      'config' in options
        ? options.config
        : { modelConfigList: { config: [{ name: options.modelName, basePath: options.modelBasePath }] } };
    validateConfig(this.config);
    this.batching = options.batching === undefined ? undefined : parseBatchingParameters(options.batching);
  }

  /**
   * This server's metrics (TF Serving's names; the prom-client registry is `metrics.registry`). Created at
   * `start()` (or on first access): prom-client loads then, not when the package is required.
   */
  get metrics(): ServingMetrics {
    if (!this.metricsInstance) this.metricsInstance = new (metricsModule().ServingMetrics)();
    return this.metricsInstance;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private makeModel(config: ModelConfigObject): ModelVersions {
    const tags = this.options.savedModelTags;
    const warmup = this.options.enableModelWarmup === false ? null : (this.options.warmup ?? {});
    const spec = {
      tags: tags ?? ['serve'],
      tagsExplicit: tags !== undefined,
      session: this.options.session,
      batching: this.batching,
      warmup,
      metrics: this.metrics,
      methodNameCheck: !!this.options.enableSignatureMethodNameCheck,
    };
    return new ModelVersions(config, spec, (l) => this.log(l));
  }

  /** Loads the initial versions of every model (and starts polling when configured). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new InvalidArgumentError('ModelServer.start() was already called');
    this.state = 'started';
    await this.applyConfig(this.config);
    const wait = this.options.fileSystemPollWaitSeconds ?? 1;
    if (wait > 0) {
      this.pollTimer = setInterval(() => {
        this.polling = this.polling
          .then(() => Promise.all([...this.models.values()].map((m) => m.sync())))
          .then(
            () => undefined,
            () => undefined,
          );
      }, wait * 1000);
      this.pollTimer.unref();
    }
  }

  private async applyConfig(config: ModelServerConfigObject): Promise<void> {
    // Labels are checked against what is available before the new config's models load (server_core.cc).
    checkVersionLabels(
      config,
      this.config,
      (name) => this.models.get(name),
      !!this.options.allowVersionLabelsForUnavailableModels,
      this.labelsApplied,
    );
    this.labelsApplied = true;
    const wanted = new Map(config.modelConfigList.config.map((c) => [c.name, c]));
    const work: Promise<void>[] = [];
    for (const [name, m] of this.models) {
      if (!wanted.has(name)) {
        this.models.delete(name);
        work.push(m.close());
      }
    }
    for (const c of wanted.values()) {
      let m = this.models.get(c.name);
      if (m) m.setConfig(c);
      else this.models.set(c.name, (m = this.makeModel(c)));
      work.push(m.sync());
    }
    await Promise.all(work);
    this.config = config;
  }

  /**
   * Refuses new work (REST answers HTTP 503, gRPC UNAVAILABLE, library calls reject with UnavailableError),
   * waits for the requests in progress (REST and gRPC requests that arrived before, with their bodies still
   * uploading included, and library calls) for at most `drainTimeoutMs`, cancels what is left, and unloads
   * every model. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.state = 'draining';
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.polling;
    const bound = this.options.drainTimeoutMs ?? (this.options.rest?.timeoutMs || 30_000);
    const cancelled = await this.drain.settle(bound, () => new UnavailableError('Server is shutting down'));
    if (cancelled > 0) this.log(`${cancelled} request(s) still in progress after ${bound} ms were cancelled`);
    this.state = 'closing';
    await Promise.all([...this.models.values()].map((m) => m.close()));
    this.state = 'closed';
  }

  /**
   * @internal A front end (REST, gRPC) counts a request from its arrival to its answer, so that `close()`
   * waits for it: null when the server is closing (answer UNAVAILABLE), else the function to call once the
   * request is answered. Calls that carry `signal` are still served while `close()` drains; `cancel` is
   * called when the drain's time is up.
   */
  admit(signal: AbortSignal, cancel: (reason: Error) => void): (() => void) | null {
    if (this.state !== 'new' && this.state !== 'started') return null;
    return this.drain.admit(signal, cancel);
  }

  /** Whether the server is started and not closing. */
  get serving(): boolean {
    return this.state === 'started';
  }

  private model(name: string, version: number | undefined): ModelVersions {
    const m = this.models.get(name);
    if (!m)
      throw new NotFoundError(
        `Servable not found for request: ${version === undefined ? `Latest(${name})` : `Specific(${name}, ${version})`}`,
      );
    return m;
  }

  /** @internal Runs `fn` on the version a query asks for, counted as in flight. */
  async withServable<T>(
    query: ModelSpecQuery,
    signal: AbortSignal | undefined,
    fn: (s: Servable, spec: ResolvedModelSpec) => Promise<T>,
  ): Promise<T> {
    if (this.state !== 'started' && !(this.state === 'draining' && this.drain.has(signal)))
      throw new UnavailableError(this.state === 'new' ? 'Server is not started' : 'Server is shutting down');
    if (signal?.aborted) throw abortError(signal);
    const version = versionOf(query.version);
    let lease: Lease | null = null;
    let code = 'OK';
    const start = process.hrtime.bigint();
    this.drain.enter();
    try {
      lease = this.model(query.name, version).acquire(version, query.versionLabel);
      const spec: ResolvedModelSpec = {
        name: query.name,
        version: lease.servable.version,
        signatureName: query.signatureName || DEFAULT_SIGNATURE,
      };
      return await fn(lease.servable, spec);
    } catch (e) {
      code = (e as { code?: string }).code ?? 'UNKNOWN';
      throw e;
    } finally {
      if (lease) {
        const end = process.hrtime.bigint();
        const signature = query.signatureName || DEFAULT_SIGNATURE;
        this.metrics.recordSignature(query.name, lease.servable.version, signature, code, Number(end - start) / 1000);
        if (this.tracer.active)
          this.tracer.record({ model: query.name, version: lease.servable.version, signature, code, startNs: start, endNs: end });
      }
      lease?.release();
      this.drain.leave();
    }
  }

  /**
   * Runs a signature (default `serving_default`). Inputs are Tensors or plain JS values (converted to the
   * declared dtypes); outputs are Tensors. `query` is a ModelSpec, or the model name with the spec in `opts`.
   */
  async predict(
    query: ModelSpecQuery | string,
    inputs: Record<string, Tensor | unknown>,
    opts: PredictOptions = {},
  ): Promise<{ modelSpec: ResolvedModelSpec; outputs: Record<string, Tensor> }> {
    const q = toQuery(query, opts);
    if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs))
      throw new InvalidArgumentError('inputs must be a record of input name to value');
    return this.withServable(q, opts.signal, async (s, modelSpec) => ({
      modelSpec,
      outputs: await s.predict(modelSpec.signatureName, inputs, opts.outputFilter, opts.signal),
    }));
  }

  /** Runs a classify signature on serialized `tf.Example`s. */
  async classify(query: ModelSpecQuery, serializedExamples: Uint8Array[], opts?: { signal?: AbortSignal }): Promise<ClassifyResult> {
    return this.withServable(toQuery(query), opts?.signal, async (s, modelSpec) => {
      this.metrics.recordExamples(modelSpec.name, serializedExamples.length);
      return { modelSpec, classifications: await s.classify(modelSpec.signatureName, serializedExamples, opts?.signal) };
    });
  }

  /** Runs a regress signature on serialized `tf.Example`s. */
  async regress(query: ModelSpecQuery, serializedExamples: Uint8Array[], opts?: { signal?: AbortSignal }): Promise<RegressResult> {
    return this.withServable(toQuery(query), opts?.signal, async (s, modelSpec) => {
      this.metrics.recordExamples(modelSpec.name, serializedExamples.length);
      return { modelSpec, values: await s.regress(modelSpec.signatureName, serializedExamples, opts?.signal) };
    });
  }

  /** The signature defs of a model version (TF Serving's `signature_def` metadata; `signatureName` is not used). */
  async getModelMetadata(
    query: ModelSpecQuery,
    opts?: { signal?: AbortSignal },
  ): Promise<{ modelSpec: ResolvedModelSpec; signatureDefs: Record<string, tensorflow.ISignatureDef> }> {
    return this.withServable(toQuery(query), opts?.signal, async (s, spec) => ({
      modelSpec: { ...spec, signatureName: query.signatureName ?? '' },
      signatureDefs: s.signatureDefs,
    }));
  }

  /** The state of every version of a model, newest first (or of the one asked for by version or label). */
  getModelStatus(query: ModelSpecQuery | string): VersionStatus[] {
    const q = toQuery(query);
    const m = this.models.get(q.name);
    if (!m) throw new NotFoundError(`Could not find any versions of model ${q.name}`);
    const version = versionOf(q.version);
    if (version === undefined && q.versionLabel === undefined) return m.status();
    return m.status(m.resolveVersion(version, q.versionLabel));
  }

  /** Same as `getModelStatus(name)`. */
  status(name: string): VersionStatus[] {
    return this.getModelStatus(name);
  }

  /** The current config (after the last successful `reloadConfig`). */
  get currentConfig(): ModelServerConfigObject {
    return this.config;
  }

  /** Replaces the model list: new models are loaded (awaited), removed ones unloaded, changed ones updated. */
  async reloadConfig(config: ModelServerConfigObject): Promise<void> {
    validateConfig(config);
    if (this.state !== 'started') throw new UnavailableError('Server is not serving');
    const run = this.polling.then(() => this.applyConfig(config));
    this.polling = run.catch(() => undefined);
    await run;
  }

  /** A `(req, res)` handler serving TF Serving's REST API, to mount in `node:http`, express or fastify. */
  restHandler(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
    const metrics = this.metrics;
    const rest = createRestHandler(this, {
      ...this.options.rest,
      onRequest: (r) => metrics.recordRequest(r.modelName, r.api, 'REST', r.code, r.micros),
    });
    const prometheus = this.options.monitoring?.prometheusConfig;
    if (!prometheus?.enable) return rest;
    const metricsPath = prometheus.path || metricsModule().DEFAULT_METRICS_PATH;
    return (req, res) => {
      if (req.method === 'GET' && (req.url ?? '').split('?')[0] === metricsPath) {
        metrics.text().then(
          (text) => {
            res.writeHead(200, { 'Content-Type': metrics.contentType });
            res.end(text);
          },
          (e: Error) => {
            res.writeHead(500, { 'Content-Type': 'text/plain' });
            res.end(e.message);
          },
        );
        return;
      }
      rest(req, res);
    };
  }

  /** Adds `tensorflow.serving.PredictionService` and `ModelService` to a `@grpc/grpc-js` server. */
  addGrpcServices(server: grpc.Server, options?: GrpcServiceOptions): void {
    // Loaded on first use: @grpc/grpc-js and the services cost ~50 ms at require time, which a process that only
    // uses the library or REST should not pay.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { addServingServices } = require('./grpc') as typeof import('./grpc');
    addServingServices(server, this, options);
  }
}
