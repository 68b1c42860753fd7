// Model warmup (saved_model_warmup.md): the PredictionLog records Python wrote into
// assets.extra/tf_serving_warmup_requests run on a version before it takes traffic — the stateful counter shows
// exactly how many runs happened (4 per replay of its two records); every kind TF Serving accepts runs; damaged,
// oversized, wrong or failing warmup files fail that version's load (END with the error) while the others serve.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ModelServer, ModelServerOptions } from '../../src/serving/model_server';
import { readJson } from '../helpers/oracle';
import { SERVING_FIXTURES, tempDir, versionWithWarmup } from './rest_helpers';

const EXPECTED = readJson(path.join(SERVING_FIXTURES, 'warmup', 'expected.json'));

async function withServer<T>(
  base: string,
  extra: Partial<ModelServerOptions>,
  fn: (s: ModelServer, logs: string[]) => Promise<T>,
  policy: object = { all: {} },
): Promise<T> {
  const logs: string[] = [];
  const server = new ModelServer({
    config: { modelConfigList: { config: [{ name: 'm', basePath: base, modelVersionPolicy: policy }] } },
    fileSystemPollWaitSeconds: 0,
    log: (l) => logs.push(l),
    ...extra,
  } as ModelServerOptions);
  try {
    await server.start();
    return await fn(server, logs);
  } finally {
    await server.close();
  }
}

async function counterValue(s: ModelServer, version?: number): Promise<number> {
  const r = await s.predict({ name: 'm', version, signatureName: 'get_counter' }, {});
  return (r.outputs.output.data() as Float32Array)[0];
}

describe('serving: model warmup', { timeout: 180_000 }, () => {
  it('replays every record before the version serves: 1 iteration by default, num_request_iterations, off', async () => {
    const t = tempDir('tfhub-warmup-');
    try {
      versionWithWarmup(t.dir, 1, 'counter', 'counter_predict');
      await withServer(t.dir, {}, async (s, logs) => {
        assert.equal(await counterValue(s), EXPECTED.counter_predict.counter_after['1']);
        assert.ok(
          logs.some((l) => /Finished reading warmup data for \{name: m version: 1\}: 2 records/.test(l)),
          logs.join('\n'),
        );
        const text = await s.metrics.text();
        const dir = path.join(t.dir, '1');
        assert.ok(text.includes(`:tensorflow:serving:model_warmup_records_read{model_path="${dir}",status="OK"} 2`), text);
        assert.ok(text.includes(`:tensorflow:serving:model_warmup_latency_count{model_path="${dir}",status="OK"} 1`), text);
      });
      await withServer(t.dir, { warmup: { numRequestIterations: 3 } }, async (s) => {
        assert.equal(await counterValue(s), EXPECTED.counter_predict.counter_after['3']);
      });
      await withServer(t.dir, { enableModelWarmup: false }, async (s) => {
        assert.equal(await counterValue(s), 0);
      });
    } finally {
      t.remove();
    }
  });

  it('classify, regress, multi_inference and predict logs all run; a log with no type is skipped; 1000 records is the limit', async () => {
    const t = tempDir('tfhub-warmup-');
    try {
      versionWithWarmup(t.dir, 1, 'tf1_example', 'tf1_example_all');
      await withServer(t.dir, {}, async (s, logs) => {
        assert.deepEqual(
          s.getModelStatus('m').map((v) => [v.version, v.state, v.status.errorCode]),
          [[1, 'AVAILABLE', 'OK']],
        );
        assert.ok(
          logs.some((l) => /: 5 records/.test(l)),
          logs.join('\n'),
        );
      });
      const u = tempDir('tfhub-warmup-');
      try {
        versionWithWarmup(u.dir, 1, 'counter', 'max_records');
        await withServer(u.dir, {}, async (s) => assert.equal(await counterValue(s), EXPECTED.max_records.counter_after['1']));
      } finally {
        u.remove();
      }
    } finally {
      t.remove();
    }
  });

  const hostile: Array<[string, string, RegExp]> = [
    [
      'bad_crc',
      'DATA_LOSS',
      /^corrupted record at 69 \(record 1 of .*tf_serving_warmup_requests\): the data's CRC does not match\. Please verify your warmup data is in TFRecord format\.$/,
    ],
    [
      'truncated',
      'DATA_LOSS',
      /^truncated record at 69 \(record 1 of .*tf_serving_warmup_requests\): .*\. Please verify your warmup data is in TFRecord format\.$/,
    ],
    ['huge_length', 'RESOURCE_EXHAUSTED', /^record at 0 \(record 0 of .*\) is 1099511627776 bytes, over the limit of 268435456$/],
    [
      'wrong_proto',
      'INVALID_ARGUMENT',
      /^Failed to parse warmup record: \{"instances": \[1\.0, 2\.0\]\} from .*tf_serving_warmup_requests/,
    ],
    ['session_run', 'UNIMPLEMENTED', /^Unsupported log_type for warmup: 5 \(warmup record 0 of /],
    ['bad_request', 'FAILED_PRECONDITION', /^Serving signature key "no_such_signature" not found\. \(warmup record 0 of /],
    ['too_many', 'INVALID_ARGUMENT', /^Number of warmup records exceeds the maximum \(1000\) at .*tf_serving_warmup_requests$/],
  ];

  it('a damaged, oversized, wrong or failing warmup file fails that version (END with the error); the others keep serving', async () => {
    const t = tempDir('tfhub-warmup-');
    try {
      versionWithWarmup(t.dir, 1, 'counter', 'counter_predict');
      hostile.forEach(([name], i) => versionWithWarmup(t.dir, 2 + i, 'counter', name));
      await withServer(t.dir, {}, async (s, logs) => {
        const status = new Map(s.getModelStatus('m').map((v) => [v.version, v]));
        assert.equal(status.get(1)!.state, 'AVAILABLE');
        hostile.forEach(([name, code, message], i) => {
          const v = status.get(2 + i)!;
          assert.equal(v.state, 'END', name);
          assert.equal(v.status.errorCode, code, `${name}: ${v.status.errorMessage}`);
          assert.match(v.status.errorMessage, message, name);
          assert.ok(
            logs.some((l) => l.startsWith(`Loading servable version {name: m version: ${2 + i}} failed: ${code}: `)),
            name,
          );
        });
        // The failed versions are not served; version 1 is (the latest available), warmed up once.
        assert.equal(await counterValue(s), 4);
        await assert.rejects(counterValue(s, 2), { code: 'NOT_FOUND' });
        const text = await s.metrics.text();
        assert.match(text, /:tensorflow:cc:saved_model:load_attempt_count\{model_path="[^"]*\/2",status="fail"\} 1/);
        assert.match(
          text,
          /:tensorflow:serving:model_warmup_records_read\{model_path="[^"]*\/2",status="DATA_LOSS: corrupted record at 69/,
        );
      });
    } finally {
      t.remove();
    }
  });

  it('a new version whose warmup fails while polling: the serving version stays, the new one is END', async () => {
    const t = tempDir('tfhub-warmup-');
    try {
      versionWithWarmup(t.dir, 1, 'half_plus/1', 'half_plus_predict');
      const logs: string[] = [];
      const server = new ModelServer({ modelName: 'm', modelBasePath: t.dir, fileSystemPollWaitSeconds: 0.2, log: (l) => logs.push(l) });
      try {
        await server.start();
        assert.deepEqual(
          server.getModelStatus('m').map((v) => [v.version, v.state]),
          [[1, 'AVAILABLE']],
        );
        versionWithWarmup(t.dir, 2, 'half_plus/2', 'bad_crc');
        const deadline = Date.now() + 30_000;
        while (!server.getModelStatus('m').some((v) => v.version === 2 && v.state === 'END') && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(
          server.getModelStatus('m').map((v) => [v.version, v.state, v.status.errorCode]),
          [
            [2, 'END', 'DATA_LOSS'],
            [1, 'AVAILABLE', 'OK'],
          ],
        );
        const r = await server.predict('m', { x: [1, 2] });
        assert.equal(r.modelSpec.version, 1);
      } finally {
        await server.close();
      }
    } finally {
      t.remove();
    }
  });
});
