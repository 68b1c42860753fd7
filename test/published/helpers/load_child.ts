// Loads models in a process of their own for hostile_graphs.test.ts: `node load_child.js <load|module> <dir> …`
// prints one JSON line per model, {ok: true} or {code, name, message}; an abort or segfault ends the output early
// and shows up as the child's signal.
import { Graph, hub } from '../../../src';
import { load } from '../../../src/hub/tf2';

async function loadOne(kind: string, dir: string): Promise<void> {
  if (kind === 'load') {
    (await load(dir)).close();
    return;
  }
  const spec = await hub.loadModuleSpec(dir);
  const g = new Graph();
  try {
    new hub.Module(spec, { graph: g });
  } finally {
    g.dispose();
  }
}

async function main(args: string[]): Promise<void> {
  for (let i = 0; i + 1 < args.length; i += 2) {
    const line = await loadOne(args[i], args[i + 1]).then(
      () => ({ ok: true }),
      (e: Error & { code?: string }) => ({ code: e.code, name: e.name, message: e.message }),
    );
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

void main(process.argv.slice(2));
