'use strict';
// tfhub-node next to onnxruntime-node and @tensorflow/tfjs-node on the same models, interleaved in one run
// (part of `npm run bench`; alone: `node bench/peers/run.js` after `npx tsc`).
//
// Models (bench/serve/make_models.js): the MLP 512→1024→256 (relu) as a TF2 SavedModel and its ONNX twin built
// from the same arrays, and the Keras CNN fixture (keras_cnn_tf2) with its ONNX twin. Peers are installed for
// the benchmark only, in bench/out/peers (bench/serve/peers.js); a peer that is missing and cannot be installed
// is skipped, and the output says so.
//
// Each configuration is its own process (bench/peers/child.js) driven as a measurement server: only one measures
// at a time, BENCH_SLICES cycles (default 8) of BENCH_SLICE_S-second slices (default 0.3) per measurement, the
// process order rotating per cycle, so drifts in machine load hit every column alike. Foreign load (CPU used by
// other processes during a slice) and /proc/loadavg are recorded.
//
// Env: BENCH_SLICES, BENCH_SLICE_S, BENCH_WARMUP_S (0.05), BENCH_PEERS_IDS (comma list of measurements),
// BENCH_PEERS_COLD (cold starts per configuration, default 3), BENCH_PEERS_CONFIGS (JSON array of extra
// configurations for A/B runs: {name, runtime: 'tfhub'|'ort'|'tfjs', env?: {...}, config?: {load?, api?}}),
// BENCH_PEERS_ONLY (comma list of configuration names to run), BENCH_INSTALL_PEERS=0 (never install peers).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startLineChild } = require('../line_child');
const { spawn } = require('node:child_process');
const { cpuTimes, median, aggregate, fmt } = require('../stats');
const { ensurePeers, PEERS_DIR } = require('../serve/peers');
const { makeModels } = require('../serve/make_models');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'bench', 'out');
const MODELS_DIR = path.join(OUT, 'serve', 'models');
const SLICES = Math.max(1, Number(process.env.BENCH_SLICES ?? 8));
const SLICE_S = Number(process.env.BENCH_SLICE_S ?? 0.3);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 0.05);
const COLD = Number(process.env.BENCH_PEERS_COLD ?? 3);
const ALL_IDS = ['mlp.b1', 'mlp.b64c1', 'mlp.b64c8', 'cnn.b1', 'cnn.b32c1', 'cnn.b32c8', 'lag'];
const IDS = process.env.BENCH_PEERS_IDS ? process.env.BENCH_PEERS_IDS.split(',') : ALL_IDS;
const LABELS = {
  'mlp.b1': 'MLP batch 1, one call at a time: median µs',
  'mlp.b64c1': 'MLP batch 64, 1 in flight: calls/s',
  'mlp.b64c8': 'MLP batch 64, 8 in flight: calls/s',
  'cnn.b1': 'CNN batch 1, one call at a time: median µs',
  'cnn.b32c1': 'CNN batch 32, 1 in flight: calls/s',
  'cnn.b32c8': 'CNN batch 32, 8 in flight: calls/s',
  lag: 'event-loop lag p99 / max ms, 16 MLP b64 calls queued (calls/s)',
};
const log = (s) => process.stderr.write(s + '\n');

function configurations(peers) {
  const base = [
    { name: 'tfhub-node', runtime: 'tfhub' },
    { name: 'onnxruntime-node', runtime: 'ort' },
    { name: 'tfjs-node', runtime: 'tfjs' },
  ];
  const extra = process.env.BENCH_PEERS_CONFIGS ? JSON.parse(process.env.BENCH_PEERS_CONFIGS) : [];
  const only = process.env.BENCH_PEERS_ONLY ? new Set(process.env.BENCH_PEERS_ONLY.split(',')) : null;
  const notes = [];
  const all = [...base, ...extra]
    .filter((c) => !only || only.has(c.name))
    .filter((c) => {
      const peer = c.runtime === 'ort' ? peers.ort : c.runtime === 'tfjs' ? peers.tfjs : null;
      if (peer && !peer.ok) {
        notes.push(`${c.name} skipped: ${peer.module} is not available (${peer.why})`);
        return false;
      }
      return true;
    });
  return { all, notes };
}

function childArgs(c, extra = []) {
  const config = { models: MODELS_DIR, peers: PEERS_DIR, ...(c.config ?? {}) };
  return [path.join(__dirname, 'child.js'), c.runtime, JSON.stringify(config), ...extra];
}

function childEnv(c) {
  return { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2', ...(c.env ?? {}) };
}

function startChild(c) {
  return startLineChild(c.name, process.execPath, childArgs(c), { cwd: ROOT, env: childEnv(c) }, log);
}

/** One cold start: process spawn to the first MLP output, and the RSS then. */
function coldStart(c) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, childArgs(c, ['cold']), { cwd: ROOT, env: childEnv(c), stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${c.name} cold start exited with ${code}`));
      const r = JSON.parse(out.trim().split('\n').pop());
      resolve({ spawn_to_output_ms: performance.now() - t0, rss_mb: r.rss_mb, in_process_ms: r.first_output_ms });
    });
  });
}

const maxDiff = (a, b) => (a && b && a.length === b.length ? a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0) : NaN);
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function cell(id, r) {
  if (!r) return '—';
  const range = r.slice_runs_per_s;
  if (id === 'lag') return `${fmt(r.lag_p99_ms, 1)} / ${fmt(r.lag_max_ms, 1)} (${fmt(r.runs_per_s, 0)}/s)`;
  if (r.median_us !== undefined && !/c\d+$/.test(id.split('.')[1] ?? ''))
    return `${fmt(r.median_us)} (${fmt(r.slice_median_us.min)}–${fmt(r.slice_median_us.max)})`;
  return `${fmt(r.runs_per_s, 0)} (${fmt(range.min, 0)}–${fmt(range.max, 0)})`;
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js')))
    throw new Error('dist/src missing: run `npx tsc -p tsconfig.json` first (npm run bench does)');
  makeModels(MODELS_DIR);
  const peers = ensurePeers(log);
  const { all, notes } = configurations(peers);
  for (const n of notes) log(`NOTE: ${n}`);
  const started = Date.now();
  const load = [loadavg()];
  log(`peers benchmark: ${all.map((c) => c.name).join(', ')}; ${SLICES} cycles × ${SLICE_S} s; load ${load[0]}`);

  // Cold starts first, interleaved, while no measurement server holds memory.
  const cold = Object.fromEntries(all.map((c) => [c.name, []]));
  for (let k = 0; k < COLD; k++) {
    for (const c of all) {
      try {
        cold[c.name].push(await coldStart(c));
      } catch (e) {
        log(`  cold start ${c.name}: ${e.message}`);
      }
    }
  }

  const children = {};
  const meta = {};
  for (const c of all) {
    children[c.name] = startChild(c);
    meta[c.name] = await children[c.name].ready;
  }
  const slices = Object.fromEntries(all.map((c) => [c.name, Object.fromEntries(IDS.map((id) => [id, []]))]));
  for (let cycle = 0; cycle < SLICES; cycle++) {
    const order = all.map((_, k) => all[(k + cycle) % all.length]);
    for (const id of IDS) {
      for (const c of order) {
        const before = cpuTimes();
        const reply = await children[c.name].request(`${id} ${SLICE_S} ${WARMUP_S}`);
        const after = cpuTimes();
        if (reply.error) throw new Error(`${c.name} ${id}: ${reply.error}`);
        const wall = after.wall - before.wall;
        reply.foreign_cores = Math.max(0, after.busy - before.busy - reply.cpu_s * (wall / reply.elapsed_s)) / wall;
        slices[c.name][id].push(reply);
      }
    }
    load.push(loadavg());
    log(`cycle ${cycle + 1}/${SLICES} (load ${load[load.length - 1]})`);
  }
  for (const ch of Object.values(children)) ch.close();

  const rows = {};
  for (const c of all) {
    rows[c.name] = {};
    for (const id of IDS) {
      const s = slices[c.name][id];
      if (!s.length) continue;
      const r = aggregate(s);
      if (id === 'lag') {
        r.lag_p99_ms = median(s.map((x) => x.lag_p99_ms));
        r.lag_max_ms = Math.max(...s.map((x) => x.lag_max_ms));
        r.slice_lag_p99_ms = { min: Math.min(...s.map((x) => x.lag_p99_ms)), max: Math.max(...s.map((x) => x.lag_p99_ms)) };
      }
      r.foreign_cores_median = median(s.map((x) => x.foreign_cores));
      rows[c.name][id] = r;
    }
  }
  const ref = all.find((c) => c.runtime === 'ort')?.name;
  const first = all[0].name;
  const names = all.map((c) => c.name);
  const lines = [`| measurement | ${names.join(' | ')} |`, `|---|${names.map(() => '---:').join('|')}|`];
  for (const id of IDS) lines.push(`| ${LABELS[id]} | ${names.map((n) => cell(id, rows[n][id])).join(' | ')} |`);
  lines.push(`| CPU µs per MLP b1 call | ${names.map((n) => fmt(rows[n]['mlp.b1']?.cpu_us_per_run)).join(' | ')} |`);
  lines.push(
    `| cold start to first output ms / RSS MB (median of ${COLD}) | ${names.map((n) => (cold[n].length ? `${fmt(median(cold[n].map((x) => x.spawn_to_output_ms)), 0)} / ${fmt(median(cold[n].map((x) => x.rss_mb)), 0)}` : '—')).join(' | ')} |`,
  );
  lines.push(`| RSS MB, both models loaded and warm | ${names.map((n) => fmt(meta[n].rss_mb, 0)).join(' | ')} |`);
  lines.push(
    `| max abs output diff vs ${first} (MLP / CNN, batch 4) | ${names.map((n) => `${maxDiff(meta[n].check.mlp, meta[first].check.mlp).toExponential(1)} / ${maxDiff(meta[n].check.cnn, meta[first].check.cnn).toExponential(1)}`).join(' | ')} |`,
  );
  const ratios = [];
  if (ref) {
    for (const n of names.filter((x) => x !== ref)) {
      const r = rows[n];
      const o = rows[ref];
      const part = [];
      if (r['mlp.b1'] && o['mlp.b1'])
        part.push(`MLP b1 median ${fmt(r['mlp.b1'].median_us / o['mlp.b1'].median_us, 2)}× ORT's (goal ≤ 0.8)`);
      for (const id of ['mlp.b64c1', 'mlp.b64c8', 'cnn.b32c1', 'cnn.b32c8'])
        if (r[id] && o[id])
          part.push(`${id} ${fmt(r[id].runs_per_s / o[id].runs_per_s, 2)}× ORT's calls/s${id.startsWith('mlp') ? ' (goal ≥ 1.2)' : ''}`);
      if (r['cnn.b1'] && o['cnn.b1']) part.push(`CNN b1 median ${fmt(r['cnn.b1'].median_us / o['cnn.b1'].median_us, 2)}× ORT's`);
      ratios.push(`- ${n}: ${part.join('; ')}`);
    }
  }
  const foreign = Object.values(slices).flatMap((byId) =>
    Object.values(byId)
      .flat()
      .map((s) => s.foreign_cores),
  );
  const md = [
    lines.join('\n'),
    '',
    ...ratios,
    ...notes.map((n) => `- NOTE: ${n}`),
    '',
    `Cells: median (slice medians min–max) for one-at-a-time rows; calls/s (slice min–max) for in-flight rows. ${SLICES} cycles × ${SLICE_S} s slices; ` +
      `load average ${load.join(' → ')}; foreign load per slice median ${fmt(median(foreign), 2)} cores, max ${fmt(Math.max(...foreign), 2)}.`,
    '',
    'Configurations:',
    ...all.map(
      (c) =>
        `- ${c.name}: ${meta[c.name].name} ${meta[c.name].version}${c.env ? `, env ${JSON.stringify(c.env)}` : ''}${c.config ? `, ${JSON.stringify(c.config)}` : ''}`,
    ),
  ].join('\n');
  const results = {
    date: new Date().toISOString(),
    host: { nproc: os.cpus().length, cpu: os.cpus()[0]?.model },
    configurations: all,
    meta,
    rows,
    cold,
    loadavg: load,
    notes,
    wall_s: (Date.now() - started) / 1000,
  };
  fs.writeFileSync(path.join(OUT, 'peers_results.json'), JSON.stringify(results, null, 1) + '\n');
  fs.writeFileSync(path.join(OUT, 'peers_results.md'), md + '\n');
  process.stdout.write(`\n${md}\n\nwrote bench/out/peers_results.{json,md} (${results.wall_s.toFixed(0)} s)\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
