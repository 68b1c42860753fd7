/** What KerasLayer calls take: graph Outputs bound to tensor specs, signature records with `arguments` merged. */
import { TfhubError, typeError } from '../../errors';
import { Graph, Output } from '../../graph';
import { Tensor } from '../../tensor';
import { formatShape, isShapeCompatible } from '../saved_model';
import { normalizeSignatureInputs } from '../tf2/signature_inputs';
import { BoundLeaf, LeafBinder, formatValue, tensorBinder } from '../tf2/structure';
import { toTensor } from '../tf2/values';

/** An ERR_INVALID_ARG_VALUE error (Python's ValueError of `hub.KerasLayer`). */
export function invalid(message: string): TfhubError {
  return new TfhubError('ERR_INVALID_ARG_VALUE', message);
}

/** A record made by `{}` or `Object.create(null)` (not a class instance). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Graph calls bind Outputs (dtype equal, static shape compatible) as well as Tensors and, with
 * `allowConversion`, JS values.
 */
export const graphBinder: LeafBinder = {
  mismatch(value, leaf, allowConversion) {
    if (!(value instanceof Output)) return tensorBinder.mismatch(value, leaf, allowConversion);
    if (value.dtype !== leaf.dtype) return `got a ${value.dtype} Output, expected ${leaf.dtype}`;
    if (!isShapeCompatible(value.shape, leaf.shape)) return `got shape ${formatShape(value.shape)}, expected ${formatShape(leaf.shape)}`;
    return null;
  },
  isLeaf: (value) => value instanceof Output || value instanceof Tensor,
  describe: (value) => (value instanceof Output ? value.toString() : formatValue(value)),
};

/** How error messages show a call argument (Outputs by shape and dtype). */
export function showGraphValue(v: unknown): string {
  return v instanceof Output ? `Output(shape=${formatShape(v.shape)}, dtype=${v.dtype})` : formatValue(v);
}

/** The record a signature is called with: `inputs` (a record, or the value of the one remaining key) plus `extra`. */
export function signatureInputs(name: string, keys: string[], inputs: unknown, extra: Record<string, unknown>): Record<string, unknown> {
  if (isPlainObject(inputs) && !('indices' in inputs && 'denseShape' in inputs) && !('rowSplits' in inputs))
    return normalizeSignatureInputs(name, keys, { ...extra, ...inputs });
  const free = keys.filter((k) => !(k in extra));
  if (free.length !== 1) {
    throw typeError(
      'ERR_SIGNATURE_INPUTS',
      `Signature '${name}' expects inputs [${[...keys]
        .sort()
        .map((k) => `'${k}'`)
        .join(', ')}]: pass a record`,
    );
  }
  return normalizeSignatureInputs(name, keys, { ...extra, [free[0]]: inputs });
}

/** Turns a bound value into an Output of `graph` (Tensors and JS values become constants). */
export function toGraphOutput(graph: Graph, b: BoundLeaf): Output {
  if (b.value instanceof Output) {
    if (b.value.graph !== graph)
      throw new TfhubError('ERR_GRAPH_MISMATCH', `input ${b.value.name} belongs to another graph than the one the layer is applied in`);
    return b.value;
  }
  const { tensor, owned } = toTensor(b.value, b.leaf.dtype);
  try {
    return graph.constant(tensor);
  } finally {
    if (owned) tensor.dispose();
  }
}

/** The options of a layer its implementations read (a `KerasLayer` is one). */
export interface LayerConfig {
  readonly trainable: boolean;
  readonly signature: string | undefined;
  readonly outputKey: string | undefined;
  readonly signatureOutputsAsDict: boolean;
  readonly arguments: Readonly<Record<string, unknown>> | undefined;
  readonly name: string;
}
