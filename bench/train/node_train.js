'use strict';
// Node half of the training benchmark (see bench/train/run.js): fine-tunes the TF1 Hub module
// test/fixtures/mlp_v1 (hub.Module with trainable: true, batch 32, tf.compat.v1-style Adam, lr 0.001) and times
// one training step per session run, fetching the loss:
//   run     await session.run(loss, feeds, {targets: [step]})
//   sync    session.runSync(loss, feeds, {targets: [step]})
//   inline  await session.run(loss, feeds, {targets: [step], inline: true})   (ops on the calling worker thread)
// The variants take turns in short slices (BENCH_TRAIN_SLICES, default 6, order rotating per slice) so that load
// drift hits them alike; each gets BENCH_TRAIN_S seconds (default 3) in all, after BENCH_TRAIN_WARMUP_S (0.5) of
// unrecorded steps. Prints one JSON line on stdout.
//
// Loss (BENCH_TRAIN_LOSS): 'xent' (default; the module's `default` output is [?, 10] logits, "ten classes":
// mean(SparseSoftmaxCrossEntropyWithLogits(logits, labels)), int32 labels) or 'mse' (mean(square(logits - target))).
// Inputs come from a fixed PRNG (mulberry32; bench/train/py_train.py computes the same numbers).
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const { Graph, Session, Tensor, hub, train, tensorflowVersion } = require('../../dist/src');

const BATCH = 32;
const CHECK_STEPS = 10;
const TRAIN_S = Number(process.env.BENCH_TRAIN_S ?? 3);
const WARMUP_S = Number(process.env.BENCH_TRAIN_WARMUP_S ?? 0.5);
const SLICES = Math.max(1, Number(process.env.BENCH_TRAIN_SLICES ?? 6));
const LOSS = process.env.BENCH_TRAIN_LOSS ?? 'xent';

/** Deterministic uniform [0, 1) values (mulberry32), as float64 numbers. */
function uniform(n, seed) {
  const out = new Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

const median = (xs) => {
  if (xs.length === 0) return null;
  const s = Float64Array.from(xs).sort();
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function scalarOf(t) {
  const v = t.data()[0];
  t.dispose();
  return v;
}

async function main() {
  if (LOSS !== 'xent' && LOSS !== 'mse') throw new Error(`BENCH_TRAIN_LOSS must be xent or mse, got ${LOSS}`);
  const g = new Graph();
  const m = await hub.Module.load(path.join(ROOT, 'test', 'fixtures', 'mlp_v1'), { graph: g, trainable: true });
  const inInfo = m.getInputInfoDict();
  const outInfo = m.getOutputInfoDict();
  const width = inInfo.default.shape[1];
  const classes = outInfo.default.shape[1];
  if (!(width > 0) || !(classes > 0)) throw new Error(`unexpected signature shapes: ${JSON.stringify({ inInfo, outInfo })}`);

  const x = g.placeholder('float32', [BATCH, width], 'x');
  const logits = m.call(x);
  let labels;
  let perExample;
  if (LOSS === 'xent') {
    labels = g.placeholder('int32', [BATCH], 'labels');
    perExample = g.addOperation('SparseSoftmaxCrossEntropyWithLogits', { name: 'xent', inputs: [logits, labels] }).output(0);
  } else {
    labels = g.placeholder('float32', [BATCH, classes], 'labels');
    const d = g.addOperation('Sub', { inputs: [logits, labels] }).output(0);
    perExample = g.addOperation('Square', { inputs: [d] }).output(0);
  }
  const axes = g.constant(new Tensor('int32', [LOSS === 'xent' ? 1 : 2], LOSS === 'xent' ? [0] : [0, 1]), 'loss_axes');
  const loss = g.addOperation('Mean', { name: 'loss', inputs: [perExample, axes] }).output(0);
  const opt = new train.AdamOptimizer({ learningRate: 0.001 });
  const step = opt.minimize(loss);
  const init = g.globalVariablesInitializer();

  const xt = new Tensor('float32', [BATCH, width], Float32Array.from(uniform(BATCH * width, 1)));
  const yt =
    LOSS === 'xent'
      ? new Tensor(
          'int32',
          [BATCH],
          Int32Array.from(uniform(BATCH, 2), (u) => Math.floor(u * classes)),
        )
      : new Tensor('float32', [BATCH, classes], Float32Array.from(uniform(BATCH * classes, 2)));
  const feeds = new Map([
    [x, xt],
    [labels, yt],
  ]);
  const opts = { targets: [step] };
  const inlineOpts = { targets: [step], inline: true };

  const s = new Session(g);
  s.runSync(init);
  // The same computation as Python: the loss before any step, and the loss fetched by step CHECK_STEPS (i.e. after
  // CHECK_STEPS - 1 Adam updates), from a fresh initialization.
  const initialLoss = scalarOf(s.runSync(loss, feeds));
  let lossAtCheck = NaN;
  for (let i = 0; i < CHECK_STEPS; i++) lossAtCheck = scalarOf(s.runSync(loss, feeds, opts));

  const variants = {
    run: () => s.run(loss, feeds, opts),
    sync: () => s.runSync(loss, feeds, opts),
    inline: () => s.run(loss, feeds, inlineOpts),
  };
  const names = Object.keys(variants);
  const acc = Object.fromEntries(names.map((n) => [n, { lat: [], steps: 0, ms: 0, cpuUs: 0, sliceMedians: [] }]));

  // Warm-up: every variant in turn, unrecorded.
  const warmEnd = performance.now() + WARMUP_S * 1000;
  while (performance.now() < warmEnd) for (const n of names) (await variants[n]()).dispose();

  const sliceMs = (TRAIN_S * 1000) / SLICES;
  for (let k = 0; k < SLICES; k++) {
    for (let j = 0; j < names.length; j++) {
      const n = names[(j + k) % names.length];
      const fn = variants[n];
      const a = acc[n];
      const lat = [];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const end = t0 + sliceMs;
      let t = t0;
      while (t < end) {
        (await fn()).dispose();
        const t1 = performance.now();
        lat.push((t1 - t) * 1000);
        t = t1;
      }
      const cpu = process.cpuUsage(cpu0);
      a.ms += t - t0;
      a.steps += lat.length;
      a.cpuUs += cpu.user + cpu.system;
      a.sliceMedians.push(median(lat));
      for (const v of lat) a.lat.push(v);
    }
  }
  const finalLoss = scalarOf(s.runSync(loss, feeds));
  s.close();
  g.dispose();

  const out = {
    impl: 'node',
    tensorflow: tensorflowVersion(),
    runtime: `node ${process.version}`,
    loss_kind: LOSS,
    batch: BATCH,
    input_width: width,
    classes,
    initial_loss: initialLoss,
    check_steps: CHECK_STEPS,
    loss_at_check: lossAtCheck,
    final_loss: finalLoss,
    train_s: TRAIN_S,
    slices: SLICES,
    variants: {},
  };
  for (const n of names) {
    const a = acc[n];
    out.variants[n] = {
      median_us: median(a.lat),
      steps_per_s: a.steps / (a.ms / 1000),
      cpu_us_per_step: a.cpuUs / a.steps,
      steps: a.steps,
      seconds: a.ms / 1000,
      slice_median_us: a.sliceMedians,
    };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
