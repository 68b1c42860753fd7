// hub.KerasLayer calling a signature of a Keras 3 export (keras_cnn_tf2, signature 'serving_default'): outputs
// vs test/fixtures/keras_cnn_tf2.json, gradients (variables and input) and one SGD step vs tf.GradientTape
// (test/fixtures/keras_cnn_tf2_finetune.json, made by test/fixtures/gen/make_keras_oracles.py).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, GraphKeys, Output, Variable } from '../../src';
import { KerasLayer } from '../../src/hub/keras_layer';
import { FIXTURES, TensorJson, assertClose, constant, meanSquaredError, readJson, sgdStep, values, withSession } from './helpers';

const CNN = path.join(FIXTURES, 'keras_cnn_tf2');
const oracle = readJson<{ calls: Array<{ signature: string; inputs: Record<string, TensorJson>; outputs: Record<string, TensorJson> }> }>(
  'keras_cnn_tf2.json',
);
const fx = readJson<{
  image: TensorJson;
  target: TensorJson;
  output: TensorJson;
  loss_before: number;
  trainable_variables: string[];
  variables: string[];
  gradients: TensorJson[];
  input_gradient: TensorJson;
  learning_rate: number;
  loss_after_one_step: number;
}>('keras_cnn_tf2_finetune.json');

function names(vars: Variable[]): string[] {
  return vars.map((v) => v.name.replace(/^keras_layer\//, ''));
}

describe('KerasLayer over keras_cnn_tf2 (signature serving_default)', () => {
  test('outputs equal the oracle of every call', async () => {
    const layer = await KerasLayer.load(CNN, { signature: 'serving_default', outputKey: 'output_0' });
    const g = new Graph();
    const calls = oracle.calls.filter((c) => c.signature === 'serving_default');
    assert.ok(calls.length > 0);
    const outs = calls.map((c) => layer.apply(g, { image: constant(g, c.inputs.image) }) as Output);
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      const got = await s.run(outs);
      calls.forEach((c, i) => assertClose(values(got[i]), c.outputs.output_0.values as number[], { rtol: 1e-5, atol: 1e-6 }, `call ${i}`));
    });
  });

  test('trainable: gradients w.r.t. the trainable variables and the image match tf.GradientTape (1e-4); one SGD step', async () => {
    const layer = await KerasLayer.load(CNN, { signature: 'serving_default', outputKey: 'output_0', trainable: true });
    const g = new Graph();
    const image = constant(g, fx.image, 'image');
    const target = constant(g, fx.target, 'target');
    const out = layer.apply(g, image) as Output;
    const loss = meanSquaredError(g, out, target);
    const weights = layer.trainableWeights(g);
    assert.deepEqual(names(weights), fx.trainable_variables);
    assert.deepEqual(names(layer.weights(g)).sort(), [...fx.variables].sort());
    assert.deepEqual(names(layer.nonTrainableWeights(g)), ['bn/moving_mean:0', 'bn/moving_variance:0']);
    assert.deepEqual(names(g.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES)), fx.trainable_variables);
    const grads = g.addGradients(loss, [...weights, image]);
    const step = sgdStep(
      g,
      weights.map((v, i) => [grads[i], v]),
      fx.learning_rate,
    );
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      const [o, l, ...gs] = await s.run([out, loss, ...grads]);
      assertClose(values(o), fx.output.values as number[], { rtol: 1e-5, atol: 1e-6 }, 'output');
      assertClose(values(l), fx.loss_before, { rtol: 1e-5 }, 'loss');
      fx.trainable_variables.forEach((name, i) => {
        assert.deepEqual(gs[i].shape, fx.gradients[i].shape, `${name} gradient shape`);
        assertClose(values(gs[i]), fx.gradients[i].values as number[], { rtol: 1e-4, atol: 1e-4 }, `d loss / d ${name}`);
      });
      assertClose(values(gs[gs.length - 1]), fx.input_gradient.values as number[], { rtol: 1e-4, atol: 1e-5 }, 'd loss / d image');
      await s.run(step);
      assertClose(values(await s.run(loss)), fx.loss_after_one_step, { rtol: 1e-4 }, 'loss after one SGD step');
    });
  });
});
