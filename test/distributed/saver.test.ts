// train.Saver: V2 checkpoints Python's tf.compat.v1.train.Saver restores (and the other way round), maxToKeep,
// the checkpoint state file, and corrupt or mismatched checkpoints as typed errors that leave variables alone.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Graph, Session, Variable, train } from '../../src';
import { runPython } from '../helpers/python';

async function model(options: { sharded?: boolean; maxToKeep?: number } = {}) {
  const g = new Graph();
  const w = g.withDevice('/device:CPU:0', () =>
    train.variable(g, {
      name: 'dense/w',
      initialValue: [
        [1.5, -2],
        [3, 4.25],
      ],
    }),
  );
  const b = g.withDevice('/device:CPU:1', () => train.variable(g, { name: 'dense/b', initialValue: [5, 6], useResource: false }));
  const step = train.getOrCreateGlobalStep(g);
  const s = new Session(g, { deviceCount: { CPU: 2 } });
  await s.run([], {}, { targets: [g.globalVariablesInitializer()] });
  const saver = new train.Saver({ sharded: options.sharded, maxToKeep: options.maxToKeep });
  const read = async () => {
    const [wv, bv, sv] = await s.run([w.value(), b.value(), step.value()]);
    const out = { w: wv.array(), b: bv.array(), step: Number(sv.array()) };
    for (const t of [wv, bv, sv]) t.dispose();
    return out;
  };
  const set = async (v: Variable, value: unknown) => s.run([], {}, { targets: [v.assign(g.constant(value, undefined, v.dtype))] });
  return {
    g,
    s,
    w,
    b,
    step,
    saver,
    read,
    set,
    close: () => {
      s.close();
      g.dispose();
    },
  };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-saver-'));

// For each directory: Python restores Node's latest checkpoint into the same variables, prints them, adds 1 to
// w, doubles b and saves at global step 7 with its own Saver. (One Python process: importing TF is slow.)
const PY_ROUND_TRIP = `
import json, sys
import tensorflow as tf
tf1 = tf.compat.v1
tf1.disable_eager_execution()
out = []
for d in json.loads(sys.stdin.read()):
  with tf.Graph().as_default():
    w = tf1.get_variable('dense/w', [2, 2], use_resource=True)
    b = tf1.get_variable('dense/b', [2], use_resource=False)
    gs = tf1.train.get_or_create_global_step()
    saver = tf1.train.Saver()
    state = tf1.train.get_checkpoint_state(d)
    with tf1.Session() as s:
      saver.restore(s, tf1.train.latest_checkpoint(d))
      got = {'w': s.run(w).tolist(), 'b': s.run(b).tolist(), 'step': int(s.run(gs))}
      s.run([w.assign(w + 1), b.assign(b * 2)])
      path = saver.save(s, d + '/py', global_step=7)
    out.append({'got': got, 'paths': list(state.all_model_checkpoint_paths), 'saved': path})
print(json.dumps(out))
`;

describe('train.Saver', () => {
  test('Node → Python → Node round trips, one shard and sharded by device (CPU:0, CPU:1, none)', async (t) => {
    const dirs = [tmp(), tmp()];
    const models = [await model({ sharded: false }), await model({ sharded: true })];
    try {
      const ckpts: string[] = [];
      for (const [i, m] of models.entries()) {
        await m.set(m.step, 3);
        const ckpt = await m.saver.save(m.s, path.join(dirs[i], 'model'), { globalStep: m.step });
        assert.equal(ckpt, path.join(dirs[i], 'model-3'));
        ckpts.push(ckpt);
      }
      assert.deepEqual(
        fs.readdirSync(dirs[0]).filter((f) => f.startsWith('model-3.data-')),
        ['model-3.data-00000-of-00001'],
      );
      assert.deepEqual(
        fs.readdirSync(dirs[1]).filter((f) => f.startsWith('model-3.data-')),
        ['model-3.data-00000-of-00003', 'model-3.data-00001-of-00003', 'model-3.data-00002-of-00003'],
      );
      const py = runPython(PY_ROUND_TRIP, JSON.stringify(dirs));
      if (!py) return t.skip('Python TensorFlow is not installed');
      assert.equal(py.status, 0, py.stderr.slice(-2000));
      const out = JSON.parse(py.stdout.trim().split('\n').pop()!);
      for (const [i, m] of models.entries()) {
        assert.deepEqual(out[i].got, {
          w: [
            [1.5, -2],
            [3, 4.25],
          ],
          b: [5, 6],
          step: 3,
        });
        assert.deepEqual(out[i].paths, [ckpts[i]]);
        assert.equal(await train.latestCheckpoint(dirs[i]), path.join(dirs[i], 'py-7'));
        await m.saver.restore(m.s, (await train.latestCheckpoint(dirs[i]))!);
        assert.deepEqual(await m.read(), {
          w: [
            [2.5, -1],
            [4, 5.25],
          ],
          b: [10, 12],
          step: 3,
        });
      }
    } finally {
      for (const m of models) m.close();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  test('maxToKeep deletes the oldest checkpoints; the state file lists the kept ones as Python writes it', async () => {
    const dir = tmp();
    const m = await model({ maxToKeep: 2 });
    try {
      for (let i = 1; i <= 4; i++) await m.saver.save(m.s, path.join(dir, 'm'), { globalStep: i * 10 });
      assert.deepEqual(fs.readdirSync(dir).sort(), [
        'checkpoint',
        'm-30.data-00000-of-00001',
        'm-30.index',
        'm-40.data-00000-of-00001',
        'm-40.index',
      ]);
      const state = await train.getCheckpointState(dir);
      assert.equal(state!.modelCheckpointPath, path.join(dir, 'm-40'));
      assert.deepEqual(state!.allModelCheckpointPaths, [path.join(dir, 'm-30'), path.join(dir, 'm-40')]);
      assert.equal(state!.allModelCheckpointTimestamps.length, 2);
      assert.match(
        fs.readFileSync(path.join(dir, 'checkpoint'), 'utf8'),
        /^model_checkpoint_path: ".*m-40"\nall_model_checkpoint_paths: ".*m-30"\nall_model_checkpoint_paths: ".*m-40"\nall_model_checkpoint_timestamps: [\d.]+\nall_model_checkpoint_timestamps: [\d.]+\nlast_preserved_timestamp: [\d.]+\n$/,
      );
      assert.equal(await train.latestCheckpoint(path.join(dir, 'nothing-here')), null);
      const keepAll = new train.Saver({ maxToKeep: 0 });
      for (let i = 1; i <= 3; i++) await keepAll.save(m.s, path.join(dir, 'all'), { globalStep: i });
      assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('all-') && f.endsWith('.index')).length, 3);
      assert.throws(() => new train.Saver({ maxToKeep: -1 }), { code: 'ERR_INVALID_ARG_VALUE' });
      await assert.rejects(m.saver.save(m.s, path.join(dir, 'no/such/dir/m')), { code: 'ERR_CHECKPOINT_DIR' });
    } finally {
      m.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('corrupt, missing or mismatched checkpoints are typed errors and leave the variables untouched', async () => {
    const dir = tmp();
    const m = await model();
    try {
      const good = await m.saver.save(m.s, path.join(dir, 'good'));
      await m.set(m.w, [
        [9, 9],
        [9, 9],
      ]);
      const before = await m.read();
      const copy = (name: string) => {
        for (const f of fs.readdirSync(dir).filter((f) => f.startsWith('good.')))
          fs.copyFileSync(path.join(dir, f), path.join(dir, f.replace('good.', `${name}.`)));
        return path.join(dir, name);
      };
      const data = (p: string) => `${p}.data-00000-of-00001`;
      const flipped = copy('flipped');
      const bytes = fs.readFileSync(data(flipped));
      bytes[4] ^= 0xff;
      fs.writeFileSync(data(flipped), bytes);
      const truncated = copy('truncated');
      fs.truncateSync(data(truncated), 3);
      const garbage = copy('garbage');
      fs.writeFileSync(`${garbage}.index`, 'not an index at all, certainly not one with a footer of 48 bytes......');
      const noData = copy('nodata');
      fs.rmSync(data(noData));
      const cases: Array<[string, RegExp | string]> = [
        [flipped, 'DATA_LOSS'],
        [truncated, 'ERR_INVALID_CHECKPOINT'],
        [garbage, 'ERR_INVALID_CHECKPOINT'],
        [noData, 'ERR_INVALID_CHECKPOINT'],
        [path.join(dir, 'absent'), 'ERR_CHECKPOINT_NOT_FOUND'],
      ];
      for (const [p, code] of cases) {
        await assert.rejects(m.saver.restore(m.s, p), (e: Error & { code?: string }) => e.code === code, p);
        assert.deepEqual(await m.read(), before, p);
      }
      // Another model's checkpoint: keys missing (dense/b, global_step), a shape that differs.
      const other = new Graph();
      train.variable(other, { name: 'dense/w', initialValue: [1, 2, 3] });
      const os2 = new Session(other);
      await os2.run([], {}, { targets: [other.globalVariablesInitializer()] });
      const otherCkpt = await new train.Saver().save(os2, path.join(dir, 'other'), { writeState: false });
      await assert.rejects(m.saver.restore(m.s, otherCkpt), { code: 'ERR_CHECKPOINT_KEY_NOT_FOUND' });
      await assert.rejects(new train.Saver({ varList: { 'dense/w': m.w } }).restore(m.s, otherCkpt), { code: 'ERR_CHECKPOINT_SHAPE' });
      assert.deepEqual(await m.read(), before);
      os2.close();
      await m.saver.restore(m.s, good);
      assert.deepEqual((await m.read()).w, [
        [1.5, -2],
        [3, 4.25],
      ]);
    } finally {
      m.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
