// The gradients tfhub-node implements in TypeScript (src/train/gradients.ts) vs finite differences (float64) and
// vs Python's tf.gradients (test/fixtures/gradients_oracle.json, made by test/fixtures/gen/make_train_oracles.py);
// registerGradient overrides; ERR_NO_GRADIENT; the `unconnected` option.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Operation, Output, Session, Tensor, train, variable } from '../../src';
import { registerGradient } from '../../src/train/gradients';
import { CONTROL_FLOW_GRADIENTS } from '../../src/train/control_flow';
import { V1_CONTROL_FLOW_GRADIENTS } from '../../src/train/control_flow_v1';
import { LIST_GRADIENTS } from '../../src/train/list_grads';
import { TensorJson, assertClose, constant, readJson, sumAll, values } from './helpers';

interface GradientCase {
  op: string;
  x: TensorJson;
  w: TensorJson;
  output: TensorJson;
  gradient: TensorJson;
  labels?: TensorJson;
  indices?: TensorJson;
  segment_ids?: TensorJson;
  num_segments?: number;
  k?: number;
}

const oracle = readJson<{ cases: GradientCase[] }>('gradients_oracle.json');

/** Builds op(x) for a case; x is float64 (ResourceGather is built by caseGraph, on a variable). */
function buildOp(g: Graph, c: GradientCase, x: Output): Output {
  if (c.op === 'SparseSoftmaxCrossEntropyWithLogits') {
    return g.addOperation(c.op, { inputs: [x, constant(g, c.labels!, 'int64')] }).output(0);
  }
  if (c.op.startsWith('SparseSegment')) {
    const inputs = [x, constant(g, c.indices!, 'int32'), constant(g, c.segment_ids!, 'int32')];
    if (c.op.endsWith('WithNumSegments')) inputs.push(g.constant(new Tensor('int32', [], [c.num_segments!])));
    return g.addOperation(c.op, { inputs }).output(0);
  }
  if (c.op === 'TopKV2') return g.addOperation('TopKV2', { inputs: [x, g.constant(new Tensor('int32', [], [c.k!]))] }).output(0);
  throw new Error(`unknown case ${c.op}`);
}

/**
 * The case's graph: a float64 placeholder `x`, loss = sum(w · op(x)) and its gradient with respect to x (for
 * ResourceGather: with respect to a variable initialized from x). `evaluate(xValues)` gives [loss, output].
 */
function caseGraph(c: GradientCase) {
  const g = new Graph();
  const x = g.placeholder('float64', c.x.shape, 'x');
  let out: Output;
  let wrt: Output | { readonly handle: Output };
  let init: Operation | null = null;
  if (c.op === 'ResourceGather') {
    const v = variable(g, { name: 'params', initialValue: x });
    init = v.initializer;
    out = g.addOperation('ResourceGather', { inputs: [v.handle, constant(g, c.indices!, 'int32')], attrs: { dtype: 'float64' } }).output(0);
    wrt = v;
  } else {
    out = buildOp(g, c, x);
    wrt = x;
  }
  const w = constant(g, c.w, 'float64', 'w');
  const loss = sumAll(g, g.addOperation('Mul', { inputs: [w, out] }).output(0));
  const [grad] = g.addGradients(loss, wrt);
  const s = new Session(g);
  const feed = (xs: number[]) => ({ 'x:0': new Tensor('float64', c.x.shape, xs) });
  const run = (xs: number[], fetches: Output[]) => {
    const f = feed(xs);
    try {
      if (init) s.runSync(init, f);
      return s.runSync(fetches, f).map(values);
    } finally {
      f['x:0'].dispose();
    }
  };
  return { g, s, out, loss, grad, run };
}

describe('TypeScript gradients vs finite differences and Python tf.gradients (float64)', () => {
  for (const c of oracle.cases) {
    test(c.op, () => {
      const { g, s, out, loss, grad, run } = caseGraph(c);
      try {
        const known = grad.shape === null ? c.gradient.shape : grad.shape.map((d, i) => (d === -1 ? c.gradient.shape[i] : d));
        assert.deepEqual(known, c.gradient.shape);
        const x0 = c.x.values as number[];
        const [outV, gradV] = run(x0, [out, grad]);
        assertClose(outV, c.output.values as number[], { rtol: 1e-12, atol: 1e-12 }, `${c.op} output`);
        assertClose(gradV, c.gradient.values as number[], { rtol: 1e-10, atol: 1e-12 }, `${c.op} gradient vs Python`);
        // Central differences of the loss, element by element.
        const h = 1e-6;
        const fd = x0.map((_, i) => {
          const plus = [...x0];
          const minus = [...x0];
          plus[i] += h;
          minus[i] -= h;
          return (run(plus, [loss])[0][0] - run(minus, [loss])[0][0]) / (2 * h);
        });
        assertClose(gradV, fd, { rtol: 1e-6, atol: 1e-7 }, `${c.op} gradient vs finite differences`);
      } finally {
        s.close();
        g.dispose();
      }
    });
  }

  test('the oracle covers every gradient registered in TypeScript', () => {
    const covered = new Set(oracle.cases.map((c) => c.op));
    // Control flow has its own oracles: functional (test/train/control_flow.test.ts, control_flow_grads.json) and
    // TF1 v1 (test/train/control_flow_v1.test.ts, control_flow_grad_v1.json) with TF1 TensorArrays
    // (test/train/tensor_array_v1.test.ts); so do the TensorList ops (test/train/tensorlist.test.ts, tensorlist_grads.json).
    const controlFlow = new Set([...CONTROL_FLOW_GRADIENTS, ...V1_CONTROL_FLOW_GRADIENTS, ...LIST_GRADIENTS].map(([op]) => op));
    for (const op of train.registeredGradients()) assert.ok(covered.has(op) || controlFlow.has(op), `${op} has an oracle case`);
  });
});

describe('the graph cut at TypeScript gradients: ops whose inputs depend on each other', () => {
  // With a TypeScript gradient on the path (TopKV2 over all elements: its gradient passes the ones through),
  // backprop asks TF for one op at a time; an input that is an ancestor of another input of the same op must get
  // only its direct gradient (the path between the inputs is followed by backprop itself, once).
  const X = [0.5, -1, 2];
  const cases: Array<{ label: string; build: (g: Graph, x: Output) => Output; d: (x: number) => number }> = [
    {
      label: 'x · tanh(x)',
      build: (g, x) => g.addOperation('Mul', { inputs: [x, g.addOperation('Tanh', { inputs: [x] }).output(0)] }).output(0),
      d: (x) => Math.tanh(x) + x * (1 - Math.tanh(x) ** 2),
    },
    {
      label: 'a residual x + sin(x)',
      build: (g, x) => g.addOperation('AddV2', { inputs: [x, g.addOperation('Sin', { inputs: [x] }).output(0)] }).output(0),
      d: (x) => 1 + Math.cos(x),
    },
    {
      label: 'AddN(x, exp(x), x · exp(x)) (three inputs, a chain)',
      build: (g, x) => {
        const e = g.addOperation('Exp', { inputs: [x] }).output(0);
        const xe = g.addOperation('Mul', { inputs: [x, e] }).output(0);
        return g.addOperation('AddN', { inputs: [[x, e, xe]] }).output(0);
      },
      d: (x) => 1 + Math.exp(x) + Math.exp(x) * (1 + x),
    },
  ];
  for (const c of cases) {
    test(`d sum(${c.label}) / dx`, () => {
      const g = new Graph();
      const s = new Session(g);
      try {
        const x = g.placeholder('float64', [3], 'x');
        const y = c.build(g, x);
        const top = g.addOperation('TopKV2', { inputs: [y, constant(g, { dtype: 'int32', shape: [], values: [3] }, 'int32')] }).output(0);
        const [dx] = g.addGradients(sumAll(g, top), x);
        const got = values(s.runSync(dx, new Map([[x, new Tensor('float64', [3], X)]])));
        assertClose(got, X.map(c.d), { rtol: 1e-12, atol: 1e-12 }, c.label);
      } finally {
        s.close();
        g.dispose();
      }
    });
  }
});

describe('registerGradient', () => {
  /** d sum(f(x)) / dx for x = [0.4, 1.6, -2.2] where f is the op `type`. */
  function gradOf(type: string): number[] {
    const g = new Graph();
    try {
      const x = g.constant([0.4, 1.6, -2.2]);
      const y = g.addOperation(type, { inputs: [x] }).output(0);
      const [dx] = g.addGradients(sumAll(g, y), x);
      const s = new Session(g);
      try {
        return values(s.runSync(dx));
      } finally {
        s.close();
      }
    } finally {
      g.dispose();
    }
  }

  test('an override replaces the C++ gradient of an op type, and the returned function restores it', () => {
    assertClose(gradOf('Square'), [0.8, 3.2, -4.4], {}, 'C++ gradient of Square');
    const calls: string[] = [];
    const restore = registerGradient('Square', (g, op, [dy]) => {
      calls.push(op.name);
      // A deliberately different gradient: 10·dy.
      return [g.addOperation('Mul', { inputs: [dy!, g.constant(new Tensor(op.inputs[0].dtype, [], [10]))] }).output(0)];
    });
    try {
      assert.ok(train.registeredGradients().includes('Square'));
      assert.deepEqual(gradOf('Square'), [10, 10, 10]);
      assert.deepEqual(calls, ['Square']);
    } finally {
      restore();
    }
    assert.ok(!train.registeredGradients().includes('Square'));
    assertClose(gradOf('Square'), [0.8, 3.2, -4.4], {}, 'C++ gradient of Square again');
  });

  test('a gradient for an op TF has none for (straight-through Round); without it ERR_NO_GRADIENT names the op', () => {
    assert.throws(
      () => gradOf('Round'),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_NO_GRADIENT');
        assert.match(e.message, /Round/);
        assert.match(e.message, /'Round'/, 'the message names the operation');
        assert.match(e.message, /registerGradient\('Round'/);
        return true;
      },
    );
    const restore = registerGradient('Round', (_g, _op, [dy]) => [dy]);
    try {
      assert.deepEqual(gradOf('Round'), [1, 1, 1]);
    } finally {
      restore();
    }
    assert.throws(() => gradOf('Round'), { code: 'ERR_NO_GRADIENT' });
  });

  test('ERR_NO_GRADIENT names the op when the graph is cut at TypeScript gradients too', () => {
    const g = new Graph();
    try {
      const x = g.placeholder('float32', [2, 5], 'x');
      const top = g.addOperation('TopKV2', { inputs: [x, g.constant(new Tensor('int32', [], [3]))] }).output(0);
      const cum = g.addOperation('Cumprod', { name: 'my_cumprod', inputs: [top, g.constant(new Tensor('int32', [], [1]))] }).output(0);
      assert.throws(
        () => g.addGradients(sumAll(g, cum), x),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ERR_NO_GRADIENT');
          assert.match(e.message, /Cumprod op 'my_cumprod'/);
          return true;
        },
      );
    } finally {
      g.dispose();
    }
  });

  test('a gradient function returning the wrong number of gradients is ERR_GRADIENT_FUNCTION', () => {
    const restore = registerGradient('Square', () => []);
    try {
      assert.throws(() => gradOf('Square'), { code: 'ERR_GRADIENT_FUNCTION' });
    } finally {
      restore();
    }
  });

  test('registerGradient checks its arguments', () => {
    assert.throws(() => registerGradient('', (() => []) as never), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => registerGradient('Square', 42 as never), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('addGradients unconnected option', () => {
  test("'error' (default) names the x, 'zero' gives zeros, 'null' gives null", () => {
    const g = new Graph();
    try {
      const x = g.constant([1, 2], 'x');
      const other = g.constant([3, 4, 5], 'other');
      const y = sumAll(g, g.addOperation('Square', { inputs: [x] }).output(0));
      assert.throws(
        () => g.addGradients(y, [x, other]),
        (e: Error & { code?: string }) => e.code === 'ERR_UNCONNECTED_GRADIENT' && e.message.includes('other:0'),
      );
      const [dx, dz] = g.addGradients(y, [x, other], null, { unconnected: 'zero' });
      const [, dn] = g.addGradients(y, [x, other], null, { unconnected: 'null' });
      assert.equal(dn, null);
      const s = new Session(g);
      try {
        const [a, b] = s.runSync([dx, dz]);
        assert.deepEqual(values(a), [2, 4]);
        assert.deepEqual(values(b), [0, 0, 0]);
      } finally {
        s.close();
      }
    } finally {
      g.dispose();
    }
  });
});

describe('per-op C++ gradients when inputs share an ancestor', () => {
  // A TypeScript gradient (TopKV2) on the path makes backprop ask TF for one op at a time; an op whose inputs share
  // an ancestor (a, f(a)) must get each path's gradient once (TF's builder, started at a, would also differentiate
  // f inside the op's own gradient).
  const A = [0.3, -1.2, 2.0];
  const cases: Array<[string, (g: Graph, a: Output) => Output, (a: number) => number]> = [
    [
      'a * tanh(a)',
      (g, a) => g.addOperation('Mul', { inputs: [a, g.addOperation('Tanh', { inputs: [a] }).output(0)] }).output(0),
      (a) => Math.tanh(a) + a * (1 - Math.tanh(a) ** 2),
    ],
    [
      'a + square(a)',
      (g, a) => g.addOperation('AddV2', { inputs: [a, g.addOperation('Square', { inputs: [a] }).output(0)] }).output(0),
      (a) => 1 + 2 * a,
    ],
    [
      'exp(a) / (1 + sin(a))',
      (g, a) => {
        const den = g
          .addOperation('AddV2', { inputs: [g.constant(new Tensor('float64', [], [1])), g.addOperation('Sin', { inputs: [a] }).output(0)] })
          .output(0);
        return g.addOperation('RealDiv', { inputs: [g.addOperation('Exp', { inputs: [a] }).output(0), den] }).output(0);
      },
      (a) => (Math.exp(a) * (1 + Math.sin(a)) - Math.exp(a) * Math.cos(a)) / (1 + Math.sin(a)) ** 2,
    ],
  ];
  for (const [what, build, derivative] of cases) {
    test(`d sum(${what} + topk(a)) / da is exact`, async () => {
      const g = new Graph();
      try {
        const a = g.constant(new Tensor('float64', [3], A));
        const topk = g.addOperation('TopKV2', { inputs: [a, g.constant(new Tensor('int32', [], [1]))] }).output(0);
        const y = g.addOperation('AddV2', { inputs: [sumAll(g, build(g, a)), sumAll(g, topk)] }).output(0);
        const [ga] = g.addGradients(y, a);
        const s = new Session(g);
        try {
          const expected = A.map((v, i) => derivative(v) + (i === 2 ? 1 : 0));
          assertClose(values(await s.run(ga)), expected, { rtol: 1e-10, atol: 1e-12 }, what);
        } finally {
          s.close();
        }
      } finally {
        g.dispose();
      }
    });
  }
});
