// Archive member-count limit (maxExtractEntries / TFHUB_MAX_EXTRACT_ENTRIES), checked as members stream in: a
// 100,001-member archive is refused promptly once the limit is hit and leaves nothing, for a path, a file:// URL
// and an HTTP handle. zstd archives on a Node without zlib zstd: a typed refusal.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

import { resolve } from '../../src/hub/resolver';
import { resolveSettings } from '../../src/hub/resolver/settings';
import { zstdAvailable } from '../../src/hub/resolver/archive';
import { TestServer, ls, rawTar, rejection, serve, useServerAndCache, withEnv } from './helpers/util';

const MANY = 100_001;

/** A gzip'd tar of saved_model.pb and 100,000 empty files (headers written in place: fast), built once. */
let many: Buffer;
function manyMembers(): Buffer {
  if (many) return many;
  const first = rawTar([{ name: './saved_model.pb', data: 'x' }]);
  const head = first.subarray(0, first.length - 1024);
  const template = rawTar([{ name: './f0' }]).subarray(0, 512);
  const tar = Buffer.alloc(head.length + (MANY - 1) * 512 + 1024);
  head.copy(tar, 0);
  for (let i = 0; i < MANY - 1; i++) {
    const h = tar.subarray(head.length + i * 512, head.length + (i + 1) * 512);
    template.copy(h);
    h.fill(0, 0, 100);
    h.write(`./f${i}`, 0, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (let k = 0; k < 512; k++) sum += h[k];
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  }
  many = gzipSync(tar);
  return many;
}

describe('archives: member-count limit and zstd', () => {
  let root: string;
  let cache: string;
  let server: TestServer;
  useServerAndCache((s) => ({ server, root, cache } = s));

  it('maxExtractEntries: option, TFHUB_MAX_EXTRACT_ENTRIES, default 10 000, bad values typed', async () => {
    assert.equal(resolveSettings({}).maxExtractEntries, 10_000);
    assert.equal(resolveSettings({ maxExtractEntries: 7 }).maxExtractEntries, 7);
    await withEnv({ TFHUB_MAX_EXTRACT_ENTRIES: '12' }, async () => assert.equal(resolveSettings({}).maxExtractEntries, 12));
    await withEnv({ TFHUB_MAX_EXTRACT_ENTRIES: 'many' }, async () =>
      assert.throws(() => resolveSettings({}), { code: 'ERR_INVALID_SETTING' }),
    );
    assert.throws(() => resolveSettings({ maxExtractEntries: -1 }), { code: 'ERR_INVALID_SETTING' });
  });

  it(`a ${MANY}-member archive over a limit of 10 is refused promptly (the rest is never parsed) and leaves nothing (path, file URL, HTTP)`, async () => {
    const file = path.join(root, 'many.tar.gz');
    fs.writeFileSync(file, manyMembers());
    server.routes.set('/many.tar.gz', serve(manyMembers()));
    for (const handle of [file, pathToFileURL(file).href, `${server.base}/many.tar.gz`]) {
      const started = Date.now();
      const e = await rejection(resolve(handle, { cacheDir: cache, retries: 0, maxExtractEntries: 10 }));
      const ms = Date.now() - started;
      assert.equal(e.code, 'ERR_ARCHIVE_TOO_LARGE', `${handle}: ${e.message}`);
      assert.match(e.message, /more than 10 archive members \(maxExtractEntries \/ TFHUB_MAX_EXTRACT_ENTRIES\)/);
      assert.ok(ms < 3000, `${handle}: refused after ${ms} ms`);
      assert.deepEqual(ls(cache), [], `${handle}: nothing stays in the cache`);
    }
  });

  it(`with the default limit a ${MANY}-member archive is refused after 10 000 members and leaves nothing`, async () => {
    const file = path.join(root, 'many.tar.gz');
    fs.writeFileSync(file, manyMembers());
    const started = Date.now();
    const e = await rejection(resolve(file, { cacheDir: cache }));
    const ms = Date.now() - started;
    assert.equal(e.code, 'ERR_ARCHIVE_TOO_LARGE');
    assert.match(e.message, /more than 10000 archive members/);
    // 10 000 small files are written and removed; a generous bound (the old default took ~30-60 s here).
    assert.ok(ms < 20_000, `refused after ${ms} ms`);
    assert.deepEqual(ls(cache), []);
  });

  it('TFHUB_MAX_EXTRACT_ENTRIES applies when no option is given', async () => {
    const file = path.join(root, 'many.tar.gz');
    fs.writeFileSync(file, manyMembers());
    await withEnv({ TFHUB_MAX_EXTRACT_ENTRIES: '5' }, async () => {
      const e = await rejection(resolve(file, { cacheDir: cache }));
      assert.equal(e.code, 'ERR_ARCHIVE_TOO_LARGE');
      assert.match(e.message, /more than 5 archive members/);
    });
    assert.deepEqual(ls(cache), []);
  });

  it('zstd: extracted where Node has zlib zstd, else ERR_INVALID_ARCHIVE saying so (never a TypeError)', async (t) => {
    let zst: Buffer;
    try {
      zst = execFileSync('zstd', ['-q', '-c'], { input: rawTar([{ name: './saved_model.pb', data: 'x' }]) });
    } catch {
      return t.skip('no zstd command');
    }
    const file = path.join(root, 'm.tar');
    fs.writeFileSync(file, zst);
    server.routes.set('/m.tar', serve(zst));
    for (const handle of [file, `${server.base}/m.tar`]) {
      if (zstdAvailable()) {
        const dir = await resolve(handle, { cacheDir: cache, retries: 0 });
        assert.equal(fs.readFileSync(path.join(dir, 'saved_model.pb'), 'utf8'), 'x');
      } else {
        const e = await rejection(resolve(handle, { cacheDir: cache, retries: 0 }));
        assert.equal(e.code, 'ERR_INVALID_ARCHIVE');
        assert.match(e.message, /zstd-compressed archives need a Node\.js whose zlib has zstd/);
        assert.deepEqual(ls(cache), []);
      }
    }
  });
});
