// A real TF Serving client in another language: Python grpcio with the protos compiled by grpcio-tools at test
// time (test/serving/py/tfs_client.py), against our server on 127.0.0.1. Skipped, with a message, where python3
// with grpcio and grpcio-tools is missing (CI has them: test/requirements.txt).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelServer } from '../../src/serving/model_server';
import { PROTO_INCLUDE_DIRS } from '../../src/serving/proto';
import { PYTHON } from '../helpers/python';
import { RunResult, runToEnd } from '../helpers/run_to_end';
import { GrpcHarness, modelsDir, startGrpc, startModels } from './grpc_helpers';
import { SERVING_FIXTURES } from './helpers';

const CLIENT = path.join(__dirname, '../../../test/serving/py/tfs_client.py');
const probe = spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools'], { encoding: 'utf8', timeout: 60_000 });
const skip =
  probe.status === 0
    ? false
    : `python3 with grpcio and grpcio-tools is not available (${(probe.error?.message ?? probe.stderr ?? '').trim().split('\n').pop()}); CI must install them (test/requirements.txt)`;

/** Runs the client without blocking the event loop (the server answers from this process). */
function runClient(address: string): Promise<RunResult> {
  return runToEnd(PYTHON, [CLIENT, address, PROTO_INCLUDE_DIRS.join(path.delimiter), SERVING_FIXTURES], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    timeoutMs: 150_000,
  });
}

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(SERVING_FIXTURES, name), 'utf8'));
const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

describe('serving gRPC: a Python grpcio client', { skip }, () => {
  let dir: { dir: string; remove(): void };
  let server: ModelServer;
  let h: GrpcHarness;
  let result: any; // eslint-disable-line @typescript-eslint/no-explicit-any

  before(async () => {
    dir = modelsDir();
    server = await startModels(dir.dir);
    h = await startGrpc(server);
    const r = await runClient(h.address);
    assert.equal(r.code, 0, `python client failed:\n${r.stderr}`);
    result = JSON.parse(r.stdout);
  });
  after(async () => {
    await h?.close();
    await server?.close();
    dir?.remove();
  });

  test('Predict: every tf2_multi signature (float, int64 past 2^53, bytes, float16, bfloat16, multi-output) equals Python TF', () => {
    const tf2 = fixture('tf2_multi.json');
    assert.equal(result.predict.length, tf2.calls.length);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    tf2.calls.forEach((call: any, i: number) => {
      const got = result.predict[i];
      assert.equal(got.signature, call.signature);
      assert.equal(got.version, 1);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      for (const [k, want] of Object.entries<any>(call.outputs)) {
        const g = got.outputs[k];
        assert.equal(g.dtype, want.dtype, `${call.signature}.${k}`);
        assert.deepEqual(g.shape, want.shape);
        if (want.b64) assert.deepEqual(g.b64, want.b64);
        else if (want.dtype === 'int64') assert.deepEqual(g.values, want.values.map(String));
        else
          g.values.forEach((v: number, j: number) =>
            assert.ok(close(v, want.values[j]), `${call.signature}.${k}[${j}]: ${v} vs ${want.values[j]}`),
          );
      }
    });
  });

  test('version and version_label select versions 1 and 2', () => {
    const half = fixture('half_plus.json');
    assert.equal(result.versions['1'].version, 1);
    assert.deepEqual(result.versions['1'].y.values, half.versions['1'].outputs.y.values);
    assert.equal(result.versions.canary.version, 2);
    assert.deepEqual(result.versions.canary.y.values, half.versions['2'].outputs.y.values);
  });

  test('Classify, Regress and MultiInference equal Python TF on the same tf.Examples', () => {
    const ex = fixture('tf1_example.json');
    result.classify.forEach((row: Array<[string, number]>, i: number) => {
      assert.deepEqual(
        row.map((c) => c[0]),
        ex.classify.labels,
      );
      row.forEach((c, j) => assert.ok(close(c[1], ex.classify.scores[i][j]), `score ${i},${j}`));
    });
    result.regress.forEach((v: number, i: number) => assert.ok(close(v, ex.regress.values[i]), `regress ${i}: ${v}`));
    assert.deepEqual(result.multi_inference, ['classification_result', 'regression_result']);
  });

  test('GetModelMetadata unpacks as a SignatureDefMap; GetModelStatus lists both versions AVAILABLE', () => {
    assert.equal(result.metadata.type_url, 'type.googleapis.com/tensorflow.serving.SignatureDefMap');
    assert.deepEqual(result.metadata.methods, {
      classify: 'tensorflow/serving/classify',
      predict: 'tensorflow/serving/predict',
      regress: 'tensorflow/serving/regress',
      serving_default: 'tensorflow/serving/predict',
    });
    assert.deepEqual(result.metadata.predict_input, { dtype: 1, shape: [-1, 2] });
    assert.deepEqual(result.status, [
      [1, 'AVAILABLE', 0],
      [2, 'AVAILABLE', 0],
    ]);
  });

  test('status codes: NOT_FOUND, INVALID_ARGUMENT (2^40 elements, wrong dtype, no ModelSpec)', () => {
    assert.deepEqual(result.errors, {
      unknown_model: 'NOT_FOUND',
      huge_shape: 'INVALID_ARGUMENT',
      wrong_dtype: 'INVALID_ARGUMENT',
      missing_spec: 'INVALID_ARGUMENT',
    });
  });
});
