// Numeric comparison with tolerances, as numpy's allclose: the one tolerance rule of the suites.
import assert from 'node:assert/strict';

/** Elementwise |got - want| <= atol + rtol·|want|, with the worst index in the message. */
export function assertClose(
  got: ArrayLike<number> | number,
  want: ArrayLike<number> | number,
  tol: { rtol?: number; atol?: number } = {},
  label = '',
): void {
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
