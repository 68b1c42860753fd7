/**
 * `ModelServer`: TensorFlow Serving's model server as a library. It loads the models of a `ModelServerConfig`
 * (version directories under a base path, version policy, labels), keeps them up to date by polling, and answers
 * Predict / Classify / Regress / GetModelMetadata / GetModelStatus. REST and gRPC front ends are thin layers over
 * it (`restHandler()`, `addGrpcServices()`).
 */
import type * as http from 'node:http';
import { UnimplementedError } from '../errors';
import { tensorflow } from '../proto';
import { Tensor } from '../tensor';

/** Which model, version and signature a request is for (TF Serving's `ModelSpec`). */
export interface ModelSpecQuery { name: string; version?: number | bigint; versionLabel?: string; signatureName?: string }
/** The model, version and signature that answered a request. */
export interface ResolvedModelSpec { name: string; version: number; signatureName: string }
/** TF Serving's `ModelVersionStatus.State`. */
export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';
/** One entry of GetModelStatus: a version, its state and its status (`OK` or the TF code of its load error). */
export interface VersionStatus { version: number; state: VersionState; status: { errorCode: string; errorMessage: string } }
/** Result of Classify: one list of (label, score) per example. */
export interface ClassifyResult { modelSpec: ResolvedModelSpec; classifications: Array<Array<{ label: string; score: number }>> }
/** Result of Regress: one value per example. */
export interface RegressResult { modelSpec: ResolvedModelSpec; values: number[] }

/** The configuration of one model (TF Serving's `ModelConfig`, camelCase). */
export interface ModelConfigObject {
  name: string;
  basePath: string;
  modelPlatform?: string;
  modelVersionPolicy?: { latest?: { numVersions?: number }; all?: Record<string, never>; specific?: { versions: number[] } };
  versionLabels?: Record<string, number>;
}
/** TF Serving's `ModelServerConfig` as an object (`model_config_list`). */
export interface ModelServerConfigObject { modelConfigList: { config: ModelConfigObject[] } }

/** Options of `new ModelServer(...)`: a config (or one model by name and base path) and server options. */
export type ModelServerOptions = ({ config: ModelServerConfigObject } | { modelName: string; modelBasePath: string }) & {
  /** Tag set of the meta graph to load (`--saved_model_tags`, default `['serve']`). */
  savedModelTags?: string[];
  /** Seconds between rescans of the base paths (`--file_system_poll_wait_seconds`, default 1; 0 = never). */
  fileSystemPollWaitSeconds?: number;
  /** Called with one line per version loaded, unloaded or failed (default: none). */
  log?: (line: string) => void;
};

/** A gRPC server to add the TF Serving services to (`@grpc/grpc-js`'s `Server`). */
export interface GrpcServerLike { addService(service: unknown, implementation: unknown): void }

/** TF Serving's model server as a library; see the module comment. */
export class ModelServer {
  /** @internal */
  readonly options: ModelServerOptions;

  /** Creates a server for `options`; nothing is loaded until `start()`. */
  constructor(options: ModelServerOptions) {
    this.options = options;
  }

  /** Loads the initial versions of every model (and starts polling when configured). */
  async start(): Promise<void> {
    throw new UnimplementedError('ModelServer.start is not implemented yet');
  }

  /** Refuses new work, waits for in-flight requests, unloads everything. */
  async close(): Promise<void> {
    throw new UnimplementedError('ModelServer.close is not implemented yet');
  }

  /** Runs a predict signature. Inputs are Tensors or plain JS values; outputs are Tensors. */
  async predict(query: ModelSpecQuery, inputs: Record<string, Tensor | unknown>, opts?: { outputFilter?: string[]; signal?: AbortSignal }): Promise<{ modelSpec: ResolvedModelSpec; outputs: Record<string, Tensor> }> {
    void query; void inputs; void opts;
    throw new UnimplementedError('ModelServer.predict is not implemented yet');
  }

  /** Runs a classify signature on serialized `tf.Example`s. */
  async classify(query: ModelSpecQuery, serializedExamples: Uint8Array[], opts?: { signal?: AbortSignal }): Promise<ClassifyResult> {
    void query; void serializedExamples; void opts;
    throw new UnimplementedError('ModelServer.classify is not implemented yet');
  }

  /** Runs a regress signature on serialized `tf.Example`s. */
  async regress(query: ModelSpecQuery, serializedExamples: Uint8Array[], opts?: { signal?: AbortSignal }): Promise<RegressResult> {
    void query; void serializedExamples; void opts;
    throw new UnimplementedError('ModelServer.regress is not implemented yet');
  }

  /** The signature defs of a model version (TF Serving's `signature_def` metadata). */
  async getModelMetadata(query: ModelSpecQuery): Promise<{ modelSpec: ResolvedModelSpec; signatureDefs: Record<string, tensorflow.ISignatureDef> }> {
    void query;
    throw new UnimplementedError('ModelServer.getModelMetadata is not implemented yet');
  }

  /** The state of every version of a model (or of the one asked for). */
  getModelStatus(query: ModelSpecQuery): VersionStatus[] {
    void query;
    throw new UnimplementedError('ModelServer.getModelStatus is not implemented yet');
  }

  /** Replaces the model list: new models are loaded, removed ones unloaded, changed ones updated. */
  async reloadConfig(config: ModelServerConfigObject): Promise<void> {
    void config;
    throw new UnimplementedError('ModelServer.reloadConfig is not implemented yet');
  }

  /** A `(req, res)` handler serving TF Serving's REST API, to mount in `node:http`, express or fastify. */
  restHandler(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
    throw new UnimplementedError('ModelServer.restHandler is not implemented yet');
  }

  /** Adds PredictionService and ModelService to a `@grpc/grpc-js` server. */
  addGrpcServices(server: GrpcServerLike): void {
    void server;
    throw new UnimplementedError('ModelServer.addGrpcServices is not implemented yet');
  }
}
