// Gradients through TF1 (v1) control flow — while loops (Enter/Merge/Switch/LoopCond/NextIteration/Exit) and conds
// (Switch/Merge) — in a TF1 Hub module, against Python's tf.gradients and an Adam run on the same graph
// (test/fixtures/control_flow_grad_v1.json, written by test/fixtures/gen/make_control_flow_v1_grads.py).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph, Output, Session, Tensor, Variable, hub } from '../../src';
import { AdamOptimizer } from '../../src/train/optimizers';
import { readSavedModel, selectMetaGraph } from '../../src/hub/saved_model';
import { encodeGraphDef } from '../../src/proto';
import { FIXTURES, TensorJson, assertClose, readJson, sumAll, toTensor, values } from './helpers';

interface Call {
  inputs: { x: TensorJson; flag: TensorJson };
  outputs: Record<string, TensorJson>;
  gradients: Record<string, Record<string, TensorJson | null>>;
  loss: number;
  loss_gradients: Record<string, TensorJson>;
}
interface Oracle {
  calls: Call[];
  training: { learning_rate: number; target: TensorJson; losses: number[] };
}

const fx = readJson<Oracle>('control_flow_grad_v1.json');
const MODULE = path.join(FIXTURES, 'control_flow_grad_v1');
const TOL = { rtol: 1e-4, atol: 1e-5 };

async function setup() {
  const g = new Graph();
  const m = new hub.Module(await hub.loadModuleSpec(MODULE), { graph: g, trainable: true });
  const x = g.placeholder('float32', [null, 3], 'x');
  const flag = g.placeholder('bool', [], 'flag');
  const out = m.call({ x, flag }, { asDict: true }) as Record<string, Output>;
  const vars = m.variableMap as Record<string, Variable>;
  const wrt: Record<string, Output | Variable> = { x, bias: vars.bias, kernel: vars.kernel, scale: vars.scale };
  return { g, m, x, flag, out, wrt };
}

function feeds(x: Output, flag: Output, call: Call) {
  return new Map<Output, Tensor>([
    [x, toTensor(call.inputs.x)],
    [flag, toTensor(call.inputs.flag)],
  ]);
}

function mse(g: Graph, a: Output, b: Output): Output {
  const d = g.addOperation('Sub', { inputs: [a, b] }).output(0);
  const sq = g.addOperation('Square', { inputs: [d] }).output(0);
  const size = g.addOperation('Size', { inputs: [sq] }).output(0);
  const n = g.addOperation('Cast', { inputs: [size], attrs: { DstT: 'float32' } }).output(0);
  return g.addOperation('RealDiv', { inputs: [sumAll(g, sq), n] }).output(0);
}

describe('gradients through TF1 control flow (v1 while loops and conds) match Python', () => {
  for (const [c, call] of fx.calls.entries()) {
    test(`flag=${call.inputs.flag.values[0]}: d sum(output) / d (x, bias, kernel, scale) for the loop over variables, the cond, the nested loop+cond and an unconnected output`, async () => {
      const { g, x, flag, out, wrt } = await setup();
      const names = Object.keys(wrt);
      const fetch: Array<{ label: string; grad: Output; want: TensorJson }> = [];
      for (const [o, per] of Object.entries(call.gradients)) {
        const grads = g.addGradients(
          sumAll(g, out[o]),
          names.map((n) => wrt[n]),
          null,
          { unconnected: 'null' },
        );
        names.forEach((n, i) => {
          // Python's None is no gradient here too (an unconnected loop output, a variable the output never reads).
          if (per[n] === null) assert.equal(grads[i], null, `d sum(${o}) / d ${n} is None in Python`);
          else fetch.push({ label: `d sum(${o}) / d ${n}`, grad: grads[i], want: per[n]! });
        });
      }
      const s = new Session(g);
      try {
        s.runSync(g.globalVariablesInitializer());
        const got = s.runSync(
          fetch.map((f) => f.grad),
          feeds(x, flag, call),
        );
        fetch.forEach((f, i) => assertClose(values(got[i]), f.want.values as number[], TOL, f.label));
        const outs = s.runSync([out.default, out.iterations, out.nested], feeds(x, flag, call));
        assertClose(values(outs[0]), call.outputs.default.values as number[], TOL, 'default');
        assert.deepEqual(values(outs[1]), call.outputs.iterations.values);
        assertClose(values(outs[2]), call.outputs.nested.values as number[], TOL, 'nested');
      } finally {
        s.close();
        g.dispose();
      }
      void c;
    });
  }
});

describe('training through TF1 control flow', () => {
  test("the loss and its gradients (both branches), then Adam minimize for 10 steps: losses match Python's run of the same graph", async () => {
    const { g, x, flag, out, wrt } = await setup();
    const target = g.constant(toTensor(fx.training.target), 'target');
    const nested = out.nested;
    const zero = g.addOperation('ZerosLike', { inputs: [nested] }).output(0);
    const tenth = g.constant(new Tensor('float32', [], [0.1]));
    const loss = g
      .addOperation('AddV2', {
        inputs: [mse(g, out.default, target), g.addOperation('Mul', { inputs: [tenth, mse(g, nested, zero)] }).output(0)],
      })
      .output(0);
    const names = Object.keys(wrt);
    const grads = g.addGradients(
      loss,
      names.map((n) => wrt[n]),
    );
    const opt = new AdamOptimizer({ learningRate: fx.training.learning_rate });
    const train = opt.minimize(loss);
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      for (const call of fx.calls) {
        const got = s.runSync([loss, ...grads], feeds(x, flag, call));
        assertClose(values(got[0]), call.loss, TOL, 'loss');
        names.forEach((n, i) => assertClose(values(got[i + 1]), call.loss_gradients[n].values as number[], TOL, `d loss / d ${n}`));
      }
      const feed = feeds(x, flag, fx.calls[0]);
      const losses: number[] = [];
      for (let i = 0; i < fx.training.losses.length - 1; i++) {
        const [, l] = s.runSync([train, loss], feed);
        losses.push(values(l as Tensor)[0]);
      }
      losses.push(values(s.runSync(loss, feed))[0]);
      assertClose(losses, fx.training.losses, TOL, 'losses');
    } finally {
      s.close();
      g.dispose();
    }
  });
});

describe('TF1 control flow gradients: finite differences, integer counters, repeated application', () => {
  test('d sum(default) and d sum(nested) / dx agree with central differences on a few entries (both branches)', async () => {
    const { g, x, flag, out } = await setup();
    const outs = [out.default, out.nested];
    const ys = outs.map((o) => sumAll(g, o));
    const grads = ys.map((y) => g.addGradients(y, x)[0]);
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      for (const call of fx.calls) {
        const x0 = call.inputs.x.values as number[];
        const run = (xs: number[]) =>
          s
            .runSync(
              ys,
              new Map<Output, Tensor>([
                [x, new Tensor('float32', [2, 3], xs)],
                [flag, toTensor(call.inputs.flag)],
              ]),
            )
            .map((t) => values(t)[0]);
        const analytic = s.runSync(grads, feeds(x, flag, call)).map(values);
        const h = 1e-2;
        for (const i of [0, 2, 4]) {
          const plus = [...x0];
          const minus = [...x0];
          plus[i] += h;
          minus[i] -= h;
          const [p, m] = [run(plus), run(minus)];
          ys.forEach((_, k) =>
            assertClose(
              analytic[k][i],
              (p[k] - m[k]) / (2 * h),
              { rtol: 2e-2, atol: 2e-3 },
              `output ${k}, x[${i}], flag ${call.inputs.flag.values[0]}`,
            ),
          );
        }
      }
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('an integer loop counter has no gradient and is no error; a float loop variable no gradient reaches gives none', async () => {
    const { g, x, out, wrt } = await setup();
    const n = g.addOperation('Cast', { inputs: [out.iterations], attrs: { DstT: 'float32' } }).output(0);
    assert.deepEqual(g.addGradients(n, [x, wrt.kernel], null, { unconnected: 'null' }), [null, null]);
    assert.throws(() => g.addGradients(n, x), { code: 'ERR_UNCONNECTED_GRADIENT' });
    const [dx] = g.addGradients(sumAll(g, out.side), x, null, { unconnected: 'zero' });
    const s = new Session(g);
    try {
      assert.deepEqual(values(s.runSync(dx, new Map([[x, toTensor(fx.calls[0].inputs.x)]]))), [0, 0, 0, 0, 0, 0]);
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('the module applied twice in one graph: gradients of both applications in one run (distinct backward frames)', async () => {
    const { g, m, x, flag, out } = await setup();
    const again = g.withNameScope('again', () => m.call({ x, flag }, { asDict: true }) as Record<string, Output>);
    const total = g.addOperation('AddV2', { inputs: [sumAll(g, out.nested), sumAll(g, again.nested)] }).output(0);
    const [dx] = g.addGradients(total, x);
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      for (const call of fx.calls) {
        const want = (call.gradients.nested.x!.values as number[]).map((v) => 2 * v);
        assertClose(values(s.runSync(dx, feeds(x, flag, call))), want, TOL, 'd (sum(nested) + sum(nested again)) / dx');
      }
    } finally {
      s.close();
      g.dispose();
    }
  });
});

describe('a TF1 SavedModel with a v1 loop over a variable', () => {
  test('its meta graph imported and restored: d sum(y) / d (x, w) match Python', async () => {
    const dir = path.join(FIXTURES, 'control_flow_v1_savedmodel');
    const want = readJson<{ x: TensorJson; y: TensorJson; d_sum_y_dx: TensorJson; d_sum_y_dw: TensorJson }>(
      'control_flow_v1_savedmodel.json',
    );
    const meta = selectMetaGraph(await readSavedModel(dir), ['serve']);
    const g = new Graph();
    const s = new Session(g);
    try {
      g.importGraphDef(encodeGraphDef(meta.graphDef!));
      const x = g.output('x:0');
      const y = g.output('y:0');
      const [dx, dw] = g.addGradients(sumAll(g, y), [x, g.output('w:0')]);
      const saver = meta.saverDef!;
      const prefix = new Tensor('string', [], [path.join(dir, 'variables', 'variables')]);
      s.runSync(g.operation(saver.restoreOpName!)!, new Map([[g.output(saver.filenameTensorName!), prefix]]));
      const got = s.runSync([y, dx, dw], new Map([[x, toTensor(want.x)]])).map(values);
      assertClose(got[0], want.y.values as number[], TOL, 'y');
      assertClose(got[1], want.d_sum_y_dx.values as number[], TOL, 'd sum(y) / dx');
      assertClose(got[2], want.d_sum_y_dw.values as number[], TOL, 'd sum(y) / dw');
    } finally {
      s.close();
      g.dispose();
    }
  });
});

describe('TF1 loop gradients that are refused with a typed error', () => {
  test('the gradient of a tensor inside a loop frame is ERR_NO_GRADIENT naming loop ops, not a crash', async () => {
    const { g, x } = await setup();
    const inside = g.operations().find((op) => op.type === 'Tanh' && op.name.startsWith('module_apply_default/loop/'))!;
    assert.ok(inside, 'the loop body has a Tanh');
    assert.throws(
      () => g.addGradients(sumAll(g, inside.output(0)), x),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_NO_GRADIENT');
        assert.match(e.message, /inside a TF1 while loop/);
        return true;
      },
    );
    g.dispose();
  });

  test('a loop body with a stateful op (random_uniform) is ERR_NO_GRADIENT naming the op, before anything runs', () => {
    const g = new Graph();
    try {
      g.importGraphDef(fs.readFileSync(path.join(FIXTURES, 'control_flow_v1_stateful.pb')));
      const x = g.output('x:0');
      assert.throws(
        () => g.addGradients(sumAll(g, g.output('y:0')), x),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ERR_NO_GRADIENT');
          assert.match(e.message, /RandomUniform/);
          assert.match(e.message, /noisy/);
          return true;
        },
      );
    } finally {
      g.dispose();
    }
  });
});
