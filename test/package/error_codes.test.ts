// The error-code table (src/error_codes.ts) is complete and is what docs/errors.md shows: every 'ERR_…' literal in
// src/ and native/ is a code of the table, every code of the table is used, and the docs table is generated from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, isErrorCode } from '../../src/error_codes';

const root = path.resolve(__dirname, '..', '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const gen = require(path.join(root, 'scripts', 'gen-docs.js')) as {
  DOC: string;
  renderDoc(doc: string, codes: Record<string, string>): string;
};

/** Codes of Node.js itself that src/ matches on (e.g. retryable stream errors); tfhub-node never throws them. */
const NODE_CODES = new Set(['ERR_STREAM_PREMATURE_CLOSE']);

function files(dir: string, keep: (f: string) => boolean, out: string[] = []): string[] {
  for (const name of fs.readdirSync(dir)) {
    const full = path.join(dir, name);
    if (fs.statSync(full).isDirectory()) {
      if (name !== 'generated') files(full, keep, out);
    } else if (keep(name)) out.push(full);
  }
  return out;
}

function sources(): string[] {
  return [
    ...files(path.join(root, 'src'), (f) => f.endsWith('.ts')),
    ...files(path.join(root, 'native'), (f) => f.endsWith('.cc') || f.endsWith('.h')),
  ];
}

/** Every quoted code literal ('ERR_X', "ERR_X", `ERR_X`) with where it is. */
function literals(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of sources()) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(['"`])((?:ERR|ABORT)_[A-Z0-9_]+)\1/g)) {
      const where = `${path.relative(root, file)}:${text.slice(0, m.index).split('\n').length}`;
      found.set(m[2], [...(found.get(m[2]) ?? []), where]);
    }
  }
  return found;
}

test('every error code used in src/ and native/ is in ERROR_CODES', () => {
  const missing = [...literals()]
    .filter(([code]) => !isErrorCode(code) && !NODE_CODES.has(code))
    .map(([code, at]) => `${code} (${at.join(', ')})`);
  assert.deepEqual(missing, [], `codes missing from src/error_codes.ts:\n  ${missing.join('\n  ')}`);
});

test('every code of ERROR_CODES is used somewhere, and has a meaning', () => {
  const used = literals();
  const unused = Object.keys(ERROR_CODES).filter((c) => !used.has(c));
  assert.deepEqual(unused, [], `codes no source raises (remove them from src/error_codes.ts):\n  ${unused.join('\n  ')}`);
  for (const [code, meaning] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^(ERR_[A-Z0-9_]+|ABORT_ERR)$/);
    assert.ok(meaning.length > 10 && meaning.endsWith('.'), `${code}: a sentence`);
  }
});

test('no two codes share a meaning', () => {
  const byMeaning = new Map<string, string>();
  for (const [code, meaning] of Object.entries(ERROR_CODES)) {
    assert.equal(byMeaning.get(meaning), undefined, `${code} and ${byMeaning.get(meaning)} say the same`);
    byMeaning.set(meaning, code);
  }
});

test('docs/errors.md shows the table generated from ERROR_CODES (npm run gen:docs)', () => {
  const doc = fs.readFileSync(gen.DOC, 'utf8');
  assert.equal(doc, gen.renderDoc(doc, ERROR_CODES), 'docs/errors.md is stale: run npm run gen:docs');
  for (const code of Object.keys(ERROR_CODES)) assert.ok(doc.includes(`| \`${code}\` |`), code);
});
