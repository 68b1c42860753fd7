import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../src';
import { tensorFromProto, tensorToProto } from '../../src/serving/codec/tensor_proto';
import {
  exampleToJson,
  serializeExampleJson,
  serializedExamplesFromInput,
  serializedExamplesFromJson,
} from '../../src/serving/codec/example';
import { JsonDecimal, parseJson } from '../../src/serving/rest/json';
import { decodeMessage, encodeMessage, servingTypes } from '../../src/serving/proto';
import { FixtureTensor, SERVING_FIXTURES, assertTensorEquals, fixtureTensor } from './helpers';

const codecText = fs.readFileSync(path.join(SERVING_FIXTURES, 'codec.json'), 'utf8');
const codec = JSON.parse(codecText);
// The same file read losslessly: Python wrote floats with a fraction (3.0) and int64s without.
const codecLossless = parseJson(codecText) as { examples: Array<{ json: unknown }> };
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const T = () => servingTypes().TensorProto;

function decodeTensor(bytes: Uint8Array) {
  return decodeMessage(T(), bytes, 'TensorProto') as never;
}

function expectInvalid(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && re.test(e.message));
}

describe('serving codec: TensorProto', () => {
  for (const c of codec.tensor_protos as Array<{ name: string; proto_b64: string; expected: FixtureTensor }>) {
    test(`Python's ${c.name} decodes to the same values`, () => {
      const t = tensorFromProto(decodeTensor(b64(c.proto_b64)), c.name);
      assertTensorEquals(t, c.expected, c.name);
    });
  }

  test('round trip through both encodings, the bytes re-read by protobuf', () => {
    for (const c of codec.tensor_protos as Array<{ name: string; expected: FixtureTensor }>) {
      const t = fixtureTensor(c.expected);
      for (const content of [false, true]) {
        const bytes = encodeMessage(T(), tensorToProto(t, { content }));
        assertTensorEquals(tensorFromProto(decodeTensor(bytes)), c.expected, `${c.name} content=${content}`);
      }
    }
  });

  test('typed fields are what TF Serving answers with (AsProtoField)', () => {
    const p = tensorToProto(new Tensor('int64', [2], [2n ** 62n + 1n, -1n]));
    assert.equal(p.dtype, 9);
    assert.deepEqual(p.int64Val!.map(String), [String(2n ** 62n + 1n), '-1']);
    assert.deepEqual(tensorToProto(new Tensor('float16', [1], [1.5])).halfVal, [0x3e00]);
    assert.deepEqual(tensorToProto(new Tensor('bool', [2], [true, false])).boolVal, [true, false]);
    assert.deepEqual(tensorToProto(new Tensor('uint8', [2], [1, 255])).intVal, [1, 255]);
  });

  test('hostile protos are INVALID_ARGUMENT, refused before allocation', () => {
    const shape = (...d: Array<number | string>) => ({ dim: d.map((size) => ({ size })) });
    expectInvalid(() => tensorFromProto({ dtype: 1, tensorShape: shape(2 ** 20, 2 ** 20), floatVal: [1] }), /over the limit/);
    expectInvalid(() => tensorFromProto({ dtype: 7, tensorShape: shape(2 ** 40), stringVal: [Buffer.from('x')] }), /over the limit/);
    expectInvalid(
      () => tensorFromProto({ dtype: 1, tensorShape: shape('9223372036854775807', '9223372036854775807'), floatVal: [] }),
      /too many elements|too large/,
    );
    expectInvalid(
      () => tensorFromProto({ dtype: 1, tensorShape: shape(3), tensorContent: new Uint8Array(8) }),
      /tensor_content has 8 bytes.*needs 12/,
    );
    expectInvalid(() => tensorFromProto({ dtype: 1, tensorShape: shape(2), floatVal: [1, 2, 3] }), /3 values given/);
    expectInvalid(() => tensorFromProto({ dtype: 1, tensorShape: shape(-1), floatVal: [] }), /sizes >= 0/);
    expectInvalid(() => tensorFromProto({ dtype: 1, tensorShape: { unknownRank: true } }), /unknown rank/);
    for (const dtype of [0, 20, 21, 24, 101, 999, undefined])
      expectInvalid(() => tensorFromProto({ dtype, floatVal: [1] }), /DataType|cannot receive/);
    expectInvalid(() => tensorFromProto({ dtype: 4, tensorShape: shape(1), intVal: [256] }), /out of range for uint8/);
    expectInvalid(() => tensorFromProto({ dtype: 10, tensorShape: shape(1), tensorContent: Uint8Array.of(2) }), /bool/);
    expectInvalid(() => tensorFromProto({ dtype: 8, tensorShape: shape(1), scomplexVal: [1] }), /pairs/);
    expectInvalid(() => tensorFromProto({ dtype: 19, tensorShape: shape(1), halfVal: [70000] }), /16 bits/);
    expectInvalid(() => tensorFromProto({ dtype: 1, tensorShape: { dim: new Array(300).fill({ size: 1 }) } }), /rank 300/);
    expectInvalid(() => tensorFromProto({ dtype: 7, tensorShape: shape(1), tensorContent: Uint8Array.of(1) }), /tensor_content/);
  });

  test('no values fill with zeros; fewer repeat the last (TensorFlow)', () => {
    assert.deepEqual(Array.from(tensorFromProto({ dtype: 3, tensorShape: { dim: [{ size: 3 }] } }).data() as Int32Array), [0, 0, 0]);
    assert.deepEqual(
      Array.from(tensorFromProto({ dtype: 3, tensorShape: { dim: [{ size: 3 }] }, intVal: [4, 5] }).data() as Int32Array),
      [4, 5, 5],
    );
    assert.deepEqual(tensorFromProto({ dtype: 7, tensorShape: { dim: [{ size: 2 }] }, stringVal: [Buffer.from('a')] }).strings(), [
      'a',
      'a',
    ]);
  });
});

describe('serving codec: tf.Example', () => {
  (codec.examples as Array<{ name: string; serialized_b64: string }>).forEach((c, i) => {
    test(`api_rest.md JSON '${c.name}' serializes to Python's bytes`, () => {
      assert.deepEqual(Buffer.from(serializeExampleJson(codecLossless.examples[i].json)), b64(c.serialized_b64));
    });
  });

  test('the mixed example: int64 beyond 2^53 exact, bytes as b64, floats kept float', () => {
    const body = '{"age": [25, -3, 4611686018427387905], "score": [0.5, -1.25], "name": [{"b64": "YW5u"}, "zoë", {"b64": "/wA="}]}';
    const mixed = (codec.examples as Array<{ name: string; serialized_b64: string }>).find((e) => e.name === 'mixed')!;
    assert.deepEqual(Buffer.from(serializeExampleJson(parseJson(body))), b64(mixed.serialized_b64));
    const back = exampleToJson(b64(mixed.serialized_b64));
    assert.deepEqual(back, { age: [25, -3, 4611686018427387905n], name: ['ann', 'zoë', { b64: '/wA=' }], score: [0.5, -1.25] });
    assert.deepEqual(Buffer.from(serializeExampleJson(back)), b64(mixed.serialized_b64));
    assert.deepEqual(exampleToJson(serializeExampleJson(parseJson('{"x": 3.0}'))), { x: [new JsonDecimal(3)] });
  });

  test('1.0 is a float and 1 an int64, as RapidJSON reads them', () => {
    const f = decodeMessage<any>(servingTypes().Example, serializeExampleJson(parseJson('{"a": 1.0, "b": 1, "c": 1e2, "d": true}')), 'x'); // eslint-disable-line @typescript-eslint/no-explicit-any
    const feat = f.features.feature;
    assert.deepEqual(feat.a.floatList.value, [1]);
    assert.deepEqual(feat.b.int64List.value.map(String), ['1']);
    assert.deepEqual(feat.c.floatList.value, [100]);
    assert.deepEqual(feat.d.int64List.value.map(String), ['1']);
  });

  test("TF Serving's errors for bad examples", () => {
    expectInvalid(() => serializeExampleJson(parseJson('{"a": [1, "x"]}')), /Unexpected element type in feature: a expecting type: int64/);
    expectInvalid(() => serializeExampleJson(parseJson('{"a": null}')), /unexpected JSON type: null/);
    expectInvalid(() => serializeExampleJson(parseJson('{"a": [[1]]}')), /unexpected JSON type: array/);
    expectInvalid(() => serializeExampleJson(parseJson('{"a": 18446744073709551615}')), /uint64_t element/);
    expectInvalid(() => serializeExampleJson(parseJson('{"a": {"b64": "!!"}}')), /base64/);
    expectInvalid(() => serializeExampleJson(parseJson('[1]')), /Example must be JSON object but got JSON array/);
    expectInvalid(() => serializedExamplesFromJson(undefined), /'examples' is expected/);
    expectInvalid(() => serializedExamplesFromJson([]), /empty array/);
    expectInvalid(() => serializedExamplesFromJson({}), /list\/array/);
  });

  test('context is merged as TF Serving does (context bytes + example bytes)', () => {
    const { examples } = codec;
    const byName = (n: string) => (examples as Array<{ name: string; json: unknown }>).find((e) => e.name === n)!.json;
    const ctxText = '{"lang": {"b64": "ZW4="}, "x": 9.0}';
    const oneText = '{"x": 3.0}';
    const got = serializedExamplesFromJson([parseJson(oneText)], parseJson(ctxText));
    assert.deepEqual(Buffer.from(got[0]), b64(codec.input_with_context.fed_b64[0]));
    assert.ok(byName('context'));
  });

  test('Input protos: example_list and example_list_with_context give the bytes TF Serving feeds', () => {
    const fed = serializedExamplesFromInput(b64(codec.input_with_context.proto_b64));
    assert.deepEqual(
      fed.map((b) => Buffer.from(b).toString('base64')),
      codec.input_with_context.fed_b64,
    );
    // what the model sees: the merged example (the example's own features win)
    fed.forEach((b, i) => {
      const m = decodeMessage(servingTypes().Example, b, 'merged');
      const want = decodeMessage(servingTypes().Example, b64(codec.input_with_context.merged_b64[i]), 'want');
      assert.deepEqual(
        servingTypes().Example.toObject(m as never, { bytes: String }),
        servingTypes().Example.toObject(want as never, { bytes: String }),
      );
    });
    const list = serializedExamplesFromInput(b64(codec.input_list.proto_b64));
    assert.deepEqual(
      list.map((b) => Buffer.from(b).toString('base64')),
      codec.input_list.fed_b64,
    );
  });

  test('hostile Input bytes: empty, truncated, garbage', () => {
    expectInvalid(() => serializedExamplesFromInput(new Uint8Array(0)), /Input is empty/);
    const good = b64(codec.input_list.proto_b64);
    expectInvalid(() => serializedExamplesFromInput(good.subarray(0, good.length - 3)), /malformed|empty/);
    expectInvalid(() => serializedExamplesFromInput(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f)), /malformed/);
    expectInvalid(() => serializedExamplesFromInput(Uint8Array.of(0x07)), /malformed/);
  });
});
