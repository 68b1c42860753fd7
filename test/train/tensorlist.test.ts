// Gradients through TensorLists (tf.TensorArray in TF2 graphs, Keras 3 RNN layers) vs Python's tf.GradientTape
// (test/fixtures/tensorlist_grads.json, written by test/fixtures/gen/make_tensorlist_grads.py), finite
// differences, 20 Adam steps on the Keras LSTM export, and loops carrying lists that have no gradient.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DType, Graph, Output, Session, Tensor } from '../../src';
import { FunctionLibrary, buildFunction } from '../../src/train';
import { assertClose, readJson, sumAll, values } from './helpers';
import { ModelOracle, checkAdamSteps, checkCentralDifferences, checkGradients } from './layer_oracle';

const oracle = readJson<{ models: Record<string, ModelOracle> }>('tensorlist_grads.json');

const MODELS = ['tl_loop_tf2', 'tl_ops_tf2', 'keras_lstm_tf2', 'keras_gru_tf2'];

for (const name of MODELS) {
  describe(`gradients through the TensorLists of ${name} vs tf.GradientTape`, () => {
    test('d loss / d x and d loss / d every variable match Python (1e-4), for every input', () =>
      checkGradients(name, oracle.models[name]));
  });
}

describe('finite differences through TensorLists', () => {
  // Central differences of the loss in float32 (eps 1e-2): loose, but independent of any oracle.
  for (const [name, entries] of [
    ['tl_loop_tf2', [0, 7, 13]],
    ['tl_ops_tf2', [1, 5, 10]],
    ['keras_lstm_tf2', [2, 17, 30]],
  ] as Array<[string, number[]]>) {
    test(`${name}: a few entries of d loss / d x agree with central differences`, () =>
      checkCentralDifferences(name, oracle.models[name], entries));
  }
});

describe('fine-tuning a Keras 3 LSTM export: 20 Adam steps', () => {
  test('losses match Python (tf.compat.v1.train.AdamOptimizer(0.01) on the reloaded SavedModel) within 1e-4', async () => {
    const losses = await checkAdamSteps('keras_lstm_tf2', oracle.models.keras_lstm_tf2, (g) => {
      // The LSTM's loop (inlined with the signature; its function's control outputs wait on it) runs once per step.
      const originals = g.operations().filter((op) => op.type.endsWith('While') && op.name.endsWith('/while'));
      assert.equal(originals.length, 1);
      const readers = originals[0].outputs.flatMap((o) => o.consumers()).length + originals[0].controlOutputs.length;
      assert.equal(readers, 0, 'the original loop is dead');
    });
    assert.ok(losses[20] < losses[0], 'the loss went down');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Hand-built loops: lists without a gradient.

const i32 = (g: Graph, v: number | number[]) =>
  g.constant(new Tensor('int32', Array.isArray(v) ? [v.length] : [], Array.isArray(v) ? v : [v]));
const f32 = (g: Graph, v: number) => g.constant(new Tensor('float32', [], [v]));
const op0 = (g: Graph, type: string, inputs: Array<Output | Output[]>, attrs: Record<string, unknown> = {}) =>
  g.addOperation(type, { inputs, attrs }).output(0);

/** An element of dtype `dtype` made from the float vector h (what a body writes into a list of that dtype). */
function elementOf(g: Graph, h: Output, dtype: DType): Output {
  if (dtype === 'string') return op0(g, 'AsString', [h]);
  if (dtype === 'bool') return op0(g, 'Greater', [h, f32(g, 0)]);
  return op0(g, 'Cast', [h], { DstT: dtype });
}

/**
 * A While over [i, h, list] for `iterations` steps: h ← 0.5·h + sin(h), and the body writes element(h) at index i
 * of a list of `dtype` reserved with `reserve` slots and element shape `elementShape` (-1: unknown). Returns the
 * While op; h starts at x.
 */
function loopWithList(g: Graph, x: Output, dtype: DType, iterations: number, reserve: number, elementShape: number | number[]) {
  const lib = new FunctionLibrary(g);
  const types: DType[] = ['int32', 'float32', 'variant'];
  const cond = buildFunction(lib, 'list_cond', types, (sg, [i]) => [op0(sg, 'Less', [i, i32(sg, iterations)])]);
  const body = buildFunction(lib, 'list_body', types, (sg, [i, h, list]) => {
    const h2 = op0(sg, 'AddV2', [op0(sg, 'Mul', [h, f32(sg, 0.5)]), op0(sg, 'Sin', [h])]);
    const l2 = op0(sg, 'TensorListSetItem', [list, i, elementOf(sg, h2, dtype)], { element_dtype: dtype });
    return [op0(sg, 'AddV2', [i, i32(sg, 1)]), h2, l2];
  });
  const list = op0(g, 'TensorListReserve', [i32(g, elementShape), i32(g, reserve)], { element_dtype: dtype });
  return g.addOperation('While', { inputs: [[i32(g, 0), x, list]], attrs: { T: types, cond, body } });
}

/** d sum(h_n) / d x of h ← 0.5·h + sin(h) applied n times, elementwise. */
function analytic(x: number[], n: number): number[] {
  return x.map((v) => {
    let h = v;
    let d = 1;
    for (let k = 0; k < n; k++) {
      d *= 0.5 + Math.cos(h);
      h = 0.5 * h + Math.sin(h);
    }
    return d;
  });
}

describe('loops carrying lists without a gradient', () => {
  const X = [0.3, -1.2, 2.0];

  for (const dtype of ['int32', 'int64', 'bool', 'string'] as DType[]) {
    test(`a list of ${dtype} elements: no gradient for the list, the float loop variable's is exact; asking for the list's is ERR_UNCONNECTED_GRADIENT`, async () => {
      const g = new Graph();
      try {
        const x = g.constant(new Tensor('float32', [3], X));
        const loop = loopWithList(g, x, dtype, 4, 4, [3]);
        // The loss also reads the list (stacked, made float where it can be): no gradient flows through it.
        let y = sumAll(g, loop.output(1));
        if (dtype !== 'string') {
          const stacked = op0(g, 'TensorListStack', [loop.output(2), i32(g, [3])], { element_dtype: dtype });
          y = op0(g, 'AddV2', [y, sumAll(g, op0(g, 'Cast', [stacked], { DstT: 'float32' }))]);
        }
        const [gx] = g.addGradients(y, x);
        const s = new Session(g);
        try {
          assertClose(values(await s.run(gx)), analytic(X, 4), { rtol: 1e-5, atol: 1e-6 }, `d y / dx past a ${dtype} list`);
        } finally {
          s.close();
        }
        assert.throws(() => g.addGradients(y, loop.output(2)), { code: 'ERR_UNCONNECTED_GRADIENT' });
      } finally {
        g.dispose();
      }
    });
  }

  test('a float list with unknown element shape, slots never written and no incoming gradient: the gradient runs and is exact', async () => {
    const g = new Graph();
    try {
      const x = g.constant(new Tensor('float32', [3], X));
      // 6 slots, 4 written, element shape unknown; the loss does not read the list.
      const loop = loopWithList(g, x, 'float32', 4, 6, -1);
      const [gx] = g.addGradients(sumAll(g, loop.output(1)), x);
      const s = new Session(g);
      try {
        assertClose(values(await s.run(gx)), analytic(X, 4), { rtol: 1e-5, atol: 1e-6 }, 'd y / dx');
      } finally {
        s.close();
      }
    } finally {
      g.dispose();
    }
  });

  test('reading a slot of a list nothing was written to, element shape unknown: INVALID_ARGUMENT at run time, no crash', async () => {
    const g = new Graph();
    try {
      const x = g.constant(new Tensor('float32', [3], X));
      // The loop runs no iteration: the list keeps 6 uninitialized slots of unknown shape.
      const loop = loopWithList(g, x, 'float32', 0, 6, -1);
      const item = op0(g, 'TensorListGetItem', [loop.output(2), i32(g, 5), i32(g, -1)], { element_dtype: 'float32' });
      const y = op0(g, 'AddV2', [sumAll(g, loop.output(1)), sumAll(g, item)]);
      const [gx] = g.addGradients(y, x);
      const s = new Session(g);
      try {
        await assert.rejects(s.run(gx), { code: 'INVALID_ARGUMENT' });
      } finally {
        s.close();
      }
    } finally {
      g.dispose();
    }
  });
});

describe('one forward loop in training: the consumers of a differentiated While read its accumulating copy', () => {
  const X = [0.3, -1.2, 2.0];

  test('before any run: the original While is left without consumers; numbers as before; a second gradient reuses the copy', async () => {
    const g = new Graph();
    try {
      const x = g.constant(new Tensor('float32', [3], X));
      const loop = loopWithList(g, x, 'float32', 4, 4, [3]);
      const y = sumAll(g, loop.output(1));
      const [gx] = g.addGradients(y, x);
      assert.equal(loop.outputs.flatMap((o) => o.consumers()).length, 0, 'nothing reads the original loop');
      assert.equal(loop.controlOutputs.length, 0, 'nothing waits on it');
      const whiles = () => g.operations().filter((op) => op.type === 'While').length;
      const before = whiles();
      // The loss now reads the accumulating loop: a second gradient differentiates it without another copy.
      const [gx2] = g.addGradients(y, x);
      assert.equal(whiles(), before + 1, 'one more backward loop, no second accumulating copy');
      const s = new Session(g);
      try {
        const [a, b, v] = await s.run([gx, gx2, y]);
        const expected = analytic(X, 4);
        assertClose(values(a), expected, { rtol: 1e-5, atol: 1e-6 }, 'd y / dx');
        assertClose(values(b), expected, { rtol: 1e-5, atol: 1e-6 }, 'd y / dx, second gradient');
        let h = X.slice();
        for (let k = 0; k < 4; k++) h = h.map((t) => 0.5 * t + Math.sin(t));
        assertClose(values(v), [h.reduce((p, q) => p + q, 0)], { rtol: 1e-5, atol: 1e-6 }, 'y');
      } finally {
        s.close();
      }
    } finally {
      g.dispose();
    }
  });

  test('after a session ran the graph: both loops stay (edits would not reach that session), the session keeps running', async () => {
    const g = new Graph();
    try {
      const x = g.constant(new Tensor('float32', [3], X));
      const loop = loopWithList(g, x, 'float32', 4, 4, [3]);
      const y = sumAll(g, loop.output(1));
      const s = new Session(g);
      try {
        const y0 = values(await s.run(y));
        const [gx] = g.addGradients(y, x);
        assert.ok(loop.output(1).consumers().length > 0, 'the original loop is still read');
        assertClose(values(await s.run(gx)), analytic(X, 4), { rtol: 1e-5, atol: 1e-6 }, 'd y / dx');
        assertClose(values(await s.run(y)), y0, { rtol: 0, atol: 0 }, 'y');
      } finally {
        s.close();
      }
    } finally {
      g.dispose();
    }
  });

  test('graph.updateInput / setControlInputs: rewire one input / the control inputs; a wrong dtype, index or graph is a typed error; a session that ran the consumer keeps running it unedited', async () => {
    const g = new Graph();
    const other = new Graph();
    try {
      const a = g.constant(new Tensor('float32', [2], [1, 2]));
      const b = g.constant(new Tensor('float32', [2], [10, 20]));
      const n = i32(g, 1);
      const sum = g.addOperation('AddV2', { inputs: [a, a] });
      assert.throws(() => g.updateInput(sum, 1, n), { code: 'ERR_INVALID_ARG_VALUE' });
      assert.throws(() => g.updateInput(sum, 2, b), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => g.updateInput(sum, 0, other.constant(new Tensor('float32', [2], [0, 0]))), { code: 'ERR_GRAPH_MISMATCH' });
      assert.throws(() => g.updateInput(sum, 0, 'b' as never), { code: 'ERR_INVALID_ARG_TYPE' });
      g.updateInput(sum, 1, b);
      assert.deepEqual(
        sum.inputs.map((o) => o.name),
        [a.name, b.name],
      );
      const s = new Session(g);
      try {
        assert.deepEqual(values(await s.run(sum.output(0))), [11, 22]);
        g.updateInput(sum, 1, a);
        assert.deepEqual(values(await s.run(sum.output(0))), [11, 22], 'the edit has no effect on a session that ran the op');
      } finally {
        s.close();
      }
      // Control inputs: replaced as a whole.
      const first = g.addOperation('NoOp', { name: 'first' });
      const second = g.addOperation('NoOp', { name: 'second' });
      const waiting = g.addOperation('Identity', { inputs: [a], controlInputs: [first] });
      g.setControlInputs(waiting, [second, first]);
      assert.deepEqual(waiting.controlInputs.map((o) => o.name).sort(), ['first', 'second']);
      g.setControlInputs(waiting, [second]);
      assert.deepEqual(
        waiting.controlInputs.map((o) => o.name),
        ['second'],
      );
      assert.throws(() => g.setControlInputs(waiting, [other.addOperation('NoOp')]), { code: 'ERR_GRAPH_MISMATCH' });
      assert.throws(() => g.setControlInputs(waiting, 'x' as never), { code: 'ERR_INVALID_ARG_TYPE' });
      const fresh = new Session(g);
      try {
        assert.deepEqual(values(await fresh.run(sum.output(0))), [2, 4], 'a new session runs the edited graph');
      } finally {
        fresh.close();
      }
    } finally {
      g.dispose();
      other.dispose();
    }
  });
});
