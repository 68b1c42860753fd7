// hub.KerasLayer over TF2 SavedModels: __call__ and signatures inlined into the caller's graph, variables per
// (layer, graph), gradients vs tf.GradientTape (test/fixtures/tf2_mlp_finetune.json), weights, losses, training.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, GraphKeys, Output, Session, Tensor, Variable, hub } from '../../src';
import { KerasLayer } from '../../src/hub/keras_layer';
import { FIXTURES, TF2_FIXTURES, TensorJson, assertClose, constant, meanSquaredError, readJson, values, withSession } from './helpers';

const MLP = path.join(FIXTURES, 'tf2_mlp');
const finetune = readJson<{
  x: TensorJson;
  target: TensorJson;
  loss_before: number;
  gradients: Record<string, TensorJson>;
  regularization_losses: number[];
}>('tf2_mlp_finetune.json');
const mlpOracle = readJson<{ calls: Array<{ signature?: string; callable?: string; inputs: unknown; outputs: unknown }> }>('tf2_mlp.json');
const mlpCall = mlpOracle.calls.find((c) => c.callable === '__call__')!;
const mlpSignature = mlpOracle.calls.find((c) => c.signature === 'serving_default')!;

/** Variable names relative to the layer scope, as Python names them (`w1:0`). */
function relative(vars: Variable[], scope = 'keras_layer'): string[] {
  return vars.map((v) => v.name.slice(scope.length + 1));
}

describe('KerasLayer over tf2_mlp (__call__)', () => {
  test('gradients of mean(square(__call__(x, False) - target)) w.r.t. the trainable weights match tf.GradientTape (1e-4)', async () => {
    const layer = await KerasLayer.load(MLP, { trainable: true });
    const g = new Graph();
    const x = constant(g, finetune.x, 'x');
    const target = constant(g, finetune.target, 'target');
    const y = layer.apply(g, x, { training: false }) as Output;
    assert.ok(y instanceof Output);
    assert.deepEqual(y.shape, [3, 4]);
    const loss = meanSquaredError(g, y, target);
    const weights = layer.trainableWeights(g);
    assert.deepEqual(relative(weights).sort(), Object.keys(finetune.gradients).sort());
    const grads = g.addGradients(loss, weights);
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      assertClose(values(await s.run(loss)), finetune.loss_before, { rtol: 1e-5 }, 'loss');
      const got = await s.run(grads);
      relative(weights).forEach((name, i) => {
        assert.deepEqual(got[i].shape, finetune.gradients[name].shape, `${name} gradient shape`);
        assertClose(values(got[i]), finetune.gradients[name].values as number[], { rtol: 1e-4, atol: 1e-4 }, `d loss / d ${name}`);
      });
    });
  });

  test("outputs equal the oracle and hub.load's __call__", async () => {
    const layer = await KerasLayer.load(MLP);
    const [xJson] = mlpCall.inputs as [TensorJson, TensorJson];
    const g = new Graph();
    const y = layer.apply(g, constant(g, xJson)) as Output;
    const model = await hub.load(MLP);
    try {
      const xt = new Tensor('float32', xJson.shape, xJson.values as number[]);
      const want = values((await model.call(xt, false)) as Tensor);
      xt.dispose();
      await withSession(g, async (s) => {
        await s.run(g.globalVariablesInitializer());
        const got = values(await s.run(y));
        assertClose(got, (mlpCall.outputs as TensorJson).values as number[], { rtol: 1e-5 }, '__call__ vs oracle');
        assertClose(got, want, { rtol: 1e-6, atol: 1e-7 }, '__call__ vs hub.load');
      });
    } finally {
      model.close();
    }
  });

  test('JS values and Tensors are accepted as inputs (made constants)', async () => {
    const layer = await KerasLayer.load(MLP);
    const [xJson] = mlpCall.inputs as [TensorJson, TensorJson];
    const g = new Graph();
    const rows: number[][] = [];
    for (let i = 0; i < xJson.shape[0]; i++) rows.push((xJson.values as number[]).slice(i * 16, (i + 1) * 16));
    const fromArray = layer.apply(g, rows) as Output;
    const t = new Tensor('float32', xJson.shape, xJson.values as number[]);
    const fromTensor = layer.apply(g, t) as Output;
    t.dispose();
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      const [a, b] = await s.run([fromArray, fromTensor]);
      const want = (mlpCall.outputs as TensorJson).values as number[];
      assertClose(values(a), want, { rtol: 1e-5 }, 'from a JS array');
      assertClose(values(b), want, { rtol: 1e-5 }, 'from a Tensor');
    });
  });

  test('variables: created once per (layer, graph) under the layer scope, shared by every apply, restored by globalVariablesInitializer', async () => {
    const layer = await KerasLayer.load(MLP, { trainable: true });
    const g = new Graph();
    const x = g.placeholder('float32', [-1, 16], 'x');
    const handles = () =>
      g
        .operations()
        .filter((op) => op.type === 'VarHandleOp')
        .map((op) => op.name)
        .sort();
    const y1 = layer.apply(g, x) as Output;
    const first = handles();
    assert.deepEqual(first, ['keras_layer/b1', 'keras_layer/b2', 'keras_layer/step', 'keras_layer/w1', 'keras_layer/w2']);
    for (const name of first) assert.equal(g.operation(name)!.getAttr('shared_name'), name);
    const y2 = layer.apply(g, x) as Output;
    assert.deepEqual(handles(), first, 'a second apply creates no variables');
    assert.notEqual(y1.name, y2.name);
    assert.equal(g.getCollection(GraphKeys.GLOBAL_VARIABLES).length, 5);
    assert.deepEqual(relative(g.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES)), ['w1:0', 'b1:0', 'w2:0', 'b2:0']);
    // A second layer in the same graph gets its own scope and variables.
    const other = await KerasLayer.load(MLP);
    other.apply(g, x);
    assert.equal(handles().filter((n) => n.startsWith('keras_layer_1/')).length, 5);
    assert.equal(g.getCollection(GraphKeys.TRAINABLE_VARIABLES).length, 4, 'the non-trainable layer adds no trainable variables');
    // Another graph: its own variables.
    const g2 = new Graph();
    const w1 = layer.trainableWeights(g2)[0];
    assert.equal(w1.graph, g2);
    assert.notEqual(w1, layer.trainableWeights(g)[0]);
    g2.dispose();
    const [xJson] = mlpCall.inputs as [TensorJson, TensorJson];
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      const feed = new Tensor('float32', xJson.shape, xJson.values as number[]);
      const [a, b] = await s.run([y1, y2], new Map([[x, feed]]));
      feed.dispose();
      assert.deepEqual(values(a), values(b));
      const w = await s.run(layer.trainableWeights(g)[0].value());
      assert.deepEqual(w.shape, [16, 32]);
      w.dispose();
    });
  });

  test('weights and losses: trainable vs not (as Python: trainable_weights empty and no losses unless trainable)', async () => {
    const frozen = await KerasLayer.load(MLP);
    const g = new Graph();
    assert.deepEqual(frozen.trainableWeights(g), []);
    assert.deepEqual(relative(frozen.nonTrainableWeights(g)), ['w1:0', 'b1:0', 'w2:0', 'b2:0', 'step:0']);
    assert.deepEqual(frozen.losses(g), []);
    assert.equal(g.getCollection(GraphKeys.TRAINABLE_VARIABLES).length, 0);
    assert.equal(g.getCollection(GraphKeys.REGULARIZATION_LOSSES).length, 0);
    g.dispose();

    const trainable = await KerasLayer.load(MLP, { trainable: true });
    const g2 = new Graph();
    assert.deepEqual(relative(trainable.trainableWeights(g2)), ['w1:0', 'b1:0', 'w2:0', 'b2:0']);
    assert.deepEqual(relative(trainable.nonTrainableWeights(g2)), ['step:0']);
    assert.deepEqual(relative(trainable.weights(g2)), ['w1:0', 'b1:0', 'w2:0', 'b2:0', 'step:0']);
    assert.ok(trainable.trainableWeights(g2).every((v) => v.trainable));
    const losses = trainable.losses(g2);
    assert.equal(losses.length, finetune.regularization_losses.length);
    assert.deepEqual(
      trainable.losses(g2).map((l) => l.name),
      losses.map((l) => l.name),
      'the same Outputs on every call',
    );
    assert.deepEqual(
      g2.getCollection<Output>(GraphKeys.REGULARIZATION_LOSSES).map((l) => l.name),
      losses.map((l) => l.name),
    );
    // The loss depends on w1: a gradient flows.
    const [dw1] = g2.addGradients(losses[0], [trainable.trainableWeights(g2)[0]]);
    await withSession(g2, async (s) => {
      await s.run(g2.globalVariablesInitializer());
      assertClose(values(await s.run(losses[0])), finetune.regularization_losses[0], { rtol: 1e-5 }, 'regularization loss');
      assert.deepEqual((await s.run(dw1)).shape, [16, 32]);
    });
  });

  test('a second session on the graph restores the same values', async () => {
    const layer = await KerasLayer.load(MLP);
    const g = new Graph();
    const [w1] = layer.nonTrainableWeights(g);
    const init = g.globalVariablesInitializer();
    await withSession(g, async (s) => {
      await s.run(init);
      const a = values(await s.run(w1.value()));
      const s2 = new Session(g);
      try {
        await s2.run(init);
        assert.deepEqual(values(await s2.run(w1.value())), a);
      } finally {
        s2.close();
      }
    });
  });
});

describe('KerasLayer signatures', () => {
  test('tf2_mlp serving_default: outputKey selects one output, signatureOutputsAsDict returns all (= the oracle)', async () => {
    const logits = await KerasLayer.load(MLP, { signature: 'serving_default', outputKey: 'logits' });
    const all = await KerasLayer.load(MLP, { signature: 'serving_default', signatureOutputsAsDict: true });
    const call = await KerasLayer.load(MLP);
    const xJson = (mlpSignature.inputs as Record<string, TensorJson>).x;
    const g = new Graph();
    const x = constant(g, xJson);
    const a = logits.apply(g, { x }) as Output;
    const b = logits.apply(g, x) as Output; // a one-input signature takes the value alone
    const dict = all.apply(g, { x }) as Record<string, Output>;
    assert.deepEqual(Object.keys(dict).sort(), ['logits', 'probabilities']);
    const c = call.apply(g, x) as Output;
    const want = mlpSignature.outputs as Record<string, TensorJson>;
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      const [va, vb, vl, vp, vc] = (await s.run([a, b, dict.logits, dict.probabilities, c])).map(values);
      assertClose(va, want.logits.values as number[], { rtol: 1e-5 }, 'logits');
      assert.deepEqual(vb, va);
      assert.deepEqual(vl, va);
      assertClose(vp, want.probabilities.values as number[], { rtol: 1e-5 }, 'probabilities');
      assertClose(vc, va, { rtol: 1e-6, atol: 1e-7 }, '__call__ vs signature');
    });
  });

  test('arguments are extra keyword arguments of every call', async () => {
    const xJson = (mlpSignature.inputs as Record<string, TensorJson>).x;
    const x = new Tensor('float32', xJson.shape, xJson.values as number[]);
    const layer = await KerasLayer.load(MLP, { signature: 'logits_only', outputKey: 'logits', arguments: { x } });
    const g = new Graph();
    const y = layer.apply(g, {}) as Output;
    x.dispose();
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      assertClose(
        values(await s.run(y)),
        (mlpSignature.outputs as Record<string, TensorJson>).logits.values as number[],
        { rtol: 1e-5 },
        'logits',
      );
    });
  });

  test("option errors as Python's ValueErrors", async () => {
    await assert.rejects(KerasLayer.load(MLP, { signature: 'serving_default' }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /either outputKey or signatureOutputsAsDict/,
    });
    await assert.rejects(KerasLayer.load(MLP, { signature: 'serving_default', outputKey: 'logits', signatureOutputsAsDict: true }), {
      code: 'ERR_INVALID_ARG_VALUE',
    });
    await assert.rejects(KerasLayer.load(MLP, { signatureOutputsAsDict: true }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /only valid if specifying a signature/,
    });
    await assert.rejects(KerasLayer.load(MLP, { signature: 'nope', outputKey: 'logits' }), {
      code: 'ERR_UNKNOWN_SIGNATURE',
      message: /'serving_default', 'logits_only'|'logits_only', 'serving_default'/,
    });
    await assert.rejects(KerasLayer.load(MLP, { signature: 'serving_default', outputKey: 'nope' }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /output key 'nope'/,
    });
    await assert.rejects(KerasLayer.load(MLP, { trainable: 1 as never }), { code: 'ERR_INVALID_ARG_TYPE' });
    await assert.rejects(KerasLayer.load(path.join(FIXTURES, 'nope')), { code: 'ERR_HANDLE_NOT_FOUND' });
    await assert.rejects(KerasLayer.load(path.join(FIXTURES, 'multi_tag_tf2')), { code: 'ERR_UNSUPPORTED_SAVED_MODEL' });
    await assert.rejects(KerasLayer.load(path.join(FIXTURES, 'keras_cnn_tf2')), { code: 'ERR_NOT_CALLABLE', message: /serving_default/ });
  });

  test('inputs that fit no concrete function, wrong signature keys, outputs of another graph', async () => {
    const layer = await KerasLayer.load(MLP);
    const g = new Graph();
    assert.throws(() => layer.apply(g, g.placeholder('int32', [-1, 16])), { code: 'ERR_NO_MATCHING_FUNCTION', message: /Option 1/ });
    assert.throws(() => layer.apply(g, g.placeholder('float32', [-1, 15])), { code: 'ERR_NO_MATCHING_FUNCTION', message: /shape/ });
    const other = new Graph();
    assert.throws(() => layer.apply(g, other.placeholder('float32', [-1, 16])), { code: 'ERR_GRAPH_MISMATCH' });
    other.dispose();
    const sig = await KerasLayer.load(MLP, { signature: 'serving_default', outputKey: 'logits' });
    assert.throws(() => sig.apply(g, { y: g.placeholder('float32', [-1, 16]) }), {
      code: 'ERR_SIGNATURE_INPUTS',
      message: /missing \['x'\], extra given \['y'\]/,
    });
    g.dispose();
  });
});

describe('KerasLayer training argument and resources', () => {
  const FUNCTIONS = path.join(TF2_FIXTURES, 'functions_tf2');
  const calls = readJson<{
    calls: Array<{ callable?: string; inputs: TensorJson[]; kwargs?: Record<string, unknown>; outputs: TensorJson }>;
  }>(path.join(TF2_FIXTURES, 'functions_tf2.json')).calls;
  const inference = calls.find((c) => c.callable === '__call__' && !c.kwargs?.training)!;
  const training = calls.find((c) => c.callable === '__call__' && c.kwargs?.training === true)!;

  test('__call__(x, training=<Python literal>) gets trainable && training, as Python', async () => {
    const frozen = await KerasLayer.load(FUNCTIONS);
    const trainable = await KerasLayer.load(FUNCTIONS, { trainable: true });
    const g = new Graph();
    const x = constant(g, inference.inputs[0]);
    const outs = [
      frozen.apply(g, x, { training: true }),
      trainable.apply(g, x),
      trainable.apply(g, x, { training: false }),
      trainable.apply(g, x, { training: true }),
    ] as Output[];
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      const got = (await s.run(outs)).map(values);
      assertClose(got[0], inference.outputs.values as number[], {}, 'not trainable, training: true');
      assertClose(got[1], inference.outputs.values as number[], {}, 'trainable, training omitted');
      assertClose(got[2], inference.outputs.values as number[], {}, 'trainable, training: false');
      assertClose(got[3], training.outputs.values as number[], {}, 'trainable, training: true');
    });
  });

  test("a lookup table over an asset (text_table_tf2): created and initialized in the caller's graph", async () => {
    const oracle = readJson<{ calls: Array<{ callable?: string; inputs: TensorJson[]; outputs: TensorJson }> }>(
      'text_table_tf2.json',
    ).calls.find((c) => c.callable === '__call__')!;
    const layer = await KerasLayer.load(path.join(FIXTURES, 'text_table_tf2'));
    const g = new Graph();
    const ids = layer.apply(g, oracle.inputs[0].values as string[]) as Output;
    const ids2 = layer.apply(g, constant(g, oracle.inputs[0])) as Output;
    assert.equal(g.getCollection(GraphKeys.TABLE_INITIALIZERS).length, 1, 'one table per (layer, graph)');
    assert.equal(g.getCollection(GraphKeys.ASSET_FILEPATHS).length, 1);
    await withSession(g, async (s) => {
      await s.run(g.tablesInitializer());
      const [a, b] = await s.run([ids, ids2]);
      assert.deepEqual(values(a), oracle.outputs.values.map(Number));
      assert.deepEqual(values(b), oracle.outputs.values.map(Number));
    });
  });
});

describe('KerasLayer over other TF2 models', () => {
  test('tf2_my_mul (the reusable SavedModel example): output, weights, losses', async () => {
    const fx = readJson<{ calls: Array<{ inputs: TensorJson[]; outputs: TensorJson }>; regularization_losses: number[] }>(
      'tf2_my_mul.json',
    );
    const layer = await KerasLayer.load(path.join(FIXTURES, 'tf2_my_mul'), { trainable: true });
    const g = new Graph();
    const y = layer.apply(g, constant(g, fx.calls[0].inputs[0])) as Output;
    assert.equal(layer.trainableWeights(g).length, 1);
    const losses = layer.losses(g);
    assert.equal(losses.length, fx.regularization_losses.length);
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      assertClose(values(await s.run(y)), fx.calls[0].outputs.values as number[], {}, 'output');
      assertClose(values(await s.run(losses[0])), fx.regularization_losses[0], {}, 'loss');
    });
  });

  test('control_flow_tf2: functional cond/while stay functions (their bodies go into the graph library); outputs equal the oracle', async () => {
    const fx = readJson<{ calls: Array<{ callable?: string; inputs: TensorJson[]; outputs: TensorJson[] }> }>('control_flow_tf2.json');
    const layer = await KerasLayer.load(path.join(FIXTURES, 'control_flow_tf2'));
    const g = new Graph();
    const calls = fx.calls.filter((c) => c.callable === '__call__');
    const outs = calls.map((c) => layer.apply(g, constant(g, c.inputs[0])) as Output[]);
    assert.ok(g.functionDefs().length > 0);
    await withSession(g, async (s) => {
      await s.run(g.globalVariablesInitializer());
      for (let i = 0; i < calls.length; i++) {
        const [y, n] = await s.run(outs[i]);
        assertClose(values(y), calls[i].outputs[0].values as number[], { rtol: 1e-5, atol: 1e-6 }, `call ${i} y`);
        assert.deepEqual(values(n), calls[i].outputs[1].values.map(Number));
      }
    });
  });
});

describe('KerasLayer: checkpoints', () => {
  test("a checkpoint tensor whose shape differs from the variable's is refused at load, as hub.load refuses it", async () => {
    await assert.rejects(KerasLayer.load(path.join(TF2_FIXTURES, 'ckpt_shape_mismatch_tf2'), { trainable: true }), {
      code: 'ERR_CHECKPOINT_SHAPE',
      message: /Received incompatible tensor with shape \(1,\) when attempting to restore variable .* with shape \(3,\)/,
    });
  });
});
