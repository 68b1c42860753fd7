// Gradients through TF1 TensorArrays (TensorArrayV3 and its Read/Write/Gather/Scatter/Concat/Split ops), in v1
// while loops and in straight-line code, against Python's tf.gradients and an Adam run on the same graph:
// test/fixtures/tensor_array_rnn_v1/ (a TF1 Hub module running dynamic_rnn with an LSTMCell and a GRUCell) and
// test/fixtures/tensor_array_v1.pb (hand-written loops), written by test/fixtures/gen/make_tensor_array_grads.py.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph, Output, Session, Tensor, Variable, hub } from '../../src';
import { AdamOptimizer } from '../../src/train/optimizers';
import { FIXTURES, TensorJson, assertClose, readJson, sumAll, toTensor, values } from './helpers';

interface RnnCall {
  inputs: { x: TensorJson; lengths: TensorJson };
  outputs: Record<string, TensorJson>;
  gradients: Record<string, Record<string, TensorJson | null>>;
  loss: number;
  loss_gradients: Record<string, TensorJson>;
}
interface RnnOracle {
  r: Record<string, TensorJson>;
  calls: RnnCall[];
  training: { learning_rate: number; lengths: TensorJson; target: TensorJson; target_gru: TensorJson; losses: number[] };
}
interface Case {
  output: string;
  r: TensorJson;
  value: TensorJson;
  gradients: Record<string, TensorJson>;
}
interface HandOracle {
  inputs: Record<string, TensorJson>;
  cases: Record<string, Case>;
}

const rnn = readJson<RnnOracle>('tensor_array_rnn_v1.json');
const hand = readJson<HandOracle>('tensor_array_v1.json');
const TOL = { rtol: 1e-4, atol: 1e-5 };

const op0 = (g: Graph, type: string, inputs: Output[], attrs: Record<string, unknown> = {}) =>
  g.addOperation(type, { inputs, attrs }).output(0);

/** sum(r · y) for a fixed weight tensor r. */
function weighted(g: Graph, y: Output, r: TensorJson): Output {
  return sumAll(g, op0(g, 'Mul', [y, g.constant(toTensor(r))]));
}

async function rnnSetup() {
  const g = new Graph();
  const m = new hub.Module(await hub.loadModuleSpec(path.join(FIXTURES, 'tensor_array_rnn_v1')), { graph: g, trainable: true });
  const x = g.placeholder('float32', [null, 4, 3], 'x');
  const lengths = g.placeholder('int32', [null], 'lengths');
  const out = m.call({ x, lengths }, { asDict: true }) as Record<string, Output>;
  const vars = m.variableMap as Record<string, Variable>;
  const names = Object.keys(rnn.calls[0].loss_gradients);
  const wrt = names.map((n) => (n === 'x' ? x : vars[n]));
  assert.ok(
    wrt.every((w) => w !== undefined),
    `module variables ${Object.keys(vars).join(', ')}`,
  );
  const feeds = (call: { inputs: { x: TensorJson; lengths: TensorJson } }) =>
    new Map<Output, Tensor>([
      [x, toTensor(call.inputs.x)],
      [lengths, toTensor(call.inputs.lengths)],
    ]);
  return { g, m, x, lengths, out, names, wrt, feeds };
}

function mse(g: Graph, a: Output, target: TensorJson): Output {
  return op0(g, 'Mean', [
    op0(g, 'Square', [op0(g, 'Sub', [a, g.constant(toTensor(target))])]),
    g.constant(new Tensor('int32', [3], [0, 1, 2])),
  ]);
}

describe('gradients through dynamic_rnn (TF1 TensorArrays in v1 loops) match Python', () => {
  test('d sum(r · output) / d (x, every LSTM and GRU variable) for outputs and final states, both length sets, all gradients in one run', async () => {
    const { g, out, names, wrt, feeds } = await rnnSetup();
    // Every output's gradients fetched in one run: each addGradients call has its own TensorArray accumulators.
    const fetch: Array<{ label: string; grad: Output; out: string; name: string }> = [];
    for (const o of Object.keys(rnn.r)) {
      const grads = g.addGradients(weighted(g, out[o], rnn.r[o]), wrt, null, { unconnected: 'null' });
      names.forEach((n, i) => {
        // Python's None (an LSTM output does not read the GRU's variables) is no gradient here too.
        if (rnn.calls[0].gradients[o][n] === null) assert.equal(grads[i], null, `d sum(r ${o}) / d ${n} is None in Python`);
        else fetch.push({ label: `d sum(r ${o}) / d ${n}`, grad: grads[i], out: o, name: n });
      });
    }
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      for (const call of rnn.calls) {
        const outs = Object.keys(rnn.r);
        const got = s.runSync([...outs.map((o) => out[o]), ...fetch.map((f) => f.grad)], feeds(call));
        outs.forEach((o, i) => assertClose(values(got[i]), call.outputs[o].values as number[], TOL, o));
        fetch.forEach((f, i) =>
          assertClose(
            values(got[outs.length + i]),
            call.gradients[f.out][f.name]!.values as number[],
            TOL,
            `${f.label}, lengths ${call.inputs.lengths.values}`,
          ),
        );
      }
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('d sum(r · lstm_outputs) / dx and d sum(r · gru_state) / dx agree with central differences on a few entries', async () => {
    const { g, x, out, feeds } = await rnnSetup();
    const ys = [weighted(g, out.lstm_outputs, rnn.r.lstm_outputs), weighted(g, out.gru_state, rnn.r.gru_state)];
    const grads = ys.map((y) => g.addGradients(y, x)[0]);
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      const call = rnn.calls[0];
      const x0 = call.inputs.x.values as number[];
      const run = (xs: number[]) =>
        s
          .runSync(ys, new Map<Output, Tensor>([...feeds(call)].map(([k, v]) => [k, k === x ? new Tensor('float32', [3, 4, 3], xs) : v])))
          .map((t) => values(t)[0]);
      const analytic = s.runSync(grads, feeds(call)).map(values);
      const h = 1e-2;
      // Entries of steps inside and past each sequence's length (past: zero gradient).
      for (const i of [0, 7, 13, 20, 30, 35]) {
        const plus = [...x0];
        const minus = [...x0];
        plus[i] += h;
        minus[i] -= h;
        const [p, m] = [run(plus), run(minus)];
        ys.forEach((_, k) => assertClose(analytic[k][i], (p[k] - m[k]) / (2 * h), { rtol: 2e-2, atol: 2e-3 }, `output ${k}, x[${i}]`));
      }
    } finally {
      s.close();
      g.dispose();
    }
  });
});

describe('fine-tuning the dynamic_rnn module', () => {
  test("the loss and its gradients (both length sets), then Adam minimize for 15 steps: losses match Python's run of the same graph", async () => {
    const { g, out, names, wrt, feeds } = await rnnSetup();
    const half = g.constant(new Tensor('float32', [], [0.5]));
    const loss = op0(g, 'AddV2', [
      mse(g, out.lstm_outputs, rnn.training.target),
      op0(g, 'Mul', [half, mse(g, out.gru_outputs, rnn.training.target_gru)]),
    ]);
    const grads = g.addGradients(loss, wrt);
    const train = new AdamOptimizer({ learningRate: rnn.training.learning_rate }).minimize(loss);
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      for (const call of rnn.calls) {
        const got = s.runSync([loss, ...grads], feeds(call));
        assertClose(values(got[0]), call.loss, TOL, 'loss');
        names.forEach((n, i) => assertClose(values(got[i + 1]), call.loss_gradients[n].values as number[], TOL, `d loss / d ${n}`));
      }
      const feed = feeds({ inputs: { x: rnn.calls[0].inputs.x, lengths: rnn.training.lengths } });
      const losses: number[] = [];
      for (let i = 0; i < rnn.training.losses.length - 1; i++) {
        const [, l] = s.runSync([train, loss], feed);
        losses.push(values(l as Tensor)[0]);
      }
      losses.push(values(s.runSync(loss, feed))[0]);
      assertClose(losses, rnn.training.losses, TOL, 'losses');
    } finally {
      s.close();
      g.dispose();
    }
  });
});

function handGraph(): Graph {
  const g = new Graph();
  g.importGraphDef(fs.readFileSync(path.join(FIXTURES, 'tensor_array_v1.pb')));
  return g;
}

function handFeeds(g: Graph, inputs: Record<string, TensorJson> = hand.inputs): Map<Output, Tensor> {
  return new Map(Object.entries(inputs).map(([k, v]) => [g.output(`${k}:0`), toTensor(v)]));
}

describe('hand-written TensorArray code (v1 loops and straight-line) matches Python', () => {
  for (const [name, c] of Object.entries(hand.cases)) {
    test(`${name}: the value and d sum(r · y) / d (${Object.keys(c.gradients).join(', ')})`, () => {
      const g = handGraph();
      const s = new Session(g);
      try {
        const y = g.output(c.output);
        const wrt = Object.keys(c.gradients);
        const grads = g.addGradients(
          weighted(g, y, c.r),
          wrt.map((p) => g.output(`${p}:0`)),
        );
        const got = s.runSync([y, ...grads], handFeeds(g)).map(values);
        assertClose(got[0], c.value.values as number[], TOL, `${name} value`);
        wrt.forEach((p, i) => assertClose(got[i + 1], c.gradients[p].values as number[], TOL, `d sum(r ${name}) / d ${p}`));
      } finally {
        s.close();
        g.dispose();
      }
    });
  }

  test('central differences agree for the loop cases (write then stack, read of an unstacked input, dynamic size)', () => {
    const g = handGraph();
    const s = new Session(g);
    try {
      for (const name of ['write_stack', 'read_unstacked', 'dynamic', 'two_writes']) {
        const c = hand.cases[name];
        const y = weighted(g, g.output(c.output), c.r);
        const p = Object.keys(c.gradients)[0];
        const [grad] = g.addGradients(y, g.output(`${p}:0`));
        const analytic = values(s.runSync(grad, handFeeds(g)));
        const x0 = hand.inputs[p];
        const h = 1e-2;
        for (const i of [0, 2]) {
          const shifted = (d: number) => {
            const v = [...(x0.values as number[])];
            v[i] += d;
            return values(s.runSync(y, handFeeds(g, { ...hand.inputs, [p]: { ...x0, values: v } })))[0];
          };
          assertClose(analytic[i], (shifted(h) - shifted(-h)) / (2 * h), { rtol: 2e-2, atol: 2e-3 }, `${name}: d / d ${p}[${i}]`);
        }
      }
    } finally {
      s.close();
      g.dispose();
    }
  });
});

describe('TensorArray gradients that are refused or fail with a typed error', () => {
  test('a loop writing the same index twice: the forward run and the gradient run fail with INVALID_ARGUMENT, no crash or hang', () => {
    const g = handGraph();
    const s = new Session(g);
    try {
      const y = g.output('same_index:0');
      const [dx] = g.addGradients(sumAll(g, y), g.output('x:0'));
      for (const fetch of [y, dx]) {
        assert.throws(
          () => s.runSync(fetch, handFeeds(g)),
          (e: Error & { code?: string }) => {
            assert.equal(e.code, 'INVALID_ARGUMENT');
            assert.match(e.message, /already been written/);
            return true;
          },
        );
      }
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('a loop body reading a TensorArray inside a cond is ERR_NO_GRADIENT naming the loop, before anything runs', () => {
    const g = handGraph();
    try {
      assert.throws(
        () => g.addGradients(sumAll(g, g.output('in_cond:0')), g.output('xs:0')),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ERR_NO_GRADIENT');
          assert.match(e.message, /in_cond_loop/);
          assert.match(e.message, /TensorArrayReadV3/);
          return true;
        },
      );
    } finally {
      g.dispose();
    }
  });
});
