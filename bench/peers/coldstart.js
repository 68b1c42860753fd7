'use strict';
// What a cold start costs, stage by stage, in this process (run it as a fresh process; `node
// bench/peers/coldstart.js [tfhub|ort]`): time since process start and RSS after each stage, and for tfhub-node the
// share of loading libtensorflow (dlopen + relocations + static initialisers) against our own code.
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const MODELS = path.join(ROOT, 'bench', 'out', 'serve', 'models');
const stages = [];
const mark = (stage) =>
  stages.push({ stage, ms: +performance.now().toFixed(1), rss_mb: +(process.memoryUsage().rss / 2 ** 20).toFixed(0) });

async function main() {
  const which = process.argv[2] ?? 'tfhub';
  mark('node started');
  const x1 = new Float32Array(512).map((_, i) => ((i * 37) % 101) / 101 - 0.5);
  if (which === 'tfhub') {
    const tfhub = require(path.join(ROOT, 'dist', 'src'));
    mark("require('tfhub-node')");
    require(path.join(ROOT, 'dist', 'src', 'native')).binding();
    mark('addon + libtensorflow loaded (dlopen, relocations, static initialisers)');
    const model = await tfhub.hub.load(path.join(MODELS, 'mlp', '1'));
    mark('hub.load (read SavedModel, build graph, new Session, restore variables)');
    const x = new tfhub.Tensor('float32', [1, 512], x1);
    const y = (await model.signatures.serving_default({ x })).y;
    y.data();
    mark('first output (first run: grappler, kernel instantiation)');
    const y2 = (await model.signatures.serving_default({ x })).y;
    y2.data();
    mark('second output');
  } else {
    const ort = require(require.resolve('onnxruntime-node', { paths: [path.join(ROOT, 'bench', 'out', 'peers', 'ort')] }));
    mark("require('onnxruntime-node')");
    const s = await ort.InferenceSession.create(path.join(MODELS, 'mlp.onnx'));
    mark('InferenceSession.create');
    const out = await s.run({ x: new ort.Tensor('float32', x1, [1, 512]) });
    void out.y.data;
    mark('first output');
  }
  process.stdout.write(JSON.stringify({ which, stages }) + '\n');
  process.exit(0);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
