/**
 * `tensorflow.ProfilerService` (TensorFlow's on-demand profiler, which tensorflow_model_server serves on its gRPC
 * port unless `--enable_profiler=false`): `Profile` records the requests the ModelServer runs for `duration_ms`
 * and answers them as an XSpace (TensorFlow's trace format, one host plane with one event per request) in the
 * response's tool data `xplane.pb`, which clients such as `tf.profiler.experimental.client.trace` save under their
 * log directory for TensorBoard. Unlike TensorFlow's server it never writes files itself (a client-chosen
 * `repository_root` is not a path a server should write to). `Terminate` ends nothing early (the session ends with
 * its duration); `Monitor` and continuous profiling are UNIMPLEMENTED. Messages are encoded by hand (field
 * numbers of tsl/profiler/protobuf/profiler_service.proto and xplane.proto).
 */
import type * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { InvalidArgumentError, UnimplementedError } from '../../errors';
import { toBigInt } from '../../proto';
import type { RequestSpan, RequestTracer, TraceSession } from '../request_trace';
import { unary } from './call';

/** Longest trace one Profile call records (a client asking for more gets this much). */
export const MAX_PROFILE_MS = 10 * 60 * 1000;

interface ProfileRequest {
  durationMs: number;
  hostName: string;
  emitXspace: boolean;
}

function decodeProfileRequest(raw: Uint8Array): ProfileRequest {
  const req: ProfileRequest = { durationMs: 0, hostName: '', emitXspace: false };
  try {
    const r = protobuf.Reader.create(raw);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1 && (tag & 7) === 0) req.durationMs = Number(toBigInt(r.uint64() as unknown as number));
      else if (field === 7 && (tag & 7) === 2) req.hostName = r.string();
      else if (field === 9 && (tag & 7) === 0) req.emitXspace = r.bool();
      else r.skipType(tag & 7);
    }
  } catch (e) {
    throw new InvalidArgumentError(`ProfileRequest: ${(e as Error).message}`);
  }
  return req;
}

/** An XSpace with the host plane `/host:CPU`: one line, one event per request span (its status as a stat). */
export function xspaceBytes(session: Pick<TraceSession, 'spans' | 'startNs' | 'startEpochNs'>, hostName: string): Uint8Array {
  const names = new Map<string, number>();
  const nameOf = (s: RequestSpan) => `${s.model}/${s.version}:${s.signature}`;
  for (const s of session.spans) if (!names.has(nameOf(s))) names.set(nameOf(s), names.size + 1);
  const STATUS_STAT = 1;
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).fork(); // XSpace.planes
  w.uint32((1 << 3) | 0).int64(0); // XPlane.id
  w.uint32((2 << 3) | 2).string('/host:CPU'); // XPlane.name
  w.uint32((3 << 3) | 2).fork(); // XPlane.lines
  w.uint32((1 << 3) | 0).int64(1); // XLine.id
  w.uint32((2 << 3) | 2).string('tfhub-node serve requests'); // XLine.name
  w.uint32((3 << 3) | 0).int64(session.startEpochNs.toString()); // XLine.timestamp_ns
  for (const s of session.spans) {
    w.uint32((4 << 3) | 2).fork(); // XLine.events
    w.uint32((1 << 3) | 0).int64(names.get(nameOf(s))!); // XEvent.metadata_id
    const offset = s.startNs > session.startNs ? s.startNs - session.startNs : 0n;
    w.uint32((2 << 3) | 0).int64((offset * 1000n).toString()); // XEvent.offset_ps
    w.uint32((3 << 3) | 0).int64(((s.endNs - s.startNs) * 1000n).toString()); // XEvent.duration_ps
    w.uint32((4 << 3) | 2).fork(); // XEvent.stats
    w.uint32((1 << 3) | 0).int64(STATUS_STAT); // XStat.metadata_id
    w.uint32((5 << 3) | 2).string(s.code); // XStat.str_value
    w.ldelim();
    w.ldelim();
  }
  w.ldelim();
  for (const [name, id] of names) {
    w.uint32((4 << 3) | 2).fork(); // XPlane.event_metadata (map entry)
    w.uint32((1 << 3) | 0).int64(id);
    w.uint32((2 << 3) | 2).fork(); // XEventMetadata
    w.uint32((1 << 3) | 0).int64(id);
    w.uint32((2 << 3) | 2).string(name);
    w.ldelim();
    w.ldelim();
  }
  w.uint32((5 << 3) | 2).fork(); // XPlane.stat_metadata (map entry)
  w.uint32((1 << 3) | 0).int64(STATUS_STAT);
  w.uint32((2 << 3) | 2).fork(); // XStatMetadata
  w.uint32((1 << 3) | 0).int64(STATUS_STAT);
  w.uint32((2 << 3) | 2).string('status');
  w.ldelim();
  w.ldelim();
  w.ldelim();
  if (hostName) w.uint32((4 << 3) | 2).string(hostName); // XSpace.hostnames
  return w.finish();
}

function profileResponseBytes(xspace: Uint8Array, empty: boolean, emitXspace: boolean): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((6 << 3) | 2).fork(); // ProfileResponse.tool_data
  w.uint32((1 << 3) | 2).string('xplane.pb'); // ProfileToolData.name
  w.uint32((2 << 3) | 2).bytes(xspace); // ProfileToolData.data
  w.ldelim();
  w.uint32((7 << 3) | 0).bool(empty); // ProfileResponse.empty_trace
  if (emitXspace) w.uint32((8 << 3) | 2).bytes(xspace); // ProfileResponse.xspace
  return w.finish();
}

const method = (name: string): grpc.MethodDefinition<Buffer, Uint8Array> => ({
  path: `/tensorflow.ProfilerService/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Uint8Array) => Buffer.from(b),
  responseDeserialize: (b: Buffer) => b,
  originalName: name,
});

/** The grpc-js definition of `tensorflow.ProfilerService`. */
export const PROFILER_SERVICE: grpc.ServiceDefinition<grpc.UntypedServiceImplementation> = Object.fromEntries(
  ['Profile', 'Terminate', 'Monitor', 'StartContinuousProfiling', 'StopContinuousProfiling', 'GetSnapshot'].map((n) => [n, method(n)]),
) as grpc.ServiceDefinition<grpc.UntypedServiceImplementation>;

/** The ProfilerService implementation recording from `tracer`. */
export function profilerServiceHandlers(tracer: RequestTracer): grpc.UntypedServiceImplementation {
  const unimplemented = (name: string) =>
    unary(() => {
      throw new UnimplementedError(`tensorflow.ProfilerService/${name} is not supported by tfhub-node serve`);
    });
  return {
    Profile: unary(async (raw, ctx) => {
      const req = decodeProfileRequest(raw);
      if (req.durationMs <= 0) throw new InvalidArgumentError('duration_ms must be greater than zero.');
      const session = tracer.open();
      try {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(req.durationMs, MAX_PROFILE_MS));
          function done(): void {
            clearTimeout(timer);
            ctx.signal.removeEventListener('abort', done);
            resolve();
          }
          ctx.signal.addEventListener('abort', done);
        });
      } finally {
        session.close();
      }
      const bytes = profileResponseBytes(xspaceBytes(session, req.hostName), session.spans.length === 0, req.emitXspace);
      // unary() hands the result to responseSerialize, which takes the bytes as they are
      return bytes as unknown as object;
    }),
    Terminate: unary(() => new Uint8Array(0) as unknown as object),
    Monitor: unimplemented('Monitor'),
    StartContinuousProfiling: unimplemented('StartContinuousProfiling'),
    StopContinuousProfiling: unimplemented('StopContinuousProfiling'),
    GetSnapshot: unimplemented('GetSnapshot'),
  };
}
