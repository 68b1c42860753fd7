// PredictResponse at the wire level, for the gRPC Predict answer: the same bytes protobufjs writes for
// `{ outputs: { alias: tensorToProto(t) }, modelSpec }` (fields in number order, map entries in key order, proto3
// scalars left out when they hold their default: 0, ''), without building the intermediate objects. float32/float64/complex tensors are
// packed `*_val` fields whose payload is the tensor's little-endian memory, copied once; the other dtypes are
// encoded by protobufjs as before.

import * as os from 'node:os';
import * as protobuf from 'protobufjs';
import type { DType } from '../../dtypes';
import { tfDataType } from '../../dtypes';
import type { Tensor } from '../../tensor';
import { encodeMessage, servingTypes } from '../proto';
import { tensorToProto } from './tensor_proto';

/** TensorProto field numbers of the packed floating-point `*_val` fields. */
const RAW_FIELD: Partial<Record<DType, number>> = { float32: 5, float64: 6, complex64: 9, complex128: 12 };

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Bytes of `v` (a non-negative safe integer) as a varint. */
function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 128) {
    buf[pos++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** A length-delimited field's total size: tag, length, payload. */
function fieldSize(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

/** A varint field's total size (0 when `v` is 0: proto3 leaves defaults out). */
function varintFieldSize(v: number): number {
  return v === 0 ? 0 : 1 + varintSize(v);
}

function writeVarintField(buf: Uint8Array, pos: number, tag: number, v: number): number {
  if (v === 0) return pos;
  buf[pos++] = tag;
  return writeVarint(buf, pos, v);
}

/** The TensorProto bytes of `t` (typed `*_val` fields, as TF Serving answers), as protobufjs encodes them. */
export function tensorProtoBytes(t: Tensor): Uint8Array {
  const field = RAW_FIELD[t.dtype];
  if (field === undefined || !LITTLE_ENDIAN) return encodeMessage(servingTypes().TensorProto, tensorToProto(t));
  const data = t.data() as Float32Array | Float64Array;
  const dims = t.shape;
  let shapeSize = 0;
  for (const d of dims) shapeSize += fieldSize(varintFieldSize(d));
  const dtype = tfDataType(t.dtype);
  const total = varintFieldSize(dtype) + fieldSize(shapeSize) + (data.byteLength > 0 ? fieldSize(data.byteLength) : 0);
  const buf = Buffer.allocUnsafe(total);
  let pos = writeVarintField(buf, 0, 0x08, dtype); // dtype
  buf[pos++] = 0x12; // tensor_shape
  pos = writeVarint(buf, pos, shapeSize);
  for (const d of dims) {
    buf[pos++] = 0x12; // dim
    pos = writeVarint(buf, pos, varintFieldSize(d));
    pos = writeVarintField(buf, pos, 0x08, d); // size
  }
  if (data.byteLength > 0) {
    buf[pos++] = (field << 3) | 2;
    pos = writeVarint(buf, pos, data.byteLength);
    buf.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    pos += data.byteLength;
  }
  return buf;
}

const utf8 = protobuf.util.utf8;

/** A string field's total size (0 for '': proto3 leaves defaults out). */
function stringFieldSize(size: number): number {
  return size === 0 ? 0 : fieldSize(size);
}

function stringField(buf: Uint8Array, pos: number, tag: number, s: string, size: number): number {
  if (size === 0) return pos;
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, size);
  utf8.write(s, buf, pos);
  return pos + size;
}

/** What a Predict answer names: the model, its version and the signature that ran. */
export interface PredictResponseSpec {
  /** The model's name. */
  name: string;
  /** The version that answered (a non-negative safe integer). */
  version: number;
  /** The signature that ran. */
  signatureName: string;
}

/**
 * The bytes of a `tensorflow.serving.PredictResponse` with `outputs` (in key order) and `spec`: exactly what
 * `encodeMessage(PredictResponse, { modelSpec, outputs: tensorToProto(...) })` gives.
 */
export function predictResponseBytes(outputs: Record<string, Tensor>, spec: PredictResponseSpec): Buffer {
  const entries: Array<{ key: string; keySize: number; tensor: Uint8Array; size: number }> = [];
  let total = 0;
  for (const key of Object.keys(outputs)) {
    const keySize = utf8.length(key);
    const tensor = tensorProtoBytes(outputs[key]);
    const size = fieldSize(keySize) + fieldSize(tensor.length); // a map key is written even when ''
    entries.push({ key, keySize, tensor, size });
    total += fieldSize(size);
  }
  const nameSize = utf8.length(spec.name);
  const signatureSize = utf8.length(spec.signatureName);
  const versionSize = varintFieldSize(spec.version);
  const specSize = stringFieldSize(nameSize) + fieldSize(versionSize) + stringFieldSize(signatureSize);
  total += fieldSize(specSize);
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const e of entries) {
    buf[pos++] = 0x0a; // outputs (map entry)
    pos = writeVarint(buf, pos, e.size);
    buf[pos++] = 0x0a; // key
    pos = writeVarint(buf, pos, e.keySize);
    utf8.write(e.key, buf, pos);
    pos += e.keySize;
    buf[pos++] = 0x12; // value
    pos = writeVarint(buf, pos, e.tensor.length);
    buf.set(e.tensor, pos);
    pos += e.tensor.length;
  }
  buf[pos++] = 0x12; // model_spec
  pos = writeVarint(buf, pos, specSize);
  pos = stringField(buf, pos, 0x0a, spec.name, nameSize);
  buf[pos++] = 0x12; // version (google.protobuf.Int64Value)
  pos = writeVarint(buf, pos, versionSize);
  pos = writeVarintField(buf, pos, 0x08, spec.version);
  pos = stringField(buf, pos, 0x1a, spec.signatureName, signatureSize);
  return buf;
}
