'use strict';
// Finds (and, at install time, obtains) the TensorFlow C library and headers.
// Shared by the install script, the build files (include dir) and the runtime loader.
//
// Search order (documented in the README):
//   1. LIBTENSORFLOW_DIR      a directory with the library and headers (official archive or custom build)
//   2. Python tensorflow      an installed `tensorflow` / `tensorflow-cpu` package (python3 or $PYTHON)
//   3. per-user cache         $TFHUB_NODE_CACHE or ${XDG_CACHE_HOME:-~/.cache}/tfhub-node/libtensorflow-<ver>
//   4. pip download           `pip download tensorflow-cpu==<ver>`, extracting only the C API into the cache
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const TF_VERSION = '2.21.0';
const LIBRARY_NAMES = ['libtensorflow_cc.so.2', 'libtensorflow.so.2', 'libtensorflow_cc.so', 'libtensorflow.so'];
const FRAMEWORK = 'libtensorflow_framework.so.2';
const PACKAGE_ROOT = path.resolve(__dirname, '..');
const RECORD_FILE = path.join(PACKAGE_ROOT, 'deps', 'libtensorflow.json');

function log(msg) {
  if (!process.env.TFHUB_NODE_QUIET) process.stderr.write(`tfhub-node: ${msg}\n`);
}

/** A candidate directory is usable when it has the shared library and c_api.h. */
function inspectDir(dir, withHeaders) {
  if (!dir || !fs.existsSync(dir)) return { ok: false, why: 'does not exist' };
  const libDirs = [dir, path.join(dir, 'lib'), path.join(dir, 'lib64')];
  let library = null;
  for (const d of libDirs) {
    for (const name of LIBRARY_NAMES) {
      const p = path.join(d, name);
      if (fs.existsSync(p)) {
        library = p;
        break;
      }
    }
    if (library) break;
  }
  if (!library) return { ok: false, why: `no ${LIBRARY_NAMES.slice(0, 2).join(' or ')}` };
  const includeDir = path.join(dir, 'include');
  const hasHeaders = fs.existsSync(path.join(includeDir, 'tensorflow', 'c', 'c_api.h'));
  if (withHeaders && !hasHeaders) return { ok: false, why: 'no include/tensorflow/c/c_api.h' };
  return { ok: true, library, includeDir: hasHeaders ? includeDir : null };
}

function userCacheDir(env = process.env) {
  if (env.TFHUB_NODE_CACHE) return path.join(env.TFHUB_NODE_CACHE, `libtensorflow-${TF_VERSION}`);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'tfhub-node', `libtensorflow-${TF_VERSION}`);
}

function python() {
  return process.env.PYTHON || 'python3';
}

/** Where an installed Python tensorflow package lives, without importing it (importing costs seconds). */
function pythonTensorflowDir() {
  const code = [
    'import importlib.util, importlib.metadata, json',
    'spec = importlib.util.find_spec("tensorflow")',
    'ver = None',
    'for d in ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly"):',
    '    try: ver = importlib.metadata.version(d); break',
    '    except Exception: pass',
    'print(json.dumps({"dir": list(spec.submodule_search_locations)[0] if spec else None, "version": ver}))',
  ].join('\n');
  const r = spawnSync(python(), ['-c', code], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) return { dir: null, why: r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop() };
  try {
    return JSON.parse(r.stdout.trim());
  } catch {
    return { dir: null, why: 'unreadable answer from python' };
  }
}

/**
 * Finds libtensorflow without downloading. Returns {library, includeDir, source, tried[]}; library null if none.
 * withHeaders: only accept places that also have the C headers (needed to build the addon).
 */
function locate({ withHeaders = false } = {}) {
  const tried = [];
  const envDir = process.env.LIBTENSORFLOW_DIR;
  if (envDir) {
    const r = inspectDir(envDir, withHeaders);
    if (r.ok) return { ...r, source: 'LIBTENSORFLOW_DIR', tried };
    tried.push(`LIBTENSORFLOW_DIR=${envDir}: ${r.why}`);
  } else {
    tried.push('LIBTENSORFLOW_DIR: not set');
  }
  if (!process.env.TFHUB_NODE_SKIP_PYTHON) {
    const py = pythonTensorflowDir();
    if (py.dir) {
      const r = inspectDir(py.dir, withHeaders);
      if (r.ok) {
        if (py.version && !py.version.startsWith('2.')) tried.push(`python tensorflow ${py.version}: not TensorFlow 2`);
        else {
          if (py.version && !py.version.startsWith(TF_VERSION.slice(0, 4)))
            log(`using Python tensorflow ${py.version} (tested with ${TF_VERSION})`);
          return { ...r, source: `python tensorflow ${py.version || ''}`.trim(), tried };
        }
      } else tried.push(`python tensorflow at ${py.dir}: ${r.why}`);
    } else tried.push(`python tensorflow (${python()}): ${py.why || 'not installed'}`);
  }
  const cache = userCacheDir();
  const r = inspectDir(cache, withHeaders);
  if (r.ok) return { ...r, source: 'user cache', tried };
  tried.push(`user cache ${cache}: ${r.why}`);
  return { library: null, includeDir: null, source: null, tried };
}

/** Downloads the tensorflow-cpu wheel with pip and extracts the C API into the user cache. */
function downloadIntoCache(tried) {
  const cache = userCacheDir();
  const parent = path.dirname(cache);
  fs.mkdirSync(parent, { recursive: true });
  const work = fs.mkdtempSync(path.join(parent, '.download-'));
  try {
    log(`downloading tensorflow-cpu==${TF_VERSION} with pip (about 260 MB) ...`);
    const args = [
      '-m',
      'pip',
      'download',
      `tensorflow-cpu==${TF_VERSION}`,
      '--no-deps',
      '--only-binary=:all:',
      '--retries',
      process.env.TFHUB_NODE_PIP_RETRIES || '0',
      '--timeout',
      '60',
      '--progress-bar',
      'off',
      '-d',
      work,
    ];
    const dl = spawnSync(python(), args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 30 * 60 * 1000 });
    const wheel = fs.existsSync(work) && fs.readdirSync(work).find((f) => f.endsWith('.whl'));
    if (dl.status !== 0 || !wheel) {
      tried.push(`pip download tensorflow-cpu==${TF_VERSION}: ${dl.error ? dl.error.message : `exit ${dl.status}`}`);
      return null;
    }
    const staging = path.join(work, 'extract');
    const ex = spawnSync(python(), [path.join(__dirname, 'extract-wheel.py'), path.join(work, wheel), staging], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    if (ex.status !== 0) {
      tried.push(`extracting ${wheel}: exit ${ex.status}`);
      return null;
    }
    // Atomic publish: a half-extracted cache is never visible to other installs.
    fs.rmSync(cache, { recursive: true, force: true });
    fs.renameSync(staging, cache);
    log(`libtensorflow cached in ${cache}`);
    return inspectDir(cache, true);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function notFoundMessage(tried) {
  return [
    'tfhub-node: could not find or obtain libtensorflow (TensorFlow ' + TF_VERSION + ' C API). Looked at:',
    ...tried.map((t) => '  - ' + t),
    'Fix one of:',
    '  - set LIBTENSORFLOW_DIR to a directory holding libtensorflow(_cc).so.2 and include/tensorflow/c/c_api.h',
    `  - pip install tensorflow-cpu==${TF_VERSION} (set PYTHON to pick the interpreter)`,
    `  - make pip able to download tensorflow-cpu==${TF_VERSION} (PIP_INDEX_URL / pip.conf), then npm rebuild tfhub-node`,
  ].join('\n');
}

/** Install-time: locate or download; records the result in deps/libtensorflow.json. Throws if nothing works. */
function ensure() {
  let found = locate({ withHeaders: true });
  if (!found.library && !process.env.TFHUB_NODE_NO_DOWNLOAD) {
    const r = downloadIntoCache(found.tried);
    if (r && r.ok) found = { ...r, source: 'pip download', tried: found.tried };
  } else if (!found.library) {
    found.tried.push('pip download: disabled by TFHUB_NODE_NO_DOWNLOAD');
  }
  if (!found.library) throw new Error(notFoundMessage(found.tried));
  fs.mkdirSync(path.dirname(RECORD_FILE), { recursive: true });
  fs.writeFileSync(
    RECORD_FILE,
    JSON.stringify({ library: found.library, includeDir: found.includeDir, source: found.source, version: TF_VERSION }, null, 2) + '\n',
  );
  return found;
}

/** What install recorded, if it still exists. */
function recorded() {
  try {
    const r = JSON.parse(fs.readFileSync(RECORD_FILE, 'utf8'));
    if (r && typeof r.library === 'string' && fs.existsSync(r.library)) return r;
  } catch {
    /* not recorded */
  }
  return null;
}

/**
 * Run-time choice of the shared library, without spawning anything (no python, no download): `override`
 * (TFHUB_NODE_LIBTENSORFLOW, a file or a directory, e.g. a CUDA build) → what install recorded in
 * deps/libtensorflow.json → LIBTENSORFLOW_DIR → the per-user cache. `env` is the caller's snapshot of the
 * environment (src/native.ts reads it once). Returns {library, source, tried[]}; library null if none.
 */
function runtimeLibrary(env = process.env) {
  const override = env.TFHUB_NODE_LIBTENSORFLOW;
  if (override) {
    if (fs.existsSync(override) && fs.statSync(override).isFile())
      return { library: override, source: 'TFHUB_NODE_LIBTENSORFLOW', tried: [] };
    const r = inspectDir(override, false);
    if (r.ok) return { library: r.library, source: 'TFHUB_NODE_LIBTENSORFLOW', tried: [] };
    return { library: null, source: null, tried: [`TFHUB_NODE_LIBTENSORFLOW=${override}: ${r.why}`] };
  }
  const rec = recorded();
  if (rec) return { library: rec.library, source: rec.source, tried: [] };
  const tried = [`${RECORD_FILE}: missing or stale (run npm rebuild tfhub-node)`];
  if (env.LIBTENSORFLOW_DIR) {
    const r = inspectDir(env.LIBTENSORFLOW_DIR, false);
    if (r.ok) return { library: r.library, source: 'LIBTENSORFLOW_DIR', tried };
    tried.push(`LIBTENSORFLOW_DIR=${env.LIBTENSORFLOW_DIR}: ${r.why}`);
  }
  const cache = userCacheDir(env);
  const r = inspectDir(cache, false);
  if (r.ok) return { library: r.library, source: 'user cache', tried };
  tried.push(`user cache ${cache}: ${r.why}`);
  return { library: null, source: null, tried };
}

/** Include directory for the build files. */
function includeDir() {
  const rec = recorded();
  if (rec && rec.includeDir) return rec.includeDir;
  const found = locate({ withHeaders: true });
  if (!found.includeDir) throw new Error(notFoundMessage(found.tried));
  return found.includeDir;
}

module.exports = { TF_VERSION, FRAMEWORK, ensure, locate, recorded, runtimeLibrary, includeDir, userCacheDir, notFoundMessage };

if (require.main === module) {
  const cmd = process.argv[2];
  try {
    if (cmd === 'include-dir') process.stdout.write(includeDir());
    else if (cmd === 'ensure') {
      const r = ensure();
      log(`libtensorflow: ${r.library} (${r.source})`);
    } else {
      process.stderr.write('usage: libtensorflow.js include-dir|ensure\n');
      process.exit(2);
    }
  } catch (e) {
    process.stderr.write(e.message + '\n');
    process.exit(1);
  }
}
