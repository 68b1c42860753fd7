import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeMessage, messageType } from '../../src/serving/proto';
import { parseBatchingParametersText, parseMonitoringConfigText, parseTextProto } from '../../src/serving/text_proto';
import { SERVING_FIXTURES } from './helpers';

const codec = JSON.parse(fs.readFileSync(path.join(SERVING_FIXTURES, 'codec.json'), 'utf8'));

function expectError(fn: () => unknown, where: string, re: RegExp): void {
  assert.throws(fn, (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_TEXT_FORMAT');
    assert.ok(e.message.startsWith(where), `${e.message} should start with ${where}`);
    assert.match(e.message, re);
    return true;
  });
}

describe('serving text-format protos against the schema', () => {
  for (const c of codec.text_protos as Array<{ type: string; text: string; serialized_b64: string }>) {
    test(`${c.type}: the bytes Python's text_format.Parse gives`, () => {
      const obj = parseTextProto(c.type, c.text, 'f.txt');
      assert.equal(Buffer.from(encodeMessage(messageType(c.type), obj)).toString('base64'), c.serialized_b64);
    });
  }

  test('BatchingParameters and MonitoringConfig readers', () => {
    assert.deepEqual(parseBatchingParametersText('max_batch_size { value: 4 } allowed_batch_sizes: [2, 4]'), {
      maxBatchSize: { value: 4 },
      allowedBatchSizes: [2, 4],
    });
    assert.deepEqual(parseMonitoringConfigText('prometheus_config { enable: true }'), { prometheusConfig: { enable: true } });
  });

  test('errors name file:line:column, as TextFormat::Parser refuses them', () => {
    const B = (t: string) => () => parseBatchingParametersText(t, 'b.txt');
    expectError(B('max_batch_size { value: 4 }\nmax_batch_sise { value: 4 }'), 'b.txt:2:1', /has no field named "max_batch_sise"/);
    expectError(
      B('max_batch_size { value: 4 }\nmax_batch_size { value: 5 }'),
      'b.txt:2:1',
      /Non-repeated field "max_batch_size" is specified multiple times/,
    );
    expectError(B('max_batch_size { value: "x" }'), 'b.txt:1:25', /Expected integer/);
    expectError(B('max_batch_size { value: 9223372036854775808 }'), 'b.txt:1:25', /out of range/);
    expectError(B('max_batch_size: 4'), 'b.txt:1:', /Expected "\{"/);
    expectError(B('pad_variable_length_inputs: maybe'), 'b.txt:1:', /boolean/);
    expectError(B('max_batch_size { value: 1.5 }'), 'b.txt:1:25', /Expected integer, got: 1.5/);
    expectError(B('maxBatchSize { value: 1 }'), 'b.txt:1:1', /no field named "maxBatchSize"/);
    expectError(
      () => parseTextProto('tensorflow.serving.ModelServerConfig', 'model_config_list {}\ncustom_model_config {}', 'c.txt'),
      'c.txt:2:1',
      /Any|oneof/,
    );
    expectError(
      () => parseTextProto('tensorflow.serving.ModelServerConfig', 'model_config_list { config { model_type: NOPE } }', 'c.txt'),
      'c.txt:1:',
      /Unknown enumeration value of "NOPE"/,
    );
    expectError(
      () =>
        parseTextProto(
          'tensorflow.serving.ModelServerConfig',
          'model_config_list { config { model_version_policy { latest {} all {} } } }',
          'c.txt',
        ),
      'c.txt:1:',
      /another member of oneof "policy_choice"/,
    );
    expectError(
      () =>
        parseTextProto(
          'tensorflow.serving.ModelServerConfig',
          'model_config_list { config { version_labels { key: "a" val: 1 } } }',
          'c.txt',
        ),
      'c.txt:1:',
      /ModelConfig.VersionLabelsEntry" has no field named "val"/,
    );
  });
});
