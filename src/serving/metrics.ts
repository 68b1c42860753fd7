/**
 * The model server's metrics in Prometheus text format (prom-client), under TF Serving's metric names where it
 * has them. TF Serving registers its metrics as `/tensorflow/serving/request_count` and its Prometheus exporter
 * (tensorflow_serving/util/prometheus_exporter.cc) prints every character outside `[a-zA-Z0-9_]` as `:`, so the
 * page shows `:tensorflow:serving:request_count`; the names, label names, kinds and histogram buckets here are
 * those of TF Serving's sources (microseconds for latencies). Metrics TF Serving does not have are under
 * `:tfhub_node:serving:` with model, version and signature labels.
 *
 * One registry per ModelServer (`server.metrics.registry`), so several servers in a process do not mix.
 */
import * as client from 'prom-client';
import type { BatchingHooks, BatchRunInfo } from '../batching/batcher';
import type { QueueDepth } from '../batching/queue';

/** TF Serving's default metrics path (PrometheusExporter::kPrometheusPath). */
export const DEFAULT_METRICS_PATH = '/monitoring/prometheus/metrics';

/**
 * TF's `monitoring::Buckets::Exponential(scale, growth, count)` bucket limits (scale·growth^i), each rounded
 * to the 6 significant digits TF Serving prints them with (absl::StrCat of a double).
 */
export function exponentialBuckets(scale: number, growth: number, count: number): number[] {
  const out: number[] = [];
  let bound = scale;
  for (let i = 0; i < count; i++) {
    out.push(Number(bound.toPrecision(6)));
    bound *= growth;
  }
  return out;
}

/** Which front end a request came through (TF Serving's `entrypoint` label). */
export type Entrypoint = 'REST' | 'GRPC';

type Labels<T extends string> = Partial<Record<T, string | number>>;

/** The metrics of one ModelServer; see the module comment. */
export class ServingMetrics {
  /** The prom-client registry holding every metric below (scrape it with `text()`). */
  readonly registry = new client.Registry();
  /** `:tensorflow:serving:request_count{model_name,status}`: requests by model and TF status code. */
  readonly requestCount: client.Counter<'model_name' | 'status'>;
  /** `:tensorflow:serving:request_latency{model_name,API,entrypoint}`: successful requests' wall time (µs). */
  readonly requestLatency: client.Histogram<'model_name' | 'API' | 'entrypoint'>;
  /** `:tensorflow:serving:request_example_counts{model}`: tf.Examples per Classify/Regress request. */
  readonly exampleCounts: client.Histogram<'model'>;
  /** `:tensorflow:serving:request_example_count_total{model}`: tf.Examples in all. */
  readonly exampleCountTotal: client.Counter<'model'>;
  /** `:tensorflow:serving:model_warmup_latency{model_path,status}`: warmup wall time (µs). */
  readonly warmupLatency: client.Histogram<'model_path' | 'status'>;
  /** `:tensorflow:serving:model_warmup_records_read{model_path,status}`: warmup records replayed. */
  readonly warmupRecordsRead: client.Counter<'model_path' | 'status'>;
  /** `:tensorflow:serving:batching_session:queuing_latency{thread_pool_name}`: time in the batching queue (µs). */
  readonly queuingLatency: client.Histogram<'thread_pool_name'>;
  /** `:tensorflow:serving:batching_session:wrapped_run_count`: runs of the model by the batcher. */
  readonly wrappedRunCount: client.Counter<string>;
  /** `:tensorflow:cc:saved_model:load_attempt_count{model_path,status}`: loads, `success` or `fail`. */
  readonly loadAttemptCount: client.Counter<'model_path' | 'status'>;
  /** `:tensorflow:cc:saved_model:load_latency{model_path}`: total µs of successful loads. */
  readonly loadLatencyTotal: client.Counter<'model_path'>;
  /** `:tfhub_node:serving:model_load_latency{model_name,version,status}`: load (and warmup) wall time (µs). */
  readonly modelLoadLatency: client.Histogram<'model_name' | 'version' | 'status'>;
  /** `:tfhub_node:serving:signature_latency{model_name,version,signature,status}`: requests per signature (µs). */
  readonly signatureLatency: client.Histogram<'model_name' | 'version' | 'signature' | 'status'>;
  /** `:tfhub_node:serving:batch_queue_depth{model_name,version,signature}`: calls waiting in the batch queue. */
  readonly queueDepth: client.Gauge<'model_name' | 'version' | 'signature'>;
  /** `:tfhub_node:serving:batch_size{model_name,version,signature}`: rows per batched run (padding included). */
  readonly batchSize: client.Histogram<'model_name' | 'version' | 'signature'>;

  constructor() {
    const registers = [this.registry];
    const latency = exponentialBuckets(10, 1.8, 33); // ~20 minutes, as util.cc
    this.requestCount = new client.Counter({
      name: ':tensorflow:serving:request_count',
      help: 'The total number of requests.',
      labelNames: ['model_name', 'status'],
      registers,
    });
    this.requestLatency = new client.Histogram({
      name: ':tensorflow:serving:request_latency',
      help: 'Distribution of wall time (in microseconds) for Tensorflow Serving request.',
      labelNames: ['model_name', 'API', 'entrypoint'],
      buckets: latency,
      registers,
    });
    this.exampleCounts = new client.Histogram({
      name: ':tensorflow:serving:request_example_counts',
      help: 'The number of tensorflow.Examples per request.',
      labelNames: ['model'],
      buckets: exponentialBuckets(1, 2, 15),
      registers,
    });
    this.exampleCountTotal = new client.Counter({
      name: ':tensorflow:serving:request_example_count_total',
      help: 'The total number of tensorflow.Examples.',
      labelNames: ['model'],
      registers,
    });
    this.warmupLatency = new client.Histogram({
      name: ':tensorflow:serving:model_warmup_latency',
      help: 'Distribution of wall time (in microseconds) for warming up the model.',
      labelNames: ['model_path', 'status'],
      buckets: latency,
      registers,
    });
    this.warmupRecordsRead = new client.Counter({
      name: ':tensorflow:serving:model_warmup_records_read',
      help: 'Total number of warmup records read during model warmup.',
      labelNames: ['model_path', 'status'],
      registers,
    });
    this.queuingLatency = new client.Histogram({
      name: ':tensorflow:serving:batching_session:queuing_latency',
      help: 'Distribution of wall time spent (in microseconds) in queuing',
      labelNames: ['thread_pool_name'],
      buckets: exponentialBuckets(100, 1.2, 52),
      registers,
    });
    this.wrappedRunCount = new client.Counter({
      name: ':tensorflow:serving:batching_session:wrapped_run_count',
      help: 'Total count of run calls on the wrapped session',
      registers,
    });
    this.loadAttemptCount = new client.Counter({
      name: ':tensorflow:cc:saved_model:load_attempt_count',
      help: 'The number of times a SavedModel was successfully loaded.',
      labelNames: ['model_path', 'status'],
      registers,
    });
    this.loadLatencyTotal = new client.Counter({
      name: ':tensorflow:cc:saved_model:load_latency',
      help: 'Latency in microseconds for SavedModels that were successfully loaded.',
      labelNames: ['model_path'],
      registers,
    });
    this.modelLoadLatency = new client.Histogram({
      name: ':tfhub_node:serving:model_load_latency',
      help: 'Wall time (in microseconds) to load a model version, warmup included.',
      labelNames: ['model_name', 'version', 'status'],
      buckets: latency,
      registers,
    });
    this.signatureLatency = new client.Histogram({
      name: ':tfhub_node:serving:signature_latency',
      help: 'Wall time (in microseconds) of requests that reached a model version, by signature and status.',
      labelNames: ['model_name', 'version', 'signature', 'status'],
      buckets: latency,
      registers,
    });
    this.queueDepth = new client.Gauge({
      name: ':tfhub_node:serving:batch_queue_depth',
      help: 'Calls waiting in the batching queue.',
      labelNames: ['model_name', 'version', 'signature'],
      registers,
    });
    this.batchSize = new client.Histogram({
      name: ':tfhub_node:serving:batch_size',
      help: 'Rows of each batched run, padding included.',
      labelNames: ['model_name', 'version', 'signature'],
      buckets: exponentialBuckets(1, 1.5, 20),
      registers,
    });
  }

  /** Records one request as TF Serving does: the count by status always, the latency when it succeeded. */
  recordRequest(modelName: string, api: string, entrypoint: Entrypoint, code: string, micros: number): void {
    this.requestCount.inc({ model_name: modelName, status: code });
    if (code === 'OK') this.requestLatency.observe({ model_name: modelName, API: api, entrypoint }, micros);
  }

  /** Records a request that reached a version (any API), with its TF status code. */
  recordSignature(modelName: string, version: number, signature: string, code: string, micros: number): void {
    this.signatureLatency.observe({ model_name: modelName, version: String(version), signature, status: code }, micros);
  }

  /** Records the number of tf.Examples of a Classify/Regress request. */
  recordExamples(modelName: string, count: number): void {
    this.exampleCounts.observe({ model: modelName }, count);
    this.exampleCountTotal.inc({ model: modelName }, count);
  }

  /** Records a warmup: its status string (`OK` or `CODE: message`, as absl::Status::ToString) and records. */
  recordWarmup(modelPath: string, status: string, micros: number, records: number): void {
    this.warmupLatency.observe({ model_path: modelPath, status }, micros);
    this.warmupRecordsRead.inc({ model_path: modelPath, status }, records);
  }

  /** Records a version load (warmup included) and its outcome. */
  recordLoad(modelName: string, version: number, modelPath: string, ok: boolean, micros: number): void {
    this.loadAttemptCount.inc({ model_path: modelPath, status: ok ? 'success' : 'fail' });
    if (ok) this.loadLatencyTotal.inc({ model_path: modelPath }, Math.round(micros));
    this.modelLoadLatency.observe({ model_name: modelName, version: String(version), status: ok ? 'OK' : 'ERROR' }, micros);
  }

  /** The batcher hooks of one signature of one version: queue depth, batch sizes, queuing latency, runs. */
  batchingHooks(modelName: string, version: number, signature: string): BatchingHooks {
    const labels: Labels<'model_name' | 'version' | 'signature'> = { model_name: modelName, version: String(version), signature };
    this.queueDepth.set(labels, 0);
    return {
      onQueueDepth: (depth: QueueDepth) => this.queueDepth.set(labels, depth.calls),
      onBatch: (info: BatchRunInfo) => {
        this.batchSize.observe(labels, info.batchSize);
        // TF Serving's server path creates its batching sessions with an empty thread pool name.
        for (const us of info.queueMicros) this.queuingLatency.observe({ thread_pool_name: '' }, us);
        this.wrappedRunCount.inc(info.merged ? 1 : info.calls);
      },
    };
  }

  /** Drops the per-version series of an unloaded version (its queue depth). */
  forgetVersion(modelName: string, version: number, signatures: Iterable<string>): void {
    for (const signature of signatures) this.queueDepth.remove({ model_name: modelName, version: String(version), signature });
  }

  /** The page in Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
