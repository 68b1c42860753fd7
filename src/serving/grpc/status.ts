/**
 * TF error → gRPC status. TensorFlow's error codes are gRPC's (same names, same numbers), so a TF error keeps
 * its code; anything else goes through the serving layer's `toTfError` first (input errors INVALID_ARGUMENT,
 * the rest UNKNOWN), as TF Serving's `ToGRPCStatus` does.
 */
import * as grpc from '@grpc/grpc-js';
import { toTfError } from '../errors';

/** A `ServiceError`-shaped object for a unary callback. */
export interface GrpcError {
  code: grpc.status;
  details: string;
  message: string;
  metadata: grpc.Metadata;
}

/** The gRPC status code of a TF code name (`'NOT_FOUND'` → 5); UNKNOWN for names gRPC does not have. */
export function grpcCodeOf(tfCode: string): grpc.status {
  const code = (grpc.status as unknown as Record<string, number>)[tfCode];
  return typeof code === 'number' ? (code as grpc.status) : grpc.status.UNKNOWN;
}

/** The gRPC error to answer for anything thrown while serving a call. */
export function toGrpcError(e: unknown): GrpcError {
  const tf = toTfError(e);
  return { code: grpcCodeOf(tf.code), details: tf.message, message: tf.message, metadata: new grpc.Metadata() };
}
