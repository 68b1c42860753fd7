// Fine-tuning mlp_v1 through hub.Module(spec, {trainable: true}) vs Python (test/fixtures/mlp_v1_finetune.json):
// loss, every gradient, the loss after one SGD step, the trainable variables, and the ["train"] graph's
// regularization loss.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, GraphKeys, Operation, Output, Session, Variable, hub } from '../../src';
import { AdamOptimizer, GradientDescentOptimizer, getOrCreateGlobalStep } from '../../src/train/optimizers';
import { FIXTURES, TensorJson, assertClose, constant, meanSquaredError, readJson, values } from './helpers';

interface FinetuneOracle {
  tags: string[];
  x: TensorJson;
  target: TensorJson;
  learning_rate: number;
  loss_before: number;
  gradients: Record<string, TensorJson>;
  loss_after_one_step: number;
  trainable_variables: string[];
  train_graph_regularization_losses: number[];
}

const fx = readJson<FinetuneOracle>('mlp_v1_finetune.json');
const MODULE = path.join(FIXTURES, 'mlp_v1');

async function setup(options: { tags?: string[] } = {}) {
  const g = new Graph();
  const spec = await hub.loadModuleSpec(MODULE);
  const m = new hub.Module(spec, { graph: g, trainable: true, tags: options.tags });
  return { g, m };
}

describe('fine-tuning mlp_v1 (trainable: true) vs Python', () => {
  test('trainable_variables are the module variables Python lists', async () => {
    const { g } = await setup();
    const names = g.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES).map((v) => v.name).sort();
    assert.deepEqual(names, [...fx.trainable_variables].sort());
    g.dispose();
  });

  test('loss, the gradient of every dense variable (1e-4), and the loss after one SGD step (lr 0.1)', async () => {
    const { g, m } = await setup();
    const x = constant(g, fx.x, 'float32', 'x');
    const target = constant(g, fx.target, 'float32', 'target');
    const out = m.call(x) as Output;
    const loss = meanSquaredError(g, out, target);
    const opt = new GradientDescentOptimizer(fx.learning_rate);
    const gradsAndVars = opt.computeGradients(loss);
    const byName = new Map(gradsAndVars.map(([grad, v]) => [v.opName.replace(/^module\//, ''), grad]));
    // module/fruit/k is trainable but not on the default signature's path.
    assert.equal(byName.get('fruit/k'), null);
    const names = Object.keys(fx.gradients).sort();
    assert.deepEqual(names, ['dense/bias', 'dense/kernel', 'dense_1/bias', 'dense_1/kernel']);
    const train = opt.applyGradients(gradsAndVars);
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      assertClose(values(s.runSync(loss)), fx.loss_before, { rtol: 1e-5 }, 'loss');
      const grads = s.runSync(names.map((n) => byName.get(n)!));
      names.forEach((n, i) => {
        assert.deepEqual(grads[i].shape, fx.gradients[n].shape, `${n} gradient shape`);
        assertClose(values(grads[i]), fx.gradients[n].values as number[], { rtol: 1e-4, atol: 1e-4 }, `d loss / d ${n}`);
      });
      s.runSync(train);
      assertClose(values(s.runSync(loss)), fx.loss_after_one_step, { rtol: 1e-4 }, 'loss after one SGD step');
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('["train"] graph: the regularization losses of trainable: true sum to Python\'s value', async () => {
    const { g, m } = await setup({ tags: ['train'] });
    assert.deepEqual(m.tags, ['train']);
    const losses = g.getCollection<Output>(GraphKeys.REGULARIZATION_LOSSES);
    assert.equal(losses.length, fx.train_graph_regularization_losses.length);
    const total = losses.length === 1 ? losses[0] : g.addOperation('AddN', { inputs: [losses] }).output(0);
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      const want = fx.train_graph_regularization_losses.reduce((a, b) => a + b, 0);
      assertClose(values(s.runSync(total)), want, { rtol: 1e-5 }, 'sum of regularization_losses');
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('trainable: false exports no trainable variables or regularization losses', async () => {
    const g = new Graph();
    const spec = await hub.loadModuleSpec(MODULE);
    new hub.Module(spec, { graph: g, tags: ['train'] });
    assert.deepEqual(g.getCollection(GraphKeys.TRAINABLE_VARIABLES), []);
    assert.deepEqual(g.getCollection(GraphKeys.REGULARIZATION_LOSSES), []);
    g.dispose();
  });

  test('a few Adam steps with the regularization loss added decrease the total loss', async () => {
    const { g, m } = await setup({ tags: ['train'] });
    const x = constant(g, fx.x, 'float32', 'x');
    const target = constant(g, fx.target, 'float32', 'target');
    const out = m.call(x) as Output;
    const reg = g.getCollection<Output>(GraphKeys.REGULARIZATION_LOSSES);
    const total = g.addOperation('AddN', { inputs: [[meanSquaredError(g, out, target), ...reg]] }).output(0);
    const step = getOrCreateGlobalStep(g);
    const train = new AdamOptimizer({ learningRate: 0.01 }).minimize(total, { globalStep: step, controlInputs: g.getCollection(GraphKeys.UPDATE_OPS) });
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      // Dropout makes single steps noisy: compare averages over 5 evaluations.
      const avg = () => {
        let sum = 0;
        for (let i = 0; i < 5; i++) sum += values(s.runSync(total))[0];
        return sum / 5;
      };
      const before = avg();
      for (let i = 0; i < 30; i++) s.runSync(train);
      const after = avg();
      assert.ok(after < before, `loss ${before} → ${after}`);
      const gs = s.runSync(step.value());
      assert.equal((gs.data() as BigInt64Array)[0], 30n);
      gs.dispose();
    } finally {
      s.close();
      g.dispose();
    }
  });

  // The fixture README calls mlp_refvars_v1 a reference-variable module, but its graph holds VarHandleOps
  // (resource variables): the kernel is checked against whatever kind the variables are.
  test('mlp_refvars_v1 (the same network): same loss before and after one SGD step, with the kernel of its variable kind', async () => {
    const g = new Graph();
    const spec = await hub.loadModuleSpec(path.join(FIXTURES, 'mlp_refvars_v1'));
    const m = new hub.Module(spec, { graph: g, trainable: true });
    const vars = g.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES);
    assert.equal(vars.length, fx.trainable_variables.length);
    const kernel = vars[0].isResource ? 'ResourceApplyGradientDescent' : 'ApplyGradientDescent';
    const x = constant(g, fx.x, 'float32', 'x');
    const target = constant(g, fx.target, 'float32', 'target');
    const loss = meanSquaredError(g, m.call(x) as Output, target);
    const opt = new GradientDescentOptimizer(fx.learning_rate);
    const train = opt.minimize(loss);
    assert.equal(g.operations().filter((op) => op.type === kernel).length, 4);
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      const l0 = values(s.runSync(loss))[0];
      s.runSync(train);
      const l1 = values(s.runSync(loss))[0];
      // Same weights as mlp_v1 (the refvars module is the same network): same numbers.
      assertClose(l0, fx.loss_before, { rtol: 1e-5 }, 'loss');
      assertClose(l1, fx.loss_after_one_step, { rtol: 1e-4 }, 'loss after one SGD step');
    } finally {
      s.close();
      g.dispose();
    }
  });
});

describe('update_ops through controlInputs', () => {
  test('batchnorm_v1 ["train"]: the moving statistics update once per train step, as in Python', async () => {
    const bn = readJson<{ train_update: { inputs: { default: TensorJson }; update_ops: string[]; moving_mean_after: TensorJson; moving_variance_after: TensorJson } }>('batchnorm_v1.json').train_update;
    const g = new Graph();
    const spec = await hub.loadModuleSpec(path.join(FIXTURES, 'batchnorm_v1'));
    const m = new hub.Module(spec, { graph: g, trainable: true, tags: ['train'] });
    const out = m.call(constant(g, bn.inputs.default, 'float32')) as Output;
    const updateOps = g.getCollection<Output | Operation>(GraphKeys.UPDATE_OPS);
    // One op and one tensor (`AssignMovingAvg_1/updated:0`), as Python's collection holds them.
    assert.equal(updateOps.length, bn.update_ops.length);
    assert.ok(updateOps.some((u) => u instanceof Output));
    const loss = meanSquaredError(g, out, g.addOperation('ZerosLike', { inputs: [out] }).output(0));
    const train = new GradientDescentOptimizer(0.1).minimize(loss, { controlInputs: updateOps });
    const mean = (m.variableMap['bn/moving_mean'] as Variable).value();
    const variance = (m.variableMap['bn/moving_variance'] as Variable).value();
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      s.runSync(train);
      assertClose(values(s.runSync(mean)), bn.moving_mean_after.values as number[], { rtol: 1e-5, atol: 1e-6 }, 'moving_mean after one step');
      assertClose(values(s.runSync(variance)), bn.moving_variance_after.values as number[], { rtol: 1e-5, atol: 1e-6 }, 'moving_variance after one step');
    } finally {
      s.close();
      g.dispose();
    }
  });
});
