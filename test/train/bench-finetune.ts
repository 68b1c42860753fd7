// Benchmark (a record, not a test): training steps per second of the mlp_v1 fine-tune (hub.Module with
// trainable: true, batch 32, loss mean(square(default - target)), Adam with a global step), in tfhub-node and in
// Python tf.compat.v1 Session running the very same GraphDef (written here, imported by
// test/fixtures/gen/bench_finetune.py) in the same run. Prints one JSON object.
//
//   npx tsc -p tsconfig.json && node dist/test/train/bench-finetune.js [--steps N] [--warmup N] [--no-python]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Graph, GraphKeys, Output, Session, Tensor, hub, tensorflowVersion } from '../../src';
import { AdamOptimizer, getOrCreateGlobalStep } from '../../src/train/optimizers';
import { FIXTURES, meanSquaredError } from './helpers';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Deterministic uniform [0, 1) values (mulberry32). */
function uniform(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

async function main(): Promise<void> {
  const steps = arg('steps', 500);
  const warmup = arg('warmup', 50);
  const batch = 32;
  const g = new Graph();
  const spec = await hub.loadModuleSpec(path.resolve(FIXTURES, 'mlp_v1'));
  const m = new hub.Module(spec, { graph: g, trainable: true });
  const x = g.placeholder('float32', [batch, 50], 'x');
  const target = g.placeholder('float32', [batch, 10], 'target');
  const loss = meanSquaredError(g, m.call(x) as Output, target);
  const train = new AdamOptimizer({ learningRate: 0.001 }).minimize(loss, { globalStep: getOrCreateGlobalStep(g) });
  const init = g.globalVariablesInitializer();

  const xValues = uniform(batch * 50, 1);
  const yValues = uniform(batch * 10, 2);
  const xt = new Tensor('float32', [batch, 50], xValues);
  const yt = new Tensor('float32', [batch, 10], yValues);
  const feeds = { 'x:0': xt, 'target:0': yt };

  const s = new Session(g);
  s.runSync(init);
  for (let i = 0; i < warmup; i++) s.runSync(train, feeds);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) s.runSync(train, feeds);
  const syncSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) await s.run(train, feeds);
  const asyncSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // Same trajectory check: a fresh start, then warmup + steps synchronous steps, then the loss.
  s.runSync(init);
  for (let i = 0; i < warmup + steps; i++) s.runSync(train, feeds);
  const lossTensor = s.runSync(loss, feeds);
  const finalLoss = (lossTensor.data() as Float32Array)[0];
  lossTensor.dispose();

  const result: Record<string, unknown> = {
    bench: 'mlp_v1 fine-tune, batch 32, Adam, one session run per step',
    tensorflow: tensorflowVersion(),
    node: process.version,
    cpus: os.cpus().length,
    steps,
    warmup,
    node_sync: { steps_per_s: steps / syncSeconds, ms_per_step: (1000 * syncSeconds) / steps },
    node_async: { steps_per_s: steps / asyncSeconds, ms_per_step: (1000 * asyncSeconds) / steps },
    node_final_loss: finalLoss,
    trainable_variables: g.getCollection(GraphKeys.TRAINABLE_VARIABLES).length,
  };

  if (!process.argv.includes('--no-python')) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-bench-'));
    try {
      fs.writeFileSync(path.join(dir, 'graph.pb'), g.toGraphDef());
      fs.writeFileSync(path.join(dir, 'x.bin'), Buffer.from(xValues.buffer));
      fs.writeFileSync(path.join(dir, 'y.bin'), Buffer.from(yValues.buffer));
      fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({
        graph: path.join(dir, 'graph.pb'), x: 'x:0', target: 'target:0', x_shape: [batch, 50], target_shape: [batch, 10],
        x_data: path.join(dir, 'x.bin'), target_data: path.join(dir, 'y.bin'),
        train_op: train.name, init_op: init.name, loss: loss.name, steps, warmup,
      }));
      const script = path.join(__dirname, '../../../test/fixtures/gen/bench_finetune.py');
      const out = execFileSync('python3', [script, path.join(dir, 'meta.json')], {
        encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' }, stdio: ['ignore', 'pipe', 'ignore'],
      });
      const py = JSON.parse(out.trim().split('\n').pop()!);
      result.python = py;
      result.node_sync_vs_python = (result.node_sync as { steps_per_s: number }).steps_per_s / py.steps_per_s;
      result.node_async_vs_python = (result.node_async as { steps_per_s: number }).steps_per_s / py.steps_per_s;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  xt.dispose();
  yt.dispose();
  s.close();
  g.dispose();
  console.log(JSON.stringify(result, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
