/**
 * JSON values ⇄ Tensors as TF Serving's REST API converts them (util/json_tensor.cc): nested lists give the
 * shape, leaves are checked against the signature's dtype (`{"b64": …}` for strings), and outputs are written
 * back with TF Serving's number formatting (floats shortest-round-trip with a trailing `.0`, int64 exact,
 * `NaN`/`Infinity` tokens, `_bytes` outputs as `{"b64": …}`).
 */
import { DType } from '../../dtypes';
import { InvalidArgumentError, TFError, UnimplementedError } from '../../errors';
import { dtypeFromTf } from '../../dtypes';
import { Tensor } from '../../tensor';
import { JsonDecimal, JsonValue, jsonDebugString, jsonTypeName } from './json';

/** TensorFlow's DataTypeString for the dtypes JSON can carry. */
const TF_TYPE_NAME: Partial<Record<DType, string>> = {
  float32: 'float',
  float64: 'double',
  int32: 'int32',
  int16: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  int64: 'int64',
  uint32: 'uint32',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
  float16: 'half',
  bfloat16: 'bfloat16',
  uint16: 'uint16',
};

const INT_RANGE: Partial<Record<DType, [bigint, bigint]>> = {
  int8: [-(2n ** 31n), 2n ** 31n - 1n],
  int16: [-(2n ** 31n), 2n ** 31n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint8: [-(2n ** 31n), 2n ** 31n - 1n],
  uint16: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** The dtype of a proto DataType enum value (TensorInfo.dtype). */
export function dtypeOfEnum(v: number | null | undefined): DType {
  return dtypeFromTf(v ?? 0);
}

/** Whether `v` is `{"b64": "<string>"}` and nothing else. */
export function isBase64Object(v: JsonValue): v is { b64: string } {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    !(v instanceof JsonDecimal) &&
    Object.keys(v).length === 1 &&
    typeof (v as Record<string, JsonValue>).b64 === 'string'
  );
}

function decodeBase64(v: JsonValue): Uint8Array {
  if (!isBase64Object(v)) throw new InvalidArgumentError(`JSON Value: ${jsonDebugString(v)} not formatted correctly for base64 data`);
  const s = v.b64;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) throw new InvalidArgumentError('Unable to base64 decode');
  return new Uint8Array(Buffer.from(s, 'base64'));
}

function typeError(v: JsonValue, dtype: DType): TFError {
  return new InvalidArgumentError(
    `JSON Value: ${jsonDebugString(v)} Type: ${jsonTypeName(v)} is not of expected type: ${TF_TYPE_NAME[dtype] ?? dtype}`,
  );
}

/** One leaf converted to the dtype's element (number, bigint, boolean or bytes), or a TF Serving type error. */
function leaf(v: JsonValue, dtype: DType): number | bigint | boolean | Uint8Array | string {
  switch (dtype) {
    case 'float32':
    case 'float64':
    case 'float16':
    case 'bfloat16':
      if (typeof v === 'number') return v;
      if (v instanceof JsonDecimal) return v.value;
      if (typeof v === 'bigint') return Number(v);
      throw typeError(v, dtype);
    case 'bool':
      if (typeof v === 'boolean') return v;
      throw typeError(v, dtype);
    case 'string':
      if (typeof v === 'string') return v;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonDecimal)) return decodeBase64(v);
      throw typeError(v, dtype);
    default: {
      const range = INT_RANGE[dtype];
      if (!range) throw new UnimplementedError(`Conversion of JSON Value: ${jsonDebugString(v)} to type: ${TF_TYPE_NAME[dtype] ?? dtype}`);
      if (typeof v === 'number' && Number.isInteger(v)) {
        if (BigInt(v) < range[0] || BigInt(v) > range[1]) throw typeError(v, dtype);
        return dtype === 'int64' || dtype === 'uint64' ? BigInt(v) : v;
      }
      if (typeof v === 'bigint') {
        if (v < range[0] || v > range[1]) throw typeError(v, dtype);
        return dtype === 'int64' || dtype === 'uint64' ? v : Number(v);
      }
      throw typeError(v, dtype);
    }
  }
}

/** The shape TF Serving reads off a JSON value: the lengths of the first element at each depth. */
export function denseShape(v: JsonValue): number[] {
  const shape: number[] = [];
  for (let p: JsonValue = v; Array.isArray(p); p = p[0]) {
    shape.push(p.length);
    if (p.length === 0) break;
  }
  return shape;
}

/** Flattens `v` into `out` checking it is rectangular for `shape` (TF Serving's FillTensorProto messages). */
function fill(v: JsonValue, level: number, shape: number[], dtype: DType, out: unknown[]): void {
  if (!Array.isArray(v)) {
    if (level !== shape.length) {
      throw new InvalidArgumentError(
        `JSON Value: ${jsonDebugString(v)} found at incorrect level: ${level + 1} in the JSON DOM. Expected at level: ${shape.length}`,
      );
    }
    out.push(leaf(v, dtype));
    return;
  }
  if (level >= shape.length) throw new InvalidArgumentError(`Encountered list at unexpected level: ${level} expected < ${shape.length}`);
  if (v.length !== shape[level]) {
    throw new InvalidArgumentError(`Encountered list at unexpected size: ${v.length} at level: ${level} expected size: ${shape[level]}`);
  }
  for (const x of v) fill(x, level + 1, shape, dtype, out);
}

/** Flat elements and shape of one JSON value for `dtype` (the value of one input, or of one instance). */
export function jsonToElements(v: JsonValue, dtype: DType): { shape: number[]; values: unknown[] } {
  const shape = denseShape(v);
  const values: unknown[] = [];
  fill(v, 0, shape, dtype, values);
  return { shape, values };
}

/** A Tensor from flat elements. */
export function makeTensor(dtype: DType, shape: number[], values: unknown[]): Tensor {
  return new Tensor(dtype, shape, values as never);
}

/**
 * `printf("%.{precision}g")` of the digits of `exp` (`x.toExponential(precision - 1)`): one number formatting
 * per value and no regular expressions (this runs once per output element of every response).
 */
function formatG(exp: string, precision: number): string {
  const e = exp.indexOf('e');
  const neg = exp.charCodeAt(0) === 45;
  const power = Number(exp.slice(e + 1));
  // The significant digits without sign and point, trailing zeros dropped (%g drops them).
  let digits =
    exp.length > 2 && exp.charCodeAt(neg ? 2 : 1) === 46
      ? exp.slice(neg ? 1 : 0, neg ? 2 : 1) + exp.slice(neg ? 3 : 2, e)
      : exp.slice(neg ? 1 : 0, e);
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(0, end);
  const sign = neg ? '-' : '';
  if (power < -4 || power >= precision) {
    const abs = power < 0 ? -power : power;
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${power < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  if (power < 0) return `${sign}0.${'0'.repeat(-power - 1)}${digits}`;
  if (digits.length <= power + 1) return sign + digits + '0'.repeat(power + 1 - digits.length);
  return `${sign}${digits.slice(0, power + 1)}.${digits.slice(power + 1)}`;
}

/** A float as TF Serving writes it: 6 significant digits when that round-trips, else 9 (float) / 17 (double); `.0` on whole numbers. */
export function formatDecimal(x: number, single: boolean): string {
  if (x !== x) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  let precision = 6;
  let exp = x.toExponential(5);
  const back = Number(exp);
  if ((single ? Math.fround(back) : back) !== x) {
    precision = single ? 9 : 17;
    exp = x.toExponential(precision - 1);
  }
  const s = formatG(exp, precision);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 || c === 101) return s;
  }
  return `${s}.0`;
}

/** Writes the elements of a tensor as JSON text, one writer per element kind. */
export function elementWriter(t: Tensor, asBytes: boolean): (i: number) => string {
  const dtype = t.dtype;
  if (dtype === 'string') {
    const items = t.bytes();
    return asBytes
      ? (i) => `{"b64": "${Buffer.from(items[i].buffer, items[i].byteOffset, items[i].byteLength).toString('base64')}"}`
      : (i) => JSON.stringify(Buffer.from(items[i].buffer, items[i].byteOffset, items[i].byteLength).toString('utf8'));
  }
  if (dtype === 'float32' || dtype === 'float64') {
    const data = t.data() as Float32Array | Float64Array;
    const single = dtype === 'float32';
    return (i) => formatDecimal(data[i], single);
  }
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const flat = (t.array() as unknown[]).flat(Infinity) as number[];
    return (i) => formatDecimal(flat[i], true);
  }
  if (dtype === 'bool') {
    const data = t.data() as Uint8Array;
    return (i) => (data[i] ? 'true' : 'false');
  }
  if (dtype in INT_RANGE) {
    const data = t.data() as unknown as ArrayLike<number | bigint>;
    return (i) => String(data[i]);
  }
  throw new InvalidArgumentError(`Failed to write JSON value for tensor type: ${TF_TYPE_NAME[dtype] ?? dtype}`);
}

/**
 * The JSON text of a tensor from dimension `fromDim` on, for elements starting at `offset` (a row of a row-format
 * response starts at dimension 1). Returns the text and the offset after it.
 */
export function tensorJson(shape: number[], write: (i: number) => string, fromDim: number, offset: number): [string, number] {
  if (fromDim >= shape.length) return [write(offset), offset + 1];
  const parts: string[] = [];
  let at = offset;
  for (let k = 0; k < shape[fromDim]; k++) {
    const [s, next] = tensorJson(shape, write, fromDim + 1, at);
    parts.push(s);
    at = next;
  }
  return [`[${parts.join(', ')}]`, at];
}
