// The module graph of src/: no import cycle (static imports, `import()` and `require()` alike), and files with one
// job (at most 450 lines, generated protos aside). The graph is read from the compiled output, where type-only
// imports are erased (they cannot form a cycle at run time) and `import()` has become `require()`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const distSrc = path.join(root, 'dist', 'src');
const MAX_LINES = 450;

function walk(dir: string, ext: string, out: string[] = []): string[] {
  for (const name of fs.readdirSync(dir)) {
    const full = path.join(dir, name);
    if (fs.statSync(full).isDirectory()) walk(full, ext, out);
    else if (name.endsWith(ext)) out.push(full);
  }
  return out;
}

/** module (path relative to src/, no extension) → the src modules it requires. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const id = (file: string) => path.relative(distSrc, file).replace(/\.js$/, '');
  // Only what src/ still has: a stale dist/ may hold outputs of deleted sources.
  const current = (file: string) => ['.ts', '.js'].some((ext) => fs.existsSync(path.join(root, 'src', `${id(file)}${ext}`)));
  for (const file of walk(distSrc, '.js').filter(current)) {
    const text = fs.readFileSync(file, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/\brequire\(\s*(['"`])([^'"`]+)\1\s*\)/g)) {
      if (!m[2].startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), m[2]);
      const candidates = [`${target}.js`, path.join(target, 'index.js'), target];
      const hit = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile() && c.startsWith(distSrc) && current(c));
      if (hit) deps.push(id(hit));
    }
    graph.set(id(file), deps);
  }
  return graph;
}

/** The strongly connected components with more than one module (or a self-import): Tarjan's algorithm. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

test('the cycle finder sees a cycle', () => {
  assert.deepEqual(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
        ['d', ['a']],
      ]),
    ),
    [['a', 'b', 'c']],
  );
  assert.deepEqual(cycles(new Map([['a', ['a']]])), [['a']]);
  assert.deepEqual(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    [],
  );
});

test('the import graph covers src/ (imports, import() and require())', () => {
  const graph = importGraph();
  assert.ok(graph.size > 30, `${graph.size} modules`);
  assert.ok(graph.get('index')?.includes('graph'), 'index → graph');
  assert.ok(graph.get('train/gradients')?.includes('graph'), 'train/gradients → graph');
  assert.ok(!graph.get('graph')?.some((m) => m.startsWith('train/')), 'graph does not import train/');
});

test('no import cycle in src/', () => {
  const bad = cycles(importGraph());
  assert.deepEqual(bad, [], `import cycles:\n  ${bad.map((c) => c.join(' → ')).join('\n  ')}`);
});

test(`no src file over ${MAX_LINES} lines`, () => {
  const bad = walk(path.join(root, 'src'), '.ts')
    .filter((f) => !f.includes(`${path.sep}generated${path.sep}`))
    .map((f) => [path.relative(root, f), fs.readFileSync(f, 'utf8').split('\n').length] as const)
    .filter(([, n]) => n > MAX_LINES);
  assert.deepEqual(bad, [], `files over ${MAX_LINES} lines: ${bad.map(([f, n]) => `${f} (${n})`).join(', ')}`);
});
