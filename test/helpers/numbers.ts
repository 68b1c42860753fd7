// A tensor's elements as plain numbers (the tensor stays alive).
import assert from 'node:assert/strict';
import { Tensor } from '../../src';

/** The elements of `t` as numbers; fails the test when `t` is not a Tensor (e.g. a null fetch result). */
export function numbers(t: Tensor | null): number[] {
  assert.ok(t instanceof Tensor, `expected a Tensor, got ${String(t)}`);
  return Array.from(t.data() as ArrayLike<number>, Number);
}
