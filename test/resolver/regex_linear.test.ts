// Regexes applied to untrusted text run in linear time: each is fed 100,000-character inputs built to make a
// backtracking pattern quadratic (the old credential-redaction regex took minutes on 'x'.repeat(100000)).
// The bound is generous (2 s per call on a loaded machine); a quadratic pattern takes 30 s to minutes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { hub } from '../../src';
import { redactCredentials } from '../../src/hub/resolver/errors';
import { parseByteSize } from '../../src/hub/resolver/settings';
import { safeMemberPath } from '../../src/hub/resolver/archive';
import { maxModelFileBytes } from '../../src/io/read_model_file';

const N = 100_000;
const BOUND_MS = 2000;

function timed<T>(what: string, fn: () => T): T {
  const t = process.hrtime.bigint();
  const r = fn();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  assert.ok(ms < BOUND_MS, `${what}: ${ms.toFixed(0)} ms`);
  return r;
}

async function timedAsync<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = process.hrtime.bigint();
  const r = await fn();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  assert.ok(ms < BOUND_MS, `${what}: ${ms.toFixed(0)} ms`);
  return r;
}

describe('regexes over untrusted text are linear (100,000-character inputs)', () => {
  it('redactCredentials: same results as before on URLs, linear on adversarial runs', () => {
    assert.equal(redactCredentials('GET https://user:secret@example.com/m failed'), 'GET https://user:***@example.com/m failed');
    assert.equal(redactCredentials('a http://u:p@h/x and ftp://v:q:r@k b'), 'a http://u:***@h/x and ftp://v:***@k b');
    assert.equal(redactCredentials('https://user@host/ and https://host/a:b@c'), 'https://user@host/ and https://host/a:b@c');
    assert.equal(redactCredentials('1a+b://u:p@h'), '1a+b://u:***@h');
    assert.equal(redactCredentials('123://u:p@h'), '123://u:p@h');
    assert.equal(redactCredentials('x://a:b/c://d:e@f'), 'x://a:b/c://d:***@f');
    for (const [what, s] of [
      ['x*N', 'x'.repeat(N)],
      ['a://*', 'a://'.repeat(N / 4)],
      ['a://b:*', 'a://b:'.repeat(N / 6)],
      ['scheme run + ://', 'a'.repeat(N) + '://' + 'u'.repeat(N) + ':'],
      ['password run', 'h://u:' + 'p'.repeat(N)],
      ['://:*', '://:'.repeat(N / 4)],
      ['a:// u:p@ *', 'a://u:p@'.repeat(N / 8)],
    ] as Array<[string, string]>) {
      timed(`redactCredentials(${what})`, () => redactCredentials(s));
    }
  });

  it('hub.resolve of a 100,000-character handle is a prompt typed error (path, URL-like, credentials-like)', async () => {
    for (const handle of ['x'.repeat(N), 'a://'.repeat(N / 4), `https://u:${'p'.repeat(N)}@127.0.0.1:1/`, `file://${'/'.repeat(N)}x`]) {
      await timedAsync(`resolve(${handle.slice(0, 12)}…)`, async () => {
        await assert.rejects(hub.resolve(handle, { offline: true }), (e: Error & { code?: string }) => typeof e.code === 'string');
      });
    }
  });

  it('parseByteSize (TFHUB_MAX_EXTRACT_BYTES, TFHUB_NODE_MAX_MODEL_FILE_BYTES) is linear on long runs of spaces and digits', () => {
    assert.equal(parseByteSize('  512M  '), 512 * 1024 ** 2);
    assert.equal(parseByteSize('1 kib'), 1024);
    for (const s of [
      '1' + ' '.repeat(N) + 'x',
      ' '.repeat(N) + '1x',
      '1'.repeat(N) + '.',
      '1.' + '1'.repeat(N) + 'x',
      '1' + ' '.repeat(N) + 'k' + ' '.repeat(N) + 'x',
    ]) {
      timed('parseByteSize', () => assert.equal(parseByteSize(s), undefined));
    }
    const saved = process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES;
    try {
      process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES = '1' + ' '.repeat(N) + 'x';
      timed('maxModelFileBytes', () => assert.throws(() => maxModelFileBytes(), { code: 'ERR_INVALID_SETTING' }));
    } finally {
      if (saved === undefined) delete process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES;
      else process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES = saved;
    }
  });

  it('archive member names: long runs of slashes and dots', () => {
    assert.equal(safeMemberPath('h', 'a/b///'), 'a/b');
    for (const name of ['/'.repeat(N) + 'x', 'a' + '/'.repeat(N), 'a/'.repeat(N / 2), './'.repeat(N / 2) + 'x']) {
      timed('safeMemberPath', () => safeMemberPath('h', name));
    }
  });
});
