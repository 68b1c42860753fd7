// Shared helpers of the training tests (not a test file itself).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DType, Graph, Output, Tensor } from '../../src';

/** test/fixtures, from dist/test/train. */
export const FIXTURES = path.join(__dirname, '../../../test/fixtures');

/** A tensor as the oracle JSON files write it. */
export interface TensorJson {
  dtype: string;
  shape: number[];
  values: Array<number | string | boolean>;
}

export function readJson<T = any>(name: string): T { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
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

/** The values of a float tensor as numbers (and disposes it). */
export function values(t: Tensor): number[] {
  try {
    return Array.from(t.data() as ArrayLike<number>);
  } finally {
    t.dispose();
  }
}

/** Reduce-sum of all elements as a scalar Output. */
export function sumAll(g: Graph, x: Output): Output {
  const rank = g.addOperation('Rank', { inputs: [x] }).output(0);
  const axes = g.addOperation('Range', { inputs: [g.constant(new Tensor('int32', [], [0])), rank, g.constant(new Tensor('int32', [], [1]))] }).output(0);
  return g.addOperation('Sum', { inputs: [x, axes] }).output(0);
}

/** mean(square(a - b)) over all elements. */
export function meanSquaredError(g: Graph, a: Output, b: Output): Output {
  const d = g.addOperation('Sub', { inputs: [a, b] }).output(0);
  const sq = g.addOperation('Square', { inputs: [d] }).output(0);
  const rank = g.addOperation('Rank', { inputs: [sq] }).output(0);
  const axes = g.addOperation('Range', { inputs: [g.constant(new Tensor('int32', [], [0])), rank, g.constant(new Tensor('int32', [], [1]))] }).output(0);
  return g.addOperation('Mean', { inputs: [sq, axes] }).output(0);
}

/** sum(square(x)). */
export function sumOfSquares(g: Graph, x: Output): Output {
  return sumAll(g, g.addOperation('Square', { inputs: [x] }).output(0));
}
