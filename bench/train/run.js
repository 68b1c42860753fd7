'use strict';
// Training benchmark: steps/s of fine-tuning the TF1 Hub module test/fixtures/mlp_v1 (trainable, batch 32, Adam
// lr 0.001, loss on the `default` logits) in tfhub-node (bench/train/node_train.js) and in Python tf.compat.v1
// Session on the same graph (bench/train/py_train.py), in the same run.
//
//   npx tsc -p tsconfig.json && node bench/train/run.js
//
// Each implementation is its own process, run one at a time (they never compete for cores), in BENCH_TRAIN_ROUNDS
// rounds (default 2): node, python, node, python, so slow drifts in machine load hit both. Inside a process the
// variants take turns in short slices (see node_train.js). Per variant, over all rounds: steps/s = steps / time;
// median µs = median of the per-slice median step latencies; CPU µs/step = process CPU time (all threads) / steps.
// Every step is one session run fetching the loss and running the training op.
//
// Same computation: both report the loss before any step and the loss fetched by the 10th step from a fresh
// start (same fixed inputs from the same PRNG); run.js checks they agree (1e-5 relative, 1e-4 after 10 steps).
//
// Env: BENCH_TRAIN_S (seconds per variant per round, default 3), BENCH_TRAIN_WARMUP_S (0.5),
// BENCH_TRAIN_SLICES (6), BENCH_TRAIN_ROUNDS (2), BENCH_TRAIN_LOSS (xent | mse), PYTHON (python3).
// Writes bench/out/train_results.json and bench/out/train_results.md and prints the table.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const OUT = path.join(__dirname, '..', 'out');
const ROOT = path.resolve(__dirname, '..', '..');
const ROUNDS = Math.max(1, Number(process.env.BENCH_TRAIN_ROUNDS ?? 2));
const PYTHON = process.env.PYTHON || 'python3';
const ENV = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
const LABELS = {
  'node/run': 'await session.run(loss, feeds, {targets: [step]})',
  'node/sync': 'session.runSync(loss, feeds, {targets: [step]})',
  'node/inline': 'await session.run(..., {targets: [step], inline: true})',
  'python/run': 'sess.run([loss, train_op], feed_dict)',
  'python/callable': 'sess.make_callable([loss, train_op], [x, labels])',
  'python/run.inline': 'sess.run(..., options=RunOptions(inter_op_thread_pool=-1))',
};
const NOISE = /^(I0000|W0000|WARNING: All log messages|To enable the following instructions|\s*$)/;
const log = (s) => process.stderr.write(s + '\n');

function runChild(impl, cmd, args) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, env: ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
  const stderr = (r.stderr || '')
    .split('\n')
    .filter((l) => !NOISE.test(l))
    .join('\n');
  if (r.error || r.status !== 0) {
    return { impl, error: (r.error ? String(r.error) : `exit ${r.status}`) + (stderr ? `\n${stderr.slice(-2000)}` : '') };
  }
  const line = (r.stdout || '').trim().split('\n').pop();
  try {
    const res = JSON.parse(line);
    res.wall_s = (Date.now() - t0) / 1000;
    return res;
  } catch {
    return { impl, error: `no JSON on stdout: ${String(line).slice(0, 500)}` };
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const close = (a, b, rtol) => Math.abs(a - b) <= rtol * Math.max(1, Math.abs(b));

function pythonStatus() {
  const r = spawnSync(PYTHON, ['-c', 'import tensorflow as tf; print(tf.__version__)'], { env: ENV, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error
      ? String(r.error)
      : (r.stderr || '')
          .split('\n')
          .filter((l) => l && !NOISE.test(l))
          .slice(-3)
          .join(' | ');
    return { ok: false, why: `${PYTHON}: tensorflow not importable (${why})` };
  }
  return { ok: true, version: r.stdout.trim().split('\n').pop() };
}

function aggregate(results) {
  const rows = [];
  for (const impl of ['node', 'python']) {
    const runs = results.filter((r) => r.impl === impl && !r.error);
    if (runs.length === 0) continue;
    for (const v of Object.keys(runs[0].variants)) {
      const per = runs.map((r) => r.variants[v]);
      const steps = per.reduce((a, p) => a + p.steps, 0);
      const seconds = per.reduce((a, p) => a + p.seconds, 0);
      rows.push({
        impl,
        variant: v,
        label: LABELS[`${impl}/${v}`] ?? v,
        median_us: median(per.flatMap((p) => p.slice_median_us)),
        steps_per_s: steps / seconds,
        cpu_us_per_step: per.reduce((a, p) => a + p.cpu_us_per_step * p.steps, 0) / steps,
        steps,
        seconds,
        per_round_steps_per_s: per.map((p) => p.steps_per_s),
      });
    }
  }
  const base = rows.find((r) => r.impl === 'python' && r.variant === 'run');
  for (const r of rows) r.ratio_vs_python_run = base ? r.steps_per_s / base.steps_per_s : null;
  return rows;
}

function lossCheck(results) {
  const node = results.filter((r) => r.impl === 'node' && !r.error);
  const py = results.filter((r) => r.impl === 'python' && !r.error);
  if (node.length === 0 || py.length === 0) return null;
  const n = node[0];
  const p = py[0];
  const initialOk = [...node, ...py].every((r) => close(r.initial_loss, p.initial_loss, 1e-5));
  const checkOk = [...node, ...py].every((r) => close(r.loss_at_check, p.loss_at_check, 1e-4));
  return {
    node_initial_loss: n.initial_loss,
    python_initial_loss: p.initial_loss,
    initial_abs_diff: Math.abs(n.initial_loss - p.initial_loss),
    initial_ok: initialOk,
    check_steps: p.check_steps,
    node_loss_at_check: n.loss_at_check,
    python_loss_at_check: p.loss_at_check,
    check_abs_diff: Math.abs(n.loss_at_check - p.loss_at_check),
    check_ok: checkOk,
  };
}

const f = (x, d) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(d));

function markdown(doc) {
  const lines = [];
  lines.push('# Training benchmark: mlp_v1 fine-tune (batch 32, Adam), tfhub-node vs Python tf.compat.v1');
  lines.push('');
  lines.push(
    `${doc.date} · ${doc.cpus} CPUs (${doc.cpu_model}) · TensorFlow ${doc.tensorflow ?? '?'} · ${doc.node} · ` +
      `${doc.python.ok ? `Python TF ${doc.python.version}` : 'Python: not run'} · loss ${doc.loss_kind} · ` +
      `${doc.rounds} rounds × ${doc.train_s} s per variant · loadavg before ${doc.loadavg_before.map((x) => x.toFixed(2)).join(' ')}, ` +
      `after ${doc.loadavg_after.map((x) => x.toFixed(2)).join(' ')}`,
  );
  lines.push('');
  lines.push(
    'One step = one session run fetching the loss and running the Adam training op. ' +
      'Ratio = steps/s ÷ Python `sess.run` steps/s (> 1: faster than Python).',
  );
  lines.push('');
  lines.push('| impl | variant | median step µs | steps/s | CPU µs/step | ratio Node/Python |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of doc.rows) {
    lines.push(
      `| ${r.impl} | ${r.variant}: \`${r.label}\` | ${f(r.median_us, 1)} | ${f(r.steps_per_s, 0)} | ${f(r.cpu_us_per_step, 1)} | ${f(r.ratio_vs_python_run, 2)} |`,
    );
  }
  lines.push('');
  const ni = doc.rows.find((r) => r.impl === 'node' && r.variant === 'inline');
  const pi = doc.rows.find((r) => r.impl === 'python' && r.variant === 'run.inline');
  if (ni && pi) lines.push(`Both on the calling thread (node inline ÷ python run.inline): ${f(ni.steps_per_s / pi.steps_per_s, 2)}.`);
  if (doc.loss_check) {
    const c = doc.loss_check;
    lines.push(
      `Same computation: initial loss node ${c.node_initial_loss} / python ${c.python_initial_loss} ` +
        `(|Δ| ${c.initial_abs_diff.toExponential(1)}, ${c.initial_ok ? 'OK' : 'MISMATCH'}); loss at step ${c.check_steps} ` +
        `node ${c.node_loss_at_check} / python ${c.python_loss_at_check} (|Δ| ${c.check_abs_diff.toExponential(1)}, ${c.check_ok ? 'OK' : 'MISMATCH'}).`,
    );
  }
  if (!doc.python.ok) lines.push(`Python not measured: ${doc.python.why}`);
  for (const e of doc.errors) lines.push(`Error (${e.impl}): ${e.error.split('\n')[0]}`);
  lines.push('');
  return lines.join('\n');
}

function main() {
  const loadBefore = os.loadavg();
  const py = pythonStatus();
  if (!py.ok) log(`python skipped: ${py.why}`);
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    log(`round ${round + 1}/${ROUNDS}: node`);
    results.push({ round, ...runChild('node', process.execPath, [path.join(__dirname, 'node_train.js')]) });
    if (py.ok) {
      log(`round ${round + 1}/${ROUNDS}: python`);
      results.push({ round, ...runChild('python', PYTHON, [path.join(__dirname, 'py_train.py')]) });
    }
  }
  const errors = results.filter((r) => r.error).map((r) => ({ impl: r.impl, round: r.round, error: r.error }));
  for (const e of errors) log(`error (${e.impl}, round ${e.round + 1}): ${e.error}`);
  const ok = results.filter((r) => !r.error);
  const doc = {
    bench: 'mlp_v1 fine-tune (hub.Module trainable, tags []), batch 32, Adam lr 0.001, one session run per step',
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? '?',
    node: `node ${process.version}`,
    tensorflow: ok[0]?.tensorflow ?? null,
    python: py,
    loss_kind: ok[0]?.loss_kind ?? process.env.BENCH_TRAIN_LOSS ?? 'xent',
    rounds: ROUNDS,
    train_s: ok[0]?.train_s ?? Number(process.env.BENCH_TRAIN_S ?? 3),
    loadavg_before: loadBefore,
    loadavg_after: os.loadavg(),
    rows: aggregate(results),
    loss_check: lossCheck(results),
    errors,
    raw: results,
  };
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'train_results.json'), JSON.stringify(doc, null, 1) + '\n');
  const md = markdown(doc);
  fs.writeFileSync(path.join(OUT, 'train_results.md'), md);
  process.stdout.write(md);
  if (errors.length > 0 || (doc.loss_check && !(doc.loss_check.initial_ok && doc.loss_check.check_ok))) process.exitCode = 1;
}

main();
