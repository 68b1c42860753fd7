'use strict';
// The peer runtimes of the serving benchmark, installed for the benchmark only (never package dependencies):
// onnxruntime-node and @tensorflow/tfjs-node in bench/out/peers/, by the install scripts of the shared peers
// folder (BENCH_PEER_SCRIPTS, default ../../shared/peers or ../shared/peers from the repository; see its
// README). A peer that is missing and cannot be installed is skipped, with the reason.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const PEERS_DIR = process.env.BENCH_PEERS_DIR || path.join(ROOT, 'bench', 'out', 'peers');

function scriptsDir() {
  const candidates = [
    process.env.BENCH_PEER_SCRIPTS,
    path.join(ROOT, '..', '..', 'shared', 'peers'),
    path.join(ROOT, '..', 'shared', 'peers'),
  ];
  return candidates.find((d) => d && fs.existsSync(path.join(d, 'install_ort.sh'))) ?? null;
}

function findWheel() {
  if (process.env.WHEEL) return process.env.WHEEL;
  for (const dir of ['/opt/pypi/files', '/opt/wheels']) {
    const f = fs.existsSync(dir) && fs.readdirSync(dir).find((n) => /^tensorflow_cpu-2\.21\.0-.*\.whl$/.test(n));
    if (f) return path.join(dir, f);
  }
  return null;
}

const PEERS = {
  ort: {
    module: 'onnxruntime-node',
    from: () => path.join(PEERS_DIR, 'ort'),
    script: 'install_ort.sh',
    env: () => ({ WORK: path.join(PEERS_DIR, 'ort') }),
  },
  tfjs: {
    module: '@tensorflow/tfjs-node',
    from: () => path.join(PEERS_DIR, 'tfjs', 'app'),
    script: 'install_tfjs_node.sh',
    env: () => ({
      WORK: path.join(PEERS_DIR, 'tfjs'),
      TFW: path.join(PEERS_DIR, 'tflib', 'tensorflow'),
      ...(findWheel() ? { WHEEL: findWheel() } : {}),
    }),
  },
};

function loads(peer) {
  const r = spawnSync(
    process.execPath,
    ['-e', `require(require.resolve(${JSON.stringify(peer.module)}, {paths: [${JSON.stringify(peer.from())}]}))`],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status === 0) return null;
  const lines = r.stderr.trim().split('\n');
  return (lines.find((l) => /^\w*Error\b|Cannot find module/.test(l.trim())) ?? lines[0] ?? `exit ${r.status}`).trim();
}

/** {ort: {ok, why}, tfjs: {ok, why}}: installs what is missing (BENCH_INSTALL_PEERS=0 to never install). */
function ensurePeers(log = (s) => process.stderr.write(`${s}\n`)) {
  const status = {};
  for (const [name, peer] of Object.entries(PEERS)) {
    let why = loads(peer);
    if (why && process.env.BENCH_INSTALL_PEERS !== '0') {
      const dir = scriptsDir();
      if (!dir) why = `not installed, and no install scripts found (set BENCH_PEER_SCRIPTS): ${why}`;
      else {
        log(`installing ${peer.module} (log: ${path.join(PEERS_DIR, `${name}.log`)}) …`);
        fs.mkdirSync(PEERS_DIR, { recursive: true });
        const out = fs.openSync(path.join(PEERS_DIR, `${name}.log`), 'a');
        const r = spawnSync('bash', [path.join(dir, peer.script)], {
          stdio: ['ignore', out, out],
          env: { ...process.env, ...peer.env() },
          timeout: 1_800_000,
        });
        fs.closeSync(out);
        why = r.status === 0 ? loads(peer) : `its install script failed (exit ${r.status}; see ${path.join(PEERS_DIR, `${name}.log`)})`;
      }
    }
    status[name] = { ok: !why, why, module: peer.module };
  }
  return status;
}

module.exports = { ensurePeers, PEERS_DIR };
