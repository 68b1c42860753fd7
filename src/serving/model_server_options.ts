/**
 * The options of `serving.ModelServer` (src/serving/model_server.ts): which models, and TF Serving's flags as
 * fields (`tfhub-node serve` maps its command line onto them).
 */
import type { BatchingParameters } from '../batching';
import type { SessionOptions } from '../session';
import type { ModelServerConfigObject } from './config';
import type { RestOptions } from './rest/handler';
import type { WarmupOptions } from './warmup_replay';

/** Options of `new ModelServer(...)`: a config (or one model by name and base path) and server options. */
export type ModelServerOptions = ({ config: ModelServerConfigObject } | { modelName: string; modelBasePath: string }) & {
  /** Tag set of the meta graph to load (`--saved_model_tags`, default `['serve']`; TF1 Hub modules: their default). */
  savedModelTags?: string[];
  /** Seconds between rescans of the base paths (`--file_system_poll_wait_seconds`, default 1; 0 = scan once). */
  fileSystemPollWaitSeconds?: number;
  /** Session options of every loaded model (threads: `--tensorflow_intra_op_parallelism`, …). */
  session?: SessionOptions;
  /** REST options (`restHandler()`): body size limit, request timeout. */
  rest?: RestOptions;
  /**
   * How long `close()` waits for the requests in progress (REST requests whose headers arrived, gRPC calls,
   * library calls) before cancelling what is left of them (UNAVAILABLE, HTTP 503). Default: `rest.timeoutMs`
   * (`--rest_api_timeout_in_ms`), or 30 s when that is 0 or unset.
   */
  drainTimeoutMs?: number;
  /**
   * Server-side batching (`--enable_batching`, `--batching_parameters_file`): TF Serving's BatchingParameters;
   * concurrent requests for one version and signature are merged into one run (docs/batching.md). Default: off.
   */
  batching?: BatchingParameters;
  /** Called with one line per version loaded, unloaded or failed (default: none). */
  log?: (line: string) => void;
  /**
   * Replay each version's `assets.extra/tf_serving_warmup_requests` before it takes traffic
   * (`--enable_model_warmup`, default true as in TF Serving; docs/serving.md).
   */
  enableModelWarmup?: boolean;
  /** Warmup options: `numRequestIterations` (`--num_request_iterations_for_warmup`, default 1) and file limits. */
  warmup?: WarmupOptions;
  /**
   * TF Serving's `MonitoringConfig`: with `prometheusConfig.enable`, `restHandler()` answers
   * `GET <prometheusConfig.path>` (default `/monitoring/prometheus/metrics`) with `metrics` in Prometheus text
   * format (`--monitoring_config_file`). The metrics are collected either way.
   */
  monitoring?: MonitoringConfigObject;
  /**
   * Accept version labels that point to versions not available yet (`--allow_version_labels_for_unavailable_models`;
   * default false: such a config is refused with FAILED_PRECONDITION, as TF Serving does). An existing label
   * can still only be moved to an available version.
   */
  allowVersionLabelsForUnavailableModels?: boolean;
  /**
   * Classify, Regress and Predict refuse a signature whose method_name is not theirs
   * (`--enable_signature_method_name_check`; default false, as in TF Serving).
   */
  enableSignatureMethodNameCheck?: boolean;
};

/** TF Serving's `MonitoringConfig` (monitoring_config.proto) as an object. */
export interface MonitoringConfigObject {
  /** `prometheus_config`: whether to serve the metrics page, and where. */
  prometheusConfig?: { enable?: boolean; path?: string };
}
