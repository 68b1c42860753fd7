'use strict';
// Node half of the hub benchmark: module load times and signature latency / throughput (see bench/hub/run.js).
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const { Graph, Session, Tensor, hub } = require(path.join(root, 'dist', 'src', 'index.js'));
const cases = require('./cases.json');

const words = ['the', 'cat', 'sat', 'on', 'mat', 'dog', 'big', 'red', 'quick', 'brown', 'fox'];
function inputFor(c, batch) {
  if (c.kind === 'vector')
    return new Tensor(
      'float32',
      [batch],
      Float32Array.from({ length: batch }, (_, i) => i % 7),
    );
  if (c.kind === 'matrix')
    return new Tensor(
      'float32',
      [batch, c.width],
      Float32Array.from({ length: batch * c.width }, (_, i) => (i % 13) / 13),
    );
  if (c.kind === 'sentences')
    return new Tensor(
      'string',
      [batch],
      Array.from({ length: batch }, (_, i) => `${words[i % 11]} ${words[(i * 3) % 11]} ${words[(i * 7) % 11]}!`),
    );
  return new Tensor(
    'string',
    [batch],
    Array.from({ length: batch }, (_, i) => words[i % 11]),
  );
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function timed(fn, concurrency, sliceS) {
  const lat = [];
  let done = 0;
  const end = performance.now() + sliceS * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await fn();
      lat.push((performance.now() - t0) * 1000);
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { median_us: median(lat), runs_per_s: done / ((performance.now() - t0) / 1000), runs: done };
}

async function tf1(c) {
  const loads = [];
  let fn;
  for (let i = 0; i < cases.loads; i++) {
    if (fn) fn.close();
    const t0 = performance.now();
    const spec = await hub.loadModuleSpec(path.join(root, c.dir));
    const g = new Graph();
    const m = new hub.Module(spec, { graph: g });
    const ph =
      c.kind === 'matrix'
        ? g.placeholder('float32', [-1, c.width], 'x')
        : g.placeholder(c.kind === 'vector' ? 'float32' : 'string', [-1], 'x');
    const out = m.call(ph);
    const s = new Session(g);
    await s.run([g.globalVariablesInitializer(), g.tablesInitializer()]);
    loads.push(performance.now() - t0);
    fn = {
      close: () => {
        s.close();
        g.dispose();
      },
      s,
      ph,
      out,
    };
  }
  const result = { load_ms_first: loads[0], load_ms_median: median(loads.slice(1)), batches: {} };
  for (const b of cases.tf1_batches) {
    const x = inputFor(c, b);
    const feeds = new Map([[fn.ph, x]]);
    await fn.s.run(fn.out, feeds);
    result.batches[b] = await timed(() => fn.s.run(fn.out, feeds), 1, cases.slice_s);
    // the same session with `inline: true` per run (ops on the calling worker thread)
    result.batches[`${b} inline`] = await timed(() => fn.s.run(fn.out, feeds, { inline: true }), 1, cases.slice_s);
  }
  fn.close();
  return result;
}

async function tf2(c) {
  const loads = [];
  let model;
  for (let i = 0; i < cases.loads; i++) {
    if (model) model.close();
    const t0 = performance.now();
    model = await hub.load(path.join(root, c.dir)); // sessions run inline by default
    loads.push(performance.now() - t0);
  }
  const sig = model.signatures[c.signature];
  const result = { load_ms_first: loads[0], load_ms_median: median(loads.slice(1)), batches: {} };
  for (const b of cases.tf2_batches) {
    const n = b * c.shape.reduce((a, d) => a * d, 1);
    const x = new Tensor(
      'float32',
      [b, ...c.shape],
      Float32Array.from({ length: n }, (_, i) => (i % 17) / 17),
    );
    await sig({ [c.input]: x });
    for (const conc of cases.tf2_concurrency)
      result.batches[`${b}x${conc}`] = await timed(() => sig({ [c.input]: x }), conc, cases.slice_s);
  }
  model.close();
  return result;
}

(async () => {
  const out = { impl: 'node', tf1: {}, tf2: {} };
  for (const c of cases.tf1) out.tf1[c.name] = await tf1(c);
  for (const c of cases.tf2) out.tf2[c.name] = await tf2(c);
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
