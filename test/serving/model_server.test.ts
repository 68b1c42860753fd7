// The embedding API: `import { serving } from 'tfhub-node'`, predict with plain values or Tensors, classify and
// regress on serialized tf.Examples, metadata, status, errors as TF error classes; the ModelServerConfig text
// format read into the config object.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Tensor, serving } from '../../src';
import { readJson } from '../helpers/oracle';
import { REST_FIXTURES, SERVING_FIXTURES } from './rest_helpers';
import { configFromMessage } from '../../src/serving/config';
import { messageType } from '../../src/serving/proto';
import { parseTextProto } from '../../src/serving/text_proto';

const EXAMPLE = readJson(path.join(SERVING_FIXTURES, 'tf1_example.json'));
const MULTI = readJson(path.join(SERVING_FIXTURES, 'tf2_multi.json'));

describe('serving.ModelServer (embedded)', { timeout: 120_000 }, () => {
  let server: serving.ModelServer;
  const logs: string[] = [];
  before(async () => {
    server = new serving.ModelServer({
      config: serving.parseModelServerConfig(
        `
        model_config_list {
          config { name: "ex" base_path: "${path.join(REST_FIXTURES, 'example_base')}" }
          config { name: "multi" base_path: "${path.join(REST_FIXTURES, 'multi_base')}" model_platform: "tensorflow" }
        }`,
        'inline.config',
      ),
      fileSystemPollWaitSeconds: 0,
      log: (l) => logs.push(l),
    });
    await server.start();
  });
  after(async () => server?.close());

  it('predict: plain JS values or Tensors in, Tensors out; by name or by ModelSpec', async () => {
    const c = EXAMPLE.predict;
    const plain = await server.predict(
      'ex',
      {
        x: [
          [1, 2],
          [-3, 0.5],
          [0, 0],
        ],
      },
      { signatureName: 'predict' },
    );
    assert.deepEqual(plain.modelSpec, { name: 'ex', version: 1, signatureName: 'predict' });
    assert.deepEqual(Array.from(plain.outputs.y.data() as Float32Array), c.outputs.y.values);
    const t = await server.predict(
      { name: 'ex', version: 1n, signatureName: 'predict' },
      { x: new Tensor('float32', [3, 2], c.inputs.x.values) },
    );
    assert.deepEqual(t.outputs.y.shape, c.outputs.y.shape);
    const call = MULTI.calls.find((k: { signature: string }) => k.signature === 'multi_output');
    const filtered = await server.predict(
      'multi',
      {
        x: [
          [1, 2],
          [3, -4],
          [0.5, 0.25],
        ],
      },
      { signatureName: 'multi_output', outputFilter: ['sum'] },
    );
    assert.deepEqual(Object.keys(filtered.outputs), ['sum']);
    assert.deepEqual(Array.from(filtered.outputs.sum.data() as Float32Array), call.outputs.sum.values);
  });

  it('--enable_signature_method_name_check: Classify/Regress/Predict refuse a signature of another method, with TF Serving messages', async () => {
    const checked = new serving.ModelServer({
      modelName: 'ex',
      modelBasePath: path.join(REST_FIXTURES, 'example_base'),
      fileSystemPollWaitSeconds: 0,
      enableSignatureMethodNameCheck: true,
    });
    await checked.start();
    try {
      const examples = EXAMPLE.serialized_b64.map((b: string) => new Uint8Array(Buffer.from(b, 'base64')));
      await assert.rejects(checked.regress({ name: 'ex', signatureName: 'classify' }, examples), {
        code: 'INVALID_ARGUMENT',
        message: 'Expected regression signature method_name to be tensorflow/serving/regress. Was: tensorflow/serving/classify',
      });
      await assert.rejects(checked.classify({ name: 'ex', signatureName: 'regress' }, examples), {
        code: 'INVALID_ARGUMENT',
        message: 'Expected classification signature method_name to be tensorflow/serving/classify. Was: tensorflow/serving/regress',
      });
      assert.equal((await checked.regress({ name: 'ex', signatureName: 'regress' }, examples)).values.length, examples.length);
    } finally {
      await checked.close();
    }
  });

  it('classify / regress on serialized tf.Examples written by Python', async () => {
    const examples = EXAMPLE.serialized_b64.map((b: string) => new Uint8Array(Buffer.from(b, 'base64')));
    const cls = await server.classify({ name: 'ex', signatureName: 'classify' }, examples);
    assert.deepEqual(
      cls.classifications.map((r) => r.map((p) => p.label)),
      EXAMPLE.classify.labels.map(() => EXAMPLE.classify.labels).slice(0, 3),
    );
    cls.classifications.forEach((row, i) => row.forEach((p, j) => assert.equal(p.score, Math.fround(EXAMPLE.classify.scores[i][j]))));
    const reg = await server.regress({ name: 'ex', signatureName: 'regress' }, examples);
    assert.deepEqual(reg.values, EXAMPLE.regress.values.map(Math.fround));
    // TF Serving checks a signature's form, and its method_name only with --enable_signature_method_name_check
    await assert.rejects(server.regress({ name: 'ex', signatureName: 'classify' }, examples), {
      code: 'INVALID_ARGUMENT',
      message: 'Expected one output Tensor.',
    });
    await assert.rejects(server.classify({ name: 'ex', signatureName: 'classify' }, []), {
      code: 'INVALID_ARGUMENT',
      message: 'Input is empty.',
    });
  });

  it("errors are TF error classes with TF Serving's messages", async () => {
    await assert.rejects(server.predict('nope', { x: [1] }), {
      name: 'NotFoundError',
      code: 'NOT_FOUND',
      message: 'Servable not found for request: Latest(nope)',
    });
    await assert.rejects(server.predict('ex', { x: [[1, 2]] }, { signatureName: 'nope' }), {
      code: 'FAILED_PRECONDITION',
      message: 'Serving signature key "nope" not found.',
    });
    await assert.rejects(server.predict('ex', { x: [[1, 2]], z: [1] }, { signatureName: 'predict' }), {
      code: 'INVALID_ARGUMENT',
      message:
        /input size does not match signature: 2!=1 len\(\{x,z\}\) != len\(\{x\}\)\. Sent extra: \{z\}\. Missing but required: \{\}\./,
    });
    await assert.rejects(server.predict('ex', { x: [[1, 2, 3]] }, { signatureName: 'predict' }), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(server.predict('ex', { x: [['a', 'b']] }, { signatureName: 'predict' }), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(server.predict('ex', { x: [[1, 2]] }, { signatureName: 'predict', outputFilter: ['q'] }), {
      code: 'INVALID_ARGUMENT',
      message: /output tensor alias not found in signature: q/,
    });
    await assert.rejects(server.predict('ex', { x: [[1, 2]] }, { version: 1, versionLabel: 'a' }), {
      code: 'INVALID_ARGUMENT',
      message: /cannot be supplied/,
    });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(server.predict('ex', { x: [[1, 2]] }, { signatureName: 'predict', signal: ac.signal }), { code: 'CANCELLED' });
    assert.throws(
      () =>
        new serving.ModelServer({
          config: {
            modelConfigList: {
              config: [
                { name: 'a', basePath: '/x' },
                { name: 'a', basePath: '/y' },
              ],
            },
          },
        }),
      { code: 'INVALID_ARGUMENT' },
    );
  });

  it('metadata and status', async () => {
    const md = await server.getModelMetadata({ name: 'ex' });
    assert.deepEqual(Object.keys(md.signatureDefs).sort(), ['classify', 'predict', 'regress', 'serving_default']);
    assert.equal(md.signatureDefs.classify.methodName, 'tensorflow/serving/classify');
    assert.deepEqual(server.status('multi'), [{ version: 5, state: 'AVAILABLE', status: { errorCode: 'OK', errorMessage: '' } }]);
    assert.equal(logs.filter((l) => l.startsWith('Successfully loaded servable version')).length, 2);
  });

  it('ModelServerConfig text format: labels, policies, comments, both message syntaxes', () => {
    const c = serving.parseModelServerConfig(`# comment
      model_config_list: {
        config: < name: 'a' base_path: "/m/a" model_version_policy: { all: {} } >
        config { name: "b", base_path: "/m/b"; model_version_policy { specific { versions: 1 versions: [2, 3] } }
                 version_labels { key: "stable" value: 2 } version_labels { key: 'canary' value: 3 } }
        config { name: "c" base_path: "/m/c" model_version_policy { latest { num_versions: 2 } } }
      }`);
    assert.deepEqual(c, {
      modelConfigList: {
        config: [
          { name: 'a', basePath: '/m/a', modelVersionPolicy: { all: {} } },
          {
            name: 'b',
            basePath: '/m/b',
            modelVersionPolicy: { specific: { versions: [1, 2, 3] } },
            versionLabels: { stable: 2, canary: 3 },
          },
          { name: 'c', basePath: '/m/c', modelVersionPolicy: { latest: { numVersions: 2 } } },
        ],
      },
    });
    assert.throws(() => serving.parseModelServerConfig('model_config_list { config { name: "a" } config { name: "b" }', 'f.config'), {
      code: 'ERR_TEXT_FORMAT',
      message: /^f\.config:1:\d+: /,
    });
    assert.throws(
      () => serving.parseModelServerConfig('model_config_list { config { model_version_policy { all {} latest {} } } }'),
      /another member of oneof "policy_choice"/,
    );
  });

  it('ModelServerConfig: the text file and the gRPC message (wire bytes) give the same object', () => {
    const text = `model_config_list {
      config { name: "a" base_path: "/m/a" model_type: TENSORFLOW model_version_policy { latest { num_versions: 2 } } }
      config { name: "b" base_path: "/m/b" model_version_policy { specific { versions: [4, 9007199254740991] } } version_labels { key: "x" value: 4 } }
    }`;
    const expected = {
      modelConfigList: {
        config: [
          { name: 'a', basePath: '/m/a', modelPlatform: 'tensorflow', modelVersionPolicy: { latest: { numVersions: 2 } } },
          { name: 'b', basePath: '/m/b', modelVersionPolicy: { specific: { versions: [4, 9007199254740991] } }, versionLabels: { x: 4 } },
        ],
      },
    };
    assert.deepEqual(serving.parseModelServerConfig(text), expected);
    const type = messageType('tensorflow.serving.ModelServerConfig');
    const wire = type.encode(type.fromObject(parseTextProto('tensorflow.serving.ModelServerConfig', text))).finish();
    assert.deepEqual(configFromMessage(type.decode(wire) as never), expected);
    const big = type.fromObject({ modelConfigList: { config: [{ name: 'c', basePath: '/c', versionLabels: { y: '9007199254740993' } }] } });
    assert.throws(() => configFromMessage(type.decode(type.encode(big).finish()) as never), {
      code: 'INVALID_ARGUMENT',
      message: /version label y: 9007199254740993 is out of range/,
    });
  });
});
