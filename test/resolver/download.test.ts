// hub.resolve over a real HTTP server on 127.0.0.1: downloads, cache hits, redirects, HTTP errors, corrupt and
// truncated archives, retries, timeouts, progress, offline mode, entry repair, Python's cache layout, load formats.
// Ports compressed_module_resolver_test.py / resolver_test.py / uncompressed_module_resolver_test.py by name.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { cacheEntryName, readDescriptor, resolve } from '../../src/hub/resolver';
import {
  FIXTURES,
  TestServer,
  isolateEnv,
  ls,
  rawTar,
  redirect,
  rejection,
  rmrf,
  serve,
  sleep,
  startServer,
  tarballOf,
  tmpDir,
  withEnv,
} from './helpers/util';

/** Relative path → bytes of every file under a directory. */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string, rel: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const full = path.join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (fs.statSync(full).isDirectory()) {
        out.set(`${r}/`, Buffer.alloc(0));
        walk(full, r);
      } else out.set(r, fs.readFileSync(full));
    }
  };
  walk(dir, '');
  return out;
}

function assertSameTree(actual: string, expected: string): void {
  const a = tree(actual);
  const e = tree(expected);
  assert.deepEqual([...a.keys()], [...e.keys()]);
  for (const [k, v] of e) assert.ok(a.get(k)!.equals(v), `content of ${k}`);
}

const DESCRIPTOR_RE = (handle: string): RegExp =>
  new RegExp(
    `^Module: ${handle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\nDownload Time: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{6})?\\n` +
      `Downloader Hostname: ${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .PID:${process.pid}.$`,
  );

describe('resolver over HTTP', () => {
  let restoreEnv: () => void;
  let server: TestServer;
  let cache: string;
  let work: string;
  let mlpTgz: Buffer;
  let mulTar: Buffer;
  let filesTar: Buffer;
  let filesTgz: Buffer;
  const opts = (extra: Record<string, unknown> = {}) => ({ cacheDir: cache, retryDelayMs: 5, ...extra });

  before(async () => {
    restoreEnv = isolateEnv();
    work = tmpDir();
    const files = path.join(work, 'files');
    fs.mkdirSync(files);
    for (const f of ['file1', 'file2', 'file3']) fs.writeFileSync(path.join(files, f), f);
    filesTar = await tarballOf(files, false);
    filesTgz = await tarballOf(files, true);
    mlpTgz = await tarballOf(path.join(FIXTURES, 'mlp_v1'), true);
    mulTar = await tarballOf(path.join(FIXTURES, 'tf2_my_mul'), false);
    server = await startServer();
  });
  after(async () => {
    await server.close();
    rmrf(work);
    restoreEnv();
  });
  beforeEach(() => {
    cache = path.join(tmpDir(), 'cache');
    server.routes.clear();
    server.requests.length = 0;
  });
  afterEach(() => rmrf(path.dirname(cache)));

  describe('compressed_module_resolver_test.py', () => {
    it('testGetModulePathTar / testGetModulePathTarGz (file1..3 archives)', async () => {
      server.routes.set('/mock_module.tar', serve(filesTar));
      server.routes.set('/mock_module.tar.gz', serve(filesTgz));
      for (const name of ['mock_module.tar', 'mock_module.tar.gz']) {
        const p = await resolve(`${server.base}/${name}`, opts());
        assert.deepEqual(ls(p), ['file1', 'file2', 'file3']);
        assert.equal(fs.readFileSync(path.join(p, 'file2'), 'utf8'), 'file2');
      }
    });

    it('testGetModuleFromSmartLocation: ?tf-hub-format=compressed → 301 to the tarball, else docs', async () => {
      server.routes.set('/mock_module.tar.gz', serve(filesTgz));
      server.routes.set('/mock_module', (req, res, url) => {
        if (url.searchParams.get('tf-hub-format') === 'compressed') {
          res.writeHead(301, { Location: `${server.base}/mock_module.tar.gz` });
          res.end();
        } else {
          res.writeHead(200, { 'Content-Type': 'text/html' });
          res.end('<html>docs</html>');
        }
      });
      const p = await resolve(`${server.base}/mock_module`, opts());
      assert.deepEqual(ls(p), ['file1', 'file2', 'file3']);
      assert.deepEqual(
        server.requests.map((r) => r.url),
        ['/mock_module?tf-hub-format=compressed', '/mock_module.tar.gz'],
      );
    });

    it('testModuleDescriptor: Module / Download Time / Downloader Hostname (PID)', async () => {
      server.routes.set('/mock_module.tar.gz', serve(filesTgz));
      const handle = `${server.base}/mock_module.tar.gz`;
      const p = await resolve(handle, opts());
      const raw = fs.readFileSync(`${p}.descriptor.txt`, 'utf8');
      assert.match(raw, DESCRIPTOR_RE(handle));
      const d = await readDescriptor(p);
      assert.equal(d?.module, handle);
      assert.equal(d?.hostname, os.hostname());
      assert.equal(d?.pid, process.pid);
    });

    it('testNoCacheDirSet: the cache is <os.tmpdir()>/tfhub_modules', async () => {
      server.routes.set('/mock_module.tar.gz', serve(filesTgz));
      const tmp = path.dirname(cache);
      await withEnv({ TMPDIR: tmp, TFHUB_CACHE_DIR: undefined }, async () => {
        const p = await resolve(`${server.base}/mock_module.tar.gz`, { retryDelayMs: 5 });
        assert.equal(p, path.join(tmp, 'tfhub_modules', cacheEntryName(`${server.base}/mock_module.tar.gz`)));
        assert.ok(p.startsWith(os.tmpdir()));
        assert.deepEqual(ls(p), ['file1', 'file2', 'file3']);
      });
    });

    it('TFHUB_CACHE_DIR is read at call time', async () => {
      server.routes.set('/mock_module.tar.gz', serve(filesTgz));
      await withEnv({ TFHUB_CACHE_DIR: cache }, async () => {
        const p = await resolve(`${server.base}/mock_module.tar.gz`);
        assert.equal(path.dirname(p), cache);
      });
    });

    it('testModuleAlreadyDownloaded: the second resolve makes no request and rewrites nothing', async () => {
      server.routes.set('/mlp_v1.tar.gz', serve(mlpTgz));
      const handle = `${server.base}/mlp_v1.tar.gz`;
      const p = await resolve(handle, opts());
      assert.equal(p, path.join(cache, cacheEntryName(handle)));
      assertSameTree(p, path.join(FIXTURES, 'mlp_v1'));
      const mtimes = [...tree(p).keys()].map((k) => fs.statSync(path.join(p, k)).mtimeMs);
      assert.equal(server.hits('/mlp_v1.tar.gz').length, 1);
      assert.equal(server.requests[0].url, '/mlp_v1.tar.gz', 'direct archive links are fetched as given');
      assert.equal(await resolve(handle, opts()), p);
      assert.equal(server.requests.length, 1);
      assert.deepEqual(
        [...tree(p).keys()].map((k) => fs.statSync(path.join(p, k)).mtimeMs),
        mtimes,
      );
      assert.deepEqual(ls(cache), [cacheEntryName(handle), `${cacheEntryName(handle)}.descriptor.txt`]);
    });

    it('testCorruptedArchive (direct and via a redirecting server): "<handle> does not appear to be a valid module."', async () => {
      server.routes.set('/bad_archive.tar.gz', serve('bad_archive'));
      const redirectServer = await startServer({ '/bad_archive.tar.gz': redirect(302, `${server.base}/bad_archive.tar.gz`) });
      try {
        for (const handle of [`${server.base}/bad_archive.tar.gz`, `${redirectServer.base}/bad_archive.tar.gz`]) {
          const e = await rejection(resolve(handle, opts()));
          assert.equal(e.code, 'ERR_INVALID_ARCHIVE');
          assert.ok(e.message.startsWith(`${handle} does not appear to be a valid module.`), e.message);
          assert.equal(e.handle, handle);
          assert.deepEqual(ls(cache), [], 'nothing stays in the cache');
        }
      } finally {
        await redirectServer.close();
      }
    });
  });

  it('half_plus_two_v1.tar.gz (the archive tensorflow_hub ships) through the TF Hub hosting protocol', async () => {
    const archive = fs.readFileSync(path.join(FIXTURES, 'half_plus_two_v1.tar.gz'));
    server.routes.set('/google/half_plus_two/1', (req, res, url) => {
      if (url.search !== '?tf-hub-format=compressed') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html/>');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Content-Length': archive.length });
      res.end(archive);
    });
    const handle = `${server.base}/google/half_plus_two/1`;
    const p = await resolve(handle, opts());
    assert.deepEqual(ls(p), ['assets', 'saved_model.pb', 'tfhub_module.pb', 'variables']);
    assert.deepEqual(ls(path.join(p, 'variables')), ['variables.data-00000-of-00001', 'variables.index']);
    assert.equal(fs.statSync(path.join(p, 'saved_model.pb')).size, 4459);
    assert.equal(fs.statSync(path.join(p, 'assets')).mode & 0o7777, 0o755, 'archive modes (sticky bit) are not copied');
  });

  it('a plain .tar TF2 SavedModel (tf2_my_mul) is extracted exactly', async () => {
    server.routes.set('/m/tf2_my_mul.tar', serve(mulTar));
    const p = await resolve(`${server.base}/m/tf2_my_mul.tar`, opts());
    assertSameTree(p, path.join(FIXTURES, 'tf2_my_mul'));
  });

  it('redirect chains: 302 → 307 → 308 → 303 → 301 → archive, absolute and relative Locations', async () => {
    server.routes.set('/a', redirect(302, '/b'));
    server.routes.set('/b', redirect(307, `${server.base}/c?x=1`));
    server.routes.set('/c', redirect(308, 'd'));
    server.routes.set('/d', redirect(303, '/e#frag'));
    server.routes.set('/e', redirect(301, '/final/mlp.tgz'));
    server.routes.set('/final/mlp.tgz', serve(mlpTgz));
    const p = await resolve(`${server.base}/a`, opts());
    assertSameTree(p, path.join(FIXTURES, 'mlp_v1'));
    assert.deepEqual(
      server.requests.map((r) => r.url),
      ['/a?tf-hub-format=compressed', '/b', '/c?x=1', '/d', '/e', '/final/mlp.tgz'],
    );
    assert.equal(path.basename(p), cacheEntryName(`${server.base}/a`), 'the entry is named after the handle, not the final URL');
  });

  it('bad redirects: more than 10 hops, a file:// Location, no Location → ERR_HTTP_REDIRECT', async () => {
    server.routes.set('/loop', redirect(302, '/loop'));
    server.routes.set('/file', redirect(302, 'file:///etc/passwd'));
    server.routes.set('/none', (_req, res) => {
      res.writeHead(302);
      res.end();
    });
    const loop = await rejection(resolve(`${server.base}/loop`, opts()));
    assert.equal(loop.code, 'ERR_HTTP_REDIRECT');
    assert.match(loop.message, /More than 10 redirects/);
    assert.equal(server.hits('/loop').length, 11);
    assert.equal((await rejection(resolve(`${server.base}/file`, opts()))).code, 'ERR_HTTP_REDIRECT');
    assert.equal((await rejection(resolve(`${server.base}/none`, opts()))).code, 'ERR_HTTP_REDIRECT');
    assert.deepEqual(ls(cache), []);
  });

  it('404 and 403 → ERR_HTTP_STATUS with the status and URL, not retried; nothing left behind', async () => {
    server.routes.set('/forbidden', (_req, res) => {
      res.writeHead(403, 'Forbidden');
      res.end('no');
    });
    const handle = `${server.base}/google/missing/1`;
    const e404 = await rejection(resolve(handle, opts()));
    assert.equal(e404.code, 'ERR_HTTP_STATUS');
    assert.equal(e404.status, 404);
    assert.equal(e404.url, `${handle}?tf-hub-format=compressed`);
    assert.match(e404.message, /^HTTP 404 Not Found for GET http:\/\/127\.0\.0\.1:\d+\/google\/missing\/1\?tf-hub-format=compressed/);
    assert.equal(server.requests.length, 1);
    const e403 = await rejection(resolve(`${server.base}/forbidden`, opts()));
    assert.equal(e403.status, 403);
    assert.match(e403.message, /HTTP 403 Forbidden/);
    assert.equal(server.requests.length, 2);
    assert.deepEqual(ls(cache), []);
  });

  it('5xx: retried with back-off, then ERR_HTTP_STATUS; 503 twice then success', async () => {
    server.routes.set('/broken', (_req, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    const e = await rejection(resolve(`${server.base}/broken`, opts({ retries: 2 })));
    assert.equal(e.code, 'ERR_HTTP_STATUS');
    assert.equal(e.status, 500);
    assert.equal(server.hits('/broken').length, 3);
    let n = 0;
    server.routes.set('/flaky.tar.gz', (req, res) => {
      if (++n <= 2) {
        res.writeHead(503, { 'Retry-After': '0' });
        res.end();
        return;
      }
      serve(mlpTgz)(req, res, new URL('http://x'));
    });
    const p = await resolve(`${server.base}/flaky.tar.gz`, opts());
    assertSameTree(p, path.join(FIXTURES, 'mlp_v1'));
    assert.equal(server.hits('/flaky.tar.gz').length, 3);
    assert.deepEqual(ls(cache).length, 2);
  });

  it('truncated archives (.tar.gz cut short, .tar cut inside a member) → ERR_INVALID_ARCHIVE, cache left empty', async () => {
    server.routes.set('/cut.tar.gz', serve(mlpTgz.subarray(0, Math.floor(mlpTgz.length / 2))));
    server.routes.set('/cut.tar', serve(mulTar.subarray(0, 5000)));
    for (const name of ['cut.tar.gz', 'cut.tar']) {
      const handle = `${server.base}/${name}`;
      const e = await rejection(resolve(handle, opts()));
      assert.equal(e.code, 'ERR_INVALID_ARCHIVE', `${name}: ${e.message}`);
      assert.ok(e.message.startsWith(`${handle} does not appear to be a valid module.`));
      assert.deepEqual(ls(cache), []);
    }
  });

  it('an archive without module content, or an HTML page, is not a valid module', async () => {
    server.routes.set('/empty.tar', serve(Buffer.alloc(1024)));
    server.routes.set(
      '/nested.tar.gz',
      serve(
        rawTar(
          [
            { name: 'model/', type: '5' },
            { name: 'model/saved_model.pb', data: 'graph' },
          ],
          true,
        ),
      ),
    );
    server.routes.set('/page', serve('<!doctype html><html><body>' + 'x'.repeat(2000) + '</body></html>', 'text/html; charset=utf-8'));
    assert.equal((await rejection(resolve(`${server.base}/empty.tar`, opts()))).code, 'ERR_INVALID_ARCHIVE');
    const nested = await rejection(resolve(`${server.base}/nested.tar.gz`, opts()));
    assert.match(nested.message, /single directory 'model\/'/);
    const page = await rejection(resolve(`${server.base}/page`, opts()));
    assert.equal(page.code, 'ERR_INVALID_ARCHIVE');
    assert.match(page.message, /the server sent text\/html, not an archive/);
    assert.deepEqual(ls(cache), []);
  });

  it('a connection lost mid-body is retried; the retry succeeds', async () => {
    let n = 0;
    server.routes.set('/drop.tar.gz', (_req, res) => {
      res.writeHead(200, { 'Content-Length': mlpTgz.length });
      if (++n === 1) {
        res.write(mlpTgz.subarray(0, 1000));
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      res.end(mlpTgz);
    });
    const p = await resolve(`${server.base}/drop.tar.gz`, opts());
    assertSameTree(p, path.join(FIXTURES, 'mlp_v1'));
    assert.equal(n, 2);
    assert.equal(ls(cache).length, 2, 'no temporary directory of the failed attempt is left');
  });

  it('a stalled server hits the idle timeout: ERR_NETWORK, nothing left behind', async () => {
    server.routes.set('/stall.tar.gz', (_req, res) => {
      res.writeHead(200, { 'Content-Length': mlpTgz.length });
      res.write(mlpTgz.subarray(0, 100));
    });
    const t0 = Date.now();
    const e = await rejection(resolve(`${server.base}/stall.tar.gz`, opts({ httpTimeoutMs: 300, retries: 1 })));
    assert.equal(e.code, 'ERR_NETWORK');
    assert.match(e.message, /timed out: no data for 300 ms/);
    assert.equal(server.hits('/stall.tar.gz').length, 2);
    assert.ok(Date.now() - t0 < 5000);
    assert.deepEqual(ls(cache), []);
  });

  it('an AbortSignal cancels the download: ABORT_ERR, no lock, no temporary directory', async () => {
    server.routes.set('/slow.tar.gz', (_req, res) => {
      res.writeHead(200, { 'Content-Length': mlpTgz.length });
      res.write(mlpTgz.subarray(0, 100));
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user cancelled')), 150);
    const e = await rejection(resolve(`${server.base}/slow.tar.gz`, opts({ signal: ac.signal })));
    assert.equal(e.code, 'ABORT_ERR');
    assert.equal(e.name, 'AbortError');
    assert.deepEqual(ls(cache), []);
    const pre = new AbortController();
    pre.abort();
    assert.equal((await rejection(resolve(`${server.base}/slow.tar.gz`, opts({ signal: pre.signal })))).code, 'ABORT_ERR');
  });

  it('progress: callback events (bytes rising to total, final URL) and TFHUB_DOWNLOAD_PROGRESS lines on stderr', async () => {
    server.routes.set('/start', redirect(302, '/big.tar.gz'));
    const big = Buffer.concat([mlpTgz]);
    server.routes.set('/big.tar.gz', (_req, res) => {
      res.writeHead(200, { 'Content-Length': big.length });
      // several chunks
      let off = 0;
      const step = (): void => {
        if (off >= big.length) return void res.end();
        res.write(big.subarray(off, off + 4096));
        off += 4096;
        setImmediate(step);
      };
      step();
    });
    const events: Array<{ bytes: number; total?: number; url: string }> = [];
    let err = '';
    const orig = process.stderr.write;
    (process.stderr as unknown as { write: (c: unknown) => boolean }).write = (c: unknown) => {
      err += String(c);
      return true;
    };
    const handle = `${server.base}/start`;
    try {
      await withEnv({ TFHUB_DOWNLOAD_PROGRESS: '1' }, () =>
        resolve(handle, opts({ onProgress: (e: { bytes: number; total?: number; url: string }) => events.push(e) })),
      );
    } finally {
      process.stderr.write = orig;
    }
    assert.ok(events.length >= 2, `${events.length} events`);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].bytes > events[i - 1].bytes);
    const last = events[events.length - 1];
    assert.deepEqual(last, { bytes: big.length, total: big.length, url: `${server.base}/big.tar.gz` });
    assert.match(err, new RegExp(`\\rDownloading ${handle.replace(/[.?]/g, '\\$&')}: `));
    assert.match(err, new RegExp(`Downloaded ${handle.replace(/[.?]/g, '\\$&')}, Total size: \\d+\\.\\d\\dkB`));
  });

  it('offline mode (TFHUB_OFFLINE=1 / offline: true): cache only, and says so when the entry is missing', async () => {
    server.routes.set('/mlp.tar.gz', serve(mlpTgz));
    const handle = `${server.base}/mlp.tar.gz`;
    const miss = await withEnv({ TFHUB_OFFLINE: '1' }, () => rejection(resolve(handle, opts())));
    assert.equal(miss.code, 'ERR_OFFLINE_MISS');
    assert.match(miss.message, /Offline mode .* is not in the cache/);
    assert.equal(server.requests.length, 0);
    const p = await resolve(handle, opts());
    assert.equal(await withEnv({ TFHUB_OFFLINE: 'true' }, () => resolve(handle, opts())), p);
    assert.equal(await resolve(handle, opts({ offline: true })), p);
    fs.rmSync(path.join(p, 'saved_model.pb'));
    const partial = await rejection(resolve(handle, opts({ offline: true })));
    assert.equal(partial.code, 'ERR_OFFLINE_MISS');
    assert.match(partial.message, /only partly in the cache/);
    const unc = await rejection(resolve(handle, opts({ offline: true, loadFormat: 'UNCOMPRESSED' })));
    assert.equal(unc.code, 'ERR_OFFLINE_MISS');
    assert.equal(server.requests.length, 1);
  });

  it('stale-entry repair: an entry without saved_model.pb (files removed by a temp cleaner) is downloaded again', async () => {
    server.routes.set('/mlp.tar.gz', serve(mlpTgz));
    const handle = `${server.base}/mlp.tar.gz`;
    const p = await resolve(handle, opts());
    // What systemd-tmpfiles leaves: directories without their files.
    for (const f of ['saved_model.pb', 'tfhub_module.pb', 'variables/variables.index', 'variables/variables.data-00000-of-00001'])
      fs.rmSync(path.join(p, f));
    assert.deepEqual(ls(p), ['variables']);
    assert.equal(await resolve(handle, opts()), p);
    assertSameTree(p, path.join(FIXTURES, 'mlp_v1'));
    assert.equal(server.requests.length, 2);
    // A file where the entry's directory should be is replaced too.
    fs.rmSync(p, { recursive: true });
    fs.writeFileSync(p, 'junk');
    assert.equal(await resolve(handle, opts()), p);
    assertSameTree(p, path.join(FIXTURES, 'mlp_v1'));
    assert.deepEqual(ls(cache), [cacheEntryName(handle), `${cacheEntryName(handle)}.descriptor.txt`]);
  });

  it('resolver_test.py: an empty pre-existing module dir triggers a fresh download', async () => {
    server.routes.set('/mlp.tar.gz', serve(mlpTgz));
    const handle = `${server.base}/mlp.tar.gz`;
    fs.mkdirSync(path.join(cache, cacheEntryName(handle)), { recursive: true });
    const p = await resolve(handle, opts());
    assertSameTree(p, path.join(FIXTURES, 'mlp_v1'));
    assert.equal(server.requests.length, 1);
  });

  it('a present entry is used without writing anything (read-only caches): no lock, no file created', async (t) => {
    server.routes.set('/mlp.tar.gz', serve(mlpTgz));
    const handle = `${server.base}/mlp.tar.gz`;
    const p = await resolve(handle, opts());
    const events: string[] = [];
    const watcher = fs.watch(cache, (ev, name) => events.push(`${ev}:${name}`));
    try {
      assert.equal(await resolve(handle, opts()), p);
      await sleep(100);
    } finally {
      watcher.close();
    }
    assert.deepEqual(events, []);
    if (process.getuid?.() === 0) {
      t.diagnostic('running as root: chmod cannot make the cache read-only; checked with fs.watch only');
      return;
    }
    fs.chmodSync(cache, 0o555);
    try {
      assert.equal(await resolve(handle, opts()), p);
      server.routes.set('/other.tar.gz', serve(mlpTgz));
      const e = await rejection(resolve(`${server.base}/other.tar.gz`, opts()));
      assert.equal(e.code, 'ERR_CACHE_NOT_WRITABLE');
    } finally {
      fs.chmodSync(cache, 0o755);
    }
  });

  it('resolver_test.py: a rogue process creates the module dir during the download — its result is kept', async () => {
    const handle = `${server.base}/rogue.tar.gz`;
    const moduleDir = path.join(cache, cacheEntryName(handle));
    server.routes.set('/rogue.tar.gz', (req, res) => {
      fs.mkdirSync(moduleDir);
      fs.writeFileSync(path.join(moduleDir, 'saved_model.pb'), 'rogue');
      serve(mlpTgz)(req, res, new URL('http://x'));
    });
    const p = await resolve(handle, opts());
    assert.equal(p, moduleDir);
    assert.equal(fs.readFileSync(path.join(p, 'saved_model.pb'), 'utf8'), 'rogue');
    assert.deepEqual(ls(cache), [cacheEntryName(handle), `${cacheEntryName(handle)}.descriptor.txt`]);
    assert.match(fs.readFileSync(`${moduleDir}.descriptor.txt`, 'utf8'), DESCRIPTOR_RE(handle));
    const events: string[] = [];
    const watcher = fs.watch(cache, (ev, name) => events.push(`${ev}:${name}`));
    try {
      assert.equal(await resolve(handle, opts()), p);
      await sleep(50);
    } finally {
      watcher.close();
    }
    assert.deepEqual(events, [], 'the second call performs no lock write');
    assert.equal(server.requests.length, 1);
  });

  it('resolver_test.py: a download that loses its lock and fails — the error propagates, the other lock stays', async () => {
    const handle = `${server.base}/lost.tar.gz`;
    const lock = `${path.join(cache, cacheEntryName(handle))}.lock`;
    const foreign = 'otherhost.4242.feedface';
    server.routes.set('/lost.tar.gz', (_req, res) => {
      fs.writeFileSync(lock, foreign);
      res.writeHead(500);
      res.end();
    });
    const e = await rejection(resolve(handle, opts({ retries: 0 })));
    assert.equal(e.code, 'ERR_HTTP_STATUS');
    assert.deepEqual(ls(cache), [path.basename(lock)]);
    assert.equal(fs.readFileSync(lock, 'utf8'), foreign);
  });

  it('a cache shared with Python: an entry Python wrote is used as is; ours has the same layout', async () => {
    const handle = 'https://tfhub.dev/google/nnlm-en-dim128/1';
    const entry = path.join(cache, '32f2b2259e1cc8ca58c876921748361283e73997');
    fs.mkdirSync(cache, { recursive: true });
    fs.cpSync(path.join(FIXTURES, 'mlp_v1'), entry, { recursive: true });
    fs.writeFileSync(
      `${entry}.descriptor.txt`,
      `Module: ${handle}\nDownload Time: 2026-11-22 12:00:22.158888\nDownloader Hostname: pyhost (PID:77)`,
    );
    assert.equal(await resolve(handle, opts()), entry, 'no network: tfhub.dev is never contacted');
    const d = await readDescriptor(entry);
    assert.deepEqual([d?.module, d?.downloadTime, d?.hostname, d?.pid], [handle, '2026-11-22 12:00:22.158888', 'pyhost', 77]);

    server.routes.set('/google/mlp/1', (req, res, url) => {
      if (url.search === '?tf-hub-format=compressed') serve(mlpTgz)(req, res, url);
      else res.end('docs');
    });
    const ours = `${server.base}/google/mlp/1`;
    const p = await resolve(ours, opts());
    assert.equal(path.basename(p), cacheEntryName(ours));
    assert.deepEqual(
      ls(cache).filter((n) => n.startsWith(cacheEntryName(ours))),
      [cacheEntryName(ours), `${cacheEntryName(ours)}.descriptor.txt`],
    );
    const text = fs.readFileSync(`${p}.descriptor.txt`, 'utf8');
    assert.match(text, DESCRIPTOR_RE(ours));
    assert.equal(text.split('\n').length, 3);
    assert.ok(!text.endsWith('\n'));
  });

  describe('load formats (resolver_test.py / uncompressed_module_resolver_test.py)', () => {
    it('AUTO (unset) and COMPRESSED use the compressed protocol', async () => {
      server.routes.set('/google/m/1', (req, res, url) => {
        if (url.search === '?tf-hub-format=compressed') serve(mlpTgz)(req, res, url);
        else res.end('docs');
      });
      const handle = `${server.base}/google/m/1`;
      for (const fmt of [undefined, 'AUTO', 'COMPRESSED']) {
        server.requests.length = 0;
        rmrf(cache);
        await withEnv({ TFHUB_MODEL_LOAD_FORMAT: fmt }, () => resolve(handle, opts()));
        assert.deepEqual(
          server.requests.map((r) => r.url),
          ['/google/m/1?tf-hub-format=compressed'],
          String(fmt),
        );
      }
    });

    it('UNCOMPRESSED: one request with ?tf-hub-format=uncompressed; a 303 naming gs:// is reported as unsupported', async () => {
      server.routes.set('/google/model/1', (_req, res, url) => {
        if (url.search === '?tf-hub-format=uncompressed') {
          res.writeHead(303, { 'Content-Type': 'text/plain' });
          res.end('gs://tfhub-modules/google/model/1/uncompressed');
        } else res.end('docs');
      });
      const handle = `${server.base}/google/model/1`;
      const e = await withEnv({ TFHUB_MODEL_LOAD_FORMAT: 'UNCOMPRESSED' }, () => rejection(resolve(handle, opts())));
      assert.equal(e.code, 'ERR_UNSUPPORTED_HANDLE');
      assert.match(e.message, /gs:\/\/tfhub-modules\/google\/model\/1\/uncompressed/);
      assert.deepEqual(
        server.requests.map((r) => r.url),
        ['/google/model/1?tf-hub-format=uncompressed'],
      );
      assert.equal(fs.existsSync(cache), false, 'UNCOMPRESSED mode never touches the cache');
    });

    it('UNCOMPRESSED errors: 200, 404, and a body that is not a gs:// location', async () => {
      server.routes.set('/ok', (_req, res) => void res.end('fine'));
      server.routes.set('/notgs', (_req, res) => {
        res.writeHead(303);
        res.end('file://somefile');
      });
      const o = opts({ loadFormat: 'UNCOMPRESSED' });
      const e200 = await rejection(resolve(`${server.base}/ok`, o));
      assert.equal(e200.code, 'ERR_UNEXPECTED_RESPONSE');
      assert.ok(e200.message.startsWith('Expected 303 See other HTTP response but received code 200'));
      const e404 = await rejection(resolve(`${server.base}/missing`, o));
      assert.equal(e404.code, 'ERR_HTTP_STATUS');
      assert.equal(e404.status, 404);
      assert.ok(e404.message.startsWith('Expected 303 See other HTTP response but received code 404'));
      const eBody = await rejection(resolve(`${server.base}/notgs`, o));
      assert.equal(eBody.code, 'ERR_UNEXPECTED_RESPONSE');
      assert.equal(eBody.message, 'Expected server to return a GCS location but received file://somefile');
    });

    it('an invalid TFHUB_MODEL_LOAD_FORMAT is an error naming the variable (Python: "<url> does not exist.")', async () => {
      const e = await withEnv({ TFHUB_MODEL_LOAD_FORMAT: 'FAST' }, () => rejection(resolve(`${server.base}/x`, opts())));
      assert.equal(e.code, 'ERR_INVALID_SETTING');
      assert.match(e.message, /TFHUB_MODEL_LOAD_FORMAT must be one of AUTO, COMPRESSED, UNCOMPRESSED/);
      assert.equal(server.requests.length, 0);
    });
  });

  it('credentials in the handle URL are sent as Basic auth and never appear in error messages', async () => {
    server.routes.set('/private.tar.gz', (req, res, url) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('user:s3cret').toString('base64')}`) {
        res.writeHead(401);
        res.end();
        return;
      }
      serve(mlpTgz)(req, res, url);
    });
    const base = server.base.replace('http://', 'http://user:s3cret@');
    const p = await resolve(`${base}/private.tar.gz`, opts());
    assert.deepEqual(ls(p), ['saved_model.pb', 'tfhub_module.pb', 'variables']);
    const e = await rejection(resolve(`${base}/missing.tar.gz`, opts()));
    assert.equal(e.status, 404);
    assert.ok(!e.message.includes('s3cret') && !e.url!.includes('s3cret'), e.message);
    assert.match(e.message, /user:\*\*\*@127\.0\.0\.1/);
    assert.equal(e.handle, `${base}/missing.tar.gz`);
  });

  it('hostile handles: whitespace / control characters in URLs, NUL bytes, non-strings', async () => {
    for (const h of [`${server.base}/a b`, `${server.base}/a\nb`, 'http://', 'https://[::1']) {
      assert.equal((await rejection(resolve(h, opts()))).code, 'ERR_INVALID_HUB_HANDLE', JSON.stringify(h));
    }
    assert.equal((await rejection(resolve('/tmp/\0x', opts()))).code, 'ERR_INVALID_HUB_HANDLE');
    assert.equal((await rejection(resolve('', opts()))).code, 'ERR_INVALID_HUB_HANDLE');
    assert.equal((await rejection(resolve(0 as unknown as string))).code, 'ERR_INVALID_HUB_HANDLE');
    assert.equal(server.requests.length, 0);
  });
});
