// Every TF1 Hub fixture reproduces the outputs Python's tensorflow_hub computed (NAME.json), through both
// hub.Module.call + Session.run and hub.evalFunctionForModule.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { Graph, Session, hub } from '../../src';
import { JsonCall, assertOutput, extractHalfPlusTwo, fixtureDir, fixtureJson, hasFixture, moduleInputOf } from './helpers';

const TF1_FIXTURES = [
  'mlp_v1',
  'mlp_refvars_v1',
  'text_embedding_v1',
  'token_embedding_v1',
  'half_plus_two_v1',
  'stateless_square_v1',
  'sparse_ragged_v1',
  'hash_table_v1',
  'control_flow_v1',
  'control_flow_v2',
  'partitioned_v1',
  'batchnorm_v1',
  'attachments_v1',
];

async function moduleDir(name: string): Promise<string | null> {
  if (name === 'half_plus_two_v1') return extractHalfPlusTwo();
  return hasFixture(name) ? fixtureDir(name) : null;
}

/** The calls of NAME.json whose result is deterministic (the mlp 'train' variants apply dropout). */
function callsOf(name: string): JsonCall[] {
  return (fixtureJson(name).calls as JsonCall[]).filter((c) => !(c.tags ?? []).includes('train') || name === 'batchnorm_v1');
}

describe('hub.Module reproduces the Python outputs of every TF1 fixture', () => {
  for (const name of TF1_FIXTURES) {
    test(`${name}: Module.call + Session.run matches ${name}.json to 1e-5`, async (t) => {
      const dir = await moduleDir(name);
      if (!dir) return t.skip('fixture not generated');
      const spec = await hub.loadModuleSpec(dir);
      const calls = callsOf(name);
      assert.ok(calls.length > 0);
      for (const call of calls) {
        const graph = new Graph();
        try {
          const module = new hub.Module(spec, { graph, tags: call.tags ?? [] });
          const inputs = Object.fromEntries(Object.entries(call.inputs).map(([k, v]) => [k, moduleInputOf(v)]));
          const outputs = module.call(inputs as never, { signature: call.signature, asDict: true });
          assert.deepEqual(Object.keys(outputs).sort(), Object.keys(call.outputs).sort(), 'output keys');
          const session = new Session(graph);
          try {
            await session.run([graph.globalVariablesInitializer(), graph.tablesInitializer()]);
            const result = (await session.run(outputs as never)) as Record<string, unknown>;
            for (const [k, expected] of Object.entries(call.outputs)) {
              assertOutput(result[k], expected, `${name} ${call.signature} tags=${JSON.stringify(call.tags ?? [])} ${k}`);
            }
          } finally {
            session.close();
          }
        } finally {
          graph.dispose();
        }
      }
    });

    test(`${name}: evalFunctionForModule matches ${name}.json to 1e-5`, async (t) => {
      const dir = await moduleDir(name);
      if (!dir) return t.skip('fixture not generated');
      const byTags = new Map<string, JsonCall[]>();
      for (const call of callsOf(name)) {
        const key = JSON.stringify(call.tags ?? []);
        byTags.set(key, [...(byTags.get(key) ?? []), call]);
      }
      for (const [tagsKey, calls] of byTags) {
        const f = await hub.evalFunctionForModule(dir, { tags: JSON.parse(tagsKey) });
        try {
          for (const call of calls) {
            // Inputs as given by JS users: one value for a one-input signature, a record otherwise.
            const keys = Object.keys(call.inputs);
            const values = Object.fromEntries(keys.map((k) => [k, moduleInputOf(call.inputs[k])]));
            const input = keys.length === 1 && keys[0] === 'default' ? values.default : values;
            const result = (await f.call(input, { signature: call.signature, asDict: true })) as Record<string, unknown>;
            for (const [k, expected] of Object.entries(call.outputs)) {
              assertOutput(result[k], expected, `${name} ${call.signature} tags=${tagsKey} ${k}`);
            }
            if ('default' in call.outputs) {
              assertOutput(await f.call(input, { signature: call.signature }), call.outputs.default, `${name} default output`);
            }
          }
        } finally {
          f.close();
        }
      }
    });
  }

  test('half_plus_two: the extracted archive and examples/half_plus_two agree (y = 0.5x + 2)', async (t) => {
    const example = path.join(__dirname, '../../../examples/half_plus_two');
    const f = await hub.evalFunctionForModule(example);
    t.after(() => f.close());
    const call = (fixtureJson('half_plus_two_v1').calls as JsonCall[])[0];
    assertOutput(await f.call(moduleInputOf(call.inputs.default)), call.outputs.default, 'examples/half_plus_two');
    const spec = await hub.loadModuleSpec(await extractHalfPlusTwo());
    assert.deepEqual(spec.getTags(), [[]]);
    assert.deepEqual(spec.getSignatureNames(), ['default']);
  });
});
