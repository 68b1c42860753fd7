// hub.load on TF2 SavedModels: the shared fixtures reproduce Python's tf.saved_model.load to 1e-5.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { LoadedModel, kwargs, load } from '../../src/hub/tf2';
import { Tensor, tensor } from '../../src/tensor';
import { CallJson, FIXTURES, TensorJson, assertTensor, checkCalls, inputOf, readOracle } from './helpers';

describe('hub.load: tf2_my_mul (the reusable SavedModel example)', () => {
  let model: LoadedModel;
  const oracle = readOracle<{ calls: CallJson[]; variables: Record<string, number>; regularization_losses: number[] }>(
    path.join(FIXTURES, 'tf2_my_mul.json'),
  );
  before(async () => {
    model = await load(path.join(FIXTURES, 'tf2_my_mul'));
  });
  after(() => model.close());

  test('format, tags, callable', () => {
    assert.equal(model.format, 'tf2_saved_model');
    assert.equal(model.isHubModuleV1, false);
    assert.deepEqual(model.tags, ['serve']);
    assert.equal(model.callable, true);
    assert.deepEqual(Object.keys(model.signatures), ['serving_default']);
  });

  test('call([10, 20]) = [20, 40] (JS array and Tensor)', async () => {
    const y = (await model.call([10, 20])) as Tensor;
    assert.deepEqual(y.array(), [20, 40]);
    await checkCalls(model, oracle.calls, 'tf2_my_mul');
  });

  test('variables, trainableVariables and their values', async () => {
    assert.deepEqual(
      model.variables.map((v) => v.name),
      ['Variable:0'],
    );
    assert.deepEqual(
      model.trainableVariables.map((v) => v.name),
      ['Variable:0'],
    );
    const v = model.variables[0];
    assert.equal(v.dtype, 'float32');
    assert.deepEqual(v.shape, []);
    assert.equal(v.trainable, true);
    const value = await v.read();
    assert.equal(value.array(), oracle.variables.v);
  });

  test('regularizationLosses = [0.004]', async () => {
    assert.equal(model.regularizationLosses.length, oracle.regularization_losses.length);
    const losses = await Promise.all(model.regularizationLosses.map((f) => f()));
    losses.forEach((l, i) => assert.ok(Math.abs((l.array() as number) - oracle.regularization_losses[i]) < 1e-6));
  });

  test('serving_default signature', async () => {
    const out = await model.signatures.serving_default({ inputs: [1.5, -2] });
    assert.deepEqual(Object.keys(out), ['output_0']);
    assert.deepEqual((out.output_0 as Tensor).array(), [3, -4]);
    assert.deepEqual(model.signatures.serving_default.inputs, { inputs: { dtype: 'float32', shape: null, kind: 'Tensor' } });
  });
});

describe('hub.load: tf2_mlp', () => {
  let model: LoadedModel;
  const oracle = readOracle(path.join(FIXTURES, 'tf2_mlp.json'));
  before(async () => {
    model = await load(path.join(FIXTURES, 'tf2_mlp'));
  });
  after(() => model.close());

  test('both signatures and __call__(x, false) reproduce Python', async () => {
    assert.deepEqual(Object.keys(model.signatures).sort(), ['logits_only', 'serving_default']);
    await checkCalls(model, oracle.calls, 'tf2_mlp');
    const call = oracle.calls.find((c) => c.callable === '__call__')!;
    const x = inputOf((call.inputs as TensorJson[])[0]) as Tensor;
    // training as a JS boolean, as a bool Tensor, as a keyword, and defaulted.
    assertTensor(await model.call(x, false), call.outputs as TensorJson, '__call__(x, false)');
    assertTensor(await model.call(x, tensor(false, 'bool')), call.outputs as TensorJson, '__call__(x, Tensor(false))');
    assertTensor(await model.call(x, kwargs({ training: false })), call.outputs as TensorJson, '__call__(x, training=false)');
    assertTensor(await model.call(x), call.outputs as TensorJson, '__call__(x)');
    const logitsOnly = await model.signatures.logits_only({ x });
    assertTensor(logitsOnly.logits, (oracle.calls[0].outputs as Record<string, TensorJson>).logits, 'logits_only');
  });

  test('variables vs trainableVariables; regularization loss is a scalar', async () => {
    assert.deepEqual(
      model.variables.map((v) => v.name),
      ['w1:0', 'b1:0', 'w2:0', 'b2:0', 'step:0'],
    );
    assert.deepEqual(
      model.trainableVariables.map((v) => v.name),
      ['w1:0', 'b1:0', 'w2:0', 'b2:0'],
    );
    assert.deepEqual(
      model.variables.map((v) => v.shape),
      [[16, 32], [32], [32, 4], [4], []],
    );
    assert.equal(model.variables[4].dtype, 'int32');
    assert.equal(model.regularizationLosses.length, 1);
    const loss = await model.regularizationLosses[0]();
    assert.equal(loss.dtype, 'float32');
    assert.deepEqual(loss.shape, []);
    assert.ok((loss.array() as number) > 0);
  });

  test('restored functions and their traces', () => {
    assert.deepEqual(Object.keys(model.functions).sort(), ['__call__', 'logits_only', 'regularization_losses.0', 'serve']);
    const traces = model.functions.__call__.concreteFunctions;
    assert.equal(traces.length, 1);
    assert.match(
      traces[0].inputSignature,
      /TensorSpec\(shape=\(None, 16\), dtype=tf\.float32, name='x'\), TensorSpec\(shape=\(\), dtype=tf\.bool, name='training'\)/,
    );
  });

  test('serve returns the output record', async () => {
    const x = new Tensor('float32', [1, 16], new Float32Array(16).fill(0.25));
    const out = (await model.functions.serve(x)) as Record<string, Tensor>;
    assert.deepEqual(Object.keys(out).sort(), ['logits', 'probabilities']);
    const p = Array.from(out.probabilities.data() as Float32Array);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  });
});

describe('hub.load: keras_cnn_tf2 (Keras 3 model.export)', () => {
  let model: LoadedModel;
  const oracle = readOracle<{
    calls: CallJson[];
    variables: string[];
    signature_info: Record<string, { inputs: Record<string, { dtype: string; shape: number[] | null }> }>;
  }>(path.join(FIXTURES, 'keras_cnn_tf2.json'));
  before(async () => {
    model = await load(path.join(FIXTURES, 'keras_cnn_tf2'));
  });
  after(() => model.close());

  test('serving_default and serve reproduce Python', async () => {
    assert.deepEqual(Object.keys(model.signatures).sort(), ['serve', 'serving_default']);
    assert.deepEqual(Object.keys(model.functions), ['serve']);
    await checkCalls(model, oracle.calls, 'keras_cnn_tf2');
  });

  test('signature info and variables match Python', () => {
    for (const [name, info] of Object.entries(oracle.signature_info)) {
      for (const [k, spec] of Object.entries(info.inputs)) {
        assert.equal(model.signatures[name].inputs[k].dtype, spec.dtype);
        assert.deepEqual(model.signatures[name].inputs[k].shape, spec.shape);
      }
    }
    assert.deepEqual(model.variables.map((v) => v.name).sort(), oracle.variables);
    assert.equal(model.trainableVariables.length, 6);
  });

  test('not callable: a typed error', async () => {
    assert.equal(model.callable, false);
    await assert.rejects(model.call(new Tensor('float32', [1, 8, 8, 3], new Float32Array(192))), { code: 'ERR_NOT_CALLABLE' });
  });
});

describe('hub.load: text_table_tf2 (StaticHashTable over an asset)', () => {
  test('signature and __call__ look tokens up in assets/vocab.txt', async () => {
    const oracle = readOracle(path.join(FIXTURES, 'text_table_tf2.json'));
    await using model = await load(path.join(FIXTURES, 'text_table_tf2'));
    await checkCalls(model, oracle.calls, 'text_table_tf2');
    const ids = (await model.call(['world', 'hello', '<unk>', 'nope'])) as Tensor;
    assert.deepEqual(Array.from(ids.data() as BigInt64Array, Number), [2, 1, 0, -1]);
    assert.deepEqual(model.variables, []);
  });
});

describe('hub.load: control_flow_tf2 (tf.while_loop + tf.cond)', () => {
  test('__call__ returns the (y, iterations) tuple; the signature a record', async () => {
    const oracle = readOracle(path.join(FIXTURES, 'control_flow_tf2.json'));
    await using model = await load(path.join(FIXTURES, 'control_flow_tf2'));
    await checkCalls(model, oracle.calls, 'control_flow_tf2');
    assert.deepEqual(
      model.variables.map((v) => v.name),
      ['w:0'],
    );
    assert.deepEqual((await model.variables[0].read()).array(), [0.5, -1, 2]);
  });
});
