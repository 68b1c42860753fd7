'use strict';
// Builds the benchmark MLP with tfhub-node and writes it as a GraphDef; C, Python and Node all import this
// exact file. Weights are Consts from a seeded PRNG, so there is nothing to initialise.
//
//   x: Placeholder float32 [-1, 256]
//   dense1 = BiasAdd(MatMul(x, w1), b1), relu1    256 -> 512
//   dense2 = BiasAdd(MatMul(relu1, w2), b2), relu2 512 -> 512
//   dense3 = BiasAdd(MatMul(relu2, w3), b3)        512 -> 10
//   logits = Identity(dense3)
//
// Usage: node bench/node/make_graph.js OUT.pb
const fs = require('node:fs');
const { Graph, Tensor } = require('../../dist/src');

const SIZES = [256, 512, 512, 10];

// mulberry32 + Box-Muller: deterministic normal samples.
function normals(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() || 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/** Weights [nIn, nOut] (row-major) and biases of each layer of an MLP with these sizes: He-scaled normals. */
function mlpWeights(sizes = SIZES, seed = 1234) {
  const next = normals(seed);
  const layers = [];
  for (let i = 1; i < sizes.length; i++) {
    const nIn = sizes[i - 1];
    const nOut = sizes[i];
    const w = Float32Array.from({ length: nIn * nOut }, () => next() * Math.sqrt(2 / nIn));
    const b = Float32Array.from({ length: nOut }, () => next() * 0.01);
    layers.push({ nIn, nOut, w, b });
  }
  return layers;
}

function buildMlp() {
  const g = new Graph();
  let h = g.placeholder('float32', [-1, SIZES[0]], 'x');
  const layers = mlpWeights();
  for (let i = 1; i < SIZES.length; i++) {
    const { nIn, nOut, w, b } = layers[i - 1];
    const wc = g.constant(new Tensor('float32', [nIn, nOut], w), `w${i}`);
    const bc = g.constant(new Tensor('float32', [nOut], b), `b${i}`);
    const mm = g.addOperation('MatMul', { name: `matmul${i}`, inputs: [h, wc] }).output(0);
    h = g.addOperation('BiasAdd', { name: `dense${i}`, inputs: [mm, bc] }).output(0);
    if (i < SIZES.length - 1) h = g.addOperation('Relu', { name: `relu${i}`, inputs: [h] }).output(0);
  }
  g.addOperation('Identity', { name: 'logits', inputs: [h] });
  return g;
}

if (require.main === module) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node bench/node/make_graph.js OUT.pb');
  const g = buildMlp();
  const bytes = g.toGraphDef();
  fs.writeFileSync(out, bytes);
  process.stderr.write(`wrote ${out}: ${bytes.length} bytes, ${g.operations().length} ops\n`);
}

module.exports = { buildMlp, mlpWeights, SIZES };
