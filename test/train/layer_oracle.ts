// Shared by the gradient tests of whole models (control_flow.test.ts, tensorlist.test.ts; not a test file itself):
// loss = sum(r · layer(x)) over a hub.KerasLayer, its gradients against Python's tf.GradientTape, and central
// differences.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, Output, Session, Tensor, Variable } from '../../src';
import { AdamOptimizer } from '../../src/train/optimizers';
import { KerasLayer, KerasLayerOptions } from '../../src/hub/keras_layer';
import { FIXTURES, TensorJson, assertClose, constant, meanSquaredError, sumAll, values } from './helpers';

/** One call of an oracle: input, weight r, output, loss = sum(r · y), gradients w.r.t. `x` and each variable. */
export interface OracleCall {
  x: TensorJson;
  r: TensorJson;
  y: TensorJson;
  loss: number;
  gradients: Record<string, TensorJson>;
}

/** A model of an oracle: its calls and its trainable variables by Python name. */
export interface ModelOracle {
  calls: OracleCall[];
  variables: string[];
  /** For exports called through a signature: the signature, its input key and output key. */
  signature?: string;
  input_key?: string;
  output_key?: string;
  adam?: { learning_rate: number; x: TensorJson; target: TensorJson; losses: number[]; final_loss: number };
}

/** Loads fixture `name` as a trainable KerasLayer (through its signature when the oracle names one). */
export function loadLayer(name: string, m: ModelOracle): Promise<KerasLayer> {
  const options: KerasLayerOptions = m.signature ? { signature: m.signature, outputKey: m.output_key } : {};
  return KerasLayer.load(path.join(FIXTURES, name), { ...options, trainable: true });
}

/** The layer applied to `x` (under the oracle's input key, if any). */
export function applyLayer(m: ModelOracle, layer: KerasLayer, g: Graph, x: Output): Output {
  return layer.apply(g, m.input_key ? { [m.input_key]: x } : x) as Output;
}

/** sum(r · layer(x)) in a fresh graph, with x and r placeholders; the trainable variables by Python name (`w:0`). */
export async function lossGraph(name: string, m: ModelOracle) {
  const layer = await loadLayer(name, m);
  const g = new Graph();
  const x = g.placeholder('float32', null, 'x');
  const r = g.placeholder('float32', null, 'r');
  const y = applyLayer(m, layer, g, x);
  const loss = sumAll(g, g.addOperation('Mul', { inputs: [y, r] }).output(0));
  const weights = new Map(layer.trainableWeights(g).map((v) => [v.name.replace(/^keras_layer(_\d+)?\//, ''), v]));
  return { g, x, r, y, loss, weights };
}

/** Feeds of one call (x possibly replaced by `xs`). */
export function feedOf(x: Output, r: Output, call: OracleCall, xs = call.x.values as number[]): Map<Output, Tensor> {
  return new Map([
    [x, new Tensor('float32', call.x.shape, xs)],
    [r, new Tensor('float32', call.r.shape, call.r.values as number[])],
  ]);
}

/** Every call's output, loss, d loss / dx and d loss / d every variable against the oracle (gradients 1e-4). */
export async function checkGradients(name: string, m: ModelOracle): Promise<void> {
  const { g, x, r, y, loss, weights } = await lossGraph(name, m);
  assert.deepEqual([...weights.keys()].sort(), [...m.variables].sort());
  const grads = g.addGradients(loss, [x, ...m.variables.map((v) => weights.get(v)!)]);
  const s = new Session(g);
  try {
    await s.run(g.globalVariablesInitializer());
    for (const [i, call] of m.calls.entries()) {
      const got = await s.run([y, loss, ...grads], feedOf(x, r, call));
      assertClose(values(got[0]), call.y.values as number[], { rtol: 1e-5, atol: 1e-5 }, `call ${i}: output`);
      assertClose(values(got[1]), [call.loss], { rtol: 1e-5, atol: 1e-5 }, `call ${i}: loss`);
      assert.deepEqual(got[2].shape, call.gradients.x.shape, 'd loss / dx shape');
      assertClose(values(got[2]), call.gradients.x.values as number[], { rtol: 1e-4, atol: 1e-4 }, `call ${i}: d loss / dx`);
      m.variables.forEach((v, k) => {
        assert.deepEqual(got[3 + k].shape, call.gradients[v].shape, `${v} gradient shape`);
        assertClose(values(got[3 + k]), call.gradients[v].values as number[], { rtol: 1e-4, atol: 1e-4 }, `call ${i}: d loss / d ${v}`);
      });
    }
  } finally {
    s.close();
    g.dispose();
  }
}

/**
 * Entries `entries` of d loss / dx on the first call against central differences of the loss in float32 (eps
 * 1e-2): loose, but independent of any oracle.
 */
export async function checkCentralDifferences(name: string, m: ModelOracle, entries: number[]): Promise<void> {
  const call = m.calls[0];
  const { g, x, r, loss } = await lossGraph(name, m);
  const [gx] = g.addGradients(loss, x);
  const s = new Session(g);
  try {
    await s.run(g.globalVariablesInitializer());
    const grad = values(await s.run(gx, feedOf(x, r, call)));
    const eps = 1e-2;
    for (const k of entries) {
      const at = (delta: number) => {
        const xs = (call.x.values as number[]).slice();
        xs[k] += delta;
        return s.run(loss, feedOf(x, r, call, xs));
      };
      const fd = (values(await at(eps))[0] - values(await at(-eps))[0]) / (2 * eps);
      assertClose([grad[k]], [fd], { rtol: 2e-2, atol: 2e-2 }, `${name}: d loss / dx[${k}]`);
    }
  } finally {
    s.close();
    g.dispose();
  }
}

/**
 * Fine-tunes fixture `name` with Adam on mean(square(layer(adam.x) - adam.target)), as the oracle's `adam` entry
 * says, and checks the loss before each step and after the last against Python's (1e-4). `inspect` sees the graph
 * once the training op is built. Returns the losses.
 */
export async function checkAdamSteps(name: string, m: ModelOracle, inspect: (g: Graph) => void = () => {}): Promise<number[]> {
  const adam = m.adam!;
  const layer = await loadLayer(name, m);
  const g = new Graph();
  const y = applyLayer(m, layer, g, constant(g, adam.x, 'float32', 'x'));
  const loss = meanSquaredError(g, y, constant(g, adam.target, 'float32', 'target'));
  const train = new AdamOptimizer({ learningRate: adam.learning_rate }).minimize(loss, {
    varList: layer.trainableWeights(g) as Variable[],
  });
  inspect(g);
  const s = new Session(g);
  try {
    await s.run(g.globalVariablesInitializer());
    const losses: number[] = [];
    for (let step = 0; step < adam.losses.length; step++) {
      losses.push(values(await s.run(loss))[0]);
      await s.run(train);
    }
    losses.push(values(await s.run(loss))[0]);
    assertClose(losses, [...adam.losses, adam.final_loss], { rtol: 1e-4, atol: 1e-4 }, 'loss before each step, then after the last');
    return losses;
  } finally {
    s.close();
    g.dispose();
  }
}
