'use strict';
// One round of the Saver benchmark (bench/dist/run.js): float32 variables of the given shapes (random uniform),
// `repeats` saves then `repeats` restores of one unsharded V2 checkpoint; prints {mb, save_mb_s, restore_mb_s}.
const path = require('node:path');
const { Graph, Session, train } = require(path.join(__dirname, '..', '..', 'dist', 'src'));

async function main() {
  const { shapes, repeats, dir } = JSON.parse(process.argv[2]);
  const g = new Graph();
  const vars = shapes.map((shape, i) => train.variable(g, {
    name: `v${i}`, shape,
    initialValue: (gr) => gr.addOperation('RandomUniform', { inputs: [gr.constant(shape, `v${i}_shape`, 'int32')], attrs: { dtype: 'float32' } }).output(0),
  }));
  const s = new Session(g);
  await s.run([], {}, { targets: [g.globalVariablesInitializer()] });
  const saver = new train.Saver({ varList: vars, maxToKeep: 1 });
  const mb = shapes.reduce((a, sh) => a + sh.reduce((x, y) => x * y, 1) * 4, 0) / 1e6;
  const prefix = path.join(dir, 'node.ckpt');
  await saver.save(s, prefix); // warm-up: builds the save/restore ops
  await saver.restore(s, prefix);
  const save = [];
  const restore = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await saver.save(s, prefix);
    save.push(mb / ((performance.now() - t0) / 1000));
  }
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await saver.restore(s, prefix);
    restore.push(mb / ((performance.now() - t0) / 1000));
  }
  s.close();
  console.log(JSON.stringify({ mb, save_mb_s: save, restore_mb_s: restore }));
}
main().catch((e) => { console.error(e); process.exit(1); });
