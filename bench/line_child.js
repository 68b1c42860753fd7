'use strict';
// The measurement-child protocol shared by the interleaved benchmarks (bench/run.js, bench/peers/run.js): the
// parent writes one request line, the child answers one JSON line; TensorFlow's log noise on stderr is dropped.
const readline = require('node:readline');
const { spawn } = require('node:child_process');

/** TensorFlow start-up lines that say nothing about the run. */
const NOISE = /^(I0000|W0000|WARNING: All log messages|To enable the following instructions|\s*$)/;

/** Spawns `cmd args` (options as for spawn); request(line) resolves with the child's next JSON line. */
function startLineChild(name, cmd, args, options, log) {
  const child = spawn(cmd, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting = [];
  let failed = null;
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiting.shift();
    if (!w) return;
    try {
      w.resolve(JSON.parse(line));
    } catch {
      w.reject(new Error(`${name}: bad reply ${line.slice(0, 200)}`));
    }
  });
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    if (!NOISE.test(line)) log(`  [${name}] ${line}`);
  });
  child.on('error', (e) => {
    failed = e;
  });
  child.on('exit', (code) => {
    failed ??= new Error(`${name} exited with status ${code}`);
    while (waiting.length) waiting.shift().reject(failed);
  });
  const next = () => new Promise((resolve, reject) => (failed ? reject(failed) : waiting.push({ resolve, reject })));
  return {
    ready: next(),
    request(line) {
      const p = next();
      child.stdin.write(line + '\n');
      return p;
    },
    close() {
      child.stdin.end('quit\n');
    },
  };
}

module.exports = { NOISE, startLineChild };
