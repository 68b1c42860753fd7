'use strict';
// Node side of bench/train/rnn_run.js: training steps/s of the recurrent fixture test/fixtures/cf_rnn_tf2 (an
// LSTM-style tf.while_loop over a padded [4,6,4] sequence) through hub.KerasLayer (trainable), loss =
// mean(square(layer(x) - target)), train.AdamOptimizer(0.01); one step = await session.run(loss, null,
// {targets: [train]}) (forward loop, the accumulating forward loop and the backward While, Adam update).
//
// Usage: node rnn_node.js SECONDS SLICES WARMUP_S   (prints one JSON line)
const path = require('node:path');
const fs = require('node:fs');

const ROOT = path.resolve(__dirname, '..', '..');
const { Graph, Session, Tensor, hub, train } = require('../../dist/src');

function scalarOf(t) {
  const v = t.data()[0];
  t.dispose();
  return v;
}

async function main() {
  const [seconds, slices, warmup] = process.argv.slice(2).map(Number);
  const adam = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'control_flow_grads.json'), 'utf8')).models.cf_rnn_tf2.adam;
  const layer = await hub.KerasLayer.load(path.join(ROOT, 'test', 'fixtures', 'cf_rnn_tf2'), { trainable: true });
  const g = new Graph();
  const x = g.constant(new Tensor('float32', adam.x.shape, adam.x.values));
  const target = g.constant(new Tensor('float32', adam.target.shape, adam.target.values));
  const y = layer.apply(g, x);
  const d = g.addOperation('Sub', { inputs: [y, target] }).output(0);
  const sq = g.addOperation('Square', { inputs: [d] }).output(0);
  const loss = g.addOperation('Mean', { inputs: [sq, g.constant(new Tensor('int32', [2], [0, 1]))] }).output(0);
  const step = new train.AdamOptimizer({ learningRate: adam.learning_rate }).minimize(loss, { varList: layer.trainableWeights(g) });
  const s = new Session(g);
  await s.run(g.globalVariablesInitializer());
  const run = () => s.run(loss, null, { targets: [step] });
  const initial = scalarOf(await run());
  for (let i = 0; i < 8; i++) scalarOf(await run());
  const check = scalarOf(await run());
  const warmEnd = performance.now() + warmup * 1000;
  while (performance.now() < warmEnd) scalarOf(await run());
  const rates = [];
  let steps = 0;
  let total = 0;
  const cpu0 = process.cpuUsage();
  for (let k = 0; k < slices; k++) {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < (seconds / slices) * 1000) {
      scalarOf(await run());
      n++;
    }
    const dt = (performance.now() - t0) / 1000;
    rates.push(n / dt);
    steps += n;
    total += dt;
  }
  const cpu = process.cpuUsage(cpu0);
  s.close();
  g.dispose();
  console.log(
    JSON.stringify({
      impl: 'node',
      steps,
      seconds: total,
      slice_steps_per_s: rates,
      cpu_us_per_step: (cpu.user + cpu.system) / steps,
      initial_loss: initial,
      loss_at_check: check,
      expected_initial_loss: adam.losses[0],
      expected_loss_at_check: adam.losses[9],
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
