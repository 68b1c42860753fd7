// Fine-tuning mlp_v1 through hub.Module(spec, {trainable: true}) vs Python (test/fixtures/mlp_v1_finetune.json):
// loss, every gradient, the loss after one SGD step, the trainable variables, and the ["train"] graph's
// regularization loss.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Graph, GraphKeys, Operation, Output, Session, Tensor, Variable, hub } from '../../src';
import { runPython } from '../helpers/python';
import { AdamOptimizer, GradientDescentOptimizer } from '../../src/train/optimizers';
import { getOrCreateGlobalStep } from '../../src/train/optimizer';
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
    const names = g
      .getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES)
      .map((v) => v.name)
      .sort();
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
    const train = new AdamOptimizer({ learningRate: 0.01 }).minimize(total, {
      globalStep: step,
      controlInputs: g.getCollection(GraphKeys.UPDATE_OPS),
    });
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
    const bn = readJson<{
      train_update: {
        inputs: { default: TensorJson };
        update_ops: string[];
        moving_mean_after: TensorJson;
        moving_variance_after: TensorJson;
      };
    }>('batchnorm_v1.json').train_update;
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
      assertClose(
        values(s.runSync(mean)),
        bn.moving_mean_after.values as number[],
        { rtol: 1e-5, atol: 1e-6 },
        'moving_mean after one step',
      );
      assertClose(
        values(s.runSync(variance)),
        bn.moving_variance_after.values as number[],
        { rtol: 1e-5, atol: 1e-6 },
        'moving_variance after one step',
      );
    } finally {
      s.close();
      g.dispose();
    }
  });
});

// Python's tensorflow_hub no longer has hub.Module; tf.compat.v1's SavedModel loader reads the same files (a TF1 Hub
// module is a SavedModel with module-relative variable names) and is what hub.Module itself used underneath.
const PY_LOAD_TF1_MODULE = `
import json, sys
import numpy as np
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
req = json.load(sys.stdin)
with tf.compat.v1.Session(graph=tf.Graph()) as sess:
    mg = tf.compat.v1.saved_model.loader.load(sess, [], req["dir"])
    sig = mg.signature_def["default"]
    x = sess.graph.get_tensor_by_name(sig.inputs["default"].name)
    y = sess.graph.get_tensor_by_name(sig.outputs["default"].name)
    out = sess.run(y, {x: np.array(req["x"], np.float32).reshape(req["shape"])})
print(json.dumps([float(v) for v in out.ravel()]))
`;

describe('fine-tune → export → reload', () => {
  test('mlp_v1: three SGD steps, Module.export; Node reloads the fine-tuned outputs exactly, Python within 1e-6', async (t) => {
    const { g, m } = await setup();
    const x = constant(g, fx.x, 'float32', 'x');
    const out = m.call(x) as Output;
    const loss = meanSquaredError(g, out, constant(g, fx.target, 'float32', 'target'));
    const train = new GradientDescentOptimizer(fx.learning_rate).minimize(loss);
    const s = new Session(g);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-finetune-export-'));
    const dir = path.join(root, 'module');
    try {
      await s.run(g.globalVariablesInitializer());
      const before = values(await s.run(out));
      for (let i = 0; i < 3; i++) await s.run(train);
      const tuned = values(await s.run(out));
      assert.notDeepEqual(tuned, before, 'the steps changed the outputs');
      await m.export(dir, s);

      const f = await hub.evalFunctionForModule(dir);
      try {
        const reloaded = (await f.call(new Tensor('float32', fx.x.shape, Float32Array.from(fx.x.values as number[])))) as Tensor;
        assert.deepEqual(Array.from(reloaded.data() as Float32Array), tuned, 'Node reload: exactly the fine-tuned outputs');
      } finally {
        f.close();
      }

      const r = runPython(PY_LOAD_TF1_MODULE, JSON.stringify({ dir, x: fx.x.values, shape: fx.x.shape }));
      if (!r) {
        t.diagnostic('python tensorflow not installed: the Python reload check was skipped');
        return;
      }
      assert.equal(r.status, 0, `python failed: ${r.stderr}`);
      assertClose(JSON.parse(r.stdout.trim().split('\n').pop()!), tuned, { atol: 1e-6, rtol: 1e-6 }, 'Python reload');
    } finally {
      s.close();
      g.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
