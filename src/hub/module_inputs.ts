/**
 * What `Module.call` takes: the inputs record checked against a signature (Python's `_prepare_dict_inputs` and
 * `_convert_dict_inputs`, with their messages) and each value made an Output of the module's graph.
 */
import { DType, dtypeFromTf } from '../dtypes';
import { TfhubError, typeError } from '../errors';
import { Graph, Output } from '../graph';
import { dimsOf } from '../proto';
import { Tensor, tensor as makeTensor, tensorFromView } from '../tensor';
import { ParsedTensorInfo, formatShape, isShapeCompatible } from './saved_model';

/** A value for a dense input: an Output of the module's graph, a Tensor, or JS values (made constants). */
export type DenseInput = Output | Tensor | number | bigint | boolean | string | unknown[];
/** A value for any input; sparse inputs take `{indices, values, denseShape}`, ragged `{values, rowSplits}`. */
export type ModuleInput =
  | DenseInput
  | { indices: DenseInput; values: DenseInput; denseShape: DenseInput }
  | { values: DenseInput; rowSplits: DenseInput | DenseInput[] };

function isOutputLike(v: unknown): boolean {
  return (
    v instanceof Output ||
    v instanceof Tensor ||
    Array.isArray(v) ||
    ['number', 'bigint', 'boolean', 'string'].includes(typeof v) ||
    ArrayBuffer.isView(v)
  );
}

/** Python's `_prepare_dict_inputs` plus the key check of `_convert_dict_inputs`. */
export function normalizeInputs(inputs: unknown, infos: Record<string, ParsedTensorInfo>): Record<string, ModuleInput> {
  const keys = Object.keys(infos);
  let dict: Record<string, ModuleInput>;
  if (inputs === undefined || inputs === null) dict = {};
  else if (isPlainRecord(inputs) && !isCompositeValue(inputs, keys)) dict = inputs as Record<string, ModuleInput>;
  else if (keys.length === 1) dict = { [keys[0]]: inputs as ModuleInput };
  else if (keys.length === 0) throw typeError('ERR_SIGNATURE_INPUTS', 'Signature expects no inputs.');
  else throw typeError('ERR_SIGNATURE_INPUTS', 'Signature expects multiple inputs. Use a dict.');
  const given = Object.keys(dict);
  const missing = keys.filter((k) => !(k in dict)).sort();
  const extra = given.filter((k) => !(k in infos)).sort();
  if (missing.length > 0 || extra.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing [${missing.map((k) => `'${k}'`).join(', ')}]`);
    if (extra.length > 0) parts.push(`extra given [${extra.map((k) => `'${k}'`).join(', ')}]`);
    throw typeError('ERR_SIGNATURE_INPUTS', `Cannot convert dict_inputs: ${parts.join(', ')}`);
  }
  return dict;
}

function isPlainRecord(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !isOutputLike(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** A record that is itself a sparse/ragged value for a single-input signature (not a dict of inputs). */
function isCompositeValue(v: object, keys: string[]): boolean {
  const k = Object.keys(v);
  const composite =
    (k.includes('indices') && k.includes('values') && k.includes('denseShape')) ||
    (k.includes('rowSplits') && (k.includes('values') || k.includes('flatValues')));
  return composite && !k.every((x) => keys.includes(x));
}

function denseOutput(g: Graph, key: string, value: unknown, dtype: DType, declared: number[] | null, what = ''): Output {
  const label = what ? `${key}.${what}` : key;
  let out: Output;
  if (value instanceof Output) {
    if (value.graph !== g) throw new TfhubError('ERR_GRAPH_MISMATCH', 'Module must be applied in the graph it was instantiated for.');
    if (value.dtype !== dtype)
      throw typeError('ERR_INPUT_DTYPE', `Can't convert '${label}': Got ${value.dtype} tensor. Expected ${dtype}.`);
    out = value;
  } else if (value instanceof Tensor) {
    if (value.dtype !== dtype)
      throw typeError('ERR_INPUT_DTYPE', `Can't convert '${label}': Got ${value.dtype} tensor. Expected ${dtype}.`);
    out = g.constant(value);
  } else if (isPlainRecord(value)) {
    throw typeError('ERR_INPUT_KIND', `Can't convert '${label}': Got a record. Expected Tensor.`);
  } else {
    let t: Tensor;
    try {
      t = ArrayBuffer.isView(value) ? tensorFromView(dtype, value) : makeTensor(value, dtype);
    } catch (e) {
      throw typeError('ERR_INPUT_CONVERSION', `Can't convert '${label}': ${(e as Error).message}`);
    }
    try {
      out = g.constant(t);
    } finally {
      t.dispose();
    }
  }
  const shape = out.shape;
  if (!isShapeCompatible(shape, declared)) {
    throw typeError(
      'ERR_INPUT_SHAPE',
      `Can't convert '${label}': Got TensorSpec(shape=${formatShape(shape)}, dtype=${dtype}). Expected TensorSpec(shape=${formatShape(declared)}, dtype=${dtype}).`,
    );
  }
  return out;
}

/** The numbers of a dense-shape value given as data (a Tensor or JS values); null for graph Outputs. */
function knownDims(value: unknown): number[] | null {
  if (value instanceof Output || value === null || value === undefined) return null;
  try {
    const t = value instanceof Tensor ? value : ArrayBuffer.isView(value) ? tensorFromView('int64', value) : makeTensor(value, 'int64');
    try {
      return Array.from(t.data() as BigInt64Array, Number);
    } finally {
      if (t !== value) t.dispose();
    }
  } catch {
    return null; // denseOutput reports what is wrong with the value itself
  }
}

/** Converts one signature input to graph Outputs keyed by the module graph's tensor names. */
export function convertInput(g: Graph, key: string, value: ModuleInput, info: ParsedTensorInfo): Array<[string, Output]> {
  const record = isPlainRecord(value) ? (value as Record<string, DenseInput>) : null;
  if (info.isSparse) {
    if (!record || !('indices' in record) || !('values' in record) || !('denseShape' in record)) {
      throw typeError('ERR_INPUT_KIND', `Can't convert '${key}': Got Tensor. Expected SparseTensor ({indices, values, denseShape}).`);
    }
    const rank = info.shape === null ? -1 : info.shape.length;
    const denseShape = denseOutput(g, key, record.denseShape, 'int64', [rank], 'denseShape');
    // A constant dense shape is the SparseTensor's static shape (Python: constant_value_as_shape): it must fit
    // the declared one, or the module's outputs would silently take the wrong shape.
    const dims = knownDims(record.denseShape);
    if (dims && !isShapeCompatible(dims, info.shape)) {
      throw typeError(
        'ERR_INPUT_SHAPE',
        `Can't convert '${key}': Got SparseTensorSpec(shape=${formatShape(dims)}). Expected SparseTensorSpec(shape=${formatShape(info.shape)}).`,
      );
    }
    return [
      [info.names.indices!, denseOutput(g, key, record.indices, 'int64', [-1, rank], 'indices')],
      [info.names.values!, denseOutput(g, key, record.values, info.dtype, [-1], 'values')],
      [info.names.denseShape!, denseShape],
    ];
  }
  if (info.isComposite) {
    if (!record || !('rowSplits' in record)) {
      throw typeError('ERR_INPUT_KIND', `Can't convert '${key}': Got Tensor. Expected RaggedTensor ({values, rowSplits}).`);
    }
    const flat = 'flatValues' in record ? record.flatValues : record.values;
    const splits =
      Array.isArray(record.rowSplits) && record.rowSplits.length > 0 && !['number', 'bigint'].includes(typeof record.rowSplits[0])
        ? (record.rowSplits as DenseInput[])
        : [record.rowSplits as DenseInput];
    const comps = info.names.components!;
    if (splits.length !== comps.length - 1) {
      throw typeError('ERR_INPUT_KIND', `Can't convert '${key}': expected ${comps.length - 1} row-splits tensors, got ${splits.length}`);
    }
    const compInfos = info.proto.compositeTensor?.components ?? [];
    return comps.map((name, i) => {
      const ci = compInfos[i];
      const dtype = ci?.dtype ? dtypeFromTf(ci.dtype) : i === 0 ? info.dtype : 'int64';
      const shape = ci?.tensorShape ? dimsOf(ci.tensorShape) : null;
      return [name, denseOutput(g, key, i === 0 ? flat : splits[i - 1], dtype, shape, i === 0 ? 'values' : `rowSplits[${i - 1}]`)] as [
        string,
        Output,
      ];
    });
  }
  if (record) throw typeError('ERR_INPUT_KIND', `Can't convert '${key}': Got a record. Expected Tensor.`);
  return [[info.names.dense!, denseOutput(g, key, value, info.dtype, info.shape)]];
}
