/**
 * Model warmup (TF Serving's saved_model_warmup.md, servables/tensorflow/saved_model_warmup*.cc): before a
 * version takes traffic, the PredictionLog records of its `assets.extra/tf_serving_warmup_requests` are
 * replayed on it, each `numRequestIterations` times. As in TF Serving:
 * - no warmup file: nothing to do; at most 1000 records; a damaged file (CRC, truncation) is DATA_LOSS with
 *   "Please verify your warmup data is in TFRecord format."; a record that does not parse as a PredictionLog is
 *   INVALID_ARGUMENT "Failed to parse warmup record: … from PATH";
 * - predict_log, classify_log, regress_log and multi_inference_log run their request on this version (its
 *   model_spec's name and version are not used, its signature_name is); session_run_log and
 *   predict_streamed_log are UNIMPLEMENTED ("Unsupported log_type for warmup: N"); a record with no log type
 *   does nothing;
 * - the first failing request fails the warmup, and so the version's load, with that request's error.
 * The whole file is read and checked before anything runs (TF Serving reads as it runs; the outcome is the same).
 */
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { InvalidArgumentError, TFError, UnimplementedError } from '../errors';
import { lengthDelimitedFields } from './codec/example';
import type { ServingBackend } from './grpc/prediction_service';
import type { ServingMetrics } from './metrics';
import { decodeMessage, messageType } from './proto';
import { DEFAULT_SIGNATURE, Servable } from './servable';
import { toTfError } from './errors';
import { readWarmupRecords, WARMUP_FILE, WarmupLimits } from './warmup';

/** Warmup options (TF Serving's `ModelWarmupOptions`, `--num_request_iterations_for_warmup`). */
export interface WarmupOptions extends WarmupLimits {
  /** Times each record is replayed (default 1; TF Serving's `num_request_iterations`). */
  numRequestIterations?: number;
}

/** PredictionLog's `log_type` field numbers (prediction_log.proto). */
const CLASSIFY_LOG = 2;
const REGRESS_LOG = 3;
const MULTI_INFERENCE_LOG = 4;
const SESSION_RUN_LOG = 5;
const PREDICT_LOG = 6;
const PREDICT_STREAMED_LOG = 7;
const LOG_TYPES = new Set([CLASSIFY_LOG, REGRESS_LOG, MULTI_INFERENCE_LOG, SESSION_RUN_LOG, PREDICT_LOG, PREDICT_STREAMED_LOG]);

/** A backend that runs every request on one servable (the model spec's name and version are not used). */
function servableBackend(servable: Servable, modelName: string): ServingBackend {
  const spec = (q: { signatureName?: string }) => ({
    name: modelName,
    version: servable.version,
    signatureName: q.signatureName || DEFAULT_SIGNATURE,
  });
  const backend: Pick<ServingBackend, 'predict' | 'classify' | 'regress'> = {
    predict: async (q, inputs, opts) => {
      const modelSpec = spec(typeof q === 'string' ? {} : q);
      return { modelSpec, outputs: await servable.predict(modelSpec.signatureName, inputs as Record<string, unknown>, opts?.outputFilter) };
    },
    classify: async (q, examples) => ({ modelSpec: spec(q), classifications: await servable.classify(spec(q).signatureName, examples) }),
    regress: async (q, examples) => ({ modelSpec: spec(q), values: await servable.regress(spec(q).signatureName, examples) }),
  };
  return backend as ServingBackend;
}

/** `request` with a ModelSpec naming the model in front (a request's own model_spec fields merge over it). */
function withModelName(request: Uint8Array, modelName: string): Buffer {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2)
    .fork()
    .uint32((1 << 3) | 2)
    .string(modelName)
    .ldelim();
  return Buffer.concat([w.finish(), request]);
}

function concat(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** The printable start of a record for an error message (TF Serving prints the raw record). */
function preview(record: Uint8Array): string {
  const s = Buffer.from(record.subarray(0, 64))
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return record.length > 64 ? `${s}...` : s;
}

/** The same TF error with `context` appended to its message. */
function withContext(e: unknown, context: string): TFError {
  const err = toTfError(e);
  err.message = `${err.message} ${context}`;
  return err;
}

/** Runs one PredictionLog record on `servable`. */
async function runRecord(record: Uint8Array, backend: ServingBackend, modelName: string, file: string): Promise<void> {
  try {
    decodeMessage(messageType('tensorflow.serving.PredictionLog'), record, 'warmup record');
  } catch {
    throw new InvalidArgumentError(`Failed to parse warmup record: ${preview(record)} from ${file}`);
  }
  const fields = lengthDelimitedFields(record, 'PredictionLog').filter((f) => LOG_TYPES.has(f.field));
  if (fields.length === 0) return; // no log type: nothing to run
  const kind = fields[fields.length - 1].field; // oneof: the last one wins; repeats of it merge
  if (kind === SESSION_RUN_LOG || kind === PREDICT_STREAMED_LOG) throw new UnimplementedError(`Unsupported log_type for warmup: ${kind}`);
  const log = concat(fields.filter((f) => f.field === kind).map((f) => f.bytes));
  const request = concat(
    lengthDelimitedFields(log, 'warmup log')
      .filter((f) => f.field === 1)
      .map((f) => f.bytes),
  );
  const ctx = { signal: new AbortController().signal };
  // The gRPC request executors (they load @grpc/grpc-js, so only when a model has warmup records).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { classify, multiInference, predict, regress } = require('./grpc/prediction_service') as typeof import('./grpc/prediction_service');
  if (kind === PREDICT_LOG) await predict(backend, withModelName(request, modelName), ctx);
  else if (kind === CLASSIFY_LOG) await classify(backend, withModelName(request, modelName), ctx);
  else if (kind === REGRESS_LOG) await regress(backend, withModelName(request, modelName), ctx);
  else await multiInference(backend, request, ctx);
}

/**
 * Replays the warmup file of version directory `dir` on `servable` (see the module comment); resolves with the
 * number of records replayed (0 without a file). Throws the TF error that fails the version's load.
 */
export async function runWarmup(
  servable: Servable,
  dir: string,
  modelName: string,
  options: WarmupOptions = {},
  metrics?: ServingMetrics,
): Promise<number> {
  const start = process.hrtime.bigint();
  const file = path.join(dir, WARMUP_FILE);
  const iterations = options.numRequestIterations ?? 1;
  let done = 0;
  let status = 'OK';
  try {
    const records = await readWarmupRecords(dir, options);
    if (records === null) return 0;
    const backend = servableBackend(servable, modelName);
    for (const record of records) {
      for (let i = 0; i < iterations; i++) {
        try {
          await runRecord(record, backend, modelName, file);
        } catch (e) {
          throw withContext(e, `(warmup record ${done} of ${file})`);
        }
      }
      done++;
    }
    return done;
  } catch (e) {
    const err = toTfError(e);
    status = `${err.code}: ${err.message}`;
    throw err;
  } finally {
    if (metrics && (done > 0 || status !== 'OK')) metrics.recordWarmup(dir, status, Number(process.hrtime.bigint() - start) / 1000, done);
  }
}
