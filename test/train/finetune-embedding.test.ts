// Fine-tuning the text-embedding modules (trainable: true) vs Python (test/fixtures/embedding_finetune_oracle.json,
// made by test/fixtures/gen/make_train_oracles.py from the module's meta graph imported with
// tf.compat.v1.train.import_meta_graph): the gradient of sum(square(embedding(inputs))) with respect to the
// embedding matrix (through ResourceGather and, for sentences, SparseSegmentSqrtN, whose gradients are the
// TypeScript ones) and the losses of a few SGD steps.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, GraphKeys, Output, Session, Variable, hub } from '../../src';
import { GradientDescentOptimizer } from '../../src/train/optimizers';
import { FIXTURES, TensorJson, assertClose, constant, readJson, sumOfSquares, values } from './helpers';

interface EmbeddingCase {
  module: string;
  input_key: string;
  inputs: TensorJson;
  output: TensorJson;
  loss_before: number;
  variable: string;
  gradient: TensorJson;
  learning_rate: number;
  sgd_losses: number[];
}

const oracle = readJson<Record<string, EmbeddingCase>>('embedding_finetune_oracle.json');

describe('fine-tuning embedding modules vs Python', () => {
  for (const [name, c] of Object.entries(oracle)) {
    test(`${name}: embedding gradient matches tf.gradients; SGD lowers the loss as in Python`, async () => {
      const g = new Graph();
      const spec = await hub.loadModuleSpec(path.join(FIXTURES, name));
      const m = new hub.Module(spec, { graph: g, trainable: true });
      const vars = g.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES);
      assert.deepEqual(
        vars.map((v) => v.opName),
        [`module/${c.variable}`],
      );
      const embeddings = vars[0];
      const out = m.call(constant(g, c.inputs, 'string', 'inputs')) as Output;
      const loss = sumOfSquares(g, out);
      const [grad] = g.addGradients(loss, embeddings);
      // The path goes through ops TF's C++ registry has no gradient for: the TypeScript ones did the work.
      const kinds = new Set(
        g
          .operations()
          .filter((op) => op.name.startsWith('gradients/'))
          .map((op) => op.type),
      );
      assert.ok(kinds.has('UnsortedSegmentSum'), 'ResourceGather gradient (UnsortedSegmentSum) used');
      if (name === 'text_embedding_v1') assert.ok(kinds.has('SparseSegmentSqrtNGrad'), 'SparseSegmentSqrtN gradient used');
      const opt = new GradientDescentOptimizer(c.learning_rate);
      const train = opt.minimize(loss);
      const s = new Session(g);
      try {
        s.runSync([g.globalVariablesInitializer(), g.tablesInitializer()]);
        const o = s.runSync(out);
        assert.deepEqual(o.shape, c.output.shape);
        assertClose(values(o), c.output.values as number[], { rtol: 1e-5, atol: 1e-6 }, 'embedding');
        const gt = s.runSync(grad);
        assert.deepEqual(gt.shape, c.gradient.shape);
        assertClose(values(gt), c.gradient.values as number[], { rtol: 1e-5, atol: 1e-5 }, `d loss / d ${c.variable}`);
        const losses = [values(s.runSync(loss))[0]];
        for (let i = 1; i < c.sgd_losses.length; i++) {
          s.runSync(train);
          losses.push(values(s.runSync(loss))[0]);
        }
        assertClose(losses, c.sgd_losses, { rtol: 1e-5, atol: 1e-6 }, 'losses over the SGD steps');
        for (let i = 1; i < losses.length; i++) assert.ok(losses[i] < losses[i - 1], `loss decreases: ${losses.join(' → ')}`);
      } finally {
        s.close();
        g.dispose();
      }
    });
  }
});
