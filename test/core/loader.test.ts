// The TypeScript loader (src/native.ts): the environment is read once and checked, the addon is initialised
// explicitly, no python is spawned to find libtensorflow, and rejections of native async calls carry the caller's
// stack. Loader cases run in child processes (each needs a fresh process).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { Graph, Session, TFError } from '../../src';
import { DEFAULT_WORKER_NICE, readAddonEnvironment } from '../../src/native';

const SRC = path.resolve(__dirname, '..', '..', 'src');

/** Runs `code` in a fresh node with `env` added; returns its exit status and output. */
function child(code: string, env: Record<string, string>): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['-e', code], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const PROBE = `
const { Graph, Session } = require(${JSON.stringify(SRC)});
try {
  const g = new Graph();
  const x = g.constant([1, 2], 'x');
  const s = new Session(g);
  s.run(x).then((t) => console.log('ok', Array.from(t.data()).join(',')));
} catch (e) { console.log('error', e.constructor.name, e.code, e.message.split('\\n')[0]); }`;

describe('the loader', () => {
  it('reads and checks the numeric environment variables', () => {
    assert.deepEqual(readAddonEnvironment({}).runThreads, undefined);
    assert.equal(readAddonEnvironment({}).spinMicros, 100);
    assert.equal(readAddonEnvironment({ TFHUB_NODE_RUN_THREADS: '4', TFHUB_NODE_SPIN_US: '0' }).runThreads, 4);
    assert.equal(readAddonEnvironment({ TFHUB_NODE_SPIN_US: '0' }).spinMicros, 0);
    assert.equal(readAddonEnvironment({}).waitMicros, 0);
    assert.equal(readAddonEnvironment({ TFHUB_NODE_WAIT_US: '200' }).waitMicros, 200);
    assert.equal(readAddonEnvironment({}).workerNice, DEFAULT_WORKER_NICE);
    assert.equal(readAddonEnvironment({ TFHUB_NODE_WORKER_NICE: '0' }).workerNice, 0);
    assert.equal(readAddonEnvironment({ TFHUB_NODE_WORKER_NICE: '19' }).workerNice, 19);
    for (const [name, value] of [
      ['TFHUB_NODE_RUN_THREADS', '0'],
      ['TFHUB_NODE_RUN_THREADS', '1025'],
      ['TFHUB_NODE_RUN_THREADS', 'many'],
      ['TFHUB_NODE_RUN_THREADS', '-2'],
      ['TFHUB_NODE_RUN_THREADS', '1.5'],
      ['TFHUB_NODE_RUN_THREADS', '9'.repeat(400)],
      ['TFHUB_NODE_SPIN_US', '100001'],
      ['TFHUB_NODE_SPIN_US', '-1'],
      ['TFHUB_NODE_SPIN_US', '1e3'],
      ['TFHUB_NODE_WAIT_US', '100001'],
      ['TFHUB_NODE_WAIT_US', 'x'],
      ['TFHUB_NODE_WORKER_NICE', '20'],
      ['TFHUB_NODE_WORKER_NICE', '-5'],
      ['TFHUB_NODE_WORKER_NICE', 'low'],
    ]) {
      assert.throws(
        () => readAddonEnvironment({ [name]: value }),
        (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_INVALID_ENV' && e.message.includes(name),
        `${name}=${value}`,
      );
    }
  });

  it('passes the run-thread and spin settings to the addon (runs work with 1 thread and no polling)', () => {
    const r = child(PROBE, { TFHUB_NODE_RUN_THREADS: '1', TFHUB_NODE_SPIN_US: '0' });
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /^ok 1,2$/m);
  });

  it('a bad TFHUB_NODE_RUN_THREADS is a typed error at first use, not a silent default', () => {
    const r = child(PROBE, { TFHUB_NODE_RUN_THREADS: '0' });
    assert.match(r.out, /^error RangeError ERR_INVALID_ENV TFHUB_NODE_RUN_THREADS="0"/m, r.out);
  });

  it('a missing libtensorflow is ERR_TF_NOT_FOUND, found without spawning python', () => {
    const code = `
const cp = require('node:child_process');
for (const k of ['spawn', 'spawnSync', 'execFileSync', 'execSync', 'exec', 'execFile']) {
  const orig = cp[k];
  cp[k] = (...a) => { console.log('spawned', a[0]); return orig(...a); };
}
${PROBE}`;
    const r = child(code, { TFHUB_NODE_LIBTENSORFLOW: '/nonexistent/libtensorflow.so.2', PYTHON: '/nonexistent/python3' });
    assert.match(r.out, /^error TfhubError ERR_TF_NOT_FOUND /m, r.out);
    assert.doesNotMatch(r.out, /spawned/, r.out);
    const ok = child(code, {});
    assert.match(ok.out, /^ok 1,2$/m, ok.out);
    assert.doesNotMatch(ok.out, /spawned/, ok.out);
  });
});

describe("async rejections carry the caller's stack", () => {
  it('Session.run: a TF error names the calling function', async () => {
    const g = new Graph();
    const v = g.addOperation('VarHandleOp', { name: 'v', attrs: { dtype: 'float32', shape: [] } }).output(0);
    const read = g.addOperation('ReadVariableOp', { inputs: [v], attrs: { dtype: 'float32' } }).output(0);
    const s = new Session(g);
    async function callerOfRun(): Promise<unknown> {
      return s.run(read);
    }
    const e = await callerOfRun().then(
      () => null,
      (err: unknown) => err as TFError,
    );
    assert.ok(e instanceof TFError, String(e));
    assert.equal(e.code, 'FAILED_PRECONDITION');
    assert.match(e.stack ?? '', /callerOfRun/, e.stack);
    assert.match(e.stack ?? '', /loader\.test\.js/);
    s.close();
    g.dispose();
  });

  it('Graph.importGraphDefAsync: a TF error names the calling function', async () => {
    const g = new Graph();
    async function callerOfImport(): Promise<unknown> {
      return g.importGraphDefAsync(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
    }
    const e = await callerOfImport().then(
      () => null,
      (err: unknown) => err as TFError,
    );
    assert.ok(e instanceof TFError, String(e));
    assert.match(e.stack ?? '', /callerOfImport/, e.stack);
    g.dispose();
  });
});
