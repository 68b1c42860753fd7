/**
 * grpc-js service definitions built from the reflected TF Serving services (src/serving/proto.ts). Requests
 * arrive as raw bytes and are decoded by the handlers, so that a malformed message is INVALID_ARGUMENT (grpc-js
 * would answer INTERNAL for a deserializer that throws) and so that Classify/Regress can feed the client's
 * tf.Example bytes unchanged. Responses are plain objects encoded with `fromObject`, or bytes already encoded.
 */
import type * as grpc from '@grpc/grpc-js';
import { encodeMessage, serviceType } from '../proto';

/** A service definition whose handlers take the request's bytes. */
export type RawServiceDefinition = grpc.ServiceDefinition<grpc.UntypedServiceImplementation>;

/** The grpc-js definition of `tensorflow.serving.<name>` (e.g. `PredictionService`). */
export function serviceDefinition(fullName: string): RawServiceDefinition {
  const service = serviceType(fullName);
  service.resolveAll();
  const def: Record<string, grpc.MethodDefinition<Buffer, object>> = {};
  for (const method of service.methodsArray) {
    const responseType = method.resolvedResponseType!;
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      // A handler may answer with the response's bytes (Predict does); anything else is a plain object.
      responseSerialize: (value: object) =>
        value instanceof Uint8Array
          ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
          : Buffer.from(encodeMessage(responseType, value)),
      responseDeserialize: (b: Buffer) => responseType.toObject(responseType.decode(b)),
      originalName: method.name,
    };
  }
  return def as RawServiceDefinition;
}
