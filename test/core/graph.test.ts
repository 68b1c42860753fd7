// Graph, Operation, Output: building (attrs typed from OpDefs), inspecting, importing/exporting, functions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import {
  Graph,
  InvalidArgumentError,
  NotFoundError,
  Operation,
  Output,
  Session,
  TFError,
  Tensor,
  TfhubError,
  loadOpLibrary,
  opDefs,
  tensorflowVersion,
} from '../../src';
import { decodeSavedModel, tensorflow } from '../../src/proto';
import { FIXTURES } from '../helpers/fixtures';
import { graphAndSessionPerSuite } from './helpers/util';
import { numbers as values } from '../helpers/numbers';

/** a (placeholder [2]) + b (const [10, 20]) = c; d = c * c. */
function sourceGraph(): Uint8Array {
  const src = new Graph();
  const a = src.placeholder('float32', [2], 'a');
  const b = src.constant([10, 20], 'b');
  const c = src.addOperation('AddV2', { name: 'c', inputs: [a, b] }).output(0);
  src.addOperation('Mul', { name: 'd', inputs: [c, c] });
  const bytes = src.toGraphDef();
  src.dispose();
  return bytes;
}

describe('Graph', () => {
  let g: Graph;
  let s: Session;
  graphAndSessionPerSuite((graph, session) => {
    g = graph;
    s = session;
  });

  it('placeholder and constant; Output has op, index, name, dtype and inferred shape', () => {
    const x = g.placeholder('float32', [2, 3], 'px');
    assert.ok(x instanceof Output);
    assert.ok(x.op instanceof Operation);
    assert.equal(x.op.type, 'Placeholder');
    assert.deepEqual([x.index, x.name, x.dtype, x.shape], [0, 'px:0', 'float32', [2, 3]]);
    assert.equal(x.graph, g);
    assert.equal(String(x), 'Output(px:0, float32)');
    assert.equal(g.placeholder('int32').shape, null); // unknown rank
    assert.deepEqual(g.placeholder('float64', [-1, 4]).shape, [-1, 4]);

    const w = g.constant(
      [
        [1, 0, 2],
        [0, 1, 3],
      ],
      'w',
    ); // 2×3
    assert.deepEqual([w.dtype, w.shape], ['float32', [2, 3]]);
    const m = g.addOperation('MatMul', { inputs: [x, w], attrs: { transpose_b: true } }).output(0);
    assert.deepEqual(m.shape, [2, 2]); // shape inference through MatMul
    const unknown = g.addOperation('MatMul', { inputs: [g.placeholder('float32', [-1, 3]), w], attrs: { transpose_b: true } }).output(0);
    assert.deepEqual(unknown.shape, [-1, 2]);
    const r = s.runSync(m, {
      'px:0': [
        [1, 2, 3],
        [4, 5, 6],
      ],
    });
    assert.deepEqual(r.array(), [
      [7, 11],
      [16, 23],
    ]);
    assert.deepEqual(g.constant(7n).dtype, 'int64');
    assert.deepEqual(g.constant([1, 2], 'c_i16', 'int16').dtype, 'int16');
  });

  it('addOperation types attrs from the OpDef: ints vs floats, bools, strings, shapes, types, tensors, lists', () => {
    // float attr given an integral JS number: encoded as float (an int AttrValue would be rejected)
    const lr = g.addOperation('LeakyRelu', { inputs: [g.constant([-1, 3])], attrs: { alpha: 2 } });
    assert.equal(lr.getAttr('alpha'), 2);
    assert.equal(lr.attrValue('alpha').value, 'f');
    // int attr
    const pack = g.addOperation('Pack', { inputs: [[g.constant([1, 2]), g.constant([3, 4])]], attrs: { axis: 1 } });
    assert.deepEqual([pack.getAttr('axis'), pack.getAttr('N'), pack.getAttr('T')], [1, 2, 'float32']);
    assert.equal(pack.attrValue('axis').value, 'i');
    // list(float)
    const bucket = g.addOperation('Bucketize', { inputs: [g.constant([-5, 5, 15])], attrs: { boundaries: [0, 10] } });
    assert.deepEqual(bucket.getAttr('boundaries'), [0, 10]);
    // list(int) with shape inference
    const sq = g.addOperation('Squeeze', {
      inputs: [g.constant(new Tensor('float32', [1, 2, 1], [5, 6]))],
      attrs: { squeeze_dims: [0, 2] },
    });
    assert.deepEqual(sq.getAttr('squeeze_dims'), [0, 2]);
    assert.deepEqual(sq.output(0).shape, [2]);
    // type (with a Python alias) and string
    const cast = g.addOperation('Cast', { inputs: [g.constant([1.7, -2.7])], attrs: { DstT: 'int' } });
    assert.deepEqual([cast.getAttr('SrcT'), cast.getAttr('DstT')], ['float32', 'int32']);
    const join = g.addOperation('StringJoin', { inputs: [[g.constant(['a', 'b']), g.constant(['x', 'y'])]], attrs: { separator: '-' } });
    assert.equal(join.getAttr('separator'), '-');
    // list(type) inferred from a list input; list(shape) and list(type) given
    const idn = g.addOperation('IdentityN', { inputs: [[g.constant([1.5]), g.constant([2], undefined, 'int32')]] });
    assert.deepEqual(idn.getAttr('T'), ['float32', 'int32']);
    assert.deepEqual(
      idn.outputs.map((o) => o.dtype),
      ['float32', 'int32'],
    );
    const q = g.addOperation('FIFOQueueV2', { attrs: { component_types: ['float32', 'string'], shapes: [[2, 3], []], capacity: 5 } });
    assert.deepEqual([q.getAttr('component_types'), q.getAttr('shapes'), q.getAttr('capacity')], [['float32', 'string'], [[2, 3], []], 5]);
    // shape attr, unknown rank
    assert.equal(g.addOperation('Placeholder', { attrs: { dtype: 'float32', shape: null } }).getAttr('shape'), null);
    // tensor attr
    const k = g.addOperation('Const', { attrs: { dtype: 'int32', value: new Tensor('int32', [2], [4, 5]) } });
    assert.deepEqual(k.output(0).shape, [2]);

    const [rl, rp, rb, rsq, rc, rj] = s.runSync([lr, pack, bucket, sq, cast, join].map((op) => op.output(0)));
    assert.deepEqual(values(rl), [-2, 3]);
    assert.deepEqual(rp.array(), [
      [1, 3],
      [2, 4],
    ]);
    assert.deepEqual(values(rb), [0, 1, 2]);
    assert.deepEqual(values(rsq), [5, 6]);
    assert.deepEqual(values(rc), [1, -2]);
    assert.deepEqual(rj.strings(), ['a-x', 'b-y']);
  });

  it('type and number attrs are inferred from inputs; bad attrs are typed errors', () => {
    const add = g.addOperation('AddN', {
      inputs: [[g.constant([1], undefined, 'float64'), g.constant([2], undefined, 'float64'), g.constant([3], undefined, 'float64')]],
    });
    assert.deepEqual([add.getAttr('N'), add.getAttr('T')], [3, 'float64']);
    assert.deepEqual(values(s.runSync(add.output(0))), [6]);

    const f = g.constant([1]);
    assert.throws(() => g.addOperation('LeakyRelu', { inputs: [f], attrs: { alpha: 'big' } }), {
      name: 'TypeError',
      code: 'ERR_INVALID_ATTR',
    });
    assert.throws(() => g.addOperation('Pack', { inputs: [[f]], attrs: { axis: 0.5 } }), { name: 'TypeError', code: 'ERR_INVALID_ATTR' });
    assert.throws(() => g.addOperation('Cast', { inputs: [f], attrs: { DstT: 'float128' } }), {
      name: 'TypeError',
      code: 'ERR_INVALID_DTYPE',
    });
    assert.throws(() => g.addOperation('Squeeze', { inputs: [f], attrs: { squeeze_dims: [0.5] } }), { code: 'ERR_INVALID_ATTR' });
    // an attr the op does not have (TF itself would only log and ignore it); internal `_` attrs pass
    assert.throws(() => g.addOperation('Neg', { inputs: [f], attrs: { bogus: 3 } }), {
      name: 'TypeError',
      code: 'ERR_INVALID_ATTR',
      message: /Neg has no attr 'bogus' \(its attrs: T\)/,
    });
    assert.equal(g.addOperation('Neg', { inputs: [f], attrs: { _hint: 'x' } }).type, 'Neg');
    assert.throws(() => g.addOperation('Identity', { inputs: [f], attrs: { no_such_attr: {} } }), { code: 'ERR_INVALID_ATTR' });
    assert.throws(() => g.addOperation('Identity', { inputs: [[1, 2] as never] }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => g.addOperation(''), { code: 'ERR_INVALID_ARG_TYPE' });
    // TF's own checks: missing attrs, unknown op types, wrong arity, dtype clashes, duplicate names
    assert.throws(
      () => g.addOperation('Placeholder'),
      (e: Error) => e instanceof InvalidArgumentError && /missing attr 'dtype'/.test(e.message),
    );
    assert.throws(
      () => g.addOperation('Const', { attrs: { dtype: 'float32' } }),
      (e: Error) => e instanceof InvalidArgumentError && /missing attr 'value'/.test(e.message),
    );
    assert.throws(
      () => g.addOperation('NoSuchOpType'),
      (e: Error) => e instanceof NotFoundError && (e as TFError).code === 'NOT_FOUND' && /NoSuchOpType/.test(e.message),
    );
    assert.throws(() => g.addOperation('MatMul', { inputs: [g.constant([[1]])] }), InvalidArgumentError);
    assert.throws(() => g.addOperation('AddV2', { inputs: [f, g.constant([1], undefined, 'int32')] }), /Inconsistent values for attr 'T'/);
    assert.throws(() => g.addOperation('MatMul', { inputs: [f, f] }), /rank 2/); // shape inference error
    g.addOperation('NoOp', { name: 'taken' });
    assert.throws(
      () => g.addOperation('NoOp', { name: 'taken' }),
      (e: Error) => e instanceof InvalidArgumentError && /Duplicate node name/.test(e.message),
    );
  });

  it('operation(name), operations(), output(name) and Operation inspection', () => {
    const gg = new Graph();
    const a = gg.placeholder('float32', [2], 'a');
    const b = gg.constant([1, 2], 'b');
    const init = gg.addOperation('NoOp', { name: 'init' });
    const sum = gg.addOperation('AddV2', { name: 'sum', inputs: [a, b], controlInputs: [init], device: '/cpu:0' });
    const split = gg.addOperation('Split', {
      name: 'split',
      inputs: [gg.constant(0, 'axis', 'int32'), gg.constant([1, 2, 3, 4], 'v')],
      attrs: { num_split: 2 },
    });

    assert.equal(gg.operation('sum'), sum); // one wrapper per operation
    assert.equal(gg.operation('nope'), null);
    assert.deepEqual(
      gg.operations().map((o) => o.name),
      ['a', 'b', 'init', 'sum', 'axis', 'v', 'split'],
    );
    assert.equal(gg.output('split:1').name, 'split:1');
    assert.equal(gg.output('sum').name, 'sum:0');
    assert.throws(() => gg.output('missing:0'), { name: 'TfhubError', code: 'ERR_NOT_FOUND' });
    assert.throws(() => gg.output('split:2'), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });

    assert.deepEqual([sum.type, sum.numInputs, sum.numOutputs, sum.device], ['AddV2', 2, 1, '/cpu:0']);
    assert.deepEqual(
      sum.inputs.map((o) => o.name),
      ['a:0', 'b:0'],
    );
    assert.deepEqual(
      sum.controlInputs.map((o) => o.name),
      ['init'],
    );
    assert.deepEqual(
      init.controlOutputs.map((o) => o.name),
      ['sum'],
    );
    assert.deepEqual(
      a.consumers().map((c) => [c.op.name, c.inputIndex]),
      [['sum', 0]],
    );
    assert.deepEqual(
      split.outputs.map((o) => [o.name, o.shape]),
      [
        ['split:0', [2]],
        ['split:1', [2]],
      ],
    );
    const nodeDef = sum.nodeDef();
    assert.deepEqual([nodeDef.name, nodeDef.op, nodeDef.input], ['sum', 'AddV2', ['a', 'b', '^init']]);
    assert.throws(() => sum.attrValue('nope'), InvalidArgumentError);
    assert.equal(String(sum), 'Operation(sum, AddV2)');
    gg.dispose();
  });

  it('name scopes and unique names', () => {
    const gg = new Graph();
    const inScope = gg.withNameScope('layer', () => {
      assert.equal(gg.nameScope, 'layer');
      return [gg.placeholder('float32', null, 'x'), gg.addOperation('NoOp').name, gg.addOperation('NoOp').name];
    });
    assert.deepEqual([(inScope[0] as Output).name, inScope[1], inScope[2]], ['layer/x:0', 'layer/NoOp', 'layer/NoOp_1']);
    assert.equal(
      gg.withNameScope('layer', () => gg.addOperation('NoOp').name),
      'layer_1/NoOp',
    );
    assert.equal(
      gg.withNameScope('layer/', () => gg.addOperation('NoOp').name),
      'layer/NoOp_2',
    );
    assert.equal(gg.nameScope, '');
    assert.equal(gg.uniqueName('x'), 'x');
    assert.equal(gg.uniqueName('x'), 'x_1');
    // scopes made by imports and by TF's gradient code count as used too
    gg.importGraphDef(sourceGraph(), { prefix: 'outer/imported' });
    assert.equal(gg.isNameUsed('outer'), true);
    assert.equal(gg.uniqueName('outer/imported'), 'outer/imported_1');
    const v = gg.placeholder('float32', [2], 'v');
    gg.addGradients(gg.addOperation('Square', { inputs: [v] }).output(0), v, null, { prefix: 'tfgrads' });
    assert.equal(
      gg.withNameScope('tfgrads', () => gg.nameScope),
      'tfgrads_1',
    );
    gg.dispose();
  });

  it('building is linear in the number of operations (3,000 ops)', () => {
    const gg = new Graph();
    const x = gg.placeholder('float32', [2, 2], 'x');
    const t0 = performance.now();
    let y = x;
    for (let i = 0; i < 3000; i++) y = gg.addOperation('MatMul', { inputs: [y, x] }).output(0);
    const ms = performance.now() - t0;
    assert.equal(y.op.name, 'MatMul_2999');
    assert.equal(gg.operations().length, 3001);
    assert.ok(ms < 5000, `3,000 addOperation calls took ${ms.toFixed(0)} ms`);
    gg.dispose();
  });

  it('importGraphDef: prefix, inputMap, returnOutputs/Operations, controlDependencies, missing inputs', () => {
    const bytes = sourceGraph();
    const gg = new Graph();
    const dep = gg.addOperation('NoOp', { name: 'dep' });
    const feed = gg.constant([1, 2], 'feed');
    const r = gg.importGraphDef(bytes, {
      prefix: 'imp',
      inputMap: { 'a:0': feed, 'nope:0': feed },
      returnOutputs: ['d:0', 'c'],
      returnOperations: ['b'],
      controlDependencies: [dep],
    });
    assert.deepEqual(
      r.outputs.map((o) => o.name),
      ['imp/d:0', 'imp/c:0'],
    );
    assert.deepEqual(
      r.operations.map((o) => o.name),
      ['imp/b'],
    );
    assert.deepEqual(r.missingUnusedInputs, ['nope:0']);
    assert.equal(r.outputs[0].graph, gg);
    assert.deepEqual(
      gg.operation('imp/c')!.inputs.map((o) => o.name),
      ['feed:0', 'imp/b:0'],
    ); // a:0 was mapped
    assert.deepEqual(
      gg.operation('imp/b')!.controlInputs.map((o) => o.name),
      ['dep'],
    );
    const ss = new Session(gg);
    assert.deepEqual(values(ss.runSync(r.outputs[0])), [121, 484]); // (1+10)², (2+20)²

    // A prefix already in use: an error instead of duplicate node names; uniquifyPrefix picks a fresh one.
    assert.throws(
      () => gg.importGraphDef(bytes, { prefix: 'imp' }),
      (e: Error) => e instanceof InvalidArgumentError && /'imp\/a' already exists/.test(e.message),
    );
    const again = gg.importGraphDef(bytes, { prefix: 'imp', uniquifyPrefix: true, returnOutputs: ['d:0'] });
    assert.equal(again.outputs[0].name, 'imp_1/d:0');
    assert.deepEqual(values(ss.runSync(again.outputs[0], { 'imp_1/a:0': [0, 1] })), [100, 441]);

    // Without a prefix: TF rejects clashes, uniquifyNames renames.
    const plain = new Graph();
    plain.importGraphDef(bytes);
    assert.throws(
      () => plain.importGraphDef(bytes),
      (e: Error) => e instanceof InvalidArgumentError && /Node name 'a' already exists/.test(e.message),
    );
    plain.importGraphDef(bytes, { uniquifyNames: true });
    assert.deepEqual(
      plain.operations().map((o) => o.name),
      ['a', 'b', 'c', 'd', 'a_1', 'b_1', 'c_1', 'd_1'],
    );
    ss.close();
    gg.dispose();
    plain.dispose();
  });

  it('importGraphDefAsync gives the same result', async () => {
    const gg = new Graph();
    const r = await gg.importGraphDefAsync(sourceGraph(), { prefix: 'async', returnOutputs: ['d:0'] });
    assert.equal(r.outputs[0].name, 'async/d:0');
    const ss = new Session(gg);
    assert.deepEqual(values(await ss.run(r.outputs[0], { 'async/a:0': [1, 1] })), [121, 441]);
    ss.close();
    gg.dispose();
  });

  it('toGraphDef round trip', () => {
    const a = new Graph();
    const x = a.placeholder('float32', [3], 'x');
    const y = a
      .addOperation('Mul', { name: 'y', inputs: [a.addOperation('Exp', { inputs: [x] }).output(0), a.constant(2, 'two')] })
      .output(0);
    const bytes = a.toGraphDef();
    const def = tensorflow.GraphDef.decode(bytes);
    assert.deepEqual(
      def.node.map((n) => `${n.name}:${n.op}`),
      ['x:Placeholder', 'Exp:Exp', 'two:Const', 'y:Mul'],
    );
    const b = new Graph();
    b.importGraphDef(bytes);
    assert.deepEqual(
      b.operations().map((o) => o.name),
      a.operations().map((o) => o.name),
    );
    assert.deepEqual(b.output('y:0').shape, y.shape);
    const again = tensorflow.GraphDef.decode(b.toGraphDef());
    const plain = (d: tensorflow.GraphDef) => d.node.map((n) => tensorflow.NodeDef.toObject(n as tensorflow.NodeDef));
    assert.deepEqual(plain(again), plain(def));
    const [sa, sb] = [new Session(a), new Session(b)];
    const feed = { 'x:0': [0, 1, -1] };
    const expected = [2, 2 * Math.E, 2 / Math.E].map(Math.fround);
    assert.deepEqual(values(sa.runSync('y:0', feed)), expected);
    assert.deepEqual(values(sb.runSync('y:0', feed)), expected);
    sa.close();
    sb.close();
    a.dispose();
    b.dispose();
  });

  it('functions: a FunctionDef from a SavedModel, imported and called with StatefulPartitionedCall', () => {
    const saved = decodeSavedModel(readFileSync(path.join(FIXTURES, 'tf2_mlp', 'saved_model.pb')));
    const metaGraph = saved.metaGraphs![0];
    const fdef = metaGraph.graphDef!.library!.function!.find((f) => f.signature!.name!.includes('__call__'))!;
    const name = fdef.signature!.name!;
    const gg = new Graph();
    gg.importFunctionDef(tensorflow.FunctionDef.encode(fdef).finish());
    assert.deepEqual(
      gg.functionDefs().map((f) => f.signature!.name),
      [name],
    );

    // relu(x·W1 + b1)·W2 + b2 with the variables passed as resource handles
    const shapes = [[16, 32], [32], [32, 4], [4]];
    const vals = shapes.map((sh, i) =>
      Float32Array.from({ length: sh.reduce((p, d) => p * d, 1) }, (_, k) => (((k * 7 + i * 3) % 11) - 5) / 10),
    );
    const handles = shapes.map((sh, i) =>
      gg.addOperation('VarHandleOp', { name: `v${i}`, attrs: { dtype: 'float32', shape: sh, shared_name: `fn_test_v${i}` } }).output(0),
    );
    assert.deepEqual(
      handles.map((h) => h.dtype),
      ['resource', 'resource', 'resource', 'resource'],
    );
    const assigns = handles.map((h, i) =>
      gg.addOperation('AssignVariableOp', { inputs: [h, gg.constant(new Tensor('float32', shapes[i], vals[i]))] }),
    );
    const x = gg.placeholder('float32', [-1, 16], 'x');
    const call = gg.addOperation('StatefulPartitionedCall', {
      inputs: [[x, gg.constant(false, 'training'), ...handles]],
      attrs: { Tout: ['float32'], f: name },
    });
    assert.equal(call.getAttr('f'), name);
    assert.deepEqual(call.getAttr('Tin'), ['float32', 'bool', 'resource', 'resource', 'resource', 'resource']);
    assert.deepEqual(call.output(0).shape, [-1, 4]);

    const ss = new Session(gg);
    assert.deepEqual(ss.runSync(assigns), [null, null, null, null]);
    const xv = Float32Array.from({ length: 32 }, (_, k) => (k % 5) / 4);
    const got = ss.runSync(call.output(0), { 'x:0': new Tensor('float32', [2, 16], xv) });
    assert.deepEqual(got.shape, [2, 4]);
    const [w1, b1, w2, b2] = vals;
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) {
      const dot = (j: number) => Array.from({ length: 16 }, (_, i) => xv[r * 16 + i] * w1[i * 32 + j]).reduce((p, q) => p + q);
      const h = Array.from({ length: 32 }, (_, j) => Math.max(0, b1[j] + dot(j)));
      for (let j = 0; j < 4; j++) expected.push(b2[j] + h.reduce((p, hk, k) => p + hk * w2[k * 4 + j], 0));
    }
    values(got).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `${v} vs ${expected[i]}`));
    ss.close();
    gg.dispose();
  });

  it('functions: a hand-written FunctionDef, PartitionedCall, copyFunctionsFrom', () => {
    const fdef = tensorflow.FunctionDef.encode({
      signature: {
        name: 'add_one_squared',
        inputArg: [{ name: 'x', type: tensorflow.DataType.DT_FLOAT }],
        outputArg: [{ name: 'y', type: tensorflow.DataType.DT_FLOAT }],
      },
      nodeDef: [
        {
          name: 'one',
          op: 'Const',
          attr: {
            dtype: { type: tensorflow.DataType.DT_FLOAT },
            value: { tensor: { dtype: tensorflow.DataType.DT_FLOAT, tensorShape: {}, floatVal: [1] } },
          },
        },
        { name: 'sum', op: 'AddV2', input: ['x', 'one:output:0'], attr: { T: { type: tensorflow.DataType.DT_FLOAT } } },
        { name: 'sq', op: 'Square', input: ['sum:z:0'], attr: { T: { type: tensorflow.DataType.DT_FLOAT } } },
      ],
      ret: { y: 'sq:y:0' },
    }).finish();
    const a = new Graph();
    a.importFunctionDef(fdef);
    const b = new Graph();
    b.copyFunctionsFrom(a);
    assert.deepEqual(
      b.functionDefs().map((f) => f.signature!.name),
      ['add_one_squared'],
    );
    const call = b.addOperation('PartitionedCall', {
      inputs: [[b.constant([1, -1, 2.5])]],
      attrs: { Tout: ['float32'], f: 'add_one_squared' },
    });
    const ss = new Session(b);
    assert.deepEqual(values(ss.runSync(call.output(0))), [4, 0, 12.25]);
    assert.throws(() => a.importFunctionDef(new Uint8Array([9, 9, 9])), InvalidArgumentError);
    // Calling a function the graph does not have: a typed error when the graph runs
    const missing = b.addOperation('PartitionedCall', { inputs: [[b.constant([1])]], attrs: { Tout: ['float32'], f: 'nope' } });
    assert.throws(
      () => ss.runSync(missing.output(0)),
      (e: Error) => e instanceof TFError && /nope/.test(e.message),
    );
    ss.close();
    a.dispose();
    b.dispose();
  });

  it('opDef(type), opDefs(), tensorflowVersion(), loadOpLibrary errors', () => {
    const def = g.opDef('MatMul');
    assert.equal(def.name, 'MatMul');
    assert.deepEqual(
      def.inputArg.map((a) => a.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      def.outputArg.map((a) => a.name),
      ['product'],
    );
    assert.ok(def.attr.some((a) => a.name === 'transpose_a' && a.type === 'bool'));
    assert.throws(() => g.opDef('NoSuchOp'), NotFoundError);
    const all = opDefs();
    assert.ok(all.size > 1000, `${all.size} ops`);
    assert.equal(all.get('MatMul')!.inputArg!.length, 2);
    assert.ok(all.has('StatefulPartitionedCall'));
    assert.match(tensorflowVersion(), /^2\.\d+\.\d+/);
    assert.throws(
      () => loadOpLibrary('/nonexistent/dir/libnope_ops.so'),
      (e: Error) => {
        assert.ok(e instanceof NotFoundError, e.constructor.name);
        assert.equal((e as TFError).code, 'NOT_FOUND');
        assert.match(e.message, /libnope_ops\.so/);
        return true;
      },
    );
    assert.throws(
      () => loadOpLibrary(''),
      (e: Error) => e instanceof TfhubError && (e as TfhubError).code === 'ERR_INVALID_ARG_VALUE',
    );
  });

  it('collections', () => {
    const gg = new Graph();
    const v = gg.addOperation('NoOp', { name: 'update' });
    gg.addToCollection('update_ops', v);
    gg.addToCollection('losses', 1.5);
    assert.deepEqual(gg.getAllCollectionKeys().sort(), ['losses', 'update_ops']);
    assert.deepEqual(gg.getCollection('losses'), [1.5]);
    const group = gg.groupCollection('update_ops', 'group');
    assert.deepEqual(
      group.controlInputs.map((o) => o.name),
      ['update'],
    );
    gg.clearCollection('losses');
    assert.deepEqual(gg.getCollection('losses'), []);
    gg.dispose();
  });

  it('inputs and control inputs from another graph are rejected', () => {
    const other = new Graph();
    const foreign = other.constant([1], 'foreign');
    assert.throws(() => g.addOperation('Identity', { inputs: [foreign] }), { name: 'TfhubError', code: 'ERR_GRAPH_MISMATCH' });
    assert.throws(() => g.addOperation('NoOp', { controlInputs: [foreign.op] }), { code: 'ERR_GRAPH_MISMATCH' });
    assert.throws(() => g.importGraphDef(sourceGraph(), { prefix: 'mm', inputMap: { 'a:0': foreign } }), { code: 'ERR_GRAPH_MISMATCH' });
    assert.throws(() => g.addGradients(foreign, foreign), { code: 'ERR_INVALID_ARG_TYPE' });
    other.dispose();
  });

  it('dispose(), [Symbol.dispose] and use after dispose', () => {
    const gg = new Graph();
    const x = gg.placeholder('float32', [1], 'x');
    gg.dispose();
    gg.dispose(); // idempotent
    assert.equal(gg.isDisposed, true);
    for (const use of [
      () => gg.placeholder('float32'),
      () => gg.operations(),
      () => gg.toGraphDef(),
      () => x.op.type,
      () => x.shape,
      () => gg.importGraphDef(sourceGraph()),
      () => new Session(gg),
      () => gg.operation('nope'),
    ]) {
      assert.throws(use, { code: 'ERR_DISPOSED', message: 'Graph already disposed.' });
    }
    let scoped: Graph | undefined;
    {
      using u = new Graph();
      scoped = u;
      u.constant(1);
    }
    assert.equal(scoped.isDisposed, true);
  });
});
