// Predict's input rules as TF Serving has them (predict_util.cc and saved_model's GetInputValues), on TF Serving's
// saved_model_half_plus_two_cpu (y = 0.5 x + 2, x declared (-1, 1)): inputs of any shape are fed as given, signature
// defaults fill missing inputs, wrong names get TF Serving's messages; and the `hub.load` option behind it
// (`strictSignatures`), which keeps Python's checks by default.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hub, Tensor } from '../../src';
import { decodeSavedModel, encodeSavedModel } from '../../src/proto';
import { ModelServer } from '../../src/serving/model_server';
import { ROOT, tempDir } from './rest_helpers';

const HALF_PLUS_TWO = path.join(ROOT, 'test', 'published', 'serving_half_plus_two_cpu');

describe('serving Predict inputs (TF Serving rules)', { timeout: 120_000 }, () => {
  let tmp: { dir: string; remove(): void };
  let server: ModelServer;

  before(async () => {
    tmp = tempDir('tfhub-predict-inputs-');
    // version 1: the model as published; its serving_default also gets a default for x (TensorProto [[2.0]])
    const v1 = path.join(tmp.dir, 'half', '1');
    fs.cpSync(HALF_PLUS_TWO, v1, { recursive: true });
    const sm = decodeSavedModel(fs.readFileSync(path.join(v1, 'saved_model.pb')));
    const defaults = { x: { dtype: 1, tensorShape: { dim: [{ size: 1 }, { size: 1 }] }, floatVal: [2] } };
    Object.assign(sm.metaGraphs[0].signatureDef!.serving_default, { defaults });
    fs.writeFileSync(path.join(v1, 'saved_model.pb'), encodeSavedModel(sm));
    server = new ModelServer({ modelName: 'half', modelBasePath: path.join(tmp.dir, 'half'), fileSystemPollWaitSeconds: 0 });
    await server.start();
  });
  after(async () => {
    await server?.close();
    tmp?.remove();
  });

  it('a shape the signature does not declare is fed as given (the graph decides)', async () => {
    for (const [shape, values] of [
      [[3], [2, 3, 4]],
      [[], [2]],
      [
        [1, 1, 2],
        [2, 4],
      ],
    ] as Array<[number[], number[]]>) {
      const { outputs } = await server.predict('half', { x: new Tensor('float32', shape, values) });
      assert.deepEqual(outputs.y.shape, shape);
      assert.deepEqual(
        Array.from(outputs.y.data() as Float32Array),
        values.map((v) => v / 2 + 2),
      );
    }
  });

  it('a missing input takes the signature default; unknown names and too many inputs get TF Serving messages', async () => {
    const { outputs } = await server.predict('half', {});
    assert.deepEqual([outputs.y.shape, Array.from(outputs.y.data() as Float32Array)], [[1, 1], [3]]);
    const x = new Tensor('float32', [1], [1]);
    await assert.rejects(server.predict('half', { z: x }), {
      code: 'INVALID_ARGUMENT',
      message: 'Inputs contains invalid name. Used request inputs: , request input: z',
    });
    await assert.rejects(server.predict('half', { x, z: x }), {
      code: 'INVALID_ARGUMENT',
      message: 'input size does not match signature: 2!=1 len({x,z}) != len({x}). Sent extra: {z}. Missing but required: {}.',
    });
  });

  it('without a default, a missing input is named with its feed name', async () => {
    const x = new Tensor('float32', [1], [1]);
    await assert.rejects(server.predict('half', { z: x }, { signatureName: 'regress_x2_to_y3' }), {
      code: 'INVALID_ARGUMENT',
      message:
        'Signature input alias: inputs(feed name: x2:0) not found in request and no default value provided. Inputs expected to be in the request {z}, or default input alias set: ',
    });
  });

  it('hub.load keeps Python checks by default; strictSignatures: false feeds any shape', async () => {
    const strict = await hub.load(HALF_PLUS_TWO);
    const loose = await hub.load(HALF_PLUS_TWO, { strictSignatures: false });
    try {
      const x = new Tensor('float32', [3], [2, 3, 4]);
      await assert.rejects(strict.signatures.serving_default({ x }), { code: 'ERR_INPUT_SHAPE' });
      const y = (await loose.signatures.serving_default({ x })).y as Tensor;
      assert.deepEqual(Array.from(y.data() as Float32Array), [3, 3.5, 4]);
      assert.equal(strict.strictSignatures, true);
      assert.equal(loose.strictSignatures, false);
    } finally {
      strict.close();
      loose.close();
    }
  });
});
