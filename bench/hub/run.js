'use strict';
// Hub benchmark: Node (hub.Module / hub.load) and Python (tf.compat.v1 import + restore / tf.saved_model.load)
// on the same modules, one after the other in their own processes. Writes bench/out/hub_results.{json,md}.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const out = path.join(__dirname, '..', 'out');
fs.mkdirSync(out, { recursive: true });
function runJson(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' }, maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || '').split('\n').slice(-5).join(' ') };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const node = runJson(process.execPath, [path.join(__dirname, 'node_hub.js')]);
const hasPy = spawnSync('python3', ['-c', 'import tensorflow'], { encoding: 'utf8' }).status === 0;
const py = hasPy ? runJson('python3', [path.join(__dirname, 'py_hub.py')]) : { error: 'python tensorflow not installed' };
const results = { date: new Date().toISOString(), node, python: py };
fs.writeFileSync(path.join(out, 'hub_results.json'), JSON.stringify(results, null, 2));

const f = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '—');
const lines = [];
lines.push(
  '| module | load ms (Node / Python) | batch | Node median µs | Python median µs | Node runs/s | Python runs/s | Node/Python |',
  '|---|---|---|---:|---:|---:|---:|---:|',
);
for (const kind of ['tf1', 'tf2']) {
  for (const [name, n] of Object.entries(node[kind] ?? {})) {
    const p = py[kind]?.[name];
    for (const [b, m] of Object.entries(n.batches)) {
      const q = p?.batches?.[b.replace(/ inline$/, '')];
      lines.push(
        `| ${name} (${kind}) | ${f(n.load_ms_median)} / ${f(p?.load_ms_median)} | ${b} | ${f(m.median_us)} | ${f(q?.median_us)} | ${f(m.runs_per_s, 0)} | ${f(q?.runs_per_s, 0)} | ${q ? (m.runs_per_s / q.runs_per_s).toFixed(2) + '×' : '—'} |`,
      );
    }
  }
}
if (py.error) lines.push('', `Python: ${py.error}`);
if (node.error) lines.push('', `Node: ${node.error}`);
fs.writeFileSync(path.join(out, 'hub_results.md'), lines.join('\n') + '\n');
console.log(lines.join('\n'));
