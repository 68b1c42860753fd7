// TensorProto <-> Tensor, as TensorFlow's Tensor::FromProto / AsProtoField / AsProtoTensorContent do it.
//
// Reading accepts both encodings: `tensor_content` (little-endian bytes, exactly elements x element size) and
// the typed `*_val` fields (`half_val` holds float16 and bfloat16 bits; int8/16, uint8/16 and the quantized
// types use `int_val`). As in TensorFlow, typed values fewer than the shape's element count are padded with the
// last value (none: zeros). Anything TensorFlow would not turn into a tensor, or that would need unbounded
// memory, is an InvalidArgumentError: unknown dtype, unknown rank or negative dims, more values than elements,
// a content length that does not match the shape, integers out of the dtype's range, shapes whose byte size is
// over `maxBytes` (checked before anything is allocated).

import type Long from 'long';
import { DType, dtypeFromTf, elementsPerValue, storageOf, tfDataType } from '../../dtypes';
import { InvalidArgumentError } from '../../errors';
import { toBigInt, toLong } from '../../proto';
import { Tensor } from '../../tensor';

/** A decoded `tensorflow.TensorProto` (protobufjs field names); also what `tensorToProto` returns. */
export interface TensorProtoFields {
  /** `tensorflow.DataType` number. */
  dtype?: number;
  /** Dimensions; absent = scalar. */
  tensorShape?: { dim?: Array<{ size?: number | Long | string | null; name?: string | null }> | null; unknownRank?: boolean | null } | null;
  /** Little-endian element bytes. */
  tensorContent?: Uint8Array | null;
  /** float16/bfloat16 bits. */
  halfVal?: number[] | null;
  /** float32 values. */
  floatVal?: number[] | null;
  /** float64 values. */
  doubleVal?: number[] | null;
  /** int32, int16, int8, uint8, uint16 and quantized values. */
  intVal?: number[] | null;
  /** string elements. */
  stringVal?: Uint8Array[] | null;
  /** complex64 as (real, imaginary) pairs. */
  scomplexVal?: number[] | null;
  /** int64 values. */
  int64Val?: Array<number | Long | string> | null;
  /** bool values. */
  boolVal?: boolean[] | null;
  /** complex128 as (real, imaginary) pairs. */
  dcomplexVal?: number[] | null;
  /** uint32 values. */
  uint32Val?: number[] | null;
  /** uint64 values. */
  uint64Val?: Array<number | Long | string> | null;
}

/** Limits on what a TensorProto may ask for. */
export interface TensorProtoLimits {
  /** Largest decoded tensor, in bytes of element storage (default 1 GiB; strings count their bytes). */
  maxBytes?: number;
}

/** Default `maxBytes`: 1 GiB. */
export const DEFAULT_MAX_TENSOR_BYTES = 2 ** 30;

const BYTES_PER_ELEMENT: Partial<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
  complex64: 8,
  complex128: 16,
  qint8: 1,
  quint8: 1,
  qint16: 2,
  quint16: 2,
  qint32: 4,
};

const INT_VAL_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  qint8: [-128, 127],
  uint8: [0, 255],
  quint8: [0, 255],
  int16: [-32768, 32767],
  qint16: [-32768, 32767],
  uint16: [0, 65535],
  quint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  qint32: [-(2 ** 31), 2 ** 31 - 1],
};

function invalid(what: string, detail: string): Error {
  return new InvalidArgumentError(`${what}: ${detail}`);
}

/** The tfhub-node dtype of a `tensorflow.DataType` number; InvalidArgumentError for anything else. */
export function dtypeOfProto(value: number | undefined, what = 'tensor'): DType {
  if (!value || value > 100) throw invalid(what, `unsupported or invalid DataType ${value ?? 0}`);
  let d: DType;
  try {
    d = dtypeFromTf(value);
  } catch {
    throw invalid(what, `unsupported DataType ${value}`);
  }
  if (d === 'resource' || d === 'variant') throw invalid(what, `cannot receive a ${d} tensor`);
  return d;
}

/** Dimensions of a TensorProto's shape, each checked (no unknown rank or dims, rank <= 254). */
export function protoDims(shape: TensorProtoFields['tensorShape'], what = 'tensor'): number[] {
  if (!shape) return [];
  if (shape.unknownRank) throw invalid(what, 'a tensor cannot have an unknown rank');
  const dims = shape.dim ?? [];
  if (dims.length > 254) throw invalid(what, `rank ${dims.length} is over TensorFlow's limit of 254`);
  return dims.map((d, i) => {
    // Decoded sizes are Longs (numbers when built by hand): one below 2^32 needs no BigInt.
    const size = d?.size ?? 0;
    if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) return size;
    if (typeof size === 'object' && size !== null && (size as Long).high === 0) return (size as Long).low >>> 0;
    let b: bigint;
    try {
      b = typeof d?.size === 'string' ? BigInt(d.size) : toBigInt((d?.size ?? 0) as number | Long);
    } catch {
      throw invalid(what, `dimension ${i} is not an integer`);
    }
    if (b < 0n) throw invalid(what, `dimension ${i} is ${b}; a tensor needs sizes >= 0`);
    if (b > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(what, `dimension ${i} is ${b}, too large`);
    return Number(b);
  });
}

function elementCount(dims: number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) throw invalid(what, `shape [${dims.join(',')}] has too many elements`);
  }
  return n;
}

function typedValues(p: TensorProtoFields, dtype: DType): ArrayLike<unknown> {
  switch (dtype) {
    case 'float32':
      return p.floatVal ?? [];
    case 'float64':
      return p.doubleVal ?? [];
    case 'float16':
    case 'bfloat16':
      return p.halfVal ?? [];
    case 'int64':
      return p.int64Val ?? [];
    case 'uint64':
      return p.uint64Val ?? [];
    case 'uint32':
      return p.uint32Val ?? [];
    case 'bool':
      return p.boolVal ?? [];
    case 'complex64':
      return p.scomplexVal ?? [];
    case 'complex128':
      return p.dcomplexVal ?? [];
    case 'string':
      return p.stringVal ?? [];
    default:
      return p.intVal ?? [];
  }
}

/**
 * A Tensor from a decoded TensorProto. `what` names it in errors (e.g. `input 'x'`).
 * @throws InvalidArgumentError for anything TensorFlow would refuse or that is over `limits.maxBytes`.
 */
export function tensorFromProto(p: TensorProtoFields, what = 'tensor', limits: TensorProtoLimits = {}): Tensor {
  const dtype = dtypeOfProto(p.dtype, what);
  const dims = protoDims(p.tensorShape, what);
  const n = elementCount(dims, what);
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_TENSOR_BYTES;
  const content = p.tensorContent && p.tensorContent.length > 0 ? p.tensorContent : null;
  if (dtype === 'string') {
    if (content) throw invalid(what, 'string tensors cannot use tensor_content');
    const vals = (p.stringVal ?? []) as Uint8Array[];
    return build(
      dtype,
      dims,
      padded(vals, n, new Uint8Array(0), what, maxBytes, (v) => v.length + 8),
      what,
    );
  }
  const size = BYTES_PER_ELEMENT[dtype]!;
  if (n * size > maxBytes)
    throw invalid(what, `shape [${dims.join(',')}] of ${dtype} needs ${n * size} bytes, over the limit of ${maxBytes}`);
  const Storage = storageOf(dtype)!;
  const per = elementsPerValue(dtype);
  if (content) {
    if (content.length !== n * size) {
      throw invalid(what, `tensor_content has ${content.length} bytes; shape [${dims.join(',')}] of ${dtype} needs ${n * size}`);
    }
    const copy = new Uint8Array(content.length);
    copy.set(content);
    return build(dtype, dims, new Storage(copy.buffer) as never, what);
  }
  const raw = typedValues(p, dtype);
  const count = raw.length / per;
  if (!Number.isInteger(count)) throw invalid(what, `${dtype} values come in (real, imaginary) pairs; got ${raw.length} numbers`);
  if (count > n) throw invalid(what, `${count} values given for shape [${dims.join(',')}] (${n} elements)`);
  const out = new Storage(n * per);
  const range = INT_VAL_RANGE[dtype];
  for (let i = 0; i < n * per; i++) {
    // Fewer values than elements: TensorFlow repeats the last one (zero when there is none).
    const j = i < raw.length ? i : count === 0 ? -1 : raw.length - per + (i % per);
    const v = j < 0 ? 0 : raw[j];
    if (Storage === BigInt64Array || Storage === BigUint64Array) {
      (out as BigInt64Array)[i] = j < 0 ? 0n : toBigInt(v as number | Long);
    } else if (dtype === 'bool') {
      (out as Uint8Array)[i] = v ? 1 : 0;
    } else if (dtype === 'float16' || dtype === 'bfloat16') {
      const bits = Number(v);
      if (!Number.isInteger(bits) || bits < -32768 || bits > 65535) throw invalid(what, `half_val ${bits} is not 16 bits`);
      (out as Uint16Array)[i] = bits & 0xffff;
    } else {
      const x = Number(v);
      if (range && (!Number.isInteger(x) || x < range[0] || x > range[1])) {
        throw invalid(what, `value ${x} is out of range for ${dtype}`);
      }
      (out as Float64Array)[i] = x;
    }
  }
  return build(dtype, dims, out as never, what);
}

function padded<T>(vals: T[], n: number, zero: T, what: string, maxBytes: number, bytes: (v: T) => number): T[] {
  if (vals.length > n) throw invalid(what, `${vals.length} values given for ${n} elements`);
  let total = 0;
  for (const v of vals) total += bytes(v);
  const last = vals.length ? vals[vals.length - 1] : zero;
  total += (n - vals.length) * bytes(last);
  if (total > maxBytes) throw invalid(what, `the tensor needs ${total} bytes, over the limit of ${maxBytes}`);
  if (vals.length === n) return vals;
  const out = vals.slice();
  while (out.length < n) out.push(last);
  return out;
}

function build(dtype: DType, dims: number[], data: unknown, what: string): Tensor {
  try {
    return new Tensor(dtype, dims, data as never);
  } catch (e) {
    throw invalid(what, (e as Error).message);
  }
}

/**
 * A TensorProto (plain object for `TensorProto.fromObject`) holding `t`: typed `*_val` fields as TF Serving
 * answers by default (AsProtoField), or `tensor_content` with `{ content: true }` (strings always use string_val).
 */
export function tensorToProto(t: Tensor, opts: { content?: boolean } = {}): TensorProtoFields {
  const dtype = t.dtype;
  if (dtype === 'resource' || dtype === 'variant') throw invalid('tensor', `cannot send a ${dtype} tensor`);
  const out: TensorProtoFields = { dtype: tfDataType(dtype), tensorShape: { dim: t.shape.map((size) => ({ size })) } };
  if (dtype === 'string') {
    out.stringVal = t.bytes();
    return out;
  }
  const data = t.data() as ArrayLike<number | bigint> & ArrayBufferView;
  if (opts.content) {
    out.tensorContent = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return out;
  }
  switch (dtype) {
    case 'float32':
      out.floatVal = Array.from(data as Float32Array);
      break;
    case 'float64':
      out.doubleVal = Array.from(data as Float64Array);
      break;
    case 'float16':
    case 'bfloat16':
      out.halfVal = Array.from(data as Uint16Array);
      break;
    case 'int64':
      out.int64Val = Array.from(data as BigInt64Array, (v) => toLong(v));
      break;
    case 'uint64':
      out.uint64Val = Array.from(data as BigUint64Array, (v) => toLong(v, true));
      break;
    case 'uint32':
      out.uint32Val = Array.from(data as Uint32Array);
      break;
    case 'bool':
      out.boolVal = Array.from(data as Uint8Array, (v) => v !== 0);
      break;
    case 'complex64':
      out.scomplexVal = Array.from(data as Float32Array);
      break;
    case 'complex128':
      out.dcomplexVal = Array.from(data as Float64Array);
      break;
    default:
      out.intVal = Array.from(data as Int32Array);
  }
  return out;
}
