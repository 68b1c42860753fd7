// train.replicate on 2 and 4 virtual CPU devices (ConfigProto device_count {CPU: n}): the towers sit on their
// devices and the averaged tower gradients equal the single-device gradients of the whole batch (≤ 1e-5), so a
// replicated SGD step moves the variables as a single-device one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Output, Session, Tensor, train } from '../../src';
import { meanSquaredError } from '../helpers/oracle';

// A deterministic batch of 8: x [8, 3], y [8, 2] (small integers / 8 so every sum is exact in float32 too).
const X = Array.from({ length: 8 }, (_, i) => [((i * 7) % 5) - 2, ((i * 3) % 7) - 3, (i % 4) - 1.5].map((v) => v / 2));
const Y = Array.from({ length: 8 }, (_, i) => [((i * 5) % 3) - 1, ((i * 2) % 5) - 2].map((v) => v / 4));

function modelVars(g: Graph) {
  const w = train.variable(g, {
    name: 'w',
    initialValue: [
      [0.5, -0.25],
      [1, 0.75],
      [-0.5, 0.125],
    ],
  });
  const b = train.variable(g, { name: 'b', initialValue: [0.1, -0.2] });
  return { w, b };
}

function towerLoss(g: Graph, w: Output, b: Output, rows: number[][], targets: number[][]): Output {
  const x = g.constant(new Tensor('float32', [rows.length, 3], rows.flat()), 'x');
  const y = g.constant(new Tensor('float32', [targets.length, 2], targets.flat()), 'y');
  const mm = g.addOperation('MatMul', { inputs: [x, w] }).output(0);
  const pred = g.addOperation('AddV2', { inputs: [mm, b] }).output(0);
  return meanSquaredError(g, pred, y);
}

async function values(s: Session, outs: Output[]): Promise<number[][]> {
  const ts = await s.run(outs);
  const v = ts.map((t) => Array.from(t.data() as Float32Array));
  for (const t of ts) t.dispose();
  return v;
}

describe('train.replicate', () => {
  for (const n of [2, 4]) {
    test(`${n} virtual CPUs: towers on their devices, averaged gradients = whole-batch gradients (≤ 1e-5)`, async () => {
      // Single device, whole batch.
      const g1 = new Graph();
      const m1 = modelVars(g1);
      const loss1 = towerLoss(g1, m1.w.value(), m1.b.value(), X, Y);
      const grads1 = g1.addGradients(loss1, [m1.w, m1.b]);
      const s1 = new Session(g1);
      await s1.run([], {}, { targets: [g1.globalVariablesInitializer()] });
      const [gw1, gb1, l1] = await values(s1, [...grads1, loss1]);

      // n towers on /device:CPU:i, a quarter (half) of the batch each.
      const g = new Graph();
      const m = modelVars(g);
      const devices = Array.from({ length: n }, (_, i) => `/device:CPU:${i}`);
      const per = X.length / n;
      const r = train.replicate(g, devices, (_, i) =>
        towerLoss(g, m.w.value(), m.b.value(), X.slice(i * per, (i + 1) * per), Y.slice(i * per, (i + 1) * per)),
      );
      for (let i = 0; i < n; i++) {
        const mm = g.operations().find((o) => o.name.startsWith(`tower_${i}/`) && o.type === 'MatMul')!;
        assert.equal(mm.device, `/device:CPU:${i}`);
        // The tower's backward pass (TF's C++ gradients) on the tower's device too.
        const grads = g.operations().filter((o) => o.name.startsWith(`tower_${i}_gradients/`));
        assert.ok(grads.length > 0);
        assert.deepEqual([...new Set(grads.map((o) => o.device))], [`/device:CPU:${i}`]);
      }
      const s = new Session(g, { deviceCount: { CPU: n } });
      assert.equal(s.listDevices().filter((d) => d.type === 'CPU').length, n);
      await s.run([], {}, { targets: [g.globalVariablesInitializer()] });
      const [gw, gb, l] = await values(s, [r.gradsAndVars[0][0]!, r.gradsAndVars[1][0]!, r.loss]);
      const close = (a: number[], b: number[], what: string) =>
        a.forEach((v, k) => assert.ok(Math.abs(v - b[k]) <= 1e-5, `${what}[${k}]: ${v} vs ${b[k]}`));
      close(gw, gw1, 'dL/dw');
      close(gb, gb1, 'dL/db');
      close(l, l1, 'loss');
      // One SGD step with the averaged gradients = one whole-batch step.
      const step = new train.GradientDescentOptimizer(0.5).applyGradients(r.gradsAndVars);
      await s.run([], {}, { targets: [step] });
      const step1 = new train.GradientDescentOptimizer(0.5).applyGradients([
        [grads1[0], m1.w],
        [grads1[1], m1.b],
      ]);
      await s1.run([], {}, { targets: [step1] });
      const [w, w1] = [(await values(s, [m.w.value()]))[0], (await values(s1, [m1.w.value()]))[0]];
      close(w, w1, 'w after a step');
      s.close();
      s1.close();
      g.dispose();
      g1.dispose();
    });
  }

  test('bad arguments are typed errors', () => {
    const g = new Graph();
    modelVars(g);
    assert.throws(() => train.replicate(g, [], () => g.constant(1)), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => train.replicate(g, ['/cpu:0'], () => 1 as never), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => train.replicate(g, ['/cpu:0'], () => g.constant([1, 2])), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => train.replicate(g, ['/nope:0'], () => g.constant(1)), { code: 'ERR_INVALID_DEVICE' });
    g.dispose();
  });
});
