// Session: run/runSync fetch and feed structures, targets, options, close() with runs in flight, lifetimes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { DeadlineExceededError, Graph, InvalidArgumentError, Operation, Output, Session, TFError, Tensor } from '../../src';
import { binding } from '../../src/native';
import { tensorflow } from '../../src/proto';
import { calibratedChain, rejection } from './helpers/util';
import { numbers as values } from '../helpers/numbers';

describe('Session', () => {
  // y = 2x + b, z = x·x (elementwise); counter variable incremented by `inc`
  let g: Graph;
  let s: Session;
  let x: Output;
  let y: Output;
  let z: Output;
  let inc: Operation;
  let read: Output;
  before(() => {
    g = new Graph();
    x = g.placeholder('float32', [3], 'x');
    const b = g.placeholder('float32', [], 'b');
    y = g
      .addOperation('AddV2', { name: 'y', inputs: [g.addOperation('Mul', { inputs: [x, g.constant(2, 'two')] }).output(0), b] })
      .output(0);
    z = g.addOperation('Mul', { name: 'z', inputs: [x, x] }).output(0);
    const v = g
      .addOperation('VarHandleOp', { name: 'counter', attrs: { dtype: 'int32', shape: [], shared_name: 'session_test_counter' } })
      .output(0);
    g.addOperation('AssignVariableOp', { name: 'counter_init', inputs: [v, g.constant(0, 'zero', 'int32')] });
    inc = g.addOperation('AssignAddVariableOp', { name: 'inc', inputs: [v, g.constant(1, 'one', 'int32')] });
    read = g.addOperation('ReadVariableOp', { name: 'read', inputs: [v], attrs: { dtype: 'int32' }, controlInputs: [] }).output(0);
    s = new Session(g);
  });
  after(() => {
    s.close();
    g.dispose();
  });

  it('run() returns a Promise of Tensors; fetches as Output, "op:0" string, Operation (null)', async () => {
    const feeds = { 'x:0': [1, 2, 3], 'b:0': 0.5 };
    const p = s.run(y, feeds);
    assert.ok(p instanceof Promise);
    assert.deepEqual(values(await p), [2.5, 4.5, 6.5]);
    assert.deepEqual(values(await s.run('z:0', feeds)), [1, 4, 9]);
    assert.equal(await s.run(y.op, feeds), null);
    assert.equal(await s.run('counter_init'), null); // a name without ':' is an operation
  });

  it('nested arrays and records of fetches: the result mirrors the structure', async () => {
    s.runSync('counter_init');
    const fetches = { pair: [y, 'z:0'], nested: { again: [[z]], op: inc }, count: read } as const;
    const r = await s.run(fetches, { 'x:0': [1, 2, 3], 'b:0': 1 });
    assert.deepEqual(Object.keys(r), ['pair', 'nested', 'count']);
    assert.deepEqual(values(r.pair[0]), [3, 5, 7]);
    assert.deepEqual(values(r.pair[1]), [1, 4, 9]);
    assert.deepEqual(values(r.nested.again[0][0]), [1, 4, 9]);
    assert.equal(r.nested.op, null);
    assert.equal(r.count.dtype, 'int32');
    assert.deepEqual(r.count.shape, []);
    // The same output fetched twice gives two independent tensors.
    const [a, b2] = s.runSync([z, z], { 'x:0': [1, 1, 1] });
    a.dispose();
    assert.deepEqual(values(b2), [1, 1, 1]);
  });

  it('feeds: Map keyed by Output or name, record keyed by "op:0" or "op"; Tensors or JS values', async () => {
    const expected = [3, 5, 7];
    const t = new Tensor('float32', [3], [1, 2, 3]);
    const feedsList: Array<Map<Output | string, unknown> | Record<string, unknown>> = [
      new Map<Output | string, unknown>([
        [x, t],
        ['b:0', 1],
      ]),
      new Map<Output | string, unknown>([
        ['x', [1, 2, 3]],
        ['b', new Tensor('float32', [], [1])],
      ]),
      { 'x:0': new Float32Array([1, 2, 3]), 'b:0': 1 },
      { x: [1, 2, 3], b: 1 },
    ];
    for (const feeds of feedsList) assert.deepEqual(values(await s.run(y, feeds as never)), expected);
    assert.deepEqual(values(s.runSync(y, feedsList[0] as never)), expected);
    // a fed Tensor stays the caller's
    assert.equal(t.isDisposed, false);
    // Fetching fed tensors (or nothing at all) needs no TF run, as in Python; each result is a copy of its own.
    const fedAgain = await s.run(
      [x, x, 'b:0'],
      new Map<Output | string, unknown>([
        [x, t],
        ['b:0', 2],
      ]) as never,
    );
    assert.deepEqual(fedAgain.map(values), [[1, 2, 3], [1, 2, 3], [2]]);
    fedAgain[0].dispose();
    assert.deepEqual(values(fedAgain[1]), [1, 2, 3]);
    assert.equal(t.isDisposed, false);
    assert.deepEqual(await s.run([]), []);
    assert.deepEqual(s.runSync({}), {});
    // typed arrays of another numeric class are converted value by value, with the checks of plain arrays
    assert.deepEqual(values(await s.run(y, { x: new Float64Array([1, 2, 3]), b: 1 })), expected);
    const gt = new Graph();
    const xt = gt.placeholder('int32', [-1], 'xt');
    const st = new Session(gt);
    assert.deepEqual(Array.from(st.runSync(xt, { 'xt:0': BigInt64Array.of(5n, -7n) }).data() as Int32Array), [5, -7]);
    assert.throws(() => st.runSync(xt, { 'xt:0': BigInt64Array.of(2n ** 40n) }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => st.runSync(xt, { 'xt:0': new Float32Array([1.5]) }), { code: 'ERR_INVALID_ARG_TYPE' });
    st.close();
    gt.dispose();
    // a fetch structure that contains itself is refused, not a stack overflow
    const cyclic: Record<string, unknown> = { y };
    cyclic.self = cyclic;
    assert.throws(() => s.runSync(cyclic as never, { x: [1, 2, 3], b: 1 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    // JS values are converted to the placeholder's dtype
    const gi = new Graph();
    const xi = gi.placeholder('int64', [2], 'xi');
    const bi = gi.placeholder('bool', [], 'bi');
    const si = gi.placeholder('string', [-1], 'si');
    const out = gi.addOperation('IdentityN', { inputs: [[xi, bi, si]] });
    const si2 = new Session(gi);
    const [ri, rb, rs] = si2.runSync(
      out.outputs,
      new Map<Output, unknown>([
        [xi, [2n ** 60n, -1]],
        [bi, true],
        [si, ['a', new Uint8Array([0, 1])]],
      ]) as never,
    );
    assert.deepEqual(Array.from(ri.data() as BigInt64Array), [2n ** 60n, -1n]);
    assert.equal(rb.array(), true);
    assert.deepEqual(
      rs.bytes().map((u) => Array.from(u)),
      [[97], [0, 1]],
    );
    si2.close();
    gi.dispose();
  });

  it('targets run operations without fetching them', async () => {
    s.runSync('counter_init');
    await s.run(read, undefined, { targets: [inc] }).then((t) => t.dispose());
    s.runSync([], undefined, { targets: ['inc', inc] }); // twice in one step is once
    await Promise.all([1, 2, 3].map(() => s.run([], undefined, { targets: [inc] })));
    assert.deepEqual(values(s.runSync(read)), [5]);
  });

  it('runSync gives the same results synchronously', () => {
    const r = s.runSync({ y, z: [z] }, { 'x:0': [0, -1, 2], 'b:0': 0 });
    assert.deepEqual(values(r.y), [0, -2, 4]);
    assert.deepEqual(values(r.z[0]), [0, 1, 4]);
  });

  it('listDevices() lists the CPU', () => {
    const devices = s.listDevices();
    const cpu = devices.find((d) => d.type === 'CPU');
    assert.ok(cpu, JSON.stringify(devices));
    assert.match(cpu.name, /\/device:CPU:0$/);
    assert.ok(typeof cpu.memoryBytes === 'number' && cpu.memoryBytes >= 0);
  });

  it('bad feeds and fetches are typed errors (run rejects, runSync throws)', async () => {
    const feeds = { 'x:0': [1, 2, 3], 'b:0': 0 };
    // wrong dtype (a Tensor is fed as is: TF checks it)
    const wrongType = new Map<Output | string, unknown>([
      [x, new Tensor('int32', [3], [1, 2, 3])],
      ['b:0', 0],
    ]);
    const e1 = await rejection(s.run(y, wrongType as never));
    assert.ok(e1 instanceof InvalidArgumentError, String(e1));
    assert.equal(e1.code, 'INVALID_ARGUMENT');
    assert.match(e1.message, /float but int32/);
    // wrong shape for a fixed-shape placeholder
    const e2 = await rejection(s.run(y, { 'x:0': [1, 2], 'b:0': 0 }));
    assert.deepEqual([e2.name, e2.code], ['TfhubError', 'ERR_FEED_SHAPE']);
    assert.match(e2.message, /Cannot feed value of shape \(2,\) for Tensor 'x:0', which has shape '\(3,\)'/);
    assert.throws(() => s.runSync(y, { 'x:0': [[1, 2, 3]], 'b:0': 0 }), { code: 'ERR_FEED_SHAPE' });
    // missing feed
    const e3 = await rejection(s.run(y, { 'x:0': [1, 2, 3] }));
    assert.ok(e3 instanceof InvalidArgumentError);
    assert.match(e3.message, /must feed a value for placeholder tensor 'b'/);
    // unconvertible JS value
    await assert.rejects(s.run(y, { 'x:0': ['a', 'b', 'c'], 'b:0': 0 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    // unknown names, bad indices, foreign outputs
    await assert.rejects(s.run('nope:0', feeds), { name: 'TfhubError', code: 'ERR_NOT_FOUND' });
    await assert.rejects(s.run(y, { ...feeds, 'nope:0': 1 }), { code: 'ERR_NOT_FOUND' });
    await assert.rejects(s.run('nope', feeds), { code: 'ERR_NOT_FOUND' });
    await assert.rejects(s.run(y, feeds, { targets: ['nope'] }), { code: 'ERR_NOT_FOUND' });
    await assert.rejects(s.run('y:5', feeds), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    const other = new Graph();
    const foreign = other.constant(1);
    await assert.rejects(s.run(foreign), { code: 'ERR_GRAPH_MISMATCH' });
    await assert.rejects(s.run(y, new Map<Output, unknown>([[foreign, 1]]) as never), { code: 'ERR_GRAPH_MISMATCH' });
    await assert.rejects(s.run([], undefined, { targets: [foreign.op] }), { code: 'ERR_GRAPH_MISMATCH' });
    await assert.rejects(s.run(42 as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    other.dispose();
    // the session still works after all that
    assert.deepEqual(values(await s.run(z, feeds)), [1, 4, 9]);
  });

  it('wrong handle kinds passed to the raw binding are TypeErrors', () => {
    const b = binding();
    const t = new Tensor('float32', [3], [1, 2, 3]);
    const other = new Graph();
    const foreign = other.placeholder('float32', [3], 'fx');
    const run = (inOps: unknown[], inTensors: unknown[], outOps: unknown[] = [], targets: unknown[] = []) =>
      s.native.runSync(
        inOps as never,
        Int32Array.from(inOps.map(() => 0)),
        inTensors as never,
        outOps as never,
        Int32Array.from(outOps.map(() => 0)),
        targets as never,
      );
    const cases: Array<[string, () => unknown, string]> = [
      ['Graph where a Tensor is expected', () => run([x.op.native], [g.native]), 'ERR_INVALID_HANDLE'],
      ['Tensor where an Operation is expected', () => run([t.native], [t.native]), 'ERR_INVALID_HANDLE'],
      ['plain object as Operation', () => run([], [], [{ name: () => 'x' }]), 'ERR_INVALID_HANDLE'],
      ['plain object as target', () => run([], [], [], [{}]), 'ERR_INVALID_HANDLE'],
      ['forged Tensor prototype', () => run([x.op.native], [Object.create(Object.getPrototypeOf(t.native))]), 'ERR_INVALID_HANDLE'],
      ['Tensor as Session graph', () => new b.Session(t.native as never, null, null), 'ERR_INVALID_HANDLE'],
      ['plain object as Session graph', () => new b.Session({} as never, null, null), 'ERR_INVALID_HANDLE'],
      [
        'Session as Operation in addOperation input',
        () => g.native.addOperation('Identity', 'bad', [[s.native as never, 0]], [], null, null, null),
        'ERR_INVALID_ARG_TYPE',
      ],
      [
        'Tensor as control input',
        () => g.native.addOperation('NoOp', 'bad1', [], [], null, [t.native as never], null),
        'ERR_INVALID_HANDLE',
      ],
      [
        'Graph as attr tensor',
        () => g.native.addOperation('Const', 'bad2', [], [['value', 'tensor', g.native as never]], null, null, null),
        'ERR_INVALID_HANDLE',
      ],
      ['non-array inputs', () => s.native.runSync(null as never, new Int32Array(0), [], [], new Int32Array(0), []), 'ERR_INVALID_ARG_TYPE'],
      ['plain arrays as indices', () => s.native.runSync([], [] as never, [], [], [] as never, []), 'ERR_INVALID_ARG_TYPE'],
      ['fromData without data', () => b.Tensor.fromData(1, [1], undefined as never), 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [what, fn, code] of cases) {
      assert.throws(
        fn,
        (e: Error & { code?: string }) => {
          assert.ok(e instanceof TypeError, `${what}: ${e.constructor.name}`);
          assert.equal(e.code, code, `${what}: ${e.message}`);
          return true;
        },
        what,
      );
    }
    assert.throws(() => new (b.Tensor as unknown as new () => unknown)(), { name: 'TypeError', code: 'ERR_ILLEGAL_CONSTRUCTOR' });
    const NativeOperation = (b as unknown as { Operation: new (...args: unknown[]) => unknown }).Operation;
    assert.throws(() => new NativeOperation({}, g.native, {}), { name: 'TypeError', code: 'ERR_ILLEGAL_CONSTRUCTOR' });
    assert.throws(() => run([foreign.op.native], [t.native]), { code: 'ERR_GRAPH_MISMATCH' });
    assert.throws(() => run([], [], [foreign.op.native]), { code: 'ERR_GRAPH_MISMATCH' });
    assert.throws(() => new Session({} as Graph), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    other.dispose();
  });

  it('close() waits for runs in flight; later runs reject with ERR_DISPOSED', async () => {
    const c = calibratedChain(250);
    try {
      const feeds = new Map([[c.x, c.ones]]);
      const inFlight = [c.session.run(c.y, feeds), c.session.run(c.y, feeds)];
      c.session.close();
      assert.equal(c.session.isClosed, true);
      const late = await rejection(c.session.run(c.y, feeds));
      assert.deepEqual([late.code, late.message], ['ERR_DISPOSED', 'Session already closed.']);
      assert.throws(() => c.session.runSync(c.y, feeds), { code: 'ERR_DISPOSED' });
      assert.throws(() => c.session.listDevices(), { code: 'ERR_DISPOSED' });
      for (const r of await Promise.all(inFlight)) {
        assert.deepEqual(r.shape, [512, 512]);
        assert.ok((r.data() as Float32Array).every((v) => v === 1));
      }
      c.session.close(); // idempotent
    } finally {
      c.dispose();
    }
  });

  it('a Tensor disposed while a run uses it is freed after the run', async () => {
    const t = new Tensor('float32', [3], [1, 2, 3]);
    const p = s.run(z, new Map([[x, t]]));
    t.dispose();
    assert.equal(t.isDisposed, true);
    assert.deepEqual(values(await p), [1, 4, 9]);
    assert.throws(() => t.data(), { code: 'ERR_DISPOSED' });
  });

  it('a Session keeps its Graph alive: graph.dispose() does not break its runs', async () => {
    const gg = new Graph();
    const a = gg.placeholder('float32', [2], 'a');
    const sq = gg.addOperation('Square', { name: 'sq', inputs: [a] }).output(0);
    const ss = new Session(gg);
    gg.dispose();
    assert.equal(gg.isDisposed, true);
    assert.deepEqual(values(ss.runSync(sq, new Map([[a, new Tensor('float32', [2], [3, 4])]]))), [9, 16]);
    assert.deepEqual(values(await ss.run('sq:0', { 'a:0': [5, 6] })), [25, 36]);
    assert.deepEqual(values(await ss.run(sq, { a: [1, 2] })), [1, 4]);
    // …but the graph can no longer change
    assert.throws(() => gg.placeholder('float32'), { code: 'ERR_DISPOSED' });
    assert.throws(() => gg.addGradients(sq, a), { code: 'ERR_DISPOSED' });
    assert.throws(() => new Session(gg), { code: 'ERR_DISPOSED' });
    ss.close(); // the last user: now the graph is freed
    assert.throws(() => a.op.type, { code: 'ERR_DISPOSED' });
    assert.throws(() => gg.toGraphDef(), { code: 'ERR_DISPOSED' });
  });

  it('Symbol.dispose / Symbol.asyncDispose close the session', async () => {
    const gg = new Graph();
    const k = gg.constant([1]);
    let held: Session | undefined;
    {
      using ss = new Session(gg);
      held = ss;
      assert.deepEqual(values(ss.runSync(k)), [1]);
    }
    assert.equal(held.isClosed, true);
    {
      await using ss = new Session(gg);
      held = ss;
    }
    assert.equal(held.isClosed, true);
    const plain = new Session(gg);
    plain.dispose();
    assert.equal(plain.isClosed, true);
    gg.dispose();
  });

  it('options: thread settings, raw ConfigProto bytes, per-run timeouts', async () => {
    const gg = new Graph();
    const q = gg.addOperation('FIFOQueueV2', { attrs: { component_types: ['float32'], shapes: [[]] } }).output(0);
    const dequeue = gg.addOperation('QueueDequeueV2', { inputs: [q], attrs: { component_types: ['float32'] } }).output(0);
    const enqueue = gg.addOperation('QueueEnqueueV2', { inputs: [q, [gg.constant(5)]] });
    // raw config: a default operation timeout; the typed fields are merged over it
    const config = tensorflow.ConfigProto.encode({ operationTimeoutInMs: 150, interOpParallelismThreads: 7 }).finish();
    const timed = new Session(gg, {
      config,
      intraOpParallelism: 1,
      interOpParallelism: 2,
      usePerSessionThreads: true,
      allowSoftPlacement: true,
    });
    let t0 = Date.now();
    const e1 = await rejection(timed.run(dequeue));
    assert.ok(e1 instanceof DeadlineExceededError, String(e1));
    assert.equal(e1.code, 'DEADLINE_EXCEEDED');
    assert.ok(Date.now() - t0 >= 100, `timed out after ${Date.now() - t0} ms`);
    // timeoutMs on one run
    const plain = new Session(gg, { intraOpParallelism: 2, interOpParallelism: 2 });
    t0 = Date.now();
    assert.throws(() => plain.runSync(dequeue, undefined, { timeoutMs: 100 }), DeadlineExceededError);
    assert.ok(Date.now() - t0 >= 80);
    // concurrent runs of one session: a dequeue waits for an enqueue issued after it
    const [value] = await Promise.all([plain.run(dequeue), plain.run([], undefined, { targets: [enqueue] })]);
    assert.deepEqual(values(value), [5]);
    assert.throws(
      () => new Session(gg, { config: new Uint8Array([0xff, 0xff, 0xff]) }),
      (e: Error) => e instanceof InvalidArgumentError && /ConfigProto/.test(e.message),
    );
    timed.close();
    plain.close();
    gg.dispose();
  });

  it('inline runs (ops on the running thread): same results; merge with timeouts; concurrent inline runs', async () => {
    const gg = new Graph();
    const a = gg.placeholder('float32', [2, 2], 'a');
    const b = gg.addOperation('MatMul', { inputs: [a, a] }).output(0);
    const c = gg.addOperation('Add', { inputs: [b, gg.constant(new Tensor('float32', [2, 2], new Float32Array([1, 1, 1, 1])))] }).output(0);
    const feed = new Map([[a, new Tensor('float32', [2, 2], new Float32Array([1, 2, 3, 4]))]]);
    const inline = new Session(gg, { inline: true });
    const pooled = new Session(gg);
    assert.equal(inline.inline, true);
    assert.deepEqual(values(await inline.run(c, feed)), [8, 11, 16, 23]);
    assert.deepEqual(values(inline.runSync(c, feed)), [8, 11, 16, 23]);
    assert.deepEqual(values(await inline.run(c, feed, { inline: false })), [8, 11, 16, 23]);
    assert.deepEqual(values(await pooled.run(c, feed, { inline: true })), [8, 11, 16, 23]);
    // inline + timeout: both RunOptions fields reach TF
    const q = gg.addOperation('FIFOQueueV2', { attrs: { component_types: ['float32'], shapes: [[]] } }).output(0);
    const dequeue = gg.addOperation('QueueDequeueV2', { inputs: [q], attrs: { component_types: ['float32'] } }).output(0);
    const enqueue = gg.addOperation('QueueEnqueueV2', { inputs: [q, [gg.constant(9)]] });
    await assert.rejects(inline.run(dequeue, undefined, { timeoutMs: 100 }), DeadlineExceededError);
    // an inline run blocked in a kernel does not block other inline runs
    const [value] = await Promise.all([inline.run(dequeue), inline.run([], undefined, { targets: [enqueue] })]);
    assert.deepEqual(values(value), [9]);
    inline.close();
    pooled.close();
    gg.dispose();
  });

  it('runMetadata receives the RunMetadata (step stats with FULL_TRACE); jit sessions give the same results', async () => {
    const trace = tensorflow.RunOptions.encode({ traceLevel: tensorflow.RunOptions.TraceLevel.FULL_TRACE }).finish();
    const feed = new Map([
      [x, new Tensor('float32', [3], new Float32Array([1, 2, 3]))],
      [g.output('b:0'), new Tensor('float32', [], [1])],
    ]);
    const seen: Uint8Array[] = [];
    const got = await s.run([y, z], feed, { runOptions: trace, runMetadata: (m) => seen.push(m) });
    assert.deepEqual(got.map(values), [
      [3, 5, 7],
      [1, 4, 9],
    ]);
    const sync = s.runSync(y, feed, { runOptions: trace, inline: true, runMetadata: (m) => seen.push(m) });
    assert.deepEqual(values(sync), [3, 5, 7]);
    assert.equal(seen.length, 2);
    // step stats name the nodes that ran (RunMetadata.step_stats.dev_stats[].node_stats[].node_name)
    for (const m of seen) {
      const text = Buffer.from(m).toString('latin1');
      assert.ok(m.length > 50 && text.includes('/device:CPU:0') && text.includes('y'), `metadata of ${m.length} bytes`);
    }
    // not traced: still called (partition graphs and cost graph are empty)
    let untraced: Uint8Array | null = null;
    (
      await s.run(y, feed, {
        runMetadata: (m) => {
          untraced = m;
        },
      })
    ).dispose();
    assert.ok(untraced !== null);
    // a throwing callback: the run's error is the callback's, its result tensors are freed
    await assert.rejects(
      s.run(y, feed, {
        runMetadata: () => {
          throw new Error('boom');
        },
      }),
      /boom/,
    );
    await assert.rejects(s.run(y, feed, { runMetadata: 'yes' as never }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => new Session(g, { jit: 1 as never }), { code: 'ERR_INVALID_ARG_TYPE' });
    // XLA JIT: same values
    const jit = new Session(g, { jit: true });
    try {
      for (let i = 0; i < 2; i++)
        assert.deepEqual((await jit.run([y, z], feed)).map(values), [
          [3, 5, 7],
          [1, 4, 9],
        ]);
    } finally {
      jit.close();
    }
  });

  it('TF errors from runs are TFError subclasses with the TF code', async () => {
    const gg = new Graph();
    const bad = gg.addOperation('CheckNumerics', { inputs: [gg.constant([1, NaN])], attrs: { message: 'nan here' } }).output(0);
    const ss = new Session(gg);
    const e = await rejection(ss.run(bad));
    assert.ok(e instanceof TFError && e instanceof InvalidArgumentError);
    assert.deepEqual([e.name, e.code], ['InvalidArgumentError', 'INVALID_ARGUMENT']);
    assert.match(e.message, /nan here/);
    ss.close();
    gg.dispose();
  });
});
