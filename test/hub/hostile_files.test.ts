// Hostile model files: special files in place of model files (never block, never read without bound), the size
// limit (TFHUB_NODE_MAX_MODEL_FILE_BYTES), and checkpoint entries TensorFlow would abort or run out of memory on,
// refused from the index before any restore op runs — through hub.load, KerasLayer and hub.loadModuleSpec.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import path from 'node:path';

import { hub } from '../../src';
import { KerasLayer } from '../../src/hub/keras_layer';
import { readModelFile } from '../../src/io/read_model_file';
import { assertRejectsCode, copyFixture, tempDir } from './helpers';
import { editEntry, readTable, writeTable } from '../helpers/checkpoint_table';
import { tensorflow } from '../../src/proto';

type Loader = (dir: string) => Promise<unknown>;
const LOADERS: Array<[string, string, Loader]> = [
  ['hub.load', 'tf2_mlp', (d) => hub.load(d).then((m) => m.close())],
  ['KerasLayer.load', 'tf2_mlp', (d) => KerasLayer.load(d)],
  ['hub.loadModuleSpec', 'mlp_v1', (d) => hub.loadModuleSpec(d)],
];

type Oddity = 'fifo' | 'socket' | 'directory' | 'dev-zero' | 'dev-urandom';
const ODDITIES: Oddity[] = ['fifo', 'socket', 'directory', 'dev-zero', 'dev-urandom'];

/** Replaces `file` by an oddity; returns a cleanup (the socket's server). */
async function replaceBy(file: string, kind: Oddity): Promise<() => void> {
  rmSync(file, { force: true, recursive: true });
  switch (kind) {
    case 'fifo':
      execFileSync('mkfifo', [file]);
      return () => undefined;
    case 'directory':
      mkdirSync(file);
      return () => undefined;
    case 'dev-zero':
      symlinkSync('/dev/zero', file);
      return () => undefined;
    case 'dev-urandom':
      symlinkSync('/dev/urandom', file);
      return () => undefined;
    case 'socket': {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(file, resolve));
      return () => server.close();
    }
  }
}

let n = 0;
const fresh = (fixture: string, dir: string): string => copyFixture(fixture, dir, `${fixture}-${n++}`);

describe('special files in place of model files', () => {
  for (const [api, fixture, load] of LOADERS) {
    const files = [
      'saved_model.pb',
      'variables/variables.index',
      'variables/variables.data-00000-of-00001',
      ...(fixture === 'mlp_v1' ? ['tfhub_module.pb'] : []),
    ];
    test(`${api}: ${files.join(', ')} as a FIFO, socket, directory, /dev/zero or /dev/urandom symlink → ERR_NOT_REGULAR_FILE, promptly`, async (t) => {
      const dir = tempDir(t);
      for (const f of files) {
        for (const kind of ODDITIES) {
          const copy = fresh(fixture, dir);
          const cleanup = await replaceBy(path.join(copy, f), kind);
          try {
            const started = Date.now();
            await assertRejectsCode(() => load(copy), 'ERR_NOT_REGULAR_FILE');
            assert.ok(Date.now() - started < 10_000, `${f} as ${kind}: ${Date.now() - started} ms`);
          } finally {
            cleanup();
          }
        }
      }
    });
  }

  test('readModelFile: the size limit comes from maxBytes, else TFHUB_NODE_MAX_MODEL_FILE_BYTES; bad values are typed', async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'f.pb');
    writeFileSync(file, Buffer.alloc(2048, 7));
    assert.equal((await readModelFile(file)).length, 2048);
    await assertRejectsCode(
      () => readModelFile(file, { maxBytes: 2047 }),
      'ERR_MODEL_FILE_TOO_LARGE',
      '2048',
      'TFHUB_NODE_MAX_MODEL_FILE_BYTES',
    );
    const saved = process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES;
    t.after(() => {
      if (saved === undefined) delete process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES;
      else process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES = saved;
    });
    process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES = '1k';
    await assertRejectsCode(() => readModelFile(file), 'ERR_MODEL_FILE_TOO_LARGE');
    await assertRejectsCode(() => hub.load(fresh('tf2_mlp', dir)), 'ERR_MODEL_FILE_TOO_LARGE', 'saved_model.pb');
    process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES = '2K';
    assert.equal((await readModelFile(file)).length, 2048);
    process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES = 'lots';
    await assertRejectsCode(() => readModelFile(file), 'ERR_INVALID_SETTING', 'TFHUB_NODE_MAX_MODEL_FILE_BYTES');
    process.env.TFHUB_NODE_MAX_MODEL_FILE_BYTES = '9'.repeat(100_000);
    await assertRejectsCode(() => readModelFile(file), 'ERR_INVALID_SETTING');
  });
});

const VAR = 'w1/.ATTRIBUTES/VARIABLE_VALUE';
const OG = '_CHECKPOINTABLE_OBJECT_GRAPH';
type Edit = [what: string, key: string | null, edit: (e: tensorflow.BundleEntryProto) => void];
const TF2_EDITS: Edit[] = [
  [
    'dtype 101 (a reference type)',
    VAR,
    (e) => {
      e.dtype = 101 as never;
    },
  ],
  [
    'dtype 0 (invalid)',
    VAR,
    (e) => {
      e.dtype = 0;
    },
  ],
  [
    'dtype 77 (unknown)',
    VAR,
    (e) => {
      e.dtype = 77 as never;
    },
  ],
  [
    'dtype resource',
    VAR,
    (e) => {
      e.dtype = 20 as never;
    },
  ],
  [
    'a dimension of -1',
    VAR,
    (e) => {
      e.shape!.dim![0].size = -1;
    },
  ],
  [
    'a shape of unknown rank',
    VAR,
    (e) => {
      e.shape = { unknownRank: true, dim: [] } as never;
    },
  ],
  [
    'a size inconsistent with the shape',
    VAR,
    (e) => {
      e.size = 12;
    },
  ],
  [
    'a shape inconsistent with the size',
    VAR,
    (e) => {
      e.shape!.dim![0].size = 17;
    },
  ],
  [
    '2^62 elements',
    VAR,
    (e) => {
      e.shape!.dim![0].size = 2 ** 31;
      e.shape!.dim![1].size = 2 ** 31;
    },
  ],
  [
    'an offset beyond the shard',
    VAR,
    (e) => {
      e.offset = 1e9;
    },
  ],
  [
    'a shard that does not exist',
    VAR,
    (e) => {
      e.shardId = 3;
    },
  ],
  [
    'a 2^40-byte object graph string',
    OG,
    (e) => {
      e.size = 2 ** 40;
    },
  ],
  [
    'a 2^32-byte object graph string',
    OG,
    (e) => {
      e.size = 2 ** 32;
    },
  ],
  [
    'a slice of the wrong rank',
    VAR,
    (e) => {
      e.slices = [{ extent: [{ start: 0 }] } as never];
    },
  ],
  [
    'a slice beyond its dimension',
    VAR,
    (e) => {
      e.slices = [{ extent: [{ start: 10, length: 10 }, {}] } as never];
    },
  ],
];

describe('checkpoint entries are checked before any restore op runs', () => {
  for (const [api, , load] of LOADERS.filter(([, f]) => f === 'tf2_mlp')) {
    test(`${api}: ${TF2_EDITS.length} classes of bad entries, compressed and not → ERR_INVALID_CHECKPOINT`, async (t) => {
      const dir = tempDir(t);
      for (const snappy of [false, true]) {
        for (const [what, key, edit] of TF2_EDITS) {
          const copy = fresh('tf2_mlp', dir);
          editEntry(path.join(copy, 'variables', 'variables'), key!, edit, { snappy });
          await assert.rejects(
            () => load(copy),
            (e: Error & { code?: string }) => {
              assert.equal(e.code, 'ERR_INVALID_CHECKPOINT', `${what}: ${e.code} ${e.message}`);
              return true;
            },
          );
        }
      }
    });
  }

  test('hub.loadModuleSpec (TF1 restore path): a ref dtype, a -1 dim, a bad size → ERR_INVALID_CHECKPOINT', async (t) => {
    const dir = tempDir(t);
    for (const edit of [
      (e: tensorflow.BundleEntryProto) => {
        e.dtype = 101 as never;
      },
      (e: tensorflow.BundleEntryProto) => {
        e.shape!.dim![0].size = -1;
      },
      (e: tensorflow.BundleEntryProto) => {
        e.size = 3;
      },
    ]) {
      const copy = fresh('mlp_v1', dir);
      editEntry(path.join(copy, 'variables', 'variables'), 'dense/kernel', edit);
      await assertRejectsCode(() => hub.loadModuleSpec(copy), 'ERR_INVALID_CHECKPOINT');
    }
  });

  test('a string record whose length varint declares 2^40 bytes (entry size and checksums untouched) is refused', async (t) => {
    const dir = tempDir(t);
    const copy = fresh('tf2_mlp', dir);
    const prefix = path.join(copy, 'variables', 'variables');
    const og = readTable(`${prefix}.index`).find(([k]) => k.toString() === OG)!;
    const e = tensorflow.BundleEntryProto.decode(og[1]);
    const shard = `${prefix}.data-00000-of-00001`;
    const data = readFileSync(shard);
    const off = Number(e.offset);
    // The record's first varint (the string's length) becomes 2^40 in as many bytes as fit before the checksum.
    const lenBytes = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    Buffer.from(lenBytes).copy(data, off);
    writeFileSync(shard, data);
    for (const [, , load] of LOADERS.filter(([, f]) => f === 'tf2_mlp'))
      await assertRejectsCode(() => load(copy), 'ERR_INVALID_CHECKPOINT');
  });

  test('oversized varints and out-of-range blocks in the index table are refused', async (t) => {
    const dir = tempDir(t);
    const copy = fresh('tf2_mlp', dir);
    const prefix = path.join(copy, 'variables', 'variables');
    const entries = readTable(`${prefix}.index`);
    // A key of 11 continuation bytes where a varint32 length should be.
    writeTable(`${prefix}.index`, entries.map(([k, v]) => [k, v]) as never);
    const buf = readFileSync(`${prefix}.index`);
    buf.fill(0xff, 0, 12);
    writeFileSync(`${prefix}.index`, buf);
    await assertRejectsCode(() => hub.load(copy), 'ERR_INVALID_CHECKPOINT');
    const footer = Buffer.from(readFileSync(`${prefix}.index`));
    footer.fill(0xff, footer.length - 48, footer.length - 30);
    writeFileSync(`${prefix}.index`, footer);
    await assertRejectsCode(() => hub.load(copy), 'ERR_INVALID_CHECKPOINT', 'varint');
  });
});
