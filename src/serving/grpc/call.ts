/**
 * What every TF Serving RPC handler shares: decoding the request bytes, the `ModelSpec` of a request and of a
 * response, and running a handler with the call's deadline and cancellation as an AbortSignal (a call past its
 * deadline is DEADLINE_EXCEEDED, as in TF Serving).
 */
import type * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { DeadlineExceededError, InvalidArgumentError, UnavailableError } from '../../errors';
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

/**
 * How a front end counts a call for the server's drain (`ModelServer.admit`): null when the server is closing,
 * else the function to call once the call is answered; `cancel` is called when the drain's time is up.
 */
export type Admit = (signal: AbortSignal, cancel: (reason: Error) => void) => (() => void) | null;

/**
 * A grpc-js unary handler running `fn` on the request bytes; errors become TF Serving's statuses. With `admit`,
 * the call is counted from its arrival to its answer (a closing server answers UNAVAILABLE).
 */
export function unary(
  fn: (request: Buffer, ctx: CallContext) => Promise<object> | object,
  admit?: Admit,
): grpc.handleUnaryCall<Buffer, object> {
  return (call, callback) => {
    const controller = new AbortController();
    let deadlineTimer: NodeJS.Timeout | undefined;
    let expired = false;
    let answered = false;
    const answer = (error: ReturnType<typeof toGrpcError> | null, response?: object): void => {
      if (answered) return;
      answered = true;
      if (deadlineTimer) clearTimeout(deadlineTimer);
      call.removeListener('cancelled', onCancel);
      release?.();
      if (error) callback(error);
      else callback(null, response);
    };
    const onCancel = (): void => controller.abort();
    const release = admit?.(controller.signal, (reason) => {
      controller.abort(reason);
      answer(toGrpcError(reason));
    });
    if (release === null) {
      callback(toGrpcError(new UnavailableError('Server is shutting down')));
      return;
    }
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
    call.on('cancelled', onCancel);
    Promise.resolve()
      .then(() => {
        if (expired) throw new DeadlineExceededError('Deadline Exceeded');
        return fn(call.request, { signal: controller.signal });
      })
      .then(
        (response) => answer(expired ? toGrpcError(new DeadlineExceededError('Deadline Exceeded')) : null, response),
        (e: unknown) => answer(toGrpcError(expired ? new DeadlineExceededError('Deadline Exceeded') : e)),
      );
  };
}
