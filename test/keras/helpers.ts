// Shared helpers of the hub.KerasLayer tests (not a test file itself).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DType, Graph, Output, Session, Tensor } from '../../src';

/** test/fixtures, from dist/test/keras. */
export const FIXTURES = path.join(__dirname, '../../../test/fixtures');
/** test/tf2/fixtures (the hub.load suite's own models). */
export const TF2_FIXTURES = path.join(__dirname, '../../../test/tf2/fixtures');

/** A tensor as the oracle JSON files write it. */
export interface TensorJson {
  dtype: string;
  shape: number[];
  values: Array<number | string | boolean>;
}

export function readJson<T = any>(file: string): T { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(fs.readFileSync(path.isAbsolute(file) ? file : path.join(FIXTURES, file), 'utf8')) as T;
}

export function toTensor(t: TensorJson, dtype?: DType): Tensor {
  return new Tensor((dtype ?? t.dtype) as DType, t.shape, t.values as never);
}

export function constant(g: Graph, t: TensorJson, name?: string): Output {
  const tensor = toTensor(t);
  try {
    return g.constant(tensor, name);
  } finally {
    tensor.dispose();
  }
}

/** Elementwise |got - want| <= atol + rtol·|want|, naming the worst element. */
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

/** One plain SGD step (v -= lr·grad) for each pair, as one op. */
export function sgdStep(g: Graph, pairs: Array<[Output, { handle: Output }]>, lr: number): import('../../src').Operation {
  const alpha = g.constant(new Tensor('float32', [], [lr]), 'learning_rate');
  const updates = pairs.map(([grad, v]) => g.addOperation('ResourceApplyGradientDescent', { inputs: [v.handle, alpha, grad] }));
  return g.addOperation('NoOp', { name: g.uniqueName('sgd_step'), controlInputs: updates });
}

/** A fresh temporary directory (removed by the returned cleanup). */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tfhub-keras-${label}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `fn` with a session on `g`, closing both afterwards. */
export async function withSession<T>(g: Graph, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = new Session(g);
  try {
    return await fn(s);
  } finally {
    s.close();
    g.dispose();
  }
}
