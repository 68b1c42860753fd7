// `tags` given by a caller: anything but an iterable of strings (an array-like object, a string, numbers, a
// cycle, null inside) is ERR_INVALID_ARG_TYPE from every API that takes tags, never a plain TypeError.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Graph, hub } from '../../src';
import { FIXTURES } from '../helpers/fixtures';

const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;
const BAD: Array<[string, unknown]> = [
  ['an array-like object', { length: 1, 0: 'serve' }],
  ['a string', 'serve'],
  ['numbers', [1, 2]],
  ['null inside', [null]],
  ['a cyclic object', cyclic],
  ['a number', 7],
];

describe('tags that are not an iterable of strings', () => {
  const module = path.join(FIXTURES, 'mlp_v1');
  for (const [what, tags] of BAD) {
    test(`${what}: ERR_INVALID_ARG_TYPE from ModuleSpec, Module, hub.load and KerasLayer`, async () => {
      const spec = await hub.loadModuleSpec(module);
      const expected = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
      assert.throws(() => spec.getSignatureNames({ tags: tags as string[] }), expected);
      assert.throws(() => new hub.Module(spec, { graph: new Graph(), tags: tags as string[] }), expected);
      await assert.rejects(hub.load(module, { tags: tags as string[] }), expected);
      await assert.rejects(hub.KerasLayer.load(module, { tags: tags as string[] }), expected);
    });
  }
});
