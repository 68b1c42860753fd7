// hub.KerasLayer over a TF1 Hub module (mlp_v1): delegated to hub.Module, trainable too (Python refuses
// trainable=True there). Gradients and one SGD step vs test/fixtures/mlp_v1_finetune.json.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, GraphKeys, Output, Variable, hub } from '../../src';
import { KerasLayer } from '../../src/hub/keras_layer';
import { FIXTURES, TensorJson, assertClose, constant, meanSquaredError, readJson, sgdStep, values, withSession } from './helpers';

const MODULE = path.join(FIXTURES, 'mlp_v1');
const fx = readJson<{
  x: TensorJson;
  target: TensorJson;
  learning_rate: number;
  loss_before: number;
  gradients: Record<string, TensorJson>;
  loss_after_one_step: number;
  trainable_variables: string[];
  train_graph_regularization_losses: number[];
}>('mlp_v1_finetune.json');

describe('KerasLayer over a TF1 Hub module (mlp_v1)', () => {
  test('defaults: signature and output "default"; format tf1_hub_module', async () => {
    const layer = await KerasLayer.load(MODULE);
    assert.equal(layer.format, 'tf1_hub_module');
    assert.equal(layer.signature, 'default');
    assert.equal(layer.outputKey, 'default');
    assert.deepEqual(layer.tags, []);
    const g = new Graph();
    const y = layer.apply(g, constant(g, fx.x)) as Output;
    assert.deepEqual(y.shape, [fx.x.shape[0], 10]);
    assert.ok(layer.moduleIn(g) instanceof hub.Module);
    assert.equal(layer.moduleIn(g)!.scope, 'keras_layer');
    g.dispose();
  });

  test('trainable: gradients of mean(square(default - target)) and one SGD step match Python (1e-4)', async () => {
    const layer = await KerasLayer.load(MODULE, { trainable: true });
    const g = new Graph();
    const x = constant(g, fx.x, 'x');
    const target = constant(g, fx.target, 'target');
    const out = layer.apply(g, x) as Output;
    const loss = meanSquaredError(g, out, target);
    const weights = layer.trainableWeights(g);
    assert.deepEqual(weights.map((v) => v.name.replace(/^keras_layer\//, 'module/')).sort(), [...fx.trainable_variables].sort());
    assert.deepEqual(layer.nonTrainableWeights(g), []);
    assert.equal(g.getCollection(GraphKeys.TRAINABLE_VARIABLES).length, fx.trainable_variables.length);
    const grads = g.addGradients(loss, weights, null, { unconnected: 'null' });
    const byName = new Map(weights.map((v, i) => [v.opName.replace(/^keras_layer\//, ''), grads[i]]));
    assert.equal(byName.get('fruit/k'), null, "fruit/k is not on the default signature's path");
    const step = sgdStep(
      g,
      weights.map((v, i) => [grads[i], v] as [Output, Variable]).filter(([gr]) => gr !== null),
      fx.learning_rate,
    );
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      assertClose(values(await s.run(loss)), fx.loss_before, { rtol: 1e-5 }, 'loss');
      for (const [name, want] of Object.entries(fx.gradients)) {
        const got = await s.run(byName.get(name)!);
        assert.deepEqual(got.shape, want.shape, `${name} gradient shape`);
        assertClose(values(got), want.values as number[], { rtol: 1e-4, atol: 1e-4 }, `d loss / d ${name}`);
      }
      await s.run(step);
      assertClose(values(await s.run(loss)), fx.loss_after_one_step, { rtol: 1e-4 }, 'loss after one SGD step');
    });
  });

  test('signatureOutputsAsDict, other signatures, losses of the ["train"] variant, not trainable', async () => {
    const all = await KerasLayer.load(MODULE, { signatureOutputsAsDict: true });
    const pets = await KerasLayer.load(MODULE, { signature: 'fruit_to_pet', outputKey: 'cats' });
    const g = new Graph();
    const dict = all.apply(g, constant(g, fx.x)) as Record<string, Output>;
    assert.deepEqual(Object.keys(dict).sort(), ['default', 'hidden_activations']);
    assert.deepEqual(all.trainableWeights(g), []);
    assert.ok(all.nonTrainableWeights(g).length > 0);
    assert.deepEqual(all.losses(g), []);
    assert.throws(() => pets.apply(g, constant(g, fx.x)), { code: 'ERR_SIGNATURE_INPUTS' });
    g.dispose();
    await assert.rejects(KerasLayer.load(MODULE, { signature: 'fruit_to_pet', outputKey: 'nope' }), { code: 'ERR_INVALID_ARG_VALUE' });
    await assert.rejects(KerasLayer.load(MODULE, { tags: ['nope'] }), { code: 'ERR_NO_SUCH_GRAPH_VARIANT' });

    const train = await KerasLayer.load(MODULE, { trainable: true, tags: ['train'] });
    const g2 = new Graph();
    train.apply(g2, constant(g2, fx.x));
    const losses = train.losses(g2);
    assert.equal(losses.length, fx.train_graph_regularization_losses.length);
    await withSession(g2, async (s) => {
      await s.run(g2.globalVariablesInitializer());
      assertClose(values(await s.run(losses[0])), fx.train_graph_regularization_losses[0], { rtol: 1e-5 }, 'regularization loss');
    });
  });
});
