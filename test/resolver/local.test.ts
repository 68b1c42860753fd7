// Local handles (Python's PathResolver), file:// URLs, local tarballs extracted into the cache, gs:// handles,
// and e2e_test.py's file:// cache directory.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import { cacheEntryName, resolve } from '../../src/hub/resolver';
import { FIXTURES, TestServer, isolateEnv, ls, rejection, rmrf, serve, startServer, tarballOf, tmpDir } from './helpers/util';

describe('resolver: local handles', () => {
  let restoreEnv: () => void;
  let root: string;
  let cache: string;
  before(() => {
    restoreEnv = isolateEnv();
  });
  after(() => restoreEnv());
  beforeEach(() => {
    root = tmpDir();
    cache = path.join(root, 'cache');
  });
  afterEach(() => rmrf(root));

  describe('resolver_test.py PathResolver', () => {
    it('an existing directory is returned exactly as given (no normalisation)', async () => {
      const dir = path.join(FIXTURES, 'mlp_v1');
      assert.equal(await resolve(dir), dir);
      assert.equal(await resolve(`${dir}/`), `${dir}/`);
      assert.equal(await resolve(`${dir}/./variables/..`), `${dir}/./variables/..`);
      const rel = path.relative(process.cwd(), dir);
      assert.equal(await resolve(rel), rel);
      assert.deepEqual(ls(root), [], 'local directories never touch the cache');
    });

    it('a missing path: "<handle> does not exist." (also for unknown schemes such as nope://)', async () => {
      const missing = path.join(root, 'foo') + '/';
      const e = await rejection(resolve(missing));
      assert.equal(e.code, 'ERR_HANDLE_NOT_FOUND');
      assert.equal(e.message, `${missing} does not exist.`);
      const nope = await rejection(resolve('nope://foo/bar'));
      assert.equal(nope.message, 'nope://foo/bar does not exist.');
    });

    it('an existing regular file that is not an archive is returned as given', async () => {
      const f = path.join(root, 'saved_model.pb');
      fs.writeFileSync(f, 'x');
      assert.equal(await resolve(f), f);
    });
  });

  it('file:// URLs resolve to local paths (percent-decoded); missing ones do not exist', async () => {
    const dir = path.join(root, 'my model');
    fs.cpSync(path.join(FIXTURES, 'tf2_my_mul'), dir, { recursive: true });
    const url = pathToFileURL(dir).href;
    assert.match(url, /my%20model$/);
    assert.equal(await resolve(url), dir);
    const e = await rejection(resolve(`${url}-gone`));
    assert.equal(e.code, 'ERR_HANDLE_NOT_FOUND');
    assert.equal(e.message, `${url}-gone does not exist.`);
    assert.equal((await rejection(resolve('file://remotehost/x'))).code, 'ERR_INVALID_HUB_HANDLE');
  });

  it('a local .tar.gz / .tar / file:// archive is extracted into the cache once (a manually downloaded module)', async () => {
    const tgz = path.join(root, 'mlp_v1.tar.gz');
    fs.writeFileSync(tgz, await tarballOf(path.join(FIXTURES, 'mlp_v1'), true));
    const events: number[] = [];
    const p = await resolve(tgz, { cacheDir: cache, onProgress: (e) => events.push(e.bytes) });
    assert.equal(p, path.join(cache, cacheEntryName(tgz)));
    assert.deepEqual(ls(p), ['saved_model.pb', 'tfhub_module.pb', 'variables']);
    assert.equal(events[events.length - 1], fs.statSync(tgz).size);
    const mtime = fs.statSync(path.join(p, 'saved_model.pb')).mtimeMs;
    assert.equal(await resolve(tgz, { cacheDir: cache, offline: true }), p);
    assert.equal(fs.statSync(path.join(p, 'saved_model.pb')).mtimeMs, mtime);
    const url = pathToFileURL(tgz).href;
    const p2 = await resolve(url, { cacheDir: cache });
    assert.equal(p2, path.join(cache, cacheEntryName(url)));
    assert.equal(ls(cache).length, 4);
    const tar = path.join(root, 'plain.tar');
    fs.writeFileSync(tar, await tarballOf(path.join(FIXTURES, 'tf2_my_mul'), false));
    assert.deepEqual(ls(await resolve(tar, { cacheDir: cache })), ['fingerprint.pb', 'saved_model.pb', 'variables']);
  });

  it('gs:// handles are not supported (no GCS file system): ERR_UNSUPPORTED_HANDLE', async () => {
    for (const h of ['gs://bucket/model', 'gs://bucket/model.tar.gz']) {
      const e = await rejection(resolve(h, { cacheDir: cache }));
      assert.equal(e.code, 'ERR_UNSUPPORTED_HANDLE', h);
    }
  });

  describe('e2e_test.py', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ '/half_plus_two.tar.gz': serve(fs.readFileSync(path.join(FIXTURES, 'half_plus_two_v1.tar.gz'))) });
    });
    after(() => server.close());

    it('a tarball over HTTP with a file:// cache dir: 2 cache entries, module files assets/saved_model.pb/tfhub_module.pb/variables', async () => {
      const p = await resolve(`${server.base}/half_plus_two.tar.gz`, { cacheDir: pathToFileURL(cache).href });
      assert.equal(path.dirname(p), cache);
      assert.equal(ls(cache).length, 2);
      assert.deepEqual(ls(p), ['assets', 'saved_model.pb', 'tfhub_module.pb', 'variables']);
    });
  });
});
