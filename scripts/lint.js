'use strict';
// `npm run lint`: ESLint over the TypeScript and JavaScript sources (eslint.config.mjs), then clang-format in
// check mode over native/ (.clang-format). Exits non-zero on any warning or formatting difference.
// Extra arguments are passed to ESLint (e.g. `npm run lint -- src/graph.ts`).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
let failed = false;

const eslint = spawnSync(process.execPath, [require.resolve('eslint/bin/eslint.js'), '--max-warnings=0', ...(process.argv.slice(2).length ? process.argv.slice(2) : ['.'])],
  { cwd: root, stdio: 'inherit' });
if (eslint.status !== 0) failed = true;

const native = fs.readdirSync(path.join(root, 'native')).filter((f) => /\.(cc|h)$/.test(f)).map((f) => path.join('native', f));
const candidates = [process.env.CLANG_FORMAT, 'clang-format', 'clang-format-19', 'clang-format-18', 'clang-format-17', 'clang-format-16', 'clang-format-15', 'clang-format-14'].filter(Boolean);
const clang = candidates.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!clang) {
  process.stderr.write('lint: clang-format not found (install clang-format, or set CLANG_FORMAT); native/ not checked\n');
  failed = true;
} else {
  const r = spawnSync(clang, ['--dry-run', '--Werror', ...native], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
