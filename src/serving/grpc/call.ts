/**
 * What every TF Serving RPC handler shares: decoding the request bytes, the `ModelSpec` of a request and of a
 * response, and running a handler with the call's deadline and cancellation as an AbortSignal (a call past its
 * deadline is DEADLINE_EXCEEDED, as in TF Serving).
 */
import type * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { DeadlineExceededError, InvalidArgumentError } from '../../errors';
import { toBigInt } from '../../proto';
import type { ModelSpecQuery, ResolvedModelSpec } from '../model_server';
import { decodeMessage } from '../proto';
import { toGrpcError } from './status';

/** A decoded `tensorflow.serving.ModelSpec`. */
export interface ModelSpecMessage {
  name?: string;
  version?: { value?: unknown } | null;
  versionLabel?: string;
  signatureName?: string;
}

/** Decodes request bytes; malformed bytes are INVALID_ARGUMENT. */
export function decodeRequest<T>(type: protobuf.Type, bytes: Uint8Array): T {
  try {
    return decodeMessage<T>(type, bytes, 'request');
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** The query of a request's ModelSpec (`Missing ModelSpec` when there is none, as TF Serving says). */
export function queryOf(spec: ModelSpecMessage | null | undefined): ModelSpecQuery {
  if (!spec) throw new InvalidArgumentError('Missing ModelSpec');
  const q: ModelSpecQuery = { name: spec.name ?? '' };
  if (spec.version) {
    const v = toBigInt(spec.version.value as number);
    q.version = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  } else if (spec.versionLabel) q.versionLabel = spec.versionLabel;
  if (spec.signatureName) q.signatureName = spec.signatureName;
  return q;
}

/** The ModelSpec of a response. */
export function modelSpecOf(spec: ResolvedModelSpec): object {
  return { name: spec.name, version: { value: spec.version }, signatureName: spec.signatureName };
}

/** Context of one call. */
export interface CallContext {
  /** Aborted when the client cancels or the call's deadline passes. */
  signal: AbortSignal;
  /** The request's model name, once decoded (for metrics). */
  modelName?: string;
}

/** A grpc-js unary handler running `fn` on the request bytes; errors become TF Serving's statuses. */
export function unary(fn: (request: Buffer, ctx: CallContext) => Promise<object> | object): grpc.handleUnaryCall<Buffer, object> {
  return (call, callback) => {
    const controller = new AbortController();
    let deadlineTimer: NodeJS.Timeout | undefined;
    let expired = false;
    const deadline = call.getDeadline();
    const ms =
      deadline instanceof Date ? deadline.getTime() - Date.now() : Number.isFinite(deadline) ? Number(deadline) - Date.now() : Infinity;
    if (Number.isFinite(ms)) {
      deadlineTimer = setTimeout(
        () => {
          expired = true;
          controller.abort(new DeadlineExceededError('Deadline Exceeded'));
        },
        Math.max(0, ms),
      );
    }
    const onCancel = (): void => controller.abort();
    call.on('cancelled', onCancel);
    const finish = (): void => {
      if (deadlineTimer) clearTimeout(deadlineTimer);
      call.removeListener('cancelled', onCancel);
    };
    Promise.resolve()
      .then(() => {
        if (expired) throw new DeadlineExceededError('Deadline Exceeded');
        return fn(call.request, { signal: controller.signal });
      })
      .then(
        (response) => {
          finish();
          if (expired) callback(toGrpcError(new DeadlineExceededError('Deadline Exceeded')));
          else callback(null, response);
        },
        (e: unknown) => {
          finish();
          callback(toGrpcError(expired ? new DeadlineExceededError('Deadline Exceeded') : e));
        },
      );
  };
}
