// TF Serving's protocol buffers, loaded by reflection (protobufjs) from the verbatim upstream .proto files in
// src/serving/protos; the TensorFlow messages they import (`tensorflow/core/...`) are the core's own definitions in
// src/proto, the same files the static codec is generated from (one definition of each message). One Root, loaded
// on first use. Field names are camelCase (tensor_content -> tensorContent), as in src/proto; 64-bit fields decode
// as Long (src/proto configures long.js).
//
// Decoded messages are protobufjs Message instances; build outgoing ones with `type.fromObject(...)` (plain
// objects, enum names or numbers, Long/number/string for 64-bit fields) and `type.encode(m).finish()`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { decodeMessage as decodeProto } from '../proto'; // (also makes sure protobufjs has long.js first)

function protoDir(marker: string, candidates: string[]): string {
  for (const dir of candidates) if (fs.existsSync(path.join(dir, marker))) return dir;
  return candidates[candidates.length - 1];
}

/** Where TF Serving's .proto files are: src/serving/protos, from src/serving or dist/src/serving. */
export const PROTOS_DIR: string = protoDir('tensorflow_serving', [
  path.join(__dirname, 'protos'),
  path.join(__dirname, '../../../src/serving/protos'),
]);

/** Where the core's .proto files (`tensorflow/core/...`, `tensorflow_hub/...`) are: src/proto. */
export const CORE_PROTOS_DIR: string = protoDir('tensorflow', [
  path.join(__dirname, '../proto'),
  path.join(__dirname, '../../../src/proto'),
]);

/** The import roots of TF Serving's files, in the order protoc's `-I` would take them. */
export const PROTO_INCLUDE_DIRS: readonly string[] = [PROTOS_DIR, CORE_PROTOS_DIR];

/** The files loaded (their imports come along). */
export const ROOT_PROTOS: readonly string[] = [
  'tensorflow_serving/apis/prediction_service.proto',
  'tensorflow_serving/apis/model_service.proto',
  'tensorflow_serving/apis/prediction_log.proto',
  'tensorflow_serving/apis/session_service.proto',
  'tensorflow_serving/config/model_server_config.proto',
  'tensorflow_serving/config/monitoring_config.proto',
  'tensorflow_serving/servables/tensorflow/session_bundle_config.proto',
];

let root: protobuf.Root | undefined;

/** The protobufjs Root holding every TF Serving message and service (loaded once). */
export function servingRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    // google/protobuf/* come from protobufjs's built-in common files.
    if (target.startsWith('google/protobuf/') || path.isAbsolute(target)) return target;
    const dir = PROTO_INCLUDE_DIRS.find((d) => fs.existsSync(path.join(d, target))) ?? PROTOS_DIR;
    return path.join(dir, target);
  };
  r.loadSync(
    ROOT_PROTOS.map((f) => path.join(PROTOS_DIR, f)),
    { keepCase: false },
  );
  r.resolveAll();
  root = r;
  return r;
}

/** A message type by its full name, e.g. `'tensorflow.serving.PredictRequest'`. */
export function messageType(fullName: string): protobuf.Type {
  return servingRoot().lookupType(fullName);
}

/** A service by its full name, e.g. `'tensorflow.serving.PredictionService'`. */
export function serviceType(fullName: string): protobuf.Service {
  return servingRoot().lookupService(fullName);
}

/** An enum by its full name, e.g. `'tensorflow.DataType'`. */
export function enumType(fullName: string): protobuf.Enum {
  return servingRoot().lookupEnum(fullName);
}

/** The message types the serving code uses, by short name. */
export interface ServingTypes {
  /** `tensorflow.TensorProto` */
  TensorProto: protobuf.Type;
  /** `tensorflow.TensorShapeProto` */
  TensorShapeProto: protobuf.Type;
  /** `tensorflow.Example` */
  Example: protobuf.Type;
  /** `tensorflow.SignatureDef` */
  SignatureDef: protobuf.Type;
  /** `tensorflow.serving.ModelSpec` */
  ModelSpec: protobuf.Type;
  /** `tensorflow.serving.PredictRequest` */
  PredictRequest: protobuf.Type;
  /** `tensorflow.serving.PredictResponse` */
  PredictResponse: protobuf.Type;
  /** `tensorflow.serving.ClassificationRequest` */
  ClassificationRequest: protobuf.Type;
  /** `tensorflow.serving.ClassificationResponse` */
  ClassificationResponse: protobuf.Type;
  /** `tensorflow.serving.RegressionRequest` */
  RegressionRequest: protobuf.Type;
  /** `tensorflow.serving.RegressionResponse` */
  RegressionResponse: protobuf.Type;
  /** `tensorflow.serving.MultiInferenceRequest` */
  MultiInferenceRequest: protobuf.Type;
  /** `tensorflow.serving.MultiInferenceResponse` */
  MultiInferenceResponse: protobuf.Type;
  /** `tensorflow.serving.Input` */
  Input: protobuf.Type;
  /** `tensorflow.serving.GetModelMetadataRequest` */
  GetModelMetadataRequest: protobuf.Type;
  /** `tensorflow.serving.GetModelMetadataResponse` */
  GetModelMetadataResponse: protobuf.Type;
  /** `tensorflow.serving.SignatureDefMap` */
  SignatureDefMap: protobuf.Type;
  /** `tensorflow.serving.GetModelStatusRequest` */
  GetModelStatusRequest: protobuf.Type;
  /** `tensorflow.serving.GetModelStatusResponse` */
  GetModelStatusResponse: protobuf.Type;
  /** `tensorflow.serving.ReloadConfigRequest` */
  ReloadConfigRequest: protobuf.Type;
  /** `tensorflow.serving.ReloadConfigResponse` */
  ReloadConfigResponse: protobuf.Type;
  /** `tensorflow.serving.ModelServerConfig` */
  ModelServerConfig: protobuf.Type;
  /** `tensorflow.serving.BatchingParameters` */
  BatchingParameters: protobuf.Type;
  /** `tensorflow.serving.MonitoringConfig` */
  MonitoringConfig: protobuf.Type;
}

const SHORT_NAMES: Record<keyof ServingTypes, string> = {
  TensorProto: 'tensorflow.TensorProto',
  TensorShapeProto: 'tensorflow.TensorShapeProto',
  Example: 'tensorflow.Example',
  SignatureDef: 'tensorflow.SignatureDef',
  ModelSpec: 'tensorflow.serving.ModelSpec',
  PredictRequest: 'tensorflow.serving.PredictRequest',
  PredictResponse: 'tensorflow.serving.PredictResponse',
  ClassificationRequest: 'tensorflow.serving.ClassificationRequest',
  ClassificationResponse: 'tensorflow.serving.ClassificationResponse',
  RegressionRequest: 'tensorflow.serving.RegressionRequest',
  RegressionResponse: 'tensorflow.serving.RegressionResponse',
  MultiInferenceRequest: 'tensorflow.serving.MultiInferenceRequest',
  MultiInferenceResponse: 'tensorflow.serving.MultiInferenceResponse',
  Input: 'tensorflow.serving.Input',
  GetModelMetadataRequest: 'tensorflow.serving.GetModelMetadataRequest',
  GetModelMetadataResponse: 'tensorflow.serving.GetModelMetadataResponse',
  SignatureDefMap: 'tensorflow.serving.SignatureDefMap',
  GetModelStatusRequest: 'tensorflow.serving.GetModelStatusRequest',
  GetModelStatusResponse: 'tensorflow.serving.GetModelStatusResponse',
  ReloadConfigRequest: 'tensorflow.serving.ReloadConfigRequest',
  ReloadConfigResponse: 'tensorflow.serving.ReloadConfigResponse',
  ModelServerConfig: 'tensorflow.serving.ModelServerConfig',
  BatchingParameters: 'tensorflow.serving.BatchingParameters',
  MonitoringConfig: 'tensorflow.serving.MonitoringConfig',
};

let types: ServingTypes | undefined;

/** The message types the serving code uses (loads the protos on first call). */
export function servingTypes(): ServingTypes {
  if (types) return types;
  const t = {} as ServingTypes;
  for (const [k, full] of Object.entries(SHORT_NAMES)) t[k as keyof ServingTypes] = messageType(full);
  return (types = t);
}

/**
 * Decodes `bytes` as the reflected `type` with the core's one decoder (`decodeMessage` of src/proto): malformed
 * bytes are a ProtoDecodeError (`ERR_INVALID_PROTO`) naming `what`, never a crash (protobufjs caps nesting depth).
 */
export function decodeMessage<T = protobuf.Message>(type: protobuf.Type, bytes: Uint8Array, what: string): T {
  const asStatic = {
    decode: (r: protobuf.Reader | Uint8Array) => type.decode(r) as unknown as T,
    getTypeUrl: () => `/${type.fullName.replace(/^\./, '')}`,
  };
  return decodeProto(asStatic, bytes, what);
}

/** Encodes a plain object (or message) as `type`, after `fromObject`'s conversions. */
export function encodeMessage(type: protobuf.Type, value: object): Uint8Array {
  const m = value instanceof protobuf.Message ? value : type.fromObject(value as Record<string, unknown>);
  return type.encode(m).finish();
}
