'use strict';
// Test set-up run by `npm test`: a Python virtual environment (.venv-test/) with the packages of
// test/requirements.txt, which the suites use as oracles (TensorFlow) and as real clients (grpcio).
// test/all.ts puts .venv-test/bin first on PATH, so every `python3` a test spawns is this one.
// Outside CI a failure only warns (those tests then skip with a message); with CI=true it fails the run.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const venv = path.join(root, '.venv-test');
const requirements = path.join(root, 'test', 'requirements.txt');
const stamp = path.join(venv, '.requirements');
const strict = process.env.CI === 'true' || process.env.CI === '1';

function log(msg) {
  process.stderr.write(`python-env: ${msg}\n`);
}

function run(cmd, args, timeoutMs) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: timeoutMs });
  if (r.error) return `${cmd}: ${r.error.message}`;
  if (r.status !== 0) return `${cmd} ${args.slice(0, 3).join(' ')}… exited with ${r.status ?? r.signal}`;
  return null;
}

function main() {
  if (process.env.TFHUB_PYTHON) return 0; // the caller chose an interpreter
  const wanted = fs.readFileSync(requirements, 'utf8');
  const python = path.join(venv, 'bin', 'python3');
  if (fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return 0;
  const base = process.env.PYTHON || 'python3';
  log(`creating ${path.relative(root, venv)} with ${base} and installing test/requirements.txt`);
  const err =
    (!fs.existsSync(python) && run(base, ['-m', 'venv', venv], 120_000)) ||
    run(python, ['-m', 'pip', 'install', '--retries', '0', '--disable-pip-version-check', '-q', '-r', requirements], 20 * 60_000);
  if (err) {
    log(`${err}; the tests that need Python TensorFlow or grpcio will be skipped`);
    return strict ? 1 : 0;
  }
  fs.writeFileSync(stamp, wanted);
  return 0;
}

process.exitCode = main();
