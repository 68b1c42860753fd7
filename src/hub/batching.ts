/**
 * `hub.load(handle, {batching})`: the loaded model's signature functions batch concurrent calls. Inputs are
 * checked and converted as the plain signature does, then merged by a {@link createBatcher} per signature.
 */
import { Tensor } from '../tensor';
import type { LoadedModel, SignatureFunction, SignatureOutput, TensorSpecInfo } from './tf2/model';
import { checkSignatureInput, normalizeSignatureInputs } from './tf2/signature_inputs';
import { toTensor } from './tf2/values';
import { BatchCallOptions, Batcher, BatcherOptions, createBatcher } from '../batching/batcher';
import { BatchingParameters } from '../batching/params';

/** A signature function of a model loaded with `batching`: the same call, plus per-call options and its batcher. */
export interface BatchedSignatureFunction extends SignatureFunction {
  /** Runs the signature; concurrent calls share a run. `options.signal` takes a waiting call out of the queue. */
  (inputs?: unknown, options?: BatchCallOptions): Promise<Record<string, SignatureOutput>>;
  /** The batcher (stats, close); absent when the signature cannot be batched (see {@link whyNotBatchable}). */
  readonly batcher?: Batcher;
}

/**
 * Why calls of a signature cannot be merged from what it declares (null when they can): every input and
 * output must be a dense tensor whose dimension 0 is unknown (the batch dimension), and no input may be a
 * component of a sparse or composite input (TF1 signatures flatten those to `<key>_indices`/`_values`/
 * `_dense_shape` or `<key>_component_<i>`, which do not concatenate row-wise).
 */
export function whyNotBatchable(
  inputs: Readonly<Record<string, TensorSpecInfo>>,
  outputs: Readonly<Record<string, TensorSpecInfo>>,
): string | null {
  const keys = Object.keys(inputs);
  if (keys.length === 0) return 'it takes no inputs';
  for (const k of keys) {
    const spec = inputs[k];
    if (spec.kind !== 'Tensor') return `input '${k}' is a ${spec.kind}`;
    if (spec.shape === null) return `input '${k}' has an unknown rank`;
    if (spec.shape.length === 0 || spec.shape[0] !== -1) return `input '${k}' has no batch dimension (shape [${spec.shape.join(', ')}])`;
    const m = /^(.*)_(indices|values|dense_shape|component_\d+)$/.exec(k);
    if (m && (/^component_/.test(m[2]) || [`${m[1]}_indices`, `${m[1]}_values`, `${m[1]}_dense_shape`].every((c) => c in inputs))) {
      return `input '${k}' is part of a composite input '${m[1]}'`;
    }
  }
  for (const [k, spec] of Object.entries(outputs)) {
    if (spec.kind !== 'Tensor') return `output '${k}' is a ${spec.kind}`;
    if (spec.shape !== null && (spec.shape.length === 0 || spec.shape[0] !== -1))
      return `output '${k}' has no batch dimension (shape [${spec.shape.join(', ')}])`;
  }
  return null;
}

/**
 * A batching version of `signature`: inputs are checked and converted exactly as the signature does (same
 * errors, before queueing), then merged with other concurrent calls. A signature that cannot be batched
 * ({@link whyNotBatchable}) is returned as it is.
 */
export function batchSignature(
  signature: SignatureFunction,
  params: BatchingParameters | Record<string, unknown>,
  options: BatcherOptions = {},
  strictSignatures = true,
): BatchedSignatureFunction {
  if (whyNotBatchable(signature.inputs, signature.outputs) !== null) return signature as BatchedSignatureFunction;
  const name = signature.signatureName;
  const keys = Object.keys(signature.inputs);
  const batcher = createBatcher((inputs) => signature(inputs) as Promise<Record<string, Tensor>>, params, options);
  const f = (async (given?: unknown, callOptions?: BatchCallOptions) => {
    const dict = normalizeSignatureInputs(name, keys, given);
    const record: Record<string, Tensor> = {};
    const owned: Tensor[] = [];
    try {
      for (const k of keys) {
        const spec = signature.inputs[k];
        checkSignatureInput(name, k, { dtype: spec.dtype, shape: spec.shape, name: k }, dict[k], strictSignatures);
        const { tensor, owned: isOwned } = toTensor(dict[k], spec.dtype, `input '${k}'`);
        if (isOwned) owned.push(tensor);
        record[k] = tensor;
      }
      const out = await batcher(record, callOptions);
      const returned = new Set(Object.values(out));
      for (const t of owned) if (!returned.has(t)) t.dispose();
      return out;
    } catch (e) {
      for (const t of owned) t.dispose();
      throw e;
    }
  }) as BatchedSignatureFunction;
  Object.defineProperties(f, {
    signatureName: { value: name, enumerable: true },
    inputs: { value: signature.inputs, enumerable: true },
    outputs: { value: signature.outputs, enumerable: true },
    name: { value: name },
    batcher: { value: batcher },
  });
  return f;
}

/**
 * Replaces `model.signatures` with batching versions ({@link batchSignature}), one batcher per signature, and
 * returns the model. Closing the model closes the batchers (waiting calls then fail with the model's error).
 * `options` may be a function of the signature name (per-signature hooks, e.g. metrics labels).
 */
export function withBatching(
  model: LoadedModel,
  params: BatchingParameters | Record<string, unknown>,
  options: BatcherOptions | ((signatureName: string) => BatcherOptions) = {},
): LoadedModel {
  const batched: Record<string, BatchedSignatureFunction> = {};
  for (const [name, sig] of Object.entries(model.signatures))
    batched[name] = batchSignature(sig, params, typeof options === 'function' ? options(name) : options, model.strictSignatures);
  Object.defineProperty(model, 'signatures', { value: Object.freeze(batched), enumerable: true, configurable: true });
  const close = model.close.bind(model);
  Object.defineProperty(model, 'close', {
    value: () => {
      for (const f of Object.values(batched)) void f.batcher?.close();
      close();
    },
    configurable: true,
  });
  return model;
}
