import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, servingTypes } from '../../src/serving/proto';
import { tensorFromProto, tensorToProto } from '../../src/serving/codec/tensor_proto';
import { serializeExampleJson } from '../../src/serving/codec/example';
import { parseJson } from '../../src/serving/rest/json';
import { ModelServer } from '../../src/serving/model_server';
import { callRaw, GrpcHarness, modelsDir, startGrpc, startModels } from './grpc_helpers';
import { FixtureTensor, SERVING_FIXTURES, assertTensorEquals, fixtureTensor } from './helpers';

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(SERVING_FIXTURES, name), 'utf8'));
const tf2 = fixture('tf2_multi.json');
const example = fixture('tf1_example.json');
const half = fixture('half_plus.json');
const counter = fixture('counter.json');

/** TensorProto object of a fixture tensor, in one encoding. */
function proto(t: FixtureTensor, content = false): object {
  const tensor = fixtureTensor(t);
  try {
    return tensorToProto(tensor, { content });
  } finally {
    tensor.dispose();
  }
}

function outputsOf(response: { outputs: Record<string, object> }): Record<string, ReturnType<typeof tensorFromProto>> {
  const T = servingTypes().TensorProto;
  const out: Record<string, ReturnType<typeof tensorFromProto>> = {};
  for (const [k, v] of Object.entries(response.outputs)) out[k] = tensorFromProto(T.fromObject(v) as never, k);
  return out;
}

function assertStatus(r: { error?: grpc.ServiceError }, code: grpc.status, re?: RegExp): void {
  assert.ok(r.error, 'expected an error');
  assert.equal(r.error!.code, code, `${grpc.status[r.error!.code]}: ${r.error!.details}`);
  if (re) assert.match(r.error!.details, re);
}

const examplesInput = (withContext: boolean) => {
  const ex = (example.serialized_b64 as string[]).map((s) =>
    servingTypes().Example.toObject(decodeMessage(servingTypes().Example, Buffer.from(s, 'base64'), 'ex')),
  );
  if (!withContext) return { exampleList: { examples: ex } };
  // context supplies scale 2.0 to the first example, which has none; the others keep their own
  return {
    exampleListWithContext: {
      context: servingTypes().Example.toObject(
        decodeMessage(servingTypes().Example, serializeExampleJson(parseJson('{"scale": 2.0}')), 'ctx'),
      ),
      examples: ex,
    },
  };
};

describe('serving gRPC: PredictionService and ModelService on a ModelServer', () => {
  let dir: { dir: string; remove(): void };
  let server: ModelServer;
  let h: GrpcHarness;

  before(async () => {
    dir = modelsDir();
    server = await startModels(dir.dir);
    h = await startGrpc(server);
  });
  after(async () => {
    await h?.close();
    await server?.close();
    dir?.remove();
  });

  test("Predict: every tf2_multi signature, requests in both TensorProto encodings, outputs equal Python's", async () => {
    for (const call of tf2.calls) {
      for (const content of [false, true]) {
        const inputs = Object.fromEntries(Object.entries(call.inputs).map(([k, v]) => [k, proto(v as FixtureTensor, content)]));
        const r = await callRaw(h, 'Predict', { modelSpec: { name: 'tf2', signatureName: call.signature }, inputs });
        assert.ifError(r.error);
        assert.deepEqual(r.response.modelSpec, { name: 'tf2', version: { value: '1' }, signatureName: call.signature });
        const outs = outputsOf(r.response);
        assert.deepEqual(Object.keys(outs).sort(), Object.keys(call.outputs).sort());
        for (const [k, want] of Object.entries(call.outputs)) assertTensorEquals(outs[k], want as FixtureTensor, `${call.signature}.${k}`);
      }
    }
  });

  test('Predict: output_filter, and the default signature when none is named', async () => {
    const call = tf2.calls.find((c: { signature: string }) => c.signature === 'multi_output');
    const r = await callRaw(h, 'Predict', {
      modelSpec: { name: 'tf2', signatureName: 'multi_output' },
      inputs: { x: proto(call.inputs.x) },
      outputFilter: ['argmax'],
    });
    assert.deepEqual(Object.keys(r.response.outputs), ['argmax']);
    assert.ok(r.response.outputs.argmax.int64Val, 'int64 answered in int64_val');
    const d = tf2.calls[0];
    const r2 = await callRaw(h, 'Predict', { modelSpec: { name: 'tf2' }, inputs: { x: proto(d.inputs.x) } });
    assert.equal(r2.response.modelSpec.signatureName, 'serving_default');
    assertTensorEquals(outputsOf(r2.response).y, d.outputs.y);
  });

  test('Predict: version, version_label and latest pick the right version', async () => {
    const x = half.versions['1'].inputs.x;
    for (const [spec, v] of [
      [{}, '2'],
      [{ version: { value: 1 } }, '1'],
      [{ versionLabel: 'stable' }, '1'],
      [{ versionLabel: 'canary' }, '2'],
    ] as const) {
      const r = await callRaw(h, 'Predict', { modelSpec: { name: 'half', ...spec }, inputs: { x: proto(x) } });
      assert.ifError(r.error);
      assert.equal(r.response.modelSpec.version.value, v);
      assertTensorEquals(outputsOf(r.response).y, half.versions[v].outputs.y, `version ${v}`);
    }
  });

  test("Classify and Regress on tf.Example input (list and with context) equal Python's", async () => {
    const c = await callRaw(h, 'Classify', { modelSpec: { name: 'example', signatureName: 'classify' }, input: examplesInput(false) });
    assert.ifError(c.error);
    const got = c.response.result.classifications;
    assert.equal(got.length, example.classify.scores.length);
    got.forEach((row: { classes: Array<{ label: string; score: number }> }, i: number) => {
      assert.deepEqual(
        row.classes.map((x) => x.label),
        example.classify.labels,
      );
      row.classes.forEach((x, j) => assert.ok(Math.abs(x.score - example.classify.scores[i][j]) < 1e-6));
    });
    const r = await callRaw(h, 'Regress', { modelSpec: { name: 'example', signatureName: 'regress' }, input: examplesInput(false) });
    assert.ifError(r.error);
    const values = r.response.result.regressions.map((x: { value: number }) => x.value);
    values.forEach((v: number, i: number) =>
      assert.ok(Math.abs(v - example.regress.values[i]) < 1e-5, `${v} vs ${example.regress.values[i]}`),
    );
    const rc = await callRaw(h, 'Regress', { modelSpec: { name: 'example', signatureName: 'regress' }, input: examplesInput(true) });
    const ctxValues = rc.response.result.regressions.map((x: { value: number }) => x.value);
    assert.ok(Math.abs(ctxValues[0] - 2 * example.regress.values[0]) < 1e-5, 'context scale applies where the example has none');
    assert.ok(Math.abs(ctxValues[1] - example.regress.values[1]) < 1e-5, "the example's own scale wins");
  });

  test('MultiInference: classify + regress over one input', async () => {
    const r = await callRaw(h, 'MultiInference', {
      tasks: [
        { modelSpec: { name: 'example', signatureName: 'classify' }, methodName: 'tensorflow/serving/classify' },
        { modelSpec: { name: 'example', signatureName: 'regress' }, methodName: 'tensorflow/serving/regress' },
      ],
      input: examplesInput(false),
    });
    assert.ifError(r.error);
    assert.equal(r.response.results.length, 2);
    assert.equal(r.response.results[0].classificationResult.classifications.length, 3);
    assert.ok(Math.abs(r.response.results[1].regressionResult.regressions[2].value - example.regress.values[2]) < 1e-5);
    assertStatus(
      await callRaw(h, 'MultiInference', {
        tasks: [{ modelSpec: { name: 'example', signatureName: 'predict' }, methodName: 'tensorflow/serving/predict' }],
        input: examplesInput(false),
      }),
      grpc.status.UNIMPLEMENTED,
      /Unsupported signature method_name/,
    );
    assertStatus(
      await callRaw(h, 'MultiInference', {
        tasks: [
          { modelSpec: { name: 'example', signatureName: 'regress' }, methodName: 'tensorflow/serving/regress' },
          { modelSpec: { name: 'half' }, methodName: 'tensorflow/serving/regress' },
        ],
        input: examplesInput(false),
      }),
      grpc.status.INVALID_ARGUMENT,
      /same model name/,
    );
  });

  test('GetModelMetadata: signature defs packed in an Any as a SignatureDefMap', async () => {
    const r = await callRaw(h, 'GetModelMetadata', { modelSpec: { name: 'example' }, metadataField: ['signature_def'] });
    assert.ifError(r.error);
    assert.deepEqual(r.response.modelSpec, { name: 'example', version: { value: '1' } });
    const any = r.response.metadata.signature_def;
    assert.equal(any.type_url, 'type.googleapis.com/tensorflow.serving.SignatureDefMap');
    const map = servingTypes().SignatureDefMap.toObject(decodeMessage(servingTypes().SignatureDefMap, any.value, 'map')) as {
      signatureDef: Record<string, { methodName: string }>;
    };
    assert.deepEqual(Object.keys(map.signatureDef).sort(), ['classify', 'predict', 'regress', 'serving_default']);
    assert.equal(map.signatureDef.classify.methodName, 'tensorflow/serving/classify');
    assertStatus(
      await callRaw(h, 'GetModelMetadata', { modelSpec: { name: 'example' } }),
      grpc.status.INVALID_ARGUMENT,
      /at least one metadata_field/,
    );
    assertStatus(
      await callRaw(h, 'GetModelMetadata', { modelSpec: { name: 'example' }, metadataField: ['x'] }),
      grpc.status.INVALID_ARGUMENT,
      /Metadata field x is not supported/,
    );
  });

  test('GetModelStatus: every version AVAILABLE, errors as TF Serving gives them', async () => {
    const r = await callRaw(h, 'GetModelStatus', { modelSpec: { name: 'half' } });
    assert.ifError(r.error);
    const st = r.response.modelVersionStatus.map((s: { version: string; state: string; status: { errorCode?: string } }) => [
      s.version,
      s.state,
      s.status.errorCode ?? 'OK',
    ]);
    assert.deepEqual(st.sort(), [
      ['1', 'AVAILABLE', 'OK'],
      ['2', 'AVAILABLE', 'OK'],
    ]);
    assertStatus(await callRaw(h, 'GetModelStatus', { modelSpec: { name: 'nope' } }), grpc.status.NOT_FOUND);
    assertStatus(await callRaw(h, 'GetModelStatus', {}), grpc.status.INVALID_ARGUMENT, /Missing ModelSpec/);
  });

  test('the stateful counter keeps its state across calls', async () => {
    for (const step of counter.sequence) {
      const inputs = Object.fromEntries(Object.entries(step.inputs).map(([k, v]) => [k, { dtype: 1, floatVal: [v] }]));
      const r = await callRaw(h, 'Predict', { modelSpec: { name: 'counter', signatureName: step.signature }, inputs });
      assert.ifError(r.error);
      assert.deepEqual(Array.from(outputsOf(r.response).output.data() as Float32Array), [step.output], step.signature);
    }
  });

  test('hostile requests get INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION and the server keeps answering', async () => {
    const x = proto(tf2.calls[0].inputs.x);
    const predictWith = (inputs: object, spec: object = { name: 'tf2' }) => callRaw(h, 'Predict', { modelSpec: spec, inputs });
    assertStatus(
      await predictWith({ x: { dtype: 9, tensorShape: { dim: [{ size: 2 }, { size: 3 }] }, int64Val: [1, 2, 3, 4, 5, 6] } }),
      grpc.status.INVALID_ARGUMENT,
    );
    assertStatus(
      await predictWith({ x: { dtype: 1, tensorShape: { dim: [{ size: 2 }, { size: 3 }] }, tensorContent: Buffer.alloc(20) } }),
      grpc.status.INVALID_ARGUMENT,
      /tensor parsing error: x.*tensor_content has 20 bytes/,
    );
    assertStatus(
      await predictWith({ x: { dtype: 1, tensorShape: { dim: [{ size: 2 ** 20 }, { size: 2 ** 20 }] }, floatVal: [1] } }),
      grpc.status.INVALID_ARGUMENT,
      /over the limit/,
    );
    assertStatus(
      await predictWith({ x: { dtype: 1, tensorShape: { dim: [{ size: '9223372036854775807' }, { size: 2 }] }, floatVal: [1] } }),
      grpc.status.INVALID_ARGUMENT,
    );
    assertStatus(await predictWith({ x: { dtype: 77, floatVal: [1] } }), grpc.status.INVALID_ARGUMENT, /DataType 77/);
    assertStatus(
      await predictWith({ y: x }),
      grpc.status.INVALID_ARGUMENT,
      /^Signature input alias: x\(feed name: \S+\) not found in request and no default value provided\. Inputs expected to be in the request \{y\}, or default input alias set: $/,
    );
    assertStatus(
      await predictWith({ x, y: x }),
      grpc.status.INVALID_ARGUMENT,
      /^input size does not match signature: 2!=1 len\(\{x,y\}\) != len\(\{x\}\)\. Sent extra: \{y\}\. Missing but required: \{\}\.$/,
    );
    assertStatus(await predictWith({ x }, { name: 'nope' }), grpc.status.NOT_FOUND);
    assertStatus(await predictWith({ x }, { name: 'tf2', version: { value: 7 } }), grpc.status.NOT_FOUND);
    assertStatus(
      await predictWith({ x }, { name: 'half', versionLabel: 'nolabel' }),
      grpc.status.INVALID_ARGUMENT,
      /Unrecognized servable version label: nolabel/,
    );
    assertStatus(
      await predictWith({ x }, { name: 'tf2', signatureName: 'nosig' }),
      grpc.status.FAILED_PRECONDITION,
      /Serving signature key "nosig" not found/,
    );
    assertStatus(await callRaw(h, 'Predict', { inputs: { x } }), grpc.status.INVALID_ARGUMENT, /Missing ModelSpec/);
    assertStatus(await callRaw(h, 'Predict', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), grpc.status.INVALID_ARGUMENT);
    assertStatus(
      await callRaw(h, 'Classify', { modelSpec: { name: 'example', signatureName: 'classify' } }),
      grpc.status.INVALID_ARGUMENT,
      /Input is empty/,
    );
    assertStatus(
      await callRaw(h, 'Classify', { modelSpec: { name: 'example', signatureName: 'regress' }, input: examplesInput(false) }),
      grpc.status.INVALID_ARGUMENT,
      // TF Serving checks the signature's form (the method_name only with --enable_signature_method_name_check)
      /^Expected classification signature outputs to contain at least one of "classes" or "scores"\. Signature was: inputs \{\n/,
    );
    const ok = await predictWith({ x });
    assert.ifError(ok.error);
    assertTensorEquals(outputsOf(ok.response).y, tf2.calls[0].outputs.y);
  });

  test('HandleReloadConfigRequest adds and removes models', async () => {
    const cfg = (names: string[]) => ({
      config: { modelConfigList: { config: names.map((n) => ({ name: n, basePath: path.join(dir.dir, n) })) } },
    });
    const r = await callRaw(h, 'HandleReloadConfigRequest', cfg(['example', 'tf2', 'half']));
    assert.ifError(r.error);
    assertStatus(await callRaw(h, 'GetModelStatus', { modelSpec: { name: 'counter' } }), grpc.status.NOT_FOUND);
    const back = await callRaw(h, 'HandleReloadConfigRequest', cfg(['example', 'tf2', 'half', 'counter']));
    assert.ifError(back.error);
    const st = await callRaw(h, 'GetModelStatus', { modelSpec: { name: 'counter' } });
    assert.equal(st.response.modelVersionStatus[0].state, 'AVAILABLE');
  });
});

describe('serving gRPC: deadlines and cancellation', () => {
  test('a call past its deadline is DEADLINE_EXCEEDED and the backend sees the abort', async () => {
    let aborted = false;
    const never = (_q: unknown, _i: unknown, opts?: { signal?: AbortSignal }) =>
      new Promise<never>((_resolve, reject) => {
        opts?.signal?.addEventListener('abort', () => {
          aborted = true;
          reject(opts.signal!.reason);
        });
      });
    const backend = { predict: never, classify: never, regress: never } as never;
    const h = await startGrpc(backend);
    try {
      const r = await callRaw(h, 'Predict', { modelSpec: { name: 'm' }, inputs: {} }, 300);
      assert.equal(r.error?.code, grpc.status.DEADLINE_EXCEEDED);
      for (let i = 0; i < 50 && !aborted; i++) await new Promise((res) => setTimeout(res, 20));
      assert.ok(aborted, 'the backend call was aborted');
    } finally {
      await h.close();
    }
  });
});
