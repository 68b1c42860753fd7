// Damaged and foreign modules fail with typed errors that name the file or the culprit — never a crash —
// and assets resolve relative to where a module is loaded from (native_module_test format/asset tests).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { Graph, Output, Tensor, hub } from '../../src';
import { encodeModuleDef, tensorflow } from '../../src/proto';
import {
  JsonCall,
  JsonTensor,
  assertOutput,
  assertRejectsCode,
  assertThrowsCode,
  copyFixture,
  editSavedModel,
  fixtureDir,
  fixtureJson,
  graphFor,
  sessionFor,
  setFirstAssetFilename,
  tempDir,
} from './helpers';

const TEXT_CALL = (fixtureJson('text_embedding_v1').calls as JsonCall[])[0];

/** Loads `dir`, applies the text-embedding signature, runs initializers and the call; returns the embeddings. */
async function runTextEmbedding(t: { after(fn: () => void): void }, dir: string) {
  const spec = await hub.loadModuleSpec(dir);
  const g = graphFor(t);
  const m = new hub.Module(spec, { graph: g });
  const y = m.call((TEXT_CALL.inputs.sentences as JsonTensor).values as string[]) as Output;
  const s = sessionFor(t, g);
  await s.run([g.globalVariablesInitializer(), g.tablesInitializer()]);
  return { graph: g, session: s, module: m, result: await s.run(y) };
}

describe('tfhub_module.pb validation (native_module.py Loader)', () => {
  test('testModuleWithMissingRequiredFeature: required features fail to load, naming the feature and the file', async (t) => {
    const dir = copyFixture('stateless_square_v1', tempDir(t));
    writeFileSync(path.join(dir, 'tfhub_module.pb'), encodeModuleDef({ format: 3, requiredFeatures: ['foo-test-missing'] }));
    await assertRejectsCode(
      hub.loadModuleSpec(dir),
      'ERR_UNSUPPORTED_MODULE_FEATURES',
      "Unsupported features: ['foo-test-missing']",
      'tfhub_module.pb',
    );
  });

  test('testUnsupportedModuleDefFormat: an empty tfhub_module.pb is format 0', async (t) => {
    const dir = copyFixture('stateless_square_v1', tempDir(t));
    writeFileSync(path.join(dir, 'tfhub_module.pb'), new Uint8Array(0));
    await assertRejectsCode(
      hub.loadModuleSpec(dir),
      'ERR_UNSUPPORTED_MODULE_FORMAT',
      'Unsupported module def format: 0',
      path.join(dir, 'tfhub_module.pb'),
    );
    writeFileSync(path.join(dir, 'tfhub_module.pb'), encodeModuleDef({ format: 2 as never }));
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_UNSUPPORTED_MODULE_FORMAT', 'format: 2');
  });

  test('testCorruptModuleDef: garbage in tfhub_module.pb is INVALID_PROTO naming the file', async (t) => {
    const dir = copyFixture('stateless_square_v1', tempDir(t));
    writeFileSync(path.join(dir, 'tfhub_module.pb'), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_INVALID_PROTO', 'tfhub_module.pb');
  });

  test('testTF2SavedModelIsNotAHubModule: a TF2 SavedModel given to hub.Module says to use hub.load', async () => {
    const dir = fixtureDir('tf2_my_mul');
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_NOT_TF1_HUB_MODULE', 'TF2 SavedModel', 'hub.load');
    const g = new Graph();
    try {
      await assertRejectsCode(hub.Module.load(dir, { graph: g }), 'ERR_NOT_TF1_HUB_MODULE', 'hub.load');
      await assertRejectsCode(hub.evalFunctionForModule(dir), 'ERR_NOT_TF1_HUB_MODULE');
    } finally {
      g.dispose();
    }
  });

  test('testMissingModuleDef: a directory with neither file is "<path>/tfhub_module.pb; No such file or directory"', async (t) => {
    const dir = path.join(tempDir(t), 'empty');
    mkdirSync(dir);
    await assertRejectsCode(
      hub.loadModuleSpec(dir),
      'ERR_MODULE_NOT_FOUND',
      `${path.join(dir, 'tfhub_module.pb')}; No such file or directory`,
    );
    await assertRejectsCode(hub.loadModuleSpec(path.join(dir, 'nope')), 'ERR_HANDLE_NOT_FOUND', 'does not exist');
  });
});

describe('saved_model.pb and checkpoint damage', () => {
  test('testTruncatedSavedModel: a truncated saved_model.pb is INVALID_PROTO naming the file', async (t) => {
    const dir = copyFixture('mlp_v1', tempDir(t));
    const file = path.join(dir, 'saved_model.pb');
    writeFileSync(file, readFileSync(file).subarray(0, 1000));
    const e = await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_INVALID_PROTO', file);
    assert.match(e.message, /SavedModel/);
  });

  test('testMissingSavedModel: no saved_model.pb says the SavedModel file does not exist', async (t) => {
    const dir = copyFixture('stateless_square_v1', tempDir(t));
    rmSync(path.join(dir, 'saved_model.pb'));
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_SAVED_MODEL_NOT_FOUND', 'does not exist', dir);
  });

  test('testNoMetaGraphs: a SavedModel without meta graphs is rejected', async (t) => {
    const dir = copyFixture('stateless_square_v1', tempDir(t));
    editSavedModel(dir, (sm) => {
      sm.metaGraphs = [];
    });
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_INVALID_MODULE', 'no meta graphs');
  });

  test('testMissingVariablesIndex: a module with variables but no variables/variables.index fails at load (Python: NotFoundError)', async (t) => {
    const dir = copyFixture('mlp_v1', tempDir(t));
    rmSync(path.join(dir, 'variables', 'variables.index'));
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_CHECKPOINT_NOT_FOUND', path.join(dir, 'variables', 'variables.index'));
  });

  test('testMissingVariablesData: a missing data shard is refused at load, naming the file (Python: NOT_FOUND at the initializer)', async (t) => {
    const dir = copyFixture('mlp_v1', tempDir(t));
    const data = path.join(dir, 'variables', 'variables.data-00000-of-00001');
    rmSync(data);
    // The checkpoint is checked against its data files before any restore op runs (TF trusts them).
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_INVALID_CHECKPOINT', data, 'does not exist');
  });

  test('testCorruptVariablesIndex: a truncated index is refused at load (Python: DATA_LOSS at the initializer)', async (t) => {
    const dir = copyFixture('mlp_v1', tempDir(t));
    const index = path.join(dir, 'variables', 'variables.index');
    writeFileSync(index, readFileSync(index).subarray(0, 40));
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_INVALID_CHECKPOINT', index);
  });

  test('testCheckpointShapeMismatch: a variable whose shape differs from the checkpoint fails to restore, naming it', async (t) => {
    // The graph declares fruit/k (a scalar in the checkpoint) as [3].
    const dir = copyFixture('mlp_v1', tempDir(t));
    editSavedModel(dir, (sm) => {
      for (const mg of sm.metaGraphs) {
        for (const n of mg.graphDef!.node!) {
          if (n.name === 'fruit/k') n.attr!.shape = { shape: { dim: [{ size: 3 }] } };
          if (n.name === 'fruit/k/Initializer/Const') n.attr!.value.tensor!.tensorShape = { dim: [{ size: 3 }] };
          delete n.attr!._output_shapes;
        }
      }
    });
    const spec = await hub.loadModuleSpec(dir);
    const g = graphFor(t);
    const m = new hub.Module(spec, { graph: g });
    const k = m.variableMap['fruit/k'] as hub.Variable;
    assert.deepEqual(k.shape, [3]);
    const s = sessionFor(t, g);
    await assertRejectsCode(
      async () => {
        await s.run(g.globalVariablesInitializer());
        // Should the restore have succeeded, the variable must still have its declared shape.
        const v = await s.run(k.value());
        assert.deepEqual(v.shape, [3], 'restored value has the declared shape');
      },
      'INVALID_ARGUMENT',
      'fruit/k',
    );
  });
});

describe('graph content checks at load and construction (native_module.py _ModuleSpec / register_ops_if_needed)', () => {
  test('testUnsupportedCollections: a custom collection fails to load, listing it', async (t) => {
    const dir = copyFixture('stateless_square_v1', tempDir(t));
    editSavedModel(dir, (sm) => {
      sm.metaGraphs[0].collectionDef = { ...sm.metaGraphs[0].collectionDef, my_scope: { nodeList: { value: ['x:0'] } } };
    });
    await assertRejectsCode(
      hub.loadModuleSpec(dir),
      'ERR_UNSUPPORTED_COLLECTIONS',
      "Unsupported collections in graph: ['my_scope']",
      'dropCollections',
    );
  });

  test('testDuplicateTags: two graph variants with the same tag set fail with "used repeatedly"', async (t) => {
    const dir = copyFixture('mlp_v1', tempDir(t));
    editSavedModel(dir, (sm) => {
      sm.metaGraphs[1].metaInfoDef!.tags = [];
    });
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_DUPLICATE_TAGS', 'Tags [] used repeatedly');
  });

  test('testRegisterOpsIfNeeded: a graph using an unregistered op fails at Module construction naming the op', async (t) => {
    const dir = copyFixture('stateless_square_v1', tempDir(t));
    editSavedModel(dir, (sm) => {
      const mg = sm.metaGraphs[0];
      mg.graphDef!.node!.push(tensorflow.NodeDef.create({ name: 'custom', op: 'NonExistentOpForTfhubTest', input: ['x'] }));
      mg.metaInfoDef!.strippedOpList!.op!.push(tensorflow.OpDef.create({ name: 'NonExistentOpForTfhubTest' }));
    });
    const spec = await hub.loadModuleSpec(dir);
    const g = graphFor(t);
    const before = g.operations().length;
    assertThrowsCode(() => new hub.Module(spec, { graph: g }), 'ERR_MISSING_OPS', "'NonExistentOpForTfhubTest'", 'loadOpLibrary');
    assert.equal(g.operations().length, before, 'nothing imported');
  });

  test('testAssetOutsideAssetsDir: an AssetFileDef leaving assets/ is rejected ("points outside assets_dir")', async (t) => {
    const dir = copyFixture('hash_table_v1', tempDir(t));
    setFirstAssetFilename(dir, '../../etc/passwd');
    await assertRejectsCode(hub.loadModuleSpec(dir), 'ERR_INVALID_ASSET', 'Asset filename (../../etc/passwd) points outside assets_dir');
  });
});

describe('assets resolve relative to where the module is loaded from (testModuleWithAssets / moved modules)', () => {
  test('testModuleMoved: a copy keeps working after the original copy is deleted; asset paths point into the copy', async (t) => {
    const tmp = tempDir(t);
    const original = copyFixture('text_embedding_v1', tmp, 'original');
    const moved = path.join(tmp, 'moved');
    renameSync(original, moved);
    const copy = copyFixture('text_embedding_v1', tmp, 'copy');
    const spec = await hub.loadModuleSpec(copy);
    rmSync(moved, { recursive: true, force: true });
    const g = graphFor(t);
    const m = new hub.Module(spec, { graph: g });
    const y = m.call((TEXT_CALL.inputs.sentences as JsonTensor).values as string[]) as Output;
    const s = sessionFor(t, g);
    const assets = await s.run(g.getCollection<Output>(hub.GraphKeys.ASSET_FILEPATHS));
    assert.deepEqual(
      assets.map((a) => a.strings()[0]),
      [path.join(copy, 'assets', 'tokens.txt'), path.join(copy, 'assets', 'tokens.txt')],
    );
    await s.run([g.globalVariablesInitializer(), g.tablesInitializer()]);
    assertOutput(await s.run(y), TEXT_CALL.outputs.default, 'embeddings from the copy');
  });

  test('testModuleRenamedAfterLoad: the spec keeps the path it was loaded from; a renamed module must be reloaded', async (t) => {
    const tmp = tempDir(t);
    const a = copyFixture('text_embedding_v1', tmp, 'a');
    const specA = await hub.loadModuleSpec(a);
    const b = path.join(tmp, 'b');
    renameSync(a, b);
    const g = graphFor(t);
    new hub.Module(specA, { graph: g });
    const s = sessionFor(t, g);
    await assertRejectsCode(s.run(g.tablesInitializer()), 'NOT_FOUND', path.join(a, 'assets', 'tokens.txt'));
    const { result } = await runTextEmbedding(t, b);
    assertOutput(result, TEXT_CALL.outputs.default, 'embeddings after reloading from the new place');
  });

  test('testRelativeModulePath: a relative module path gives relative asset paths that work from the cwd', async (t) => {
    const tmp = tempDir(t);
    const dir = copyFixture('text_embedding_v1', tmp);
    const rel = path.relative(process.cwd(), dir);
    const { graph, session, result } = await runTextEmbedding(t, rel);
    const [asset] = await session.run(graph.getCollection<Output>(hub.GraphKeys.ASSET_FILEPATHS).slice(0, 1));
    assert.equal(asset.strings()[0], path.join(rel, 'assets', 'tokens.txt'));
    assertOutput(result, TEXT_CALL.outputs.default, 'embeddings');
  });

  test('testMissingAssetFile: a deleted vocabulary fails the table initializer with NOT_FOUND naming it', async (t) => {
    const dir = copyFixture('text_embedding_v1', tempDir(t));
    const vocab = path.join(dir, 'assets', 'tokens.txt');
    rmSync(vocab);
    const spec = await hub.loadModuleSpec(dir);
    const g = graphFor(t);
    new hub.Module(spec, { graph: g });
    const s = sessionFor(t, g);
    await s.run(g.globalVariablesInitializer());
    await assertRejectsCode(s.run(g.tablesInitializer()), 'NOT_FOUND', vocab);
  });

  test('testEvalFunctionWithMovedModule: evalFunctionForModule on a copied hash-table module maps ids to its vocabulary', async (t) => {
    const dir = copyFixture('hash_table_v1', tempDir(t));
    writeFileSync(path.join(dir, 'assets', 'tokens.txt'), 'zero\none\ntwo\n');
    const f = await hub.evalFunctionForModule(dir);
    t.after(() => f.close());
    const out = (await f.call([0, 1, 2, 3].map(BigInt))) as Tensor;
    assert.deepEqual(out.strings(), ['zero', 'one', 'two', 'UNK']);
    // The fixture's own vocabulary is untouched.
    const orig = await hub.evalFunctionForModule(fixtureDir('hash_table_v1'));
    t.after(() => orig.close());
    assert.deepEqual(((await orig.call([1n])) as Tensor).strings(), ['hello']);
  });
});
