// hub.load with the speed options of its Session: outputs stay Python's (the oracles, to 1e-5) whatever the
// options. Speed itself is measured by `npm run bench` (bench/peers), not here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { load } from '../../src/hub/tf2';
import { NO_SPIN_MAX_CORES, loadSessionDefaults } from '../../src/hub/tf2/load';
import { SessionOptions } from '../../src/session';
import { CallJson, FIXTURES, checkCalls, readOracle } from './helpers';

// Dense layers, a Keras CNN (conv, batch norm, pooling, softmax) and control flow (while_loop + cond).
const MODELS = ['tf2_mlp', 'keras_cnn_tf2', 'control_flow_tf2'];
const OPTIONS: Array<[string, SessionOptions]> = [
  ['jit (XLA on CPU)', { jit: true }],
  ['function calls kept (inlineFunctions false)', { inlineFunctions: false }],
  ['jit, not inline', { jit: true, inline: false }],
  ['pool threads sleep instead of polling (disableThreadSpinning), own pools', { disableThreadSpinning: true, usePerSessionThreads: true }],
  [
    'no function-body inlining, no spinning, one inter-op thread',
    { inlineFunctions: false, disableThreadSpinning: true, interOpParallelism: 1 },
  ],
  [
    'not inline, one intra-op thread, own pools',
    { inline: false, intraOpParallelism: 1, interOpParallelism: 1, usePerSessionThreads: true },
  ],
];

describe('hub.load session options keep the outputs', () => {
  for (const [label, session] of OPTIONS) {
    test(label, async () => {
      for (const name of MODELS) {
        const oracle = readOracle<{ calls: CallJson[] }>(path.join(FIXTURES, `${name}.json`));
        await using model = await load(path.join(FIXTURES, name), { session });
        // twice: the second pass runs what the first compiled (XLA compiles per input shape on first use)
        await checkCalls(model, oracle.calls, `${name} (${label})`);
        await checkCalls(model, oracle.calls, `${name} (${label}, again)`);
      }
    });
  }
});

describe('hub.load session defaults', () => {
  test("thread spinning off on small machines only; TF's default (spinning) on big ones", () => {
    for (const cores of [1, 2, NO_SPIN_MAX_CORES]) assert.equal(loadSessionDefaults(cores).disableThreadSpinning, true, `${cores} cores`);
    for (const cores of [NO_SPIN_MAX_CORES + 1, 64])
      assert.equal(loadSessionDefaults(cores).disableThreadSpinning, undefined, `${cores} cores`);
    assert.deepEqual(loadSessionDefaults(64), { inline: true, allowSoftPlacement: true, inlineFunctions: true });
  });
});
