// Helpers of the gRPC suites (not a test file itself): a grpc-js server on 127.0.0.1 (port 0) serving a backend,
// always shut down; a raw unary client; base paths built from the serving fixtures.
import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addServingServices, ServingBackend } from '../../src/serving/grpc';
import { ModelServer } from '../../src/serving/model_server';
import { decodeMessage, encodeMessage, messageType } from '../../src/serving/proto';
import { SERVING_FIXTURES } from './helpers';

/** A grpc-js server on 127.0.0.1 with the TF Serving services, and a client to it. */
export interface GrpcHarness {
  address: string;
  client: grpc.Client;
  close(): Promise<void>;
}

/** Serves `backend` on 127.0.0.1:0. */
export async function startGrpc(backend: ServingBackend): Promise<GrpcHarness> {
  const server = new grpc.Server();
  addServingServices(server, backend);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const address = `127.0.0.1:${port}`;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return {
    address,
    client,
    close: async () => {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
    },
  };
}

/** Result of a raw call: the decoded response (plain object, Longs as strings, bytes as Buffers) or the error. */
export interface CallResult {
  error?: grpc.ServiceError;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  response?: any;
}

const SERVICE_OF: Record<string, string> = {
  Predict: 'PredictionService',
  Classify: 'PredictionService',
  Regress: 'PredictionService',
  MultiInference: 'PredictionService',
  GetModelMetadata: 'PredictionService',
  GetModelStatus: 'ModelService',
  HandleReloadConfigRequest: 'ModelService',
};
const TYPES: Record<string, [string, string]> = {
  Predict: ['PredictRequest', 'PredictResponse'],
  Classify: ['ClassificationRequest', 'ClassificationResponse'],
  Regress: ['RegressionRequest', 'RegressionResponse'],
  MultiInference: ['MultiInferenceRequest', 'MultiInferenceResponse'],
  GetModelMetadata: ['GetModelMetadataRequest', 'GetModelMetadataResponse'],
  GetModelStatus: ['GetModelStatusRequest', 'GetModelStatusResponse'],
  HandleReloadConfigRequest: ['ReloadConfigRequest', 'ReloadConfigResponse'],
};

/** Calls `method` with `request` (a plain object, or raw bytes sent as they are); 30 s deadline unless given. */
export function callRaw(h: GrpcHarness, method: string, request: object | Buffer, deadlineMs = 30_000): Promise<CallResult> {
  const [reqName, resName] = TYPES[method];
  const reqType = messageType(`tensorflow.serving.${reqName}`);
  const resType = messageType(`tensorflow.serving.${resName}`);
  const bytes = Buffer.isBuffer(request) ? request : Buffer.from(encodeMessage(reqType, request));
  return new Promise((resolve) => {
    h.client.makeUnaryRequest(
      `/tensorflow.serving.${SERVICE_OF[method]}/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => resType.toObject(decodeMessage(resType, b, resName), { longs: String, enums: String, bytes: Buffer, defaults: false }),
      bytes,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (error, response) => resolve(error ? { error: error as grpc.ServiceError } : { response }),
    );
  });
}

/** A temporary models directory: example/1, tf2/1, counter/1 and half/{1,2} copied from the fixtures. */
export function modelsDir(): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-grpc-'));
  const copy = (from: string, to: string) => fs.cpSync(path.join(SERVING_FIXTURES, from), path.join(dir, to), { recursive: true });
  copy('tf1_example', 'example/1');
  copy('tf2_multi', 'tf2/1');
  copy('counter', 'counter/1');
  copy('half_plus', 'half');
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A started ModelServer over modelsDir(): models example, tf2, counter, half (all versions, labels stable/canary). */
export async function startModels(dir: string): Promise<ModelServer> {
  const server = new ModelServer({
    fileSystemPollWaitSeconds: 0,
    // Labels in the initial config need this, as in TF Serving.
    allowVersionLabelsForUnavailableModels: true,
    config: {
      modelConfigList: {
        config: [
          { name: 'example', basePath: path.join(dir, 'example') },
          { name: 'tf2', basePath: path.join(dir, 'tf2') },
          { name: 'counter', basePath: path.join(dir, 'counter') },
          { name: 'half', basePath: path.join(dir, 'half'), modelVersionPolicy: { all: {} }, versionLabels: { stable: 1, canary: 2 } },
        ],
      },
    },
  });
  await server.start();
  return server;
}
