// The cache lock protocol: concurrent resolution from several processes (one download), a killed downloader's lock
// taken over at once, dead-owner and inactivity take-overs, waiting while the holder makes progress, and Python's
// lock format. Ports resolver_test.py's lock cases by name.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { cacheEntryName, lockOwnerIsDead, resolve } from '../../src/hub/resolver';
import { CHILD, FIXTURES, TestServer, ls, rejection, rmrf, serve, sleep, tarballOf, useServerAndCache, waitFor } from './helpers/util';

interface ChildResult {
  ok: boolean;
  path?: string;
  code?: string;
  message?: string;
}

function spawnResolver(
  handle: string,
  options: Record<string, unknown>,
  env: Record<string, string> = {},
): { proc: ChildProcess; done: Promise<{ result?: ChildResult; code: number | null; signal: string | null; stderr: string }> } {
  const proc = spawn(process.execPath, [CHILD, JSON.stringify({ handle, options, env })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (err += c));
  const done = new Promise<{ result?: ChildResult; code: number | null; signal: string | null; stderr: string }>((res) => {
    proc.on('exit', (code, signal) => {
      const lines = out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ChildResult & { started?: number });
      res({ result: lines.find((l) => l.started === undefined), code, signal, stderr: err });
    });
  });
  return { proc, done };
}

describe('resolver: locks and concurrency', () => {
  let server: TestServer;
  let mlpTgz: Buffer;
  let root: string;
  let cache: string;

  useServerAndCache((s) => ({ server, root, cache } = s), { createCache: true });
  before(async () => {
    mlpTgz = await tarballOf(path.join(FIXTURES, 'mlp_v1'), true);
  });

  /** A route serving the mlp_v1 archive slowly (after `delayMs`, in chunks). */
  function slowArchive(delayMs: number) {
    return (_req: unknown, res: import('node:http').ServerResponse) => {
      setTimeout(() => {
        res.writeHead(200, { 'Content-Length': mlpTgz.length });
        let off = 0;
        const step = (): void => {
          if (off >= mlpTgz.length) return void res.end();
          res.write(mlpTgz.subarray(off, off + 8192));
          off += 8192;
          setTimeout(step, 10);
        };
        step();
      }, delayMs);
    };
  }

  const entryOf = (handle: string) => path.join(cache, cacheEntryName(handle));

  it('4 processes resolving one new handle at once: exactly one download, one entry, all get it', async () => {
    server.routes.set('/shared/1', slowArchive(500));
    const handle = `${server.base}/shared/1`;
    const children = Array.from({ length: 4 }, () =>
      spawnResolver(handle, { cacheDir: cache, lockPollIntervalMs: 20, retryDelayMs: 5 }, { TFHUB_DOWNLOAD_PROGRESS: '1' }),
    );
    const results = await Promise.all(children.map((c) => c.done));
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.result, { ok: true, path: entryOf(handle) }, r.stderr);
    }
    const downloaded = results.filter((r) => /Downloaded /.test(r.stderr));
    const waited = results.filter((r) => /already being downloaded by '.+'\. Waiting\./.test(r.stderr));
    assert.equal(downloaded.length, 1);
    assert.ok(waited.length >= 1, 'the others waited on the lock');
    assert.equal(server.hits('/shared/1').length, 1);
    assert.deepEqual(ls(cache), [cacheEntryName(handle), `${cacheEntryName(handle)}.descriptor.txt`]);
    assert.deepEqual(ls(entryOf(handle)), ['saved_model.pb', 'tfhub_module.pb', 'variables']);
  });

  it('concurrent resolve() calls in one process: one download', async () => {
    server.routes.set('/same/1', slowArchive(150));
    const handle = `${server.base}/same/1`;
    const paths = await Promise.all([1, 2, 3].map(() => resolve(handle, { cacheDir: cache, lockPollIntervalMs: 20 })));
    assert.deepEqual(paths, [entryOf(handle), entryOf(handle), entryOf(handle)]);
    assert.equal(server.requests.length, 1);
  });

  it('a killed downloader: its lock is taken over at once (same host, pid gone) and its temp dir removed', async () => {
    const handle = `${server.base}/killme/1`;
    let first: import('node:http').ServerResponse | null = null;
    server.routes.set('/killme/1', (req, res) => {
      if (!first) {
        first = res;
        res.writeHead(200, { 'Content-Length': mlpTgz.length });
        res.write(mlpTgz.subarray(0, 3000)); // then hang
        return;
      }
      serve(mlpTgz)(req, res, new URL('http://x'));
    });
    const child = spawnResolver(handle, { cacheDir: cache, lockTimeoutMs: 600_000 });
    const lock = `${entryOf(handle)}.lock`;
    const tmps = () => ls(cache).filter((n) => n.endsWith('.tmp'));
    await waitFor(() => fs.existsSync(lock) && tmps().length === 1 && first !== null, 15_000, 'the child to start downloading');
    assert.match(fs.readFileSync(lock, 'utf8'), new RegExp(`^${os.hostname().replace(/\./g, '\\.')}\\.${child.proc.pid}\\.[0-9a-f]{32}$`));
    child.proc.kill('SIGKILL');
    const exit = await child.done;
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(fs.existsSync(lock), 'SIGKILL leaves the lock behind');
    assert.equal(lockOwnerIsDead(fs.readFileSync(lock, 'utf8')), true);

    const t0 = Date.now();
    const p = await resolve(handle, { cacheDir: cache, lockTimeoutMs: 600_000, lockPollIntervalMs: 20 });
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.equal(p, entryOf(handle));
    assert.deepEqual(ls(cache), [cacheEntryName(handle), `${cacheEntryName(handle)}.descriptor.txt`], 'dead temp dir and lock removed');
    assert.deepEqual(ls(p), ['saved_model.pb', 'tfhub_module.pb', 'variables']);
    (first as import('node:http').ServerResponse | null)?.destroy();
  });

  it('a lock of an exited process on this host is taken over immediately, with its temp dir', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    server.routes.set('/m.tar.gz', serve(mlpTgz));
    const handle = `${server.base}/m.tar.gz`;
    const uid = 'deadbeefdeadbeefdeadbeefdeadbeef';
    fs.writeFileSync(`${entryOf(handle)}.lock`, `${os.hostname()}.${dead}.${uid}`);
    fs.mkdirSync(`${entryOf(handle)}.${uid}.tmp/variables`, { recursive: true });
    fs.writeFileSync(`${entryOf(handle)}.${uid}.tmp/variables/partial`, 'x');
    const t0 = Date.now();
    await resolve(handle, { cacheDir: cache, lockTimeoutMs: 600_000, lockPollIntervalMs: 20 });
    assert.ok(Date.now() - t0 < 3000);
    assert.deepEqual(ls(cache), [cacheEntryName(handle), `${cacheEntryName(handle)}.descriptor.txt`]);
  });

  describe('resolver_test.py', () => {
    it('waiting ends when the lock is removed (the holder finished): no download of our own', async () => {
      server.routes.set('/m.tar.gz', serve(mlpTgz));
      const handle = `${server.base}/m.tar.gz`;
      const entry = entryOf(handle);
      // A live process on this host holds the lock (Python's format: <hostname>.<pid>.<uid>).
      fs.writeFileSync(`${entry}.lock`, `${os.hostname()}.${process.ppid}.0123456789abcdef`);
      setTimeout(() => {
        fs.cpSync(path.join(FIXTURES, 'mlp_v1'), entry, { recursive: true });
        fs.unlinkSync(`${entry}.lock`);
      }, 300);
      const t0 = Date.now();
      assert.equal(await resolve(handle, { cacheDir: cache, lockPollIntervalMs: 20 }), entry);
      assert.ok(Date.now() - t0 >= 250);
      assert.equal(server.requests.length, 0);
    });

    it("keeps waiting while the holder's temp dir grows, past the lock timeout", async () => {
      server.routes.set('/m.tar.gz', serve(mlpTgz));
      const handle = `${server.base}/m.tar.gz`;
      const entry = entryOf(handle);
      const uid = 'aaaabbbbccccdddd';
      const tmp = `${entry}.${uid}.tmp`;
      fs.writeFileSync(`${entry}.lock`, `otherhost.example.1234.${uid}`);
      fs.mkdirSync(tmp);
      let i = 0;
      const grow = setInterval(() => fs.writeFileSync(path.join(tmp, `part${i++}`), 'x'.repeat(100)), 100);
      setTimeout(() => {
        clearInterval(grow);
        fs.writeFileSync(path.join(tmp, 'saved_model.pb'), 'graph');
        fs.renameSync(tmp, entry);
        fs.unlinkSync(`${entry}.lock`);
      }, 1800);
      const t0 = Date.now();
      assert.equal(await resolve(handle, { cacheDir: cache, lockTimeoutMs: 500, lockPollIntervalMs: 20 }), entry);
      assert.ok(Date.now() - t0 >= 1700, `returned after ${Date.now() - t0} ms`);
      assert.equal(server.requests.length, 0);
      assert.ok(fs.existsSync(path.join(entry, 'part0')));
    });

    it('steals an inactive lock (another host, or unreadable contents) after the timeout; the lock is gone after', async () => {
      server.routes.set('/m.tar.gz', serve(mlpTgz));
      const handle = `${server.base}/m.tar.gz`;
      for (const contents of ['otherhost.example.1234.abcdef', '']) {
        rmrf(cache);
        fs.mkdirSync(cache);
        fs.writeFileSync(`${entryOf(handle)}.lock`, contents);
        const t0 = Date.now();
        const p = await resolve(handle, { cacheDir: cache, lockTimeoutMs: 600, lockPollIntervalMs: 20 });
        const ms = Date.now() - t0;
        assert.ok(ms >= 550 && ms < 4000, `${JSON.stringify(contents)}: took ${ms} ms`);
        assert.deepEqual(ls(p), ['saved_model.pb', 'tfhub_module.pb', 'variables']);
        assert.equal(fs.existsSync(`${entryOf(handle)}.lock`), false);
      }
    });

    it('an error creating the lock (cache dir under a file: NotFound-like) is raised at once, not retried', async () => {
      const file = path.join(root, 'file');
      fs.writeFileSync(file, 'x');
      server.routes.set('/m.tar.gz', serve(mlpTgz));
      const e = await rejection(resolve(`${server.base}/m.tar.gz`, { cacheDir: path.join(file, 'cache') }));
      assert.equal(e.code, 'ERR_CACHE_NOT_WRITABLE');
      assert.match(e.message, /TFHUB_CACHE_DIR/);
      // A file system that answers ENOENT for a directory under an existing parent (Node's recursive mkdir loops).
      if (fs.existsSync('/proc/self')) {
        const p = await rejection(resolve(`${server.base}/m.tar.gz`, { cacheDir: '/proc/tfhub-node-cache' }));
        assert.equal(p.code, 'ERR_CACHE_NOT_WRITABLE');
      }
      assert.equal(server.requests.length, 0);
    });
  });

  it("an AbortSignal ends the wait for another process's lock, leaving that lock alone", async () => {
    const handle = `${server.base}/m.tar.gz`;
    const lock = `${entryOf(handle)}.lock`;
    const contents = `${os.hostname()}.${process.ppid}.cafe`;
    fs.writeFileSync(lock, contents);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const e = await rejection(resolve(handle, { cacheDir: cache, lockPollIntervalMs: 20, signal: ac.signal }));
    assert.equal(e.code, 'ABORT_ERR');
    assert.equal(fs.readFileSync(lock, 'utf8'), contents);
    await sleep(10);
  });
});
