/**
 * The flags of `tfhub-node serve`: tensorflow_model_server's (same names, types, defaults and meanings), each
 * marked as used, accepted-and-ignored, or refused, plus `--bind_address` (an addition: the interface to listen on).
 */
import { FlagSpec } from './flags';

/** How `serve` treats a flag. */
export type FlagSupport = 'supported' | 'ignored' | 'refused';

/** A flag with how `serve` treats it (`note` says what differs from tensorflow_model_server). */
export interface ServeFlagSpec extends FlagSpec {
  support: FlagSupport;
  note?: string;
}

const f = (
  name: string,
  type: FlagSpec['type'],
  def: FlagSpec['default'],
  support: FlagSupport,
  help: string,
  note?: string,
): ServeFlagSpec => ({ name, type, default: def, support, help, note });

/** Every flag of `serve`. */
export const SERVE_FLAGS: readonly ServeFlagSpec[] = [
  f('port', 'int32', 8500, 'supported', 'TCP port to listen on for gRPC API. Disabled if port set to zero.'),
  f('grpc_socket_path', 'string', '', 'supported', 'If non-empty, listen to a UNIX socket for gRPC API on the given path.'),
  f(
    'rest_api_port',
    'int32',
    0,
    'supported',
    'Port to listen on for HTTP/REST API. If set to zero HTTP/REST API will not be exported. This port must be different than the one specified in --port.',
  ),
  f(
    'rest_api_num_threads',
    'int32',
    0,
    'ignored',
    'Number of threads for HTTP/REST API processing.',
    'accepted; Node serves REST on its event loop and runs models on TF threads',
  ),
  f('rest_api_timeout_in_ms', 'int32', 30000, 'supported', 'Timeout for HTTP/REST API calls (0 = none).'),
  f('rest_api_enable_cors_support', 'bool', false, 'supported', 'Enable CORS headers in response'),
  f(
    'rest_api_max_body_bytes',
    'int64',
    64 * 1024 * 1024,
    'supported',
    'Largest REST request body in bytes; larger ones get HTTP 413.',
    'addition',
  ),
  f(
    'bind_address',
    'string',
    '0.0.0.0',
    'supported',
    'Interface the REST and gRPC ports listen on.',
    'addition (tensorflow_model_server listens on all interfaces)',
  ),
  f('enable_batching', 'bool', false, 'supported', 'enable batching'),
  f(
    'allow_version_labels_for_unavailable_models',
    'bool',
    false,
    'supported',
    'If true, allows assigning unused version labels to models that are not available yet.',
  ),
  f(
    'batching_parameters_file',
    'string',
    '',
    'supported',
    'If non-empty, read an ascii BatchingParameters protobuf from the supplied file name.',
  ),
  f('enable_per_model_batching_parameters', 'bool', false, 'ignored', 'Enables model specific batching params.'),
  f(
    'model_config_file',
    'string',
    '',
    'supported',
    'If non-empty, read an ascii ModelServerConfig protobuf from the supplied file name, and serve the models in that file. (If used, --model_name, --model_base_path are ignored.)',
  ),
  f(
    'model_config_file_poll_wait_seconds',
    'int32',
    0,
    'supported',
    'Interval in seconds between each poll of the filesystem for model_config_file. If unset or set to zero, poll will be done exactly once and not periodically.',
  ),
  f('model_name', 'string', 'default', 'supported', 'name of model (ignored if --model_config_file flag is set)'),
  f('model_base_path', 'string', '', 'supported', 'path to export (ignored if --model_config_file flag is set, otherwise required)'),
  f(
    'num_load_threads',
    'int32',
    0,
    'ignored',
    'The number of threads in the thread-pool used to load servables.',
    'versions load concurrently',
  ),
  f('num_unload_threads', 'int32', 0, 'ignored', 'The number of threads in the thread-pool used to unload servables.'),
  f(
    'max_num_load_retries',
    'int32',
    5,
    'ignored',
    'maximum number of times it retries loading a model after the first failure.',
    'a failed version is not retried while it stays on disk',
  ),
  f('load_retry_interval_micros', 'int64', 60000000, 'ignored', 'The interval, in microseconds, between each servable load retry.'),
  f(
    'file_system_poll_wait_seconds',
    'int32',
    1,
    'supported',
    'Interval in seconds between each poll of the filesystem for new model version. If set to zero poll will be exactly done once and not periodically.',
  ),
  f(
    'flush_filesystem_caches',
    'bool',
    true,
    'ignored',
    'If true (the default), filesystem caches will be flushed after the initial load of all servables.',
  ),
  f(
    'tensorflow_session_parallelism',
    'int64',
    0,
    'supported',
    'Number of threads to use for running a Tensorflow session. Auto-configured by default.',
  ),
  f(
    'tensorflow_session_config_file',
    'string',
    '',
    'ignored',
    'If non-empty, read an ascii TensorFlow Session ConfigProto protobuf from the supplied file name.',
  ),
  f(
    'tensorflow_intra_op_parallelism',
    'int64',
    0,
    'supported',
    'Number of threads to use to parallelize the execution of an individual op. Auto-configured by default.',
  ),
  f(
    'tensorflow_inter_op_parallelism',
    'int64',
    0,
    'supported',
    'Controls the number of operators that can be executed simultaneously. Auto-configured by default.',
  ),
  f('use_alts_credentials', 'bool', false, 'refused', 'Use Google ALTS credentials'),
  f(
    'ssl_config_file',
    'string',
    '',
    'refused',
    'If non-empty, read an ascii SSLConfig protobuf from the supplied file name and set up a secure gRPC channel',
  ),
  f('platform_config_file', 'string', '', 'refused', 'If non-empty, read an ascii PlatformConfigMap protobuf from the supplied file name.'),
  f('per_process_gpu_memory_fraction', 'float', 0, 'ignored', 'Fraction that each process occupies of the GPU memory space.'),
  f(
    'saved_model_tags',
    'string',
    'serve',
    'supported',
    'Comma-separated set of tags corresponding to the meta graph def to load from SavedModel.',
  ),
  f(
    'grpc_channel_arguments',
    'string',
    '',
    'supported',
    'A comma separated list of arguments to be passed to the grpc server. (e.g. grpc.max_connection_age_ms=2000)',
    'those grpc-js knows are applied; others are logged as ignored',
  ),
  f('grpc_max_threads', 'int32', 0, 'ignored', 'Max grpc server threads to handle grpc messages.'),
  f(
    'enable_model_warmup',
    'bool',
    true,
    'supported',
    'Enables model warmup, which triggers lazy initializations (such as TF optimizations) at load time, to reduce first request latency.',
  ),
  f(
    'num_request_iterations_for_warmup',
    'int32',
    0,
    'supported',
    'Number of times a request is iterated during warmup replay. This value is used only if > 0.',
  ),
  f('version', 'bool', false, 'supported', 'Display version'),
  f(
    'monitoring_config_file',
    'string',
    '',
    'supported',
    'If non-empty, read an ascii MonitoringConfig protobuf from the supplied file name',
  ),
  f(
    'remove_unused_fields_from_bundle_metagraph',
    'bool',
    true,
    'ignored',
    'Removes unused fields from MetaGraphDef proto message to save memory.',
  ),
  f(
    'prefer_tflite_model',
    'bool',
    false,
    'ignored',
    'EXPERIMENTAL; Prefer TensorFlow Lite model from `model.tflite` file in SavedModel directory.',
  ),
  f('num_tflite_pools', 'int32', 0, 'ignored', 'EXPERIMENTAL; Number of TFLite interpreter pools.'),
  f('num_tflite_interpreters_per_pool', 'int32', 1, 'ignored', 'EXPERIMENTAL; Number of TFLite interpreters per pool.'),
  f('enable_signature_method_name_check', 'bool', false, 'ignored', 'Enable method_name check for SignatureDef.'),
  f('xla_cpu_compilation_enabled', 'bool', false, 'ignored', 'EXPERIMENTAL; Enable XLA:CPU JIT.'),
  f('xla_gpu_compilation_enabled', 'bool', false, 'ignored', 'EXPERIMENTAL; Enable XLA:CPU and XLA:GPU JIT.'),
  f('enable_profiler', 'bool', true, 'ignored', 'Enable profiler service.'),
  f(
    'thread_pool_factory_config_file',
    'string',
    '',
    'ignored',
    'If non-empty, read an ascii ThreadPoolConfig protobuf from the supplied file name.',
  ),
  f('mixed_precision', 'string', '', 'ignored', 'specify mixed_precision mode'),
  f('skip_initialize_tpu', 'bool', false, 'ignored', 'Whether to skip auto initializing TPU.'),
  f('enable_grpc_healthcheck_service', 'bool', false, 'ignored', 'Enable the standard gRPC healthcheck service.'),
  f('enable_serialization_as_tensor_content', 'bool', false, 'supported', 'Enable serialization of predict response as tensor content.'),
];
