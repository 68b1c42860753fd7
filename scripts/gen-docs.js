'use strict';
// Generates the error-code table of docs/errors.md from src/error_codes.ts (compiled to dist/src/error_codes.js:
// run `npm run gen:docs`, which builds first). test/package/error_codes.test.ts fails when the two differ.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DOC = path.join(ROOT, 'docs', 'errors.md');
const BEGIN = '<!-- BEGIN GENERATED: error codes (npm run gen:docs) -->';
const END = '<!-- END GENERATED: error codes -->';

/** The Markdown table of `codes` (code → meaning), in the table's own order. */
function renderTable(codes) {
  const rows = Object.entries(codes).map(([code, meaning]) => `| \`${code}\` | ${meaning.replace(/\|/g, '\\|')} |`);
  return ['| code | meaning |', '| --- | --- |', ...rows].join('\n');
}

/** `doc` with the text between the markers replaced by the table of `codes`. */
function renderDoc(doc, codes) {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a === -1 || b === -1 || b < a) throw new Error(`${DOC}: the generated-section markers are missing`);
  return `${doc.slice(0, a + BEGIN.length)}\n${renderTable(codes)}\n${doc.slice(b)}`;
}

module.exports = { DOC, renderTable, renderDoc };

if (require.main === module) {
  const { ERROR_CODES } = require(path.join(ROOT, 'dist', 'src', 'error_codes.js'));
  const before = fs.readFileSync(DOC, 'utf8');
  const after = renderDoc(before, ERROR_CODES);
  if (after !== before) fs.writeFileSync(DOC, after);
  process.stdout.write(`${path.relative(ROOT, DOC)}: ${Object.keys(ERROR_CODES).length} codes${after === before ? ' (unchanged)' : ''}\n`);
}
