'use strict';
// `npm run bench`: the same MLP GraphDef (bench/out/mlp.pb, built by bench/node/make_graph.js) through plain C
// (the floor, bench/c/mlp_bench.c compiled here with cc), Python TensorFlow (bench/py/mlp_bench.py) and
// tfhub-node (bench/node/mlp_bench.js).
//
// Each implementation is its own process, loaded once and then driven as a measurement server. Only one
// process measures at any time (the others sit idle on stdin), so they never compete for cores. Measurements
// are taken in short interleaved slices: BENCH_SLICES cycles (default 12), each giving every measurement of every
// implementation one slice of BENCH_SLICE_S seconds (default 0.25) after BENCH_WARMUP_S (0.05) of unrecorded
// runs, the implementation order rotating per cycle. Slow drifts in machine load (other processes on a shared
// box) thus hit all three alike. Per measurement the slices are pooled: median/p10/p90 of every run's latency,
// runs/s = runs / time, CPU µs/run = process CPU time (all threads) / runs.
//
// Other processes on a shared machine: around every slice run.js reads /proc/stat and charges to "foreign"
// load the busy CPU time (steal included) that the measuring process did not use itself. Slices whose foreign
// load exceeds BENCH_QUIET_MAX cores (default 0.15) are left out of the "quiet" table; both tables are
// reported, and the targets are judged on each.
//
// Threading: every session is created with no ConfigProto (TF defaults: inter- and intra-op pools sized to
// the cores). BENCH_CALLER_THREAD=1: every run of all three passes RunOptions.inter_op_thread_pool = -1 (TF runs
// the ops on the calling thread); results then go to results-caller-thread.{json,md}.
// BENCH_PROFILE=1 also builds bench/out/probe.node and runs bench/node/profile.js (where Node's time goes).
// Env: BENCH_SLICES, BENCH_SLICE_S, BENCH_WARMUP_S, BENCH_SKIP=c,python,node, BENCH_CALLER_THREAD,
// BENCH_PROFILE, PYTHON (default python3), CC (default cc).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { NOISE, startLineChild } = require('./line_child');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(__dirname, 'out');
const GRAPH = path.join(OUT, 'mlp.pb');
const C_SRC = path.join(__dirname, 'c', 'mlp_bench.c');
const C_INPUT_H = path.join(__dirname, 'c', 'mlp_input.h'); // included by both C sources
const C_BIN = path.join(OUT, 'mlp_bench_c');
const SLICES = Math.max(1, Number(process.env.BENCH_SLICES ?? 12));
const SLICE_S = Number(process.env.BENCH_SLICE_S ?? 0.25);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 0.05);
const flag = (v) => !!v && v !== '0';
const CALLER = flag(process.env.BENCH_CALLER_THREAD);
const PROFILE = flag(process.env.BENCH_PROFILE);
const MODE_ARGS = CALLER ? ['caller'] : [];
const SUFFIX = CALLER ? '-caller-thread' : '';
const QUIET_MAX = Number(process.env.BENCH_QUIET_MAX ?? 0.15);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const PYTHON = process.env.PYTHON || 'python3';
const CHILD_ENV = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
if (CALLER) CHILD_ENV.PROFILE_CALLER_THREAD = '1';

const IMPLS = {
  c: { cmd: () => [C_BIN, [GRAPH, ...MODE_ARGS]], ids: ['b1', 'b1.handoff', 'b1.gap10', 'b256c1', 'b256c2'] },
  python: {
    cmd: () => [PYTHON, [path.join(__dirname, 'py', 'mlp_bench.py'), GRAPH, ...MODE_ARGS]],
    ids: ['b1', 'b1.callable', 'b256c1', 'b256c2'],
  },
  node: {
    cmd: () => [process.execPath, [path.join(__dirname, 'node', 'mlp_bench.js'), GRAPH, ...MODE_ARGS]],
    ids: ['b1', 'b1.sync', 'b1.inline', 'b1.names', 'b1.e2e', 'b256c1', 'b256c1.sync', 'b256c2'],
  },
};
const LABELS = {
  'c/b1': 'TF_SessionRun',
  'c/b1.handoff': 'TF_SessionRun on a worker thread, caller waits (condvar hand-off)',
  'c/b1.gap10': 'TF_SessionRun alone, caller busy 10 µs between runs',
  'c/b256c1': 'TF_SessionRun',
  'c/b256c2': 'TF_SessionRun from 2 pthreads',
  'python/b1': 'Session.run',
  'python/b1.callable': 'Session.make_callable',
  'python/b256c1': 'Session.run',
  'python/b256c2': 'Session.run from 2 threads',
  'node/b1': 'session.run (await)',
  'node/b1.sync': 'session.runSync',
  'node/b1.inline': 'session.run(..., {inline: true}) (ops on the worker thread)',
  'node/b1.names': "session.run('logits:0', {'x:0': t})",
  'node/b1.e2e': 'session.run, new input Tensor per run, result .data()',
  'node/b256c1': 'session.run (await)',
  'node/b256c1.sync': 'session.runSync',
  'node/b256c2': 'session.run, 2 in flight',
};

const log = (s) => process.stderr.write(s + '\n');
// TF's start-up chatter (absl logs before InitializeLog ignore TF_CPP_MIN_LOG_LEVEL).

function runSync(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: ROOT, env: CHILD_ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  (r.stderr ?? '')
    .split('\n')
    .filter((l) => !NOISE.test(l))
    .forEach((l) => log(l));
  if (r.status !== 0) throw new Error(`${what} failed with status ${r.status}`);
  return r.stdout;
}

function newer(target, ...sources) {
  if (!fs.existsSync(target)) return false;
  const t = fs.statSync(target).mtimeMs;
  return sources.every((s) => fs.statSync(s).mtimeMs <= t);
}

function prepare() {
  fs.mkdirSync(OUT, { recursive: true });
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js')))
    throw new Error('dist/src missing: run `npx tsc -p tsconfig.json` first (npm run bench does)');
  const maker = path.join(__dirname, 'node', 'make_graph.js');
  if (!newer(GRAPH, maker)) {
    log('building bench/out/mlp.pb');
    runSync(process.execPath, [maker, GRAPH], 'make_graph');
  }
  const record = JSON.parse(fs.readFileSync(path.join(ROOT, 'deps', 'libtensorflow.json'), 'utf8'));
  const libDir = path.dirname(record.library);
  const link = [
    `-I${record.includeDir}`,
    `-L${libDir}`,
    `-l:${path.basename(record.library)}`,
    ...(fs.existsSync(path.join(libDir, 'libtensorflow_framework.so.2')) ? ['-l:libtensorflow_framework.so.2'] : []),
    `-Wl,-rpath,${libDir}`,
  ];
  const cc = process.env.CC || 'cc';
  if (!SKIP.has('c') && !(newer(C_BIN, C_SRC) && newer(C_BIN, C_INPUT_H))) {
    log(`compiling bench/c/mlp_bench.c against ${record.library}`);
    runSync(cc, ['-O2', '-std=c11', '-Wall', '-o', C_BIN, C_SRC, ...link, '-lpthread'], 'cc');
  }
  const probe = path.join(OUT, 'probe.node');
  const probeSrc = path.join(__dirname, 'node', 'probe.c');
  if (PROFILE && !(newer(probe, probeSrc) && newer(probe, C_INPUT_H))) {
    log('compiling bench/node/probe.c (profiling probe)');
    let napiHeaders;
    try {
      napiHeaders = path.dirname(require.resolve('node-api-headers/include/node_api.h', { paths: [ROOT] }));
    } catch {
      napiHeaders = path.join(path.dirname(process.execPath), '..', 'include', 'node');
    }
    runSync(
      cc,
      ['-O2', '-std=c11', '-Wall', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=probe', '-o', probe, probeSrc, `-I${napiHeaders}`, ...link],
      'cc',
    );
  }
  return record;
}

function gitState() {
  const git = (...args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    head: git('rev-parse', '--short', 'HEAD'),
    dirty_src_native: git('status', '--short', '--', 'src', 'native').split('\n').filter(Boolean),
  };
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    nproc: os.cpus().length,
    cpu: model,
    ram_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
  };
}

/** A measurement server child: request(line) resolves with its next JSON line. */
function startChild(impl) {
  const [cmd, args] = IMPLS[impl].cmd();
  return { impl, ...startLineChild(impl, cmd, args, { cwd: ROOT, env: CHILD_ENV }, log) };
}

const { cpuTimes, median, aggregate, fmt } = require('./stats');

function mainTable(rows) {
  const get = (impl, id, key) => rows[impl]?.[id]?.[key];
  const cols = [
    ['C', 'c', ''],
    ['Python Session.run', 'python', ''],
    ['Node session.run', 'node', ''],
    ['Node runSync', 'node', '.sync'],
  ];
  const lines = [`| measurement | ${cols.map((c) => c[0]).join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`];
  const spec = [
    ['batch 1: median latency (µs)', 'b1', 'median_us', 1],
    ['batch 1: p10 latency (µs)', 'b1', 'p10_us', 1],
    ['batch 1: runs/s (sequential)', 'b1', 'runs_per_s', 0],
    ['batch 1: CPU µs per run (all threads)', 'b1', 'cpu_us_per_run', 1],
    ['batch 256, 1 in flight: median latency (µs)', 'b256c1', 'median_us', 0],
    ['batch 256, 1 in flight: runs/s', 'b256c1', 'runs_per_s', 1],
    ['batch 256, 2 in flight: runs/s', 'b256c2', 'runs_per_s', 1],
  ];
  for (const [label, id, key, d] of spec) {
    lines.push(
      `| ${label} | ${cols.map(([, impl, suffix]) => (suffix && id === 'b256c2' ? 'n/a' : fmt(get(impl, id + suffix, key), d))).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

function allRowsTable(rows) {
  const lines = [
    '| impl | measurement | median µs | p10 µs | p90 µs | slice medians µs (min–max) | runs/s | slice runs/s (min–max) | CPU µs/run | runs |',
    '|---|---|---:|---:|---:|---|---:|---|---:|---:|',
  ];
  for (const [impl, byId] of Object.entries(rows)) {
    for (const [id, r] of Object.entries(byId)) {
      const sm = r.slice_median_us ? `${fmt(r.slice_median_us.min)}–${fmt(r.slice_median_us.max)}` : '—';
      const sr = `${fmt(r.slice_runs_per_s.min, 0)}–${fmt(r.slice_runs_per_s.max, 0)}`;
      lines.push(
        `| ${impl} | ${id}: ${LABELS[`${impl}/${id}`] ?? ''} | ${fmt(r.median_us)} | ${fmt(r.p10_us)} | ${fmt(r.p90_us)} | ${sm} | ${fmt(r.runs_per_s)} | ${sr} | ${fmt(r.cpu_us_per_run)} | ${r.n} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main() {
  const started = Date.now();
  const record = prepare();
  const impls = Object.keys(IMPLS).filter((i) => !SKIP.has(i));
  log(`starting ${impls.join(', ')} (graph ${path.relative(ROOT, GRAPH)}${CALLER ? ', RunOptions.inter_op_thread_pool = -1' : ''})`);
  const children = Object.fromEntries(impls.map((i) => [i, startChild(i)]));
  const meta = {};
  const notes = [];
  for (const i of impls) {
    try {
      meta[i] = await children[i].ready;
    } catch (e) {
      if (i !== 'python') throw e;
      meta[i] = { impl: i, skipped: `${PYTHON} could not be started or died at start-up (${e.message})` };
    }
    if (meta[i].skipped) {
      notes.push(`${i} skipped: ${meta[i].skipped}`);
      log(`NOTE: ${i} skipped: ${meta[i].skipped}`);
      children[i].close();
      delete children[i];
    }
  }
  const active = impls.filter((i) => children[i]);
  const slices = Object.fromEntries(active.map((i) => [i, Object.fromEntries(IMPLS[i].ids.map((id) => [id, []]))]));
  const load = [os.loadavg()[0]];
  for (let cycle = 0; cycle < SLICES; cycle++) {
    const order = active.map((_, k) => active[(k + cycle) % active.length]);
    for (const i of order) {
      for (const id of IMPLS[i].ids) {
        const before = cpuTimes();
        const reply = await children[i].request(`${id} ${SLICE_S} ${WARMUP_S}`);
        const after = cpuTimes();
        if (reply.error) throw new Error(`${i} ${id}: ${reply.error}`);
        // The child's CPU is known for the measured part only: scale it to the whole request (warm-up too).
        const wall = after.wall - before.wall;
        reply.foreign_cores = Math.max(0, after.busy - before.busy - reply.cpu_s * (wall / reply.elapsed_s)) / wall;
        slices[i][id].push(reply);
      }
    }
    load.push(os.loadavg()[0]);
    const f = active.flatMap((i) => Object.values(slices[i]).map((s) => s[s.length - 1].foreign_cores));
    log(
      `cycle ${cycle + 1}/${SLICES} done (load average ${os.loadavg()[0].toFixed(2)}, foreign load this cycle ${median(f).toFixed(2)} cores median)`,
    );
  }
  for (const c of Object.values(children)) c.close();

  const build = (keep) =>
    Object.fromEntries(
      active.map((i) => [
        i,
        Object.fromEntries(
          Object.entries(slices[i])
            .map(([id, s]) => [id, s.filter(keep)])
            .filter(([, s]) => s.length > 0)
            .map(([id, s]) => [id, aggregate(s)]),
        ),
      ]),
    );
  const rows = build(() => true);
  const quietRows = build((s) => s.foreign_cores <= QUIET_MAX);
  const judge = (r) => {
    const get = (impl, id, key) => r[impl]?.[id]?.[key];
    if (!r.c?.b1 || !r.node?.b1 || !r.c?.b256c2 || !r.node?.b256c2) return null;
    const t = {
      node_overhead_b1_us: get('node', 'b1', 'median_us') - get('c', 'b1', 'median_us'),
      node_sync_overhead_b1_us: get('node', 'b1.sync', 'median_us') - get('c', 'b1', 'median_us'),
      node_over_c_b256c2: get('node', 'b256c2', 'runs_per_s') / get('c', 'b256c2', 'runs_per_s'),
      slices_used: { c_b1: r.c.b1.slices, node_b1: r.node.b1.slices, c_b256c2: r.c.b256c2.slices, node_b256c2: r.node.b256c2.slices },
    };
    t.overhead_target_met = t.node_overhead_b1_us <= 20;
    t.throughput_target_met = t.node_over_c_b256c2 >= 0.95;
    return t;
  };
  const targets = { all_slices: judge(rows), quiet_slices: judge(quietRows) };
  const verdict = (t) =>
    t
      ? [
          `- Node per-run overhead at batch 1 (session.run median − C median): ${fmt(t.node_overhead_b1_us)} µs ` +
            `(target ≤ 20 µs: ${t.overhead_target_met ? 'MET' : 'NOT MET'}); runSync: ${fmt(t.node_sync_overhead_b1_us)} µs`,
          `- Node/C throughput at batch 256, 2 in flight: ${fmt(t.node_over_c_b256c2 * 100)}% ` +
            `(target ≥ 95%: ${t.throughput_target_met ? 'MET' : 'NOT MET'})`,
        ].join('\n')
      : '(targets need C and Node rows)';
  const foreign = active.flatMap((i) =>
    Object.values(slices[i])
      .flat()
      .map((s) => s.foreign_cores),
  );
  const quietCount = foreign.filter((f) => f <= QUIET_MAX).length;
  const header = CALLER ? 'Every run with RunOptions.inter_op_thread_pool = -1 (ops on the calling thread).\n\n' : '';
  const md = [
    `${header}### All slices\n`,
    mainTable(rows),
    '',
    verdict(targets.all_slices),
    ...notes.map((n) => `- NOTE: ${n}`),
    '',
    `### Quiet slices only (foreign load ≤ ${QUIET_MAX} cores: ${quietCount} of ${foreign.length} slices)\n`,
    mainTable(quietRows),
    '',
    verdict(targets.quiet_slices),
    '',
    '### Every measurement (all slices)\n',
    allRowsTable(rows),
    '',
    `${SLICES} interleaved cycles x ${SLICE_S} s slices (+${WARMUP_S} s warm-up each); load average ` +
      `${load.map((l) => l.toFixed(2)).join(' → ')}; foreign load per slice (cores): median ${fmt(median(foreign), 2)}, max ${fmt(Math.max(...foreign), 2)}`,
  ].join('\n');

  const checks = active.map((i) => `${i}=${meta[i].checksum_b1}`);
  const results = {
    date: new Date().toISOString(),
    machine: machine(),
    git: gitState(),
    slices: SLICES,
    slice_s: SLICE_S,
    warmup_s: WARMUP_S,
    threading:
      'default ConfigProto for every session (inter/intra-op pools sized by TF to the cores)' +
      (CALLER ? '; every run with RunOptions.inter_op_thread_pool = -1 (ops on the calling thread)' : ''),
    graph: { path: path.relative(ROOT, GRAPH), bytes: fs.statSync(GRAPH).size },
    libtensorflow: record.library,
    implementations: meta,
    checksums_b1: checks,
    targets,
    rows,
    quiet_rows: quietRows,
    quiet_max_cores: QUIET_MAX,
    loadavg: load,
    notes,
    slices_summary: Object.fromEntries(
      active.map((i) => [
        i,
        Object.fromEntries(
          Object.entries(slices[i]).map(([id, s]) => [
            id,
            s.map((x) => ({
              n: x.n,
              elapsed_s: x.elapsed_s,
              cpu_s: x.cpu_s,
              foreign_cores: x.foreign_cores,
              median_us: x.lat ? median(x.lat) : undefined,
            })),
          ]),
        ),
      ]),
    ),
    wall_s: (Date.now() - started) / 1000,
  };
  fs.writeFileSync(path.join(OUT, `results${SUFFIX}.json`), JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(path.join(OUT, `results${SUFFIX}.md`), md + '\n');
  process.stdout.write(`\n${md}\n\noutput checksums (sum of batch-1 logits; must agree): ${checks.join(' ')}\n`);
  process.stdout.write(`wrote bench/out/results${SUFFIX}.json and .md (${results.wall_s.toFixed(1)} s)\n`);
  if (PROFILE) {
    log('profiling: bench/node/profile.js');
    process.stdout.write('\n' + runSync(process.execPath, [path.join(__dirname, 'node', 'profile.js')], 'profile'));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
