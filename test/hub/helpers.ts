// Shared helpers of the hub.Module acceptance tests (not a test file itself).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Graph, Output, Session, Tensor, hub } from '../../src';
import { decodeSavedModel, encodeSavedModel, google, tensorflow } from '../../src/proto';

import { FIXTURES } from '../helpers/fixtures';
import { assertClose as allClose } from '../helpers/assert_close';
export { FIXTURES, REPO } from '../helpers/fixtures';

export const fixtureDir = (name: string): string => path.join(FIXTURES, name);
export const hasFixture = (name: string): boolean =>
  existsSync(path.join(FIXTURES, name, 'saved_model.pb')) && existsSync(path.join(FIXTURES, `${name}.json`));

/** A tensor as the fixture JSON files write it. */
export interface JsonTensor {
  dtype: string;
  shape: number[];
  values: Array<number | string | boolean>;
}
export interface JsonSparse {
  kind: 'sparse';
  indices: JsonTensor;
  values: JsonTensor;
  dense_shape: JsonTensor;
}
export interface JsonRagged {
  kind: 'ragged';
  ragged_rank: number;
  flat_values: JsonTensor;
  row_splits: JsonTensor[];
}
export type JsonValue = JsonTensor | JsonSparse | JsonRagged;
export interface JsonCall {
  tags?: string[];
  signature: string;
  inputs: Record<string, JsonValue>;
  outputs: Record<string, JsonValue>;
  gradient?: { of: string; wrt: string; value: JsonTensor };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fixtureJson(name: string): any {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
}

export function tensorOf(j: JsonTensor): Tensor {
  const values = j.dtype === 'int64' ? j.values.map((v) => BigInt(v as number)) : j.values;
  return new Tensor(j.dtype as never, j.shape, values as never);
}

/** A Module.call input (Tensors) for a JSON value. */
export function moduleInputOf(v: JsonValue): unknown {
  if ((v as JsonSparse).kind === 'sparse') {
    const s = v as JsonSparse;
    return { indices: tensorOf(s.indices), values: tensorOf(s.values), denseShape: tensorOf(s.dense_shape) };
  }
  if ((v as JsonRagged).kind === 'ragged') {
    const r = v as JsonRagged;
    return { values: tensorOf(r.flat_values), rowSplits: r.row_splits.map(tensorOf) };
  }
  return tensorOf(v as JsonTensor);
}

/** Asserts a Tensor equals a JSON tensor: same dtype and shape, floats within `tol` (absolute or relative). */
export function assertTensor(actual: Tensor, expected: JsonTensor, label: string, tol = 1e-5): void {
  assert.ok(actual instanceof Tensor, `${label}: expected a Tensor, got ${String(actual)}`);
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  if (expected.dtype === 'string') {
    assert.deepEqual(actual.strings(), expected.values, `${label}: values`);
    return;
  }
  if (expected.dtype === 'bool') {
    assert.deepEqual(
      Array.from(actual.data() as Uint8Array, (b) => b !== 0),
      expected.values,
      `${label}: values`,
    );
    return;
  }
  const got = Array.from(actual.data() as ArrayLike<number | bigint>, Number);
  assert.equal(got.length, expected.values.length, `${label}: element count`);
  for (let i = 0; i < got.length; i++) {
    const e = expected.values[i] as number;
    const err = Math.abs(got[i] - e);
    assert.ok(err <= tol || err <= tol * Math.abs(e), `${label}[${i}]: got ${got[i]}, expected ${e} (|err| ${err})`);
  }
}

/** Asserts a fetched output (Tensor, sparse or ragged record of Tensors) equals a JSON value. */
export function assertOutput(actual: unknown, expected: JsonValue, label: string, tol = 1e-5): void {
  if ((expected as JsonSparse).kind === 'sparse') {
    const s = expected as JsonSparse;
    const a = actual as { indices: Tensor; values: Tensor; denseShape: Tensor };
    assertTensor(a.indices, s.indices, `${label}.indices`);
    assertTensor(a.values, s.values, `${label}.values`, tol);
    assertTensor(a.denseShape, s.dense_shape, `${label}.denseShape`);
    return;
  }
  if ((expected as JsonRagged).kind === 'ragged') {
    const r = expected as JsonRagged;
    const a = actual as { flatValues: Tensor; rowSplits: Tensor[] };
    assertTensor(a.flatValues, r.flat_values, `${label}.flatValues`, tol);
    assert.equal(a.rowSplits.length, r.row_splits.length, `${label}: ragged rank`);
    r.row_splits.forEach((rs, i) => assertTensor(a.rowSplits[i], rs, `${label}.rowSplits[${i}]`));
    return;
  }
  assertTensor(actual as Tensor, expected as JsonTensor, label, tol);
}

/** Numbers of a float/int tensor. */
export const nums = (t: Tensor): number[] => Array.from(t.data() as ArrayLike<number | bigint>, Number);

/** Asserts two number arrays agree within tol. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, tol = 1e-5): void {
  allClose(actual, expected, { rtol: tol, atol: tol }, label);
}

/** Asserts `fn` throws an error with `code` whose message contains every keyword. */
export function assertThrowsCode(fn: () => unknown, code: string, ...keywords: Array<string | RegExp>): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  return checkError(caught, code, keywords);
}

/** Like assertThrowsCode for promises. */
export async function assertRejectsCode(
  p: Promise<unknown> | (() => Promise<unknown>),
  code: string,
  ...keywords: Array<string | RegExp>
): Promise<Error> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  return checkError(caught, code, keywords);
}

function checkError(caught: unknown, code: string, keywords: Array<string | RegExp>): Error {
  assert.ok(caught instanceof Error, `expected an error with code ${code}, got ${caught === undefined ? 'no error' : String(caught)}`);
  const e = caught as Error & { code?: string };
  assert.equal(e.code, code, `error code (message: ${e.message})`);
  for (const k of keywords) {
    if (typeof k === 'string') assert.ok(e.message.includes(k), `message ${JSON.stringify(e.message)} should contain ${JSON.stringify(k)}`);
    else assert.match(e.message, k);
  }
  return e;
}

/** A fresh temp dir, removed when the test ends. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'tfhub-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Copies a fixture module into `parent/<as>` and returns the copy's path. */
export function copyFixture(name: string, parent: string, as = name): string {
  const dest = path.join(parent, as);
  cpSync(fixtureDir(name), dest, { recursive: true });
  return dest;
}

/** Rewrites `<dir>/saved_model.pb` through `edit`. */
export function editSavedModel(dir: string, edit: (sm: tensorflow.SavedModel) => void): void {
  const file = path.join(dir, 'saved_model.pb');
  const sm = decodeSavedModel(readFileSync(file), file);
  edit(sm);
  writeFileSync(file, encodeSavedModel(sm));
}

let halfPlusTwoDir: string | null = null;
/** half_plus_two_v1.tar.gz extracted (once per process) with the `tar` package into a temp dir. */
export async function extractHalfPlusTwo(): Promise<string> {
  if (halfPlusTwoDir) return halfPlusTwoDir;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tar = require('tar') as { x(opts: { file: string; cwd: string }): Promise<void> };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tfhub-half-plus-two-'));
  await tar.x({ file: path.join(FIXTURES, 'half_plus_two_v1.tar.gz'), cwd: dir });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  halfPlusTwoDir = dir;
  return dir;
}

/** A graph + session pair closed at the end of the test. */
export function graphFor(t: { after(fn: () => void): void }): Graph {
  const g = new Graph();
  t.after(() => g.dispose());
  return g;
}

export function sessionFor(t: { after(fn: () => void): void }, g: Graph): Session {
  const s = new Session(g);
  t.after(() => s.close());
  return s;
}

/** Runs the variable and table initializers of `g`. */
export async function initialize(s: Session, g: Graph): Promise<void> {
  await s.run([g.globalVariablesInitializer(), g.tablesInitializer()]);
}

/** Spec cache: loading is cheap but tests load the same fixtures many times. */
const specs = new Map<string, Promise<hub.ModuleSpec>>();
export function spec(name: string): Promise<hub.ModuleSpec> {
  let p = specs.get(name);
  if (!p) specs.set(name, (p = hub.loadModuleSpec(fixtureDir(name))));
  return p;
}

/** A scalar-reduction helper: `Sum(x)` over every axis given (int32 const). */
export function reduceSum(g: Graph, x: Output, axes: number[]): Output {
  return g.addOperation('Sum', { inputs: [x, g.constant(new Tensor('int32', [axes.length], axes))] }).output(0);
}

/** Renames the first asset of a TF1 Hub module copy in `dir` (its `saved_model_assets` AssetFileDef) to `filename`. */
export function setFirstAssetFilename(dir: string, filename: string): void {
  editSavedModel(dir, (sm) => {
    const list = sm.metaGraphs[0].collectionDef!.saved_model_assets.anyList!.value!;
    const def = tensorflow.AssetFileDef.decode(list[0].value!);
    def.filename = filename;
    list[0] = google.protobuf.Any.create({ typeUrl: list[0].typeUrl, value: tensorflow.AssetFileDef.encode(def).finish() });
  });
}
