// Shared by the serving suites (not a test file): fixture paths and the fixture JSON's tensors.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Tensor } from '../../src';
import { float16Value, bfloat16Value } from '../../src/tensor';

/** test/serving/fixtures, from dist/test/serving. */
export const SERVING_FIXTURES = path.join(__dirname, '../../../test/serving/fixtures');

/** A tensor as make_serving_models.py writes it. */
export interface FixtureTensor {
  dtype: string;
  shape: number[];
  values?: Array<number | string | boolean>;
  b64?: string[];
}

/** Plain values of a fixture tensor: numbers, bigints (int64/uint64), booleans or Buffers (strings). */
export function fixtureValues(t: FixtureTensor): unknown[] {
  if (t.dtype === 'string') return t.b64!.map((s) => Buffer.from(s, 'base64'));
  if (t.dtype === 'int64' || t.dtype === 'uint64') return t.values!.map((v) => BigInt(v as number | string));
  return t.values!;
}

/** A Tensor holding a fixture tensor (float16/bfloat16 from their float values). */
export function fixtureTensor(t: FixtureTensor): Tensor {
  return new Tensor(t.dtype as never, t.shape, fixtureValues(t) as never);
}

/** Values of a Tensor in fixtureValues' form. */
export function tensorValues(t: Tensor): unknown[] {
  if (t.dtype === 'string') return t.bytes().map((b) => Buffer.from(b));
  if (t.dtype === 'float16') return Array.from(t.data() as Uint16Array, float16Value);
  if (t.dtype === 'bfloat16') return Array.from(t.data() as Uint16Array, bfloat16Value);
  if (t.dtype === 'bool') return Array.from(t.data() as Uint8Array, (v) => v !== 0);
  return Array.from(t.data() as ArrayLike<unknown>);
}

/** Asserts a Tensor equals a fixture tensor (floats within rtol 1e-6, exact otherwise). */
export function assertTensorEquals(got: Tensor, want: FixtureTensor, label = ''): void {
  assert.equal(got.dtype, want.dtype, `${label} dtype`);
  assert.deepEqual(got.shape, want.shape, `${label} shape`);
  const g = tensorValues(got);
  const w = fixtureValues(want);
  if (/^float|^bfloat/.test(want.dtype)) {
    g.forEach((v, i) =>
      assert.ok(
        Math.abs((v as number) - (w[i] as number)) <= 1e-6 * Math.max(1, Math.abs(w[i] as number)),
        `${label}[${i}]: ${v} vs ${w[i]}`,
      ),
    );
  } else assert.deepEqual(g, w, label);
}
