/**
 * JS values as tensors: what a tensor spec (`LeafSpec`) accepts — Tensors, and with conversion nested arrays,
 * numbers, bigints, booleans, strings and typed arrays (Python's convert_to_tensor + the spec check) — and the
 * conversion itself.
 */
import { DType, storageOf } from '../../dtypes';
import { Tensor, flattenNested, tensor as makeTensor, tensorFromView } from '../../tensor';
import { formatShape, isShapeCompatible } from '../saved_model';

/** One tensor the function graph consumes or produces. */
export interface LeafSpec {
  readonly dtype: DType;
  /** null = unknown rank, -1 = unknown dimension. */
  readonly shape: number[] | null;
  /** The spec's name (e.g. the argument name), may be empty. */
  readonly name: string;
}

type ElementKind = 'number' | 'integer' | 'boolean' | 'string' | 'bigint' | 'empty';

/** Shape and element kind of nested JS arrays / scalars, or a reason why they are not a tensor value. */
function inspectJs(value: unknown): { shape: number[]; kind: ElementKind } | string {
  if (ArrayBuffer.isView(value)) {
    const len = (value as unknown as { length: number }).length;
    if (value instanceof BigInt64Array || value instanceof BigUint64Array) return { shape: [len], kind: 'bigint' };
    if (value instanceof Float32Array || value instanceof Float64Array) return { shape: [len], kind: 'number' };
    return { shape: [len], kind: 'integer' };
  }
  const nested = flattenNested(value);
  if (typeof nested === 'string') return nested;
  const { shape, flat } = nested;
  let kind: ElementKind = 'empty';
  for (const x of flat) {
    let k: ElementKind;
    if (typeof x === 'number') k = Number.isInteger(x) ? 'integer' : 'number';
    else if (typeof x === 'boolean') k = 'boolean';
    else if (typeof x === 'string' || x instanceof Uint8Array) k = 'string';
    else if (typeof x === 'bigint') k = 'bigint';
    else return `element of type ${x === null ? 'null' : typeof x} is not a tensor value`;
    if (kind === 'empty' || (kind === 'integer' && k === 'number')) kind = k;
    else if (kind === 'number' && k === 'integer') continue;
    else if (kind !== k) return `elements mix ${kind} and ${k} values`;
  }
  return { shape, kind };
}

const INT_DTYPES = new Set<DType>([
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'qint8',
  'quint8',
  'qint16',
  'quint16',
  'qint32',
]);
const FLOAT_DTYPES = new Set<DType>(['float16', 'bfloat16', 'float32', 'float64']);

/** Why a value does not fit a tensor spec: the kind of problem and a message. */
export interface Mismatch {
  readonly code: 'ERR_INPUT_DTYPE' | 'ERR_INPUT_SHAPE' | 'ERR_INPUT_VALUE';
  readonly message: string;
}

/**
 * Why `value` cannot become a tensor of `leaf` (null if it can), as Python's convert_to_tensor + spec check;
 * without `checkShape` only the dtype (and convertibility) is checked.
 */
export function tensorMismatch(value: unknown, leaf: LeafSpec, allowConversion: boolean, checkShape = true): Mismatch | null {
  const dtypeErr = (message: string): Mismatch => ({ code: 'ERR_INPUT_DTYPE', message });
  const shapeErr = (message: string): Mismatch => ({ code: 'ERR_INPUT_SHAPE', message });
  if (value instanceof Tensor) {
    if (value.isDisposed) return { code: 'ERR_INPUT_VALUE', message: 'the Tensor was disposed' };
    if (value.dtype !== leaf.dtype) return dtypeErr(`Got a ${value.dtype} Tensor, expected ${leaf.dtype}`);
    if (checkShape && !isShapeCompatible(value.shape, leaf.shape))
      return shapeErr(`Got shape ${formatShape(value.shape)}, expected ${formatShape(leaf.shape)}`);
    return null;
  }
  if (!allowConversion) return { code: 'ERR_INPUT_VALUE', message: 'not a Tensor' };
  if (value === null || value === undefined)
    return { code: 'ERR_INPUT_VALUE', message: `Got ${String(value)}, expected a ${leaf.dtype} tensor value` };
  const info = inspectJs(value);
  if (typeof info === 'string') return { code: 'ERR_INPUT_VALUE', message: info };
  const { shape, kind } = info;
  const d = leaf.dtype;
  let ok: boolean;
  switch (kind) {
    case 'empty':
      ok = d !== 'resource' && d !== 'variant';
      break;
    case 'string':
      ok = d === 'string';
      break;
    case 'boolean':
      ok = d === 'bool';
      break;
    case 'bigint':
      ok = INT_DTYPES.has(d);
      break;
    case 'integer':
      ok = INT_DTYPES.has(d) || FLOAT_DTYPES.has(d) || d === 'complex64' || d === 'complex128';
      break;
    case 'number':
      ok = FLOAT_DTYPES.has(d) || d === 'complex64' || d === 'complex128';
      break;
  }
  if (ArrayBuffer.isView(value)) {
    // The dtype's own array class is taken as is (float16 bits in a Uint16Array included); another numeric class
    // is converted value by value when its kind of element fits (a Float64Array for float32, an Int32Array for
    // int64), as Python converts numpy arrays.
    const Storage = storageOf(d);
    if (value instanceof DataView || !Storage)
      return dtypeErr(`a ${value.constructor.name} cannot hold ${d} values${Storage ? ` (use a ${Storage.name})` : ''}`);
    if (value instanceof Storage) ok = true;
  }
  if (!ok) {
    const got =
      kind === 'integer' || kind === 'number' ? 'numbers' : kind === 'boolean' ? 'booleans' : kind === 'bigint' ? 'bigints' : 'strings';
    return dtypeErr(`Expected ${d}, got ${got}${kind === 'number' && INT_DTYPES.has(d) ? ' that are not integers' : ''}`);
  }
  if (checkShape && !isShapeCompatible(shape, leaf.shape))
    return shapeErr(`Got shape ${formatShape(shape)}, expected ${formatShape(leaf.shape)}`);
  return null;
}

/** Converts a JS value (already checked with tensorMismatch) to a Tensor of `dtype`; Tensors pass through. */
export function toTensor(value: unknown, dtype: DType, where?: string): { tensor: Tensor; owned: boolean } {
  if (value instanceof Tensor) return { tensor: value, owned: false };
  try {
    if (ArrayBuffer.isView(value)) return { tensor: tensorFromView(dtype, value), owned: true };
    const info = inspectJs(value);
    const shape = typeof info === 'string' ? undefined : info.shape;
    return { tensor: makeTensor(value, dtype, shape), owned: true };
  } catch (e) {
    // Value checks that need the conversion itself (range of integers): same error, naming the input.
    if (where && e instanceof Error) e.message = `${where}: ${e.message}`;
    throw e;
  }
}
