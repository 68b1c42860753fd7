'use strict';
// Training through a loop: steps/s of the recurrent fixture test/fixtures/cf_rnn_tf2 (LSTM-style tf.while_loop over
// a padded sequence, 20-step Adam oracle in test/fixtures/control_flow_grads.json) in tfhub-node
// (bench/train/rnn_node.js: KerasLayer + graph gradients through While) and Python TF2 on the same SavedModel
// (bench/train/rnn_py.py: tf.saved_model.load + tf.function(GradientTape + Adam)), in the same run.
//
//   npx tsc -p tsconfig.json && node bench/train/rnn_run.js
//
// Each implementation is its own process; processes alternate (node, python, node, python, …) for
// BENCH_RNN_ROUNDS rounds (default 3), each timing BENCH_RNN_S seconds (default 3) in BENCH_RNN_SLICES slices (6)
// after BENCH_RNN_WARMUP_S (0.5). Reported per implementation: pooled steps/s (all steps / all time), the min–max
// of the slice rates, CPU µs per step, and node/python. Both check their loss at step 1 and step 10 against the
// Python oracle (1e-4). Writes bench/out/train_rnn_results.json and .md and prints the table.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const OUT = path.join(__dirname, '..', 'out');
const ROOT = path.resolve(__dirname, '..', '..');
const ROUNDS = Math.max(1, Number(process.env.BENCH_RNN_ROUNDS ?? 3));
const SECONDS = Number(process.env.BENCH_RNN_S ?? 3);
const SLICES = Math.max(1, Number(process.env.BENCH_RNN_SLICES ?? 6));
const WARMUP = Number(process.env.BENCH_RNN_WARMUP_S ?? 0.5);
const PYTHON = process.env.PYTHON || 'python3';
const ENV = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
const NOISE = /^(I0000|W0000|WARNING: All log messages|To enable the following instructions|\s*$)/;

function runChild(impl, cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, env: ENV, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error || r.status !== 0) {
    const stderr = (r.stderr || '')
      .split('\n')
      .filter((l) => !NOISE.test(l))
      .join('\n');
    return { impl, error: (r.error ? String(r.error) : `exit ${r.status}`) + (stderr ? `\n${stderr.slice(-2000)}` : '') };
  }
  try {
    return JSON.parse((r.stdout || '').trim().split('\n').pop());
  } catch {
    return { impl, error: 'no JSON on stdout' };
  }
}

const args = [String(SECONDS), String(SLICES), String(WARMUP)];
const results = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['node', 'python'] : ['python', 'node'];
  for (const impl of order) {
    const r =
      impl === 'node'
        ? runChild('node', process.execPath, [path.join(__dirname, 'rnn_node.js'), ...args])
        : runChild('python', PYTHON, [path.join(__dirname, 'rnn_py.py'), ...args]);
    if (r.error) process.stderr.write(`${impl} round ${round}: ${r.error}\n`);
    results.push(r);
  }
}

const rows = {};
for (const impl of ['node', 'python']) {
  const runs = results.filter((r) => r.impl === impl && !r.error);
  if (runs.length === 0) continue;
  const steps = runs.reduce((a, r) => a + r.steps, 0);
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  const slices = runs.flatMap((r) => r.slice_steps_per_s);
  const lossOk = runs.every(
    (r) => Math.abs(r.initial_loss - r.expected_initial_loss) <= 1e-4 && Math.abs(r.loss_at_check - r.expected_loss_at_check) <= 1e-4,
  );
  rows[impl] = {
    steps_per_s: steps / seconds,
    slice_min: Math.min(...slices),
    slice_max: Math.max(...slices),
    cpu_us_per_step: runs.reduce((a, r) => a + r.cpu_us_per_step * r.steps, 0) / steps,
    steps,
    seconds,
    rounds: runs.length,
    loss_ok: lossOk,
  };
}
const ratio = rows.node && rows.python ? rows.node.steps_per_s / rows.python.steps_per_s : null;
const fmt = (v, d = 1) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));
const lines = [
  `cf_rnn_tf2 training (LSTM-style While, Adam): ${ROUNDS} rounds × ${SECONDS} s per implementation, ${SLICES} slices each`,
  '',
  '| implementation | steps/s (pooled) | slice min–max | CPU µs/step | losses match the oracle |',
  '|---|---:|---:|---:|---|',
  ...['node', 'python']
    .filter((i) => rows[i])
    .map(
      (i) =>
        `| ${i === 'node' ? 'tfhub-node (KerasLayer + addGradients through While)' : 'Python TF2 (tf.function + GradientTape)'} | ${fmt(rows[i].steps_per_s)} | ${fmt(rows[i].slice_min)}–${fmt(rows[i].slice_max)} | ${fmt(rows[i].cpu_us_per_step, 0)} | ${rows[i].loss_ok ? 'yes' : 'NO'} |`,
    ),
  '',
  `node / python (pooled steps/s): ${fmt(ratio, 2)}`,
];
fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(
  path.join(OUT, 'train_rnn_results.json'),
  JSON.stringify({ rounds: ROUNDS, seconds: SECONDS, slices: SLICES, rows, ratio, results }, null, 1),
);
fs.writeFileSync(path.join(OUT, 'train_rnn_results.md'), lines.join('\n') + '\n');
console.log(lines.join('\n'));
if (Object.values(rows).some((r) => !r.loss_ok) || results.some((r) => r.error)) process.exitCode = 1;
