'use strict';
// One runtime as a measurement server for bench/peers/run.js (protocol as bench/node/mlp_bench.js: one JSON
// "ready" line, then per stdin line "ID SECONDS WARMUP" one JSON reply line; EOF or "quit" ends).
//
//   node bench/peers/child.js RUNTIME CONFIG_JSON
//     RUNTIME: tfhub | ort | tfjs
//     CONFIG_JSON: {models: DIR, peers: DIR, load?: hub.load options (tfhub), configProto?: ConfigProto fields
//       (tfhub: the session's raw config), api?: 'signature' | 'prepared' | 'prepared-sync', ortOptions?}
//   node bench/peers/child.js RUNTIME CONFIG_JSON cold    loads the MLP, computes one batch-1 output, prints
//     {first_output_ms, rss_mb} (time from process start) and exits: the cold-start row.
//
// Measurement IDs: mlp.b1 (batch 1, one call at a time), mlp.b64c1, mlp.b64c8 (8 calls in flight),
// cnn.b1, cnn.b32c1, cnn.b32c8, lag (16 MLP batch-64 calls kept queued; event-loop delay p99/max).
// Every call is what a user writes with that runtime: a fresh input tensor from a Float32Array, the awaited
// call, the output values read into JS, tensors disposed where the runtime has dispose.
const path = require('node:path');
const readline = require('node:readline');
const { now, cpuNow, sequential } = require('../stats');

const [runtime, configJson, mode] = process.argv.slice(2);
const config = JSON.parse(configJson || '{}');
const ROOT = path.resolve(__dirname, '..', '..');

const MODELS = {
  mlp: { dir: 'mlp', onnx: 'mlp.onnx', input: 'x', output: 'y', shape: [512] },
  cnn: { dir: 'cnn', onnx: 'cnn.onnx', input: 'image', output: 'output_0', shape: [8, 8, 3] },
};

function inputData(model, batch) {
  const row = MODELS[model].shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(batch * row);
  for (let i = 0; i < a.length; i++) a[i] = model === 'mlp' ? ((i * 37) % 101) / 101 - 0.5 : ((i * 13) % 29) / 29;
  return a;
}

// ------------------------------------------------------------------------------------------ runtimes
// Each returns {name, version, predict(model, batch, data) → Promise<Float32Array>} after loading both models.

async function tfhubRuntime() {
  const tfhub = require(path.join(ROOT, 'dist', 'src'));
  const { hub, Tensor } = tfhub;
  const loaded = {};
  const api = config.api ?? 'signature';
  // config.configProto: ConfigProto fields (JSON, protobufjs names) encoded into the session's raw config.
  const load = { ...(config.load ?? {}) };
  if (config.configProto) {
    const { tensorflow } = require(path.join(ROOT, 'dist', 'src', 'proto'));
    load.session = {
      ...(load.session ?? {}),
      config: tensorflow.ConfigProto.encode(tensorflow.ConfigProto.fromObject(config.configProto)).finish(),
    };
  }
  for (const [name, m] of Object.entries(MODELS)) {
    const model = await tfhub.hub.load(path.join(config.models, m.dir, '1'), load);
    const sig = model.signatures.serving_default;
    const shape = m.shape;
    let call;
    if (api === 'signature') {
      call = async (batch, data) => {
        const x = new Tensor('float32', [batch, ...shape], data);
        try {
          const out = await sig({ [m.input]: x });
          const y = out[m.output];
          const v = y.data();
          y.dispose();
          return v;
        } finally {
          x.dispose();
        }
      };
    } else if (api === 'prepared' || api === 'prepared-sync') {
      const fn = sig.prepare ? sig.prepare() : null;
      if (!fn) throw new Error('this build has no signature.prepare()');
      const sync = api === 'prepared-sync';
      call = async (batch, data) => {
        const x = new Tensor('float32', [batch, ...shape], data);
        try {
          const out = sync ? fn.runSync({ [m.input]: x }) : await fn({ [m.input]: x });
          const y = out[m.output];
          const v = y.data();
          y.dispose();
          return v;
        } finally {
          x.dispose();
        }
      };
    } else throw new Error(`unknown api ${api}`);
    loaded[name] = call;
  }
  void hub;
  return {
    name: 'tfhub-node',
    version: require(path.join(ROOT, 'package.json')).version + ' / TF ' + tfhub.tensorflowVersion(),
    predict: (model, batch, data) => loaded[model](batch, data),
  };
}

async function ortRuntime() {
  const ort = require(require.resolve('onnxruntime-node', { paths: [path.join(config.peers, 'ort')] }));
  const sessions = {};
  for (const [name, m] of Object.entries(MODELS))
    sessions[name] = await ort.InferenceSession.create(path.join(config.models, m.onnx), config.ortOptions ?? {});
  const version = require(require.resolve('onnxruntime-node/package.json', { paths: [path.join(config.peers, 'ort')] })).version;
  return {
    name: 'onnxruntime-node',
    version,
    predict: async (model, batch, data) => {
      const m = MODELS[model];
      const out = await sessions[model].run({ [m.input]: new ort.Tensor('float32', data, [batch, ...m.shape]) });
      return out[m.output].data;
    },
  };
}

async function tfjsRuntime() {
  const app = path.join(config.peers, 'tfjs', 'app');
  const tf = require(require.resolve('@tensorflow/tfjs-node', { paths: [app] }));
  const models = {};
  for (const [name, m] of Object.entries(MODELS))
    models[name] = await tf.node.loadSavedModel(path.join(config.models, m.dir, '1'), ['serve'], 'serving_default');
  const version = require(require.resolve('@tensorflow/tfjs-node/package.json', { paths: [app] })).version;
  return {
    name: '@tensorflow/tfjs-node',
    version,
    predict: async (model, batch, data) => {
      const m = MODELS[model];
      const x = tf.tensor(data, [batch, ...m.shape], 'float32');
      let y = models[model].predict({ [m.input]: x });
      if (!(y instanceof tf.Tensor)) y = y[m.output];
      const v = await y.data();
      tf.dispose([x, y]);
      return v;
    },
  };
}

const RUNTIMES = { tfhub: tfhubRuntime, ort: ortRuntime, tfjs: tfjsRuntime };

// ------------------------------------------------------------------------------------------ measurements

// Event-loop lag: a 1 ms interval timer records how late each tick fires. A loop that never yields to timers (a
// runtime whose calls block and settle in microtasks) yields no ticks, so the gap until stop() counts as one late
// tick (monitorEventLoopDelay would report 0 there).
function lagSampler() {
  const lags = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    lags.push(Math.max(0, t - last - 1));
    last = t;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      lags.push(Math.max(0, performance.now() - last - 1));
      const s = Float64Array.from(lags).sort();
      const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
      return { lag_p50_ms: q(0.5), lag_p99_ms: q(0.99), lag_max_ms: s[s.length - 1], lag_ticks: s.length };
    },
  };
}

async function concurrent(id, once, inFlight, seconds, warmup, lag) {
  const warmEnd = now() + warmup * 1e6;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (now() < warmEnd) await once();
    }),
  );
  const h = lag ? lagSampler() : null;
  const cpu0 = cpuNow();
  const start = now();
  const end = start + seconds * 1e6;
  let total = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (now() < end) {
        await once();
        total++;
      }
    }),
  );
  const r = { id, n: total, elapsed_s: (now() - start) / 1e6, cpu_s: cpuNow() - cpu0 };
  if (h) Object.assign(r, h.stop());
  return r;
}

async function main() {
  const t0 = performance.now();
  const rt = await RUNTIMES[runtime]();
  if (mode === 'cold') {
    const v = await rt.predict('mlp', 1, inputData('mlp', 1));
    process.stdout.write(
      JSON.stringify({
        first_output_ms: performance.now(),
        load_ms: performance.now() - t0,
        rss_mb: process.memoryUsage().rss / 2 ** 20,
        sum: v.reduce((a, b) => a + b, 0),
      }) + '\n',
    );
    process.exit(0);
  }
  const inputs = {};
  const input = (model, batch) => (inputs[`${model}/${batch}`] ??= inputData(model, batch));
  const once = (model, batch) => {
    const d = input(model, batch);
    return () => rt.predict(model, batch, d);
  };
  const measurements = {
    'mlp.b1': (s, w) => sequential('mlp.b1', once('mlp', 1), false, s, w),
    'mlp.b64c1': (s, w) => sequential('mlp.b64c1', once('mlp', 64), false, s, w),
    'mlp.b64c8': (s, w) => concurrent('mlp.b64c8', once('mlp', 64), 8, s, w),
    'cnn.b1': (s, w) => sequential('cnn.b1', once('cnn', 1), false, s, w),
    'cnn.b32c1': (s, w) => sequential('cnn.b32c1', once('cnn', 32), false, s, w),
    'cnn.b32c8': (s, w) => concurrent('cnn.b32c8', once('cnn', 32), 8, s, w),
    lag: (s, w) => concurrent('lag', once('mlp', 64), 16, s, w, true),
  };
  // Outputs of fixed inputs, compared across runtimes and configurations by run.js.
  const check = {};
  for (const [model, batch] of [
    ['mlp', 4],
    ['cnn', 4],
  ])
    check[model] = Array.from(await rt.predict(model, batch, input(model, batch)));
  const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
  send({ ready: true, runtime, name: rt.name, version: rt.version, config, check, rss_mb: process.memoryUsage().rss / 2 ** 20 });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const [id, seconds, warmup] = line.trim().split(/\s+/);
    if (!id || id === 'quit') break;
    const m = measurements[id];
    if (!m) {
      send({ id, error: `unknown measurement ${id}` });
      continue;
    }
    try {
      send(await m(Number(seconds), Number(warmup)));
    } catch (e) {
      send({ id, error: String(e?.stack ?? e) });
    }
  }
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
