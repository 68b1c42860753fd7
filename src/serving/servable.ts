/**
 * One loaded model version (TF Serving's servable): the model from `hub.load`, its signature defs as the
 * SavedModel declares them, and Predict / Classify / Regress over its signatures with TF Serving's checks and
 * messages.
 */
import { FailedPreconditionError, InternalError, InvalidArgumentError, UnimplementedError } from '../errors';
import { ResolvedBatchingParameters } from '../batching';
import { abortError } from '../batching/queue';
import { withBatching } from '../hub/batching';
import { LoadedModel, load } from '../hub/tf2';
import { INIT_OP_SIGNATURE, chooseMetaGraph, isTf1HubModule, readSavedModel } from '../hub/saved_model';
import { dataTypeName, tensorflow } from '../proto';
import { SessionOptions } from '../session';
import { Tensor } from '../tensor';
import { TensorProtoFields, tensorFromProto } from './codec/tensor_proto';
import { toTfError } from './errors';
import type { ServingMetrics } from './metrics';

/** TF Serving's signature keys and method names. */
export const DEFAULT_SIGNATURE = 'serving_default';
export const PREDICT_METHOD = 'tensorflow/serving/predict';
export const CLASSIFY_METHOD = 'tensorflow/serving/classify';
export const REGRESS_METHOD = 'tensorflow/serving/regress';

/** How to load a version. */
export interface LoadSpec {
  /** Tag set (`--saved_model_tags`); `null` = the default of `hub.load` (TF1 Hub modules: `[]`). */
  tags: string[];
  /** Whether `tags` was given explicitly; when not, a TF1 Hub module loads its default graph variant. */
  tagsExplicit: boolean;
  session?: SessionOptions;
  /** Server-side batching of each signature (undefined: off). */
  batching?: ResolvedBatchingParameters;
  /** The model's name (metrics labels). */
  modelName?: string;
  /** Where batching reports queue depth and batch sizes (none: not observed). */
  metrics?: ServingMetrics;
  /**
   * `--enable_signature_method_name_check`: Classify/Regress (and Predict) refuse signatures whose method_name is
   * not theirs. Default false, as in TF Serving: any signature of the right form serves them (TF2 SavedModels
   * have only `tensorflow/serving/predict`).
   */
  methodNameCheck?: boolean;
}

/** A signature function of the loaded model; batched ones take `{signal}` (hub/batching.ts). */
type SignatureRun = (inputs: unknown, options?: { signal?: AbortSignal }) => Promise<Record<string, unknown>>;

function setOf(keys: Iterable<string>): string {
  return [...keys].sort().join(',');
}

/** protobuf's DebugString of a SignatureDef (text format, two-space indent, map entries by key), for messages. */
export function debugString(def: tensorflow.ISignatureDef): string {
  const out: string[] = [];
  const info = (i: tensorflow.ITensorInfo, ind: string) => {
    if (i.name) out.push(`${ind}name: ${JSON.stringify(i.name)}`);
    if (i.dtype) out.push(`${ind}dtype: ${dataTypeName(i.dtype)}`);
    if (i.tensorShape) {
      out.push(`${ind}tensor_shape {`);
      for (const d of i.tensorShape.dim ?? []) {
        out.push(`${ind}  dim {`);
        if (Number(d.size ?? 0) !== 0) out.push(`${ind}    size: ${String(d.size)}`);
        if (d.name) out.push(`${ind}    name: ${JSON.stringify(d.name)}`);
        out.push(`${ind}  }`);
      }
      if (i.tensorShape.unknownRank) out.push(`${ind}  unknown_rank: true`);
      out.push(`${ind}}`);
    }
  };
  for (const [field, map] of [
    ['inputs', def.inputs],
    ['outputs', def.outputs],
  ] as const) {
    for (const key of Object.keys(map ?? {}).sort()) {
      out.push(`${field} {`, `  key: ${JSON.stringify(key)}`, '  value {');
      info(map![key], '    ');
      out.push('  }', '}');
    }
  }
  if (def.methodName) out.push(`method_name: ${JSON.stringify(def.methodName)}`);
  return `${out.join('\n')}\n`;
}

/**
 * The inputs to feed for a Predict request, as TF Serving's predict_util.cc and saved_model's GetInputValues
 * check them: no more inputs than the signature has, fewer only when it has defaults (which fill the missing ones),
 * and only names the signature declares. `owned`: the default tensors made here.
 */
function feedsWithDefaults(
  def: tensorflow.ISignatureDef,
  inputs: Record<string, unknown>,
): { inputs: Record<string, unknown>; owned: Tensor[] } {
  const declared = Object.keys(def.inputs ?? {}).sort();
  const defaults = def.defaults ?? {};
  const given = Object.keys(inputs);
  if (given.length > declared.length || (given.length < declared.length && Object.keys(defaults).length === 0)) {
    const extra = given.filter((k) => !declared.includes(k));
    const missing = declared.filter((k) => !given.includes(k));
    throw new InvalidArgumentError(
      `input size does not match signature: ${given.length}!=${declared.length} len({${setOf(given)}}) != len({${setOf(declared)}}). Sent extra: {${setOf(extra)}}. Missing but required: {${setOf(missing)}}.`,
    );
  }
  const fed: Record<string, unknown> = {};
  const owned: Tensor[] = [];
  try {
    for (const alias of declared) {
      if (Object.prototype.hasOwnProperty.call(inputs, alias)) {
        fed[alias] = inputs[alias];
        continue;
      }
      const value = defaults[alias];
      if (!value) {
        throw new InvalidArgumentError(
          `Signature input alias: ${alias}(feed name: ${def.inputs![alias].name ?? ''}) not found in request and no default value provided. Inputs expected to be in the request {${setOf(given)}}, or default input alias set: ${setOf(Object.keys(defaults))}`,
        );
      }
      const t = tensorFromProto(value as TensorProtoFields, `tensor parsing error: ${alias}`);
      owned.push(t);
      fed[alias] = t;
    }
    if (given.some((k) => !declared.includes(k))) {
      throw new InvalidArgumentError(
        `Inputs contains invalid name. Used request inputs: ${setOf(given.filter((k) => declared.includes(k)))}, request input: ${setOf(given)}`,
      );
    }
  } catch (e) {
    for (const t of owned) t.dispose();
    throw e;
  }
  return { inputs: fed, owned };
}

/** A loaded version: see the module comment. */
export class Servable {
  private constructor(
    readonly version: number,
    readonly model: LoadedModel,
    readonly signatureDefs: Record<string, tensorflow.ISignatureDef>,
    private readonly methodNameCheck: boolean,
  ) {}

  /** Loads `dir` as a version (any failure is thrown as a TF error). */
  static async load(dir: string, version: number, spec: LoadSpec): Promise<Servable> {
    try {
      const isHub = await isTf1HubModule(dir);
      const tags = isHub && !spec.tagsExplicit ? undefined : spec.tags;
      const savedModel = await readSavedModel(dir);
      const metaGraph = chooseMetaGraph(savedModel, dir, tags, isHub);
      const defs: Record<string, tensorflow.ISignatureDef> = {};
      for (const [k, v] of Object.entries(metaGraph.signatureDef ?? {}) as Array<[string, tensorflow.ISignatureDef]>)
        if (k !== INIT_OP_SIGNATURE) defs[k] = v;
      // TF Serving's checks, not Python's: inputs of any shape are fed, a broken signature fails only when called
      const loaded = await load(dir, { tags, session: spec.session, strictSignatures: false });
      const metrics = spec.metrics;
      const hooks = (signature: string) => ({ hooks: metrics?.batchingHooks(spec.modelName ?? '', version, signature) });
      const model = spec.batching ? withBatching(loaded, spec.batching, hooks) : loaded;
      return new Servable(version, model, defs, !!spec.methodNameCheck);
    } catch (e) {
      throw toTfError(e);
    }
  }

  /** Frees the model. */
  close(): void {
    this.model.close();
  }

  private signature(name: string): {
    def: tensorflow.ISignatureDef;
    run: (inputs: unknown, signal?: AbortSignal) => Promise<Record<string, unknown>>;
  } {
    const def = this.signatureDefs[name];
    const fn = this.model.signatures[name] as SignatureRun | undefined;
    if (!def || !fn) throw new FailedPreconditionError(`Serving signature key "${name}" not found.`);
    // A batched signature takes the signal into its queue (an abort drops the waiting call); any signature is
    // not started once the signal is aborted.
    return {
      def,
      run: (inputs, signal) => {
        if (signal?.aborted) return Promise.reject(abortError(signal));
        return signal ? fn(inputs, { signal }) : fn(inputs);
      },
    };
  }

  /** Input keys of a signature (for the REST JSON decoder), or a FailedPrecondition naming it. */
  signatureInputs(name: string): Record<string, tensorflow.ITensorInfo> {
    return { ...(this.signature(name).def.inputs ?? {}) };
  }

  /**
   * Runs a signature on named inputs; `outputFilter` limits (and orders) the outputs. Aborting `signal` before
   * the run starts (waiting in the batch queue included) rejects with the abort's TF error and nothing runs.
   */
  async predict(
    signatureName: string,
    inputs: Record<string, unknown>,
    outputFilter: string[] = [],
    signal?: AbortSignal,
  ): Promise<Record<string, Tensor>> {
    const { def, run } = this.signature(signatureName);
    if (this.methodNameCheck && ![PREDICT_METHOD, CLASSIFY_METHOD, REGRESS_METHOD].includes(def.methodName ?? '')) {
      throw new InternalError(
        `Expected prediction signature method_name to be one of {${PREDICT_METHOD}, ${CLASSIFY_METHOD}, ${REGRESS_METHOD}}. Was: ${def.methodName ?? ''}`,
      );
    }
    const fed = feedsWithDefaults(def, inputs);
    const outputs = Object.keys(def.outputs ?? {});
    const seen = new Set<string>();
    for (const alias of outputFilter) {
      if (!outputs.includes(alias))
        throw new InvalidArgumentError(
          `output tensor alias not found in signature: ${alias} Outputs expected to be in the set {${setOf(outputs)}}.`,
        );
      if (seen.has(alias)) throw new InvalidArgumentError(`duplicate output tensor alias: ${alias}`);
      seen.add(alias);
    }
    let result: Record<string, unknown>;
    try {
      result = await run(fed.inputs, signal);
    } catch (e) {
      throw toTfError(e);
    } finally {
      for (const t of fed.owned) t.dispose();
    }
    const out: Record<string, Tensor> = {};
    for (const alias of outputFilter.length > 0 ? outputFilter : Object.keys(result).sort()) {
      const v = result[alias];
      if (!(v instanceof Tensor))
        throw new UnimplementedError(
          `output ${alias} of signature ${signatureName} is a composite (sparse or ragged) tensor, which TF Serving cannot return`,
        );
      out[alias] = v;
    }
    return out;
  }

  private async runOnExamples(
    signatureName: string,
    method: string,
    kind: string,
    examples: Uint8Array[],
    signal: AbortSignal | undefined,
  ): Promise<{ def: tensorflow.ISignatureDef; out: Record<string, unknown> }> {
    if (!this.signatureDefs[signatureName]) throw new InvalidArgumentError(`No signature was found with the name: ${signatureName}`);
    const { def, run } = this.signature(signatureName);
    // classifier.cc / regressor.cc: PreProcessClassification / PreProcessRegression
    if (this.methodNameCheck && def.methodName !== method) {
      throw new InvalidArgumentError(`Expected ${kind} signature method_name to be ${method}. Was: ${def.methodName ?? ''}`);
    }
    const inputs = Object.keys(def.inputs ?? {});
    const outputs = Object.keys(def.outputs ?? {});
    if (inputs.length !== 1) throw new InvalidArgumentError('Expected one input Tensor.');
    if (method === CLASSIFY_METHOD && outputs.length !== 1 && outputs.length !== 2)
      throw new InvalidArgumentError(`Expected one or two output Tensors, found ${outputs.length}`);
    if (method === REGRESS_METHOD && outputs.length !== 1) throw new InvalidArgumentError('Expected one output Tensor.');
    if (!inputs.includes('inputs')) throw new InvalidArgumentError(`No ${kind} inputs found in SignatureDef: ${debugString(def)}`);
    if (method === CLASSIFY_METHOD && !outputs.includes('classes') && !outputs.includes('scores')) {
      throw new InvalidArgumentError(
        `Expected classification signature outputs to contain at least one of "classes" or "scores". Signature was: ${debugString(def)}`,
      );
    }
    if (method === REGRESS_METHOD && !outputs.includes('outputs'))
      throw new InvalidArgumentError(`No regression outputs found in SignatureDef: ${debugString(def)}`);
    if (examples.length === 0) throw new InvalidArgumentError('Input is empty.');
    try {
      const input = new Tensor('string', [examples.length], examples);
      return { def, out: await run({ inputs: input }, signal) };
    } catch (e) {
      throw toTfError(e);
    }
  }

  /** Classify: one (label, score) list per serialized tf.Example (TF Serving's classifier checks). */
  async classify(
    signatureName: string,
    examples: Uint8Array[],
    signal?: AbortSignal,
  ): Promise<Array<Array<{ label: string; score: number }>>> {
    const { out } = await this.runOnExamples(signatureName, CLASSIFY_METHOD, 'classification', examples, signal);
    const classes = out.classes as Tensor | undefined;
    const scores = out.scores as Tensor | undefined;
    if (!classes && !scores) throw new InvalidArgumentError('Expected classification signature outputs to contain classes or scores.');
    const n = examples.length;
    const check = (t: Tensor, what: string, dtype: string): number => {
      if (t.dtype !== dtype)
        throw new InvalidArgumentError(`Expected ${what} Tensor of DT_${dtype === 'string' ? 'STRING' : 'FLOAT'}. Got: ${t.dtype}`);
      if (t.rank !== 2) throw new InvalidArgumentError(`Expected Tensor shape: [batch_size num_classes] but got [${t.shape.join(',')}]`);
      if (t.shape[0] !== n) throw new InvalidArgumentError(`Expected ${what} output batch size of ${n}. Got: ${t.shape[0]}`);
      return t.shape[1];
    };
    const k = classes ? check(classes, 'classes', 'string') : check(scores!, 'scores', 'float32');
    if (classes && scores && check(scores, 'scores', 'float32') !== k) {
      throw new InvalidArgumentError(`Tensors class and score should match in dim[1]. Got ${k} vs. ${scores.shape[1]}`);
    }
    const labels = classes?.strings();
    const values = scores?.data() as Float32Array | undefined;
    const result: Array<Array<{ label: string; score: number }>> = [];
    for (let i = 0; i < n; i++) {
      const row: Array<{ label: string; score: number }> = [];
      for (let j = 0; j < k; j++) row.push({ label: labels ? labels[i * k + j] : '', score: values ? values[i * k + j] : 0 });
      result.push(row);
    }
    return result;
  }

  /** Regress: one value per serialized tf.Example (TF Serving's regressor checks). */
  async regress(signatureName: string, examples: Uint8Array[], signal?: AbortSignal): Promise<number[]> {
    const { out } = await this.runOnExamples(signatureName, REGRESS_METHOD, 'regression', examples, signal);
    const outputs = out.outputs as Tensor | undefined;
    if (!(outputs instanceof Tensor)) throw new InvalidArgumentError('No regression outputs found in SignatureDef');
    if (outputs.dtype !== 'float32') throw new InvalidArgumentError(`Expected output Tensor of DT_FLOAT. Got: ${outputs.dtype}`);
    const s = outputs.shape;
    if (!(s.length === 1 || (s.length === 2 && s[1] === 1))) {
      throw new InvalidArgumentError(`Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [${s.join(',')}]`);
    }
    if (s[0] !== examples.length)
      throw new InvalidArgumentError(`Input batch size did not match output batch size: ${examples.length} vs. ${s[0]}`);
    return Array.from(outputs.data() as Float32Array);
  }
}
