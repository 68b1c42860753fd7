// The gRPC Predict answer written straight from the tensors (src/serving/codec/predict_wire.ts) is byte for byte
// what protobufjs writes for `{ outputs: tensorToProto(...), modelSpec }`, for every dtype, shape class and
// value class (NaN, ±0, ±Infinity, subnormals, varint boundaries), key and name (empty, unicode, long), version.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src';
import type { DType } from '../../src/dtypes';
import { tensorToProto } from '../../src/serving/codec/tensor_proto';
import { predictResponseBytes, PredictResponseSpec, tensorProtoBytes } from '../../src/serving/codec/predict_wire';
import { modelSpecOf } from '../../src/serving/grpc/call';
import { encodeMessage, servingTypes } from '../../src/serving/proto';

/** What the answer was before: protobufjs's encoding of the plain objects. */
function reference(outputs: Record<string, Tensor>, spec: PredictResponseSpec): Buffer {
  const out: Record<string, object> = {};
  for (const [k, t] of Object.entries(outputs)) out[k] = tensorToProto(t);
  return Buffer.from(encodeMessage(servingTypes().PredictResponse, { modelSpec: modelSpecOf(spec), outputs: out }));
}

/** A deterministic pseudo-random generator (xorshift32). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const SPECIAL = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3.4028234663852886e38, 5e-324, 1.7976931348623157e308, 0.1];

/** Values of `dtype` for `n` elements (complex: 2n numbers), special values first. */
function values(dtype: DType, n: number, next: () => number): unknown {
  const per = dtype.startsWith('complex') ? 2 : 1;
  const nums = Array.from({ length: n * per }, (_, i) =>
    i < SPECIAL.length ? SPECIAL[i] : (next() - 0.5) * 10 ** Math.floor(next() * 12 - 6),
  );
  switch (dtype) {
    case 'float32':
    case 'complex64':
      return Float32Array.from(nums);
    case 'float64':
    case 'complex128':
      return Float64Array.from(nums);
    case 'int32':
      return Int32Array.from(nums, (v, i) => (i % 3 === 0 ? -(2 ** 31) + i : Math.trunc((Number.isFinite(v) ? v : 7) * 1000)));
    case 'int64':
      return BigInt64Array.from(nums, (_, i) => (i % 2 ? -(2n ** 63n) + BigInt(i) : 2n ** 62n + BigInt(i)));
    case 'uint8':
      return Uint8Array.from(nums, (_, i) => (i * 37) % 256);
    case 'bool':
      return Uint8Array.from(nums, (_, i) => (i % 3 === 0 ? 1 : 0));
    case 'float16':
      return Uint16Array.from(nums, (_, i) => (i * 4099) % 65536);
    case 'string':
      return Array.from({ length: n }, (_, i) => (i % 4 === 0 ? '' : `s${i}é\u{1F600}`.repeat(i % 5)));
    default:
      throw new Error(dtype);
  }
}

const SHAPES: number[][] = [[], [0], [1], [3], [2, 3], [1, 200], [130, 2], [2, 0, 5], [1, 1, 1, 1, 17], [20000]];
const DTYPES: DType[] = ['float32', 'float64', 'complex64', 'complex128', 'int32', 'int64', 'uint8', 'bool', 'float16', 'string'];

describe('serving codec: PredictResponse bytes written from the tensors', () => {
  test('every dtype and shape: the TensorProto bytes equal protobufjs', () => {
    const next = rng(7);
    for (const dtype of DTYPES) {
      for (const shape of SHAPES) {
        const n = shape.reduce((a, b) => a * b, 1);
        const t = new Tensor(dtype, shape, values(dtype, n, next) as never);
        try {
          const want = Buffer.from(encodeMessage(servingTypes().TensorProto, tensorToProto(t)));
          const got = Buffer.from(tensorProtoBytes(t));
          assert.ok(got.equals(want), `${dtype} [${shape}]: ${got.toString('hex').slice(0, 80)} vs ${want.toString('hex').slice(0, 80)}`);
        } finally {
          t.dispose();
        }
      }
    }
  });

  test('whole responses: keys, names, versions, several outputs', () => {
    const next = rng(11);
    const keys = ['y', '', 'ünïcödé', 'k'.repeat(200), '0', '10', 'b', 'a'];
    const specs: PredictResponseSpec[] = [
      { name: 'm', version: 1, signatureName: 'serving_default' },
      { name: '', version: 0, signatureName: '' },
      { name: 'モデル', version: 127, signatureName: 's'.repeat(300) },
      { name: 'x', version: 128, signatureName: 'sig' },
      { name: 'x', version: 2 ** 40 + 3, signatureName: 'sig' },
      { name: 'x', version: Number.MAX_SAFE_INTEGER, signatureName: 'sig' },
    ];
    for (let round = 0; round < 60; round++) {
      const outputs: Record<string, Tensor> = {};
      const count = round % 5;
      for (let i = 0; i < count; i++) {
        const dtype = DTYPES[Math.floor(next() * DTYPES.length)];
        const shape = SHAPES[Math.floor(next() * (SHAPES.length - 1))];
        const n = shape.reduce((a, b) => a * b, 1);
        outputs[keys[(round + i) % keys.length]] = new Tensor(dtype, shape, values(dtype, n, next) as never);
      }
      try {
        const spec = specs[round % specs.length];
        const got = predictResponseBytes(outputs, spec);
        const want = reference(outputs, spec);
        assert.ok(got.equals(want), `round ${round}: ${got.length} vs ${want.length} bytes`);
      } finally {
        for (const t of Object.values(outputs)) t.dispose();
      }
    }
  });

  test('a NaN keeps its bits (quiet and with a payload) and decodes as NaN', () => {
    const bits = Uint32Array.from([0x7fc00000, 0xffc00001, 0x7fa00000]);
    const t = new Tensor('float32', [3], new Float32Array(bits.buffer) as never);
    try {
      const bytes = tensorProtoBytes(t);
      const decoded = servingTypes().TensorProto.decode(bytes) as unknown as { floatVal: number[] };
      assert.ok(decoded.floatVal.every((v) => Number.isNaN(v)));
      const payload = Buffer.from(bytes).subarray(bytes.length - 12);
      assert.deepEqual(Array.from(new Uint32Array(payload.buffer.slice(payload.byteOffset, payload.byteOffset + 12))), Array.from(bits));
    } finally {
      t.dispose();
    }
  });

  test('resource and variant outputs are refused as before (INVALID_ARGUMENT)', () => {
    assert.throws(
      () => tensorProtoBytes({ dtype: 'resource', shape: [] } as unknown as Tensor),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /cannot send a resource tensor/.test(e.message),
    );
  });
});
