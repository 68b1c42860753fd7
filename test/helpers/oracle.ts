// Python's oracle JSON files: reading them and turning their tensors into Tensors and constants.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DType, Graph, Output, Tensor } from '../../src';
import { FIXTURES } from './fixtures';

export { FIXTURES } from './fixtures';
export { assertClose } from './assert_close';

/** A tensor as the oracle JSON files write it. */
export interface TensorJson {
  dtype: string;
  shape: number[];
  values: Array<number | string | boolean>;
}

/** A JSON file: an absolute path, or a name under test/fixtures. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function readJson<T = any>(file: string): T {
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
  const axes = g
    .addOperation('Range', { inputs: [g.constant(new Tensor('int32', [], [0])), rank, g.constant(new Tensor('int32', [], [1]))] })
    .output(0);
  return g.addOperation('Mean', { inputs: [sq, axes] }).output(0);
}
