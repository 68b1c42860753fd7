'use strict';
// `node bench/serve/cpu.js`: server CPU per request of `tfhub-node serve`, REST against gRPC, this build against
// another one (BENCH_SERVE_BASE_CLI), in one interleaved run. Every server (one per build and protocol) runs in
// its own process on the bench MLP; the load (autocannon for REST, bench/serve/grpc_load.js for gRPC: batch-1
// predict requests as bench:serve sends them) visits them in rotation, one short slice each, the order rotating
// per round, so drifts in machine load hit all alike. The load is open-loop at a fixed rate (CPU_RATE requests/s,
// below what every server sustains), so that every server handles the same request stream: closed-loop load
// would let a faster moment coalesce more requests per event-loop turn and lower the CPU per request. Per slice the server's CPU is read from /proc: the whole
// process (utime+stime of every thread) and its main (JS) thread alone (schedstat, in ns), which carries the
// protocol and conversion work; TensorFlow's threads are the rest. Reported: the median over slices of CPU ms per answered
// request, with the range, and requests/s.
//
// With CPU_FLOOR=1 two more servers run in the rotation: bench/serve/servers/echo.js over node:http and over
// @grpc/grpc-js, which answer fixed bytes of a Predict answer's size and do nothing else: their CPU per request
// is the HTTP stack's own, the floor under each protocol.
//
// Env: CPU_ROUNDS (default 8), CPU_SLICE_S (default 2), CPU_CONNECTIONS (default 8), CPU_RATE (default 300;
// 0 = closed loop), CPU_MODEL (mlp|cnn, default
// mlp), CPU_BATCHING=1 (--enable_batching with bench:serve's parameters), BENCH_SERVE_CLI (default this build's
// dist/src/cli.js), BENCH_SERVE_BASE_CLI (a second build's cli.js; optional), CPU_GRPC_ARGS (extra
// --grpc_channel_arguments for every server).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn, spawnSync } = require('node:child_process');
const autocannon = require('autocannon');
const { makeModels } = require('./make_models');
const { freePort } = require('../free_port');
const { inputRow, BATCHING_TEXT } = require('./requests');
const { grpcSlice, predictRequest } = require('./grpc_load');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'bench', 'out', 'serve');
const CLI = process.env.BENCH_SERVE_CLI || path.join(ROOT, 'dist', 'src', 'cli.js');
const BASE_CLI = process.env.BENCH_SERVE_BASE_CLI || '';
const ROUNDS = Number(process.env.CPU_ROUNDS ?? 8);
const SLICE_S = Number(process.env.CPU_SLICE_S ?? 2);
const CONNECTIONS = Number(process.env.CPU_CONNECTIONS ?? 8);
const RATE = Number(process.env.CPU_RATE ?? 300);
const MODEL = process.env.CPU_MODEL ?? 'mlp';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU ms of the whole process (utime+stime ticks of every thread) and of its main thread (schedstat, ns). */
function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const main = Number(fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  return { all: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK, main };
}

async function startServer(cli, label, batchingFile) {
  const rest = await freePort();
  const grpc = await freePort();
  const args = [
    cli,
    'serve',
    `--rest_api_port=${rest}`,
    `--port=${grpc}`,
    '--model_name=m',
    `--model_base_path=${path.join(OUT, 'models', MODEL)}`,
  ];
  if (batchingFile) args.push('--enable_batching', `--batching_parameters_file=${batchingFile}`);
  if (process.env.CPU_GRPC_ARGS) args.push(`--grpc_channel_arguments=${process.env.CPU_GRPC_ARGS}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start: ${log}`)), 180_000);
    child.stderr.on('data', (d) => {
      log = (log + d).slice(-4000);
      if (/Exporting HTTP\/REST API/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`${label} exited: ${log}`)));
  });
  // The REST port answers once the server is up (the line above comes after listen).
  await new Promise((resolve) => net.connect(rest, '127.0.0.1', resolve).on('error', resolve));
  return { child, rest, grpc };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const info = makeModels(path.join(OUT, 'models'))[MODEL];
  const row = inputRow(info.input_shape);
  const flat = row.flat(Infinity);
  const body = JSON.stringify({ instances: [row] });
  const request = predictRequest(info.input, info.input_shape, flat);
  let batchingFile = null;
  if (process.env.CPU_BATCHING === '1') {
    batchingFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-cpu-')), 'batching.txt');
    fs.writeFileSync(batchingFile, BATCHING_TEXT);
  }
  const builds = [['this build', CLI]];
  if (BASE_CLI) builds.push(['base', BASE_CLI]);
  const cells = [];
  const servers = [];
  try {
    if (process.env.CPU_FLOOR === '1') {
      for (const [protocol, size] of [
        ['REST', 3000],
        ['gRPC', 1100],
      ]) {
        const port = await freePort();
        const child = spawn(
          process.execPath,
          [path.join(__dirname, 'servers', 'echo.js'), protocol.toLowerCase(), String(port), String(size)],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        await new Promise((resolve) => child.stdout.once('data', resolve));
        const s = { child, rest: port, grpc: port };
        servers.push(s);
        cells.push({ build: `echo (${protocol === 'REST' ? 'node:http' : '@grpc/grpc-js'})`, protocol, s, slices: [] });
      }
    }
    for (const [build, cli] of builds) {
      // One process per cell: a server that answered the other protocol before would carry its warm state.
      for (const protocol of ['REST', 'gRPC']) {
        const s = await startServer(cli, `${build} ${protocol}`, batchingFile);
        servers.push(s);
        cells.push({ build, protocol, s, slices: [] });
      }
    }
    const load = (c, seconds) =>
      c.protocol === 'gRPC'
        ? grpcSlice(`127.0.0.1:${c.s.grpc}`, request, CONNECTIONS, seconds, RATE).then((r) => ({
            ok: r.ok,
            errors: r.errors,
            seconds: r.seconds,
          }))
        : autocannon({
            url: `http://127.0.0.1:${c.s.rest}/v1/models/m:predict`,
            method: 'POST',
            body,
            connections: CONNECTIONS,
            duration: seconds,
            overallRate: RATE || undefined,
          }).then((r) => ({ ok: r['2xx'], errors: r.errors + r.timeouts + r.non2xx, seconds: r.duration }));
    for (const c of cells) await load(c, 1); // warm-up
    for (let k = 0; k < ROUNDS; k++) {
      for (let j = 0; j < cells.length; j++) {
        const c = cells[(j + k) % cells.length];
        const t0 = cpuMs(c.s.child.pid);
        const r = await load(c, SLICE_S);
        const t1 = cpuMs(c.s.child.pid);
        c.slices.push({
          ok: r.ok,
          errors: r.errors,
          rps: r.ok / r.seconds,
          all: (t1.all - t0.all) / r.ok,
          main: (t1.main - t0.main) / r.ok,
        });
      }
      process.stderr.write(`round ${k + 1}/${ROUNDS}\n`);
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
  }
  const range = (xs) => `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})`;
  const lines = [
    `${MODEL}, ${CONNECTIONS} connections${RATE ? ` at ${RATE} requests/s` : ''}, ${ROUNDS} rounds of ${SLICE_S} s slices${batchingFile ? ', --enable_batching' : ''}; ${os.cpus()[0]?.model ?? '?'} (${os.availableParallelism()} cores), load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}, ${new Date().toISOString()}`,
    '',
    '| build | protocol | req/s (median) | server CPU ms/req, process: median (range) | main thread: median (range) | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const c of cells) {
    lines.push(
      `| ${c.build} | ${c.protocol} | ${median(c.slices.map((x) => x.rps)).toFixed(0)} | ${range(c.slices.map((x) => x.all))} | ${range(c.slices.map((x) => x.main))} | ${c.slices.reduce((a, x) => a + x.errors, 0)} |`,
    );
  }
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
