/** Data types: names as Python's `tf.dtypes` spells them, with the TF_DataType numbers of the C API. */
import { typeError } from './errors';

/** Every dtype a Tensor can hold. */
export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'complex64'
  | 'complex128'
  | 'string'
  | 'qint8'
  | 'quint8'
  | 'qint16'
  | 'quint16'
  | 'qint32'
  | 'resource'
  | 'variant';

/** The typed array that holds each dtype's elements (complex: interleaved real/imaginary parts). */
export interface DataTypeMap {
  /** `float32` elements: `Float32Array`. */
  float32: Float32Array;
  /** `float64` elements: `Float64Array`. */
  float64: Float64Array;
  /** `float16` elements: `Uint16Array`; IEEE half floats as raw bits. */
  float16: Uint16Array;
  /** `bfloat16` elements: `Uint16Array`; bfloat16 as raw bits. */
  bfloat16: Uint16Array;
  /** `int8` elements: `Int8Array`. */
  int8: Int8Array;
  /** `int16` elements: `Int16Array`. */
  int16: Int16Array;
  /** `int32` elements: `Int32Array`. */
  int32: Int32Array;
  /** `int64` elements: `BigInt64Array`; never lossy (BigInt). */
  int64: BigInt64Array;
  /** `uint8` elements: `Uint8Array`. */
  uint8: Uint8Array;
  /** `uint16` elements: `Uint16Array`. */
  uint16: Uint16Array;
  /** `uint32` elements: `Uint32Array`. */
  uint32: Uint32Array;
  /** `uint64` elements: `BigUint64Array`; never lossy (BigInt). */
  uint64: BigUint64Array;
  /** `bool` elements: `Uint8Array`; one byte per element, 0 or 1. */
  bool: Uint8Array;
  /** `complex64` elements: `Float32Array`; interleaved real/imaginary float32 parts. */
  complex64: Float32Array;
  /** `complex128` elements: `Float64Array`; interleaved real/imaginary float64 parts. */
  complex128: Float64Array;
  /** `string` elements: `Uint8Array[]`; the bytes of each element (`Tensor.strings()` decodes UTF-8). */
  string: Uint8Array[];
  /** `qint8` elements: `Int8Array`. */
  qint8: Int8Array;
  /** `quint8` elements: `Uint8Array`. */
  quint8: Uint8Array;
  /** `qint16` elements: `Int16Array`. */
  qint16: Int16Array;
  /** `quint16` elements: `Uint16Array`. */
  quint16: Uint16Array;
  /** `qint32` elements: `Int32Array`. */
  qint32: Int32Array;
  /** `resource` elements: `never`; resource handles have no JS view. */
  resource: never;
  /** `variant` elements: `never`; variants have no JS view. */
  variant: never;
}

/** A dtype with a flat numeric memory layout. */
export type NumericDType = Exclude<DType, 'string' | 'resource' | 'variant'>;

type TypedArrayCtor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

interface DTypeInfo {
  readonly name: DType;
  readonly tf: number; // TF_DataType
  readonly array?: TypedArrayCtor; // storage class
  readonly elementsPerValue: number; // 2 for complex
}

// [TF_DataType, name, storage class]; no storage class: strings and handles. The complex types store two
// values (real, imaginary) per element.
const ROWS: Array<[number, DType, TypedArrayCtor?]> = [
  [1, 'float32', Float32Array],
  [2, 'float64', Float64Array],
  [3, 'int32', Int32Array],
  [4, 'uint8', Uint8Array],
  [5, 'int16', Int16Array],
  [6, 'int8', Int8Array],
  [7, 'string'],
  [8, 'complex64', Float32Array],
  [9, 'int64', BigInt64Array],
  [10, 'bool', Uint8Array],
  [11, 'qint8', Int8Array],
  [12, 'quint8', Uint8Array],
  [13, 'qint32', Int32Array],
  [14, 'bfloat16', Uint16Array],
  [15, 'qint16', Int16Array],
  [16, 'quint16', Uint16Array],
  [17, 'uint16', Uint16Array],
  [18, 'complex128', Float64Array],
  [19, 'float16', Uint16Array],
  [20, 'resource'],
  [21, 'variant'],
  [22, 'uint32', Uint32Array],
  [23, 'uint64', BigUint64Array],
];
const TABLE: DTypeInfo[] = ROWS.map(([tf, name, array]) => ({ name, tf, array, elementsPerValue: name.startsWith('complex') ? 2 : 1 }));

const BY_NAME = new Map<string, DTypeInfo>(TABLE.map((d) => [d.name, d]));
const BY_TF = new Map<number, DTypeInfo>(TABLE.map((d) => [d.tf, d]));
// Python spellings users will type.
const ALIASES: Record<string, DType> = { float: 'float32', double: 'float64', half: 'float16', int: 'int32', long: 'int64' };

/** Whether `name` is a dtype this library knows. */
export function isDType(name: unknown): name is DType {
  return typeof name === 'string' && BY_NAME.has(name);
}

/** Canonical dtype for a name or alias (`'float'` → `'float32'`); throws TypeError for unknown names. */
export function canonicalDType(name: string): DType {
  if (typeof name === 'string') {
    if (BY_NAME.has(name)) return name as DType;
    if (Object.prototype.hasOwnProperty.call(ALIASES, name)) return ALIASES[name];
  }
  throw typeError(
    'ERR_INVALID_DTYPE',
    `unknown dtype ${typeof name === 'string' ? `'${name}'` : `${name === null ? 'null' : typeof name} (a dtype is a name such as 'float32')`}`,
  );
}

/** TF_DataType number of a dtype name. */
export function tfDataType(name: DType): number {
  return BY_NAME.get(name)!.tf;
}

/** TF_DataType of a reference type (`DT_FLOAT_REF` …) = its base type + this offset (TF's `kDataTypeRefOffset`). */
export const REF_DTYPE_OFFSET = 100;

/** Whether a TF_DataType number is a reference type of a known base type (TF1 `VariableV2` outputs). */
export function isRefDtype(value: number): boolean {
  return value > REF_DTYPE_OFFSET && BY_TF.has(value - REF_DTYPE_OFFSET);
}

/** The base TF_DataType of a reference type (`DT_FLOAT_REF` → `DT_FLOAT`); other values unchanged. */
export function baseDtype(value: number): number {
  return isRefDtype(value) ? value - REF_DTYPE_OFFSET : value;
}

/** Whether a TF_DataType number is a dtype this library knows, or a reference type of one. */
export function isKnownDtype(value: number): boolean {
  return BY_TF.has(value) || isRefDtype(value);
}

/** dtype name of a TF_DataType number (reference types, 101+, map to their base type). */
export function dtypeFromTf(value: number): DType {
  const info = BY_TF.get(baseDtype(value));
  if (!info) {
    throw typeError('ERR_INVALID_DTYPE', `unsupported TF_DataType ${value}`);
  }
  return info.name;
}

/** Typed array class that stores a dtype (undefined for string/resource/variant). */
export function storageOf(name: DType): TypedArrayCtor | undefined {
  return BY_NAME.get(name)!.array;
}

/** Typed-array elements per tensor element (2 for complex dtypes). */
export function elementsPerValue(name: DType): number {
  return BY_NAME.get(name)!.elementsPerValue;
}

/** Whether values of this dtype can be differentiated. */
export function isFloating(name: DType): boolean {
  return (
    name === 'float32' || name === 'float64' || name === 'float16' || name === 'bfloat16' || name === 'complex64' || name === 'complex128'
  );
}
