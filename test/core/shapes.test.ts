// Unknown dimensions as users write them (issue 11): `null` (Python's None, tfjs's null) and -1 for an unknown
// dimension, null/undefined for an unknown rank, everywhere the core takes a shape.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Graph, Session, Tensor, variable } from '../../src';
import { partialShape } from '../../src/shape';

describe('shapes with unknown dimensions', () => {
  it('partialShape: null and -1 are unknown dimensions; null/undefined an unknown rank', () => {
    assert.deepEqual(partialShape([null, 2], 's'), [-1, 2]);
    assert.deepEqual(partialShape([-1, null, 0, 7], 's'), [-1, -1, 0, 7]);
    assert.deepEqual(partialShape([], 's'), []);
    assert.equal(partialShape(null, 's'), null);
    assert.equal(partialShape(undefined, 's'), null);
    // Every other element is named, with its index.
    const bad: Array<[unknown, RegExp]> = [
      [[2, -2], /element 1 is -2/],
      [[undefined], /element 0 is undefined/],
      [[1.5], /element 0 is 1\.5/],
      [[NaN], /element 0 is NaN/],
      [[Infinity], /element 0 is Infinity/],
      [[2 ** 53], /element 0 is 9007199254740992/],
      [['3'], /element 0 is "3"/],
      [[3n], /element 0 is 3/],
      [[[1]], /element 0 is an array/],
      [[{}], /element 0 is an object/],
      [[true], /element 0 is true/],
    ];
    for (const [shape, message] of bad) {
      assert.throws(
        () => partialShape(shape, 'my shape'),
        (e: Error & { code?: string }) =>
          e instanceof TypeError && e.code === 'ERR_INVALID_SHAPE' && message.test(e.message) && e.message.startsWith('my shape'),
        String(shape),
      );
    }
    for (const shape of ['2', 2, {}, { length: 2, 0: 1, 1: 2 }, new Int32Array([1, 2])]) {
      assert.throws(() => partialShape(shape, 's'), { code: 'ERR_INVALID_SHAPE' }, String(shape));
    }
    assert.throws(
      () => partialShape(new Array(255).fill(1), 's'),
      (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_INVALID_SHAPE',
    );
  });

  it('graph.placeholder(dtype, [null, 2]) has shape [-1, 2] and takes any batch', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 2], 'x');
    assert.deepEqual(x.shape, [-1, 2]);
    assert.deepEqual(g.placeholder('float32', [-1, null]).shape, [-1, -1]);
    assert.equal(g.placeholder('float32').shape, null);
    assert.equal(g.placeholder('float32', null).shape, null);
    const y = g.addOperation('Sum', { inputs: [x, g.constant([1], 'axis', 'int32')] }).output(0);
    const s = new Session(g);
    for (const batch of [
      [[1, 2]],
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    ]) {
      const out = s.runSync(y, { 'x:0': batch });
      assert.deepEqual(
        Array.from(out.data() as Float32Array),
        batch.map(([a, b]) => a + b),
      );
      out.dispose();
    }
    assert.throws(() => s.runSync(y, { 'x:0': [[1, 2, 3]] }), { code: 'ERR_FEED_SHAPE' });
    s.close();
    g.dispose();
  });

  it('addOperation shape and list(shape) attrs take null dimensions', () => {
    const g = new Graph();
    const p = g.addOperation('Placeholder', { attrs: { dtype: 'float32', shape: [null, 3] } }).output(0);
    assert.deepEqual(p.shape, [-1, 3]);
    assert.deepEqual(p.op.getAttr('shape'), [-1, 3]);
    const q = g.addOperation('FIFOQueueV2', { attrs: { component_types: ['float32', 'int32'], shapes: [[null, 2], [4]] } });
    assert.deepEqual(q.getAttr('shapes'), [[-1, 2], [4]]);
    g.dispose();
  });

  it('variables take a shape with null dimensions', () => {
    const g = new Graph();
    const v = variable(g, { name: 'v', dtype: 'float32', shape: [null, 2], initialValue: (gg: Graph) => gg.constant([[1, 2]], 'init') });
    assert.deepEqual(v.shape, [-1, 2]);
    g.dispose();
  });

  it('a concrete Tensor still needs known dimensions', () => {
    assert.throws(() => new Tensor('float32', [-1] as never, []), { code: 'ERR_INVALID_SHAPE' });
    assert.throws(() => new Tensor('float32', [null] as never, []), { code: 'ERR_INVALID_SHAPE' });
  });
});
