'use strict';
// `node bench/serve/profile.js`: where `tfhub-node serve` spends its CPU per REST predict request. Starts `serve`
// under a CPU profiler (bench/serve/profiled.js, started after a warm-up second) on the bench MLP (bench/serve/make_models.js), drives it with autocannon (batch-1
// predict requests, as bench:serve sends them), stops the profiler and prints
// the self time of the profile grouped by where it is spent (our REST JSON, batching, the model run, node:http,
// GC, ...) and the top functions, in ms of CPU per request.
//
// PROFILE_GRPC=1 drives gRPC Predict instead (bench/serve/grpc_load.js, PredictRequests with tensor_content);
// PROFILE_RATE=N makes the load open-loop at N requests/s (default 0: closed loop).
//
// Env: PROFILE_CONNECTIONS (default 1), PROFILE_SECONDS (default 8), PROFILE_MODEL (mlp|cnn, default mlp),
// PROFILE_BATCHING=1 (--enable_batching with bench:serve's parameters), PROFILE_TOP (default 25),
// BENCH_SERVE_CLI (default dist/src/cli.js).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const autocannon = require('autocannon');
const { makeModels } = require('./make_models');
const { freePort } = require('../free_port');
const { inputRow, BATCHING_TEXT } = require('./requests');
const { grpcSlice, predictRequest } = require('./grpc_load');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'bench', 'out', 'serve');
const CLI = process.env.BENCH_SERVE_CLI || path.join(ROOT, 'dist', 'src', 'cli.js');
const CONNECTIONS = Number(process.env.PROFILE_CONNECTIONS ?? 1);
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const MODEL = process.env.PROFILE_MODEL ?? 'mlp';
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const GRPC = process.env.PROFILE_GRPC === '1';
const RATE = Number(process.env.PROFILE_RATE ?? 0);

/** Where a profile node's self time goes. */
function categoryOf(frame) {
  const { functionName: fn, url } = frame;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (/\/src\/serving\/rest\//.test(url)) return 'REST layer (src/serving/rest)';
  if (/\/src\/serving\/grpc\//.test(url)) return 'gRPC layer (src/serving/grpc)';
  if (/\/src\/serving\/codec\//.test(url)) return 'codecs (src/serving/codec)';
  if (/node_modules\/@grpc\/grpc-js\//.test(url)) return '@grpc/grpc-js';
  if (/node_modules\/protobufjs\/|node_modules\/@protobufjs\/|node_modules\/long\//.test(url) || /^\(protobufjs\)/.test(url))
    return 'protobufjs';
  if (/^node:internal\/http2|^node:http2/.test(url)) return 'node:http2';
  if (/\/src\/batching\/|\/src\/hub\/batching/.test(url)) return 'batching';
  if (/\/src\/serving\//.test(url)) return 'model server (src/serving)';
  if (/\/src\/hub\/tf2\/|\/src\/session|\/src\/tensor|\/src\/core|\/src\/native/.test(url)) return 'signature call, tensors, session (src)';
  if (/\/src\//.test(url)) return 'other src';
  if (/^node:_http|^node:http|_http_/.test(url)) return 'node:http';
  if (/^node:net|^node:stream|internal\/streams|^node:internal\/stream/.test(url)) return 'streams, sockets';
  if (/^node:/.test(url)) return 'other node internals';
  if (url === '' && fn !== '') return `native: ${fn}`;
  return url ? 'other JS' : 'native (other)';
}

function summarize(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
  }
  const cats = new Map();
  const fns = new Map();
  let busy = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id).callFrame;
    const cat = categoryOf(frame);
    if (cat !== '(idle)') busy += us;
    cats.set(cat, (cats.get(cat) ?? 0) + us);
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const perReq = (us) => (us / 1000 / requests).toFixed(4);
  const lines = [
    `main-thread samples: ${(busy / 1e6).toFixed(2)} s busy over ${requests} requests = ${perReq(busy)} ms/request`,
    '',
    '| where | ms/request | share |',
    '| --- | ---: | ---: |',
  ];
  for (const [cat, us] of [...cats].sort((a, b) => b[1] - a[1])) {
    if (cat === '(idle)') continue;
    lines.push(`| ${cat} | ${perReq(us)} | ${((100 * us) / busy).toFixed(1)}% |`);
  }
  lines.push('', '| function | ms/request |', '| --- | ---: |');
  for (const [fn, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    if (fn.startsWith('(idle)')) continue;
    lines.push(`| \`${fn}\` | ${perReq(us)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const models = makeModels(path.join(OUT, 'models'));
  const info = models[MODEL];
  const base = path.join(OUT, 'models', MODEL);
  const row = inputRow(info.input_shape);
  const flat = row.flat(Infinity);
  const body = JSON.stringify({ instances: [row] });
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-prof-'));
  const port = await freePort();
  const grpcPort = GRPC ? await freePort() : 0;
  const args = [
    path.join(__dirname, 'profiled.js'),
    CLI,
    'serve',
    `--rest_api_port=${port}`,
    `--port=${grpcPort}`,
    '--model_name=m',
    `--model_base_path=${base}`,
  ];
  if (process.env.PROFILE_BATCHING === '1') {
    const file = path.join(profDir, 'batching.txt');
    fs.writeFileSync(file, BATCHING_TEXT);
    args.push('--enable_batching', `--batching_parameters_file=${file}`);
  }
  const profFile = path.join(profDir, 'load.cpuprofile');
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', PROFILE_OUT: profFile },
  });
  const reply = (what) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m === what) {
          child.off('message', on);
          resolve();
        }
      };
      child.on('message', on);
    });
  let log = '';
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      log += d;
      if (/Exporting HTTP\/REST API/.test(log)) resolve();
    });
    child.on('exit', () => reject(new Error(`serve exited: ${log}`)));
  });
  const url = `http://127.0.0.1:${port}/v1/models/m:predict`;
  const grpcAddress = `127.0.0.1:${grpcPort}`;
  const request = GRPC ? predictRequest(info.input, info.input_shape, flat) : null;
  const load = async (seconds) => {
    if (GRPC) {
      const g = await grpcSlice(grpcAddress, request, CONNECTIONS, seconds, RATE);
      const sorted = g.latencies.sort((a, b) => a - b);
      return { requests: g.ok, rps: g.ok / g.seconds, p50: sorted[Math.floor(sorted.length / 2)], errors: g.errors };
    }
    const a = await autocannon({ url, method: 'POST', body, connections: CONNECTIONS, duration: seconds, overallRate: RATE || undefined });
    return { requests: a.requests.total, rps: a.requests.average, p50: a.latency.p50, errors: a.errors + a.non2xx };
  };
  await load(1); // warm-up
  child.send('start');
  await reply('started');
  const r = await load(SECONDS);
  child.send('stop');
  await reply('stopped');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  const requests = r.requests;
  console.log(
    `${MODEL} ${GRPC ? 'gRPC' : 'REST'}, ${CONNECTIONS} connection(s), ${SECONDS} s: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, errors ${r.errors}`,
  );
  console.log(summarize(JSON.parse(fs.readFileSync(profFile, 'utf8')), requests));
  if (process.env.PROFILE_KEEP) fs.copyFileSync(profFile, process.env.PROFILE_KEEP);
  fs.rmSync(profDir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
