// Gradients through TF1 (v1) control flow — while loops (Enter/Merge/Switch/LoopCond/NextIteration/Exit) and conds
// (Switch/Merge) — in a TF1 Hub module, against Python's tf.gradients and an Adam run on the same graph
// (test/fixtures/control_flow_grad_v1.json, written by test/fixtures/gen/make_control_flow_grads.py).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, Output, Session, Tensor, Variable, hub } from '../../src';
import { AdamOptimizer } from '../../src/train/optimizers';
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
  return new Map<Output, Tensor>([[x, toTensor(call.inputs.x)], [flag, toTensor(call.inputs.flag)]]);
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
        const grads = g.addGradients(sumAll(g, out[o]), names.map((n) => wrt[n]), null, { unconnected: 'null' });
        names.forEach((n, i) => {
          // Python's None is no gradient here too (an unconnected loop output, a variable the output never reads).
          if (per[n] === null) assert.equal(grads[i], null, `d sum(${o}) / d ${n} is None in Python`);
          else fetch.push({ label: `d sum(${o}) / d ${n}`, grad: grads[i], want: per[n]! });
        });
      }
      const s = new Session(g);
      try {
        s.runSync(g.globalVariablesInitializer());
        const got = s.runSync(fetch.map((f) => f.grad), feeds(x, flag, call));
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
  test('the loss and its gradients (both branches), then Adam minimize for 10 steps: losses match Python\'s run of the same graph', async () => {
    const { g, x, flag, out, wrt } = await setup();
    const target = g.constant(toTensor(fx.training.target), 'target');
    const nested = out.nested;
    const zero = g.addOperation('ZerosLike', { inputs: [nested] }).output(0);
    const tenth = g.constant(new Tensor('float32', [], [0.1]));
    const loss = g.addOperation('AddV2', {
      inputs: [mse(g, out.default, target), g.addOperation('Mul', { inputs: [tenth, mse(g, nested, zero)] }).output(0)],
    }).output(0);
    const names = Object.keys(wrt);
    const grads = g.addGradients(loss, names.map((n) => wrt[n]));
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
