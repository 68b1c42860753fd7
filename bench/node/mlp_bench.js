'use strict';
// The benchmark MLP through tfhub-node's Session: a measurement server driven by bench/run.js.
//
//   node bench/node/mlp_bench.js GRAPH.pb [caller]
//
// Protocol (shared with bench/c/mlp_bench.c, see there): one JSON "ready" line, then per stdin line
// "ID SECONDS WARMUP" one JSON reply line; EOF or "quit" ends. With "caller", every run passes
// RunOptions{interOpThreadPool: -1} (TF runs the ops on the calling thread).
//
// IDs b1 / b256c1 / b256c2 are the rows compared with C (session.run, awaited, with Output objects and a
// Tensor created once and fed every run; each result Tensor disposed). Variants:
//   *.sync      session.runSync (blocks the JS thread)
//   b1.inline   session.run(..., {inline: true}): TF runs the ops on the worker thread (no inter-op pool hop)
//   b1.names    fetch/feed by "op:0" strings instead of Output objects
//   b1.e2e      a fresh input Tensor from a Float32Array per run, result read with .data(), both disposed
// Where the time goes is measured by bench/node/profile.js.
const fs = require('node:fs');
const readline = require('node:readline');
const { Graph, Session, Tensor, tensorflowVersion, tensorflowLibraryPath } = require('../../dist/src');
const { tensorflow } = require('../../dist/src/proto');
const { now, cpuNow, sequential } = require('../stats');

const FEATURES = 256;

function inputData(batch) {
  const a = new Float32Array(batch * FEATURES);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 37) % 101) / 101 - 0.5;
  return a;
}

// Two async loops, each keeping one run in flight, for `seconds`.
async function concurrent(id, loops, seconds, warmup) {
  const warmEnd = now() + warmup * 1e6;
  while (now() < warmEnd) await loops[0]();
  const cpu0 = cpuNow();
  const start = now();
  const end = start + seconds * 1e6;
  let total = 0;
  await Promise.all(
    loops.map(async (once) => {
      while (now() < end) {
        await once();
        total++;
      }
    }),
  );
  return { id, n: total, elapsed_s: (now() - start) / 1e6, cpu_s: cpuNow() - cpu0 };
}

async function main() {
  const [graphPath, mode] = process.argv.slice(2);
  const caller = mode === 'caller';
  const ro = caller ? { runOptions: tensorflow.RunOptions.encode({ interOpThreadPool: -1 }).finish() } : {};

  const graph = new Graph();
  graph.importGraphDef(fs.readFileSync(graphPath));
  const session = new Session(graph); // no options: default ConfigProto, default thread pools
  const x = graph.output('x:0');
  const logits = graph.output('logits:0');

  const input1 = new Tensor('float32', [1, FEATURES], inputData(1));
  const input256 = [new Tensor('float32', [256, FEATURES], inputData(256)), new Tensor('float32', [256, FEATURES], inputData(256))];
  const probe = await session.run(logits, new Map([[x, input1]]), ro);
  const checksum = Array.from(probe.data()).reduce((a, b) => a + b, 0);
  probe.dispose();

  const asyncOnce = (input) => {
    const f = new Map([[x, input]]);
    return async () => (await session.run(logits, f, ro)).dispose();
  };
  const syncOnce = (input) => {
    const f = new Map([[x, input]]);
    return () => session.runSync(logits, f, ro).dispose();
  };
  const inlineOnce = (input) => {
    const f = new Map([[x, input]]);
    const o = { ...ro, inline: true };
    return async () => (await session.run(logits, f, o)).dispose();
  };
  const namesOnce = (input) => {
    const f = { 'x:0': input };
    return async () => (await session.run('logits:0', f, ro)).dispose();
  };
  const e2eOnce = (batch) => {
    const data = inputData(batch);
    return async () => {
      const input = new Tensor('float32', [batch, FEATURES], data);
      const t = await session.run(logits, new Map([[x, input]]), ro);
      t.data();
      t.dispose();
      input.dispose();
    };
  };
  const measurements = {
    b1: (s, w) => sequential('b1', asyncOnce(input1), false, s, w),
    'b1.sync': (s, w) => sequential('b1.sync', syncOnce(input1), true, s, w),
    'b1.inline': (s, w) => sequential('b1.inline', inlineOnce(input1), false, s, w),
    'b1.names': (s, w) => sequential('b1.names', namesOnce(input1), false, s, w),
    'b1.e2e': (s, w) => sequential('b1.e2e', e2eOnce(1), false, s, w),
    b256c1: (s, w) => sequential('b256c1', asyncOnce(input256[0]), false, s, w),
    'b256c1.sync': (s, w) => sequential('b256c1.sync', syncOnce(input256[0]), true, s, w),
    b256c2: (s, w) => concurrent('b256c2', input256.map(asyncOnce), s, w),
  };

  const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
  send({
    ready: true,
    impl: 'node',
    caller_thread: caller,
    tf_version: tensorflowVersion(),
    library: tensorflowLibraryPath(),
    node_version: process.version,
    checksum_b1: Math.round(checksum * 1e6) / 1e6,
  });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const [id, seconds, warmup] = line.trim().split(/\s+/);
    if (id === 'quit') break;
    if (!id) continue;
    const m = measurements[id];
    send(m ? await m(Number(seconds), Number(warmup)) : { id, error: 'unknown measurement' });
  }
  session.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
