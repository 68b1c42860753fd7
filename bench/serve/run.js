'use strict';
// `npm run bench:serve`: model servers under the same HTTP load, side by side, in one run.
//
// Each server is its own child process listening on 127.0.0.1; one load generator (autocannon, in this process)
// drives them in rotation: for each model, each connection count and each slice, every server gets one slice of
// DURATION/SLICES seconds, the server order rotating per slice, so drifts in machine load hit all alike. Requests
// are TF Serving REST predict calls with one instance (batch 1): POST /v1/models/m:predict {"instances": [row]}.
// Per cell: requests/s (all slices pooled; range over slices), p50 and p99 latency of the 2xx answers (exact,
// from every response), errors (socket errors + timeouts + non-2xx), and server CPU per request (utime+stime of
// the server process from /proc/<pid>/stat over the cell's slices).
//
// Servers: tfhub-node `serve` (REST and gRPC, with and without --enable_batching) when the CLI has a `serve`
// command (gRPC cells are driven by bench/serve/grpc_load.js: PredictRequests with tensor_content);
// tfhub-node as a library (hub.load + node:http, with and without {batching}); onnxruntime-node and
// @tensorflow/tfjs-node behind node:http (installed for the benchmark only by bench/serve/peers.js); and the
// node:http floor: the peers' handler around no model (servers/floor.js), what any node:http server tops out at.
// Models (bench/serve/make_models.*): the MLP 512→1024→256 (relu), the same weights in the SavedModel and its
// ONNX twin; the TF2 Keras CNN fixture test/fixtures/keras_cnn_tf2 and its ONNX twin.
//
// Env: BENCH_SERVE_DURATION (seconds per cell, default 10), BENCH_SERVE_SLICES (default 2),
// BENCH_SERVE_CONNECTIONS (default 1,8,64), BENCH_SERVE_MODELS (default mlp,cnn), BENCH_SERVE_SERVERS (names to
// keep, comma-separated substrings), BENCH_SERVE_WARMUP_S (default 1), BENCH_INSTALL_PEERS=0 (never install),
// BENCH_SERVE_CLI (the cli.js whose `serve` the serve cells run; default this build's dist/src/cli.js).
// Results: bench/out/serve/results.{json,md}.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn, spawnSync } = require('node:child_process');
const autocannon = require('autocannon');
const { makeModels } = require('./make_models');
const { ensurePeers, PEERS_DIR } = require('./peers');
const { grpcSlice, predictRequest } = require('./grpc_load');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'bench', 'out', 'serve');
const CLI = process.env.BENCH_SERVE_CLI || path.join(ROOT, 'dist', 'src', 'cli.js');
const DURATION = Number(process.env.BENCH_SERVE_DURATION ?? 10);
const SLICES = Math.max(1, Number(process.env.BENCH_SERVE_SLICES ?? 2));
const CONNECTIONS = (process.env.BENCH_SERVE_CONNECTIONS ?? '1,8,64').split(',').map(Number);
const MODELS = (process.env.BENCH_SERVE_MODELS ?? 'mlp,cnn').split(',');
const KEEP = (process.env.BENCH_SERVE_SERVERS ?? '').split(',').filter(Boolean);
const WARMUP_S = Number(process.env.BENCH_SERVE_WARMUP_S ?? 1);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const BATCHING = { maxBatchSize: 64, batchTimeoutMicros: 0, maxEnqueuedBatches: 64, numBatchThreads: os.availableParallelism() };
const BATCHING_TEXT = `max_batch_size { value: 64 }\nbatch_timeout_micros { value: 0 }\nmax_enqueued_batches { value: 64 }\nnum_batch_threads { value: ${os.availableParallelism()} }\n`;
const log = (s) => process.stderr.write(`${s}\n`);

/** The input row every server gets: x[i] = ((i*37) % 101)/101 - 0.5 (bench/c/mlp_input.h). */
function row(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const flat = Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 101 - 0.5);
  const nest = (dims, at) =>
    dims.length === 1
      ? flat.slice(at, at + dims[0])
      : Array.from({ length: dims[0] }, (_, i) => nest(dims.slice(1), at + i * dims.slice(1).reduce((a, b) => a * b, 1)));
  return nest(shape, 0);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function serveAvailable() {
  if (!fs.existsSync(CLI)) return `${CLI} is missing (run npm run build)`;
  const r = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 && /rest_api_port/.test(r.stdout + r.stderr) ? null : 'this build has no `tfhub-node serve` command';
}

function serverDefs(models, info, peers) {
  const defs = [];
  const m = info;
  const lib = path.join(__dirname, 'servers', 'library.js');
  const common = [
    '--input',
    m.input,
    '--output',
    m.output,
    '--row-size',
    String(m.input_shape.reduce((a, b) => a * b, 1)),
    '--shape',
    JSON.stringify(m.input_shape),
  ];
  const noServe = serveAvailable();
  const base = path.dirname(models.savedModel);
  const batchingFile = path.join(OUT, 'batching_parameters.txt');
  fs.writeFileSync(batchingFile, BATCHING_TEXT);
  for (const grpcLoad of [false, true]) {
    for (const batching of [false, true]) {
      defs.push({
        name: `tfhub-node serve ${grpcLoad ? 'gRPC' : 'REST'}${batching ? ' +batching' : ''}`,
        skip: noServe,
        port: true,
        grpc: grpcLoad,
        args: (port, grpcPort) => [
          CLI,
          'serve',
          `--rest_api_port=${port}`,
          `--port=${grpcPort ?? 0}`,
          '--model_name=m',
          `--model_base_path=${base}`,
          ...(batching ? ['--enable_batching', `--batching_parameters_file=${batchingFile}`] : []),
        ],
      });
    }
  }
  defs.push({ name: 'tfhub-node library (hub.load + node:http)', args: () => [lib, '--model', models.savedModel, ...common] });
  defs.push({
    name: 'tfhub-node library +batching',
    args: () => [lib, '--model', models.savedModel, '--batching', JSON.stringify(BATCHING), ...common],
  });
  defs.push({
    name: 'onnxruntime-node (node:http)',
    skip: peers.ort.ok ? null : peers.ort.why,
    args: () => [path.join(__dirname, 'servers', 'ort.js'), '--onnx', models.onnx, '--peers', PEERS_DIR, ...common],
  });
  defs.push({
    name: '@tensorflow/tfjs-node (node:http)',
    skip: peers.tfjs.ok ? null : peers.tfjs.why,
    args: () => [path.join(__dirname, 'servers', 'tfjs.js'), '--model', models.savedModel, '--peers', PEERS_DIR, ...common],
  });
  // Started once the other servers' answer gives the output width (it has no model to ask).
  defs.push({
    name: 'node:http floor (no model)',
    floor: true,
    args: (_port, _grpcPort, width) => [path.join(__dirname, 'servers', 'floor.js'), '--width', String(width), ...common],
  });
  return defs.filter((d) => KEEP.length === 0 || KEEP.some((k) => d.name.includes(k)));
}

async function start(def) {
  const port = def.port ? await freePort() : 0;
  const grpcPort = def.grpc ? await freePort() : undefined;
  const child = spawn(process.execPath, def.args(port, grpcPort, def.width), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr = (stderr + c).slice(-4000);
  });
  const listening = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 180_000);
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      const m = /LISTENING (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(null);
    });
    if (def.port) {
      // `serve` does not print a LISTENING line: poll its REST port.
      const poll = () => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          clearTimeout(timer);
          resolve(port);
        });
        s.on('error', () => setTimeout(poll, 200));
      };
      poll();
    }
  });
  if (listening === null) {
    child.kill('SIGKILL');
    throw new Error(`${def.name} did not start: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return { child, url: `http://127.0.0.1:${listening}/v1/models/m:predict`, grpcAddress: grpcPort ? `127.0.0.1:${grpcPort}` : null };
}

function cpuTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of proc(5))
}

async function post(url, body) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  return (await r.json()).predictions;
}

/** One slice of load on server `s`: autocannon over REST, or the gRPC generator for a gRPC cell. */
function sliceOf(s, body, grpcRequest, connections, seconds) {
  return s.grpcAddress ? grpcSlice(s.grpcAddress, grpcRequest, connections, seconds) : slice(s.url, body, connections, seconds);
}

async function slice(url, body, connections, seconds) {
  const latencies = [];
  const inst = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
    timeout: 10,
  });
  inst.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await inst;
  return { latencies, ok: r['2xx'], errors: r.errors + r.timeouts + r.non2xx, seconds: r.duration };
}

function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

async function benchModel(name, models, info, peers, rows) {
  const defs = serverDefs(models, info, peers);
  const running = [];
  try {
    for (const def of defs.filter((d) => !d.floor)) {
      if (def.skip) {
        log(`skip ${def.name}: ${def.skip}`);
        rows.push({ model: name, server: def.name, skipped: def.skip });
        continue;
      }
      try {
        running.push({ def, ...(await start(def)) });
      } catch (e) {
        log(`skip ${def.name}: ${e.message}`);
        rows.push({ model: name, server: def.name, skipped: e.message });
      }
    }
    const body = JSON.stringify({ instances: [row(info.input_shape)] });
    const grpcRequest = running.some((s) => s.grpcAddress)
      ? predictRequest(info.input, info.input_shape, row(info.input_shape).flat(Infinity))
      : null;
    // Same model everywhere: every server's answer agrees with the first one's.
    let ref = null;
    for (const s of running) {
      const p = (await post(s.url, body))[0];
      if (!ref) ref = p;
      s.maxDiff = Math.max(...p.map((v, i) => Math.abs(v - ref[i])));
      if (!(s.maxDiff <= 1e-4)) throw new Error(`${s.def.name} answers differ from ${running[0].def.name} by ${s.maxDiff}`);
      await sliceOf(s, body, grpcRequest, 8, WARMUP_S);
    }
    for (const def of defs.filter((d) => d.floor && ref)) {
      const s = { def, ...(await start({ ...def, width: ref.length })), maxDiff: NaN };
      running.push(s);
      await sliceOf(s, body, grpcRequest, 8, WARMUP_S);
    }
    for (const connections of CONNECTIONS) {
      const cells = running.map((s) => ({ s, latencies: [], ok: 0, errors: 0, seconds: 0, ticks: 0, rps: [] }));
      for (let k = 0; k < SLICES; k++) {
        for (let j = 0; j < cells.length; j++) {
          const c = cells[(j + k) % cells.length];
          const t0 = cpuTicks(c.s.child.pid);
          const r = await sliceOf(c.s, body, grpcRequest, connections, DURATION / SLICES);
          c.ticks += cpuTicks(c.s.child.pid) - t0;
          for (const v of r.latencies) c.latencies.push(v);
          c.ok += r.ok;
          c.errors += r.errors;
          c.seconds += r.seconds;
          c.rps.push(r.ok / r.seconds);
        }
      }
      for (const c of cells) {
        const sorted = c.latencies.sort((a, b) => a - b);
        const out = {
          model: name,
          server: c.s.def.name,
          connections,
          requests: c.ok,
          rps: c.ok / c.seconds,
          rpsMin: Math.min(...c.rps),
          rpsMax: Math.max(...c.rps),
          p50: quantile(sorted, 0.5),
          p99: quantile(sorted, 0.99),
          errors: c.errors,
          cpuMsPerReq: c.ok ? (c.ticks * 1000) / CLK_TCK / c.ok : NaN,
          maxDiff: c.s.maxDiff,
        };
        rows.push(out);
        log(
          `${name} c=${connections} ${out.server}: ${out.rps.toFixed(0)} req/s p50 ${out.p50.toFixed(2)} ms p99 ${out.p99.toFixed(2)} ms errors ${out.errors}`,
        );
      }
    }
  } finally {
    for (const s of running) s.child.kill('SIGTERM');
  }
}

function markdown(rows, meta) {
  const lines = [
    `Machine: ${meta.cpu} (${meta.cores} cores), ${meta.date}; ${meta.duration} s per cell in ${meta.slices} slices; batching ${JSON.stringify(BATCHING)}.`,
    '',
  ];
  lines.push(
    '| model | server | conns | req/s (slice range) | p50 ms | p99 ms | errors | server CPU ms/req |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of rows.filter((x) => !x.skipped)) {
    lines.push(
      `| ${r.model} | ${r.server} | ${r.connections} | ${r.rps.toFixed(0)} (${r.rpsMin.toFixed(0)}–${r.rpsMax.toFixed(0)}) | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${r.cpuMsPerReq.toFixed(3)} |`,
    );
  }
  const skipped = [...new Map(rows.filter((x) => x.skipped).map((x) => [x.server, x.skipped])).entries()];
  if (skipped.length) lines.push('', ...skipped.map(([s, why]) => `Skipped: ${s}: ${why}`));
  return lines.join('\n');
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const dir = path.join(OUT, 'models');
  const info = makeModels(dir);
  const peers = ensurePeers(log);
  const rows = [];
  const files = {
    mlp: { savedModel: path.join(dir, 'mlp', '1'), onnx: path.join(dir, 'mlp.onnx') },
    cnn: { savedModel: path.join(dir, 'cnn', '1'), onnx: path.join(dir, 'cnn.onnx') },
  };
  for (const name of MODELS) await benchModel(name, files[name], info[name], peers, rows);
  const meta = {
    cli: CLI,
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? '?',
    cores: os.availableParallelism(),
    duration: DURATION,
    slices: SLICES,
    load: os.loadavg(),
  };
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify({ meta, rows }, null, 1));
  const md = markdown(rows, meta);
  fs.writeFileSync(path.join(OUT, 'results.md'), `${md}\n`);
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
