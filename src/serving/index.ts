/**
 * The `serving` namespace: TensorFlow Serving in Node. `ModelServer` loads models as `tensorflow_model_server`
 * does (version directories, policies, labels, polling) and answers Predict / Classify / Regress /
 * GetModelMetadata / GetModelStatus; `restHandler()` serves TF Serving's REST API in node:http, express or
 * fastify; `addGrpcServices()` adds its gRPC services to a `@grpc/grpc-js` server.
 *
 *   import { serving } from 'tfhub-node';
 *   const server = new serving.ModelServer({ modelName: 'half', modelBasePath: '/models/half' });
 *   await server.start();
 *   const { outputs } = await server.predict('half', { x: [1, 2, 5] });
 *   http.createServer(server.restHandler()).listen(8501);
 */
export {
  ModelServer,
  ModelServerOptions,
  ModelSpecQuery,
  ResolvedModelSpec,
  PredictOptions,
  ClassifyResult,
  RegressResult,
  ModelConfigObject,
  ModelServerConfigObject,
  VersionPolicyObject,
  VersionState,
  VersionStatus,
} from './model_server';
export { parseModelServerConfig, readModelServerConfig } from './config';
export { RestOptions } from './rest/handler';
export { HTTP_STATUS_BY_TF_CODE, httpStatusOf } from './errors';
export type { GrpcServiceOptions, ServingBackend } from './grpc';

/**
 * Registers TF Serving's PredictionService and ModelService for `backend` (a ModelServer) on a `@grpc/grpc-js`
 * server. The gRPC code loads on first call, so requiring the package does not load grpc-js.
 */
export function addServingServices(...args: Parameters<typeof import('./grpc').addServingServices>): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./grpc') as typeof import('./grpc')).addServingServices(...args);
}
