// Pure helpers of the resolver: Python's URL/query rules, cache names, lock contents, settings precedence.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  appendFormatQuery,
  bytesToReadableStr,
  bypassProxy,
  cacheEntryName,
  compressedDownloadUrl,
  descriptorFilename,
  formatDescriptor,
  isTarUrl,
  lockFileContents,
  lockFilename,
  parseLockContents,
  proxyFor,
  pythonDateTime,
  resolveCacheDir,
  safeMemberPath,
  taskUidFromLockContents,
  tempDownloadDir,
  ResolveError,
} from '../../src/hub/resolver';
import { TfhubError } from '../../src/errors';
import { parseQsl, quotePlus, urlencode } from '../../src/hub/resolver/url';
import { parseByteSize, resolveSettings } from '../../src/hub/resolver/settings';
import { isolateEnv, withEnv } from './helpers/util';

describe('resolver units', () => {
  let restore: () => void;
  before(() => {
    restore = isolateEnv();
  });
  after(() => restore());

  describe('compressed_module_resolver_test.py', () => {
    it('testAppendFormatQuery (real equality checks)', () => {
      const cases: Array<[string, string]> = [
        ['https://example.com/module.tar.gz', 'https://example.com/module.tar.gz?tf-hub-format=compressed'],
        ['https://example.com/module', 'https://example.com/module?tf-hub-format=compressed'],
        ['https://example.com/module?extra=abc', 'https://example.com/module?extra=abc&tf-hub-format=compressed'],
        ['https://example.com/module?extra=abc', 'https://example.com/module?extra=abc&tf-hub-format=compressed'],
        [
          'https://example.com/module?extra=abc&tf-hub-format=test',
          'https://example.com/module?extra=abc&tf-hub-format=test&tf-hub-format=compressed',
        ],
      ];
      for (const [handle, expected] of cases) assert.equal(appendFormatQuery(handle), expected, handle);
    });

    it('appendFormatQuery follows parse_qsl/urlencode: blanks dropped, re-encoding, fragment kept', () => {
      assert.equal(appendFormatQuery('https://h/m?a=&b=1&flag'), 'https://h/m?b=1&tf-hub-format=compressed');
      assert.equal(appendFormatQuery('https://h/m?q=a%20b+c&x=%7e!'), 'https://h/m?q=a+b+c&x=~%21&tf-hub-format=compressed');
      assert.equal(appendFormatQuery('https://h/m?n=%C3%A9'), 'https://h/m?n=%C3%A9&tf-hub-format=compressed');
      assert.equal(appendFormatQuery('https://h/m#frag'), 'https://h/m?tf-hub-format=compressed#frag');
      assert.equal(appendFormatQuery('https://h/m?a=1#f?g=2'), 'https://h/m?a=1&tf-hub-format=compressed#f?g=2');
      assert.equal(appendFormatQuery('HTTPS://h/m'), 'https://h/m?tf-hub-format=compressed');
      assert.equal(appendFormatQuery('https://h'), 'https://h?tf-hub-format=compressed');
      assert.equal(appendFormatQuery('https://h/m', 'uncompressed'), 'https://h/m?tf-hub-format=uncompressed');
      assert.deepEqual(parseQsl('a=1&&b=%zz&c=%E2%82%AC'), [
        ['a', '1'],
        ['b', '%zz'],
        ['c', '€'],
      ]);
      assert.equal(quotePlus("a b/c?d=e&f~g_h.i-j!*'()"), 'a+b%2Fc%3Fd%3De%26f~g_h.i-j%21%2A%27%28%29');
      assert.equal(
        urlencode([
          ['k', 'v v'],
          ['é', ''],
        ]),
        'k=v+v&%C3%A9=',
      );
    });

    it('testIsTarFile', () => {
      assert.equal(isTarUrl('foo.tar'), true);
      assert.equal(isTarUrl('foo.tar.gz'), true);
      assert.equal(isTarUrl('foo.tgz'), true);
      assert.equal(isTarUrl('foo'), false);
      assert.equal(isTarUrl('footar'), false);
    });

    it('testLoadFromCn: hub.tensorflow.google.cn maps to the GCS mirror, without a query', () => {
      assert.equal(
        compressedDownloadUrl('https://hub.tensorflow.google.cn/google/bit/s-r50x1/1'),
        'https://gcs.tensorflow.google.cn/tfhub-modules/google/bit/s-r50x1/1.tar.gz',
      );
    });

    it('direct .tar/.tar.gz/.tgz links are fetched as given; other URLs get the format query', () => {
      assert.equal(compressedDownloadUrl('https://s.example/m.tar.gz?X-Sig=abc'), 'https://s.example/m.tar.gz?X-Sig=abc');
      assert.equal(compressedDownloadUrl('https://s.example/m.tgz'), 'https://s.example/m.tgz');
      assert.equal(
        compressedDownloadUrl('https://tfhub.dev/google/nnlm-en-dim128/1'),
        'https://tfhub.dev/google/nnlm-en-dim128/1?tf-hub-format=compressed',
      );
    });
  });

  describe('resolver_test.py', () => {
    it('_lock_filename / _temp_download_dir / uid from the lock contents', () => {
      assert.equal(lockFilename('/a/b/c/'), '/a/b/c.lock');
      assert.equal(tempDownloadDir('/a/b/', 't'), '/a/b.t.tmp');
      assert.equal(lockFilename('rel/x'), `${path.resolve('rel/x')}.lock`);
      const contents = lockFileContents('0123abcd');
      assert.equal(contents, `${os.hostname()}.${process.pid}.0123abcd`);
      assert.equal(taskUidFromLockContents(contents), '0123abcd');
      assert.equal(descriptorFilename('/c/e'), '/c/e.descriptor.txt');
    });

    it('cache dir precedence: options > TFHUB_CACHE_DIR (non-empty) > <tmpdir>/tfhub_modules', async () => {
      await withEnv({ TFHUB_CACHE_DIR: undefined, TMPDIR: '/some/tmp' }, async () => {
        assert.equal(resolveCacheDir(), '/some/tmp/tfhub_modules');
      });
      await withEnv({ TFHUB_CACHE_DIR: '', TMPDIR: '/some/tmp' }, async () => {
        assert.equal(resolveCacheDir(), '/some/tmp/tfhub_modules');
      });
      await withEnv({ TFHUB_CACHE_DIR: '/env/cache' }, async () => {
        assert.equal(resolveCacheDir(), '/env/cache');
        assert.equal(resolveCacheDir({ cacheDir: '/opt/cache' }), '/opt/cache');
      });
      await withEnv({ TFHUB_CACHE_DIR: 'file:///env/cache2' }, async () => {
        assert.equal(resolveCacheDir(), '/env/cache2');
      });
      await withEnv({ TFHUB_CACHE_DIR: 'gs://bucket/cache' }, async () => {
        const e = (() => {
          try {
            resolveCacheDir();
          } catch (x) {
            return x as ResolveError;
          }
          return null;
        })();
        assert.equal(e?.code, 'ERR_INVALID_SETTING');
        assert.match(e!.message, /TFHUB_CACHE_DIR/);
      });
    });
  });

  it('cache entry = sha1 hex of the handle exactly as given (Python: hashlib.sha1(handle.encode("utf8")))', () => {
    assert.equal(cacheEntryName('https://tfhub.dev/google/nnlm-en-dim128/1'), '32f2b2259e1cc8ca58c876921748361283e73997');
    assert.notEqual(
      cacheEntryName('https://tfhub.dev/google/nnlm-en-dim128/1/'),
      cacheEntryName('https://tfhub.dev/google/nnlm-en-dim128/1'),
    );
    assert.match(cacheEntryName('https://h/é'), /^[0-9a-f]{40}$/);
  });

  it('lock contents parse: host names with dots; hostile uids rejected', () => {
    assert.deepEqual(parseLockContents('host.example.com.1234.abcdef0123'), { hostname: 'host.example.com', pid: 1234, uid: 'abcdef0123' });
    assert.equal(parseLockContents('garbage'), null);
    assert.equal(parseLockContents('h.0.abc'), null);
    assert.equal(parseLockContents('h.12.../../etc'), null);
    assert.equal(parseLockContents('h.12.a/b'), null);
  });

  it('descriptor text and Python datetime formatting', () => {
    const d = new Date(2026, 10, 22, 12, 0, 22);
    assert.equal(pythonDateTime(d, 158888), '2026-11-22 12:00:22.158888');
    assert.equal(pythonDateTime(d, 0), '2026-11-22 12:00:22');
    const text = formatDescriptor('https://h/m', { date: d, microseconds: 5 });
    assert.equal(
      text,
      `Module: https://h/m\nDownload Time: 2026-11-22 12:00:22.000005\nDownloader Hostname: ${os.hostname()} (PID:${process.pid})`,
    );
  });

  it('bytes_to_readable_str', () => {
    assert.equal(bytesToReadableStr(1023, true), '1023B');
    assert.equal(bytesToReadableStr(1536, true), '1.50kB');
    assert.equal(bytesToReadableStr(3 * 1024 * 1024), '3.00M');
    assert.equal(bytesToReadableStr(5 * 1024 ** 3, true), '5.00GB');
  });

  it('file_utils_test.py merge_relative_path cases', () => {
    assert.equal(safeMemberPath('h', ''), '');
    assert.equal(safeMemberPath('h', './'), '');
    assert.equal(safeMemberPath('h', './file'), 'file');
    assert.equal(safeMemberPath('h', 'hello/../bla'), 'bla');
    assert.equal(safeMemberPath('h', '/'), '');
    assert.equal(safeMemberPath('h', '/abs/f'), 'abs/f');
    assert.equal(safeMemberPath('h', 'a//b/./c/'), 'a/b/c');
    for (const bad of ['/../', 'hello/../../bla', '..', '../evil.txt', './../x', 'a/\0b']) {
      assert.throws(
        () => safeMemberPath('h', bad),
        (e: ResolveError) => e.code === 'ERR_UNSAFE_ARCHIVE',
        bad,
      );
    }
    assert.throws(() => safeMemberPath('h', '../evil.txt'), /Relative path '\.\.\/evil\.txt' is invalid\./i);
  });

  it('TFHUB_DISABLE_CERT_VALIDATION: only the exact string "true" disables checks', async () => {
    for (const [value, validation] of [
      [undefined, true],
      ['', true],
      ['TRUE', true],
      ['1', true],
      ['True', true],
      ['true', false],
    ] as const) {
      await withEnv({ TFHUB_DISABLE_CERT_VALIDATION: value }, async () => {
        assert.equal(resolveSettings({ cacheDir: '/c' }).certValidation, validation, String(value));
      });
    }
  });

  it('TFHUB_MODEL_LOAD_FORMAT: AUTO default, case-sensitive, invalid values are a clear error', async () => {
    assert.equal(resolveSettings({ cacheDir: '/c' }).loadFormat, 'AUTO');
    for (const v of ['AUTO', 'COMPRESSED', 'UNCOMPRESSED'] as const) {
      await withEnv({ TFHUB_MODEL_LOAD_FORMAT: v }, async () => assert.equal(resolveSettings({ cacheDir: '/c' }).loadFormat, v));
    }
    await withEnv({ TFHUB_MODEL_LOAD_FORMAT: 'compressed' }, async () => {
      assert.throws(
        () => resolveSettings({ cacheDir: '/c' }),
        (e: ResolveError) => e.code === 'ERR_INVALID_SETTING' && /TFHUB_MODEL_LOAD_FORMAT/.test(e.message),
      );
      assert.equal(resolveSettings({ cacheDir: '/c', loadFormat: 'COMPRESSED' }).loadFormat, 'COMPRESSED');
    });
  });

  it('numeric and boolean settings from the environment are validated', async () => {
    await withEnv(
      { TFHUB_LOCK_TIMEOUT_SEC: '1.5', TFHUB_HTTP_TIMEOUT_SEC: '2', TFHUB_MAX_EXTRACT_BYTES: '3M', TFHUB_OFFLINE: 'yes' },
      async () => {
        const s = resolveSettings({ cacheDir: '/c' });
        assert.equal(s.lockTimeoutMs, 1500);
        assert.equal(s.httpTimeoutMs, 2000);
        assert.equal(s.maxExtractBytes, 3 * 1024 * 1024);
        assert.equal(s.offline, true);
        assert.equal(resolveSettings({ cacheDir: '/c', offline: false, lockTimeoutMs: 7 }).offline, false);
      },
    );
    for (const [k, v] of [
      ['TFHUB_LOCK_TIMEOUT_SEC', '-1'],
      ['TFHUB_HTTP_TIMEOUT_SEC', 'soon'],
      ['TFHUB_MAX_EXTRACT_BYTES', '1e99x'],
      ['TFHUB_OFFLINE', 'maybe'],
    ]) {
      await withEnv({ [k]: v }, async () => {
        assert.throws(
          () => resolveSettings({ cacheDir: '/c' }),
          (e: ResolveError) => e.code === 'ERR_INVALID_SETTING' && e.message.includes(k),
          k,
        );
      });
    }
    assert.throws(() => resolveSettings({ cacheDir: '/c', retries: -1 }), /options\.retries/);
    assert.equal(parseByteSize('20GiB'), 20 * 1024 ** 3);
    assert.equal(parseByteSize('1.5k'), 1536);
    assert.equal(parseByteSize('12'), 12);
  });

  it('proxies: urllib selection and no_proxy matching', async () => {
    await withEnv(
      { https_proxy: 'http://p:3128', HTTP_PROXY: 'proxy.local:8080', NO_PROXY: '.internal.example,localhost:9000' },
      async () => {
        assert.equal(proxyFor(new URL('https://tfhub.dev/x'))?.href, 'http://p:3128/');
        assert.equal(proxyFor(new URL('http://tfhub.dev/x'))?.href, 'http://proxy.local:8080/');
        assert.equal(proxyFor(new URL('https://a.internal.example/x')), null);
        assert.equal(proxyFor(new URL('https://internal.example/x')), null);
        assert.equal(proxyFor(new URL('http://localhost:9000/x')), null);
        assert.notEqual(proxyFor(new URL('http://localhost:9001/x')), null);
      },
    );
    assert.equal(bypassProxy(new URL('http://x.y/'), '*'), true);
    assert.equal(bypassProxy(new URL('http://notexample.com/'), 'example.com'), false);
    await withEnv({ https_proxy: 'socks5://p:1080' }, async () => {
      assert.throws(
        () => proxyFor(new URL('https://tfhub.dev/x')),
        (e: ResolveError) => e.code === 'ERR_INVALID_SETTING',
      );
    });
  });

  it('ResolveError is a TfhubError with a code, a name and details', () => {
    const e = new ResolveError('ERR_HTTP_STATUS', 'm', { handle: 'h', url: 'u', status: 404 });
    assert.ok(e instanceof TfhubError && e instanceof Error);
    assert.equal(e.name, 'ResolveError');
    assert.deepEqual([e.code, e.handle, e.url, e.status], ['ERR_HTTP_STATUS', 'h', 'u', 404]);
  });
});
