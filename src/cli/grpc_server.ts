/**
 * The gRPC side of `tfhub-node serve`: a `@grpc/grpc-js` server with TF Serving's services on `--port` and/or
 * `--grpc_socket_path`, configured from `--grpc_channel_arguments` (the arguments grpc-js knows are applied, the
 * others are reported as ignored). Messages up to 2 GiB, as tensorflow_model_server allows. With `--enable_profiler`
 * (the default) it also serves TensorFlow's profiler service, tracing the requests served.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { ModelServer } from '../serving/model_server';
import { PROFILER_SERVICE, profilerServiceHandlers } from '../serving/grpc/profiler_service';
import { FlagError } from './flags';

/** Channel arguments grpc-js's Server applies. */
const GRPC_JS_SERVER_ARGS = new Set([
  'grpc.max_receive_message_length',
  'grpc.max_send_message_length',
  'grpc.max_concurrent_streams',
  'grpc.keepalive_time_ms',
  'grpc.keepalive_timeout_ms',
  'grpc.keepalive_permit_without_calls',
  'grpc.max_connection_age_ms',
  'grpc.max_connection_age_grace_ms',
  'grpc.max_connection_idle_ms',
  'grpc.http2.max_frame_size',
  'grpc-node.max_session_memory',
  'grpc.enable_channelz',
  'grpc.default_compression_algorithm',
  'grpc.default_compression_level',
  'grpc.max_metadata_size',
  'grpc.enable_http_proxy',
  'grpc.ssl_target_name_override',
]);

/** Parses `--grpc_channel_arguments` (`name=value,name=value`): the options grpc-js applies, and the names it ignores. */
export function parseChannelArguments(text: string): { options: grpc.ServerOptions; ignored: string[] } {
  const options: Record<string, string | number> = {};
  const ignored: string[] = [];
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new FlagError(`--grpc_channel_arguments: expected name=value, got '${item}'`);
    const name = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    if (!GRPC_JS_SERVER_ARGS.has(name)) {
      ignored.push(name);
      continue;
    }
    options[name] = /^-?\d+$/.test(raw) ? Number(raw) : raw;
  }
  return { options: options as grpc.ServerOptions, ignored };
}

/**
 * gRPC's C core replaces a socket file already at a `unix:` address before binding (one left by a server that was
 * killed, or a live one: the new server takes the path over); grpc-js would fail with EADDRINUSE instead.
 */
function replaceSocketFile(address: string): void {
  if (!address.startsWith('unix:')) return;
  const file = address.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
  try {
    if (fs.lstatSync(file).isSocket()) fs.unlinkSync(file);
  } catch {
    // nothing there (or not ours to remove): bind reports what is wrong
  }
}

/**
 * Starts the gRPC server (with `tensorflow.ProfilerService` too when `profiler` is set, as `--enable_profiler`
 * does); resolves with it once it listens on every address.
 */
export async function startGrpc(
  model: ModelServer,
  addresses: string[],
  options: grpc.ServerOptions,
  profiler = false,
): Promise<grpc.Server> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 2 ** 31 - 1,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    ...options,
  });
  model.addGrpcServices(server);
  if (profiler) server.addService(PROFILER_SERVICE, profilerServiceHandlers(model.tracer));
  for (const address of addresses) {
    replaceSocketFile(address);
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(new Error(`cannot listen on ${address}: ${err.message}`)) : resolve(),
      );
    });
  }
  return server;
}

/** Stops accepting calls and waits for in-flight ones (forced after `graceMs`). */
export function stopGrpc(server: grpc.Server, graceMs = 30_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
