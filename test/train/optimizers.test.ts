// Optimizers vs Python's tf.compat.v1.train optimizers (test/fixtures/optimizers_oracle.json, made by
// test/fixtures/gen/make_train_oracles.py): two steps on a tiny least-squares problem, with resource and with
// reference variables.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, GraphKeys, Session, Tensor, Variable, variable } from '../../src';
import { AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, RMSPropOptimizer } from '../../src/train/optimizers';
import { Optimizer, getGlobalStep, getOrCreateGlobalStep } from '../../src/train/optimizer';
import { TensorJson, assertClose, constant, meanSquaredError, readJson, toTensor, values } from './helpers';

interface RunOracle {
  losses: number[];
  w: TensorJson[];
  b: TensorJson[];
  loss_after: number;
  global_step: number;
  created_variables: string[];
  variables: Record<string, TensorJson>;
  slot_names: string[];
  train_op: { name: string; type: string };
  update_ops: string[];
}
interface Oracle {
  problem: Record<'x' | 'y' | 'w' | 'b', TensorJson>;
  steps: number;
  optimizers: Record<string, { options: Record<string, number | boolean>; resource: RunOracle; ref: RunOracle }>;
}

const oracle = readJson<Oracle>('optimizers_oracle.json');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function makeOptimizer(kind: string, o: Record<string, any>): Optimizer {
  if (kind.startsWith('GradientDescent')) return new GradientDescentOptimizer(o.learningRate);
  if (kind.startsWith('Momentum')) return new MomentumOptimizer(o.learningRate, o.momentum, { useNesterov: o.useNesterov });
  if (kind.startsWith('Adam')) return new AdamOptimizer(o);
  if (kind.startsWith('Adagrad')) return new AdagradOptimizer(o.learningRate, o);
  if (kind.startsWith('RMSProp')) return new RMSPropOptimizer(o.learningRate, o);
  throw new Error(kind);
}

/** The oracle's problem in a fresh graph: x·w + b vs y, w and b resource or reference variables. */
function problem(useResource: boolean) {
  const g = new Graph();
  const p = oracle.problem;
  const x = constant(g, p.x, 'float32', 'x');
  const y = constant(g, p.y, 'float32', 'y');
  const w = variable(g, { name: 'w', initialValue: toTensor(p.w), useResource });
  const b = variable(g, { name: 'b', initialValue: toTensor(p.b), useResource });
  const xw = g.addOperation('MatMul', { inputs: [x, w.value()] }).output(0);
  const pred = g.addOperation('AddV2', { inputs: [xw, b.value()] }).output(0);
  const loss = meanSquaredError(g, pred, y);
  return { g, w, b, loss };
}

for (const [kind, spec] of Object.entries(oracle.optimizers)) {
  describe(`${kind} optimizer vs tf.compat.v1.train`, () => {
    for (const useResource of [true, false]) {
      const want = useResource ? spec.resource : spec.ref;
      test(`${useResource ? 'resource' : 'reference'} variables: two steps, slots, global step`, () => {
        const { g, w, b, loss } = problem(useResource);
        const globalStep = getOrCreateGlobalStep(g);
        const before = new Set(g.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES).map((v) => v.opName));
        const opt = makeOptimizer(kind, spec.options);
        const train = opt.minimize(loss, { globalStep });

        // The graph Python builds: same variables, names, kernels and train op.
        const created = g.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES).filter((v) => !before.has(v.opName));
        assert.deepEqual(created.map((v) => v.opName).sort(), [...want.created_variables].sort());
        assert.deepEqual(
          opt
            .variables(g)
            .map((v) => v.opName)
            .sort(),
          [...want.created_variables].sort(),
        );
        for (const v of created) {
          assert.equal(v.trainable, false, `${v.name} is not trainable`);
          assert.equal(v.isResource, useResource, `${v.name} is ${useResource ? 'a resource' : 'a reference'} variable`);
        }
        assert.deepEqual(
          g.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES).map((v) => v.opName),
          ['w', 'b'],
        );
        assert.deepEqual(opt.getSlotNames(), want.slot_names);
        assert.equal(train.name, want.train_op.name);
        assert.equal(train.type, want.train_op.type);
        const kernels = g.operations().filter((op) => op.name.startsWith(`${train.name}/update_`) && /^(Resource)?Apply/.test(op.type));
        assert.deepEqual(kernels.map((op) => op.type).sort(), want.update_ops);
        assert.deepEqual(kernels.map((op) => op.name.split('/').slice(0, 2).join('/')).sort(), [
          `${train.name}/update_b`,
          `${train.name}/update_w`,
        ]);
        assert.ok(g.getCollection(GraphKeys.TRAIN_OP).includes(train));

        const s = new Session(g);
        try {
          s.runSync(g.globalVariablesInitializer());
          for (let step = 0; step < oracle.steps; step++) {
            assertClose(values(s.runSync(loss)), want.losses[step], { rtol: 1e-5 }, `loss before step ${step + 1}`);
            s.runSync(train);
            assertClose(
              values(s.runSync(w.value())),
              want.w[step].values as number[],
              { rtol: 1e-5, atol: 1e-6 },
              `w after step ${step + 1}`,
            );
            assertClose(
              values(s.runSync(b.value())),
              want.b[step].values as number[],
              { rtol: 1e-5, atol: 1e-6 },
              `b after step ${step + 1}`,
            );
          }
          assertClose(values(s.runSync(loss)), want.loss_after, { rtol: 1e-5 }, 'loss after the steps');
          const gs = s.runSync(globalStep.value());
          assert.equal(Number((gs.data() as BigInt64Array)[0]), want.global_step);
          gs.dispose();
          for (const v of created) {
            assertClose(values(s.runSync(v.value())), want.variables[v.opName].values as number[], { rtol: 1e-5, atol: 1e-6 }, v.opName);
          }
        } finally {
          s.close();
          g.dispose();
        }
      });
    }
  });
}

describe('optimizer API', () => {
  test('getSlot finds the slots by Python name; Adam exposes its beta powers', () => {
    const { g, w, b, loss } = problem(true);
    const adam = new AdamOptimizer({ learningRate: 0.05 });
    assert.equal(adam.getBetaAccumulators(g), null);
    adam.minimize(loss);
    assert.equal(adam.getSlot(w, 'm')!.opName, 'w/Adam');
    assert.equal(adam.getSlot(w, 'v')!.opName, 'w/Adam_1');
    assert.equal(adam.getSlot(b, 'v')!.opName, 'b/Adam_1');
    assert.equal(adam.getSlot(w, 'nope'), null);
    assert.deepEqual(
      adam.getBetaAccumulators(g)!.map((v) => v.opName),
      ['beta1_power', 'beta2_power'],
    );
    // A second minimize reuses the slots and makes a new apply op.
    const again = adam.minimize(loss);
    assert.equal(again.name, 'Adam_1');
    assert.equal(adam.variables(g).length, 6);
    g.dispose();
  });

  test('a learning rate fed through a placeholder, and gradients applied by hand', () => {
    const { g, w, b, loss } = problem(true);
    const lr = g.placeholder('float32', [], 'lr');
    const opt = new GradientDescentOptimizer(lr);
    const gradsAndVars = opt.computeGradients(loss);
    assert.deepEqual(
      gradsAndVars.map(([, v]) => v),
      [w, b],
    );
    const train = opt.applyGradients(gradsAndVars, { name: 'sgd' });
    assert.equal(train.name, 'sgd');
    assert.equal(train.type, 'NoOp');
    const want = oracle.optimizers.GradientDescent.resource;
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      s.runSync(train, { 'lr:0': 0.1 });
      assertClose(values(s.runSync(w.value())), want.w[0].values as number[], {}, 'w');
      // lr 0: nothing moves.
      s.runSync(train, { 'lr:0': 0 });
      assertClose(values(s.runSync(w.value())), want.w[0].values as number[], {}, 'w after lr 0');
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('varList restricts the update; unconnected variables get null gradients and are skipped', () => {
    const { g, w, b, loss } = problem(true);
    const unused = variable(g, { name: 'unused', initialValue: [1, 2] });
    const opt = new GradientDescentOptimizer(0.1);
    const gv = opt.computeGradients(loss);
    assert.equal(gv.length, 3);
    assert.equal(gv[2][0], null);
    assert.equal(gv[2][1], unused);
    const train = opt.applyGradients(gv);
    const trainW = new GradientDescentOptimizer(0.1).minimize(loss, { varList: [w] });
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      const b0 = values(s.runSync(b.value()));
      s.runSync(trainW);
      assertClose(values(s.runSync(b.value())), b0, { rtol: 0, atol: 0 }, 'b untouched by a varList of [w]');
      s.runSync(train);
      assert.deepEqual(values(s.runSync(unused.value())), [1, 2]);
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('errors: no variables, no gradients, bad arguments', () => {
    const g = new Graph();
    const c = g.constant([1, 2, 3]);
    const opt = new GradientDescentOptimizer(0.1);
    assert.throws(() => opt.minimize(c), { code: 'ERR_NO_VARIABLES' });
    const v = variable(g, { name: 'v', initialValue: [1, 2, 3] });
    const other = variable(g, { name: 'other', initialValue: [1, 2, 3] });
    const loss = g.addOperation('Mul', { inputs: [v.value(), c] }).output(0);
    assert.throws(
      () => opt.minimize(loss, { varList: [other] }),
      (e: Error & { code?: string }) => e.code === 'ERR_NO_VARIABLE_GRADIENTS' && e.message.includes('other:0'),
    );
    assert.throws(() => opt.applyGradients([[null, other]]), { code: 'ERR_NO_VARIABLE_GRADIENTS' });
    assert.throws(() => opt.applyGradients([]), { code: 'ERR_NO_VARIABLES' });
    const grad = g.constant([1, 1, 1]);
    assert.throws(
      () =>
        opt.applyGradients([
          [grad, v],
          [grad, v],
        ]),
      /Duplicate variable/,
    );
    assert.throws(() => opt.applyGradients([[g.constant(new Tensor('float64', [3], [1, 1, 1])), v]]), { code: 'ERR_INVALID_DTYPE' });
    const ints = g.constant(new Tensor('int32', [3], [1, 2, 3]));
    assert.throws(() => opt.minimize(ints), { code: 'ERR_INVALID_DTYPE' });
    assert.throws(() => new GradientDescentOptimizer(Number.NaN), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => new AdagradOptimizer(0.1, { initialAccumulatorValue: 0 }), { code: 'ERR_INVALID_ARG_VALUE' });
    g.dispose();
  });

  test('getOrCreateGlobalStep: one int64 scalar in the global_step collection; applyGradients increments it', () => {
    const { g, loss } = problem(true);
    assert.equal(getGlobalStep(g), null);
    const step = getOrCreateGlobalStep(g);
    assert.equal(getOrCreateGlobalStep(g), step);
    assert.equal(getGlobalStep(g), step);
    assert.equal(step.opName, 'global_step');
    assert.equal(step.dtype, 'int64');
    assert.deepEqual(step.shape, []);
    assert.equal(step.trainable, false);
    assert.ok(g.getCollection(GraphKeys.GLOBAL_VARIABLES).includes(step));
    assert.ok(!g.getCollection(GraphKeys.TRAINABLE_VARIABLES).includes(step));
    const train = new MomentumOptimizer(0.01, 0.9).minimize(loss, { globalStep: step });
    assert.equal(train.type, 'AssignAddVariableOp');
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      for (let i = 0; i < 3; i++) s.runSync(train);
      const t = s.runSync(step.value());
      assert.equal((t.data() as BigInt64Array)[0], 3n);
      t.dispose();
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('a reference-variable global step is incremented with AssignAdd', () => {
    const { g, loss } = problem(false);
    const step = getOrCreateGlobalStep(g, { useResource: false });
    const train = new GradientDescentOptimizer(0.01).minimize(loss, { globalStep: step });
    assert.equal(train.type, 'AssignAdd');
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      s.runSync(train);
      s.runSync(train);
      const t = s.runSync(step.value());
      assert.equal((t.data() as BigInt64Array)[0], 2n);
      t.dispose();
    } finally {
      s.close();
      g.dispose();
    }
  });

  test("controlInputs: the update_ops collection runs with the train op (Python's control_dependencies pattern)", () => {
    const { g, loss } = problem(true);
    const counter = variable(g, { name: 'counter', initialValue: [0], trainable: false });
    const bump = g.addOperation('AssignAddVariableOp', { inputs: [counter.handle, g.constant([1])], attrs: { dtype: 'float32' } });
    g.addToCollection(GraphKeys.UPDATE_OPS, bump);
    const train = new AdamOptimizer().minimize(loss, { controlInputs: g.getCollection(GraphKeys.UPDATE_OPS) });
    const kernels = g.operations().filter((op) => op.type === 'ResourceApplyAdam');
    assert.equal(kernels.length, 2);
    for (const k of kernels) assert.ok(k.controlInputs.includes(bump), `${k.name} waits for the update op`);
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      s.runSync(train);
      s.runSync(train);
      assert.deepEqual(values(s.runSync(counter.value())), [2]);
    } finally {
      s.close();
      g.dispose();
    }
  });

  test('float64 variables: hyperparameters are cast, Adam beta powers stay float32', () => {
    const g = new Graph();
    const v = variable(g, { name: 'v', initialValue: new Tensor('float64', [2], [1, -2]) });
    const sq = g.addOperation('Square', { inputs: [v.value()] }).output(0);
    const loss = g.addOperation('Sum', { inputs: [sq, g.constant(new Tensor('int32', [1], [0]))] }).output(0);
    const adam = new AdamOptimizer({ learningRate: 0.1 });
    const train = adam.minimize(loss);
    assert.equal(adam.getSlot(v, 'm')!.dtype, 'float64');
    assert.equal(adam.getBetaAccumulators(g)![0].dtype, 'float32');
    const s = new Session(g);
    try {
      s.runSync(g.globalVariablesInitializer());
      s.runSync(train);
      // First Adam step moves every coordinate by ~lr against the sign of its gradient.
      assertClose(values(s.runSync(v.value())), [0.9, -1.9], { rtol: 1e-6 }, 'v after one Adam step');
    } finally {
      s.close();
      g.dispose();
    }
  });
});
