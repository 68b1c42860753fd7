// Shared helpers of the hub.load tests: fixture paths, JSON oracles (see test/fixtures/README.md), comparisons.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DType } from '../../src/dtypes';
import { Tensor } from '../../src/tensor';
import { LoadedModel, kwargs } from '../../src/hub/tf2';

/** test/fixtures (shared oracles) from dist/test/tf2. */
export { FIXTURES } from '../helpers/fixtures';
/** test/tf2/fixtures (this suite's own models). */
export const OWN_FIXTURES = path.join(__dirname, '../../../test/tf2/fixtures');

export interface TensorJson {
  dtype: string;
  shape: number[];
  values: unknown[];
}
export type ValueJson =
  | TensorJson
  | { kind: 'sparse'; indices: TensorJson; values: TensorJson; dense_shape: TensorJson }
  | { kind: 'ragged'; flat_values: TensorJson; row_splits: TensorJson[] }
  | null
  | ValueJson[]
  | { [k: string]: ValueJson };

export interface CallJson {
  tags?: string[];
  signature?: string;
  callable?: string;
  inputs: Record<string, ValueJson> | ValueJson[];
  kwargs?: Record<string, unknown>;
  outputs: ValueJson;
}

export function readOracle<T = { calls: CallJson[]; [k: string]: unknown }>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function isTensorJson(v: unknown): v is TensorJson {
  return !!v && typeof v === 'object' && !Array.isArray(v) && 'dtype' in v && 'shape' in v && 'values' in v;
}

/** A Tensor from the JSON convention. */
export function tensorOf(j: TensorJson): Tensor {
  return new Tensor(j.dtype as DType, j.shape, j.values as never);
}

/** JSON input values → the JS values hub.load takes (Tensors; sparse/ragged records; nested structures). */
export function inputOf(v: ValueJson | unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(inputOf);
  if (isTensorJson(v)) return tensorOf(v);
  const o = v as Record<string, unknown>;
  if (o.kind === 'sparse')
    return {
      indices: tensorOf(o.indices as TensorJson),
      values: tensorOf(o.values as TensorJson),
      denseShape: tensorOf(o.dense_shape as TensorJson),
    };
  if (o.kind === 'ragged')
    return { flatValues: tensorOf(o.flat_values as TensorJson), rowSplits: (o.row_splits as TensorJson[]).map(tensorOf) };
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, inputOf(x)]));
}

/** Asserts a Tensor equals the oracle: dtype, shape, values (floats to 1e-5 relative or absolute). */
export function assertTensor(actual: unknown, expected: TensorJson, what: string): void {
  assert.ok(actual instanceof Tensor, `${what}: expected a Tensor, got ${String(actual)}`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  if (expected.dtype === 'string') {
    assert.deepEqual(actual.strings(), expected.values, `${what}: values`);
    return;
  }
  if (expected.dtype === 'bool') {
    assert.deepEqual(
      Array.from(actual.data() as Uint8Array, (x) => x !== 0),
      expected.values,
      `${what}: values`,
    );
    return;
  }
  const got = Array.from(actual.data() as ArrayLike<number | bigint>, Number);
  const want = expected.values as number[];
  assert.equal(got.length, want.length, `${what}: size`);
  const isFloat = expected.dtype.startsWith('float') || expected.dtype === 'bfloat16';
  for (let i = 0; i < got.length; i++) {
    if (isFloat) {
      const tol = 1e-5 * Math.max(1, Math.abs(want[i]));
      assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} != ${want[i]}`);
    } else assert.equal(got[i], want[i], `${what}[${i}]`);
  }
}

/** Asserts a result structure (Tensor, array, record, sparse, ragged, null) equals the oracle. */
export function assertValue(actual: unknown, expected: ValueJson, what: string): void {
  if (expected === null) {
    assert.equal(actual, null, what);
    return;
  }
  if (isTensorJson(expected)) {
    assertTensor(actual, expected, what);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${what}: expected an array`);
    assert.equal(actual.length, expected.length, `${what}: length`);
    expected.forEach((e, i) => assertValue(actual[i], e, `${what}[${i}]`));
    return;
  }
  const o = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  if (o.kind === 'sparse') {
    assertTensor(a.indices, o.indices as TensorJson, `${what}.indices`);
    assertTensor(a.values, o.values as TensorJson, `${what}.values`);
    assertTensor(a.denseShape, o.dense_shape as TensorJson, `${what}.denseShape`);
    return;
  }
  if (o.kind === 'ragged') {
    assertTensor(a.flatValues, o.flat_values as TensorJson, `${what}.flatValues`);
    const splits = o.row_splits as TensorJson[];
    assert.equal((a.rowSplits as unknown[]).length, splits.length, `${what}.rowSplits length`);
    splits.forEach((s, i) => assertTensor((a.rowSplits as unknown[])[i], s, `${what}.rowSplits[${i}]`));
    return;
  }
  assert.ok(a && typeof a === 'object' && !Array.isArray(a), `${what}: expected a record`);
  assert.deepEqual(Object.keys(a).sort(), Object.keys(o).sort(), `${what}: keys`);
  for (const k of Object.keys(o)) assertValue(a[k], o[k] as ValueJson, `${what}.${k}`);
}

/** Disposes every Tensor in a result structure. */
export function disposeAll(v: unknown): void {
  if (v instanceof Tensor) v.dispose();
  else if (Array.isArray(v)) v.forEach(disposeAll);
  else if (v && typeof v === 'object') Object.values(v).forEach(disposeAll);
}

/** Runs every call of an oracle (signatures and callables) against a loaded model. */
export async function checkCalls(model: LoadedModel, calls: CallJson[], name: string): Promise<void> {
  for (const [i, call] of calls.entries()) {
    const what = `${name} call ${i} (${call.signature ?? call.callable})`;
    let out: unknown;
    if (call.signature) out = await model.signatures[call.signature](inputOf(call.inputs));
    else {
      const f = call.callable === '__call__' ? (...a: unknown[]) => model.call(...a) : model.functions[call.callable!];
      assert.ok(f, `${what}: function missing`);
      const args = (call.inputs as unknown[]).map(inputOf);
      out = await f(...args, ...(call.kwargs && Object.keys(call.kwargs).length > 0 ? [kwargs(call.kwargs)] : []));
    }
    assertValue(out, call.outputs, what);
    disposeAll(out);
  }
}
