'use strict';
// Where the time of one call goes: TF's per-op step stats (RunOptions trace_level FULL_TRACE → RunMetadata
// step_stats) against the call's wall time, for the MLP 512→1024→256 and the Keras CNN of the peers benchmark,
// through hub.load (the signature's call op, as a user's call runs it).
//
//   node bench/peers/stepstats.js [CALLS=200]     (after `npx tsc`; writes bench/out/stepstats/*.bin, then runs
//                                                   bench/peers/stepstats.py on them, which prints the table)
// Env: STEPSTATS_LOAD='{"session": {...}}' hub.load options (e.g. to compare session options).
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const { hub, Tensor } = require(path.join(ROOT, 'dist', 'src'));
const { tensorflow } = require(path.join(ROOT, 'dist', 'src', 'proto'));
const { makeModels } = require('../serve/make_models');

const MODELS_DIR = path.join(ROOT, 'bench', 'out', 'serve', 'models');
const OUT = path.join(ROOT, 'bench', 'out', 'stepstats');
const CALLS = Number(process.argv[2] ?? 200);
const CASES = [
  ['mlp', 'x', [512], 1],
  ['mlp', 'x', [512], 64],
  ['cnn', 'image', [8, 8, 3], 1],
  ['cnn', 'image', [8, 8, 3], 32],
];
const TRACE = tensorflow.RunOptions.encode({ traceLevel: tensorflow.RunOptions.TraceLevel.FULL_TRACE }).finish();

async function main() {
  makeModels(MODELS_DIR);
  fs.mkdirSync(OUT, { recursive: true });
  const loadOptions = JSON.parse(process.env.STEPSTATS_LOAD ?? '{}');
  const summary = [];
  for (const [name, input, shape, batch] of CASES) {
    const model = await hub.load(path.join(MODELS_DIR, name, '1'), loadOptions);
    const sig = model.signatures.serving_default;
    const n = batch * shape.reduce((a, b) => a * b, 1);
    const x = new Tensor(
      'float32',
      [batch, ...shape],
      Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 101 - 0.5),
    );
    for (const t of Object.values(await sig({ [input]: x }))) t.dispose(); // builds the call op
    // The call op and its placeholder, as the signature runs them.
    const ops = [...model.graph.operations()];
    const call = ops.find((o) => o.type === 'StatefulPartitionedCall' && o.name.startsWith('call_'));
    const ph = ops.find((o) => o.type === 'Placeholder' && o.name.startsWith(call.name.split('/')[0] + '/'));
    const feeds = new Map([[ph.output(0), x]]);
    const session = model.session;
    const chunks = [];
    const plain = [];
    const sync = [];
    const traced = [];
    for (let i = 0; i < 20; i++) (await session.run(call.output(0), feeds)).dispose();
    for (let i = 0; i < CALLS; i++) {
      let t0 = process.hrtime.bigint();
      (await session.run(call.output(0), feeds)).dispose();
      plain.push(Number(process.hrtime.bigint() - t0) / 1e3);
      t0 = process.hrtime.bigint();
      session.runSync(call.output(0), feeds).dispose();
      sync.push(Number(process.hrtime.bigint() - t0) / 1e3);
      t0 = process.hrtime.bigint();
      (await session.run(call.output(0), feeds, { runOptions: TRACE, runMetadata: (m) => chunks.push(m) })).dispose();
      traced.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    const file = path.join(OUT, `${name}_b${batch}.bin`);
    const lens = Buffer.alloc(4 * chunks.length);
    chunks.forEach((c, i) => lens.writeUInt32LE(c.length, 4 * i));
    fs.writeFileSync(file, Buffer.concat([Buffer.from(Uint32Array.of(chunks.length).buffer), lens, ...chunks.map((c) => Buffer.from(c))]));
    const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
    summary.push({
      case: `${name} b${batch}`,
      file,
      wall_us_untraced_median: med(plain),
      wall_us_sync_median: med(sync),
      wall_us_traced_median: med(traced),
    });
    x.dispose();
    model.close();
  }
  fs.writeFileSync(path.join(OUT, 'summary.json'), JSON.stringify(summary, null, 1));
  const r = spawnSync(process.env.PYTHON || 'python3', [path.join(__dirname, 'stepstats.py'), path.join(OUT, 'summary.json')], {
    stdio: 'inherit',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
  });
  process.exit(r.status ?? 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
