// Gradients through functional control flow (While / If / Case in TF2 SavedModels inlined by KerasLayer) vs
// Python's tf.GradientTape (test/fixtures/control_flow_grads.json, written by
// test/fixtures/gen/make_control_flow_grads.py), finite differences, and 20 Adam steps on the recurrent fixture.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, Output, Session, Tensor, Variable } from '../../src';
import { KerasLayer } from '../../src/hub/keras_layer';
import { AdamOptimizer } from '../../src/train/optimizers';
import { FunctionLibrary, buildFunction, condGradient, whileGradient } from '../../src/train';
import { FIXTURES, TensorJson, assertClose, constant, meanSquaredError, readJson, values } from './helpers';

interface Call {
  x: TensorJson;
  r: TensorJson;
  y: TensorJson;
  loss: number;
  gradients: Record<string, TensorJson>;
}
interface ModelOracle {
  calls: Call[];
  variables: string[];
  adam?: { learning_rate: number; x: TensorJson; target: TensorJson; losses: number[]; final_loss: number };
}
const oracle = readJson<{ models: Record<string, ModelOracle> }>('control_flow_grads.json');

/** sum(r * layer(x)) in a fresh graph, with x a placeholder; the trainable variables by Python name (`w:0`). */
async function lossGraph(name: string) {
  const layer = await KerasLayer.load(path.join(FIXTURES, name), { trainable: true });
  const g = new Graph();
  const x = g.placeholder('float32', null, 'x');
  const r = g.placeholder('float32', null, 'r');
  const y = layer.apply(g, x) as Output;
  const prod = g.addOperation('Mul', { inputs: [y, r] }).output(0);
  const rank = g.addOperation('Rank', { inputs: [prod] }).output(0);
  const axes = g
    .addOperation('Range', { inputs: [g.constant(new Tensor('int32', [], [0])), rank, g.constant(new Tensor('int32', [], [1]))] })
    .output(0);
  const loss = g.addOperation('Sum', { inputs: [prod, axes] }).output(0);
  const weights = new Map(layer.trainableWeights(g).map((v) => [v.name.replace(/^.*\//, ''), v]));
  return { g, x, r, y, loss, weights };
}

function feedOf(x: Output, r: Output, call: Call): Map<Output, Tensor> {
  return new Map([
    [x, new Tensor('float32', call.x.shape, call.x.values as number[])],
    [r, new Tensor('float32', call.r.shape, call.r.values as number[])],
  ]);
}

for (const name of ['cf_while_tf2', 'cf_cond_tf2', 'cf_nested_tf2', 'cf_rnn_tf2']) {
  describe(`gradients through ${name} vs tf.GradientTape`, () => {
    test('d loss / d x and d loss / d every variable match Python (1e-4), for every input', async () => {
      const m = oracle.models[name];
      const { g, x, r, y, loss, weights } = await lossGraph(name);
      assert.deepEqual([...weights.keys()].sort(), [...m.variables].sort());
      const vars = m.variables.map((v) => weights.get(v)!);
      const grads = g.addGradients(loss, [x, ...vars]);
      const s = new Session(g);
      try {
        await s.run(g.globalVariablesInitializer());
        for (const [i, call] of m.calls.entries()) {
          const got = await s.run([y, loss, ...grads], feedOf(x, r, call));
          assertClose(values(got[0]), call.y.values as number[], { rtol: 1e-5, atol: 1e-5 }, `call ${i}: output`);
          assertClose(values(got[1]), [call.loss], { rtol: 1e-5, atol: 1e-5 }, `call ${i}: loss`);
          assertClose(values(got[2]), call.gradients.x.values as number[], { rtol: 1e-4, atol: 1e-4 }, `call ${i}: d loss / dx`);
          m.variables.forEach((v, k) => {
            assert.deepEqual(got[3 + k].shape, call.gradients[v].shape, `${v} gradient shape`);
            assertClose(values(got[3 + k]), call.gradients[v].values as number[], { rtol: 1e-4, atol: 1e-4 }, `call ${i}: d loss / d ${v}`);
          });
        }
      } finally {
        s.close();
        g.dispose();
      }
    });
  });
}

describe('finite differences through loops and conds', () => {
  // Central differences of the loss in float32 (eps 1e-2): loose, but independent of any oracle.
  for (const [name, entries] of [
    ['cf_while_tf2', [0, 2]],
    ['cf_nested_tf2', [1, 2]],
    ['cf_rnn_tf2', [3, 17]],
  ] as Array<[string, number[]]>) {
    test(`${name}: a few entries of d loss / d x agree with central differences`, async () => {
      const call = oracle.models[name].calls[0];
      const { g, x, r, loss } = await lossGraph(name);
      const [gx] = g.addGradients(loss, x);
      const s = new Session(g);
      try {
        await s.run(g.globalVariablesInitializer());
        const grad = values(await s.run(gx, feedOf(x, r, call)));
        const eps = 1e-2;
        for (const k of entries) {
          const at = (delta: number) => {
            const xs = (call.x.values as number[]).slice();
            xs[k] += delta;
            return s.run(loss, feedOf(x, r, { ...call, x: { ...call.x, values: xs } }));
          };
          const fd = (values(await at(eps))[0] - values(await at(-eps))[0]) / (2 * eps);
          assertClose([grad[k]], [fd], { rtol: 2e-2, atol: 2e-2 }, `${name}: d loss / dx[${k}]`);
        }
      } finally {
        s.close();
        g.dispose();
      }
    });
  }
});

describe('training through a loop: 20 Adam steps on the recurrent encoder', () => {
  test('losses match Python (tf.compat.v1.train.AdamOptimizer(0.01)) within 1e-4', async () => {
    const adam = oracle.models.cf_rnn_tf2.adam!;
    const layer = await KerasLayer.load(path.join(FIXTURES, 'cf_rnn_tf2'), { trainable: true });
    const g = new Graph();
    const y = layer.apply(g, constant(g, adam.x, 'float32', 'x')) as Output;
    const loss = meanSquaredError(g, y, constant(g, adam.target, 'float32', 'target'));
    const train = new AdamOptimizer({ learningRate: adam.learning_rate }).minimize(loss, {
      varList: layer.trainableWeights(g) as Variable[],
    });
    const s = new Session(g);
    try {
      await s.run(g.globalVariablesInitializer());
      const losses: number[] = [];
      for (let step = 0; step < adam.losses.length; step++) {
        losses.push(values(await s.run(loss))[0]);
        await s.run(train);
      }
      losses.push(values(await s.run(loss))[0]);
      assertClose(losses, [...adam.losses, adam.final_loss], { rtol: 1e-4, atol: 1e-4 }, 'loss before each step, then after the last');
      assert.ok(losses[20] < losses[0] / 5, 'the loss went down');
    } finally {
      s.close();
      g.dispose();
    }
  });
});

describe('call ops and the public builders', () => {
  test('StatefulPartitionedCall / PartitionedCall of a library function: gradients of its floating outputs (analytic)', async () => {
    const g = new Graph();
    const lib = new FunctionLibrary(g);
    // f(a, b, n) = (sin(a) * b, a * a, n + 1): the second output is left unconnected, the third is an integer.
    const f = buildFunction(lib, 'sin_times', ['float32', 'float32', 'int32'], (sg, [a, b, n]) => [
      sg.addOperation('Mul', { inputs: [sg.addOperation('Sin', { inputs: [a] }).output(0), b] }).output(0),
      sg.addOperation('Mul', { inputs: [a, a] }).output(0),
      sg.addOperation('AddV2', { inputs: [n, sg.constant(new Tensor('int32', [], [1]))] }).output(0),
    ]);
    const a = g.constant(new Tensor('float32', [3], [0.5, -1, 2]));
    const b = g.constant(new Tensor('float32', [3], [1.5, 0.25, -3]));
    const n = g.constant(new Tensor('int32', [], [4]));
    const s = new Session(g);
    try {
      for (const type of ['StatefulPartitionedCall', 'PartitionedCall']) {
        const call = g.addOperation(type, {
          inputs: [[a, b, n]],
          attrs: { Tin: ['float32', 'float32', 'int32'], Tout: ['float32', 'float32', 'int32'], f },
        });
        const [ga, gb] = g.addGradients(
          g.addOperation('Sum', { inputs: [call.output(0), g.constant(new Tensor('int32', [1], [0]))] }).output(0),
          [a, b],
        );
        const [va, vb] = await s.run([ga, gb]);
        assertClose(
          values(va),
          [0.5, -1, 2].map((x, i) => Math.cos(x) * [1.5, 0.25, -3][i]),
          { rtol: 1e-6, atol: 1e-6 },
          `${type}: d/da`,
        );
        assertClose(values(vb), [0.5, -1, 2].map(Math.sin), { rtol: 1e-6, atol: 1e-6 }, `${type}: d/db`);
      }
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('whileGradient / condGradient refuse other ops with ERR_INVALID_ARG_VALUE', () => {
    const g = new Graph();
    const c = g.constant(new Tensor('float32', [], [1]));
    assert.throws(() => whileGradient(g, c.op, [null]), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => condGradient(g, c.op, [null]), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => new FunctionLibrary(g).get('nope'), { code: 'ERR_INVALID_FUNCTION' });
    g.dispose();
  });
});
