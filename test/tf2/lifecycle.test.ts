// hub.load errors, tag selection errors, handle resolution, close/dispose and concurrency.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TfhubError } from '../../src/errors';
import { load } from '../../src/hub/tf2';
import { Tensor } from '../../src/tensor';
import { FIXTURES, OWN_FIXTURES } from './helpers';

describe('hub.load: errors', () => {
  test('handle must be a non-empty string', async () => {
    await assert.rejects(load(0 as unknown as string), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_TYPE',
      message: /Expected a string, got 0/,
    });
    await assert.rejects(load(''), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  test('missing directory; directory without saved_model.pb', async () => {
    await assert.rejects(load(path.join(FIXTURES, 'does_not_exist')), { code: 'ERR_HANDLE_NOT_FOUND', message: /does not exist/ });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tfhub-load-'));
    try {
      await assert.rejects(load(dir), (e: TfhubError) => {
        assert.ok(e instanceof TfhubError);
        assert.equal(e.code, 'ERR_SAVED_MODEL_NOT_FOUND');
        assert.match(e.message, /contains neither 'saved_model\.pb' nor 'saved_model\.pbtxt'/);
        return true;
      });
      writeFileSync(path.join(dir, 'saved_model.pbtxt'), '');
      await assert.rejects(load(dir), { code: 'ERR_SAVED_MODEL_NOT_FOUND', message: /pbtxt/ });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tags: exact set equality, listing the available tag sets', async () => {
    await assert.rejects(load(path.join(FIXTURES, 'tf2_mlp'), { tags: ['foo'] }), (e: TfhubError) => {
      assert.equal(e.code, 'ERR_NO_SUCH_GRAPH_VARIANT');
      assert.match(e.message, /tags=\['foo'\].*available tag sets: \[\['serve'\]\]/);
      return true;
    });
    // {serve} exists but {serve, gpu} must not match a subset or superset.
    await assert.rejects(load(path.join(FIXTURES, 'multi_tag_tf2'), { tags: ['gpu'] }), {
      code: 'ERR_NO_SUCH_GRAPH_VARIANT',
      message: /\['gpu', 'serve'\]/,
    });
    await assert.rejects(load(path.join(FIXTURES, 'mlp_v1'), { tags: ['serve'] }), {
      code: 'ERR_NO_SUCH_GRAPH_VARIANT',
      message: /\[\[\], \['train'\]\]/,
    });
    await assert.rejects(load(path.join(FIXTURES, 'tf2_mlp'), { tags: 'serve' as unknown as string[] }), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  test('several meta graphs and none tagged exactly serve: tags are required', async () => {
    // mlp_v1's saved_model.pb without tfhub_module.pb is a TF1 SavedModel with tag sets [] and ['train'].
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tfhub-load-'));
    try {
      copyFileSync(path.join(FIXTURES, 'mlp_v1', 'saved_model.pb'), path.join(dir, 'saved_model.pb'));
      mkdirSync(path.join(dir, 'variables'));
      for (const f of ['variables.index', 'variables.data-00000-of-00001'])
        copyFileSync(path.join(FIXTURES, 'mlp_v1', 'variables', f), path.join(dir, 'variables', f));
      await assert.rejects(load(dir), { code: 'ERR_TAGS_REQUIRED', message: /2 meta graphs.*\[\[\], \['train'\]\]/ });
      // An empty saved_model.pb decodes as an empty SavedModel: named as such, not as a tags problem.
      const empty = path.join(dir, 'empty');
      mkdirSync(empty);
      writeFileSync(path.join(empty, 'saved_model.pb'), '');
      await assert.rejects(load(empty), { code: 'ERR_INVALID_SAVED_MODEL', message: /saved_model\.pb holds no MetaGraphDef/ });
      await assert.rejects(load(empty, { tags: ['serve'] }), { code: 'ERR_INVALID_SAVED_MODEL' });
      await using model = await load(dir, { tags: [] });
      assert.equal(model.format, 'tf1_saved_model');
      const out = await model.signatures.fruit_to_pet({ apples: [1], oranges: [2] });
      assert.deepEqual((out.dogs as Tensor).array(), [-5]); // dogs = apples - 3·oranges
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hub.load: checkpoints', () => {
  test("a checkpoint tensor whose shape differs from the variable's is refused at load (Python refuses it too)", async () => {
    await assert.rejects(load(path.join(OWN_FIXTURES, 'ckpt_shape_mismatch_tf2')), {
      code: 'ERR_CHECKPOINT_SHAPE',
      message: /Received incompatible tensor with shape \(1,\) when attempting to restore variable .* with shape \(3,\)/,
    });
  });
});

describe('hub.load: resolve, close, concurrency', () => {
  test('resolve maps the handle to a directory', async () => {
    const seen: string[] = [];
    await using model = await load('my-handle', {
      resolve: async (h) => {
        seen.push(h);
        return path.join(FIXTURES, 'tf2_my_mul');
      },
    });
    assert.deepEqual(seen, ['my-handle']);
    assert.equal(model.path, path.join(FIXTURES, 'tf2_my_mul'));
  });

  test('close(): idempotent; later calls reject with ERR_DISPOSED; in-flight calls finish', async () => {
    const model = await load(path.join(FIXTURES, 'tf2_mlp'));
    const x = new Tensor('float32', [2, 16], new Float32Array(32).fill(0.1));
    const inflight = Promise.all([model.call(x), model.signatures.serving_default({ x }), model.variables[0].read()]);
    model.close();
    const [y, sig, w] = await inflight;
    assert.deepEqual((y as Tensor).shape, [2, 4]);
    assert.deepEqual((sig.logits as Tensor).shape, [2, 4]);
    assert.deepEqual(w.shape, [16, 32]);
    model.close();
    assert.equal(model.isClosed, true);
    await assert.rejects(model.call(x), { code: 'ERR_DISPOSED' });
    await assert.rejects(model.signatures.serving_default({ x }), { code: 'ERR_DISPOSED' });
    await assert.rejects(model.functions.serve(x), { code: 'ERR_DISPOSED' });
    await assert.rejects(model.variables[0].read(), { code: 'ERR_DISPOSED' });
    await assert.rejects(model.regularizationLosses[0](), { code: 'ERR_DISPOSED' });
  });

  test('Symbol.asyncDispose closes the model', async () => {
    let escaped;
    {
      await using model = await load(path.join(FIXTURES, 'tf2_my_mul'));
      escaped = model;
      assert.equal(model.isClosed, false);
    }
    assert.equal(escaped.isClosed, true);
  });

  test('many concurrent calls on one model give the same results as sequential ones', async () => {
    await using model = await load(path.join(FIXTURES, 'control_flow_tf2'));
    const inputs = Array.from({ length: 40 }, (_, i) => [[i / 10 - 2, 1 - i / 20, (i % 7) - 3]]);
    const sequential: unknown[] = [];
    for (const x of inputs) sequential.push(((await model.call(x)) as Tensor[])[0].array());
    const concurrent = await Promise.all(
      inputs.map((x, i) =>
        i % 2 ? model.call(x).then((r) => (r as Tensor[])[0]) : model.signatures.serving_default({ x }).then((r) => r.y as Tensor),
      ),
    );
    assert.deepEqual(
      concurrent.map((t) => t.array()),
      sequential,
    );
  });
});
