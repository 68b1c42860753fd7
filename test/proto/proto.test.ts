import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import {
  ProtoDecodeError,
  decodeBundleEntry,
  decodeGraphDef,
  decodeMessage,
  decodeModuleAttachment,
  decodeModuleDef,
  decodeSavedModel,
  decodeTrackableObjectGraph,
  decodeVariableDef,
  dimsOf,
  encodeConfigProto,
  encodeGraphDef,
  encodeMessage,
  encodeSavedModel,
  shapeProto,
  tensorflow,
  tensorflow_hub,
  toBigInt,
  toLong,
  toSafeNumber,
  unpackAny,
} from '../../src/proto';
import { FIXTURES } from '../helpers/fixtures';
import { DType, baseDtype, dtypeFromTf, isRefDtype, tfDataType } from '../../src/dtypes';
import { encodeConfig } from '../../src/session_options';

// Generic codec over a generated message class (the project keeps named helpers only for what it uses).
const dec =
  <T>(type: { decode(r: Uint8Array): T; getTypeUrl(p?: string): string }, what = 'message') =>
  (b: Uint8Array, w = what): T =>
    decodeMessage(type as never, b, w) as T;
const enc =
  <P>(type: { encode(m: P): { finish(): Uint8Array } }) =>
  (m: P): Uint8Array =>
    encodeMessage(type as never, m as never);
const decodeAttrValue = dec(tensorflow.AttrValue, 'AttrValue');
const decodeNodeDef = dec(tensorflow.NodeDef, 'NodeDef');
const encodeNodeDef = enc<tensorflow.INodeDef>(tensorflow.NodeDef);
const decodeOpList = dec(tensorflow.OpList, 'OpList');
const encodeOpList = enc<tensorflow.IOpList>(tensorflow.OpList);
const decodeSavedObjectGraph = dec(tensorflow.SavedObjectGraph, 'SavedObjectGraph');
const encodeSavedObjectGraph = enc<tensorflow.ISavedObjectGraph>(tensorflow.SavedObjectGraph);
const decodeStructuredValue = dec(tensorflow.StructuredValue, 'StructuredValue');
const encodeTrackableObjectGraph = enc<tensorflow.ITrackableObjectGraph>(tensorflow.TrackableObjectGraph);
const encodeBundleEntry = enc<tensorflow.IBundleEntryProto>(tensorflow.BundleEntryProto);
const dtypeName = (v: number): DType => dtypeFromTf(v);
const isLong = (v: unknown): boolean => typeof v === 'object' && v !== null && typeof (v as { low?: unknown }).low === 'number';

const fixture = (rel: string): Buffer => readFileSync(path.join(FIXTURES, rel));
const utf8 = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('utf8');

function loadSavedModel(rel: string): tensorflow.SavedModel {
  return decodeSavedModel(fixture(rel), rel);
}

function assertInvalid(fn: () => unknown, what?: string): ProtoDecodeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ProtoDecodeError, `expected ProtoDecodeError, got ${String(caught)}`);
  assert.equal(caught.code, 'ERR_INVALID_PROTO');
  if (what !== undefined) {
    assert.equal(caught.what, what);
    assert.ok(caught.message.includes(what), caught.message);
  }
  return caught;
}

describe('proto: TF1 Hub module mlp_v1', () => {
  const sm = loadSavedModel('mlp_v1/saved_model.pb');

  test('two meta graphs, tags [] and ["train"]', () => {
    assert.equal(sm.metaGraphs.length, 2);
    assert.deepEqual(
      sm.metaGraphs.map((m) => m.metaInfoDef?.tags ?? []),
      [[], ['train']],
    );
    for (const m of sm.metaGraphs) {
      assert.match(m.metaInfoDef?.tensorflowVersion ?? '', /^2\./);
      assert.ok((m.graphDef?.node?.length ?? 0) > 0);
      assert.ok((m.graphDef?.versions?.producer ?? 0) > 0);
    }
  });

  test('signatures default and fruit_to_pet, with dtypes and shapes', () => {
    for (const m of sm.metaGraphs) {
      const sigs = m.signatureDef ?? {};
      assert.deepEqual(Object.keys(sigs).sort(), ['default', 'fruit_to_pet']);

      const def = sigs.default;
      assert.deepEqual(Object.keys(def.inputs ?? {}), ['default']);
      const x = def.inputs!.default;
      assert.equal(x.encoding, 'name');
      assert.equal(x.name, 'x:0');
      assert.equal(x.dtype, tensorflow.DataType.DT_FLOAT);
      assert.equal(dtypeName(x.dtype!), 'float32');
      assert.deepEqual(dimsOf(x.tensorShape), [-1, 50]);
      // a hostile dimension below -1 is a coded error
      assert.throws(() => dimsOf({ dim: [{ size: 2 }, { size: -7 }] }), {
        name: 'RangeError',
        code: 'ERR_INVALID_PROTO',
        message: /dim 1: -7 is not a size/,
      });
      assert.deepEqual(Object.keys(def.outputs ?? {}).sort(), ['default', 'hidden_activations']);
      assert.deepEqual(dimsOf(def.outputs!.default.tensorShape), [-1, 10]);
      assert.deepEqual(dimsOf(def.outputs!.hidden_activations.tensorShape), [-1, 64]);

      const fruit = sigs.fruit_to_pet;
      assert.deepEqual(Object.keys(fruit.inputs ?? {}).sort(), ['apples', 'oranges']);
      assert.deepEqual(Object.keys(fruit.outputs ?? {}).sort(), ['cats', 'dogs']);
      for (const info of [...Object.values(fruit.inputs!), ...Object.values(fruit.outputs!)]) {
        assert.equal(dtypeName(info.dtype!), 'float32');
        assert.deepEqual(dimsOf(info.tensorShape), [-1]);
      }
    }
  });

  test('variables collection holds VariableDefs of resource variables', () => {
    const expected = JSON.parse(fixture('mlp_v1.json').toString('utf8')).variables as string[];
    for (const m of sm.metaGraphs) {
      const coll = m.collectionDef!.variables;
      assert.equal(coll.kind, 'bytesList');
      const vars = coll.bytesList!.value!.map((b) => decodeVariableDef(b));
      assert.deepEqual(
        vars.map((v) => v.variableName),
        expected.map((n) => `${n}:0`),
      );
      for (const v of vars) {
        assert.equal(v.isResource, true);
        assert.equal(v.trainable, true);
        assert.ok(v.initializerName.length > 0);
      }
      const nodes = new Set(m.graphDef!.node!.map((n) => n.name));
      for (const v of vars) assert.ok(nodes.has(v.variableName.replace(/:0$/, '')), v.variableName);
      assert.equal(m.collectionDef!.regularization_losses.kind, 'nodeList');
    }
  });

  test('hub_module_attachments: label_info is an AttrValue with s "ten classes"', () => {
    for (const m of sm.metaGraphs) {
      const coll = m.collectionDef!.hub_module_attachments;
      assert.equal(coll.kind, 'bytesList');
      const attachments = coll.bytesList!.value!.map((b) => decodeModuleAttachment(b));
      assert.deepEqual(
        attachments.map((a) => a.key),
        ['label_info'],
      );
      const value = decodeAttrValue(attachments[0].value, 'label_info');
      assert.equal(value.value, 's');
      assert.equal(utf8(value.s), 'ten classes');
    }
  });

  test('tfhub_module.pb is FORMAT_V3', () => {
    const def = decodeModuleDef(fixture('mlp_v1/tfhub_module.pb'));
    assert.equal(def.format, tensorflow_hub.ModuleDef.Format.FORMAT_V3);
    assert.equal(def.format, 3);
    assert.deepEqual(def.requiredFeatures, []);
  });

  test('stripped op list and Const tensors decode', () => {
    const m = sm.metaGraphs[0];
    const ops = m.metaInfoDef!.strippedOpList!.op!.map((o) => o.name);
    for (const op of ['MatMul', 'VarHandleOp', 'Placeholder', 'Relu']) assert.ok(ops.includes(op), op);
    const matmul = m.metaInfoDef!.strippedOpList!.op!.find((o) => o.name === 'MatMul')!;
    assert.deepEqual(
      matmul.inputArg!.map((a) => [a.name, a.typeAttr]),
      [
        ['a', 'T'],
        ['b', 'T'],
      ],
    );
    assert.ok(matmul.attr!.some((a) => a.name === 'transpose_a' && a.type === 'bool' && a.defaultValue?.b === false));

    const shapeConst = m.graphDef!.node!.find((n) => n.name === 'dense/kernel/Initializer/random_uniform/shape')!;
    assert.equal(shapeConst.op, 'Const');
    assert.equal(shapeConst.attr!.dtype.type, tensorflow.DataType.DT_INT32);
    const t = shapeConst.attr!.value.tensor!;
    assert.deepEqual(dimsOf(t.tensorShape), [2]);
    const content = Buffer.from(t.tensorContent!);
    assert.deepEqual([content.readInt32LE(0), content.readInt32LE(4)], [50, 64]);
  });
});

describe('proto: text_embedding_v1', () => {
  test('saved_model_assets is an any_list of AssetFileDef', () => {
    const sm = loadSavedModel('text_embedding_v1/saved_model.pb');
    assert.equal(sm.metaGraphs.length, 1);
    const coll = sm.metaGraphs[0].collectionDef!.saved_model_assets;
    assert.equal(coll.kind, 'anyList');
    const assets = coll.anyList!.value!.map((a) => unpackAny(a, tensorflow.AssetFileDef, 'saved_model_assets'));
    assert.equal(assets.length, 1);
    assert.equal(assets[0].filename, 'tokens.txt');
    assert.equal(assets[0].tensorInfo?.name, 'asset_path:0');
    assert.throws(
      () => unpackAny(coll.anyList!.value![0], tensorflow.GraphDef, 'asset'),
      (e: unknown) => e instanceof ProtoDecodeError && /AssetFileDef/.test(e.message),
    );
    const def = decodeModuleDef(fixture('text_embedding_v1/tfhub_module.pb'));
    assert.equal(def.format, tensorflow_hub.ModuleDef.Format.FORMAT_V3);
  });
});

describe('proto: TF2 SavedModel tf2_mlp', () => {
  const sm = loadSavedModel('tf2_mlp/saved_model.pb');
  const m = sm.metaGraphs[0];

  test('meta graph, signatures, saver', () => {
    assert.equal(toSafeNumber(sm.savedModelSchemaVersion, 'schema version'), 1);
    assert.equal(sm.metaGraphs.length, 1);
    assert.deepEqual(m.metaInfoDef!.tags, ['serve']);
    const sigs = m.signatureDef!;
    for (const s of ['serving_default', 'logits_only']) assert.ok(s in sigs, s);
    assert.deepEqual(Object.keys(sigs.serving_default.outputs!).sort(), ['logits', 'probabilities']);
    assert.equal(m.saverDef!.version, tensorflow.SaverDef.CheckpointFormatVersion.V2);
    assert.ok((m.saverDef!.filenameTensorName ?? '').length > 0);
  });

  test('object graph: root children, variables, functions and concrete_functions', () => {
    const og = m.objectGraphDef!;
    const nodes = og.nodes!;
    const concrete = og.concreteFunctions!;
    const root = nodes[0];
    assert.equal(root.kind, 'userObject');
    const child = new Map(root.children!.map((c) => [c.localName, c.nodeId!]));
    for (const name of ['w1', 'b1', 'w2', 'b2', 'step', '__call__', 'signatures']) assert.ok(child.has(name), name);

    const w1 = nodes[child.get('w1')!];
    assert.equal(w1.kind, 'variable');
    assert.equal(dtypeName(w1.variable!.dtype!), 'float32');
    assert.deepEqual(dimsOf(w1.variable!.shape), [16, 32]);
    assert.equal(w1.variable!.trainable, true);
    const step = nodes[child.get('step')!];
    assert.equal(step.variable!.trainable, false);
    assert.deepEqual(dimsOf(step.variable!.shape), []);

    const call = nodes[child.get('__call__')!];
    assert.equal(call.kind, 'function');
    const fnNames = call.function!.concreteFunctions!;
    assert.ok(fnNames.length >= 1);
    const library = new Set(m.graphDef!.library!.function!.map((f) => f.signature!.name));
    for (const name of fnNames) {
      assert.ok(name in concrete, name);
      assert.ok(library.has(name), name);
      const cf = concrete[name];
      assert.equal(cf.canonicalizedInputSignature?.kind, 'tupleValue');
    }
    assert.ok(call.function!.functionSpec?.fullargspec);

    const sigMap = nodes[child.get('signatures')!];
    assert.equal(sigMap.userObject!.identifier, 'signature_map');
    const bare = nodes[sigMap.children!.find((c) => c.localName === 'serving_default')!.nodeId!];
    assert.equal(bare.kind, 'bareConcreteFunction');
    assert.ok(bare.bareConcreteFunction!.concreteFunctionName! in concrete);
  });

  test('SavedObjectGraph re-encodes to the same bytes', () => {
    const bytes = encodeSavedObjectGraph(m.objectGraphDef!);
    assert.deepEqual(Buffer.from(encodeSavedObjectGraph(decodeSavedObjectGraph(bytes))), Buffer.from(bytes));
  });
});

describe('proto: roundtrips', () => {
  test('constructed GraphDef encodes and decodes', () => {
    const big = 2n ** 62n + 3n;
    const graph: tensorflow.GraphDef.$Properties = {
      versions: { producer: 1234, minConsumer: 0 },
      node: [
        {
          name: 'x',
          op: 'Placeholder',
          attr: {
            dtype: { type: tensorflow.DataType.DT_FLOAT },
            shape: { shape: shapeProto([-1, 3]) },
          },
        },
        {
          name: 'c',
          op: 'Const',
          device: '/device:CPU:0',
          attr: {
            dtype: { type: tensorflow.DataType.DT_INT64 },
            value: {
              tensor: {
                dtype: tensorflow.DataType.DT_INT64,
                tensorShape: shapeProto([2]),
                int64Val: [toLong(big), -5],
              },
            },
            seeds: { list: { i: [1, toLong(-(2n ** 63n))], s: [Buffer.from('a'), Buffer.from('bc')] } },
            big: { i: toLong(big) },
            zero: { i: 0 },
            emptyString: { s: new Uint8Array(0) },
          },
        },
        { name: 'y', op: 'Mul', input: ['x', 'c', '^x'], attr: { T: { type: tensorflow.DataType.DT_FLOAT } } },
      ],
      library: {
        function: [
          {
            signature: {
              name: 'f',
              inputArg: [{ name: 'a', type: tensorflow.DataType.DT_FLOAT }],
              outputArg: [{ name: 'b', typeAttr: 'T' }],
            },
            ret: { b: 'a' },
          },
        ],
      },
    };
    const bytes = encodeGraphDef(graph);
    const g = decodeGraphDef(bytes, 'constructed');
    assert.equal(g.versions!.producer, 1234);
    assert.deepEqual(
      g.node!.map((n) => n.name),
      ['x', 'c', 'y'],
    );
    assert.deepEqual(dimsOf(g.node![0].attr!.shape.shape), [-1, 3]);
    const c = g.node![1];
    assert.equal(c.device, '/device:CPU:0');
    const t = c.attr!.value.tensor!;
    assert.deepEqual(
      t.int64Val!.map((v) => toBigInt(v)),
      [big, -5n],
    );
    assert.ok(t.int64Val!.every(isLong));
    assert.equal(toBigInt(c.attr!.big.i), big);
    assert.throws(() => toSafeNumber(c.attr!.big.i, 'attr big'), /attr big/);
    assert.deepEqual(
      c.attr!.seeds.list!.i!.map((v) => toBigInt(v)),
      [1n, -(2n ** 63n)],
    );
    assert.deepEqual(c.attr!.seeds.list!.s!.map(utf8), ['a', 'bc']);
    // oneof members that hold a default value are still present
    assert.equal(c.attr!.zero.value, 'i');
    assert.equal(toSafeNumber(c.attr!.zero.i, 'zero'), 0);
    assert.equal(c.attr!.emptyString.value, 's');
    assert.deepEqual(g.node![2].input, ['x', 'c', '^x']);
    assert.deepEqual(g.library!.function![0].ret, { b: 'a' });
    // a second pass is byte-identical
    assert.deepEqual(Buffer.from(encodeGraphDef(g)), Buffer.from(bytes));
  });

  test('fixture saved_model.pb files survive decode -> encode -> decode', () => {
    for (const rel of [
      'mlp_v1/saved_model.pb',
      'text_embedding_v1/saved_model.pb',
      'tf2_mlp/saved_model.pb',
      'tf2_my_mul/saved_model.pb',
    ]) {
      const bytes = fixture(rel);
      const first = decodeSavedModel(bytes, rel);
      const re = encodeSavedModel(first);
      assert.equal(re.length, bytes.length, rel);
      const second = decodeSavedModel(re, rel);
      assert.deepEqual(second.toJSON(), first.toJSON(), rel);
    }
  });

  test('unknown fields are kept through decode and encode', () => {
    const known = encodeNodeDef({ name: 'n', op: 'NoOp' });
    // field 99, varint 7
    const extra = Buffer.from([0x98, 0x06, 0x07]);
    const bytes = Buffer.concat([known, extra]);
    const n = decodeNodeDef(bytes);
    assert.equal(n.name, 'n');
    assert.deepEqual(Buffer.from(encodeNodeDef(n)), bytes);
  });

  test('OpList, TrackableObjectGraph and BundleEntryProto', () => {
    const ops = decodeOpList(
      encodeOpList({
        op: [
          {
            name: 'VariableV2',
            outputArg: [{ name: 'ref', typeAttr: 'dtype', isRef: true }],
            attr: [
              { name: 'shape', type: 'shape' },
              { name: 'dtype', type: 'type' },
              { name: 'N', type: 'int', hasMinimum: true, minimum: 1 },
            ],
            isStateful: true,
          },
        ],
      }),
    );
    assert.equal(ops.op![0].outputArg![0].isRef, true);
    assert.equal(ops.op![0].isStateful, true);
    assert.equal(toSafeNumber(ops.op![0].attr![2].minimum, 'minimum'), 1);

    const tog = decodeTrackableObjectGraph(
      encodeTrackableObjectGraph({
        nodes: [
          { children: [{ nodeId: 1, localName: 'v' }] },
          {
            attributes: [{ name: 'VARIABLE_VALUE', fullName: 'v', checkpointKey: 'v/.ATTRIBUTES/VARIABLE_VALUE' }],
            hasCheckpointValues: { value: true },
          },
        ],
      }),
    );
    assert.equal(tog.nodes![1].attributes![0].checkpointKey, 'v/.ATTRIBUTES/VARIABLE_VALUE');
    assert.equal(tog.nodes![1].hasCheckpointValues?.value, true);
    assert.equal(tog.nodes![0].hasCheckpointValues, null);

    const entry = decodeBundleEntry(
      encodeBundleEntry({
        dtype: tensorflow.DataType.DT_FLOAT,
        shape: shapeProto([16, 32]),
        shardId: 0,
        offset: 2048,
        size: 16 * 32 * 4,
        crc32c: 0xfedcba98,
        slices: [{ extent: [{ start: 0, length: 8 }, {}] }],
      }),
    );
    assert.equal(toSafeNumber(entry.offset, 'offset'), 2048);
    assert.equal(toSafeNumber(entry.size, 'size'), 2048);
    assert.equal(entry.crc32c, 0xfedcba98);
    assert.deepEqual(dimsOf(entry.shape), [16, 32]);
    assert.equal(entry.slices![0].extent![0].hasLength, 'length');
    assert.equal(entry.slices![0].extent![1].hasLength, undefined);
  });

  test('ConfigProto encodes with TensorFlow field numbers', () => {
    const bytes = encodeConfigProto({
      intraOpParallelismThreads: 2,
      interOpParallelismThreads: 3,
      allowSoftPlacement: true,
      gpuOptions: { allowGrowth: true, visibleDeviceList: '0' },
    });
    // field 2 varint 2, field 5 varint 3, field 6 {field 4 varint 1, field 5 "0"}, field 7 varint 1
    assert.deepEqual([...bytes], [0x10, 0x02, 0x28, 0x03, 0x32, 0x05, 0x20, 0x01, 0x2a, 0x01, 0x30, 0x38, 0x01]);
  });

  test('SessionOptions.disableThreadSpinning is ConfigProto experimental.disable_thread_spinning', () => {
    // field 16 (experimental) {field 9 varint 1}
    assert.deepEqual([...encodeConfig({ disableThreadSpinning: true })!], [0x82, 0x01, 0x02, 0x48, 0x01]);
    assert.equal(encodeConfig({}), null);
  });
});

describe('proto: malformed bytes', () => {
  test('truncated saved_model.pb -> ProtoDecodeError naming the file', () => {
    const bytes = fixture('mlp_v1/saved_model.pb');
    const err = assertInvalid(
      () => decodeSavedModel(bytes.subarray(0, Math.floor(bytes.length / 2)), 'mlp_v1/saved_model.pb'),
      'mlp_v1/saved_model.pb',
    );
    assert.equal(err.messageType, 'tensorflow.SavedModel');
    assert.ok(err.cause instanceof Error);
    for (const cut of [1, 7, 100, bytes.length - 1]) assertInvalid(() => decodeSavedModel(bytes.subarray(0, cut)));
  });

  test('hostile inputs: deep nesting, giant lengths, bad wire types, bad UTF-8', () => {
    const varint = (n: number): number[] => {
      const out: number[] = [];
      while (n > 127) {
        out.push((n & 127) | 128);
        n >>>= 7;
      }
      out.push(n);
      return out;
    };
    // StructuredValue{list_value{values{...}}} nested 2000 deep
    let sv = Buffer.alloc(0);
    for (let i = 0; i < 2000; i++) {
      const list = Buffer.concat([Buffer.from([0x0a, ...varint(sv.length)]), sv]);
      sv = Buffer.concat([Buffer.from([0x9a, 0x03, ...varint(list.length)]), list]);
    }
    assertInvalid(() => decodeStructuredValue(sv), 'StructuredValue');
    // 100k nested start-group tags in an unknown field
    assertInvalid(() => decodeGraphDef(Buffer.alloc(100_000, 0x0b)));
    // meta_graphs claiming ~2 GiB
    assertInvalid(() => decodeSavedModel(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x07])));
    assertInvalid(() => decodeSavedModel(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f])));
    // packed int64 list running past the end
    assertInvalid(() => decodeAttrValue(Buffer.from([0x0a, 0x04, 0x1a, 0x10, 0x01, 0x02])));
    // wire types 6 and 7, a lone end-group, an overlong varint
    assertInvalid(() => decodeSavedModel(Buffer.from([0x0e])));
    assertInvalid(() => decodeSavedModel(Buffer.from([0x0f])));
    assertInvalid(() => decodeSavedModel(Buffer.from([0x0c])));
    assertInvalid(() => decodeSavedModel(Buffer.alloc(20, 0xff)));
    // NodeDef.name with invalid UTF-8
    assertInvalid(() => decodeNodeDef(Buffer.from([0x0a, 0x02, 0xff, 0xfe]), 'node'), 'node');
    assert.throws(() => decodeGraphDef('nope' as unknown as Uint8Array), TypeError);
  });

  test('mutated fixtures either decode or throw ProtoDecodeError', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const sources = [fixture('mlp_v1/saved_model.pb'), fixture('tf2_mlp/saved_model.pb')];
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const buf = Buffer.from(sources[i % 2]);
      for (let k = 1 + rand(8); k > 0; k--) buf[rand(buf.length)] = rand(256);
      try {
        decodeSavedModel(buf, 'mutated');
      } catch (e) {
        assert.ok(e instanceof ProtoDecodeError, String(e));
        rejected++;
      }
    }
    assert.ok(rejected > 0);
  });

  test('a header byte mistaken for a ModuleDef gives the file name', () => {
    assertInvalid(() => decodeModuleDef(Buffer.from([0x08]), 'x/tfhub_module.pb'), 'x/tfhub_module.pb');
  });
});

describe('proto: int64 helpers', () => {
  test('toSafeNumber / toBigInt / toLong', () => {
    assert.equal(toSafeNumber(toLong(-1), 'x'), -1);
    assert.equal(toSafeNumber(toLong(Number.MAX_SAFE_INTEGER), 'x'), Number.MAX_SAFE_INTEGER);
    assert.equal(toSafeNumber(null, 'x'), 0);
    assert.equal(toSafeNumber(42n, 'x'), 42);
    assert.throws(
      () => toSafeNumber(toLong(2n ** 53n + 1n), 'dim 3 of w'),
      (e: unknown) => e instanceof RangeError && /dim 3 of w/.test(e.message),
    );
    assert.throws(() => toSafeNumber(1.5, 'half'), RangeError);
    assert.throws(() => toSafeNumber(2 ** 60, 'big'), RangeError);
    assert.equal(toBigInt(toLong(2n ** 64n - 1n, true)), 2n ** 64n - 1n);
    assert.equal(toBigInt(toLong(-(2n ** 63n))), -(2n ** 63n));
    assert.equal(toBigInt(undefined), 0n);
    assert.throws(() => toLong(2n ** 63n), RangeError);
    assert.throws(() => toLong(-1n, true), RangeError);
    assert.throws(() => toBigInt(0.5), RangeError);
  });

  test('uint64 fields decode as unsigned', () => {
    const bytes = tensorflow.ResourceHandleProto.encode({ name: 'h', hashCode: toLong(2n ** 64n - 2n, true) }).finish();
    const h = tensorflow.ResourceHandleProto.decode(bytes);
    assert.equal(toBigInt(h.hashCode), 2n ** 64n - 2n);
  });

  test('dimsOf / shapeProto', () => {
    assert.equal(dimsOf(shapeProto(null)), null);
    assert.deepEqual(dimsOf(shapeProto([])), []);
    assert.deepEqual(dimsOf(null), []);
    const roundTrip = tensorflow.TensorShapeProto.decode(tensorflow.TensorShapeProto.encode(shapeProto([-1, 0, 7])).finish());
    assert.deepEqual(dimsOf(roundTrip), [-1, 0, 7]);
    assert.throws(() => shapeProto([-2]), RangeError);
    assert.throws(() => shapeProto([1.5]), RangeError);
    assert.throws(() => dimsOf({ dim: [{ size: -3 }] }, 'w'), /w dim 0/);
  });
});

describe('proto: dtypes', () => {
  test('names and enum values', () => {
    const D = tensorflow.DataType;
    const expected: [number, string][] = [
      [D.DT_FLOAT, 'float32'],
      [D.DT_DOUBLE, 'float64'],
      [D.DT_INT32, 'int32'],
      [D.DT_UINT8, 'uint8'],
      [D.DT_INT16, 'int16'],
      [D.DT_INT8, 'int8'],
      [D.DT_STRING, 'string'],
      [D.DT_COMPLEX64, 'complex64'],
      [D.DT_INT64, 'int64'],
      [D.DT_BOOL, 'bool'],
      [D.DT_QINT8, 'qint8'],
      [D.DT_QUINT8, 'quint8'],
      [D.DT_QINT32, 'qint32'],
      [D.DT_BFLOAT16, 'bfloat16'],
      [D.DT_QINT16, 'qint16'],
      [D.DT_QUINT16, 'quint16'],
      [D.DT_UINT16, 'uint16'],
      [D.DT_COMPLEX128, 'complex128'],
      [D.DT_HALF, 'float16'],
      [D.DT_RESOURCE, 'resource'],
      [D.DT_VARIANT, 'variant'],
      [D.DT_UINT32, 'uint32'],
      [D.DT_UINT64, 'uint64'],
    ];
    expected.forEach(([v], i) => assert.equal(v, i + 1));
    // src/dtypes.ts (the one dtype table) agrees with the generated DataType enum, ref types included.
    for (const [v, name] of expected) {
      assert.equal(dtypeName(v), name);
      assert.equal(tfDataType(name as DType), v);
      assert.equal(isRefDtype(v), false);
      assert.equal(isRefDtype(v + 100), true);
      assert.equal(dtypeName(v + 100), name);
      assert.equal(baseDtype(v + 100), v);
      assert.equal((D as unknown as Record<string, number>)[`${(D as unknown as Record<number, string>)[v]}_REF`], v + 100);
    }
    assert.equal(D.DT_FLOAT_REF, 101);
    assert.equal(D.DT_UINT64_REF, 123);
    assert.throws(() => dtypeName(D.DT_INVALID), { code: 'ERR_INVALID_DTYPE' });
    assert.throws(() => dtypeName(99), { code: 'ERR_INVALID_DTYPE' });
  });
});
