// Device placement while building graphs vs Python (test/fixtures/device_placement_oracle.json, made by
// test/fixtures/gen/make_dist_oracles.py): nested withDevice scopes merge as tf.device does, and
// replicaDeviceSetter places variables, optimizer slots and the other ops as tf.compat.v1.train.replica_device_setter.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceSpec, Graph, GraphKeys, Session, Variable, hub, train } from '../../src';
import * as path from 'node:path';
import { FIXTURES } from '../helpers/fixtures';
import { readJson } from '../train/helpers';

interface GradientPlacement {
  devices: string[];
  by_forward_op: Record<string, { forward: string; gradient: string[] }>;
}
interface Oracle {
  merges: Array<{ scopes: Array<string | null>; device: string }>;
  replica: { variables: Record<string, string>; loss: string; train: string };
  gradients: GradientPlacement;
  gradients_colocated: GradientPlacement;
}
const oracle = readJson<Oracle>('device_placement_oracle.json');

function nest<T>(g: Graph, scopes: Array<string | null>, fn: () => T): T {
  if (scopes.length === 0) return fn();
  return g.withDevice(scopes[0], () => nest(g, scopes.slice(1), fn));
}

describe('graph.withDevice', () => {
  for (const c of oracle.merges) {
    test(`scopes ${JSON.stringify(c.scopes)} give '${c.device}' as in Python`, () => {
      const g = new Graph();
      assert.equal(nest(g, c.scopes, () => g.constant(1, 'c')).op.device, c.device);
      g.dispose();
    });
  }

  test('a function scope sees the op (type, name, device so far, attrs) and decides; imports are placed too', () => {
    const g = new Graph();
    const seen: string[] = [];
    const fn = (op: { type: string; name: string; device: string; attrs: Readonly<Record<string, unknown>> }) => {
      seen.push(`${op.type} ${op.name} ${op.device} ${String(op.attrs.dtype)}`);
      return op.type === 'Const' ? '/job:ps/task:0' : null;
    };
    const c = g.withDevice(fn, () => g.withDevice('/cpu:0', () => g.constant(1, 'k')));
    assert.equal(c.op.device, '/job:ps/task:0');
    assert.deepEqual(seen, ['Const k /device:CPU:0 float32']);
    const src = new Graph();
    src.placeholder('float32', [2], 'x');
    src.constant(2, 'two');
    const r = g.withDevice(fn, () => g.importGraphDef(src.toGraphDef(), { prefix: 'imp', returnOperations: ['x', 'two'] }));
    assert.deepEqual(
      r.operations.map((o) => o.device),
      ['', '/job:ps/task:0'],
    );
    assert.ok(seen.includes('Placeholder imp/x  float32'));
    g.dispose();
    src.dispose();
  });

  test('bad devices are typed errors and leave the graph unchanged', () => {
    const g = new Graph();
    for (const bad of ['/job:ps/task:x', '/foo:1', '/cpu:0/gpu:0', '/device:GPU:one']) {
      assert.throws(() => g.withDevice(bad, () => g.constant(1)), { code: 'ERR_INVALID_DEVICE' });
    }
    assert.throws(() => g.withDevice(42 as never, () => 1), { code: 'ERR_INVALID_DEVICE' });
    assert.equal(g.operations().length, 0);
    assert.equal(DeviceSpec.fromString('/job:ps/replica:0/task:3/gpu:2').toString(), '/job:ps/replica:0/task:3/device:GPU:2');
    g.dispose();
  });
});

describe('train.replicaDeviceSetter', () => {
  test('variables, Adam slots, beta powers and the global step land where Python puts them', () => {
    const g = new Graph();
    const setter = train.replicaDeviceSetter({ psTasks: 2, workerDevice: '/job:worker/task:1' });
    let loss!: ReturnType<Graph['constant']>;
    let trainOp!: ReturnType<train.AdamOptimizer['minimize']>;
    g.withDevice(setter, () => {
      const step = train.getOrCreateGlobalStep(g);
      const x = g.placeholder('float32', [-1, 3], 'x');
      const w = train.variable(g, {
        name: 'w',
        initialValue: [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      });
      const b = train.variable(g, { name: 'b', initialValue: [0.5, -0.5] });
      const c = train.variable(g, { name: 'c', initialValue: [0.1, 0.2] });
      const mm = g.addOperation('MatMul', { inputs: [x, w.value()] }).output(0);
      const s1 = g.addOperation('AddV2', { inputs: [mm, b.value()] }).output(0);
      const s2 = g.addOperation('AddV2', { inputs: [s1, c.value()] }).output(0);
      const sq = g.addOperation('Square', { inputs: [s2] }).output(0);
      loss = g.addOperation('Sum', { inputs: [sq, g.constant([0, 1], 'axes', 'int32')] }).output(0);
      trainOp = new train.AdamOptimizer({ learningRate: 0.1 }).minimize(loss, { globalStep: step });
    });
    const vars = Object.fromEntries(g.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES).map((v) => [v.opName, v.op.device]));
    assert.deepEqual(vars, oracle.replica.variables);
    assert.equal(loss.op.device, oracle.replica.loss);
    assert.equal(trainOp.device, oracle.replica.train);
    // Reads of a variable sit with it; the gradient ops (TF's C++ registry builds them) are placed by the setter
    // as Python places them: on the worker.
    assert.equal(g.operation('w/Read/ReadVariableOp')!.device, '/job:ps/task:1');
    const grads = g.operations().filter((o) => o.name.startsWith('gradients/'));
    assert.ok(grads.length > 0);
    assert.deepEqual([...new Set(grads.map((o) => o.device))], ['/job:worker/task:1']);
    g.dispose();
  });

  for (const colocate of [false, true]) {
    test(`gradient ops ${colocate ? 'colocated with their forward ops' : 'placed by the scopes'} as tf.gradients(colocate_gradients_with_ops=${colocate ? 'True' : 'False'})`, () => {
      const want = colocate ? oracle.gradients_colocated : oracle.gradients;
      const g = new Graph();
      g.withDevice(train.replicaDeviceSetter({ psTasks: 2, workerDevice: '/job:worker/task:1' }), () => {
        const x = g.placeholder('float32', [-1, 3], 'x');
        const w = train.variable(g, {
          name: 'w',
          initialValue: [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
        });
        const mm = g.addOperation('MatMul', { name: 'mm', inputs: [x, w.value()] }).output(0);
        const h = g.withDevice('/job:ps/task:1/device:CPU:0', () => g.addOperation('Tanh', { name: 'h', inputs: [mm] }).output(0));
        const sq = g.addOperation('Square', { name: 'sq', inputs: [h] }).output(0);
        const loss = g.addOperation('Sum', { name: 'loss', inputs: [sq, g.constant([0, 1], 'axes', 'int32')] }).output(0);
        g.addGradients(loss, [w], null, { colocateGradientsWithOps: colocate });
      });
      const grads = g.operations().filter((o) => o.name.startsWith('gradients/'));
      assert.ok(grads.length > 0);
      for (const [forward, { gradient }] of Object.entries(want.by_forward_op)) {
        const mine = grads.filter((o) => o.name.startsWith(`gradients/${forward}_grad`));
        if (colocate) assert.ok(mine.length > 0, `gradient ops of ${forward}`);
        for (const o of mine) assert.ok(gradient.includes(o.device), `${o.name} on '${o.device}', Python: ${gradient.join()}`);
      }
      if (!colocate) assert.deepEqual([...new Set(grads.map((o) => o.device))], want.devices);
      else {
        // Every gradient op sits with its forward op (e.g. the read's on the ps), or with the scopes.
        for (const o of grads) {
          const forward = g
            .operations()
            .find((f) => !f.name.startsWith('gradients/') && o.name.startsWith(`gradients/${f.name.replace(/\//g, '_')}_grad`));
          assert.equal(o.device, forward ? forward.device : '/job:worker/task:1', o.name);
        }
      }
      g.dispose();
    });
  }

  test('placed gradients compute the same numbers (two virtual CPUs, a tower scope, a TypeScript gradient on the path)', async () => {
    const build = (scoped: boolean, colocate: boolean) => {
      const g = new Graph();
      const w = train.variable(g, {
        name: 'w',
        initialValue: [
          [0.5, -1],
          [2, 0.25],
          [-3, 1.5],
        ],
      });
      const x = g.constant(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        'x',
        'float32',
      );
      const loss = g.withDevice(scoped ? '/device:CPU:0' : null, () => {
        const mm = g.addOperation('MatMul', { inputs: [x, w.value()] }).output(0);
        const h = g.withDevice(scoped ? '/device:CPU:1' : null, () => g.addOperation('Tanh', { inputs: [mm] }).output(0));
        // SparseSoftmaxCrossEntropyWithLogits has a TypeScript gradient: the mixed path is placed too.
        const xent = g
          .addOperation('SparseSoftmaxCrossEntropyWithLogits', { inputs: [h, g.constant([1, 0], 'labels', 'int32')] })
          .output(0);
        return g.addOperation('Sum', { inputs: [xent, g.constant([0], 'axes', 'int32')] }).output(0);
      });
      const [grad] = g.withDevice(scoped ? '/device:CPU:0' : null, () =>
        g.addGradients(loss, [w], null, { colocateGradientsWithOps: colocate }),
      );
      return { g, grad };
    };
    const values = async (scoped: boolean, colocate: boolean) => {
      const { g, grad } = build(scoped, colocate);
      if (scoped) {
        const devices = new Set(
          g
            .operations()
            .filter((o) => o.name.startsWith('gradients/'))
            .map((o) => o.device),
        );
        // Colocated: the read of w (built outside the scopes, no device) keeps its gradient without one.
        assert.deepEqual([...devices].sort(), colocate ? ['', '/device:CPU:0', '/device:CPU:1'] : ['/device:CPU:0']);
      }
      const s = new Session(g, { deviceCount: { CPU: 2 } });
      try {
        await s.run([], {}, { targets: [g.globalVariablesInitializer()] });
        const t = await s.run(grad);
        const v = Array.from(t.data() as Float32Array);
        t.dispose();
        return v;
      } finally {
        s.close();
        g.dispose();
      }
    };
    const plain = await values(false, false);
    assert.deepEqual(await values(true, false), plain);
    assert.deepEqual(await values(true, true), plain);
  });

  test("hub.Module under the setter: variables on the ps, and their colocated initializers with them (Python's import rule)", async () => {
    const g = new Graph();
    const spec = await hub.loadModuleSpec(path.join(FIXTURES, 'mlp_v1'));
    g.withDevice(
      train.replicaDeviceSetter({ psTasks: 2, workerDevice: '/job:worker/task:0' }),
      () => new hub.Module(spec, { graph: g, trainable: true }),
    );
    const kernel = g.operation('module/dense/kernel')!;
    assert.match(kernel.device, /^\/job:ps\/task:[01]$/);
    // Ops with `_class: loc:@module/dense/kernel` ignore the setter and take the variable's device.
    const init = g.operations().filter((o) => o.name.startsWith('module/dense/kernel/Initializer/'));
    assert.ok(init.length >= 5);
    for (const o of init) assert.equal(o.device, kernel.device, o.name);
    assert.equal(g.operation('module/dense/kernel/Regularizer/L2Loss')!.device, kernel.device);
    g.dispose();
  });

  test('cluster form, greedy by byte size, custom strategy, no ps tasks', () => {
    assert.equal(train.replicaDeviceSetter({ psTasks: 0 }), null);
    assert.equal(train.replicaDeviceSetter({ cluster: { worker: ['127.0.0.1:1'] } }), null);
    const g = new Graph();
    const sizes = [[100], [10], [10], [50], [1]];
    const place = (setter: ReturnType<typeof train.replicaDeviceSetter>) =>
      g.withDevice(setter, () =>
        sizes.map(
          (shape, i) =>
            train.variable(g, {
              name: `v${i}`,
              initialValue: (gr: Graph) =>
                gr.addOperation('Fill', { inputs: [gr.constant(shape, 's', 'int32'), gr.constant(0)] }).output(0),
              shape,
            }).op.device,
        ),
      );
    const cluster = { ps: ['127.0.0.1:1', '127.0.0.1:2'], worker: ['127.0.0.1:3'] };
    assert.deepEqual(place(train.replicaDeviceSetter({ cluster })), [
      '/job:ps/task:0',
      '/job:ps/task:1',
      '/job:ps/task:0',
      '/job:ps/task:1',
      '/job:ps/task:0',
    ]);
    // Greedy: 100 → 0; 10 → 1; 10 → 1 (10 < 100); 50 → 1 (20 < 100); 1 → 1 (70 < 100).
    assert.deepEqual(place(train.replicaDeviceSetter({ cluster, psStrategy: 'greedy' })), [
      '/job:ps/task:0',
      '/job:ps/task:1',
      '/job:ps/task:1',
      '/job:ps/task:1',
      '/job:ps/task:1',
    ]);
    assert.deepEqual(place(train.replicaDeviceSetter({ psTasks: 3, psStrategy: () => 2 })), Array(5).fill('/job:ps/task:2'));
    assert.equal(train.byteSizeLoad({ type: 'VarHandleOp', name: 'v', device: '', attrs: { dtype: 'float64', shape: [3, 4] } }), 96);
    assert.throws(() => train.replicaDeviceSetter({ psTasks: -1 }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => train.replicaDeviceSetter({ cluster: { 'p s': ['x:1'] } }), { code: 'ERR_INVALID_CLUSTER' });
    g.dispose();
  });
});
