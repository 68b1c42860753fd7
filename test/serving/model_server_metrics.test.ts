// Prometheus metrics (--monitoring_config_file): real REST and gRPC requests, then the page is scraped and
// parsed; TF Serving's names, labels and buckets (:tensorflow:serving:request_count{model_name,status},
// request_latency{model_name,API,entrypoint} over 33 buckets from 10 µs by 1.8, …) and counts equal to the
// requests made; batching's queue depth, batch sizes and queuing latency; the path from the MonitoringConfig.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { exponentialBuckets } from '../../src/serving/metrics';
import { parseMonitoringConfigText } from '../../src/serving/text_proto';
import { callRaw, startGrpc } from './grpc_helpers';
import { readJson } from '../helpers/oracle';
import { REST_FIXTURES, RestServer, SERVING_FIXTURES, call, startRest } from './rest_helpers';

/** One sample of the text format: metric name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format (the subset prom-client and TF Serving write); TYPE lines by name. */
function parseProm(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    samples.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return { samples, types };
}

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(hits.length <= 1, `${name} ${JSON.stringify(labels)}: ${hits.length} samples`);
  return hits[0]?.value ?? 0;
}

async function scrape(s: RestServer, p = '/monitoring/prometheus/metrics') {
  const r = await fetch(`${s.url}${p}`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseProm(await r.text());
}

const HALF = path.join(SERVING_FIXTURES, 'half_plus');
// tf1_example.json's examples_json, written with decimals (1.0 is a float feature, 1 an int64 one).
const CLASSIFY_BODY =
  '{"signature_name": "classify", "examples": [{"x": [1.0, 2.0]}, {"scale": 2.0, "x": [-3.0, 0.5]}, {"scale": 0.5, "x": [0.0, 0.0]}]}';
const EXAMPLES = readJson(path.join(SERVING_FIXTURES, 'tf1_example.json')).examples_json;

describe('serving: Prometheus metrics', { timeout: 180_000 }, () => {
  let s: RestServer;
  before(async () => {
    s = await startRest({
      config: {
        modelConfigList: {
          config: [
            { name: 'half', basePath: HALF, modelVersionPolicy: { all: {} } },
            { name: 'ex', basePath: path.join(REST_FIXTURES, 'example_base') },
          ],
        },
      },
      monitoring: parseMonitoringConfigText('prometheus_config { enable: true }', 'monitoring.config'),
    });
  });
  after(async () => s?.close());

  it("request counts and latencies equal the REST and gRPC requests made, with TF Serving's names, labels and buckets", async () => {
    const okRest = 7;
    for (let i = 0; i < okRest; i++) {
      const r = await call(`${s.url}/v1/models/half/versions/${1 + (i % 2)}:predict`, 'POST', JSON.stringify({ instances: [1, 2, i] }));
      assert.equal(r.status, 200, r.text);
    }
    assert.equal((await call(`${s.url}/v1/models/half:predict`, 'POST', '{"instances": [1,')).status, 400);
    assert.equal((await call(`${s.url}/v1/models/half:predict`, 'POST', '{"instances": ["a"]}')).status, 400);
    assert.equal((await call(`${s.url}/v1/models/nope:predict`, 'POST', '{"instances": [1]}')).status, 404);
    assert.equal((await call(`${s.url}/v1/models/half`, 'GET')).status, 200);
    for (let i = 0; i < 2; i++) {
      const r = await call(`${s.url}/v1/models/ex:classify`, 'POST', CLASSIFY_BODY);
      assert.equal(r.status, 200, r.text);
    }
    const g = await startGrpc(s.server);
    const okGrpc = 5;
    try {
      for (let i = 0; i < okGrpc; i++) {
        const r = await callRaw(g, 'Predict', {
          modelSpec: { name: 'half' },
          inputs: { x: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: 2 }] }, floatVal: [1, i] } },
        });
        assert.ok(r.response, r.error?.message);
      }
      const bad = await callRaw(g, 'Predict', { modelSpec: { name: 'half' }, inputs: { nope: { dtype: 'DT_FLOAT', floatVal: [1] } } });
      assert.ok(bad.error);
      const missing = await callRaw(g, 'Predict', { modelSpec: { name: 'nope' }, inputs: { x: { dtype: 'DT_FLOAT', floatVal: [1] } } });
      assert.ok(missing.error);
    } finally {
      await g.close();
    }

    const { samples, types } = await scrape(s);
    const rc = ':tensorflow:serving:request_count';
    assert.equal(types.get(rc), 'counter');
    assert.equal(types.get(':tensorflow:serving:request_latency'), 'histogram');
    // REST: 7 predicts + 1 GET OK; JSON errors INVALID_ARGUMENT; the unknown model NOT_FOUND. gRPC: 5 OK + 1 bad.
    assert.equal(value(samples, rc, { model_name: 'half', status: 'OK' }), okRest + 1 + okGrpc);
    assert.equal(value(samples, rc, { model_name: 'half', status: 'INVALID_ARGUMENT' }), 2 + 1);
    assert.equal(value(samples, rc, { model_name: 'nope', status: 'NOT_FOUND' }), 2);
    const lat = ':tensorflow:serving:request_latency';
    assert.equal(value(samples, `${lat}_count`, { model_name: 'half', API: 'predict', entrypoint: 'REST' }), okRest);
    assert.equal(value(samples, `${lat}_count`, { model_name: 'half', API: '', entrypoint: 'REST' }), 1);
    assert.equal(value(samples, `${lat}_count`, { model_name: 'half', API: 'Predict', entrypoint: 'GRPC' }), okGrpc);
    // Failed requests have no latency, as in TF Serving.
    assert.equal(value(samples, `${lat}_count`, { model_name: 'nope' }), 0);
    // Buckets: TF's Buckets::Exponential(10, 1.8, 33) as TF Serving prints them (6 significant digits), then +Inf.
    const les = samples.filter((x) => x.name === `${lat}_bucket` && x.labels.API === 'predict').map((x) => x.labels.le);
    assert.deepEqual(les, [...exponentialBuckets(10, 1.8, 33).map(String), '+Inf']);
    assert.deepEqual(les.slice(0, 6), ['10', '18', '32.4', '58.32', '104.976', '188.957']);
    assert.equal(value(samples, `${lat}_bucket`, { API: 'predict', entrypoint: 'REST', le: '+Inf' }), okRest);
    // Per model / version / signature (tfhub-node): the REST predicts alternate versions 1 and 2; gRPC asks for
    // the latest (2); the REST request with a wrong shape and the gRPC one with a wrong input reached version 2
    // (the latest) and failed there; malformed JSON and unknown models never reach a version.
    const sig = ':tfhub_node:serving:signature_latency_count';
    assert.equal(value(samples, sig, { model_name: 'half', version: '1', signature: 'serving_default', status: 'OK' }), 4);
    assert.equal(value(samples, sig, { model_name: 'half', version: '2', signature: 'serving_default', status: 'OK' }), 3 + okGrpc);
    assert.equal(value(samples, sig, { model_name: 'half', version: '2', signature: 'serving_default', status: 'INVALID_ARGUMENT' }), 2);
    // tf.Examples per Classify request (histogram over 1, 2, 4, … 16384) and in all.
    assert.equal(value(samples, ':tensorflow:serving:request_example_counts_count', { model: 'ex' }), 2);
    assert.equal(value(samples, ':tensorflow:serving:request_example_counts_bucket', { model: 'ex', le: '4' }), 2);
    assert.equal(value(samples, ':tensorflow:serving:request_example_counts_bucket', { model: 'ex', le: '2' }), 0);
    assert.equal(value(samples, ':tensorflow:serving:request_example_count_total', { model: 'ex' }), 2 * EXAMPLES.length);
    assert.equal(value(samples, `${lat}_count`, { model_name: 'ex', API: 'classify', entrypoint: 'REST' }), 2);
    // Loads: both half versions, once each.
    assert.equal(
      value(samples, ':tensorflow:cc:saved_model:load_attempt_count', { model_path: path.join(HALF, '1'), status: 'success' }),
      1,
    );
    assert.equal(value(samples, ':tfhub_node:serving:model_load_latency_count', { model_name: 'half', version: '2', status: 'OK' }), 1);
  });

  it('the page is at prometheus_config.path, only when enabled; the registry is the embedding API', async () => {
    const custom = await startRest({
      modelName: 'half',
      modelBasePath: HALF,
      monitoring: { prometheusConfig: { enable: true, path: '/metrics' } },
    });
    const off = await startRest({ modelName: 'half', modelBasePath: HALF, monitoring: { prometheusConfig: { enable: false } } });
    try {
      const { samples } = await scrape(custom, '/metrics');
      assert.ok(samples.some((x) => x.name === ':tensorflow:cc:saved_model:load_latency'));
      assert.equal((await call(`${custom.url}/monitoring/prometheus/metrics`, 'GET')).status, 404);
      assert.equal((await call(`${off.url}/monitoring/prometheus/metrics`, 'GET')).status, 404);
      await off.server.predict('half', { x: [1] });
      // Library calls are not requests of a front end: request_count stays empty; the signature series counts them.
      const text = await off.server.metrics.text();
      assert.doesNotMatch(text, /^:tensorflow:serving:request_count\{/m);
      assert.match(
        text,
        /^:tfhub_node:serving:signature_latency_count\{model_name="half",version="2",signature="serving_default",status="OK"\} 1$/m,
      );
      assert.equal(typeof off.server.metrics.registry.getSingleMetric(':tensorflow:serving:request_count')?.get, 'function');
    } finally {
      await custom.close();
      await off.close();
    }
  });

  it('requiring the package loads neither prom-client nor @grpc/grpc-js (they load when a server starts / serves gRPC)', () => {
    const code =
      'require(process.argv[1]); console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /node_modules[\\\\/](prom-client|@grpc[\\\\/]grpc-js)[\\\\/]/.test(k))))';
    const out = execFileSync(process.execPath, ['-e', code, path.join(__dirname, '../../src')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), []);
  });

  it('batching: batch sizes, queuing latency, wrapped runs, queue depth', async () => {
    const b = await startRest({
      config: { modelConfigList: { config: [{ name: 'half', basePath: HALF }] } },
      batching: { maxBatchSize: 64, batchTimeoutMicros: 200_000 },
      monitoring: { prometheusConfig: { enable: true } },
    });
    try {
      const n = 8;
      const rs = await Promise.all(
        Array.from({ length: n }, (_, i) => call(`${b.url}/v1/models/half:predict`, 'POST', JSON.stringify({ instances: [i] }))),
      );
      assert.deepEqual(
        rs.map((r) => r.status),
        Array(n).fill(200),
      );
      const { samples, types } = await scrape(b);
      const labels = { model_name: 'half', version: '2', signature: 'serving_default' };
      assert.equal(value(samples, ':tfhub_node:serving:batch_size_sum', labels), n);
      const runs = value(samples, ':tfhub_node:serving:batch_size_count', labels);
      assert.ok(runs >= 1 && runs <= n, `runs ${runs}`);
      assert.equal(value(samples, ':tensorflow:serving:batching_session:wrapped_run_count'), runs);
      assert.equal(value(samples, ':tensorflow:serving:batching_session:queuing_latency_count', { thread_pool_name: '' }), n);
      assert.equal(types.get(':tfhub_node:serving:batch_queue_depth'), 'gauge');
      assert.equal(value(samples, ':tfhub_node:serving:batch_queue_depth', labels), 0);
      const qb = samples.filter((x) => x.name === ':tensorflow:serving:batching_session:queuing_latency_bucket').map((x) => x.labels.le);
      assert.deepEqual(qb.slice(0, 4), ['100', '120', '144', '172.8']);
      assert.equal(qb.length, 53);
    } finally {
      await b.close();
    }
  });
});
