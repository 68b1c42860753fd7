// TensorFlow / TF Hub protocol buffers: generated message classes plus the project's parse boundary.
//
// int64 policy (decided here, once):
// - Decoded int64/uint64/sint64/fixed64 fields are `Long` objects (lossless; unset ones read as a Long zero
//   from the prototype). The generated types say `number | Long`, because encoders accept both.
// - Convert where a value is used: `toSafeNumber(v, what)` for counts, sizes, offsets and dims (throws a
//   RangeError naming `what` instead of rounding), `toBigInt(v)` for values (tensor int64_val, attr `i`,
//   hashes). Never call Long#toNumber(): it rounds silently.
// - To encode, pass safe integers as numbers, anything wider through `toLong(bigint)`.
// - Shapes cross the boundary through `dimsOf` / `shapeProto` only.
//
// Field names are protobufjs's camelCase of TensorFlow's snake_case (tensor_content -> tensorContent).
// Decoded `bytes` fields are views into the input buffer, not copies.
// The decode helpers below keep unknown fields ($unknowns) so that encode writes them back unchanged
// (protobufjs's own X.decode drops them).

import * as $protobuf from 'protobufjs/minimal';
import type Long from 'long';
import { TfhubError, rangeError, typeError } from '../errors';
import { google, tensorflow, tensorflow_hub } from './generated/tf';

export { google, tensorflow, tensorflow_hub };
export type { Long };

/** What the generated code accepts and yields for 64-bit integer fields. */
export type Int64 = number | Long;

// Decoding int64 without long.js would yield lossy numbers; make sure it is there before any decode.
if (!$protobuf.util.Long) {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    $protobuf.util.Long = require('long');
    $protobuf.configure();
  } catch {
    // reported below
  }
  if (!$protobuf.util.Long)
    throw new TfhubError(
      'ERR_ADDON_LOAD',
      'tfhub-node: protobufjs has no long.js; int64 fields would lose precision (reinstall the package)',
    );
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/** Malformed protocol buffer bytes (code `ERR_INVALID_PROTO`). `what` names the file or the thing being decoded. */
export class ProtoDecodeError extends TfhubError {
  /** The file or the thing that was being decoded, e.g. `'saved_model.pb'`. */
  readonly what: string;
  /** The expected message type, e.g. `'tensorflow.SavedModel'`. */
  readonly messageType: string;

  constructor(what: string, messageType: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_PROTO', `${what}: not a valid ${messageType} protocol buffer (${detail})`, options);
    this.what = what;
    this.messageType = messageType;
  }
}
Object.defineProperty(ProtoDecodeError.prototype, 'name', { value: 'ProtoDecodeError', writable: true, configurable: true });

// ---------------------------------------------------------------------------------------------------------
// 64-bit integers

type LongLike = { low: number; high: number; unsigned?: boolean };

function isLongLike(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

/**
 * Exact bigint of a 64-bit field value (null/undefined = proto3 default 0).
 * A number must be an integer; a Long keeps its signedness.
 */
export function toBigInt(v: number | bigint | Long | LongLike | null | undefined): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw rangeError('ERR_INVALID_PROTO', `toBigInt: ${v} is not an integer`);
    return BigInt(v);
  }
  if (isLongLike(v)) {
    const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return v.unsigned ? bits : BigInt.asIntN(64, bits);
  }
  throw typeError('ERR_INVALID_PROTO', `toBigInt: not an integer value: ${String(v)}`);
}

/**
 * `v` as a number, if it is exactly representable (a safe integer); otherwise a RangeError naming `what`.
 * null/undefined read as the proto3 default 0.
 */
export function toSafeNumber(v: number | bigint | Long | LongLike | null | undefined, what: string): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    throw rangeError('ERR_INVALID_PROTO', `${what}: ${v} is not a safe integer`);
  }
  let b: bigint;
  try {
    b = toBigInt(v);
  } catch (e) {
    throw rangeError('ERR_INVALID_PROTO', `${what}: ${(e as Error).message}`);
  }
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw rangeError('ERR_INVALID_PROTO', `${what}: ${b} does not fit a JavaScript number exactly`);
  }
  return Number(b);
}

/** A Long for encoding a 64-bit field (signed unless `unsigned`); throws a RangeError if out of range. */
export function toLong(v: number | bigint | Long | LongLike, unsigned = false): Long {
  const b = toBigInt(v);
  if (unsigned ? b < 0n || b >= 1n << 64n : b < -(1n << 63n) || b >= 1n << 63n) {
    throw rangeError('ERR_OUT_OF_RANGE', `toLong: ${b} is out of range for ${unsigned ? 'uint64' : 'int64'}`);
  }
  const bits = BigInt.asUintN(64, b);
  const LongCtor = $protobuf.util.Long as unknown as typeof Long;
  return LongCtor.fromBits(Number(bits & 0xffffffffn) | 0, Number(bits >> 32n) | 0, unsigned);
}

/** The enum name of a DataType value (`DT_FLOAT`), as protobuf's text and JSON printers write it; the number for an unknown value. */
export function dataTypeName(value: number | null | undefined): string {
  return (tensorflow.DataType as unknown as Record<number, string>)[value ?? 0] ?? String(value);
}

// ---------------------------------------------------------------------------------------------------------
// Shapes

/**
 * Dimensions of a TensorShapeProto: null = unknown rank, -1 = unknown dimension.
 * An absent shape is the default message, i.e. a scalar ([]), as in TensorFlow.
 */
export function dimsOf(shape?: tensorflow.TensorShapeProto.$Properties | null, what = 'shape'): number[] | null {
  if (!shape) return [];
  if (shape.unknownRank) return null;
  const dims = shape.dim ?? [];
  return dims.map((d, i) => {
    const n = toSafeNumber(d?.size, `${what} dim ${i}`);
    if (n < -1) throw rangeError('ERR_INVALID_PROTO', `${what} dim ${i}: ${n} is not a size (-1 = unknown)`);
    return n;
  });
}

/** A TensorShapeProto for `dims` (null = unknown rank, -1 = unknown dimension). */
export function shapeProto(dims: readonly number[] | null): tensorflow.TensorShapeProto {
  if (dims === null) return tensorflow.TensorShapeProto.create({ unknownRank: true });
  return tensorflow.TensorShapeProto.create({
    dim: dims.map((d, i) => {
      if (!Number.isSafeInteger(d) || d < -1) throw rangeError('ERR_INVALID_SHAPE', `shapeProto: dim ${i} is ${d}, not an integer >= -1`);
      return tensorflow.TensorShapeProto.Dim.create({ size: d });
    }),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Decoding / encoding

/** The static side of a generated message class. */
export interface MessageType<T> {
  decode(reader: $protobuf.Reader | Uint8Array, length?: number): T;
  encode(message: never, writer?: $protobuf.Writer): $protobuf.Writer;
  getTypeUrl(prefix?: string): string;
}

/** Full protobuf name of a generated message class, e.g. "tensorflow.GraphDef". */
export function messageTypeName(type: Pick<MessageType<unknown>, 'getTypeUrl'>): string {
  return type.getTypeUrl('').replace(/^\//, '');
}

/**
 * Decodes `bytes` as `type`, keeping unknown fields. Malformed input (truncated, wrong wire types, bad UTF-8, nesting deeper than
 * protobufjs's recursion limit, anything else protobufjs throws) becomes a ProtoDecodeError naming `what`.
 */
export function decodeMessage<T>(type: Pick<MessageType<T>, 'decode' | 'getTypeUrl'>, bytes: Uint8Array, what: string): T {
  if (!(bytes instanceof Uint8Array)) {
    throw typeError('ERR_INVALID_ARG_TYPE', `${what}: expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  }
  try {
    const reader = $protobuf.Reader.create(bytes);
    reader.discardUnknown = false;
    return type.decode(reader);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new ProtoDecodeError(what, messageTypeName(type), detail, { cause: e });
  }
}

/** Serializes a message (or plain object of its properties) of `type`. */
export function encodeMessage<P>(type: { encode(message: P, writer?: $protobuf.Writer): $protobuf.Writer }, message: P): Uint8Array {
  return type.encode(message).finish();
}

/**
 * Decodes a google.protobuf.Any holding `type`; ProtoDecodeError if its type_url names another message.
 */
export function unpackAny<T>(
  any: google.protobuf.Any.$Properties | null | undefined,
  type: Pick<MessageType<T>, 'decode' | 'getTypeUrl'>,
  what: string,
): T {
  const expected = messageTypeName(type);
  const url = any?.typeUrl ?? '';
  const got = url.slice(url.lastIndexOf('/') + 1);
  if (got !== expected) {
    throw new ProtoDecodeError(what, expected, `google.protobuf.Any holds '${url || '(nothing)'}'`);
  }
  return decodeMessage(type, any?.value ?? new Uint8Array(0), what);
}

type Decoded<C> = C extends { decode(reader: $protobuf.Reader | Uint8Array, length?: number): infer T } ? T : never;

function decoder<C extends Pick<MessageType<unknown>, 'decode' | 'getTypeUrl'>>(type: C, defaultWhat: string) {
  return (bytes: Uint8Array, what: string = defaultWhat): Decoded<C> => decodeMessage(type, bytes, what) as Decoded<C>;
}

function encoder<P>(type: { encode(message: P, writer?: $protobuf.Writer): $protobuf.Writer }) {
  return (message: P): Uint8Array => encodeMessage(type, message);
}

/** saved_model.pb */
export const decodeSavedModel = decoder(tensorflow.SavedModel, 'saved_model.pb');
export const encodeSavedModel = encoder(tensorflow.SavedModel);
/** tfhub_module.pb */
export const decodeModuleDef = decoder(tensorflow_hub.ModuleDef, 'tfhub_module.pb');
export const encodeModuleDef = encoder(tensorflow_hub.ModuleDef);
/** Entries of the "hub_module_attachments" collection. */
export const decodeModuleAttachment = decoder(tensorflow_hub.ModuleAttachment, 'module attachment');
export const encodeModuleAttachment = encoder(tensorflow_hub.ModuleAttachment);
export const decodeGraphDef = decoder(tensorflow.GraphDef, 'GraphDef');
export const encodeGraphDef = encoder(tensorflow.GraphDef);
/** Entries of the TF1 "variables" / "trainable_variables" collections. */
export const decodeVariableDef = decoder(tensorflow.VariableDef, 'VariableDef');
export const encodeVariableDef = encoder(tensorflow.VariableDef);
/** The "_CHECKPOINTABLE_OBJECT_GRAPH" string tensor of a TF2 checkpoint. */
export const decodeTrackableObjectGraph = decoder(tensorflow.TrackableObjectGraph, 'TrackableObjectGraph');
/** Value of the empty key of a checkpoint's .index table. */
export const decodeBundleHeader = decoder(tensorflow.BundleHeaderProto, 'checkpoint index header');
/** Value of a tensor's key in a checkpoint's .index table. */
export const decodeBundleEntry = decoder(tensorflow.BundleEntryProto, 'checkpoint index entry');
/** For TF_SetConfig. */
export const encodeConfigProto = encoder(tensorflow.ConfigProto);
