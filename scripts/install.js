'use strict';
// npm install hook: make sure libtensorflow is available (finding or downloading it), then load the prebuilt
// addon for this platform or build it from source (node-gyp-build).
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const libtensorflow = require('./libtensorflow');

const root = path.resolve(__dirname, '..');

function main() {
  let found;
  try {
    found = libtensorflow.ensure();
  } catch (e) {
    process.stderr.write(e.message + '\n');
    return 1;
  }
  process.stderr.write(`tfhub-node: libtensorflow ${found.library} (${found.source})\n`);
  const bin = require.resolve('node-gyp-build/bin.js');
  const r = spawnSync(process.execPath, [bin], { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    process.stderr.write('tfhub-node: building the native addon failed; see docs/troubleshooting.md\n');
    return r.status || 1;
  }
  return 0;
}

process.exitCode = main();
