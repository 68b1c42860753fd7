// Gradients through functional control flow (While / If / Case in TF2 SavedModels inlined by KerasLayer) vs
// Python's tf.GradientTape (test/fixtures/control_flow_grads.json, written by
// test/fixtures/gen/make_control_flow_grads.py), finite differences, and 20 Adam steps on the recurrent fixture.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Session, Tensor } from '../../src';
import { FunctionLibrary, buildFunction, condGradient, whileGradient } from '../../src/train';
import { assertClose, readJson, values } from './helpers';
import { ModelOracle, checkAdamSteps, checkCentralDifferences, checkGradients } from './layer_oracle';

const oracle = readJson<{ models: Record<string, ModelOracle> }>('control_flow_grads.json');

for (const name of ['cf_while_tf2', 'cf_cond_tf2', 'cf_nested_tf2', 'cf_rnn_tf2']) {
  describe(`gradients through ${name} vs tf.GradientTape`, () => {
    test('d loss / d x and d loss / d every variable match Python (1e-4), for every input', () =>
      checkGradients(name, oracle.models[name]));
  });
}

describe('finite differences through loops and conds', () => {
  // Central differences of the loss in float32 (eps 1e-2): loose, but independent of any oracle.
  for (const [name, entries] of [
    ['cf_while_tf2', [0, 2]],
    ['cf_nested_tf2', [1, 2]],
    ['cf_rnn_tf2', [3, 17]],
  ] as Array<[string, number[]]>) {
    test(`${name}: a few entries of d loss / d x agree with central differences`, () =>
      checkCentralDifferences(name, oracle.models[name], entries));
  }
});

describe('training through a loop: 20 Adam steps on the recurrent encoder', () => {
  test('losses match Python (tf.compat.v1.train.AdamOptimizer(0.01)) within 1e-4', async () => {
    const losses = await checkAdamSteps('cf_rnn_tf2', oracle.models.cf_rnn_tf2);
    assert.ok(losses[20] < losses[0] / 5, 'the loss went down');
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
