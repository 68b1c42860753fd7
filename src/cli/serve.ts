/**
 * `tfhub-node serve`: tensorflow_model_server's command line over `serving.ModelServer`. Flags as
 * tensorflow_model_server takes them (src/cli/serve_flags.ts); a bad flag, value or config file is one error
 * line and exit code 2; SIGTERM/SIGINT finish in-flight requests, refuse new ones and exit 0.
 */
import * as http from 'node:http';
import { promises as fs } from 'node:fs';
import type { ModelServer, ModelServerOptions } from '../serving/model_server';
import { ModelServerConfigObject, readModelServerConfig } from '../serving/config';
import { parseBatchingParametersText, parseMonitoringConfigText } from '../serving/text_proto';
import type { MonitoringConfigObject } from '../serving/model_server';
import { BatchingParameters, parseBatchingParameters } from '../batching/params';
import type * as grpc from '@grpc/grpc-js';
import { formatFlagHelp, parseFlags } from './flags';
import { parseChannelArguments } from './grpc_server';
import { SERVE_FLAGS } from './serve_flags';

/** What `serve` prints for `--help`. */
export const SERVE_USAGE = formatFlagHelp("usage: tfhub-node serve [--flag=value ...]   (tensorflow_model_server's flags)", SERVE_FLAGS);

/** A usage error: printed as one line, exit code 2. */
class UsageError extends Error {}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

/** The text of a `--<flag>` file; one that cannot be read is a usage error. */
async function readFlagFile(flag: string, file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--${flag}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/** `--monitoring_config_file`: a MonitoringConfig checked against the proto (undefined when not given). */
async function readMonitoringConfig(file: string): Promise<MonitoringConfigObject | undefined> {
  if (!file) return undefined;
  return parseMonitoringConfigText(await readFlagFile('monitoring_config_file', file), file) as MonitoringConfigObject;
}

/**
 * `--enable_batching` with `--batching_parameters_file`: TF Serving's BatchingParameters (text format, checked
 * against the proto), or its defaults when no file is given; undefined when batching is off (the file is then
 * still checked, as tensorflow_model_server reads it only with batching on but a typo should not wait).
 */
async function readBatchingFlags(enabled: boolean, file: string): Promise<BatchingParameters | undefined> {
  let params: BatchingParameters = {};
  if (file) params = parseBatchingParametersText(await readFlagFile('batching_parameters_file', file), file) as BatchingParameters;
  if (!enabled) return undefined;
  try {
    return parseBatchingParameters(params);
  } catch (e) {
    throw new UsageError(`--batching_parameters_file: ${(e as Error).message}`);
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Runs `serve` with `argv` (the arguments after `serve`); resolves with the exit code once the server stops. */
export async function serveCommand(argv: string[]): Promise<number> {
  let flags: Record<string, boolean | number | string>;
  let configFile = '';
  let config: ModelServerConfigObject;
  let channel: ReturnType<typeof parseChannelArguments>;
  let batching: BatchingParameters | undefined;
  let monitoring: MonitoringConfigObject | undefined;
  try {
    const parsed = parseFlags(argv, SERVE_FLAGS);
    if (parsed.help) {
      process.stdout.write(`${SERVE_USAGE}\n`);
      return 0;
    }
    flags = parsed.values;
    if (flags.version) {
      const { tensorflowVersion } = await import('../native');
      process.stdout.write(`TensorFlow ModelServer: tfhub-node\nTensorFlow Library: ${tensorflowVersion()}\n`);
      return 0;
    }
    for (const spec of SERVE_FLAGS) {
      if (spec.support === 'refused' && flags[spec.name] !== spec.default)
        throw new UsageError(`--${spec.name} is not supported by tfhub-node serve`);
    }
    for (const name of ['port', 'rest_api_port']) {
      const v = flags[name] as number;
      if (v < 0 || v > 65535) throw new UsageError(`--${name}: ${v} is not a port number (0-65535)`);
    }
    if (flags.port !== 0 && flags.port === flags.rest_api_port) throw new UsageError('--rest_api_port cannot be the same as --port');
    if ((flags.file_system_poll_wait_seconds as number) < 0)
      throw new UsageError('--file_system_poll_wait_seconds: negative values are not supported');
    if ((flags.rest_api_timeout_in_ms as number) < 0) throw new UsageError('--rest_api_timeout_in_ms must not be negative');
    channel = parseChannelArguments(flags.grpc_channel_arguments as string);
    batching = await readBatchingFlags(flags.enable_batching as boolean, flags.batching_parameters_file as string);
    monitoring = await readMonitoringConfig(flags.monitoring_config_file as string);
    configFile = flags.model_config_file as string;
    if (configFile) {
      config = await readModelServerConfig(configFile).catch((e: Error & { code?: string }) => {
        throw e.code === 'ERR_TEXT_FORMAT' ? e : new UsageError(`--model_config_file: ${e.message}`);
      });
    } else {
      if (!flags.model_base_path) throw new UsageError('--model_base_path is required when --model_config_file is not given');
      config = { modelConfigList: { config: [{ name: flags.model_name as string, basePath: flags.model_base_path as string }] } };
    }
  } catch (e) {
    // A config file that does not parse: protobuf's wording, as tensorflow_model_server logs it.
    const type = (e as { messageType?: string }).messageType;
    process.stderr.write(`tfhub-node serve: ${type ? `Error parsing text-format ${type}: ` : ''}${(e as Error).message}\n`);
    return 2;
  }

  const tags = (flags.saved_model_tags as string)
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const threads = flags.tensorflow_session_parallelism as number;
  // How long a shutdown waits for the requests in progress.
  const drainMs = (flags.rest_api_timeout_in_ms as number) || 30_000;
  const options: ModelServerOptions = {
    config,
    savedModelTags: tags,
    fileSystemPollWaitSeconds: flags.file_system_poll_wait_seconds as number,
    session: {
      intraOpParallelism: (flags.tensorflow_intra_op_parallelism as number) || threads || undefined,
      interOpParallelism: (flags.tensorflow_inter_op_parallelism as number) || threads || undefined,
    },
    batching,
    monitoring,
    enableModelWarmup: flags.enable_model_warmup as boolean,
    warmup:
      (flags.num_request_iterations_for_warmup as number) > 0
        ? { numRequestIterations: flags.num_request_iterations_for_warmup as number }
        : undefined,
    allowVersionLabelsForUnavailableModels: flags.allow_version_labels_for_unavailable_models as boolean,
    enableSignatureMethodNameCheck: flags.enable_signature_method_name_check as boolean,
    drainTimeoutMs: drainMs,
    rest: {
      timeoutMs: flags.rest_api_timeout_in_ms as number,
      maxBodyBytes: flags.rest_api_max_body_bytes as number,
      cors: flags.rest_api_enable_cors_support as boolean,
    },
    log,
  };
  // TensorFlow loads only now: usage errors above answer at once.
  const { ModelServer: Server } = await import('../serving/model_server');
  const { startGrpc, stopGrpc } = await import('./grpc_server');
  let server: ModelServer;
  try {
    server = new Server(options);
  } catch (e) {
    process.stderr.write(`tfhub-node serve: ${(e as Error).message}\n`);
    return 2;
  }
  for (const spec of SERVE_FLAGS) {
    if (spec.support === 'ignored' && flags[spec.name] !== spec.default)
      log(`--${spec.name} is accepted and ignored (${spec.note ?? 'no effect in tfhub-node'})`);
  }

  let stopping: Promise<number> | null = null;
  let stop: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    stop = resolve;
  });
  const httpServers: http.Server[] = [];
  let grpcServer: grpc.Server | null = null;
  let configTimer: NodeJS.Timeout | null = null;
  const shutdown = (signal: string) => {
    if (stopping) return;
    log(`Received ${signal}, finishing in-flight requests and shutting down`);
    if (configTimer) clearInterval(configTimer);
    stopping = (async () => {
      // Stop listening; keep-alive connections with no request in progress are closed now. The server answers
      // the requests in progress (a REST request whose headers arrived, its body possibly still uploading; a
      // gRPC call) before the models unload, for at most the REST timeout (30 s when none is set), and refuses
      // new ones on the connections still open (HTTP 503, gRPC UNAVAILABLE).
      for (const s of httpServers) {
        s.close();
        s.closeIdleConnections();
      }
      await Promise.all([server.close(), grpcServer ? stopGrpc(grpcServer, drainMs) : undefined]);
      for (const s of httpServers) s.closeAllConnections();
      return 0;
    })();
    void stopping.then(stop);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  try {
    await server.start();
    const failed = config.modelConfigList.config.flatMap((m) => {
      try {
        return server
          .getModelStatus(m.name)
          .filter((s) => s.status.errorCode !== 'OK')
          .map((s) => `{name: ${m.name} version: ${s.version}} due to error: ${s.status.errorCode}: ${s.status.errorMessage}`);
      } catch {
        log(`No versions of servable ${m.name} found under base path ${m.basePath}`);
        return [];
      }
    });
    // server_core.cc's wording
    if (failed.length > 0 && !stopping)
      throw new Error(`${failed.length} model(s) did not become available: {${failed.map((f) => `{${f}}, `).join('')}}`);
    const host = flags.bind_address as string;
    const grpcAddresses: string[] = [];
    if (flags.port !== 0) grpcAddresses.push(`${host.includes(':') ? `[${host}]` : host}:${flags.port}`);
    if (flags.grpc_socket_path) grpcAddresses.push(`unix:${flags.grpc_socket_path}`);
    if (grpcAddresses.length > 0 && !stopping) {
      if (channel!.ignored.length > 0)
        log(`--grpc_channel_arguments: ignored (not grpc-js server options): ${channel!.ignored.join(', ')}`);
      grpcServer = await startGrpc(server, grpcAddresses, channel!.options, flags.enable_profiler as boolean);
      for (const a of grpcAddresses) log(`Running gRPC ModelServer at ${a} ...`);
    }
    if (flags.rest_api_port !== 0 && !stopping) {
      const rest = http.createServer(server.restHandler());
      rest.headersTimeout = Math.min(60000, (flags.rest_api_timeout_in_ms as number) || 60000);
      httpServers.push(rest);
      await listen(rest, flags.rest_api_port as number, host);
      log(`Exporting HTTP/REST API at:${host}:${flags.rest_api_port} ...`);
    }
    const wait = flags.model_config_file_poll_wait_seconds as number;
    if (configFile && wait > 0) {
      configTimer = setInterval(() => {
        readModelServerConfig(configFile)
          .then((c) => server.reloadConfig(c))
          .catch((e: Error) => log(`Failed to reload ${configFile}: ${e.message}`));
      }, wait * 1000);
    }
  } catch (e) {
    process.stderr.write(`tfhub-node serve: Failed to start server. Error: ${(e as Error).message}\n`);
    await server.close().catch(() => undefined);
    for (const s of httpServers) s.close();
    grpcServer?.forceShutdown();
    return 1;
  }
  return done;
}
