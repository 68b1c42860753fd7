'use strict';
// Distributed benchmark (issue 14):
//   1. steps/s of fine-tuning mlp_v1 (the graph of test/distributed/finetune_task.ts: hub.Module trainable, SGD,
//      one session run per step) in one process vs 1 ps + 2 workers (tfhub-node tf-server + two worker
//      processes, variables on the ps, asynchronous), all on 127.0.0.1;
//   2. the cost of one session run on a remote target (a tf server in this process, over gRPC on loopback)
//      vs in process, for a tiny graph (µs per run);
//   3. Saver save / restore MB/s against Python's tf.compat.v1.train.Saver on the same variables (bench/dist/py_saver.py).
//
//   npx tsc -p tsconfig.json && node bench/dist/run.js      (npm run bench:dist)
//
// Interleaved: in 1 the in-process task and the cluster take turns (the other one paused) in BENCH_DIST_SLICES
// slices of BENCH_DIST_SLICE_S seconds each; in 2 the two sessions alternate in slices; in 3 Node and Python
// alternate rounds (one process at a time). Reported: the median over slices and the [min .. max] range.
// Writes bench/out/dist_results.json and prints a markdown table.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { freePort } = require('../free_port');

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const OUT = path.join(ROOT, 'bench', 'out');
const SLICES = Math.max(2, Number(process.env.BENCH_DIST_SLICES ?? 4));
const SLICE_S = Number(process.env.BENCH_DIST_SLICE_S ?? 4);
const PYTHON = process.env.PYTHON || 'python3';
const ENV = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', CUDA_VISIBLE_DEVICES: '' };
const log = (s) => process.stderr.write(s + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), slices: xs });
const fmt = (s, d = 1) => `${s.median.toFixed(d)} [${s.min.toFixed(d)} .. ${s.max.toFixed(d)}]`;

const children = new Set();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

/** A child process whose stdout lines are kept with their arrival time. */
function child(args) {
  const proc = spawn(process.execPath, args, { env: ENV, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(proc);
  const lines = [];
  let partial = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop();
    const t = performance.now();
    for (const l of parts) lines.push({ t, l });
  });
  proc.stderr.setEncoding('utf8').on('data', (d) => { err = (err + d).slice(-4000); });
  proc.on('exit', () => children.delete(proc));
  const waitFor = async (re, ms) => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = lines.find((x) => re.test(x.l));
      if (hit) return hit;
      if (proc.exitCode !== null || Date.now() > end) throw new Error(`no ${re} from ${args[0]} (exit ${proc.exitCode}):\n${err}`);
      await sleep(20);
    }
  };
  return { proc, lines, waitFor, send: (s) => proc.stdin.write(s + '\n') };
}

const TASK = path.join(DIST, 'test', 'distributed', 'finetune_task.js');
const CLI = path.join(DIST, 'src', 'cli.js');

/** The highest global step printed by `tasks` since line index `from` (per task). */
function lastStep(tasks) {
  let best = 0;
  for (const t of tasks) for (const { l } of t.lines) if (l.startsWith('STEP ')) best = Math.max(best, Number(l.split(' ')[1]));
  return best;
}

async function pauseAll(tasks) {
  const counts = tasks.map((t) => t.lines.filter((x) => x.l.startsWith('PAUSED')).length);
  for (const t of tasks) t.send('pause');
  for (let i = 0; i < tasks.length; i++) {
    while (tasks[i].lines.filter((x) => x.l.startsWith('PAUSED')).length <= counts[i]) await sleep(5);
  }
}

async function finetuneSteps() {
  log('1. fine-tuning steps/s: in-process vs 1 ps + 2 workers');
  const local = child([TASK, JSON.stringify({ lastStep: 1e9, waitFinish: false })]);
  const ports = [await freePort(), await freePort(), await freePort()];
  const cluster = { ps: [`127.0.0.1:${ports[0]}`], worker: [`127.0.0.1:${ports[1]}`, `127.0.0.1:${ports[2]}`] };
  const ps = child([CLI, 'tf-server', '--cluster', `ps=${cluster.ps[0]};worker=${cluster.worker.join(',')}`, '--job', 'ps', '--task', '0']);
  await ps.waitFor(/serving at/, 60000);
  const workers = [0, 1].map((task) => child([TASK, JSON.stringify({ cluster, task, lastStep: 1e9 })]));
  await Promise.all([local, ...workers].map((t) => t.waitFor(/^STEP /, 120000)));
  await pauseAll([local, ...workers]);
  const rate = { inProcess: [], cluster: [] };
  for (let i = 0; i < SLICES; i++) {
    for (const [name, tasks] of [['inProcess', [local]], ['cluster', workers]]) {
      for (const t of tasks) t.send('resume');
      await sleep(300); // warm-up after the pause
      const s0 = lastStep(tasks);
      const t0 = performance.now();
      await sleep(SLICE_S * 1000);
      const s1 = lastStep(tasks);
      const t1 = performance.now();
      await pauseAll(tasks);
      rate[name].push((s1 - s0) / ((t1 - t0) / 1000));
    }
  }
  for (const t of [local, ...workers, ps]) t.proc.kill('SIGKILL');
  return { inProcess: summary(rate.inProcess), cluster: summary(rate.cluster) };
}

async function remoteRun() {
  log('2. one session run: remote target (gRPC, loopback) vs in process');
  const { Graph, Session, Server } = require(path.join(DIST, 'src'));
  const port = await freePort();
  const server = new Server({ cluster: { local: [`127.0.0.1:${port}`] }, jobName: 'local' });
  const g = new Graph();
  const x = g.placeholder('float32', [4], 'x');
  const y = g.addOperation('AddV2', { inputs: [x, g.constant(1, 'one', 'float32')] }).output(0);
  const sessions = { inProcess: new Session(g), remote: new Session(g, { target: server.target }) };
  const feed = new Float32Array([1, 2, 3, 4]);
  const us = { inProcess: [], remote: [] };
  for (const s of Object.values(sessions)) for (let i = 0; i < 200; i++) (await s.run(y, { x: feed })).dispose();
  for (let i = 0; i < SLICES * 2; i++) {
    for (const [name, s] of Object.entries(sessions)) {
      const times = [];
      const end = performance.now() + (SLICE_S * 1000) / 4;
      while (performance.now() < end) {
        const t0 = performance.now();
        (await s.run(y, { x: feed })).dispose();
        times.push((performance.now() - t0) * 1000);
      }
      us[name].push(median(times));
    }
  }
  for (const s of Object.values(sessions)) s.close();
  server.close();
  return { inProcess: summary(us.inProcess), remote: summary(us.remote) };
}

async function saverThroughput() {
  log('3. Saver save/restore MB/s: Node vs Python on the same variables');
  const spec = { shapes: [[1024, 1024], [1024, 1024], [2048, 1024], [4096]], repeats: Number(process.env.BENCH_DIST_SAVER_REPEATS ?? 3) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-bench-saver-'));
  const results = { node: { save: [], restore: [] }, python: { save: [], restore: [] } };
  let mb = 0;
  try {
    for (let round = 0; round < SLICES; round++) {
      for (const impl of ['node', 'python']) {
        const args = impl === 'node' ? [path.join(__dirname, 'node_saver.js'), JSON.stringify({ ...spec, dir })] : [path.join(__dirname, 'py_saver.py'), JSON.stringify({ ...spec, dir })];
        const r = spawnSync(impl === 'node' ? process.execPath : PYTHON, args, { env: ENV, encoding: 'utf8', maxBuffer: 16 << 20 });
        if (r.status !== 0) throw new Error(`${impl} saver bench failed:\n${(r.stderr || '').slice(-3000)}`);
        const res = JSON.parse(r.stdout.trim().split('\n').pop());
        mb = res.mb;
        results[impl].save.push(...res.save_mb_s);
        results[impl].restore.push(...res.restore_mb_s);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { mb, node: { save: summary(results.node.save), restore: summary(results.node.restore) }, python: { save: summary(results.python.save), restore: summary(results.python.restore) } };
}

async function main() {
  const out = { date: new Date().toISOString(), cpus: os.cpus().length, loadavg: os.loadavg(), slices: SLICES, slice_s: SLICE_S };
  out.finetune = await finetuneSteps();
  out.remote = await remoteRun();
  out.saver = await saverThroughput();
  out.loadavgAfter = os.loadavg();
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'dist_results.json'), JSON.stringify(out, null, 1));
  const md = [
    `| measure | median [min .. max] over slices |`,
    `| --- | --- |`,
    `| fine-tuning mlp_v1, 1 process: steps/s | ${fmt(out.finetune.inProcess)} |`,
    `| fine-tuning mlp_v1, 1 ps + 2 workers: global steps/s | ${fmt(out.finetune.cluster)} |`,
    `| one run of a tiny graph, in process: µs | ${fmt(out.remote.inProcess, 0)} |`,
    `| one run of a tiny graph, remote target (gRPC loopback): µs | ${fmt(out.remote.remote, 0)} |`,
    `| Saver.save, Node (${out.saver.mb.toFixed(0)} MB): MB/s | ${fmt(out.saver.node.save, 0)} |`,
    `| Saver.save, Python tf.compat.v1.train.Saver: MB/s | ${fmt(out.saver.python.save, 0)} |`,
    `| Saver.restore, Node: MB/s | ${fmt(out.saver.node.restore, 0)} |`,
    `| Saver.restore, Python: MB/s | ${fmt(out.saver.python.restore, 0)} |`,
  ].join('\n');
  console.log(md);
  console.log(`\n${out.cpus} CPUs, load average before ${out.loadavg.map((l) => l.toFixed(1)).join(' ')}, after ${out.loadavgAfter.map((l) => l.toFixed(1)).join(' ')}`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
