// Helpers shared by the suites that compare with Python's oracle JSON files (not a test file itself).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DType, Graph, Output, Tensor } from '../../src';

/** test/fixtures, from dist/test/<suite>. */
export const FIXTURES = path.join(__dirname, '../../../test/fixtures');

/** A tensor as the oracle JSON files write it. */
export interface TensorJson {
  dtype: string;
  shape: number[];
  values: Array<number | string | boolean>;
}

/** A JSON file: an absolute path, or a name under test/fixtures. */
export function readJson<T = any>(file: string): T { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(fs.readFileSync(path.isAbsolute(file) ? file : path.join(FIXTURES, file), 'utf8')) as T;
}

export function toTensor(t: TensorJson, dtype?: DType): Tensor {
  return new Tensor((dtype ?? t.dtype) as DType, t.shape, t.values as never);
}

export function constant(g: Graph, t: TensorJson, dtype?: DType, name?: string): Output {
  const tensor = toTensor(t, dtype);
  try {
    return g.constant(tensor, name);
  } finally {
    tensor.dispose();
  }
}

/** Elementwise |got - want| <= atol + rtol·|want|, with the worst index in the message. */
export function assertClose(got: ArrayLike<number> | number, want: ArrayLike<number> | number, tol: { rtol?: number; atol?: number } = {}, label = ''): void {
  const g = typeof got === 'number' ? [got] : Array.from(got);
  const w = typeof want === 'number' ? [want] : Array.from(want);
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  assert.equal(g.length, w.length, `${label}: ${g.length} values, expected ${w.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < g.length; i++) {
    const excess = Math.abs(g[i] - w[i]) - (atol + rtol * Math.abs(w[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) assert.fail(`${label}: element ${worst} is ${g[worst]}, expected ${w[worst]} (rtol ${rtol}, atol ${atol})`);
}

/** The values of a tensor as numbers (and disposes it). */
export function values(t: Tensor): number[] {
  try {
    return Array.from(t.data() as ArrayLike<number>, Number);
  } finally {
    t.dispose();
  }
}

/** mean(square(a - b)) over all elements. */
export function meanSquaredError(g: Graph, a: Output, b: Output): Output {
  const d = g.addOperation('Sub', { inputs: [a, b] }).output(0);
  const sq = g.addOperation('Square', { inputs: [d] }).output(0);
  const rank = g.addOperation('Rank', { inputs: [sq] }).output(0);
  const axes = g.addOperation('Range', { inputs: [g.constant(new Tensor('int32', [], [0])), rank, g.constant(new Tensor('int32', [], [1]))] }).output(0);
  return g.addOperation('Mean', { inputs: [sq, axes] }).output(0);
}
