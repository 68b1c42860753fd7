// addGradients: symbolic gradients match central finite differences; unconnected xs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Graph, Output, Session, Tensor, TfhubError } from '../../src';
import { graphAndSessionPerSuite } from './helpers/util';
import { numbers as values } from '../helpers/numbers';

describe('addGradients', () => {
  let g: Graph;
  let s: Session;
  graphAndSessionPerSuite((graph, session) => {
    g = graph;
    s = session;
  });

  const sum = (o: Output) =>
    g
      .addOperation('Sum', {
        inputs: [
          o,
          g.constant(
            Array.from({ length: o.shape!.length }, (_, i) => i),
            undefined,
            'int32',
          ),
        ],
      })
      .output(0);
  const op = (type: string, ...inputs: Output[]) => g.addOperation(type, { inputs }).output(0);

  /** Checks d(ys)/d(xs) at `points` against central differences of the forward graph (run in TF). */
  function checkGradient(y: Output, xs: Output[], points: number[][], tolerance = 1e-6): void {
    const grads = g.addGradients(y, xs);
    assert.equal(grads.length, xs.length);
    grads.forEach((gr, i) => assert.deepEqual(gr.shape, xs[i].shape, `gradient ${i} shape`));
    const feeds = (pts: number[][]) =>
      new Map<Output, Tensor>(xs.map((x, i) => [x, new Tensor('float64', x.shape!, new Float64Array(pts[i]))]));
    const symbolic = s.runSync(grads, feeds(points)).map(values);
    const h = 1e-6;
    points.forEach((pt, i) => {
      pt.forEach((_, k) => {
        const plus = points.map((p) => [...p]);
        const minus = points.map((p) => [...p]);
        plus[i][k] += h;
        minus[i][k] -= h;
        const numeric = (values(s.runSync(y, feeds(plus)))[0] - values(s.runSync(y, feeds(minus)))[0]) / (2 * h);
        const got = symbolic[i][k];
        assert.ok(
          Math.abs(got - numeric) <= tolerance * Math.max(1, Math.abs(numeric)),
          `${y.op.name}: d/d${xs[i].name}[${k}] symbolic ${got} vs numeric ${numeric}`,
        );
      });
    });
  }

  it('elementwise ops: Square, Sin, Tanh, Exp, Sigmoid, Log, Sqrt, Softplus', () => {
    const pt = [0.3, -1.2, 2.0, 0.75];
    for (const type of ['Square', 'Sin', 'Tanh', 'Exp', 'Sigmoid', 'Softplus']) {
      const x = g.placeholder('float64', [4], `x_${type}`);
      checkGradient(sum(op(type, x)), [x], [pt]);
    }
    for (const type of ['Log', 'Sqrt']) {
      const x = g.placeholder('float64', [4], `x_${type}`);
      checkGradient(sum(op(type, x)), [x], [pt.map(Math.abs)]);
    }
  });

  it('exact values: d/dx sum(x²) = 2x, d/dx sum(sin x) = cos x', () => {
    const x = g.placeholder('float64', [3], 'exact_x');
    const [d2] = g.addGradients(sum(op('Square', x)), x);
    const [dsin] = g.addGradients(sum(op('Sin', x)), x);
    const feed = new Map([[x, new Tensor('float64', [3], [1, -2, 0.5])]]);
    const [a, b] = s.runSync([d2, dsin], feed);
    assert.deepEqual(values(a), [2, -4, 1]);
    assert.deepEqual(values(b), [Math.cos(1), Math.cos(-2), Math.cos(0.5)]);
  });

  it('MatMul, BiasAdd and a small network, with respect to several xs', () => {
    const x = g.placeholder('float64', [2, 3], 'mm_x');
    const w = g.placeholder('float64', [3, 2], 'mm_w');
    const b = g.placeholder('float64', [2], 'mm_b');
    const c = g.constant(new Tensor('float64', [2, 2], [1, -2, 0.5, 3]));
    const hidden = op('Tanh', g.addOperation('BiasAdd', { inputs: [op('MatMul', x, w), b] }).output(0));
    const y = sum(op('Mul', op('Square', hidden), c));
    checkGradient(
      y,
      [x, w, b],
      [
        [0.1, -0.4, 0.7, 1.1, -0.2, 0.3],
        [0.5, -0.3, 0.2, 0.8, -0.6, 0.4],
        [0.05, -0.1],
      ],
    );
  });

  it('several ys weighted by dys', () => {
    const x = g.placeholder('float64', [2], 'dy_x');
    const y1 = sum(op('Square', x));
    const y2 = sum(op('Exp', x));
    const dys = [g.constant(2, 'dy1', 'float64'), g.constant(3, 'dy2', 'float64')];
    const [grad] = g.addGradients([y1, y2], [x], dys);
    const got = values(s.runSync(grad, new Map([[x, new Tensor('float64', [2], [0.5, -1])]])));
    const expected = [0.5, -1].map((v) => 2 * 2 * v + 3 * Math.exp(v));
    got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12, `${v} vs ${expected[i]}`));
  });

  it('an unreachable x is an error naming it, or zeros with {unconnected: "zero"}', () => {
    const x = g.placeholder('float32', [2], 'reach_x');
    const lonely = g.placeholder('float32', [3], 'lonely');
    const y = sum(op('Square', x));
    assert.throws(
      () => g.addGradients(y, [x, lonely]),
      (e: Error) => {
        assert.ok(e instanceof TfhubError);
        assert.equal((e as TfhubError).code, 'ERR_UNCONNECTED_GRADIENT');
        assert.match(e.message, /lonely:0/);
        assert.doesNotMatch(e.message, /reach_x/);
        return true;
      },
    );
    const [gx, gz] = g.addGradients(y, [x, lonely], null, { unconnected: 'zero' });
    assert.deepEqual(gz.shape, [3]);
    const feed = new Map([
      [x, new Tensor('float32', [2], [1, 2])],
      [lonely, new Tensor('float32', [3], [7, 8, 9])],
    ]);
    const [rx, rz] = s.runSync([gx, gz], feed);
    assert.deepEqual(Array.from(rx.data() as Float32Array), [2, 4]);
    assert.deepEqual(Array.from(rz.data() as Float32Array), [0, 0, 0]);
    const [, none] = g.addGradients(y, [x, lonely], null, { unconnected: 'null' });
    assert.equal(none, null);
    // gradient ops go under their own prefix
    const [named] = g.addGradients(y, x, null, { prefix: 'my_grads' });
    assert.match(named.op.name, /^my_grads\//);
  });
});
