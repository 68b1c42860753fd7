'use strict';
// `npm run lint`: ESLint over the TypeScript and JavaScript sources (eslint.config.mjs), Prettier in check mode
// (.prettierrc.json, the TypeScript/JavaScript formatter), then clang-format in check mode over native/
// (.clang-format). Exits non-zero on any warning or formatting difference. `npm run format` applies both
// formatters. clang-format comes from .venv-test/ (test/requirements.txt pins it), else from PATH or CLANG_FORMAT.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const write = process.argv.includes('--write');
const packageBin = (name, bin) => path.join(path.dirname(require.resolve(`${name}/package.json`)), bin);
const PRETTIER_GLOBS = ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.{js,ts}', 'scripts/**/*.js', '*.mjs'];
let failed = false;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) process.stderr.write(`lint: ${cmd}: ${r.error.message}\n`);
  if (r.status !== 0) failed = true;
}

if (!write) run(process.execPath, [packageBin('eslint', 'bin/eslint.js'), '--max-warnings=0', '.']);
run(process.execPath, [packageBin('prettier', 'bin/prettier.cjs'), write ? '--write' : '--check', '--log-level=warn', ...PRETTIER_GLOBS]);

const native = fs
  .readdirSync(path.join(root, 'native'))
  .filter((f) => /\.(cc|h)$/.test(f))
  .map((f) => path.join('native', f));
const candidates = [process.env.CLANG_FORMAT, path.join(root, '.venv-test', 'bin', 'clang-format'), 'clang-format'].filter(Boolean);
const clang = candidates.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!clang) {
  process.stderr.write(
    'lint: clang-format not found (run `npm test` once to create .venv-test/, or set CLANG_FORMAT); native/ not checked\n',
  );
  failed = true;
} else {
  run(clang, write ? ['-i', ...native] : ['--dry-run', '--Werror', ...native]);
}
process.exitCode = failed ? 1 : 0;
