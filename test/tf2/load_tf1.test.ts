// hub.load on TF1 formats (Python's load_v1_in_v2): TF1 Hub modules and TF1 SavedModels serve signatures only.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { isTf1HubModule, load } from '../../src/hub/tf2';
import { Tensor } from '../../src/tensor';
import { CallJson, FIXTURES, assertValue, disposeAll, inputOf, readOracle } from './helpers';

/** Every call of a TF1 oracle, one load per tag set; sparse/ragged inputs given whole and as Python's flat keys. */
async function checkTf1Fixture(name: string): Promise<void> {
  const oracle = readOracle(path.join(FIXTURES, `${name}.json`));
  const byTags = new Map<string, CallJson[]>();
  for (const call of oracle.calls) {
    const key = JSON.stringify(call.tags ?? []);
    if (!byTags.has(key)) byTags.set(key, []);
    byTags.get(key)!.push(call);
  }
  for (const [key, calls] of byTags) {
    const tags = JSON.parse(key) as string[];
    const model = await load(path.join(FIXTURES, name), tags.length > 0 ? { tags } : {});
    try {
      assert.equal(model.format, 'tf1_hub_module');
      assert.equal(model.isHubModuleV1, true);
      assert.deepEqual(model.tags, [...tags].sort());
      for (const [i, call] of calls.entries()) {
        const out = await model.signatures[call.signature!](inputOf(call.inputs));
        assertValue(out, call.outputs, `${name} ${key} call ${i} (${call.signature})`);
        disposeAll(out);
      }
    } finally {
      model.close();
    }
  }
}

describe('hub.load: TF1 Hub modules (signatures only)', () => {
  test('isTf1HubModule', async () => {
    assert.equal(await isTf1HubModule(path.join(FIXTURES, 'mlp_v1')), true);
    assert.equal(await isTf1HubModule(path.join(FIXTURES, 'tf2_mlp')), false);
    assert.equal(await isTf1HubModule(path.join(FIXTURES, 'nope')), false);
  });

  test('mlp_v1: default tags [], both signatures, variables, not callable', async () => {
    await checkTf1Fixture('mlp_v1');
    await using model = await load(path.join(FIXTURES, 'mlp_v1'));
    assert.deepEqual(model.tags, []);
    assert.deepEqual(Object.keys(model.signatures).sort(), ['default', 'fruit_to_pet']);
    assert.deepEqual(Object.keys(model.functions), []);
    assert.equal(model.callable, false);
    await assert.rejects(model.call([1]), { code: 'ERR_NOT_CALLABLE', message: /not callable/ });
    assert.deepEqual(
      model.variables.map((v) => v.name),
      ['dense/kernel:0', 'dense/bias:0', 'dense_1/kernel:0', 'dense_1/bias:0', 'fruit/k:0'],
    );
    assert.deepEqual(model.variables[0].shape, [50, 64]);
    assert.deepEqual((await model.variables[1].read()).shape, [64]);
    assert.deepEqual(model.trainableVariables, []);
    assert.deepEqual(model.regularizationLosses, []);
    const sig = model.signatures.default;
    assert.deepEqual(sig.inputs, { default: { dtype: 'float32', shape: [-1, 50], kind: 'Tensor' } });
    assert.deepEqual(Object.keys(sig.outputs).sort(), ['default', 'hidden_activations']);
    await assert.rejects(sig(new Tensor('float32', [1, 3], [1, 2, 3])), { code: 'ERR_INPUT_SHAPE', message: /input 'default'/ });
    await assert.rejects(model.signatures.fruit_to_pet({ apples: [1] }), {
      code: 'ERR_SIGNATURE_INPUTS',
      message: /missing \['oranges'\]/,
    });
  });

  test('mlp_v1 with tags ["train"] and mlp_refvars_v1 (reference variables)', async () => {
    await using train = await load(path.join(FIXTURES, 'mlp_v1'), { tags: ['train'] });
    assert.deepEqual(train.tags, ['train']);
    const out = await train.signatures.fruit_to_pet({ apples: [1, 2, 3], oranges: [0.5, -1, 2] });
    assert.deepEqual((out.cats as Tensor).array(), [3.5, 5, 11]);
    await checkTf1Fixture('mlp_refvars_v1');
  });

  test('text_embedding_v1 and token_embedding_v1: vocabulary asset read by the table initializer', async () => {
    await checkTf1Fixture('text_embedding_v1');
    await checkTf1Fixture('token_embedding_v1');
  });

  test('hash_table_v1, partitioned_v1, batchnorm_v1, control_flow_v1/v2, stateless_square_v1, attachments_v1', async () => {
    for (const name of [
      'hash_table_v1',
      'partitioned_v1',
      'batchnorm_v1',
      'control_flow_v1',
      'control_flow_v2',
      'stateless_square_v1',
      'attachments_v1',
    ]) {
      await checkTf1Fixture(name);
    }
  });

  test("sparse_ragged_v1: sparse and ragged inputs under Python's flat keys, outputs rebuilt", async () => {
    await checkTf1Fixture('sparse_ragged_v1');
    await using model = await load(path.join(FIXTURES, 'sparse_ragged_v1'));
    assert.deepEqual(Object.keys(model.signatures.default.inputs).sort(), ['default_dense_shape', 'default_indices', 'default_values']);
    assert.deepEqual(Object.keys(model.signatures.ragged.inputs).sort(), ['default_component_0', 'default_component_1']);
    assert.equal(model.signatures.default.outputs.default.kind, 'SparseTensor');
    assert.equal(model.signatures.ragged.outputs.default.kind, 'RaggedTensor');
    const sp = await model.signatures.default({
      default_indices: [
        [0, 1],
        [2, 0],
      ],
      default_values: [3, -4],
      default_dense_shape: [3, 2],
    });
    const d = sp.default as { indices: Tensor; values: Tensor; denseShape: Tensor };
    assert.deepEqual(d.values.array(), [9, 16]);
    assert.deepEqual(Array.from(d.denseShape.data() as BigInt64Array, Number), [3, 2]);
    const rg = await model.signatures.ragged({ default_component_0: [1, 2, 3], default_component_1: [0, 1, 3] });
    const r = rg.default as { flatValues: Tensor; rowSplits: Tensor[] };
    assert.deepEqual(r.flatValues.array(), [1, 4, 9]);
    assert.deepEqual(Array.from(r.rowSplits[0].data() as BigInt64Array, Number), [0, 1, 3]);
  });
});

describe('hub.load: TF1 SavedModel with several tag sets (multi_tag_tf2)', () => {
  test('exact tag-set selection; default picks exactly {serve}', async () => {
    const oracle = readOracle(path.join(FIXTURES, 'multi_tag_tf2.json'));
    for (const call of oracle.calls) {
      await using model = await load(path.join(FIXTURES, 'multi_tag_tf2'), { tags: call.tags });
      assert.equal(model.format, 'tf1_saved_model');
      assert.equal(model.isHubModuleV1, false);
      const out = await model.signatures[call.signature!](inputOf(call.inputs));
      assertValue(out, call.outputs, `multi_tag_tf2 ${JSON.stringify(call.tags)}`);
      assert.deepEqual(
        model.variables.map((v) => v.name),
        ['v:0'],
      );
      assert.equal((await model.variables[0].read()).array(), 3);
    }
    await using byDefault = await load(path.join(FIXTURES, 'multi_tag_tf2'));
    assert.deepEqual(byDefault.tags, ['serve']);
    const out = await byDefault.signatures.serving_default({ x: [1] });
    assert.deepEqual((out.variant as Tensor).strings(), ['serve']);
    await using reordered = await load(path.join(FIXTURES, 'multi_tag_tf2'), { tags: ['serve', 'gpu'] });
    assert.deepEqual(reordered.tags, ['gpu', 'serve']);
  });
});
