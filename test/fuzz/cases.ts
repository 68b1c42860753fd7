// The fuzz cases: each id (seed + case number) picks a class and a mutation, builds the mutated model or archive
// in a fresh directory, and drives the public API over it. The outcome is 'ok' (loaded and ran), 'typed' (an
// error with a string `code`) or 'untyped' (an error without one: a bug). Crashes, hangs and runaway memory are
// seen by the parent process (runner.ts).
import { cpSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

import { Graph, Session, Tensor, hub } from '../../src';
import { KerasLayer } from '../../src/hub/keras_layer';
import { tensorflow, tensorflow_hub } from '../../src/proto';
import { RawEntry, readTable, writeTable } from '../helpers/checkpoint_table';
import { Rng, caseSeed, mutateBytes, mutateMessage } from './mutate';

/** test/fixtures, from dist/test/fuzz. */
const FIXTURES = path.join(__dirname, '../../../test/fixtures');

/** The classes of mutation. */
export const CLASSES = [
  'saved_model.bytes',
  'saved_model.fields',
  'tfhub_module',
  'index.bytes',
  'index.entries',
  'data.bytes',
  'fs',
  'archive',
] as const;
/** One class of mutation. */
export type CaseClass = (typeof CLASSES)[number];

/** What one case did. */
export interface CaseResult {
  id: number;
  cls: CaseClass;
  what: string;
  outcome: 'ok' | 'typed' | 'untyped';
  code?: string;
  message?: string;
}

interface Built {
  dir: string;
  kind: 'tf2' | 'tf1' | 'archive';
  what: string;
  cleanup?: () => void;
}

const TF2 = 'tf2_my_mul';
const TF1 = 'mlp_v1';

function copy(name: string, parent: string): string {
  const dest = path.join(parent, name);
  cpSync(path.join(FIXTURES, name), dest, { recursive: true });
  return dest;
}

function modelFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

function build(cls: CaseClass, rng: Rng, tmp: string): Built {
  const tf1 = cls === 'tfhub_module' || rng.chance(0.35);
  const name = tf1 ? TF1 : TF2;
  const kind = tf1 ? 'tf1' : 'tf2';
  switch (cls) {
    case 'saved_model.bytes': {
      const dir = copy(name, tmp);
      const f = path.join(dir, 'saved_model.pb');
      writeFileSync(f, mutateBytes(rng, readFileSync(f)));
      return { dir, kind, what: `${name} saved_model.pb bytes` };
    }
    case 'saved_model.fields': {
      const dir = copy(name, tmp);
      const f = path.join(dir, 'saved_model.pb');
      const sm = tensorflow.SavedModel.decode(readFileSync(f));
      const what = [mutateMessage(rng, sm)];
      if (rng.chance(0.3)) what.push(mutateMessage(rng, sm));
      writeFileSync(f, tensorflow.SavedModel.encode(sm).finish());
      return { dir, kind, what: `${name} saved_model.pb ${what.join('; ')}` };
    }
    case 'tfhub_module': {
      const dir = copy(TF1, tmp);
      const f = path.join(dir, 'tfhub_module.pb');
      if (rng.chance(0.5)) writeFileSync(f, mutateBytes(rng, readFileSync(f)));
      else {
        const def = tensorflow_hub.ModuleDef.decode(readFileSync(f));
        def.format = rng.pick([0, 1, 2, 3, 4, -1, 2 ** 31 - 1]);
        if (rng.chance(0.5)) def.requiredFeatures = ['x'.repeat(rng.int(100))];
        writeFileSync(f, tensorflow_hub.ModuleDef.encode(def).finish());
      }
      return { dir, kind: 'tf1', what: 'tfhub_module.pb' };
    }
    case 'index.bytes': {
      const dir = copy(name, tmp);
      const f = path.join(dir, 'variables', 'variables.index');
      writeFileSync(f, mutateBytes(rng, readFileSync(f)));
      return { dir, kind, what: `${name} variables.index bytes` };
    }
    case 'index.entries': {
      const dir = copy(name, tmp);
      const f = path.join(dir, 'variables', 'variables.index');
      const entries: RawEntry[] = readTable(f);
      const i = rng.int(entries.length);
      const what: string[] = [];
      if (entries[i][0].length === 0) {
        const h = tensorflow.BundleHeaderProto.decode(entries[i][1]);
        what.push(`header ${mutateMessage(rng, h)}`);
        entries[i][1] = Buffer.from(tensorflow.BundleHeaderProto.encode(h).finish());
      } else {
        const e = tensorflow.BundleEntryProto.decode(entries[i][1]);
        what.push(`${entries[i][0].toString()} ${mutateMessage(rng, e)}`);
        if (rng.chance(0.3)) what.push(mutateMessage(rng, e));
        try {
          entries[i][1] = Buffer.from(tensorflow.BundleEntryProto.encode(e).finish());
        } catch {
          entries[i][1] = mutateBytes(rng, entries[i][1]);
        }
      }
      if (rng.chance(0.1)) entries.splice(rng.int(entries.length), 1);
      const snappy = rng.chance(0.5);
      writeTable(f, entries, { snappy, perBlock: 1 + rng.int(4) });
      return { dir, kind, what: `${name} index entry ${what.join('; ')}${snappy ? ' (snappy)' : ''}` };
    }
    case 'data.bytes': {
      const dir = copy(name, tmp);
      const f = path.join(dir, 'variables', 'variables.data-00000-of-00001');
      writeFileSync(f, mutateBytes(rng, readFileSync(f)));
      return { dir, kind, what: `${name} data shard bytes` };
    }
    case 'fs': {
      const dir = copy(name, tmp);
      const files = modelFiles(dir);
      const target = rng.chance(0.2) ? path.join(dir, 'variables') : rng.pick(files);
      rmSync(target, { recursive: true, force: true });
      const odd = rng.pick(['fifo', 'directory', 'dev-zero', 'dev-urandom', 'empty', 'dangling', 'loop', 'self-dir'] as const);
      switch (odd) {
        case 'fifo':
          execFileSync('mkfifo', [target]);
          break;
        case 'directory':
          mkdirSync(target);
          break;
        case 'dev-zero':
          symlinkSync('/dev/zero', target);
          break;
        case 'dev-urandom':
          symlinkSync('/dev/urandom', target);
          break;
        case 'empty':
          writeFileSync(target, '');
          break;
        case 'dangling':
          symlinkSync(path.join(tmp, 'nowhere'), target);
          break;
        case 'loop':
          symlinkSync(target, target);
          break;
        case 'self-dir':
          symlinkSync(dir, target);
          break;
      }
      return { dir, kind, what: `${name} ${path.relative(dir, target)} as ${odd}` };
    }
    case 'archive': {
      const gz = rng.chance(0.6);
      const members = archiveMembers(rng);
      let tar = rawTar(members.members);
      if (rng.chance(0.3)) tar = mutateBytes(rng, tar);
      let body = gz ? gzipSync(tar) : tar;
      if (gz && rng.chance(0.2)) body = mutateBytes(rng, body);
      const file = path.join(tmp, `m${gz ? '.tar.gz' : '.tar'}`);
      writeFileSync(file, body);
      return { dir: file, kind: 'archive', what: `archive ${members.what}${gz ? ' gz' : ''}` };
    }
  }
}

interface Member {
  name: string;
  type?: string;
  data?: Buffer;
  size?: number;
  linkname?: string;
}

function header(m: Member, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(m.name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0').slice(-11) + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(m.type ?? '0', 156);
  if (m.linkname) h.write(m.linkname.slice(0, 100), 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function rawTar(members: Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = m.data ?? Buffer.alloc(0);
    parts.push(header(m, m.size ?? data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function archiveMembers(rng: Rng): { members: Member[]; what: string } {
  const pb = readFileSync(path.join(FIXTURES, TF2, 'saved_model.pb'));
  const members: Member[] = [
    { name: './', type: '5' },
    { name: './saved_model.pb', data: pb },
  ];
  const kind = rng.pick([
    'traversal',
    'absolute',
    'symlink',
    'hardlink',
    'fifo',
    'device',
    'many',
    'size-lie',
    'long-name',
    'dup',
    'plain',
  ] as const);
  switch (kind) {
    case 'traversal':
      members.push({ name: rng.pick(['../x', 'a/../../x', './../../etc/x']), data: Buffer.from('x') });
      break;
    case 'absolute':
      members.push({ name: '/tmp/../x', data: Buffer.from('x') });
      break;
    case 'symlink':
      members.push({ name: './variables', type: '2', linkname: rng.pick(['/etc', '..', '/dev/zero']) });
      break;
    case 'hardlink':
      members.push({ name: './l', type: '1', linkname: '/etc/passwd' });
      break;
    case 'fifo':
      members.push({ name: './p', type: '6' });
      break;
    case 'device':
      members.push({ name: './d', type: rng.pick(['3', '4']) });
      break;
    case 'many':
      for (let i = 0; i < 200 + rng.int(3000); i++) members.push({ name: `./f${i}`, data: Buffer.from('') });
      break;
    case 'size-lie':
      members.push({ name: './big', size: 2 ** 33 - 1 });
      break;
    case 'long-name':
      members.push({ name: `./${'/'.repeat(99)}`, data: Buffer.from('y') });
      break;
    case 'dup':
      members.push({ name: './saved_model.pb', type: '5' });
      break;
    case 'plain':
      break;
  }
  return { members, what: kind };
}

async function drive(b: Built, rng: Rng, tmp: string): Promise<void> {
  if (b.kind === 'archive') {
    const cacheDir = path.join(tmp, 'cache');
    const handle = rng.chance(0.5) ? b.dir : `file://${b.dir}`;
    await hub.resolve(handle, { cacheDir, maxExtractEntries: 2000, maxExtractBytes: 1 << 24 });
    return;
  }
  if (b.kind === 'tf2') {
    if (rng.chance(0.25)) {
      const layer = await KerasLayer.load(b.dir);
      const g = new Graph();
      try {
        const y = layer.apply(g, new Tensor('float32', [2], [10, 20]));
        const s = new Session(g);
        try {
          await s.run(g.globalVariablesInitializer());
          await s.run(y as never);
        } finally {
          s.close();
        }
      } finally {
        g.dispose();
      }
      return;
    }
    const m = await hub.load(b.dir);
    try {
      const x = new Tensor('float32', [2], [10, 20]);
      await m.call(x);
    } finally {
      m.close();
    }
    return;
  }
  const spec = await hub.loadModuleSpec(b.dir);
  const g = new Graph();
  try {
    const m = new hub.Module(spec, { graph: g });
    const out = m.call(new Tensor('float32', [4, 50], new Float32Array(200).fill(0.5)) as never);
    const s = new Session(g);
    try {
      await s.run([g.globalVariablesInitializer(), g.tablesInitializer()]);
      await s.run(out as never);
    } finally {
      s.close();
    }
  } finally {
    g.dispose();
  }
}

/** The class of case `id` (its PRNG's first draw). */
export function caseClassOf(seed: number, id: number, classes: readonly CaseClass[] = CLASSES): CaseClass {
  return classes[new Rng(caseSeed(seed, id)).int(classes.length)];
}

/** Runs case `id` of the run seeded with `seed` (optionally restricted to some classes). */
export async function runCase(seed: number, id: number, classes: readonly CaseClass[] = CLASSES): Promise<CaseResult> {
  const rng = new Rng(caseSeed(seed, id));
  const cls = classes[rng.int(classes.length)];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tfhub-fuzz-'));
  let what: string = cls;
  try {
    const b = build(cls, rng, tmp);
    what = b.what;
    await drive(b, rng, tmp);
    return { id, cls, what, outcome: 'ok' };
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    const message = String((e as Error)?.message ?? e).slice(0, 300) + (process.env.FUZZ_STACK ? `\n${(e as Error)?.stack}` : '');
    return typeof code === 'string' ? { id, cls, what, outcome: 'typed', code } : { id, cls, what, outcome: 'untyped', message };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
