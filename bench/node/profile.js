'use strict';
// Where Node's per-run overhead goes at batch 1. Everything runs in ONE process, interleaved in short bursts
// (so load from other processes hits every variant alike), against the in-process floor: bench/node/probe.c,
// a minimal C N-API addon that calls TF_SessionRun on the same libtensorflow with no tfhub-node code.
//
//   node bench/node/profile.js [ROUNDS=10] [BURST_MS=200]      (after `npm run bench` built bench/out/)
//   PROFILE_ONLY=session.async node --perf-basic-prof bench/node/profile.js 1 5000   (one variant, for perf)
//   PROFILE_CALLER_THREAD=1 ...   every run (probe and tfhub-node) with RunOptions.inter_op_thread_pool = -1
//
// Variants (batch 1, one run at a time, same graph, own session each, default ConfigProto):
//   c.loop          TF_SessionRun back to back inside C (probe.loop): the floor in this process
//   probe.sync      one TF_SessionRun per JS call, no arguments (probe.once): + the bare N-API call
//   addon.sync      session.native.runSync with prebuilt arrays: + argument unpacking, output Tensor wrap, dispose
//   addon.sync.idx  the same with two fresh Int32Arrays per run, as Session.plan makes them
//   session.sync    session.runSync(logits, feeds): + JS plan() and result build
//   probe.async     napi_async_work (libuv pool) + promise: the stock N-API async path
//   addon.async     session.native.run with prebuilt arrays: + the addon's executor thread and TSFN completion
//   probe.worker   TF_SessionRun on the probe's persistent worker (condvar wake) + threadsafe-function completion:
//                  the addon's executor design in ~70 lines of C; timestamps split the hand-off into parts
//   probe.spin     the same with a worker that polls for 200 µs before sleeping
//   addon.async.plan  Session.plan + native.run + build by hand (session.run minus its async-function wrapper)
//   session.async   session.run(logits, feeds): + JS plan() and result build (the number compared with C)
//   session.names   session.run('logits:0', {'x:0': t}): + name resolution
// Then batch-256 throughput in the same process: C pthreads (probe.loopThreads) vs session.run with 1 and 2 in
// flight, interleaved; and micro-benchmarks of the JS-side pieces.
const fs = require('node:fs');
const path = require('node:path');
const { Graph, Session, Tensor } = require('../../dist/src');
const { binding } = require('../../dist/src/native');
const { tensorflow } = require('../../dist/src/proto');

const OUT = path.join(__dirname, '..', 'out');
const ROUNDS = Number(process.argv[2] ?? 10);
const BURST_MS = Number(process.argv[3] ?? 200);
const FEATURES = 256;
const now = () => Number(process.hrtime.bigint()) / 1e3;

binding(); // libtensorflow loaded by tfhub-node first; the probe then shares the same library instance
if (!fs.existsSync(path.join(OUT, 'probe.node'))) {
  console.error('bench/out/probe.node is missing: run `BENCH_PROFILE=1 npm run bench` (or node bench/run.js) once to build it');
  process.exit(1);
}
const probe = require(path.join(OUT, 'probe.node'));
const graphDef = fs.readFileSync(path.join(OUT, 'mlp.pb'));
// RunOptions.inter_op_thread_pool = -1: TF runs the graph's ops on the calling thread (no inter-op pool hand-off).
const runOptions = process.env.PROFILE_CALLER_THREAD ? tensorflow.RunOptions.encode({ interOpThreadPool: -1 }).finish() : null;
probe.load(graphDef, runOptions ?? undefined);

const graph = new Graph();
graph.importGraphDef(graphDef);
const session = new Session(graph);
const x = graph.output('x:0');
const logits = graph.output('logits:0');
const data = new Float32Array(FEATURES).map((_, i) => ((i * 37) % 101) / 101 - 0.5);
const input = new Tensor('float32', [1, FEATURES], data);
const feeds = new Map([[x, input]]);
const names = { 'x:0': input };
const nat = { ops: [x.op.native], idx: Int32Array.of(0), vals: [input.native], fops: [logits.op.native], fidx: Int32Array.of(0) };

const ro = runOptions ? { runOptions } : {};
const variants = {
  'c.loop': { kind: 'c' },
  'probe.sync': { kind: 'sync', fn: () => probe.once(1) },
  'addon.sync': {
    kind: 'sync',
    fn: () => session.native.runSync(nat.ops, nat.idx, nat.vals, nat.fops, nat.fidx, [], runOptions)[0].dispose(),
  },
  'addon.sync.idx': {
    kind: 'sync',
    fn: () => session.native.runSync(nat.ops, Int32Array.of(0), nat.vals, nat.fops, Int32Array.of(0), [], runOptions)[0].dispose(),
  },
  'session.sync': { kind: 'sync', fn: () => session.runSync(logits, feeds, ro).dispose() },
  'probe.async': { kind: 'async', fn: () => probe.onceAsync(1) },
  'addon.async': {
    kind: 'async',
    fn: async () => (await session.native.run(nat.ops, nat.idx, nat.vals, nat.fops, nat.fidx, [], runOptions))[0].dispose(),
  },
  'addon.async.plan': {
    kind: 'async',
    fn: async () => {
      const p = session.plan(logits, feeds, ro);
      const v = await session.native.run(p.feedOps, p.feedIndices, p.feedTensors, p.fetchOps, p.fetchIndices, p.targets, p.runOptions);
      p.build(v).dispose();
    },
  },
  'probe.worker': { kind: 'timed', fn: () => probe.timedAsync(1, 0) },
  'probe.spin': { kind: 'timed', fn: () => probe.timedAsync(1, 200) },
  'session.async': { kind: 'async', fn: async () => (await session.run(logits, feeds, ro)).dispose() },
  'session.names': { kind: 'async', fn: async () => (await session.run('logits:0', names, ro)).dispose() },
};

const parts = { 'probe.worker': [[], [], [], []], 'probe.spin': [[], [], [], []] };
async function burst(v, ms, lat, name) {
  const end = now() + ms * 1e3;
  if (v.kind === 'c') {
    // ~ms worth of runs in one C loop (estimate from the previous burst).
    const n = Math.max(50, Math.round((ms * 1e3) / (v.est ?? 60)));
    const l = probe.loop(1, n);
    for (const t of l) lat.push(t);
    v.est = l.reduce((a, b) => a + b, 0) / n;
    return n;
  }
  let n = 0;
  let t0 = now();
  let t1;
  do {
    if (v.kind === 'sync') v.fn();
    else if (v.kind === 'timed') {
      const t = await v.fn();
      const back = now();
      if (name) {
        const p = parts[name];
        p[0].push(t[1] - t[0]);
        p[1].push(t[2] - t[1]);
        p[2].push(t[3] - t[2]);
        p[3].push(back - t[3]);
      }
    } else await v.fn();
    t1 = now();
    lat.push(t1 - t0);
    t0 = t1;
    n++;
  } while (t1 < end);
  return n;
}

function micro(label, fn, iters = 200000) {
  for (let i = 0; i < 10000; i++) fn();
  const t0 = now();
  for (let i = 0; i < iters; i++) fn();
  return [label, (now() - t0) / iters];
}

async function microAsync(label, fn, iters = 200000) {
  for (let i = 0; i < 10000; i++) await fn();
  const t0 = now();
  for (let i = 0; i < iters; i++) await fn();
  return [label, (now() - t0) / iters];
}

async function main() {
  if (process.env.PROFILE_ONLY) {
    // One variant alone for ROUNDS x BURST_MS (for perf record / --cpu-prof), no report.
    const v = variants[process.env.PROFILE_ONLY];
    const lat = [];
    await burst(v, ROUNDS * BURST_MS, lat);
    const s = Float64Array.from(lat).sort();
    console.log(`${process.env.PROFILE_ONLY}: n=${lat.length} median=${s[s.length >> 1].toFixed(1)} µs`);
    session.close();
    return;
  }
  const stats = Object.fromEntries(Object.keys(variants).map((k) => [k, { lat: [], cpu: 0, n: 0 }]));
  for (const v of Object.values(variants)) await burst(v, 300, []); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, v] of Object.entries(variants)) {
      const c0 = process.cpuUsage();
      const n = await burst(v, BURST_MS, stats[k].lat, k);
      const d = process.cpuUsage(c0);
      stats[k].cpu += d.user + d.system;
      stats[k].n += n;
    }
  }
  const q = (arr, p) => {
    const s = Float64Array.from(arr).sort();
    return s[Math.round(p * (s.length - 1))];
  };
  const rows = Object.entries(stats).map(([k, s]) => ({
    variant: k,
    n: s.n,
    median_us: q(s.lat, 0.5),
    p10_us: q(s.lat, 0.1),
    p90_us: q(s.lat, 0.9),
    mean_us: s.lat.reduce((a, b) => a + b, 0) / s.lat.length,
    cpu_us_per_run: s.cpu / s.n,
  }));
  const by = Object.fromEntries(rows.map((r) => [r.variant, r]));
  const f = (v) => v.toFixed(1).padStart(8);
  console.log(
    `batch 1, ${ROUNDS} interleaved rounds x ${BURST_MS} ms per variant${runOptions ? ', RunOptions.inter_op_thread_pool = -1' : ''}\n`,
  );
  console.log('variant          median      p10      p90     mean  cpu/run        n   Δmedian vs c.loop');
  for (const r of rows) {
    console.log(
      `${r.variant.padEnd(14)} ${f(r.median_us)} ${f(r.p10_us)} ${f(r.p90_us)} ${f(r.mean_us)} ${f(r.cpu_us_per_run)} ${String(r.n).padStart(8)}   ${f(r.median_us - by['c.loop'].median_us)}`,
    );
  }
  const d = (a, b, key = 'median_us') => by[a][key] - by[b][key];
  // [label, variant, baseline]: each row is the difference of two variants, at the median and at p10.
  const partsTable = [
    ['bare N-API call (probe.sync - c.loop)', 'probe.sync', 'c.loop'],
    ['addon arg unpack + output wrap + dispose (addon.sync - probe.sync)', 'addon.sync', 'probe.sync'],
    ['  of which: 2 fresh Int32Arrays (addon.sync.idx - addon.sync)', 'addon.sync.idx', 'addon.sync'],
    ['JS plan/build, sync (session.sync - addon.sync)', 'session.sync', 'addon.sync'],
    ['executor thread + TSFN + promise (addon.async - addon.sync)', 'addon.async', 'addon.sync'],
    ['JS plan/build, async (session.async - addon.async)', 'session.async', 'addon.async'],
    ['  of which plan+build by hand (addon.async.plan - addon.async)', 'addon.async.plan', 'addon.async'],
    ['napi_async_work hand-off, for comparison (probe.async - probe.sync)', 'probe.async', 'probe.sync'],
    ['condvar worker + TSFN, C only (probe.worker - probe.sync)', 'probe.worker', 'probe.sync'],
    ['spinning worker + TSFN, C only (probe.spin - probe.sync)', 'probe.spin', 'probe.sync'],
    ['TOTAL session.async - c.loop', 'session.async', 'c.loop'],
    ['TOTAL session.sync - c.loop', 'session.sync', 'c.loop'],
  ].map(([label, a, b]) => [label, d(a, b), d(a, b, 'p10_us')]);
  console.log('\nbreakdown                                                            Δmedian µs   Δp10 µs');
  for (const [label, m, p] of partsTable) console.log(`${label.padEnd(68)} ${f(m)}  ${f(p)}`);

  console.log('\nhand-off parts, probe worker (median µs)       submit→worker  TF run  worker→JS callback  callback→await resumes');
  for (const [name, p] of Object.entries(parts)) {
    const m = p.map((xs) => q(xs, 0.5));
    console.log(`${name.padEnd(46)} ${f(m[0])}  ${f(m[1])}  ${f(m[2])}            ${f(m[3])}`);
  }
  const handoffParts = Object.fromEntries(
    Object.entries(parts).map(([name, p]) => [
      name,
      {
        submit_to_worker_us: q(p[0], 0.5),
        tf_run_us: q(p[1], 0.5),
        worker_to_js_us: q(p[2], 0.5),
        callback_to_await_us: q(p[3], 0.5),
      },
    ]),
  );

  // Batch 256 throughput in this process: C threads vs session.run with as many runs in flight.
  const input256 = [0, 1].map(
    () =>
      new Tensor(
        'float32',
        [256, FEATURES],
        new Float32Array(256 * FEATURES).map((_, i) => ((i * 37) % 101) / 101 - 0.5),
      ),
  );
  const tput = { 'c.threads1': [0, 0, 0], 'session.async1': [0, 0, 0], 'c.threads2': [0, 0, 0], 'session.async2': [0, 0, 0] };
  const N256 = 40;
  const cpuUs = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of Object.keys(tput)) {
      const conc = k.endsWith('2') ? 2 : 1;
      const c0 = cpuUs();
      let us;
      if (k.startsWith('c.')) us = probe.loopThreads(256, N256, conc);
      else {
        const t0 = now();
        await Promise.all(
          input256.slice(0, conc).map(async (inp) => {
            const fd = new Map([[x, inp]]);
            for (let i = 0; i < N256; i++) (await session.run(logits, fd, ro)).dispose();
          }),
        );
        us = now() - t0;
      }
      tput[k][0] += N256 * conc;
      tput[k][1] += us;
      tput[k][2] += cpuUs() - c0;
    }
  }
  const rate = (k) => tput[k][0] / (tput[k][1] / 1e6);
  console.log(`\nbatch 256 throughput in this process (${ROUNDS} interleaved rounds x ${N256} runs per loop)`);
  for (const k of Object.keys(tput)) console.log(`${k.padEnd(16)} ${f(rate(k))} runs/s  ${f(tput[k][2] / tput[k][0])} CPU µs/run`);
  console.log(
    `session.run / C: 1 in flight ${((100 * rate('session.async1')) / rate('c.threads1')).toFixed(1)}%, 2 in flight ${((100 * rate('session.async2')) / rate('c.threads2')).toFixed(1)}%`,
  );
  const throughput = Object.fromEntries(
    Object.keys(tput).map((k) => [k, { runs_per_s: rate(k), cpu_us_per_run: tput[k][2] / tput[k][0] }]),
  );

  // JS-only pieces, no TF run (µs per call).
  const nt = binding().Tensor;
  const micros = [
    micro('probe.noop() (empty N-API call)', () => probe.noop()),
    micro('session.plan(logits, Map feeds) (private)', () => session.plan(logits, feeds, {})),
    micro("session.plan('logits:0', {'x:0': t}) (private)", () => session.plan('logits:0', names, {})),
    micro(
      'Tensor.fromData([1,10]) + dispose (≈ output wrap + dispose)',
      () => nt.fromData(1, [1, 10], new Float32Array(10)).dispose(),
      100000,
    ),
    micro('new Tensor(native) (JS wrapper)', () => new Tensor(input.native)),
    await microAsync('await Promise.resolve() (microtask hop)', () => Promise.resolve()),
  ];
  console.log('\nmicro (no TF run)                                                     µs/call');
  for (const [label, us] of micros) console.log(`${label.padEnd(68)} ${f(us)}`);
  const result = {
    caller_thread: !!runOptions,
    rounds: ROUNDS,
    burst_ms: BURST_MS,
    rows,
    handoff_parts: handoffParts,
    throughput_b256: throughput,
    breakdown: partsTable.map(([label, m, p]) => ({ label, d_median_us: m, d_p10_us: p })),
    micro: micros.map(([label, us]) => ({ label, us })),
  };
  fs.writeFileSync(path.join(OUT, runOptions ? 'profile-caller-thread.json' : 'profile.json'), JSON.stringify(result, null, 2) + '\n');
  session.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
