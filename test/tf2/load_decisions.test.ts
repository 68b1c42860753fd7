// hub.load decides at load time as Python's tf.saved_model.load does (fixtures and oracle: gen/make_load_decisions.py).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { load } from '../../src/hub/tf2';
import { evalFunctionForModule } from '../../src/hub/eval_function';
import { Tensor } from '../../src/tensor';
import { copyFixture, editSavedModel, setFirstAssetFilename, tempDir } from '../hub/helpers';
import { OWN_FIXTURES, TensorJson, assertTensor, readOracle } from './helpers';

const ORACLE = readOracle<Record<string, { outputs?: { y: TensorJson }; load_error?: { class: string; message: string } }>>(
  path.join(OWN_FIXTURES, 'load_decisions.json'),
);
const X = [1, 2, 3];

async function runServing(dir: string, session?: object): Promise<Tensor> {
  const model = await load(dir, session ? { session } : {});
  try {
    const out = await model.signatures.serving_default({ x: new Tensor('float32', [3], X) });
    return out.y as Tensor;
  } finally {
    model.close();
  }
}

describe('hub.load: load-time decisions like Python', () => {
  test('a TF1 graph pinned to /gpu:0 loads with soft placement and matches Python', async () => {
    const y = await runServing(path.join(OWN_FIXTURES, 'gpu_pinned_v1'));
    assertTensor(y, ORACLE.gpu_pinned_v1.outputs!.y, 'gpu_pinned_v1 y');
  });

  test('explicit session options win: allowSoftPlacement false refuses the GPU pin', async () => {
    await assert.rejects(
      runServing(path.join(OWN_FIXTURES, 'gpu_pinned_v1'), { allowSoftPlacement: false }),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /Cannot assign a device/.test(e.message),
    );
  });

  test('evalFunctionForModule sessions default to soft placement too (a Hub module pinned to /gpu:0)', async (t) => {
    const dir = copyFixture('stateless_square_v1', tempDir(t));
    editSavedModel(dir, (sm) => {
      for (const n of sm.metaGraphs[0].graphDef!.node!) n.device = '/device:GPU:0';
    });
    const f = await evalFunctionForModule(dir);
    try {
      const y = (await f.call([1, 2, 3])) as Tensor;
      assert.deepEqual(Array.from(y.data() as Float32Array), [1, 4, 9]);
    } finally {
      f.close();
    }
    await assert.rejects(
      evalFunctionForModule(dir, { session: { allowSoftPlacement: false } }).then((g) => g.call([1]).finally(() => g.close())),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /Cannot assign a device/.test(e.message),
    );
  });

  test('a TF1 SavedModel without variables/ is refused at load (Python: NotFoundError, TensorSliceReader)', async () => {
    assert.equal(ORACLE.no_variables_v1.load_error!.class, 'NotFoundError');
    await assert.rejects(
      load(path.join(OWN_FIXTURES, 'no_variables_v1')),
      (e: Error & { code?: string }) =>
        e.code === 'ERR_CHECKPOINT_NOT_FOUND' && e.message.includes('Unsuccessful TensorSliceReader constructor'),
    );
  });

  test('a TF1 Hub module without variables/ is refused by hub.load as well', async (t) => {
    const dir = copyFixture('mlp_v1', tempDir(t));
    const { rmSync } = await import('node:fs');
    rmSync(path.join(dir, 'variables'), { recursive: true });
    await assert.rejects(load(dir), (e: Error & { code?: string }) => e.code === 'ERR_CHECKPOINT_NOT_FOUND');
  });

  test('a function library missing a function the model calls fails at load, not at the first call', async () => {
    assert.equal(ORACLE.missing_function_tf2.load_error!.class, 'ValueError');
    await assert.rejects(
      load(path.join(OWN_FIXTURES, 'missing_function_tf2')),
      (e: Error & { code?: string }) => e.code === 'ERR_INVALID_GRAPH' && /missing/.test(e.message),
    );
  });

  test("assets: a path outside assets/ is refused by hub.load for TF1 SavedModels and Hub modules (tensorflow_hub's rule)", async (t) => {
    // Python's tf.saved_model.load reads such an asset; tensorflow_hub refuses it; tfhub-node refuses it everywhere.
    assert.ok(ORACLE.asset_outside_v1.outputs);
    await assert.rejects(
      load(path.join(OWN_FIXTURES, 'asset_outside_v1')),
      (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ASSET' && e.message.includes('(../outside.txt) points outside assets_dir'),
    );
    const dir = copyFixture('hash_table_v1', tempDir(t));
    setFirstAssetFilename(dir, '../outside.txt');
    await assert.rejects(
      load(dir),
      (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ASSET' && e.message.includes('points outside assets_dir'),
    );
  });
});
