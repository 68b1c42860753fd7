// layer.export(path, session): fine-tune in Node, export, reload with hub.load (Node) and with Python's
// tf.saved_model.load (skipped when Python TensorFlow is not installed).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph, Output, Session, Tensor, Variable, hub } from '../../src';
import { readCheckpointIndex, readCheckpointString } from '../../src/hub/checkpoint';
import { KerasLayer } from '../../src/hub/keras_layer';
import { decodeTrackableObjectGraph } from '../../src/proto';
import { runPython } from '../helpers/python';
import { FIXTURES, TF2_FIXTURES, TensorJson, constant, meanSquaredError, readJson, sgdStep, tempDir, values } from './helpers';

const MLP = path.join(FIXTURES, 'tf2_mlp');
const finetune = readJson<{ x: TensorJson; target: TensorJson }>('tf2_mlp_finetune.json');

interface FineTuned {
  dir: string;
  cleanup: () => void;
  /** __call__(x, False) after the step. */
  output: number[];
  /** Variable name (Python's, e.g. `w1:0`) → values after the step. */
  variables: Map<string, number[]>;
}

/** Fine-tunes tf2_mlp one SGD step (lr 0.1) through KerasLayer and exports it to a fresh directory. */
async function fineTuneAndExport(): Promise<FineTuned> {
  const layer = await KerasLayer.load(MLP, { trainable: true });
  const g = new Graph();
  const x = constant(g, finetune.x, 'x');
  const y = layer.apply(g, x) as Output;
  const loss = meanSquaredError(g, y, constant(g, finetune.target, 'target'));
  const weights = layer.trainableWeights(g);
  const grads = g.addGradients(loss, weights);
  const step = sgdStep(
    g,
    weights.map((v, i) => [grads[i], v]),
    0.1,
  );
  const s = new Session(g);
  const { dir: root, cleanup } = tempDir('export');
  const dir = path.join(root, 'exported');
  try {
    await s.run(g.globalVariablesInitializer());
    const before = values(await s.run(y));
    await s.run(step);
    const output = values(await s.run(y));
    assert.notDeepEqual(output, before, 'the step changed the model');
    const variables = new Map<string, number[]>();
    for (const v of layer.weights(g)) variables.set(v.name.replace(/^keras_layer\//, ''), values(await s.run(v.value())));
    await layer.export(dir, s);
    return { dir, cleanup, output, variables };
  } catch (e) {
    cleanup();
    throw e;
  } finally {
    s.close();
    g.dispose();
  }
}

describe('KerasLayer.export', () => {
  test('the checkpoint index reader lists what tf.train.load_checkpoint lists (tf2_mlp)', async () => {
    const index = await readCheckpointIndex(path.join(MLP, 'variables', 'variables'));
    const got = Object.fromEntries([...index.entries.values()].map((e) => [e.key, [e.dtype, e.shape]]));
    assert.deepEqual(got, {
      _CHECKPOINTABLE_OBJECT_GRAPH: ['string', []],
      'b1/.ATTRIBUTES/VARIABLE_VALUE': ['float32', [32]],
      'b2/.ATTRIBUTES/VARIABLE_VALUE': ['float32', [4]],
      'save_counter/.ATTRIBUTES/VARIABLE_VALUE': ['int64', []],
      'step/.ATTRIBUTES/VARIABLE_VALUE': ['int32', []],
      'w1/.ATTRIBUTES/VARIABLE_VALUE': ['float32', [16, 32]],
      'w2/.ATTRIBUTES/VARIABLE_VALUE': ['float32', [32, 4]],
    });
    const graph = decodeTrackableObjectGraph(await readCheckpointString(index, '_CHECKPOINTABLE_OBJECT_GRAPH'), 'object graph');
    assert.deepEqual((graph.nodes[0].children ?? []).map((c) => c.localName).slice(0, 5), ['w1', 'b1', 'w2', 'b2', 'step']);
  });

  test('tf2_mlp fine-tuned one SGD step in Node, exported, reloaded with hub.load: outputs and variables equal exactly', async () => {
    const ft = await fineTuneAndExport();
    try {
      assert.deepEqual(fs.readdirSync(ft.dir).sort(), ['fingerprint.pb', 'saved_model.pb', 'variables']);
      assert.deepEqual(fs.readdirSync(path.join(ft.dir, 'variables')).sort(), ['variables.data-00000-of-00001', 'variables.index']);
      assert.deepEqual(fs.readFileSync(path.join(ft.dir, 'saved_model.pb')), fs.readFileSync(path.join(MLP, 'saved_model.pb')));
      const model = await hub.load(ft.dir);
      try {
        const xt = new Tensor('float32', finetune.x.shape, finetune.x.values as number[]);
        const got = values((await model.call(xt, false)) as Tensor);
        xt.dispose();
        assert.deepEqual(got, ft.output);
        assert.deepEqual(
          model.variables.map((v) => v.name),
          [...ft.variables.keys()],
        );
        for (const v of model.variables) assert.deepEqual(values(await v.read()), ft.variables.get(v.name), v.name);
        // A layer over the export computes the same.
        const again = await KerasLayer.load(ft.dir);
        const g = new Graph();
        const y = again.apply(g, constant(g, finetune.x)) as Output;
        const s = new Session(g);
        try {
          await s.run(g.globalVariablesInitializer());
          assert.deepEqual(values(await s.run(y)), ft.output);
        } finally {
          s.close();
          g.dispose();
        }
      } finally {
        model.close();
      }
    } finally {
      ft.cleanup();
    }
  });

  test('Python tf.saved_model.load reads the export (outputs and variables of the fine-tuned model)', async (t) => {
    const ft = await fineTuneAndExport();
    try {
      const script = [
        'import json, sys',
        'import tensorflow as tf',
        'import numpy as np',
        'd = json.loads(sys.stdin.read())',
        'm = tf.saved_model.load(d["dir"])',
        'x = np.asarray(d["x"]["values"], np.float32).reshape(d["x"]["shape"])',
        'y = m(tf.constant(x), False)',
        'print(json.dumps({"output": [float(v) for v in y.numpy().reshape(-1)],',
        '  "variables": {v.name: [float(a) for a in np.asarray(v.numpy()).reshape(-1)] for v in m.variables},',
        '  "trainable": [v.name for v in m.trainable_variables], "losses": [float(l()) for l in m.regularization_losses]}))',
      ].join('\n');
      const r = runPython(script, JSON.stringify({ dir: ft.dir, x: finetune.x }));
      if (r === null) {
        t.skip('python tensorflow not installed');
        return;
      }
      assert.equal(r.status, 0, `python failed: ${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        output: number[];
        variables: Record<string, number[]>;
        trainable: string[];
        losses: number[];
      };
      assert.deepEqual(out.trainable, ['w1:0', 'b1:0', 'w2:0', 'b2:0']);
      assert.deepEqual(Object.keys(out.variables).sort(), [...ft.variables.keys()].sort());
      for (const [name, v] of ft.variables) assert.deepEqual(out.variables[name].map(Math.fround), v, name);
      out.output.forEach((v, i) =>
        assert.ok(Math.abs(v - ft.output[i]) <= 1e-5 * Math.max(1, Math.abs(v)), `output ${i}: Python ${v}, Node ${ft.output[i]}`),
      );
      assert.equal(out.losses.length, 1);
    } finally {
      ft.cleanup();
    }
  });

  test('never over an existing saved_model.pb; only from a graph the layer was applied in', async () => {
    const layer = await KerasLayer.load(MLP, { trainable: true });
    const g = new Graph();
    layer.apply(g, constant(g, finetune.x));
    const s = new Session(g);
    const { dir, cleanup } = tempDir('exists');
    try {
      await s.run(g.globalVariablesInitializer());
      await layer.export(dir, s);
      await assert.rejects(layer.export(dir, s), { code: 'ERR_ALREADY_EXISTS' });
      const other = new Graph();
      const s2 = new Session(other);
      await assert.rejects(layer.export(path.join(dir, 'other'), s2), { code: 'ERR_NOT_BUILT' });
      s2.close();
      other.dispose();
      await assert.rejects(layer.export(dir, {} as Session), { code: 'ERR_INVALID_ARG_TYPE' });
    } finally {
      s.close();
      g.dispose();
      cleanup();
    }
  });

  test('checkpoint tensors of objects not in the graph (a MutableHashTable, save_counter) are copied from the original', async () => {
    const FUNCTIONS = path.join(TF2_FIXTURES, 'functions_tf2');
    const tokens = readJson<{ calls: Array<{ callable?: string; inputs: TensorJson[]; outputs: TensorJson }> }>(
      path.join(TF2_FIXTURES, 'functions_tf2.json'),
    ).calls.find((c) => c.callable === 'tokens')!;
    const layer = await KerasLayer.load(FUNCTIONS, { trainable: true });
    const g = new Graph();
    const weights = layer.trainableWeights(g);
    assert.ok(weights.length > 0);
    // Change one variable: the export must carry the new value.
    const v0 = weights[0];
    const zero = g.addOperation('ZerosLike', { inputs: [v0.value()] }).output(0);
    const assign = v0.assign(zero);
    const s = new Session(g);
    const { dir, cleanup } = tempDir('saveables');
    try {
      await s.run(g.globalVariablesInitializer());
      await s.run(assign);
      await layer.export(dir, s);
      const model = await hub.load(dir);
      try {
        const t = new Tensor('string', tokens.inputs[0].shape, tokens.inputs[0].values as string[]);
        assert.deepEqual(values((await model.functions.tokens(t)) as Tensor), tokens.outputs.values.map(Number), 'the restored table');
        t.dispose();
        const restored = model.variables.find((v) => v.name === v0.name.replace(/^keras_layer\//, ''));
        assert.ok(restored, `${v0.name} in the export`);
        assert.ok(values(await restored!.read()).every((x) => x === 0));
      } finally {
        model.close();
      }
    } finally {
      s.close();
      g.dispose();
      cleanup();
    }
  });

  test('keras_cnn_tf2 (variables the signature does not use are copied) and a TF1 Hub module (hub.Module.export)', async () => {
    const cnn = await KerasLayer.load(path.join(FIXTURES, 'keras_cnn_tf2'), {
      signature: 'serving_default',
      outputKey: 'output_0',
      trainable: true,
    });
    const fx = readJson<{ image: TensorJson }>('keras_cnn_tf2_finetune.json');
    const g = new Graph();
    const out = cnn.apply(g, constant(g, fx.image)) as Output;
    const bias = cnn.trainableWeights(g).find((v: Variable) => v.name === 'keras_layer/dense/bias:0')!;
    const bump = bias.assign(
      g.addOperation('AddV2', { inputs: [bias.value(), g.constant(new Tensor('float32', [3], [0.5, -0.5, 0.25]))] }).output(0),
    );
    const s = new Session(g);
    const { dir, cleanup } = tempDir('cnn');
    try {
      await s.run(g.globalVariablesInitializer());
      await s.run(bump);
      const want = values(await s.run(out));
      await cnn.export(path.join(dir, 'cnn'), s);
      const model = await hub.load(path.join(dir, 'cnn'));
      try {
        const t = new Tensor('float32', fx.image.shape, fx.image.values as number[]);
        const got = await model.signatures.serving_default({ image: t });
        t.dispose();
        const y = values(got.output_0 as Tensor);
        y.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-6, `output ${i}: ${v} vs ${want[i]}`));
      } finally {
        model.close();
      }

      const tf1 = await KerasLayer.load(path.join(FIXTURES, 'mlp_v1'), { trainable: true });
      const g1 = new Graph();
      const x = constant(g1, readJson<{ x: TensorJson }>('mlp_v1_finetune.json').x);
      const y1 = tf1.apply(g1, x) as Output;
      const w = tf1.trainableWeights(g1).find((v) => v.name === 'keras_layer/dense_1/bias:0')!;
      const inc = w.assign(g1.addOperation('AddV2', { inputs: [w.value(), g1.constant(new Tensor('float32', [], [1]))] }).output(0));
      const s1 = new Session(g1);
      try {
        await s1.run(g1.globalVariablesInitializer());
        await s1.run(inc);
        const want1 = values(await s1.run(y1));
        await tf1.export(path.join(dir, 'tf1'), s1);
        assert.ok(fs.existsSync(path.join(dir, 'tf1', 'tfhub_module.pb')));
        const again = await KerasLayer.load(path.join(dir, 'tf1'));
        const g2 = new Graph();
        const y2 = again.apply(g2, constant(g2, readJson<{ x: TensorJson }>('mlp_v1_finetune.json').x)) as Output;
        const s2 = new Session(g2);
        try {
          await s2.run(g2.globalVariablesInitializer());
          assert.deepEqual(values(await s2.run(y2)), want1);
        } finally {
          s2.close();
          g2.dispose();
        }
        await assert.rejects(tf1.export(path.join(dir, 'tf1'), s1), { code: 'ERR_ALREADY_EXISTS' });
      } finally {
        s1.close();
        g1.dispose();
      }
    } finally {
      s.close();
      g.dispose();
      cleanup();
    }
  });
});
