'use strict';
// Writes the serving benchmark's models into bench/out/serve/models (once; BENCH_REBUILD=1 redoes it): the MLP
// 512→1024→256 weights from the PRNG of bench/node/make_graph.js, then bench/serve/make_models.py builds the
// TF SavedModel and the ONNX twin from those arrays (and the CNN's twin) and checks they agree.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { mlpWeights } = require('../node/make_graph.js');

const SIZES = [512, 1024, 256];

function makeModels(dir, python = process.env.PYTHON || 'python3') {
  const info = path.join(dir, 'models.json');
  if (fs.existsSync(info) && !process.env.BENCH_REBUILD) return JSON.parse(fs.readFileSync(info, 'utf8'));
  const wdir = path.join(dir, 'mlp_weights');
  fs.mkdirSync(wdir, { recursive: true });
  mlpWeights(SIZES, 1234).forEach(({ w, b }, i) => {
    fs.writeFileSync(path.join(wdir, `w${i + 1}.bin`), Buffer.from(w.buffer));
    fs.writeFileSync(path.join(wdir, `b${i + 1}.bin`), Buffer.from(b.buffer));
  });
  const r = spawnSync(python, [path.join(__dirname, 'make_models.py'), dir], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make_models.py failed (${r.status})`);
  return JSON.parse(fs.readFileSync(info, 'utf8'));
}

module.exports = { makeModels, SIZES };

if (require.main === module) console.log(JSON.stringify(makeModels(path.join(__dirname, '..', 'out', 'serve', 'models')), null, 1));
