// The REST API of api_rest.md through node:http + fetch: the curl examples of api_rest.md verbatim against
// half_plus_three (expected values and metadata from Python), row/columnar predict, b64, int64, status, labels.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { readJson } from '../helpers/oracle';
import { REST_FIXTURES, RestServer, SERVING_FIXTURES, call, startRest } from './rest_helpers';

const HP3 = readJson(path.join(REST_FIXTURES, 'half_plus_three.json'));
const MULTI = readJson(path.join(SERVING_FIXTURES, 'tf2_multi.json'));
const HALF = readJson(path.join(SERVING_FIXTURES, 'half_plus.json'));
const EXAMPLE = readJson(path.join(SERVING_FIXTURES, 'tf1_example.json'));
/** JSON text with every number written as a decimal (TF Serving reads `1` as int64 and `1.0` as float). */
const floatsJson = (v: unknown): string =>
  JSON.stringify(v, (_, x) => (typeof x === 'number' ? `@@${Number.isInteger(x) ? x.toFixed(1) : x}@@` : x)).replace(
    /"@@([^@]*)@@"/g,
    '$1',
  );
const callOf = (sig: string) => MULTI.calls.find((c: { signature: string }) => c.signature === sig);

describe('serving REST: api_rest.md', { timeout: 120_000 }, () => {
  let s: RestServer;
  before(async () => {
    s = await startRest({
      allowVersionLabelsForUnavailableModels: true, // labels in the initial config, as TF Serving needs it
      config: {
        modelConfigList: {
          config: [
            { name: 'saved_model_half_plus_three', basePath: path.join(REST_FIXTURES, 'half_plus_three') },
            {
              name: 'half',
              basePath: path.join(SERVING_FIXTURES, 'half_plus'),
              modelVersionPolicy: { all: {} },
              versionLabels: { stable: 1, canary: 2 },
            },
            { name: 'multi', basePath: path.join(REST_FIXTURES, 'multi_base') },
            { name: 'ex', basePath: path.join(REST_FIXTURES, 'example_base') },
          ],
        },
      },
    });
  });
  after(async () => s?.close());

  it('curl: model status', async () => {
    const r = await call(`${s.url}/v1/models/saved_model_half_plus_three`, 'GET');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      model_version_status: [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
    });
    // protobuf's JSON printer layout (one-space indent), as the example prints it
    assert.match(r.text, /^\{\n "model_version_status": \[\n {2}\{\n {3}"version": "123",/);
  });

  it('curl: predict {"instances": [1.0,2.0,5.0]} → predictions from Python', async () => {
    const r = await call(`${s.url}/v1/models/saved_model_half_plus_three:predict`, 'POST', '{"instances": [1.0,2.0,5.0]}');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: HP3.predict.predictions });
    assert.match(r.text, /"predictions": \[3\.5, 4\.0, 5\.5/);
  });

  it('curl: regress on the tensorflow/serving/regress signature', async () => {
    const body = JSON.stringify({ signature_name: 'tensorflow/serving/regress', examples: HP3.regress.examples })
      .replace(/"x":1/g, '"x":1.0')
      .replace(/"x":2/g, '"x":2.0');
    const r = await call(`${s.url}/v1/models/saved_model_half_plus_three:regress`, 'POST', body);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { results: HP3.regress.results });
  });

  it("curl: an unknown model is 404 with TF Serving's message", async () => {
    const r = await call(`${s.url}/v1/models/half_nope:predict`, 'POST', '{"instances": [1.0,5.0]}');
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { error: 'Servable not found for request: Latest(half_nope)' });
  });

  it('metadata equals the signature defs as protobuf prints them (Python json_format)', async () => {
    const r = await call(`${s.url}/v1/models/saved_model_half_plus_three/metadata`, 'GET');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.model_spec, { name: 'saved_model_half_plus_three', signature_name: '', version: '123' });
    assert.deepEqual(r.json.metadata.signature_def.signature_def, HP3.signature_def);
    const v = await call(`${s.url}/v1/models/saved_model_half_plus_three/versions/123/metadata`, 'GET');
    assert.deepEqual(v.json, r.json);
  });

  it('columnar inputs give outputs; versions and labels pick the version (half_plus: 0.5x+2 / 0.5x+3)', async () => {
    const x = HALF.versions['1'].inputs.x.values;
    for (const [where, v] of [
      ['/versions/1', '1'],
      ['/versions/2', '2'],
      ['/labels/stable', '1'],
      ['/labels/canary', '2'],
      ['', '2'],
    ]) {
      const r = await call(`${s.url}/v1/models/half${where}:predict`, 'POST', JSON.stringify({ inputs: { x } }));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { outputs: HALF.versions[v].outputs.y.values }, where);
    }
    const st = await call(`${s.url}/v1/models/half`, 'GET');
    assert.deepEqual(
      st.json.model_version_status.map((m: { version: string }) => m.version),
      ['2', '1'],
    );
    const lab = await call(`${s.url}/v1/models/half/labels/canary`, 'GET');
    assert.equal(lab.json.model_version_status[0].version, '2');
  });

  it('multi-input row format, multi-output predictions as objects (tf2_multi multi_output)', async () => {
    const c = callOf('multi_output');
    const x = c.inputs.x.values;
    const rows = [
      [x[0], x[1]],
      [x[2], x[3]],
      [x[4], x[5]],
    ];
    const r = await call(
      `${s.url}/v1/models/multi:predict`,
      'POST',
      JSON.stringify({ signature_name: 'multi_output', instances: rows.map((row) => ({ x: row })) }),
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.predictions,
      [0, 1, 2].map((i) => ({ argmax: c.outputs.argmax.values[i], prod: c.outputs.prod.values[i], sum: c.outputs.sum.values[i] })),
    );
    const col = await call(`${s.url}/v1/models/multi:predict`, 'POST', JSON.stringify({ signature_name: 'multi_output', inputs: rows }));
    assert.deepEqual(col.json.outputs, { argmax: c.outputs.argmax.values, prod: c.outputs.prod.values, sum: c.outputs.sum.values });
  });

  it('int64 beyond 2^53 goes in and comes out exact', async () => {
    const c = callOf('int64_ops');
    const body = `{"signature_name": "int64_ops", "inputs": {"a": [${c.inputs.a.values.join(', ')}], "b": ${c.inputs.b.values[0]}}}`;
    const r = await call(`${s.url}/v1/models/multi:predict`, 'POST', body);
    assert.equal(r.status, 200, r.text);
    const sum = /"sum": \[([^\]]*)\]/.exec(r.text)![1].split(', ');
    assert.deepEqual(sum, c.outputs.sum.values.map(String));
    assert.match(r.text, new RegExp(`"total": ${c.outputs.total.values[0]}\\b`));
    // an int64 input written as a decimal is a type error, as in TF Serving
    const bad = await call(`${s.url}/v1/models/multi:predict`, 'POST', '{"signature_name": "int64_ops", "inputs": {"a": [1.0], "b": 1}}');
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /is not of expected type: int64/);
  });

  it('{"b64": …} strings in; string outputs out', async () => {
    const c = callOf('strings');
    const r = await call(
      `${s.url}/v1/models/multi:predict`,
      'POST',
      JSON.stringify({ signature_name: 'strings', inputs: { s: c.inputs.s.b64.slice(0, 2).map((b: string) => ({ b64: b })) } }),
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.outputs.length, c.outputs.length.values.slice(0, 2));
    assert.deepEqual(
      r.json.outputs.upper,
      c.outputs.upper.b64.slice(0, 2).map((b: string) => Buffer.from(b, 'base64').toString('utf8')),
    );
  });

  it("status of unknown versions and models: TF Serving's 404 messages", async () => {
    let r = await call(`${s.url}/v1/models/half/versions/9`, 'GET');
    assert.deepEqual([r.status, r.json], [404, { error: 'Could not find version 9 of model half' }]);
    r = await call(`${s.url}/v1/models/nope`, 'GET');
    assert.deepEqual([r.status, r.json], [404, { error: 'Could not find any versions of model nope' }]);
    r = await call(`${s.url}/v1/models/half/versions/9:predict`, 'POST', '{"instances": [1.0]}');
    assert.deepEqual([r.status, r.json], [404, { error: 'Servable not found for request: Specific(half, 9)' }]);
    r = await call(`${s.url}/v1/models/half/labels/nope:predict`, 'POST', '{"instances": [1.0]}');
    assert.deepEqual([r.status, r.json], [400, { error: 'Unrecognized servable version label: nope' }]);
  });

  it('classify and regress on tf.Example JSON (tf1_example, scores and values from Python)', async () => {
    const c = await call(
      `${s.url}/v1/models/ex:classify`,
      'POST',
      `{"signature_name": "classify", "examples": ${floatsJson(EXAMPLE.examples_json)}}`,
    );
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json.results.length, 3);
    c.json.results.forEach((row: Array<[string, number]>, i: number) => {
      assert.deepEqual(
        row.map((p) => p[0]),
        EXAMPLE.classify.labels,
      );
      row.forEach((p, j) => assert.equal(Math.fround(p[1]), Math.fround(EXAMPLE.classify.scores[i][j])));
    });
    const r = await call(
      `${s.url}/v1/models/ex:regress`,
      'POST',
      `{"signature_name": "regress", "examples": ${floatsJson(EXAMPLE.examples_json)}}`,
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.results.map(Math.fround), EXAMPLE.regress.values.map(Math.fround));
    // context: features shared by every example
    const ctx = await call(
      `${s.url}/v1/models/ex:regress`,
      'POST',
      `{"signature_name": "regress", "context": {"scale": 2.0}, "examples": [{"x": [-3.0, 0.5]}]}`,
    );
    assert.deepEqual(ctx.json, { results: [EXAMPLE.regress.values[1]] });
    // a predict signature is not of a regression signature's form (input 'inputs', output 'outputs'); its
    // method_name is checked only with --enable_signature_method_name_check, as in TF Serving
    const bad = await call(`${s.url}/v1/models/ex:regress`, 'POST', '{"signature_name": "predict", "examples": [{"x": [1.0, 2.0]}]}');
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /^No regression inputs found in SignatureDef: inputs \{\n {2}key: "x"\n {2}value \{\n {4}name: "x:0"\n/);
    const none = await call(`${s.url}/v1/models/ex:regress`, 'POST', '{"signature_name": "nope", "examples": [{"x": [1.0, 2.0]}]}');
    assert.deepEqual([none.status, none.json], [400, { error: 'No signature was found with the name: nope' }]);
  });
});
