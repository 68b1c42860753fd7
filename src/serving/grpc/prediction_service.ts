/**
 * `tensorflow.serving.PredictionService`: Predict, Classify, Regress, MultiInference and GetModelMetadata over a
 * ModelServer, with TF Serving's request checks and messages (prediction_service_impl.cc and the *_impl.cc
 * files it calls).
 */
import * as protobuf from 'protobufjs';
import { InvalidArgumentError, UnimplementedError } from '../../errors';
import { tensorflow as tf } from '../../proto';
import type { Tensor } from '../../tensor';
import { lengthDelimitedFields, serializedExamplesFromInput } from '../codec/example';
import { tensorFromProto, TensorProtoFields, TensorProtoLimits } from '../codec/tensor_proto';
import { predictResponseBytes } from '../codec/predict_wire';
import type { ModelServer, ResolvedModelSpec } from '../model_server';
import { servingTypes } from '../proto';
import { toTfError } from '../errors';
import { CallContext, decodeRequest, ModelSpecMessage, modelSpecOf, queryOf, unary } from './call';

/** What the services need of a ModelServer (a fake can stand in for it in tests); `metrics` is optional. */
export type ServingBackend = Pick<
  ModelServer,
  'predict' | 'classify' | 'regress' | 'getModelMetadata' | 'getModelStatus' | 'reloadConfig'
> &
  Partial<Pick<ModelServer, 'metrics' | 'admit'>>;

/** Options of the gRPC services. */
export interface GrpcServiceOptions {
  /** Limits on request tensors (default: 1 GiB per tensor). */
  tensorLimits?: TensorProtoLimits;
}

const CLASSIFY = 'tensorflow/serving/classify';
const REGRESS = 'tensorflow/serving/regress';
const SIGNATURE_DEF_MAP_URL = 'type.googleapis.com/tensorflow.serving.SignatureDefMap';

function disposeAll(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.dispose();
}

/** The serialized examples of the `input` field (number 2) of a Classify/Regress/MultiInference request. */
function examplesOfRequest(raw: Uint8Array, what: string): Uint8Array[] {
  const parts = lengthDelimitedFields(raw, what)
    .filter((f) => f.field === 2)
    .map((f) => f.bytes);
  // Repeats of a message field merge, which for protobuf bytes is concatenation.
  const input = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  return serializedExamplesFromInput(input);
}

/** Predict on a request's bytes (also the warmup replay's executor); resolves with the PredictResponse's bytes. */
export async function predict(backend: ServingBackend, raw: Buffer, ctx: CallContext, limits?: TensorProtoLimits): Promise<object> {
  const req = decodeRequest<{ modelSpec?: ModelSpecMessage; inputs?: Record<string, TensorProtoFields>; outputFilter?: string[] }>(
    servingTypes().PredictRequest,
    raw,
  );
  ctx.modelName = req.modelSpec?.name ?? '';
  const query = queryOf(req.modelSpec);
  const inputs: Record<string, Tensor> = {};
  let outputs: Record<string, Tensor> = {};
  try {
    for (const [alias, proto] of Object.entries(req.inputs ?? {})) {
      inputs[alias] = tensorFromProto(proto, `tensor parsing error: ${alias}`, limits);
    }
    const r = await backend.predict(query, inputs, { outputFilter: req.outputFilter ?? [], signal: ctx.signal });
    outputs = r.outputs;
    // The PredictResponse's bytes, written straight from the output tensors.
    return predictResponseBytes(outputs, r.modelSpec);
  } finally {
    disposeAll(Object.values(inputs));
    disposeAll(Object.values(outputs));
  }
}

function classificationResult(rows: Array<Array<{ label: string; score: number }>>): object {
  return { classifications: rows.map((classes) => ({ classes })) };
}

function regressionResult(values: number[]): object {
  return { regressions: values.map((value) => ({ value })) };
}

/** Classify on a request's bytes. */
export async function classify(backend: ServingBackend, raw: Buffer, ctx: CallContext): Promise<object> {
  const req = decodeRequest<{ modelSpec?: ModelSpecMessage }>(servingTypes().ClassificationRequest, raw);
  ctx.modelName = req.modelSpec?.name ?? '';
  const query = queryOf(req.modelSpec);
  const r = await backend.classify(query, examplesOfRequest(raw, 'ClassificationRequest'), { signal: ctx.signal });
  return { modelSpec: modelSpecOf(r.modelSpec), result: classificationResult(r.classifications) };
}

/** Regress on a request's bytes. */
export async function regress(backend: ServingBackend, raw: Buffer, ctx: CallContext): Promise<object> {
  const req = decodeRequest<{ modelSpec?: ModelSpecMessage }>(servingTypes().RegressionRequest, raw);
  ctx.modelName = req.modelSpec?.name ?? '';
  const query = queryOf(req.modelSpec);
  const r = await backend.regress(query, examplesOfRequest(raw, 'RegressionRequest'), { signal: ctx.signal });
  return { modelSpec: modelSpecOf(r.modelSpec), result: regressionResult(r.values) };
}

/** MultiInference on a request's bytes. */
export async function multiInference(backend: ServingBackend, raw: Buffer, ctx: CallContext): Promise<object> {
  const req = decodeRequest<{ tasks?: Array<{ modelSpec?: ModelSpecMessage; methodName?: string }> }>(
    servingTypes().MultiInferenceRequest,
    raw,
  );
  const tasks = req.tasks ?? [];
  if (tasks.length === 0) throw new InvalidArgumentError('Expected at least one task.');
  let modelName = '';
  const signatures = new Set<string>();
  for (const task of tasks) {
    const name = task.modelSpec?.name ?? '';
    if (!name) throw new InvalidArgumentError('Found ModelSpec with an empty model name.');
    if (modelName && name !== modelName)
      throw new InvalidArgumentError('All ModelSpecs in a MultiInferenceRequest must access the same model name.');
    modelName = name;
    const signature = task.modelSpec?.signatureName || 'serving_default';
    if (signatures.has(signature)) throw new InvalidArgumentError(`Duplicate evaluation of signature: ${signature}`);
    signatures.add(signature);
    if (task.methodName !== CLASSIFY && task.methodName !== REGRESS) {
      throw new UnimplementedError(`Unsupported signature method_name: ${task.methodName ?? ''}`);
    }
  }
  const examples = examplesOfRequest(raw, 'MultiInferenceRequest');
  // One version for every task: the first task resolves it, the others ask for that version.
  let version: number | undefined;
  const results: object[] = [];
  for (const task of tasks) {
    const query = queryOf(task.modelSpec);
    if (version !== undefined) {
      query.version = version;
      delete query.versionLabel;
    }
    let spec: ResolvedModelSpec;
    let result: object;
    if (task.methodName === CLASSIFY) {
      const r = await backend.classify(query, examples, { signal: ctx.signal });
      spec = r.modelSpec;
      result = { classificationResult: classificationResult(r.classifications) };
    } else {
      const r = await backend.regress(query, examples, { signal: ctx.signal });
      spec = r.modelSpec;
      result = { regressionResult: regressionResult(r.values) };
    }
    version = spec.version;
    results.push({ modelSpec: modelSpecOf({ ...spec, signatureName: task.modelSpec?.signatureName ?? '' }), ...result });
  }
  return { results };
}

/** SignatureDefMap bytes: each SignatureDef encoded by the project's own protos (nothing of it is dropped). */
function signatureDefMapBytes(defs: Record<string, tf.ISignatureDef>): Uint8Array {
  const w = protobuf.Writer.create();
  for (const key of Object.keys(defs).sort()) {
    const value = tf.SignatureDef.encode(tf.SignatureDef.fromObject(defs[key] as Record<string, unknown>)).finish();
    w.uint32((1 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string(key);
    w.uint32((2 << 3) | 2).bytes(value);
    w.ldelim();
  }
  return w.finish();
}

async function getModelMetadata(backend: ServingBackend, raw: Buffer, ctx: CallContext): Promise<object> {
  const req = decodeRequest<{ modelSpec?: ModelSpecMessage; metadataField?: string[] }>(servingTypes().GetModelMetadataRequest, raw);
  const query = queryOf(req.modelSpec);
  const fields = req.metadataField ?? [];
  if (fields.length === 0) throw new InvalidArgumentError('GetModelMetadataRequest must specify at least one metadata_field');
  for (const f of fields) if (f !== 'signature_def') throw new InvalidArgumentError(`Metadata field ${f} is not supported`);
  const r = await backend.getModelMetadata(query, { signal: ctx.signal });
  return {
    modelSpec: { name: r.modelSpec.name, version: { value: r.modelSpec.version } },
    // protobufjs's built-in Any keeps its snake_case field names.
    metadata: { signature_def: { type_url: SIGNATURE_DEF_MAP_URL, value: signatureDefMapBytes(r.signatureDefs) } },
  };
}

/** `fn` recorded in the backend's metrics as TF Serving records Predict/Classify/Regress over gRPC. */
function observed(
  backend: ServingBackend,
  api: string,
  fn: (raw: Buffer, ctx: CallContext) => Promise<object>,
): (raw: Buffer, ctx: CallContext) => Promise<object> {
  const metrics = backend.metrics;
  if (!metrics) return fn;
  return async (raw, ctx) => {
    const start = process.hrtime.bigint();
    const record = (code: string) =>
      metrics.recordRequest(ctx.modelName ?? '', api, 'GRPC', code, Number(process.hrtime.bigint() - start) / 1000);
    try {
      const out = await fn(raw, ctx);
      record('OK');
      return out;
    } catch (e) {
      record(toTfError(e).code);
      throw e;
    }
  };
}

/** The PredictionService implementation over `backend`. */
export function predictionServiceHandlers(backend: ServingBackend, options: GrpcServiceOptions = {}) {
  const admit = backend.admit?.bind(backend);
  return {
    Predict: unary(
      observed(backend, 'Predict', (raw, ctx) => predict(backend, raw, ctx, options.tensorLimits)),
      admit,
    ),
    Classify: unary(
      observed(backend, 'Classify', (raw, ctx) => classify(backend, raw, ctx)),
      admit,
    ),
    Regress: unary(
      observed(backend, 'Regress', (raw, ctx) => regress(backend, raw, ctx)),
      admit,
    ),
    MultiInference: unary((raw, ctx) => multiInference(backend, raw, ctx), admit),
    GetModelMetadata: unary((raw, ctx) => getModelMetadata(backend, raw, ctx), admit),
  };
}
