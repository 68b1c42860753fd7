// Snappy-compressed checkpoint index blocks (TF 2.5-2.14 exports, TF Serving's half_plus_two_tf2_cpu) through
// every reader of the index: hub.load, KerasLayer (load, apply, export), hub.Module and spec.export. Fixtures and
// oracles: test/fixtures/gen/make_snappy_checkpoints.py (Python TF 2.21 reads the same files).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { uncompressSync } from 'snappy';

import { Graph, Output, Session, hub } from '../../src';
import { readCheckpointIndex } from '../../src/hub/checkpoint';
import { KerasLayer } from '../../src/hub/keras_layer';
import { JsonCall, assertOutput, assertRejectsCode, copyFixture, fixtureDir, fixtureJson, moduleInputOf, tempDir } from './helpers';

const SNAPPY_TF2 = fixtureDir('snappy_tf2_mlp');
const SNAPPY_TF1 = fixtureDir('snappy_mlp_v1');
const REAL = fixtureDir('real/half_plus_two_tf2_cpu');

/** The type byte of every data block of `<prefix>.index` (0 plain, 1 snappy), read independently of src/. */
function dataBlockTypes(prefix: string): number[] {
  const buf = readFileSync(`${prefix}.index`);
  const varint = (b: Uint8Array, p: number): [number, number] => {
    let r = 0,
      s = 1;
    for (;;) {
      const x = b[p++];
      r += (x & 0x7f) * s;
      if (x < 0x80) return [r, p];
      s *= 128;
    }
  };
  const f = buf.subarray(buf.length - 48);
  let p = varint(f, 0)[1];
  p = varint(f, p)[1];
  const [off, p2] = varint(f, p);
  const [size] = varint(f, p2);
  const raw = buf.subarray(off, off + size);
  const block: Buffer = buf[off + size] === 1 ? (uncompressSync(raw, { asBuffer: true }) as Buffer) : raw;
  const limit = block.length - 4 - 4 * block.readUInt32LE(block.length - 4);
  const types: number[] = [];
  for (let q = 0; q < limit;) {
    let nonShared: number, len: number;
    [, q] = varint(block, q);
    [nonShared, q] = varint(block, q);
    [len, q] = varint(block, q);
    q += nonShared;
    const [o, q2] = varint(block, q);
    const [sz] = varint(block, q2);
    types.push(buf[o + sz]);
    q += len;
  }
  return types;
}

async function checkTf2Calls(model: hub.LoadedModel, calls: JsonCall[], what: string): Promise<number> {
  let n = 0;
  for (const call of calls) {
    if (!call.signature) continue;
    const inputs = Object.fromEntries(Object.entries(call.inputs).map(([k, v]) => [k, moduleInputOf(v)]));
    const out = (await model.signatures[call.signature](inputs as never)) as Record<string, unknown>;
    for (const [k, expected] of Object.entries(call.outputs)) assertOutput(out[k], expected, `${what} ${call.signature} ${k}`);
    n++;
  }
  return n;
}

describe('snappy-compressed checkpoint indexes', () => {
  test('the fixtures really are compressed (block type 1)', () => {
    for (const dir of [SNAPPY_TF2, SNAPPY_TF1, REAL]) {
      const types = dataBlockTypes(path.join(dir, 'variables', 'variables'));
      assert.ok(types.length >= 1 && types.every((x) => x === 1), `${dir}: ${types}`);
    }
    assert.ok(dataBlockTypes(path.join(SNAPPY_TF2, 'variables', 'variables')).length >= 2, 'several data blocks');
  });

  test('the reader gives the same entries for the compressed and the uncompressed index', async () => {
    for (const [a, b] of [
      ['snappy_tf2_mlp', 'tf2_mlp'],
      ['snappy_mlp_v1', 'mlp_v1'],
    ]) {
      const x = await readCheckpointIndex(path.join(fixtureDir(a), 'variables', 'variables'));
      const y = await readCheckpointIndex(path.join(fixtureDir(b), 'variables', 'variables'));
      assert.deepEqual(
        [...x.entries.values()],
        [...y.entries.values()].map((e) => ({ ...e })),
      );
    }
  });

  test("hub.load: TF Serving's saved_model_half_plus_two_tf2_cpu matches Python (4 calls)", async () => {
    const model = await hub.load(REAL);
    try {
      assert.equal(await checkTf2Calls(model, fixtureJson('real/half_plus_two_tf2_cpu').calls, 'half_plus_two_tf2_cpu'), 4);
    } finally {
      model.close();
    }
  });

  test('hub.load: tf2_mlp with a snappy index matches tf2_mlp.json', async () => {
    const model = await hub.load(SNAPPY_TF2);
    try {
      assert.ok((await checkTf2Calls(model, fixtureJson('tf2_mlp').calls, 'snappy_tf2_mlp')) >= 1);
    } finally {
      model.close();
    }
  });

  test('KerasLayer: load, apply (= tf2_mlp.json) and export of a model with a snappy index', async (t) => {
    const call = (fixtureJson('tf2_mlp').calls as JsonCall[]).find((c) => c.signature === 'serving_default')!;
    const layer = await KerasLayer.load(SNAPPY_TF2, { signature: 'serving_default', signatureOutputsAsDict: true });
    const g = new Graph();
    const s = new Session(g);
    t.after(() => {
      s.close();
      g.dispose();
    });
    const x = g.constant(moduleInputOf(call.inputs.x) as never);
    const y = layer.apply(g, { x }) as Record<string, Output>;
    await s.run(g.globalVariablesInitializer());
    const got = (await s.run(y as never)) as Record<string, unknown>;
    for (const [k, expected] of Object.entries(call.outputs)) assertOutput(got[k], expected, `KerasLayer ${k}`);
    const out = path.join(tempDir(t), 'exported');
    await layer.export(out, s);
    const again = await hub.load(out);
    try {
      assert.ok((await checkTf2Calls(again, [call], 'exported')) === 1);
    } finally {
      again.close();
    }
  });

  test('hub.Module and spec.export (with and without checkpointPath) over mlp_v1 with a snappy index (= mlp_v1.json)', async (t) => {
    const spec = await hub.loadModuleSpec(SNAPPY_TF1);
    const call = (fixtureJson('mlp_v1').calls as JsonCall[]).find((c) => (c.tags ?? []).length === 0)!;
    const run = async (s: hub.ModuleSpec): Promise<void> => {
      const g = new Graph();
      const session = new Session(g);
      try {
        const m = new hub.Module(s, { graph: g });
        const inputs = Object.fromEntries(Object.entries(call.inputs).map(([k, v]) => [k, moduleInputOf(v)]));
        const outputs = m.call(inputs as never, { signature: call.signature, asDict: true });
        await session.run(g.globalVariablesInitializer());
        const got = (await session.run(outputs as never)) as Record<string, unknown>;
        for (const [k, expected] of Object.entries(call.outputs)) assertOutput(got[k], expected, `mlp_v1 ${k}`);
      } finally {
        session.close();
        g.dispose();
      }
    };
    await run(spec);
    const dir = tempDir(t);
    await spec.export(path.join(dir, 'copied'));
    await run(await hub.loadModuleSpec(path.join(dir, 'copied')));
    await spec.export(path.join(dir, 'restored'), { checkpointPath: path.join(SNAPPY_TF1, 'variables', 'variables') });
    await run(await hub.loadModuleSpec(path.join(dir, 'restored')));
  });

  test('a flipped byte in a compressed block is ERR_INVALID_CHECKPOINT (block CRC), for hub.load, KerasLayer and loadModuleSpec', async (t) => {
    const dir = tempDir(t);
    for (const [name, load] of [
      ['snappy_tf2_mlp', (d: string) => hub.load(d)],
      ['snappy_tf2_mlp', (d: string) => KerasLayer.load(d)],
      ['snappy_mlp_v1', (d: string) => hub.loadModuleSpec(d)],
    ] as Array<[string, (d: string) => Promise<unknown>]>) {
      const copy = copyFixture(name, dir, `${name}-${Math.random().toString(36).slice(2)}`);
      const index = path.join(copy, 'variables', 'variables.index');
      const buf = readFileSync(index);
      buf[3] ^= 0x40;
      writeFileSync(index, buf);
      await assertRejectsCode(() => load(copy), 'ERR_INVALID_CHECKPOINT', 'checksum');
    }
  });
});
