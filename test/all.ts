// Single-process entry for the whole suite: libtensorflow costs ~300 MB and up to a second per process,
// so every *.test.js under dist/test is loaded here instead of one process per file.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (name === 'fixtures') continue;
    if (statSync(full).isDirectory()) collect(full, out);
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const only = process.env.TFHUB_TEST_ONLY; // substring filter for local runs
for (const file of collect(__dirname, [])) {
  if (only && !file.includes(only)) continue;
  require(file);
}
