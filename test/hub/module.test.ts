// hub.Module behaviours ported from tensorflow_hub's native_module_test.py and module_test.py (semantics doc
// §6.1, §6.2). Each test is named after the Python test whose behaviour it checks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { Graph, Operation, Output, Session, Tensor, hub, variable } from '../../src';
import { tensorflow } from '../../src/proto';
import {
  JsonCall,
  JsonRagged,
  JsonSparse,
  JsonTensor,
  assertClose,
  assertOutput,
  assertRejectsCode,
  assertTensor,
  assertThrowsCode,
  copyFixture,
  editSavedModel,
  fixtureDir,
  fixtureJson,
  graphFor,
  hasFixture,
  initialize,
  moduleInputOf,
  nums,
  reduceSum,
  sessionFor,
  spec,
  tempDir,
  tensorOf,
} from './helpers';

const { GraphKeys } = hub;
type Sparse = { indices: Output; values: Output; denseShape: Output };
type Ragged = { flatValues: Output; rowSplits: Output[] };

const attrString = (bytes: Uint8Array | null): string => {
  assert.ok(bytes, 'expected an attached message');
  return Buffer.from(tensorflow.AttrValue.decode(bytes).s ?? []).toString('utf8');
};

function op(g: Graph, type: string, inputs: Output[], attrs?: Record<string, unknown>): Output {
  return g.addOperation(type, { inputs, attrs }).output(0);
}

function skipUnless(t: { skip(msg?: string): void }, ...names: string[]): boolean {
  const missing = names.filter((n) => !hasFixture(n));
  if (missing.length > 0) {
    t.skip(`fixture not generated: ${missing.join(', ')}`);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------
describe('ModuleSpec: format and spec-level API (native_module_test)', () => {
  test('testDefaultTagSpec / testTagsFromArgs: getTags lists each graph variant, empty set first', async () => {
    assert.deepEqual((await spec('mlp_v1')).getTags(), [[], ['train']]);
    assert.deepEqual((await spec('stateless_square_v1')).getTags(), [[]]);
    assert.deepEqual((await spec('attachments_v1')).getTags(), [[], ['alt']]);
  });

  test('testMultipleSignatures: signature names and input/output info per signature', async () => {
    const s = await spec('mlp_v1');
    assert.deepEqual(s.getSignatureNames().sort(), ['default', 'fruit_to_pet']);
    assert.deepEqual(s.getSignatureNames({ tags: ['train'] }).sort(), ['default', 'fruit_to_pet']);
    const fin = s.getInputInfoDict('fruit_to_pet');
    assert.deepEqual(Object.keys(fin).sort(), ['apples', 'oranges']);
    assert.equal(fin.apples.dtype, 'float32');
    assert.deepEqual(fin.apples.shape, [-1]);
    assert.deepEqual(Object.keys(s.getOutputInfoDict('fruit_to_pet')).sort(), ['cats', 'dogs']);
    const din = s.getInputInfoDict();
    assert.deepEqual(Object.keys(din), ['default']);
    assert.deepEqual(din.default.shape, [-1, 50]);
    assert.equal(din.default.isSparse, false);
    assert.equal(din.default.kind, 'Tensor');
    const dout = s.getOutputInfoDict();
    assert.deepEqual(Object.keys(dout).sort(), ['default', 'hidden_activations']);
    assert.deepEqual(dout.default.shape, [-1, 10]);
    assert.deepEqual(dout.hidden_activations.shape, [-1, 64]);
  });

  test('testSparseAndRaggedTensorInfo: parsed infos of SparseTensor and RaggedTensor signatures (tensor_info_test)', async (t) => {
    if (skipUnless(t, 'sparse_ragged_v1')) return;
    const s = await spec('sparse_ragged_v1');
    const sp = s.getInputInfoDict().default;
    assert.equal(sp.isSparse, true);
    assert.equal(sp.isComposite, false);
    assert.equal(sp.dtype, 'float32');
    assert.equal(sp.shape, null, 'unknown rank');
    assert.deepEqual(sp.names, { indices: 'sp/indices:0', values: 'sp/values:0', denseShape: 'sp/shape:0' });
    const rt = s.getInputInfoDict('ragged').default;
    assert.equal(rt.isComposite, true);
    assert.equal(rt.kind, 'RaggedTensor');
    assert.equal(rt.isSupportedType, true);
    assert.equal(rt.raggedRank, 1);
    assert.equal(rt.dtype, 'float32');
    assert.deepEqual(rt.shape, [-1, -1]);
    assert.deepEqual(rt.names.components, ['rt/flat_values:0', 'rt/row_splits_0:0']);
  });

  test('testSpecGettersWithUnknownTags: spec-level getters raise "SavedModelHandler has no graph with tags"', async () => {
    const s = await spec('mlp_v1');
    assertThrowsCode(
      () => s.getSignatureNames({ tags: ['nope'] }),
      'ERR_NO_SUCH_GRAPH_VARIANT',
      "SavedModelHandler has no graph with tags: ['nope']",
      "[[], ['train']]",
    );
    assertThrowsCode(() => s.getInputInfoDict('default', { tags: ['train', 'x'] }), 'ERR_NO_SUCH_GRAPH_VARIANT', "['train', 'x']");
    assertThrowsCode(() => s.getAttachedMessage('label_info', null, { tags: ['nope'] }), 'ERR_NO_SUCH_GRAPH_VARIANT');
  });

  test('testGetUnsupportedCollections: lists the keys hub modules cannot hold, sorted', () => {
    assert.deepEqual(hub.getUnsupportedCollections(['variables', 'my_scope', 'update_ops', 'global_step', 'asset_filepaths']), [
      'global_step',
      'my_scope',
    ]);
    assert.deepEqual(hub.getUnsupportedCollections([...hub.SUPPORTED_COLLECTIONS]), []);
  });

  test('testLoadModuleSpec: loadModuleSpec accepts a directory and a file:// URL; Module.load instantiates a handle', async (t) => {
    const dir = fixtureDir('stateless_square_v1');
    const fromUrl = await hub.loadModuleSpec(`file://${dir}`);
    assert.equal(fromUrl.path, dir);
    const g = graphFor(t);
    const m = await hub.Module.load(dir, { graph: g });
    const s = sessionFor(t, g);
    assert.deepEqual(nums(await s.run(m.call([3, -4]) as Output)), [9, 16]);
  });

  test('testUnknownModuleSpecType: a non-spec raises TypeError "Unknown module spec type"', () => {
    const g = new Graph();
    try {
      const e = assertThrowsCode(
        () => new hub.Module('/some/path' as never, { graph: g }),
        'ERR_INVALID_ARG_TYPE',
        'Unknown module spec type',
      );
      assert.ok(e instanceof TypeError);
    } finally {
      g.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('graph-variant selection by tags (module.py)', () => {
  test('testModuleTags: tags select a variant by exact set equality, order and repeats ignored', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    assert.deepEqual(new hub.Module(s, { graph: g }).tags, []);
    assert.deepEqual(new hub.Module(s, { graph: g, tags: null }).tags, []);
    assert.deepEqual(new hub.Module(s, { graph: g, tags: ['train'] }).tags, ['train']);
    assert.deepEqual(new hub.Module(s, { graph: g, tags: new Set(['train', 'train']) }).tags, ['train']);
  });

  test('testModuleTags: a tag set that is only a superset/subset fails, naming it and listing the available ones', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    assertThrowsCode(
      () => new hub.Module(s, { graph: g, tags: ['train', 'gpu'] }),
      'ERR_NO_SUCH_GRAPH_VARIANT',
      "No such graph variant: tags=['gpu', 'train']",
      "[[], ['train']]",
    );
    assertThrowsCode(() => new hub.Module(s, { graph: g, tags: ['serve'] }), 'ERR_NO_SUCH_GRAPH_VARIANT', "tags=['serve']");
    const a = await spec('attachments_v1');
    assertThrowsCode(() => new hub.Module(a, { graph: g, tags: ['train'] }), 'ERR_NO_SUCH_GRAPH_VARIANT', "[[], ['alt']]");
  });

  test('testTrainVariantIsADifferentGraph: tags ["train"] imports the training graph (dropout), [] the inference graph', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const inference = new hub.Module(s, { graph: g });
    const training = new hub.Module(s, { graph: g, tags: ['train'] });
    const dropoutOps = (scope: string) => g.operations().filter((o) => o.name.startsWith(`${scope}/`) && /dropout/i.test(o.name)).length;
    assert.equal(dropoutOps(inference.scope), 0);
    assert.ok(dropoutOps(training.scope) > 0);
  });

  test('testGettersUseConstructorTags: Module getters answer for the variant chosen at construction', async (t) => {
    if (skipUnless(t, 'attachments_v1')) return;
    const s = await spec('attachments_v1');
    const g = graphFor(t);
    const alt = new hub.Module(s, { graph: g, tags: ['alt'] });
    const dflt = new hub.Module(s, { graph: g });
    assert.equal(attrString(alt.getAttachedMessage('info')), 'alt variant');
    assert.equal(attrString(dflt.getAttachedMessage('info')), 'default variant');
    assert.equal(alt.getAttachedMessage('only_default'), null);
    assert.deepEqual(alt.getSignatureNames(), ['default']);
    assert.deepEqual(Object.keys(alt.getInputInfoDict()), ['default']);
    assert.deepEqual(Object.keys(alt.getOutputInfoDict()), ['default']);
    const sess = sessionFor(t, g);
    const [ya, yd] = await sess.run([alt.call([1, -2]) as Output, dflt.call([1, -2]) as Output]);
    assert.deepEqual(nums(ya), [3, 0], 'alt: x + 2');
    assert.deepEqual(nums(yd), [2, -1], 'default: x + 1');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('state scope and apply scope names (module_test _try_get_state_scope)', () => {
  test('testTryGetStateScope: module, module_1, ...; a custom name is uniquified the same way', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const names = [
      new hub.Module(s, { graph: g }),
      new hub.Module(s, { graph: g }),
      new hub.Module(s, { graph: g, name: 'emb' }),
      new hub.Module(s, { graph: g, name: 'emb' }),
    ].map((m) => [m.scope, m.name]);
    assert.deepEqual(names, [
      ['module', 'module'],
      ['module_1', 'module_1'],
      ['emb', 'emb'],
      ['emb_1', 'emb_1'],
    ]);
    assert.ok(g.operation('module_1/x'), 'state graph imported under module_1/');
    // names TF cannot use as a scope are refused up front, typed
    for (const bad of ['', '/x', 'a b', 'x/', '_x']) {
      assert.throws(
        () => new hub.Module(s, { graph: g, name: bad }),
        { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' },
        JSON.stringify(bad),
      );
    }
  });

  test('testTryGetStateScope: inside withNameScope("outer") the state scope is outer/module', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = g.withNameScope('outer', () => new hub.Module(s, { graph: g }));
    assert.equal(m.scope, 'outer/module');
    assert.equal(m.name, 'module');
    assert.equal((m.variableMap['dense/kernel'] as hub.Variable).name, 'outer/module/dense/kernel:0');
    // Re-entering the scope (absolute 'outer/', as Python's name_scope('outer/')) puts the call under it.
    const y = g.withNameScope('outer/', () => m.call(new Tensor('float32', [1, 50], new Float32Array(50))) as Output);
    assert.ok(y.op.name.startsWith('outer/module_apply_default/'), y.op.name);
    const z = g.withNameScope('outer', () => m.call(new Tensor('float32', [1, 50], new Float32Array(50))) as Output);
    assert.ok(z.op.name.startsWith('outer_1/module_apply_default/'), z.op.name);
  });

  test('testTryGetStateScope: a name already taken in the graph is skipped (module_1)', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    g.addOperation('NoOp', { name: 'module' });
    const m = new hub.Module(s, { graph: g });
    assert.equal(m.scope, 'module_1');
  });

  test('testApplyScopeNames: <name>_apply_<signature>, uniquified per call in the current name scope', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const m1 = new hub.Module(s, { graph: g });
    const scopeOf = (o: unknown) => (o as Output).op.name.split('/').slice(0, -1).join('/');
    assert.equal(scopeOf(m.call([1])), 'module_apply_default');
    assert.equal(scopeOf(m.call([1])), 'module_apply_default_1');
    assert.equal(scopeOf(g.withNameScope('foo', () => m.call([1]))), 'foo/module_apply_default');
    assert.equal(scopeOf(m1.call([1])), 'module_1_apply_default');
    const both = m.call({ x: [1], y: [2] }, { signature: 'two_inputs', asDict: true });
    assert.equal(scopeOf(both.sum), 'module_apply_two_inputs');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('variables and state (native_module_test)', () => {
  test('testVariables: variable_map keys relative to the scope, sorted; names and shapes; variables in key order', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const m1 = new hub.Module(s, { graph: g });
    assert.deepEqual(Object.keys(m.variableMap), ['dense/bias', 'dense/kernel', 'dense_1/bias', 'dense_1/kernel', 'fruit/k']);
    assert.deepEqual(
      m.variables.map((v) => v.name),
      ['module/dense/bias:0', 'module/dense/kernel:0', 'module/dense_1/bias:0', 'module/dense_1/kernel:0', 'module/fruit/k:0'],
    );
    assert.deepEqual(m1.variables.map((v) => v.name)[4], 'module_1/fruit/k:0');
    const kernel = m.variableMap['dense/kernel'] as hub.Variable;
    assert.deepEqual(kernel.shape, [50, 64]);
    assert.equal(kernel.dtype, 'float32');
    assert.equal(kernel.isResource, true);
    assert.equal(kernel.op.type, 'VarHandleOp');
    assert.deepEqual(
      g
        .getCollection<hub.Variable>(GraphKeys.GLOBAL_VARIABLES)
        .map((v) => v.name)
        .filter((n) => n.startsWith('module/'))
        .sort(),
      m.variables.map((v) => v.name),
    );
  });

  test('testVariablesRestoredByInitializer: values come from variables/variables only after globalVariablesInitializer', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const k = m.variableMap['fruit/k'] as hub.Variable;
    assert.equal(m.initializers.length, 5);
    assert.ok(
      m.initializers.every((i) => i.name.startsWith('module/checkpoint_initializer/')),
      'initializers restore from the checkpoint',
    );
    const restore = g.operations().filter((o) => o.type === 'RestoreV2' && o.name.startsWith('module/'));
    assert.equal(restore.length, 1);
    const sess = sessionFor(t, g);
    await assertRejectsCode(sess.run(k.value()), 'FAILED_PRECONDITION');
    await sess.run(g.globalVariablesInitializer());
    // fruit_to_pet: cats = apples * k + oranges, dogs = apples - oranges * k; recover k from the Python oracle.
    const call = (fixtureJson('mlp_v1').calls as JsonCall[]).find((c) => c.signature === 'fruit_to_pet')!;
    const a = (call.inputs.apples as JsonTensor).values as number[];
    const o = (call.inputs.oranges as JsonTensor).values as number[];
    const cats = (call.outputs.cats as JsonTensor).values as number[];
    const kValue = nums(await sess.run(k.value()))[0];
    assertClose(
      a.map((ai, i) => ai * kValue + o[i]),
      cats,
      'apples * k + oranges',
    );
  });

  test('testResourceVariables: VarHandleOp shared_name equals its scoped name', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const m1 = g.withNameScope('outer', () => new hub.Module(s, { graph: g }));
    for (const v of m.variables) assert.equal(v.op.getAttr('shared_name'), v.opName);
    assert.equal((m1.variableMap['dense/kernel'] as hub.Variable).op.getAttr('shared_name'), 'outer/module/dense/kernel');
  });

  test('testVariableSharingAcrossInstances: two modules do not share weights (assign to one, read the other)', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m1 = new hub.Module(s, { graph: g });
    const m2 = new hub.Module(s, { graph: g });
    const fruits = { apples: [1, 2], oranges: [10, 20] };
    const p1 = m1.call(fruits, { signature: 'fruit_to_pet', asDict: true }) as Record<string, Output>;
    const p2 = m2.call(fruits, { signature: 'fruit_to_pet', asDict: true }) as Record<string, Output>;
    const k1 = m1.variableMap['fruit/k'] as hub.Variable;
    const k2 = m2.variableMap['fruit/k'] as hub.Variable;
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    const kInit = nums(await sess.run(k2.value()))[0];
    await sess.run(k1.assign(g.constant(5)));
    const [v1, v2, c1, c2] = await sess.run([k1.value(), k2.value(), p1.cats, p2.cats]);
    assert.deepEqual(nums(v1), [5]);
    assert.deepEqual(nums(v2), [kInit], 'the second instance keeps the restored value');
    assert.notEqual(kInit, 5);
    assertClose(nums(c1), [1 * 5 + 10, 2 * 5 + 20], 'cats of the assigned module');
    assertClose(nums(c2), [1 * kInit + 10, 2 * kInit + 20], 'cats of the other module');
  });

  test('testApplyStatefulModuleMultipleTimes: every call, in any name scope and signature, reads the one state', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const nVars = g.getCollection(GraphKeys.GLOBAL_VARIABLES).length;
    const a = m.call({ apples: [1], oranges: [1] }, { signature: 'fruit_to_pet', asDict: true }) as Record<string, Output>;
    const b = g.withNameScope(
      'foo',
      () => m.call({ apples: [2], oranges: [0] }, { signature: 'fruit_to_pet', asDict: true }) as Record<string, Output>,
    );
    const x = new Tensor('float32', [1, 50], new Float32Array(50).fill(0.5));
    const d1 = m.call(x) as Output;
    const d2 = g.withNameScope('bar', () => m.call(x) as Output);
    assert.equal(g.getCollection(GraphKeys.GLOBAL_VARIABLES).length, nVars, 'calls create no variables');
    // The applied graph's reads use the state handles; the apply-scope copies are stillborn resource placeholders.
    assert.equal(g.operation('module_apply_fruit_to_pet/mul_1/ReadVariableOp')!.inputs[0].op.name, 'module/fruit/k');
    assert.equal(g.operation('foo/module_apply_fruit_to_pet/mul_1/ReadVariableOp')!.inputs[0].op.name, 'module/fruit/k');
    assert.equal(g.operation('module_apply_default/dense/MatMul/ReadVariableOp')!.inputs[0].op.name, 'module/dense/kernel');
    const stillborn = g.operation('module_apply_default/dense/kernel')!;
    assert.equal(stillborn.type, 'Placeholder');
    assert.equal(stillborn.output(0).dtype, 'resource');
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    await sess.run((m.variableMap['fruit/k'] as hub.Variable).assign(g.constant(3)));
    const [ca, cb, y1, y2] = await sess.run([a.cats, b.cats, d1, d2]);
    assert.deepEqual(nums(ca), [1 * 3 + 1]);
    assert.deepEqual(nums(cb), [2 * 3 + 0]);
    assert.deepEqual(nums(y1), nums(y2), 'default applied in two scopes gives the same values');
    // Changing the shared state changes every application.
    await sess.run(
      (m.variableMap['dense_1/bias'] as hub.Variable).assign(g.constant(new Tensor('float32', [10], new Float32Array(10).fill(100)))),
    );
    const [z1, z2] = await sess.run([d1, d2]);
    assert.ok(nums(z1).every((v, i) => Math.abs(v - nums(y1)[i]) > 50));
    assert.deepEqual(nums(z1), nums(z2));
  });

  test('testPartitionedVariables: parts grouped under one key, ordered by offset, restored by slice', async (t) => {
    if (skipUnless(t, 'partitioned_v1')) return;
    const ref = fixtureJson('partitioned_v1');
    const s = await spec('partitioned_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    assert.deepEqual(Object.keys(m.variableMap), ['emb']);
    const parts = m.variableMap.emb as hub.Variable[];
    assert.ok(Array.isArray(parts));
    assert.deepEqual(
      parts.map((p) => p.name),
      ['module/emb/part_0:0', 'module/emb/part_1:0', 'module/emb/part_2:0'],
    );
    assert.deepEqual(
      parts.map((p) => p.saveSliceInfo!.varOffset),
      [
        [0, 0],
        [2, 0],
        [4, 0],
      ],
    );
    assert.deepEqual(
      parts.map((p) => p.saveSliceInfo!.fullShape),
      [
        [6, 2],
        [6, 2],
        [6, 2],
      ],
    );
    assert.deepEqual(
      m.variables.map((v) => v.name),
      parts.map((p) => p.name),
    );
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    const values = await sess.run(parts.map((p) => p.value()));
    const emb = ref.emb as JsonTensor;
    assertClose(values.flatMap(nums), emb.values as number[], 'partitions concatenated = emb');
  });

  test('testRefVariables: reference variables (VariableV2) are scoped per instance and read by every call', async (t) => {
    const refSpec = hub.createModuleSpec((mg) => {
      const x = mg.placeholder('float32', [-1], 'x');
      const w = variable(mg, { name: 'w', initialValue: 2, useResource: false });
      hub.addSignature('default', x, mg.addOperation('Mul', { inputs: [x, w.value()] }).output(0));
    });
    const g = graphFor(t);
    const m1 = new hub.Module(refSpec, { graph: g });
    const m2 = new hub.Module(refSpec, { graph: g });
    const w1 = m1.variableMap.w as hub.Variable;
    assert.equal(w1.op.type, 'VariableV2');
    assert.equal(w1.isResource, false);
    assert.equal(w1.name, 'module/w:0');
    const y1 = m1.call([3]) as Output;
    const y1b = g.withNameScope('again', () => m1.call([4]) as Output);
    const y2 = m2.call([3]) as Output;
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    assert.deepEqual((await sess.run([y1, y1b, y2])).map(nums), [[6], [8], [6]]);
    await sess.run(w1.assign(g.constant(5)));
    assert.deepEqual((await sess.run([y1, y1b, y2])).map(nums), [[15], [20], [6]]);
  });

  /** mlp_v1 instantiated, initialized, and its fruit/k set to 9 (the spec's checkpoint has 3). */
  const mlpWithK9 = async (t: Parameters<typeof graphFor>[0]) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    await sess.run((m.variableMap['fruit/k'] as hub.Variable).assign(g.constant(9)));
    return { s, g, m, sess };
  };

  test('testModuleWithLayers / export: a module exported after an assignment reloads with the new value', async (t) => {
    const s = await spec('mlp_v1');
    const dir = path.join(tempDir(t), 'exported');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    await sess.run((m.variableMap['fruit/k'] as hub.Variable).assign(g.constant(9)));
    await m.export(dir, sess);
    const f = await hub.evalFunctionForModule(dir);
    t.after(() => f.close());
    const out = (await f.call({ apples: [1, 2], oranges: [1, 1] }, { signature: 'fruit_to_pet', asDict: true })) as Record<string, Tensor>;
    assert.deepEqual(nums(out.cats), [10, 19]);
    assert.deepEqual(nums(out.dogs), [-8, -7]);
    assert.deepEqual((await hub.loadModuleSpec(dir)).getTags(), [[], ['train']]);
  });

  test('export never writes into an existing model or a non-empty directory, and a failed export leaves nothing', async (t) => {
    const { s, m, sess } = await mlpWithK9(t);
    const base = tempDir(t);
    const original = copyFixture('mlp_v1', base, 'original');
    const snapshot = (dir: string) =>
      readdirSync(dir, { recursive: true })
        .map(String)
        .sort()
        .map((f) => {
          const full = path.join(dir, f);
          return `${f}:${statSync(full).isFile() ? readFileSync(full).toString('base64') : 'dir'}`;
        });
    const before = snapshot(original);
    await assert.rejects(m.export(original, sess), { code: 'ERR_ALREADY_EXISTS', message: /not empty \(it holds a model\)/ });
    assert.deepEqual(snapshot(original), before, 'the existing module is untouched');
    const other = path.join(base, 'other');
    mkdirSync(other);
    writeFileSync(path.join(other, 'notes.txt'), 'mine');
    await assert.rejects(s.export(other), { code: 'ERR_ALREADY_EXISTS' });
    assert.deepEqual(readdirSync(other), ['notes.txt']);
    const empty = path.join(base, 'empty');
    mkdirSync(empty);
    await m.export(empty, sess);
    assert.ok(existsSync(path.join(empty, 'tfhub_module.pb')));
    // a failing export (its checkpoint does not fit) leaves neither the target nor a temp directory behind
    await assert.rejects(s.export(path.join(base, 'failed'), { checkpointPath: path.join(base, 'nope') }), {
      code: 'ERR_CHECKPOINT_NOT_FOUND',
    });
    assert.deepEqual(readdirSync(base).sort(), ['empty', 'original', 'other']);
  });

  test('testExportModuleSpec: spec.export restores from a checkpoint by (transformed) key; a missing key or a wrong shape fails before anything runs', async (t) => {
    const { s, m, sess } = await mlpWithK9(t);
    const base = tempDir(t);
    const first = path.join(base, 'first');
    await m.export(first, sess);
    const checkpointPath = path.join(first, 'variables', 'variables');

    // The spec's graph with the other checkpoint's values (k = 9, not the spec's own 3).
    const second = path.join(base, 'second');
    await s.export(second, { checkpointPath });
    const f = await hub.evalFunctionForModule(second);
    t.after(() => f.close());
    const out = (await f.call({ apples: [1, 2], oranges: [1, 1] }, { signature: 'fruit_to_pet', asDict: true })) as Record<string, Tensor>;
    assert.deepEqual(nums(out.cats), [10, 19]);

    await assert.rejects(s.export(path.join(base, 'x'), { checkpointPath, nameTransform: (k) => `model/${k}` }), {
      code: 'ERR_CHECKPOINT_KEY_NOT_FOUND',
      message: /Tensor model\/dense\/bias is not found in .* checkpoint/,
    });
    await assert.rejects(s.export(path.join(base, 'y'), { checkpointPath, nameTransform: (k) => (k === 'fruit/k' ? 'dense/bias' : k) }), {
      code: 'ERR_CHECKPOINT_SHAPE',
      message: /Shape of variable module\S*fruit\/k\S* \(\) doesn't match with shape of tensor dense\/bias \(64,\) from checkpoint reader/,
    });
    await assert.rejects(s.export(path.join(base, 'z'), { checkpointPath: path.join(first, 'nope') }), {
      code: 'ERR_CHECKPOINT_NOT_FOUND',
    });
    for (const d of ['x', 'y', 'z']) assert.equal(existsSync(path.join(base, d, 'tfhub_module.pb')), false, `${d}: nothing written`);
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('collections exported to the caller (native_module_test)', () => {
  test('testTrainableFalse: variables always; no trainable_variables, regularization_losses or update_ops', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g, tags: ['train'] });
    m.call(new Tensor('float32', [1, 50], new Float32Array(50)));
    assert.equal(g.getCollection(GraphKeys.GLOBAL_VARIABLES).length, 5);
    assert.equal(g.getCollection(GraphKeys.TRAINABLE_VARIABLES).length, 0);
    assert.equal(g.getCollection(GraphKeys.REGULARIZATION_LOSSES).length, 0);
    assert.equal(g.getCollection(GraphKeys.UPDATE_OPS).length, 0);
  });

  test('testModuleWithRegularizationLosses: trainable: true exports trainable_variables and the state-scope losses', async (t) => {
    const ref = fixtureJson('mlp_v1_finetune');
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    new hub.Module(s, { graph: g, tags: ['train'], trainable: true });
    assert.deepEqual(
      g
        .getCollection<hub.Variable>(GraphKeys.TRAINABLE_VARIABLES)
        .map((v) => v.name)
        .sort(),
      ref.trainable_variables,
    );
    const losses = g.getCollection<Output>(GraphKeys.REGULARIZATION_LOSSES);
    assert.equal(losses.length, 1);
    assert.ok(losses[0] instanceof Output);
    assert.ok(losses[0].name.startsWith('module/'), `loss lives in the state scope: ${losses[0].name}`);
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    assertClose(
      nums(await sess.run(losses[0])),
      ref.train_graph_regularization_losses,
      'regularization loss (0.01 * l2_loss(dense/kernel))',
    );
  });

  test('testTrainModule: trainable: true fine-tunes — loss, gradients and one SGD step match Python', async (t) => {
    const ref = fixtureJson('mlp_v1_finetune');
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g, trainable: true });
    const y = m.call(g.constant(tensorOf(ref.x))) as Output;
    const loss = op(g, 'Mean', [
      op(g, 'Square', [op(g, 'Sub', [y, g.constant(tensorOf(ref.target))])]),
      g.constant(new Tensor('int32', [2], [0, 1])),
    ]);
    const keys = Object.keys(ref.gradients).sort();
    const vars = keys.map((k) => m.variableMap[k] as hub.Variable);
    const grads = g.addGradients(loss, vars);
    const lr = g.constant(ref.learning_rate as number);
    const step = vars.map((v, i) => g.addOperation('AssignSubVariableOp', { inputs: [v.handle, op(g, 'Mul', [lr, grads[i]])] }));
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    const [l0, ...gs] = await sess.run([loss, ...grads]);
    assertClose(nums(l0), [ref.loss_before], 'loss before');
    keys.forEach((k, i) => assertTensor(gs[i], ref.gradients[k], `d loss / d ${k}`, 1e-4));
    await sess.run(step);
    assertClose(nums(await sess.run(loss)), [ref.loss_after_one_step], 'loss after one SGD step', 1e-4);
  });

  test('testTableInitializers: table_initializer gets the state-scope init op once; calls do not re-add it', async (t) => {
    if (skipUnless(t, 'hash_table_v1')) return;
    const s = await spec('hash_table_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const inits = g.getCollection<Operation>(GraphKeys.TABLE_INITIALIZERS);
    assert.equal(inits.length, 1);
    assert.ok(inits[0] instanceof Operation);
    assert.equal(inits[0].name, 'module/index_to_string/table_init/InitializeTableFromTextFileV2');
    const y1 = m.call(new Tensor('int64', [4], [0n, 1n, 2n, 3n])) as Output;
    const y2 = m.call(new Tensor('int64', [2], [2n, 9n])) as Output;
    assert.equal(g.getCollection(GraphKeys.TABLE_INITIALIZERS).length, 1);
    assert.equal(g.getCollection(GraphKeys.GLOBAL_VARIABLES).length, 0);
    const sess = sessionFor(t, g);
    await assertRejectsCode(sess.run(y1), 'FAILED_PRECONDITION', 'not initialized');
    await sess.run(g.tablesInitializer());
    const [a, b] = await sess.run([y1, y2]);
    assert.deepEqual(a.strings(), ['index0', 'hello', 'world', 'UNK']);
    assert.deepEqual(b.strings(), ['world', 'UNK']);
  });

  test('testTableSharedNames: each instance owns its table (shared_name prefixed by the scope)', async (t) => {
    if (skipUnless(t, 'hash_table_v1')) return;
    const s = await spec('hash_table_v1');
    const g = graphFor(t);
    const m1 = new hub.Module(s, { graph: g });
    const m2 = new hub.Module(s, { graph: g });
    assert.equal(g.operation('module/index_to_string/hash_table')!.getAttr('shared_name'), 'module/hash_table_tokens.txt_-1_-2');
    assert.equal(g.operation('module_1/index_to_string/hash_table')!.getAttr('shared_name'), 'module_1/hash_table_tokens.txt_-1_-2');
    const sess = sessionFor(t, g);
    // Only the first instance's table is initialized: the second must not see it.
    await sess.run(g.getCollection<Operation>(GraphKeys.TABLE_INITIALIZERS)[0]);
    assert.deepEqual((await sess.run(m1.call(new Tensor('int64', [1], [1n])) as Output)).strings(), ['hello']);
    await assertRejectsCode(sess.run(m2.call(new Tensor('int64', [1], [1n])) as Output), 'FAILED_PRECONDITION');
  });

  test('testModuleWithAssets: asset_filepaths holds the state asset and one more per call, all under <module>/assets', async (t) => {
    const s = await spec('text_embedding_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const assets = () => g.getCollection<Output>(GraphKeys.ASSET_FILEPATHS);
    assert.equal(assets().length, 1);
    assert.ok(assets()[0].name.startsWith('module/'));
    m.call(['hello']);
    assert.equal(assets().length, 2);
    assert.ok(assets()[1].name.startsWith('module_apply_default/'));
    m.call(['world']);
    assert.equal(assets().length, 3);
    const sess = sessionFor(t, g);
    const values = (await sess.run(assets())).map((x) => x.strings()[0]);
    assert.deepEqual(values, Array(3).fill(path.join(fixtureDir('text_embedding_v1'), 'assets', 'tokens.txt')));
  });

  test('testEmptyInitializers: globalVariablesInitializer / tablesInitializer are no-ops for a stateless module', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    assert.deepEqual(m.variables, []);
    assert.deepEqual(m.variableMap, {});
    assert.equal(g.getCollection(GraphKeys.GLOBAL_VARIABLES).length, 0);
    assert.equal(g.getCollection(GraphKeys.TABLE_INITIALIZERS).length, 0);
    const y = m.call([10]) as Output;
    const sess = sessionFor(t, g);
    await initialize(sess, g);
    assert.deepEqual(nums(await sess.run(y)), [100]);
  });

  test('testUpdateOps: with trainable: true and tags ["train"] each call adds its update ops; running them moves the statistics', async (t) => {
    if (skipUnless(t, 'batchnorm_v1')) return;
    const ref = fixtureJson('batchnorm_v1');
    const upd = ref.train_update;
    const s = await spec('batchnorm_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g, tags: ['train'], trainable: true });
    assert.equal(g.getCollection(GraphKeys.UPDATE_OPS).length, 0, 'construction adds no update ops');
    const y = m.call(tensorOf(upd.inputs.default)) as Output;
    const updates = g.getCollection<Operation | Output>(GraphKeys.UPDATE_OPS);
    assert.deepEqual(updates.map((u) => u.name).sort(), upd.update_ops.map((n: string) => `module_apply_default/${n}`).sort());
    const mean = m.variableMap['bn/moving_mean'] as hub.Variable;
    const variance = m.variableMap['bn/moving_variance'] as hub.Variable;
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    assertTensor(await sess.run(mean.value()), upd.moving_mean_before, 'moving_mean before');
    const [out] = (await sess.run([y, ...updates])) as Tensor[];
    assertTensor(out, upd.outputs.default, 'train-mode output');
    assertTensor(await sess.run(mean.value()), upd.moving_mean_after, 'moving_mean after one update');
    assertTensor(await sess.run(variance.value()), upd.moving_variance_after, 'moving_variance after one update');
  });

  test('testUpdateOpsNotTrainable: a non-trainable module (or the fixed variant) exports no update ops; statistics stay', async (t) => {
    if (skipUnless(t, 'batchnorm_v1')) return;
    const ref = fixtureJson('batchnorm_v1');
    const s = await spec('batchnorm_v1');
    const g = graphFor(t);
    const train = new hub.Module(s, { graph: g, tags: ['train'] });
    const fixed = new hub.Module(s, { graph: g, trainable: true });
    train.call(tensorOf(ref.train_update.inputs.default));
    const y = fixed.call(tensorOf(ref.calls[0].inputs.default)) as Output;
    assert.equal(g.getCollection(GraphKeys.UPDATE_OPS).length, 0);
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    const mean = fixed.variableMap['bn/moving_mean'] as hub.Variable;
    assertTensor(await sess.run(y), ref.calls[0].outputs.default, 'inference output');
    await sess.run(y);
    assertTensor(await sess.run(mean.value()), ref.train_update.moving_mean_before, 'moving_mean unchanged');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('applying signatures (native_module_test / module_test)', () => {
  test('testApplyStatelessModule: square of 10 is 100; one value or a dict for a one-input signature', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const a = m.call([10]) as Output;
    // The signature declares shape (None,): a scalar does not fit (Python's TypeSpec check).
    assertThrowsCode(() => m.call(10), 'ERR_INPUT_SHAPE', 'shape=()', 'shape=(None,)');
    const b = m.call({ default: [10, 3] }) as Output;
    const c = m.call(new Tensor('float32', [2], [1.5, -2])) as Output;
    const x = g.placeholder('float32', [-1], 'x_in');
    const d = m.call(x) as Output;
    const sess = sessionFor(t, g);
    const [ra, rb, rc, rd] = await sess.run([a, b, c, d], new Map([[x, [4, 5]]]));
    assert.deepEqual(nums(ra), [100]);
    assert.deepEqual(nums(rb), [100, 9]);
    assert.deepEqual(nums(rc), [2.25, 4]);
    assert.deepEqual(nums(rd), [16, 25]);
  });

  test('testConvertToTensor: a JS list becomes a tensor of the declared dtype ([10, 2] -> [100, 4])', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const y = m.call([10, 2]) as Output;
    assert.equal(y.dtype, 'float32');
    const sess = sessionFor(t, g);
    const r = await sess.run(y);
    assert.equal(r.dtype, 'float32');
    assert.deepEqual(nums(r), [100, 4]);
  });

  test("testConvertToTensor: a string for a float32 input raises \"Can't convert 'default'\"", async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const e = assertThrowsCode(() => m.call(['a']), 'ERR_INPUT_CONVERSION', "Can't convert 'default'");
    assert.ok(e instanceof TypeError);
  });

  test('testAsDict: as_dict returns every output; the default output otherwise', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const x = new Tensor('float32', [2, 50], new Float32Array(100).fill(0.25));
    const all = m.call(x, { asDict: true }) as Record<string, Output>;
    assert.deepEqual(Object.keys(all).sort(), ['default', 'hidden_activations']);
    assert.deepEqual(all.default.shape, [2, 10]);
    assert.deepEqual(all.hidden_activations.shape, [2, 64]);
    const only = m.call(x) as Output;
    assert.ok(only instanceof Output);
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    const [a, b] = await sess.run([all.default, only]);
    assert.deepEqual(nums(a), nums(b));
  });

  test('testPrepareOutputs: no "default" output and asDict false raises "Use as_dict=True"', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const e = assertThrowsCode(
      () => m.call({ x: [1], y: [2] }, { signature: 'two_inputs' }),
      'ERR_NO_DEFAULT_OUTPUT',
      "There is no output named 'default'",
      'asDict',
    );
    assert.ok(e instanceof TypeError);
    const r = m.call({ x: [3], y: [4] }, { signature: 'two_inputs', asDict: true }) as Record<string, Output>;
    const sess = sessionFor(t, g);
    const [p, q] = await sess.run([r.product, r.sum]);
    assert.deepEqual([nums(p), nums(q)], [[12], [7]]);
  });

  test('testUnknownSignature: "Signature \'nope\' is missing from meta graph." from call and from the getters', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const before = g.operations().length;
    assertThrowsCode(() => m.call([1], { signature: 'nope' }), 'ERR_UNKNOWN_SIGNATURE', "Signature 'nope' is missing from meta graph.");
    assert.equal(g.operations().length, before, 'nothing imported');
    assertThrowsCode(() => m.getInputInfoDict('nope'), 'ERR_UNKNOWN_SIGNATURE', "Signature 'nope' is missing from meta graph.");
    assertThrowsCode(() => m.getOutputInfoDict('nope'), 'ERR_UNKNOWN_SIGNATURE', "'nope'");
    assertThrowsCode(() => s.getInputInfoDict('nope'), 'ERR_UNKNOWN_SIGNATURE', "'nope'");
  });

  test("testConvertDictInputs: missing inputs are named, sorted (\"missing ['x', 'y']\")", async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    assertThrowsCode(() => m.call(), 'ERR_SIGNATURE_INPUTS', "Cannot convert dict_inputs: missing ['default']");
    assertThrowsCode(() => m.call(null), 'ERR_SIGNATURE_INPUTS', "missing ['default']");
    assertThrowsCode(() => m.call({}, { signature: 'two_inputs', asDict: true }), 'ERR_SIGNATURE_INPUTS', "missing ['x', 'y']");
    assertThrowsCode(() => m.call(null, { signature: 'two_inputs', asDict: true }), 'ERR_SIGNATURE_INPUTS', "missing ['x', 'y']");
    assertThrowsCode(() => m.call({ y: [1] }, { signature: 'two_inputs', asDict: true }), 'ERR_SIGNATURE_INPUTS', "missing ['x']");
  });

  test('testConvertDictInputs: extra keys are named, sorted ("extra given [\'y\']"), together with missing ones', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const e = assertThrowsCode(() => m.call({ default: [1], y: [2] }), 'ERR_SIGNATURE_INPUTS', "extra given ['y']");
    assert.ok(!e.message.includes('missing'));
    assertThrowsCode(
      () => m.call({ z: [1], x: [1], a: [2] }, { signature: 'two_inputs', asDict: true }),
      'ERR_SIGNATURE_INPUTS',
      "Cannot convert dict_inputs: missing ['y'], extra given ['a', 'z']",
    );
  });

  test('testMultipleInputs: a single value for a multi-input signature raises "Signature expects multiple inputs. Use a dict."', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const e = assertThrowsCode(
      () => m.call([1, 2], { signature: 'two_inputs', asDict: true }),
      'ERR_SIGNATURE_INPUTS',
      'Signature expects multiple inputs. Use a dict.',
    );
    assert.ok(e instanceof TypeError);
    assertThrowsCode(() => m.call(3, { signature: 'two_inputs', asDict: true }), 'ERR_SIGNATURE_INPUTS', 'Use a dict.');
  });

  test('testNoInputs: a no-input signature takes null/{} and rejects a value ("Signature expects no inputs.") or keys', async (t) => {
    if (skipUnless(t, 'partitioned_v1')) return;
    const dir = copyFixture('partitioned_v1', tempDir(t));
    editSavedModel(dir, (sm) => {
      const mg = sm.metaGraphs[0];
      mg.signatureDef!.table = tensorflow.SignatureDef.create({ outputs: { default: mg.signatureDef!.default.outputs!.full } });
    });
    const s = await hub.loadModuleSpec(dir);
    assert.deepEqual(s.getInputInfoDict('table'), {});
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const a = m.call(null, { signature: 'table' }) as Output;
    const b = m.call({}, { signature: 'table' }) as Output;
    const c = m.call(undefined, { signature: 'table' }) as Output;
    assertThrowsCode(() => m.call(1, { signature: 'table' }), 'ERR_SIGNATURE_INPUTS', 'Signature expects no inputs.');
    assertThrowsCode(() => m.call([null], { signature: 'table' }), 'ERR_SIGNATURE_INPUTS', 'Signature expects no inputs.');
    assertThrowsCode(() => m.call({ x: 1 }, { signature: 'table' }), 'ERR_SIGNATURE_INPUTS', "extra given ['x']");
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    const emb = fixtureJson('partitioned_v1').emb as JsonTensor;
    for (const r of await sess.run([a, b, c])) assertTensor(r, emb, 'the full table');
  });

  test('testInputDtype: an Output or Tensor of the wrong dtype is rejected (not cast)', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const ints = g.placeholder('int32', [-1], 'ints');
    assertThrowsCode(() => m.call(ints), 'ERR_INPUT_DTYPE', "Can't convert 'default'", 'int32', 'float32');
    assertThrowsCode(() => m.call(new Tensor('float64', [1], [1])), 'ERR_INPUT_DTYPE', 'float64');
    assertThrowsCode(
      () => m.call({ x: [1], y: g.placeholder('string', [-1]) }, { signature: 'two_inputs', asDict: true }),
      'ERR_INPUT_DTYPE',
      "Can't convert 'y'",
    );
  });

  test('testInputShape: an incompatible static shape raises "Got TensorSpec(shape=(1, 3), ...). Expected TensorSpec(shape=(None, 50), ...)"', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    assertThrowsCode(() => m.call([[1, 2, 3]]), 'ERR_INPUT_SHAPE', "Can't convert 'default'", 'shape=(1, 3)', 'shape=(None, 50)');
    assertThrowsCode(() => m.call(g.placeholder('float32', [50])), 'ERR_INPUT_SHAPE', 'shape=(50,)');
    // Unknown dims and unknown rank are compatible.
    m.call(g.placeholder('float32', [-1, -1]));
    m.call(g.placeholder('float32', null));
  });

  test('testSparseInputKind: a dense value for a SparseTensor input raises "Got Tensor. Expected SparseTensor."', async (t) => {
    if (skipUnless(t, 'sparse_ragged_v1')) return;
    const s = await spec('sparse_ragged_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    assertThrowsCode(() => m.call([1, 2]), 'ERR_INPUT_KIND', "Can't convert 'default'", 'Got Tensor. Expected SparseTensor');
    assertThrowsCode(() => m.call([1, 2], { signature: 'ragged' }), 'ERR_INPUT_KIND', 'Expected RaggedTensor');
    const sq = await spec('stateless_square_v1');
    const m2 = new hub.Module(sq, { graph: g });
    assertThrowsCode(
      () => m2.call({ indices: [[0]], values: [1], denseShape: [1] }),
      'ERR_INPUT_KIND',
      "Can't convert 'default'",
      'Expected Tensor',
    );
  });

  test('testModuleAppliedInOtherGraph: "Module must be applied in the graph it was instantiated for."', async (t) => {
    const s = await spec('stateless_square_v1');
    const g = graphFor(t);
    const other = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    assertThrowsCode(
      () => m.call(other.placeholder('float32', [-1])),
      'ERR_GRAPH_MISMATCH',
      'Module must be applied in the graph it was instantiated for.',
    );
    assertThrowsCode(
      () => m.call({ x: [1], y: other.placeholder('float32', [-1]) }, { signature: 'two_inputs', asDict: true }),
      'ERR_GRAPH_MISMATCH',
      'Module must be applied',
    );
  });

  test('testSparseTensors: SparseTensor in and out; applying twice squares the values twice, indices/shape unchanged', async (t) => {
    if (skipUnless(t, 'sparse_ragged_v1')) return;
    const call = (fixtureJson('sparse_ragged_v1').calls as JsonCall[]).find((c) => c.signature === 'default')!;
    const input = call.inputs.default as JsonSparse;
    const s = await spec('sparse_ragged_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const once = m.call(moduleInputOf(input) as never) as Sparse;
    const twice = m.call(once as never) as Sparse;
    assert.equal(twice.indices, once.indices, 'indices pass through (the output is the fed input)');
    const sess = sessionFor(t, g);
    const r = await sess.run(twice);
    assertTensor(r.indices, input.indices, 'indices');
    assertTensor(r.denseShape, input.dense_shape, 'dense shape');
    assertClose(
      nums(r.values),
      (input.values.values as number[]).map((v) => v ** 4),
      'values ** 4',
    );
    // Sparse components given as JS arrays and as Outputs.
    const ph = {
      indices: g.placeholder('int64', [-1, 2]),
      values: g.placeholder('float32', [-1]),
      denseShape: g.placeholder('int64', [2]),
    };
    const fromPh = m.call(ph) as Sparse;
    const fromJs = m.call({ indices: [[0n, 1n]], values: [3], denseShape: [2n, 2n] }) as Sparse;
    const [p, j] = await sess.run(
      [fromPh.values, fromJs.values],
      new Map<Output, unknown>([
        [ph.indices, tensorOf(input.indices)],
        [ph.values, [2, 3, 4]],
        [ph.denseShape, tensorOf(input.dense_shape)],
      ]) as never,
    );
    assert.deepEqual(nums(p), [4, 9, 16]);
    assert.deepEqual(nums(j), [9]);
  });

  test('a constant denseShape must fit the declared SparseTensor shape (Python checks the static shape too)', async (t) => {
    if (skipUnless(t, 'sparse_ragged_v1')) return;
    const dir = copyFixture('sparse_ragged_v1', tempDir(t));
    editSavedModel(dir, (sm) => {
      for (const mg of sm.metaGraphs) mg.signatureDef!.default.inputs!.default.tensorShape = { dim: [{ size: -1 }, { size: 4 }] };
    });
    const m = new hub.Module(await hub.loadModuleSpec(dir), { graph: graphFor(t) });
    assertThrowsCode(
      () => m.call({ indices: [[0n, 4n]], values: [1], denseShape: [3n, 5n] }),
      'ERR_INPUT_SHAPE',
      "Can't convert 'default'",
      'shape=(3, 5)',
      'shape=(None, 4)',
    );
    assertThrowsCode(() => m.call({ indices: [[0n, 1n]], values: [1], denseShape: new Tensor('int64', [2], [3n, 5n]) }), 'ERR_INPUT_SHAPE');
    m.call({ indices: [[0n, 1n]], values: [1], denseShape: [3n, 4n] }); // fits
  });

  test('testRaggedTensors: RaggedTensor in and out; applying twice gives flat_values ** 4, same row splits', async (t) => {
    if (skipUnless(t, 'sparse_ragged_v1')) return;
    const call = (fixtureJson('sparse_ragged_v1').calls as JsonCall[]).find((c) => c.signature === 'ragged')!;
    const input = call.inputs.default as JsonRagged;
    const s = await spec('sparse_ragged_v1');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    const once = m.call(moduleInputOf(input) as never, { signature: 'ragged' }) as Ragged;
    const twice = m.call({ values: once.flatValues, rowSplits: once.rowSplits } as never, { signature: 'ragged' }) as Ragged;
    const sess = sessionFor(t, g);
    const r = await sess.run({ flatValues: twice.flatValues, rowSplits: twice.rowSplits });
    assertClose(
      nums(r.flatValues),
      (input.flat_values.values as number[]).map((v) => v ** 4),
      'flat values ** 4',
    );
    assertTensor(r.rowSplits[0], input.row_splits[0], 'row splits');
    const js = m.call({ values: [1, 2, 3], rowSplits: [0n, 1n, 3n] } as never, { signature: 'ragged' }) as Ragged;
    assert.deepEqual(nums(await sess.run(js.flatValues)), [1, 4, 9]);
  });

  test('testUnsupportedSignatureType: a signature with an unsupported composite raises "expects a ... which is not supported"', async (t) => {
    if (skipUnless(t, 'sparse_ragged_v1')) return;
    const dir = copyFixture('sparse_ragged_v1', tempDir(t));
    editSavedModel(dir, (sm) => {
      const spec = sm.metaGraphs[0].signatureDef!.ragged.inputs!.default.compositeTensor!.typeSpec!;
      spec.typeSpecClass = tensorflow.TypeSpecProto.TypeSpecClass.INDEXED_SLICES_SPEC;
      spec.typeSpecClassName = 'IndexedSlicesSpec';
    });
    const s = await hub.loadModuleSpec(dir);
    const info = s.getInputInfoDict('ragged').default;
    assert.equal(info.isSupportedType, false);
    assert.equal(info.kind, 'IndexedSlicesSpec');
    const g = graphFor(t);
    const m = new hub.Module(s, { graph: g });
    assertThrowsCode(
      () => m.call({ values: [1], rowSplits: [0n, 1n] } as never, { signature: 'ragged' }),
      'ERR_UNSUPPORTED_SIGNATURE_TYPE',
      "Signature 'ragged' expects a IndexedSlicesSpec for input 'default'",
      'not supported',
    );
    // The other signature still works.
    const y = m.call({ indices: [[0n, 0n]], values: [5], denseShape: [1n, 1n] }) as Sparse;
    const sess = sessionFor(t, g);
    assert.deepEqual(nums(await sess.run(y.values)), [25]);
  });

  test('testClearControlDependenciesForModuleStateButNotApplyGraphs: call-time control dependencies apply to the applied ops only', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    const dep = g.addOperation('NoOp', { name: 'dep' });
    const m = new hub.Module(s, { graph: g });
    const out = m.call({ apples: [1], oranges: [2] }, { signature: 'fruit_to_pet', asDict: true, controlDependencies: [dep] }) as Record<
      string,
      Output
    >;
    const dependent = g
      .operations()
      .filter((o) => o.controlInputs.some((c) => c.name === 'dep'))
      .map((o) => o.name);
    assert.ok(dependent.length > 0);
    assert.ok(
      dependent.every((n) => n.startsWith('module_apply_fruit_to_pet/')),
      'only apply-scope ops depend on it',
    );
    assert.ok(
      dependent.includes('module_apply_fruit_to_pet/apples') || dependent.includes('module_apply_fruit_to_pet/mul_1/ReadVariableOp'),
    );
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    const k = nums(await sess.run((m.variableMap['fruit/k'] as hub.Variable).value()))[0];
    assertClose(nums(await sess.run(out.cats)), [1 * k + 2], 'cats');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('control flow modules (native_module_test testCond/testWhile, v1 and v2)', () => {
  test('testWhileAndCond: TF1 (Switch/Merge/Enter/Exit) and TF2 (If/While) modules agree and match Python, applied twice', async (t) => {
    if (skipUnless(t, 'control_flow_v1', 'control_flow_v2')) return;
    const g = graphFor(t);
    const v1 = new hub.Module(await spec('control_flow_v1'), { graph: g });
    const v2 = new hub.Module(await spec('control_flow_v2'), { graph: g });
    const calls = fixtureJson('control_flow_v1').calls as JsonCall[];
    const sess = sessionFor(t, g);
    const fetches = calls.map((c) =>
      [v1, v2, v1].map(
        (m, i) =>
          (i === 2
            ? g.withNameScope('again', () => m.call(tensorOf(c.inputs.default as JsonTensor), { asDict: true }))
            : m.call(tensorOf(c.inputs.default as JsonTensor), { asDict: true })) as Record<string, Output>,
      ),
    );
    await sess.run(g.globalVariablesInitializer());
    for (const [i, c] of calls.entries()) {
      for (const [j, f] of fetches[i].entries()) {
        const r = await sess.run(f);
        assertOutput(r.default, c.outputs.default, `call ${i} module ${j} default`);
        assertOutput(r.iterations, c.outputs.iterations, `call ${i} module ${j} iterations`);
      }
    }
    // The loop body and the false branch read w: changing w in one module changes its result only.
    await sess.run((v2.variableMap.w as hub.Variable).assign(g.constant(new Tensor('float32', [3], [1, 1, 1]))));
    const [a, b] = await sess.run([fetches[0][0].default, fetches[0][1].default]);
    assertOutput(a, calls[0].outputs.default, 'v1 unchanged');
    assert.notDeepEqual(nums(b), nums(a));
  });

  test('testWhileGradients (control flow v2): gradients through If/While match Python (both branches)', async (t) => {
    if (skipUnless(t, 'control_flow_v2')) return;
    const calls = fixtureJson('control_flow_v2').calls as JsonCall[];
    const g = graphFor(t);
    const m = new hub.Module(await spec('control_flow_v2'), { graph: g });
    const x = g.placeholder('float32', [-1, 3], 'x');
    const y = m.call(x, { asDict: true }) as Record<string, Output>;
    const [gx] = g.addGradients(reduceSum(g, y.default, [0, 1]), x);
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    for (const [i, call] of calls.entries()) {
      assertTensor(
        await sess.run(gx, new Map([[x, tensorOf(call.inputs.default as JsonTensor)]])),
        call.gradient!.value,
        `call ${i}: d sum(y) / dx`,
      );
    }
  });

  test('testWhileGradients (control flow v2): the gradient w.r.t. w (read in the loop body and a branch) agrees with central differences', async (t) => {
    if (skipUnless(t, 'control_flow_v2')) return;
    const call = (fixtureJson('control_flow_v2').calls as JsonCall[])[1];
    const g = graphFor(t);
    const m = new hub.Module(await spec('control_flow_v2'), { graph: g });
    const x = g.placeholder('float32', [-1, 3], 'x');
    const y = m.call(x) as Output;
    const loss = reduceSum(g, y, [0, 1]);
    const w = m.variableMap.w as hub.Variable;
    const [gw] = g.addGradients(loss, w);
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    const feed = new Map([[x, tensorOf(call.inputs.default as JsonTensor)]]);
    const grad = nums(await sess.run(gw, feed));
    assert.equal(grad.length, 3);
    const w0 = [0.5, -1, 2];
    const eps = 1e-2;
    for (let k = 0; k < 3; k++) {
      const at = async (d: number) => {
        const wk = w0.slice();
        wk[k] += d;
        await sess.run(w.assign(g.constant(new Tensor('float32', [3], wk))));
        return nums(await sess.run(loss, feed))[0];
      };
      const fd = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      assert.ok(Math.abs(fd - grad[k]) <= 2e-2 * (1 + Math.abs(fd)), `d loss / dw[${k}]: ${grad[k]} vs central difference ${fd}`);
    }
  });

  test('testWhileGradients (control flow v1): gradients through Switch/Merge/Enter/Exit match Python', async (t) => {
    if (skipUnless(t, 'control_flow_v1')) return;
    const g = graphFor(t);
    const m = new hub.Module(await spec('control_flow_v1'), { graph: g });
    const x = g.placeholder('float32', [-1, 3], 'x');
    const y = m.call(x, { asDict: true }) as Record<string, Output>;
    const [gx] = g.addGradients(reduceSum(g, y.default, [0, 1]), x);
    const sess = sessionFor(t, g);
    await sess.run(g.globalVariablesInitializer());
    for (const call of fixtureJson('control_flow_v1').calls as JsonCall[]) {
      assertTensor(await sess.run(gx, new Map([[x, tensorOf(call.inputs.default as JsonTensor)]])), call.gradient!.value, 'd sum(y) / dx');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('attached messages (native_module_test testAttachedMessage*)', () => {
  test('testAttachedMessage: the last value attached under a key wins; decoded with a protobufjs type', async (t) => {
    if (skipUnless(t, 'attachments_v1')) return;
    const s = await spec('attachments_v1');
    const info = s.getAttachedMessage('info', tensorflow.AttrValue);
    assert.ok(info);
    assert.equal(Buffer.from(info.s ?? []).toString(), 'default variant');
    assert.equal(attrString(s.getAttachedMessage('only_default')), 'present only in tags []');
    const hex = fixtureJson('attachments_v1').variants[0].attached_hex.info as string;
    assert.equal(Buffer.from(s.getAttachedMessage('info')!).toString('hex'), hex, 'raw bytes without a decoder');
    assert.equal(
      s.getAttachedMessage('info', (b) => b.length),
      hex.length / 2,
      'a decoder function',
    );
  });

  test('testAttachedMessageAbsent: a missing key gives null, or "No attached message for key" when required', async (t) => {
    if (skipUnless(t, 'attachments_v1')) return;
    const s = await spec('attachments_v1');
    assert.equal(s.getAttachedMessage('nope'), null);
    assert.equal(s.getAttachedMessage('only_default', null, { tags: ['alt'] }), null);
    assertThrowsCode(
      () => s.getAttachedMessage('nope', null, { required: true }),
      'ERR_NO_ATTACHED_MESSAGE',
      "No attached message for key 'nope' in graph version [] of Hub Module",
    );
    assertThrowsCode(
      () => s.getAttachedMessage('only_default', null, { tags: ['alt'], required: true }),
      'ERR_NO_ATTACHED_MESSAGE',
      "graph version ['alt']",
    );
    const stateless = await spec('stateless_square_v1');
    assert.equal(stateless.getAttachedMessage('info'), null, 'no attachments collection at all');
    const g = graphFor(t);
    assertThrowsCode(
      () => new hub.Module(s, { graph: g }).getAttachedMessage('nope', null, { required: true }),
      'ERR_NO_ATTACHED_MESSAGE',
      "'nope'",
    );
  });

  test('testAttachedMessagePerVariant: each graph variant has its own attachments (spec with tags and Module)', async (t) => {
    if (skipUnless(t, 'attachments_v1')) return;
    const s = await spec('attachments_v1');
    assert.equal(attrString(s.getAttachedMessage('info', null, { tags: ['alt'] })), 'alt variant');
    assert.equal(attrString(s.getAttachedMessage('info', null, { tags: [] })), 'default variant');
    const g = graphFor(t);
    assert.equal(attrString(new hub.Module(s, { graph: g, tags: ['alt'] }).getAttachedMessage('info')), 'alt variant');
  });

  test('testAttachedMessageIsACopy: mutating a returned message does not change the next one', async (t) => {
    if (skipUnless(t, 'attachments_v1')) return;
    const s = await spec('attachments_v1');
    const first = s.getAttachedMessage('info')!;
    first.fill(0);
    assert.equal(attrString(s.getAttachedMessage('info')), 'default variant');
    const decoded = s.getAttachedMessage('info', tensorflow.AttrValue)!;
    decoded.s = Buffer.from('changed');
    assert.equal(attrString(s.getAttachedMessage('info')), 'default variant');
  });

  test('testAttachedMessageOnMlp: mlp_v1 carries label_info "ten classes" in both variants', async (t) => {
    const s = await spec('mlp_v1');
    const g = graphFor(t);
    assert.equal(attrString(new hub.Module(s, { graph: g }).getAttachedMessage('label_info')), 'ten classes');
    assert.equal(attrString(s.getAttachedMessage('label_info', null, { tags: ['train'] })), 'ten classes');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('evalFunctionForModule (module_test testEvalFunctionForModule*)', () => {
  test('testEvalFunctionForModule: single input, dict input, dict output, explicit signature and tags', async (t) => {
    const f = await hub.evalFunctionForModule(fixtureDir('stateless_square_v1'));
    t.after(() => f.close());
    assert.deepEqual(nums((await f.call([2])) as Tensor), [4]);
    assert.deepEqual(nums((await f.call({ default: [3] })) as Tensor), [9]);
    assert.deepEqual(nums((await f.call(new Tensor('float32', [2], [1, 5]))) as Tensor), [1, 25]);
    const two = (await f.call({ x: [2], y: [4] }, { signature: 'two_inputs', asDict: true })) as Record<string, Tensor>;
    assert.deepEqual([nums(two.product), nums(two.sum)], [[8], [6]]);
    assert.ok(f.module instanceof hub.Module);
    assert.ok(f.session instanceof Session);
    if (hasFixture('attachments_v1')) {
      const alt = await hub.evalFunctionForModule(await spec('attachments_v1'), { tags: ['alt'] });
      t.after(() => alt.close());
      assert.deepEqual(nums((await alt.call([1, -2], { signature: 'default' })) as Tensor), [3, 0]);
    }
  });

  test('testEvalFunctionForModuleSparse: SparseTensor values in, sparse values out', async (t) => {
    if (skipUnless(t, 'sparse_ragged_v1')) return;
    const f = await hub.evalFunctionForModule(fixtureDir('sparse_ragged_v1'));
    t.after(() => f.close());
    const out = (await f.call({
      indices: [
        [0n, 0n],
        [1n, 2n],
      ],
      values: [2, 3],
      denseShape: [2n, 3n],
    })) as { indices: Tensor; values: Tensor; denseShape: Tensor };
    assert.deepEqual(nums(out.values), [4, 9]);
    assert.deepEqual(nums(out.indices), [0, 0, 1, 2]);
    assert.deepEqual(nums(out.denseShape), [2, 3]);
  });

  test('testEvalFunctionForModuleErrors: unknown signature, input errors, use after close', async () => {
    const f = await hub.evalFunctionForModule(fixtureDir('stateless_square_v1'));
    await assertRejectsCode(f.call([1], { signature: 'nope' }), 'ERR_UNKNOWN_SIGNATURE', "Signature 'nope' is missing from meta graph.");
    await assertRejectsCode(f.call({ x: [1] }, { signature: 'two_inputs', asDict: true }), 'ERR_SIGNATURE_INPUTS', "missing ['y']");
    await assertRejectsCode(f.call([1], { signature: 'two_inputs', asDict: true }), 'ERR_SIGNATURE_INPUTS', 'Use a dict.');
    await assertRejectsCode(f.call({ x: [1], y: [2] }, { signature: 'two_inputs' }), 'ERR_NO_DEFAULT_OUTPUT', 'asDict');
    f.close();
    f.close();
    await assertRejectsCode(f.call([1]), 'ERR_DISPOSED');
  });
});
