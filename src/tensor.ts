/** `Tensor`: an immutable n-dimensional array held in TensorFlow memory. */
import { DataTypeMap, DType, canonicalDType, elementsPerValue, dtypeFromTf, storageOf, tfDataType } from './dtypes';
import { rangeError, typeError } from './errors';
import { NativeTensor, binding, isNativeTensor } from './native';
import { MAX_RANK } from './shape';

/** Values accepted for a tensor's data: the dtype's typed array, or plain JS values converted to it. */
export type TensorData<D extends DType> =
  DataTypeMap[D] | (D extends 'string' ? Array<string | Uint8Array> : never) | ReadonlyArray<number | bigint | boolean>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function checkShape(shape: readonly number[]): number {
  if (!Array.isArray(shape)) throw typeError('ERR_INVALID_SHAPE', 'shape must be an array of non-negative integers');
  if (shape.length > MAX_RANK)
    throw rangeError('ERR_INVALID_SHAPE', `shape has ${shape.length} dimensions, more than TensorFlow's maximum rank ${MAX_RANK}`);
  let size = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw typeError('ERR_INVALID_SHAPE', `invalid dimension ${String(d)} in shape [${shape.join(', ')}]`);
    size *= d;
  }
  if (!Number.isSafeInteger(size)) throw rangeError('ERR_INVALID_SHAPE', `shape [${shape.join(', ')}] is too large`);
  return size;
}

function toTypedArray(dtype: DType, values: ReadonlyArray<number | bigint | boolean>): ArrayBufferView {
  const Storage = storageOf(dtype)!;
  if (Storage === BigInt64Array || Storage === BigUint64Array) {
    const out = new Storage(values.length);
    const [min, max] = Storage === BigInt64Array ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    values.forEach((v, i) => {
      if (typeof v === 'bigint') {
        // A typed array store would wrap silently (2n**64n + 5n becomes 5n).
        if (v < min || v > max) throw rangeError('ERR_OUT_OF_RANGE', `${dtype} element ${i} is out of range [${min}, ${max}]: ${v}`);
        out[i] = v;
      } else if (typeof v === 'number' && Number.isSafeInteger(v) && v < 0 && Storage === BigUint64Array) {
        throw rangeError('ERR_OUT_OF_RANGE', `${dtype} element ${i} is out of range [0, ${max}]: ${v}`);
      } else if (typeof v === 'number' && Number.isSafeInteger(v)) out[i] = BigInt(v);
      else throw typeError('ERR_INVALID_ARG_TYPE', `${dtype} element ${i} must be a bigint or a safe integer, got ${String(v)}`);
    });
    return out;
  }
  const out = new (Storage as Float64ArrayConstructor)(values.length);
  if (dtype === 'bool') {
    // TF bools are one byte that must be 0 or 1 (anything else is undefined behaviour in C++ kernels).
    values.forEach((v, i) => {
      out[i] = v ? 1 : 0;
    });
    return out;
  }
  // Numbers become the dtype's values, never its raw storage: 1.5 as float16 is 0x3E00, and an integer dtype
  // refuses what it cannot hold instead of wrapping or truncating it (Python's tf.constant refuses them too).
  const encode = dtype === 'float16' ? float16Bits : dtype === 'bfloat16' ? bfloat16Bits : null;
  const range = encode ? undefined : INTEGER_RANGES.get(Storage);
  values.forEach((v, i) => {
    let x: number;
    if (typeof v === 'number') x = v;
    else if (typeof v === 'boolean') x = v ? 1 : 0;
    else if (typeof v === 'bigint') x = Number(v);
    else throw typeError('ERR_INVALID_ARG_TYPE', `${dtype} element ${i} must be a number, got ${typeof v}`);
    if (encode) x = encode(x);
    else if (range) {
      if (!Number.isInteger(x)) throw typeError('ERR_INVALID_ARG_TYPE', `${dtype} element ${i} must be an integer, got ${x}`);
      if (x < range[0] || x > range[1])
        throw rangeError('ERR_OUT_OF_RANGE', `${dtype} element ${i} is out of range [${range[0]}, ${range[1]}]: ${x}`);
    }
    out[i] = x;
  });
  return out;
}

const INTEGER_RANGES = new Map<unknown, [number, number]>([
  [Int8Array, [-(2 ** 7), 2 ** 7 - 1]],
  [Uint8Array, [0, 2 ** 8 - 1]],
  [Int16Array, [-(2 ** 15), 2 ** 15 - 1]],
  [Uint16Array, [0, 2 ** 16 - 1]],
  [Int32Array, [-(2 ** 31), 2 ** 31 - 1]],
  [Uint32Array, [0, 2 ** 32 - 1]],
]);

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer); // [low, high] on little-endian hosts
const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);
const HIGH = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;

/** IEEE half-precision bits of `v`, rounded to nearest even straight from the double (as numpy casts). */
export function float16Bits(v: number): number {
  f64[0] = v;
  const hi = f64Words[HIGH];
  const lo = f64Words[1 - HIGH];
  const sign = (hi >>> 16) & 0x8000;
  const exp = (hi >>> 20) & 0x7ff;
  if (exp === 0x7ff) return sign | 0x7c00 | ((hi & 0xfffff) !== 0 || lo !== 0 ? 0x200 : 0); // ±inf, NaN
  const e = exp - 1023 + 15; // the half's biased exponent
  if (e >= 31) return sign | 0x7c00; // overflow: ±inf
  if (e < -10) return sign; // below half the smallest subnormal: ±0
  const mantissa = (hi & 0xfffff) * 2 ** 32 + lo; // 52 bits, exact in a double
  // Normal halves keep the top 10 mantissa bits; subnormals shift the implicit 1 in as well.
  const m = e > 0 ? mantissa : mantissa + 2 ** 52;
  const shift = e > 0 ? 42 : 43 - e;
  let q = Math.floor(m / 2 ** shift);
  const rest = m - q * 2 ** shift;
  const halfway = 2 ** (shift - 1);
  if (rest > halfway || (rest === halfway && q % 2 === 1)) q += 1;
  return sign | (e > 0 ? (e << 10) + q : q); // a carry out of the mantissa correctly bumps the exponent
}

/** The number that IEEE half-precision `bits` encode. */
export function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exp === 0) return sign * mantissa * 2 ** -24;
  if (exp === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exp - 15);
}

/** The number that bfloat16 `bits` encode (the upper half of a float32). */
export function bfloat16Value(bits: number): number {
  f32Bits[0] = (bits & 0xffff) * 0x10000;
  return f32[0];
}

/** bfloat16 bits of `v`: the float32 value rounded to nearest even in its upper 16 bits (TF's conversion). */
export function bfloat16Bits(v: number): number {
  f32[0] = v;
  const x = f32Bits[0];
  if (Number.isNaN(v)) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return Math.floor((x + 0x7fff + ((x >>> 16) & 1)) / 0x10000) & 0xffff;
}

/** Options of `new Tensor(dtype, shape, data, options)`. */
export interface TensorOptions {
  /**
   * `false`: let TensorFlow use the typed array's memory directly instead of copying it (large inputs). The array
   * must then not be modified, transferred or resized while the tensor (or anything TF made from it) lives; it is
   * kept referenced until TF releases the buffer. Views over SharedArrayBuffers or resizable buffers, and arrays
   * TF cannot use in place (TF needs 64-byte-aligned memory; V8 only promises 16), are copied anyway. Default: copy.
   */
  copy?: boolean;
}

/** Whether TF may alias a typed array's memory: a plain, fixed-length ArrayBuffer. */
function canShare(view: ArrayBufferView): boolean {
  const buffer = view.buffer as ArrayBuffer & { resizable?: boolean };
  return buffer instanceof ArrayBuffer && buffer.resizable !== true && view.byteLength > 0;
}

/**
 * An n-dimensional array in TensorFlow memory. Creating one copies `data` once into TF; `data()` copies out.
 * Call `dispose()` (or use `using`) to free the memory at once; otherwise it is freed on garbage collection.
 */
export class Tensor<D extends DType = DType> {
  /** @internal */
  readonly native: NativeTensor;
  private _dtype: D | undefined;
  private _shape: number[] | undefined;

  /**
   * @param dtype element type, e.g. `'float32'`, `'int64'`, `'string'`
   * @param shape dimensions, e.g. `[2, 3]`; `[]` for a scalar
   * @param data the elements in row-major order: the dtype's typed array (Float32Array for float32, BigInt64Array
   *   for int64, Uint16Array for float16/bfloat16 bits, interleaved Float32Array for complex64, …), a plain array
   *   of numbers/bigints/booleans, or for `string` an array of strings or byte arrays.
   * @throws RangeError (`ERR_INVALID_DATA_LENGTH`) when the element count does not match the shape.
   */
  constructor(dtype: D, shape: readonly number[], data: TensorData<D>, options?: TensorOptions);
  /** @internal wraps a tensor returned by TensorFlow */
  constructor(native: NativeTensor);
  constructor(dtypeOrNative: D | NativeTensor, shape?: readonly number[], data?: TensorData<D>, options?: TensorOptions) {
    if (isNativeTensor(dtypeOrNative)) {
      // A handle TensorFlow returned. An object that only borrowed the class's prototype is refused by V8's
      // receiver check on any method call: make that call here, not at the first use of a half-built Tensor.
      try {
        dtypeOrNative.isDisposed();
      } catch (e) {
        throw Object.assign(typeError('ERR_INVALID_HANDLE', 'new Tensor(handle): not a tensor handle of the addon'), { cause: e });
      }
      this.native = dtypeOrNative;
      return;
    }
    if (typeof dtypeOrNative !== 'string') {
      throw typeError(
        'ERR_INVALID_DTYPE',
        `new Tensor(dtype, shape, data): dtype must be a dtype name such as 'float32', got ${dtypeOrNative === null ? 'null' : typeof dtypeOrNative}`,
      );
    }
    const dtype = canonicalDType(dtypeOrNative) as D;
    const size = checkShape(shape as readonly number[]);
    if (dtype === 'resource' || dtype === 'variant') throw typeError('ERR_INVALID_DTYPE', `cannot create ${dtype} tensors from data`);
    if (dtype === 'string') {
      if (!Array.isArray(data)) throw typeError('ERR_INVALID_ARG_TYPE', 'string tensor data must be an array of strings or Uint8Arrays');
      if (size > MAX_NESTED_ELEMENTS)
        throw rangeError(
          'ERR_VALUE_TOO_LARGE',
          `string tensors hold at most ${MAX_NESTED_ELEMENTS} elements, shape [${shape!.join(', ')}] has ${size}`,
        );
      if (data.length !== size)
        throw rangeError('ERR_INVALID_DATA_LENGTH', `shape [${shape!.join(', ')}] needs ${size} strings, got ${data.length}`);
      const items = (data as Array<unknown>).map((s, i) => {
        if (typeof s === 'string') return encoder.encode(s);
        if (s instanceof Uint8Array) return s;
        throw typeError('ERR_INVALID_ARG_TYPE', `string element ${i} must be a string or Uint8Array`);
      });
      this.native = binding().Tensor.fromStrings(shape as number[], items);
    } else {
      const Storage = storageOf(dtype)!;
      let view: ArrayBufferView;
      if (ArrayBuffer.isView(data)) {
        if (!(data instanceof Storage)) {
          throw typeError('ERR_INVALID_ARG_TYPE', `${dtype} data must be a ${Storage.name}, got ${data.constructor.name}`);
        }
        view = data;
      } else if (Array.isArray(data)) {
        // The length first: converting a huge (or lying) array-like would walk it before the shape check.
        const expected = size * elementsPerValue(dtype);
        if (expected > MAX_NESTED_ELEMENTS)
          throw rangeError(
            'ERR_VALUE_TOO_LARGE',
            `${dtype} data of ${expected} values: plain arrays convert at most ${MAX_NESTED_ELEMENTS}; pass a ${Storage.name}`,
          );
        if (data.length !== expected) {
          throw rangeError(
            'ERR_INVALID_DATA_LENGTH',
            `shape [${shape!.join(', ')}] of ${dtype} needs ${expected} values, got ${data.length}`,
          );
        }
        view = toTypedArray(dtype, data as unknown as ReadonlyArray<number | bigint | boolean>);
      } else {
        throw typeError('ERR_INVALID_ARG_TYPE', `${dtype} data must be a ${Storage.name} or an array`);
      }
      if (dtype === 'bool' && (view as Uint8Array).some((b) => b > 1)) {
        throw rangeError('ERR_INVALID_ARG_VALUE', 'bool data must hold only 0 and 1');
      }
      const expected = size * elementsPerValue(dtype);
      const got = (view as unknown as { length: number }).length;
      if (got !== expected) {
        throw rangeError('ERR_INVALID_DATA_LENGTH', `shape [${shape!.join(', ')}] of ${dtype} needs ${expected} values, got ${got}`);
      }
      this.native =
        options?.copy === false && canShare(view)
          ? binding().Tensor.fromDataNoCopy(tfDataType(dtype), shape as number[], view)
          : binding().Tensor.fromData(tfDataType(dtype), shape as number[], view);
    }
    this._dtype = dtype;
    this._shape = [...shape!];
  }

  /** Element type. */
  get dtype(): D {
    return (this._dtype ??= dtypeFromTf(this.native.dtype()) as D);
  }

  /** Dimensions (a copy). */
  get shape(): number[] {
    return [...(this._shape ??= this.native.shape())];
  }

  /** Rank (number of dimensions). */
  get rank(): number {
    return (this._shape ??= this.native.shape()).length;
  }

  /** Number of elements. */
  get size(): number {
    return (this._shape ??= this.native.shape()).reduce((a, b) => a * b, 1);
  }

  /** Whether dispose() was called. */
  get isDisposed(): boolean {
    return this.native.isDisposed();
  }

  /** A copy of the elements as the dtype's typed array (strings: their bytes, as `bytes()`). */
  data(): DataTypeMap[D] {
    const dtype = this.dtype;
    if (dtype === 'string') return this.bytes() as DataTypeMap[D];
    const Storage = storageOf(dtype);
    if (!Storage) throw typeError('ERR_INVALID_DTYPE', `${dtype} tensors have no readable data`);
    return new (Storage as Float64ArrayConstructor)(this.native.data()) as unknown as DataTypeMap[D];
  }

  /** Elements of a string tensor, UTF-8 decoded. */
  strings(): string[] {
    return this.native.strings().map((b) => decoder.decode(b));
  }

  /** Elements of a string tensor as raw bytes (binary-safe). */
  bytes(): Uint8Array[] {
    return this.native.strings().map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }

  /**
   * The elements as a nested JS array of numbers / bigints / booleans / strings (complex elements as
   * `[real, imaginary]` pairs; float16/bfloat16 decoded to numbers, as Python's `.numpy().tolist()` gives them).
   */
  array(): unknown {
    const dtype = this.dtype;
    let flat: unknown[];
    if (dtype === 'string') flat = this.strings();
    else if (dtype === 'bool') flat = Array.from(this.data() as Uint8Array, (v) => v !== 0);
    else if (elementsPerValue(dtype) === 2) {
      // complex: one [real, imaginary] pair per element
      const d = this.data() as Float32Array | Float64Array;
      flat = Array.from({ length: d.length / 2 }, (_, i) => [d[2 * i], d[2 * i + 1]]);
    } else if (dtype === 'float16') flat = Array.from(this.data() as Uint16Array, float16Value);
    else if (dtype === 'bfloat16') flat = Array.from(this.data() as Uint16Array, bfloat16Value);
    else flat = Array.from(this.data() as ArrayLike<number>);
    const shape = this.shape;
    if (shape.length === 0) return flat[0];
    const build = (dim: number, offset: number): [unknown[], number] => {
      const out: unknown[] = [];
      for (let i = 0; i < shape[dim]; i++) {
        if (dim === shape.length - 1) out.push(flat[offset++]);
        else {
          const [sub, next] = build(dim + 1, offset);
          out.push(sub);
          offset = next;
        }
      }
      return [out, offset];
    };
    return build(0, 0)[0];
  }

  /** Frees the TensorFlow memory now (deferred while a session run is using it). Idempotent. */
  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A short description for logs, e.g. `Tensor(float32, [2, 3])`. */
  toString(): string {
    return this.isDisposed ? 'Tensor(disposed)' : `Tensor(${this.dtype}, [${this.shape.join(', ')}])`;
  }
}

/** The most elements `tensor()` and feeds convert from nested JS arrays (a guard, checked before any walk). */
const MAX_NESTED_ELEMENTS = 2 ** 31 - 1;

/**
 * @internal
 * The shape and row-major elements of nested JS arrays, or why they are not a tensor value: every array at one
 * depth must have the same length and the leaves must all sit at the same depth (Python: "Can't convert
 * non-rectangular Python sequence to Tensor").
 */
export function flattenNested(values: unknown): { shape: number[]; flat: unknown[] } | string {
  const shape: number[] = [];
  let elements = 1;
  for (let p: unknown = values; Array.isArray(p); p = p[0]) {
    shape.push(p.length);
    if (shape.length > MAX_RANK) return `nested arrays deeper than TensorFlow's maximum rank ${MAX_RANK}`;
    elements *= p.length;
    // Sizes before walking: `new Array(2**32 - 1)` (or a Proxy claiming a huge length) must not be walked.
    if (elements > MAX_NESTED_ELEMENTS)
      throw rangeError(
        'ERR_VALUE_TOO_LARGE',
        `nested arrays of shape [${shape.join(', ')}${Array.isArray(p[0]) ? ', …' : ''}] hold more than ${MAX_NESTED_ELEMENTS} elements`,
      );
    if (p.length === 0) break;
  }
  const flat: unknown[] = [];
  const walk = (v: unknown, depth: number, at: string): string | null => {
    if (depth === shape.length) {
      if (Array.isArray(v)) return `non-rectangular nested arrays: ${at} is an array where a value was expected`;
      flat.push(v);
      return null;
    }
    if (!Array.isArray(v)) return `non-rectangular nested arrays: ${at} is a value where an array of ${shape[depth]} was expected`;
    if (v.length !== shape[depth]) return `non-rectangular nested arrays: ${at} has ${v.length} elements, expected ${shape[depth]}`;
    for (let i = 0; i < v.length; i++) {
      const why = walk(v[i], depth + 1, `${at}[${i}]`);
      if (why) return why;
    }
    return null;
  };
  const why = walk(values, 0, 'values');
  return why ?? { shape, flat };
}

/**
 * @internal
 * A 1-D tensor of `dtype` from a typed array, as feeds and inputs take them: the dtype's own array class is used
 * as is; another numeric class is converted value by value with the same checks as a plain array (Python's
 * feeds convert, e.g. a float64 array fed to a float32 placeholder).
 */
export function tensorFromView(dtype: DType, view: ArrayBufferView): Tensor {
  const length = (view as unknown as { length?: number }).length;
  if (view instanceof DataView || length === undefined) throw typeError('ERR_INVALID_ARG_TYPE', `a ${dtype} value cannot be a DataView`);
  const Storage = storageOf(dtype);
  if (!Storage || view instanceof Storage || dtype === 'string') return new Tensor(dtype, [length], view as never);
  return new Tensor(dtype, [length], Array.from(view as unknown as ArrayLike<number | bigint>) as never);
}

/** Builds a Tensor from JS values, inferring the shape from nested arrays (dtype float32 unless given). */
export function tensor(values: unknown, dtype?: DType, shape?: number[]): Tensor {
  const nested = flattenNested(values);
  if (typeof nested === 'string') throw typeError('ERR_INVALID_ARG_VALUE', `tensor(values): ${nested}`);
  const probe = nested.flat[0];
  const dt: DType =
    dtype ?? (typeof probe === 'string' ? 'string' : typeof probe === 'boolean' ? 'bool' : typeof probe === 'bigint' ? 'int64' : 'float32');
  return new Tensor(dt, shape ?? nested.shape, nested.flat as never);
}
