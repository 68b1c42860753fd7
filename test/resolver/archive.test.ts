// Hostile archives served over HTTP (and from local files): path traversal, absolute names, symlinks, hard links,
// devices, unknown member types, size caps, decompression bombs. Nothing may land outside the entry, and a refused
// archive leaves nothing in the cache.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

import { resolve } from '../../src/hub/resolver';
import { extractTar } from '../../src/hub/resolver/archive';
import { RawMember, TestServer, ls, rawTar, rejection, serve, tinyModuleTar, useServerAndCache, withEnv } from './helpers/util';

describe('resolver: hostile archives', () => {
  let server: TestServer;
  let root: string;
  let cache: string;
  const opts = (extra: Record<string, unknown> = {}) => ({ cacheDir: cache, retries: 0, ...extra });

  /** Serves `archive` and resolves it; returns the rejection. */
  async function refused(name: string, archive: Buffer, extra: Record<string, unknown> = {}) {
    server.routes.set(`/${name}`, serve(archive));
    const e = await rejection(resolve(`${server.base}/${name}`, opts(extra)));
    assert.deepEqual(ls(cache), [], `${name}: nothing stays in the cache`);
    assert.deepEqual(ls(root), ['cache'], `${name}: nothing lands next to the cache`);
    return e;
  }

  useServerAndCache((s) => ({ server, root, cache } = s));

  it('path traversal with ".." is refused (Python: "Relative path \'../evil.txt\' is invalid.")', async () => {
    for (const name of ['../evil.txt', './a/../../evil.txt', 'variables/../../../evil.txt', '/../evil.txt']) {
      const e = await refused('trav.tar.gz', tinyModuleTar([{ name, data: 'pwned' }]));
      assert.equal(e.code, 'ERR_UNSAFE_ARCHIVE', name);
      assert.match(e.message, /relative path '.*evil\.txt' is invalid\./);
    }
    assert.equal(fs.existsSync(path.join(root, 'evil.txt')), false);
  });

  it('absolute member names are taken relative to the entry, as Python does (never written outside)', async () => {
    server.routes.set(
      '/abs.tar',
      serve(
        tinyModuleTar(
          [
            { name: '/etc/tfhub-node-evil', data: 'x' },
            { name: '/abs/deep/f', data: 'y' },
          ],
          false,
        ),
      ),
    );
    const p = await resolve(`${server.base}/abs.tar`, opts());
    assert.equal(fs.readFileSync(path.join(p, 'etc/tfhub-node-evil'), 'utf8'), 'x');
    assert.equal(fs.readFileSync(path.join(p, 'abs/deep/f'), 'utf8'), 'y', 'parents are created for files (Python fails here)');
    assert.equal(fs.existsSync('/etc/tfhub-node-evil'), false);
  });

  it('symlinks, hard links, devices, FIFOs and unknown member types are refused', async () => {
    const cases: Array<[RawMember, RegExp]> = [
      [{ name: './link', type: '2', linkname: '/etc/passwd' }, /SymbolicLink \('\.\/link' -> '\/etc\/passwd'\)/],
      [{ name: './variables', type: '2', linkname: '../../..' }, /SymbolicLink/],
      [{ name: './hard', type: '1', linkname: './saved_model.pb' }, /Link \('\.\/hard'/],
      [{ name: './tty', type: '3' }, /CharacterDevice/],
      [{ name: './disk', type: '4' }, /BlockDevice/],
      [{ name: './fifo', type: '6' }, /FIFO/],
      [{ name: './sparse', type: 'S', data: 'abc' }, /SparseFile/],
    ];
    for (const [member, re] of cases) {
      const e = await refused('special.tar.gz', tinyModuleTar([member]));
      assert.equal(e.code, 'ERR_UNSAFE_ARCHIVE', member.name);
      assert.match(e.message, /unexpected object type in tar archive/);
      assert.match(e.message, re);
    }
    // A symlink followed by a file written "through" it never gets that far.
    const e = await refused(
      'through.tar.gz',
      tinyModuleTar([
        { name: 'out', type: '2', linkname: root },
        { name: 'out/pwned', data: 'x' },
      ]),
    );
    assert.equal(e.code, 'ERR_UNSAFE_ARCHIVE');
  });

  it('the extracted size is capped (maxExtractBytes / TFHUB_MAX_EXTRACT_BYTES)', async () => {
    const big = tinyModuleTar([{ name: './variables/data', data: Buffer.alloc(5000, 1) }]);
    const e = await refused('big.tar.gz', big, { maxExtractBytes: 4000 });
    assert.equal(e.code, 'ERR_ARCHIVE_TOO_LARGE');
    assert.match(e.message, /more than 4000 bytes/);
    const e2 = await withEnv({ TFHUB_MAX_EXTRACT_BYTES: '4k' }, () => refused('big.tar.gz', big));
    assert.equal(e2.code, 'ERR_ARCHIVE_TOO_LARGE');
    server.routes.set('/ok.tar.gz', serve(big));
    await resolve(`${server.base}/ok.tar.gz`, opts({ maxExtractBytes: 6000 }));
  });

  it('a decompression bomb stops at the cap without writing past it', async () => {
    const bomb = gzipSync(
      rawTar([
        { name: './saved_model.pb', data: 'g' },
        { name: './zeros', data: Buffer.alloc(64 * 1024 * 1024) },
      ]),
    );
    assert.ok(bomb.length < 200_000);
    const t0 = Date.now();
    const e = await refused('bomb.tar.gz', bomb, { maxExtractBytes: 1024 * 1024 });
    assert.equal(e.code, 'ERR_ARCHIVE_TOO_LARGE');
    assert.ok(Date.now() - t0 < 5000);
  });

  it('corrupt headers, conflicting members and unsupported compressions are invalid archives', async () => {
    const good = rawTar([
      { name: './saved_model.pb', data: 'g' },
      { name: './x', data: 'y' },
    ]);
    const badSum = Buffer.from(good);
    badSum[1024 + 10] ^= 0xff; // damage the second header
    assert.equal((await refused('sum.tar', badSum)).code, 'ERR_INVALID_ARCHIVE');
    const conflict = rawTar([
      { name: './saved_model.pb', data: 'g' },
      { name: './a', data: 'file' },
      { name: './a/b', data: 'under a file' },
    ]);
    assert.equal((await refused('conflict.tar', conflict)).code, 'ERR_INVALID_ARCHIVE');
    const bz = await refused('m.tar.bz2', Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(600, 7)]));
    assert.equal(bz.code, 'ERR_INVALID_ARCHIVE');
    assert.match(bz.message, /bzip2-compressed archives are not supported/);
    const zip = await refused('m.zip', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(600)]));
    assert.match(zip.message, /zip file/);
    assert.equal((await refused('empty.tar.gz', Buffer.alloc(0))).code, 'ERR_INVALID_ARCHIVE');
  });

  it('a hostile local .tar.gz handle is refused the same way', async () => {
    const file = path.join(root, 'evil.tar.gz');
    fs.writeFileSync(file, tinyModuleTar([{ name: '../../evil', data: 'x' }]));
    const e = await rejection(resolve(file, opts()));
    assert.equal(e.code, 'ERR_UNSAFE_ARCHIVE');
    assert.deepEqual(ls(cache), []);
    assert.deepEqual(ls(root), ['cache', 'evil.tar.gz']);
  });

  it('extractTar: duplicate members overwrite, "." entries are the root, data is written exactly', async () => {
    const dest = path.join(root, 'out');
    fs.mkdirSync(dest);
    async function* one(b: Buffer) {
      for (let i = 0; i < b.length; i += 777) yield b.subarray(i, i + 777);
    }
    const archive = rawTar(
      [
        { name: '.', type: '5' },
        { name: './d/', type: '5' },
        { name: './d/f', data: 'first' },
        { name: './d/f', data: 'second!' },
        { name: 'long/' + 'x'.repeat(90), data: 'deep' },
      ],
      true,
    );
    const stats = await extractTar(one(archive), dest, { handle: 'h', maxBytes: 1e6 });
    assert.equal(fs.readFileSync(path.join(dest, 'd/f'), 'utf8'), 'second!');
    assert.equal(fs.readFileSync(path.join(dest, 'long', 'x'.repeat(90)), 'utf8'), 'deep');
    assert.equal(stats.entries, 5);
    assert.equal(stats.bytes, 'first'.length + 'second!'.length + 4);
    assert.equal(fs.statSync(path.join(dest, 'd/f')).mode & 0o777, 0o644 & ~process.umask());
  });
});
