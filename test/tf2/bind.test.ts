// The nested-structure walker shared by hub.load's eager calls (Tensors, JS values) and KerasLayer's graph
// calls (Outputs): what binds where, in flatten order, and the path named by each mismatch.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundLeaf, LeafBinder, Spec, bindSpec, tensorBinder } from '../../src/hub/tf2/structure';
import { Tensor } from '../../src/tensor';

const leaf = (name: string, dtype: 'float32' | 'int64' = 'float32', shape: number[] | null = [-1]): Spec => ({
  kind: 'tensor',
  leaf: { name, dtype, shape },
});

/** A stand-in for a symbolic value, as a graph caller would bind. */
class Symbol_ {
  constructor(readonly dtype: string) {}
}
const symbolBinder: LeafBinder = {
  mismatch: (v, l, conv) =>
    v instanceof Symbol_ ? (v.dtype === l.dtype ? null : `got a ${v.dtype} symbol`) : tensorBinder.mismatch(v, l, conv),
  isLeaf: (v) => v instanceof Symbol_ || v instanceof Tensor,
  describe: (v) => (v instanceof Symbol_ ? `Symbol(${v.dtype})` : String(v)),
};

describe('bindSpec', () => {
  const spec: Spec = {
    kind: 'tuple',
    items: [
      { kind: 'dict', keys: ['b', 'a'], values: [leaf('b'), leaf('a')] },
      { kind: 'literal', value: true },
    ],
  };

  test('binds in flatten order and records paths', () => {
    const out: BoundLeaf[] = [];
    assert.equal(bindSpec(spec, [{ a: [1, 2], b: [3] }, true], true, 'args', out), null);
    assert.deepEqual(
      out.map((b) => b.path),
      ['args[0].b', 'args[0].a'],
    );
    assert.deepEqual(
      out.map((b) => b.value),
      [[3], [1, 2]],
    );
  });

  test('mismatches name the path: keys, literals, conversion, structure', () => {
    assert.equal(bindSpec(spec, [{ a: [1] }, true], true, 'args', []), 'args[0]: expected keys [a, b], got [a]');
    assert.match(bindSpec(spec, [{ a: [1], b: [2] }, false], true, 'args', [])!, /^args\[1\]: expected the Python value True, got false/);
    assert.equal(bindSpec(spec, [{ a: [1], b: [2] }, 1], true, 'args', []), null, 'True == 1 in Python');
    assert.match(bindSpec(spec, [{ a: [1], b: [2] }, 2], true, 'args', [])!, /expected the Python value True/);
    assert.equal(bindSpec(spec, [{ a: [1], b: [2] }, true], false, 'args', []), 'args[0].b: not a Tensor');
    assert.match(bindSpec(spec, 'x', true, 'args', [])!, /^args: expected a tuple of 2/);
    // Typed arrays of another numeric class convert when their kind of element fits the dtype.
    assert.equal(bindSpec(leaf('x'), new Float64Array([1, 2]), true, 'x', []), null);
    assert.equal(bindSpec(leaf('x', 'int64'), Int32Array.of(1, 2), true, 'x', []), null);
    assert.match(bindSpec(leaf('x', 'int64'), Float32Array.of(1.5), true, 'x', [])!, /Expected int64, got numbers that are not integers/);
    assert.match(bindSpec(leaf('x'), new DataView(new ArrayBuffer(8)), true, 'x', [])!, /a DataView cannot hold float32 values/);
    // Converted JS values must be rectangular, even when the element count would fit the shape.
    assert.match(
      bindSpec(leaf('x', 'float32', [1, 3]), [[1, [2], 3]], true, 'x', [])!,
      /^x: non-rectangular nested arrays: values\[0\]\[1\]/,
    );
  });

  test('a custom binder: its leaves bind, and are never taken for records', () => {
    const out: BoundLeaf[] = [];
    const s = new Symbol_('float32');
    assert.equal(bindSpec(spec, [{ a: s, b: s }, true], false, 'in', out, symbolBinder), null);
    assert.equal(out.length, 2);
    assert.equal(bindSpec(spec, [{ a: s, b: new Symbol_('int64') }, true], false, 'in', [], symbolBinder), 'in[0].b: got a int64 symbol');
    const dict: Spec = { kind: 'dict', keys: ['dtype'], values: [leaf('dtype')] };
    assert.equal(bindSpec(dict, s, false, 'in', [], symbolBinder), 'in: expected a record with keys [dtype], got Symbol(float32)');
  });

  test('ragged rank 1 takes its row splits bare or in a list, typed arrays included', () => {
    const ragged: Spec = { kind: 'ragged', dtype: 'float32', shape: [-1, -1], raggedRank: 1, splitsDtype: 'int64' };
    for (const rowSplits of [[0, 1, 3], [[0, 1, 3]], BigInt64Array.of(0n, 1n, 3n), [BigInt64Array.of(0n, 1n, 3n)]]) {
      const out: BoundLeaf[] = [];
      assert.equal(
        bindSpec(ragged, { flatValues: [1, 2, 3], rowSplits }, true, 'x', out),
        null,
        JSON.stringify(rowSplits, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)),
      );
      assert.equal(out.length, 2);
      assert.deepEqual(Array.from(out[1].value as ArrayLike<unknown>, Number), [0, 1, 3]);
    }
    assert.equal(
      bindSpec(
        ragged,
        {
          flatValues: [1],
          rowSplits: [
            [0, 1],
            [0, 1],
          ],
        },
        true,
        'x',
        [],
      ),
      'x: expected 1 rowSplits',
    );
  });
});
