// Single-process entry for the whole suite: libtensorflow costs ~300 MB and up to a second per process,
// so every *.test.js under dist/test is loaded here instead of one process per file.
import { readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

function collect(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (name === 'fixtures') continue;
    if (statSync(full).isDirectory()) collect(full, out);
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

// The Python test environment made by scripts/python-env.js comes first, so every `python3` a test spawns has
// TensorFlow and grpcio (tests skip with a message where no Python has them).
const venvBin = resolve(__dirname, '..', '..', '.venv-test', 'bin');
if (!process.env.TFHUB_PYTHON && statSync(venvBin, { throwIfNoEntry: false })?.isDirectory()) {
  process.env.PATH = `${venvBin}${delimiter}${process.env.PATH ?? ''}`;
}

const only = process.env.TFHUB_TEST_ONLY; // substring filter for local runs
for (const file of collect(__dirname, [])) {
  if (only && !file.includes(only)) continue;
  require(file); // eslint-disable-line @typescript-eslint/no-require-imports -- the suite's files, found at run time
}
