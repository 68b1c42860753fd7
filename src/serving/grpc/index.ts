/**
 * TF Serving's gRPC API on `@grpc/grpc-js`: `addServingServices(server, modelServer)` registers
 * `tensorflow.serving.PredictionService` and `tensorflow.serving.ModelService` (the official protos in
 * src/serving/protos), so that TF Serving clients in any language talk to a ModelServer unchanged.
 */
import type * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from './definitions';
import { modelServiceHandlers } from './model_service';
import { GrpcServiceOptions, predictionServiceHandlers, ServingBackend } from './prediction_service';

export { grpcCodeOf, toGrpcError } from './status';
export { configFromMessage } from '../config';
export type { GrpcServiceOptions, ServingBackend } from './prediction_service';

/** Registers PredictionService and ModelService for `backend` (a ModelServer) on a grpc-js server. */
export function addServingServices(server: grpc.Server, backend: ServingBackend, options: GrpcServiceOptions = {}): void {
  server.addService(serviceDefinition('tensorflow.serving.PredictionService'), predictionServiceHandlers(backend, options));
  server.addService(serviceDefinition('tensorflow.serving.ModelService'), modelServiceHandlers(backend));
}
