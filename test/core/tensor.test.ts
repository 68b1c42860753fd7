// Tensor: every dtype round-trips through TensorFlow; data is validated before it crosses into C++.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { DType, Graph, Output, Session, Tensor, tensor } from '../../src';
import { NativeBinding, binding } from '../../src/native';
import { graphAndSessionPerSuite } from './helpers/util';

/** Counts calls into the native Tensor factories while `fn` runs. */
function nativeCallsDuring(fn: () => void): number {
  const b = binding() as { -readonly [K in keyof NativeBinding]: NativeBinding[K] };
  const original = b.Tensor;
  let calls = 0;
  b.Tensor = {
    fromData: (...args) => {
      calls++;
      return original.fromData(...args);
    },
    fromStrings: (...args) => {
      calls++;
      return original.fromStrings(...args);
    },
    fromDataNoCopy: (...args) => {
      calls++;
      return original.fromDataNoCopy(...args);
    },
  };
  try {
    fn();
  } finally {
    b.Tensor = original;
  }
  return calls;
}

const CASES: Array<{ dtype: DType; shape: number[]; data: ArrayBufferView | Array<string | Uint8Array> }> = [
  { dtype: 'float32', shape: [2, 2], data: new Float32Array([1.5, -2.25, 3.4028234663852886e38, -0]) },
  { dtype: 'float64', shape: [3], data: new Float64Array([Math.PI, -1e308, 5e-324]) },
  { dtype: 'int8', shape: [3], data: new Int8Array([-128, 127, 0]) },
  { dtype: 'int16', shape: [3], data: new Int16Array([-32768, 32767, 1]) },
  { dtype: 'int32', shape: [3], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1, 7]) },
  { dtype: 'int64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n]) },
  { dtype: 'uint8', shape: [3], data: new Uint8Array([0, 255, 128]) },
  { dtype: 'uint16', shape: [3], data: new Uint16Array([0, 65535, 1]) },
  { dtype: 'uint32', shape: [3], data: new Uint32Array([0, 2 ** 32 - 1, 5]) },
  { dtype: 'uint64', shape: [3], data: new BigUint64Array([0n, 2n ** 64n - 1n, 2n ** 53n + 1n]) },
  { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
  { dtype: 'float16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7bff]) }, // 1, -2, 65504
  { dtype: 'bfloat16', shape: [3], data: new Uint16Array([0x3f80, 0xc000, 0x4049]) }, // 1, -2, 3.140625
  { dtype: 'complex64', shape: [3], data: new Float32Array([1, 2, -3, 4.5, 0, -1]) },
  { dtype: 'complex128', shape: [1, 3], data: new Float64Array([Math.E, -Math.PI, 1e-300, 1e300, -0.5, 0.25]) },
  { dtype: 'string', shape: [3], data: ['', 'héllo wörld', '日本語 ✓'] },
  {
    dtype: 'string',
    shape: [2, 2],
    data: [new Uint8Array([0, 255, 0, 128]), new Uint8Array([0xc3, 0x28]), new Uint8Array(0), new TextEncoder().encode('ok')],
  },
];

function contents(t: Tensor): unknown {
  return t.dtype === 'string' ? t.bytes().map((b) => Array.from(b)) : t.data();
}

function expectedContents(dtype: DType, data: ArrayBufferView | Array<string | Uint8Array>): unknown {
  if (dtype !== 'string') return data;
  return (data as Array<string | Uint8Array>).map((s) => Array.from(typeof s === 'string' ? new TextEncoder().encode(s) : s));
}

describe('Tensor', () => {
  let g: Graph;
  let s: Session;
  graphAndSessionPerSuite((graph, session) => {
    g = graph;
    s = session;
  });

  it('every dtype round-trips through a Const and through a fed Identity', () => {
    CASES.forEach(({ dtype, shape, data }, i) => {
      const t = new Tensor(dtype, shape, data as never);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, shape);
      assert.deepEqual(contents(t), expectedContents(dtype, data), `${dtype}: creation`);
      const c = g.constant(t, `const_${i}`);
      const p = g.placeholder(dtype, shape, `ph_${i}`);
      const id = g.addOperation('Identity', { name: `id_${i}`, inputs: [p] }).output(0);
      assert.equal(c.dtype, dtype);
      assert.deepEqual(c.shape, shape);
      const [fromConst, fromIdentity] = s.runSync([c, id], new Map([[p, t]]));
      for (const [how, r] of [
        ['Const', fromConst],
        ['Identity', fromIdentity],
      ] as const) {
        assert.equal(r.dtype, dtype, `${dtype} via ${how}`);
        assert.deepEqual(r.shape, shape, `${dtype} via ${how}`);
        assert.deepEqual(contents(r), expectedContents(dtype, data), `${dtype} via ${how}`);
        r.dispose();
      }
      t.dispose();
    });
  });

  it('float16/bfloat16 bits, complex parts and 64-bit integers keep their meaning inside TF', () => {
    const cast = (bits: number[], dtype: 'float16' | 'bfloat16') => {
      const c = g.constant(new Tensor(dtype, [bits.length], new Uint16Array(bits)));
      const f = g.addOperation('Cast', { inputs: [c], attrs: { DstT: 'float32' } }).output(0);
      return Array.from(s.runSync(f).data() as Float32Array);
    };
    assert.deepEqual(cast([0x3c00, 0xc000, 0x7bff, 0x3555], 'float16'), [1, -2, 65504, 0.333251953125]);
    assert.deepEqual(cast([0x3f80, 0xc000, 0x4049], 'bfloat16'), [1, -2, 3.140625]);
    // From JS numbers, half types take values (rounded to nearest even, as numpy and TF convert), not raw bits.
    const castValues = (values: number[], dtype: 'float16' | 'bfloat16') => {
      const c = g.constant(new Tensor(dtype, [values.length], values));
      return Array.from(s.runSync(g.addOperation('Cast', { inputs: [c], attrs: { DstT: 'float32' } }).output(0)).data() as Float32Array);
    };
    assert.deepEqual(castValues([1.5, -2, 0.1, 65520, 1e-10, 2049], 'float16'), [1.5, -2, 0.0999755859375, Infinity, 0, 2048]);
    assert.deepEqual(castValues([1.5, 3.14159, -1e6], 'bfloat16'), [1.5, 3.140625, -999424]);
    assert.deepEqual(Array.from(tensor([1.5, 65504], 'float16').data() as Uint16Array), [0x3e00, 0x7bff]);
    assert.deepEqual(
      tensor(
        [
          [1.5, -65504],
          [2 ** -24, Infinity],
        ],
        'float16',
      ).array(),
      [
        [1.5, -65504],
        [2 ** -24, Infinity],
      ],
    );
    assert.deepEqual(tensor([3.14159, -0.5], 'bfloat16').array(), [3.140625, -0.5]);
    assert.ok(Number.isNaN((tensor([NaN], 'float16').array() as number[])[0]));
    // Integer dtypes refuse what they cannot hold rather than wrap or truncate it.
    assert.throws(() => new Tensor('int8', [1], [300]), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => new Tensor('uint8', [1], [-1]), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => new Tensor('int32', [1], [2 ** 31]), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => tensor([1.5], 'int32'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => tensor([NaN], 'uint16'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.deepEqual(Array.from(new Tensor('uint32', [2], [0, 2 ** 32 - 1]).data()), [0, 2 ** 32 - 1]);
    assert.throws(() => new Tensor('int64', [1], [2n ** 63n]), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => new Tensor('uint64', [1], [-1n]), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => new Tensor('uint64', [1], [-1]), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.deepEqual(Array.from(new Tensor('int64', [2], [-(2n ** 63n), 2n ** 63n - 1n]).data()), [-(2n ** 63n), 2n ** 63n - 1n]);
    assert.deepEqual(Array.from(new Tensor('uint64', [1], [2n ** 64n - 1n]).data()), [2n ** 64n - 1n]);

    const z = g.constant(new Tensor('complex64', [2], new Float32Array([1, 2, -3, 4.5])));
    const [re, im, abs] = s.runSync(
      ['Real', 'Imag', 'ComplexAbs'].map((type) => g.addOperation(type, { inputs: [z], attrs: { Tout: 'float32' } }).output(0)),
    );
    assert.deepEqual(Array.from(re.data() as Float32Array), [1, -3]);
    assert.deepEqual(Array.from(im.data() as Float32Array), [2, 4.5]);
    assert.deepEqual(Array.from(abs.data() as Float32Array), [Math.fround(Math.sqrt(5)), Math.fround(Math.sqrt(9 + 20.25))]);

    // 2**53 + 1 is not a JS number: arithmetic on it in TF must come back exact.
    const big = g.constant(new Tensor('int64', [2], new BigInt64Array([2n ** 53n + 1n, -(2n ** 62n)])));
    const sum = g.addOperation('AddV2', { inputs: [big, g.constant(new Tensor('int64', [2], [1n, -3n]))] }).output(0);
    assert.deepEqual(Array.from(s.runSync(sum).data() as BigInt64Array), [2n ** 53n + 2n, -(2n ** 62n) - 3n]);
    const ubig = g.constant(new Tensor('uint64', [1], new BigUint64Array([2n ** 64n - 2n])));
    const usum = g.addOperation('AddV2', { inputs: [ubig, g.constant(new Tensor('uint64', [1], [1n]))] }).output(0);
    assert.deepEqual(Array.from(s.runSync(usum).data() as BigUint64Array), [2n ** 64n - 1n]);
  });

  it('strings are binary-safe through Substr and StringLength', () => {
    const bytes = new Uint8Array([0x00, 0xff, 0x00, 0x80, 0x41]);
    const t = g.constant(new Tensor('string', [2], [bytes, 'añb']));
    const len = g.addOperation('StringLength', { inputs: [t] }).output(0);
    const sub = g
      .addOperation('Substr', { inputs: [t, g.constant([1, 1], undefined, 'int32'), g.constant([3, 2], undefined, 'int32')] })
      .output(0);
    const [l, sb] = s.runSync([len, sub]);
    assert.deepEqual(Array.from(l.data() as Int32Array), [5, 4]); // bytes, not characters
    assert.deepEqual(
      sb.bytes().map((b) => Array.from(b)),
      [
        [0xff, 0x00, 0x80],
        [0xc3, 0xb1],
      ],
    );
    assert.deepEqual(sb.strings()[1], 'ñ');
  });

  it('tensor() infers shape and dtype from nested JS values', () => {
    const cases: Array<[unknown, DType | undefined, DType, number[], unknown]> = [
      [
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        undefined,
        'float32',
        [2, 3],
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
      ],
      [3.5, undefined, 'float32', [], 3.5],
      [[1, 2], 'int64', 'int64', [2], [1n, 2n]],
      [[1n, -2n], undefined, 'int64', [2], [1n, -2n]],
      [[true, false], undefined, 'bool', [2], [true, false]],
      [[2, 0, -1], 'bool', 'bool', [3], [true, false, true]],
      [['a', 'bc'], undefined, 'string', [2], ['a', 'bc']],
      ['scalar', undefined, 'string', [], 'scalar'],
      [[[0.5]], 'float64', 'float64', [1, 1], [[0.5]]],
      [[], 'int32', 'int32', [0], []],
    ];
    for (const [values, dtype, wantDtype, wantShape, wantArray] of cases) {
      const t = tensor(values, dtype);
      assert.equal(t.dtype, wantDtype);
      assert.deepEqual(t.shape, wantShape);
      assert.deepEqual(t.array(), wantArray);
      t.dispose();
    }
    const c = tensor([1, 2, -3, 4], 'complex64', [2]);
    assert.deepEqual(c.array(), [
      [1, 2],
      [-3, 4],
    ]);
    assert.equal(c.size, 2);
    assert.throws(() => tensor([2 ** 60], 'int64'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    // Non-rectangular nesting is refused even when the element count happens to fit (as Python refuses it).
    const ragged = { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /non-rectangular/ };
    for (const v of [[[1, 2], [3]], [[1, [2], 3]], [[[1]], [2]], [1, [2]], [[], [1]], [[1, 2], 3]]) {
      assert.throws(() => tensor(v), ragged, JSON.stringify(v));
    }
    assert.throws(() => tensor([[[1]], [2]]), { message: /values\[1\]\[0\] is a value where an array of 1 was expected/ });
    let deep: unknown = [1];
    for (let i = 0; i < 300; i++) deep = [deep];
    assert.throws(() => tensor(deep), { code: 'ERR_INVALID_ARG_VALUE', message: /maximum rank 254/ });
    assert.deepEqual(tensor([[], []]).shape, [2, 0]);
  });

  it('data length must match shape × dtype: RangeError before anything crosses into C++', () => {
    const bad: Array<[string, () => unknown, string, string]> = [
      ['float32 [2,3] with 5 values', () => new Tensor('float32', [2, 3], new Float32Array(5)), 'RangeError', 'ERR_INVALID_DATA_LENGTH'],
      [
        'float32 [2,3] from a 7-element array',
        () => new Tensor('float32', [2, 3], [1, 2, 3, 4, 5, 6, 7]),
        'RangeError',
        'ERR_INVALID_DATA_LENGTH',
      ],
      [
        'complex64 [2] with 2 floats (needs 4)',
        () => new Tensor('complex64', [2], new Float32Array(2)),
        'RangeError',
        'ERR_INVALID_DATA_LENGTH',
      ],
      ['int64 [4] with 3 values', () => new Tensor('int64', [4], new BigInt64Array(3)), 'RangeError', 'ERR_INVALID_DATA_LENGTH'],
      ['string [2] with 3 strings', () => new Tensor('string', [2], ['a', 'b', 'c']), 'RangeError', 'ERR_INVALID_DATA_LENGTH'],
      ['scalar with 2 values', () => new Tensor('int32', [], new Int32Array(2)), 'RangeError', 'ERR_INVALID_DATA_LENGTH'],
      ['float32 from a Float64Array', () => new Tensor('float32', [2], new Float64Array(2) as never), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['int64 from an Int32Array', () => new Tensor('int64', [2], new Int32Array(2) as never), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['float16 from a Float32Array', () => new Tensor('float16', [2], new Float32Array(2) as never), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['string from a number array', () => new Tensor('string', [1], [1] as never), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['string from a typed array', () => new Tensor('string', [1], new Uint8Array(1) as never), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['bool byte 2', () => new Tensor('bool', [2], new Uint8Array([1, 2])), 'RangeError', 'ERR_INVALID_ARG_VALUE'],
      ['unknown dtype', () => new Tensor('float8' as DType, [1], [1]), 'TypeError', 'ERR_INVALID_DTYPE'],
      ['resource dtype', () => new Tensor('resource', [1], [1]), 'TypeError', 'ERR_INVALID_DTYPE'],
      ['negative dimension', () => new Tensor('float32', [-1], []), 'TypeError', 'ERR_INVALID_SHAPE'],
      ['fractional dimension', () => new Tensor('float32', [1.5], [1]), 'TypeError', 'ERR_INVALID_SHAPE'],
      ['shape not an array', () => new Tensor('float32', 3 as never, [1, 2, 3]), 'TypeError', 'ERR_INVALID_SHAPE'],
      ['huge shape', () => new Tensor('float32', [2 ** 40, 2 ** 40], new Float32Array(1)), 'RangeError', 'ERR_INVALID_SHAPE'],
      ['int64 from an unsafe number', () => new Tensor('int64', [1], [2 ** 53 + 2]), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['float32 from a string element', () => new Tensor('float32', [1], ['1'] as never), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [what, fn, name, code] of bad) {
      const calls = nativeCallsDuring(() =>
        assert.throws(
          fn,
          (e: Error & { code?: string }) => {
            assert.equal(e.name, name, what);
            assert.equal(e.code, code, what);
            return true;
          },
          what,
        ),
      );
      assert.equal(calls, 0, `${what}: reached the native layer`);
    }
    // …and good data does cross, exactly once.
    assert.equal(
      nativeCallsDuring(() => new Tensor('float32', [2, 3], new Float32Array(6)).dispose()),
      1,
    );
  });

  it('copies data in and out: views with offsets, SharedArrayBuffers, later writes do not leak through', () => {
    const source = new Float32Array([9, 1, 2, 3, 9]);
    const t = new Tensor('float32', [3], source.subarray(1, 4));
    source.fill(7);
    assert.deepEqual(Array.from(t.data()), [1, 2, 3]);
    const out = t.data();
    out[0] = 100;
    assert.deepEqual(Array.from(t.data()), [1, 2, 3]);
    const shared = new Int32Array(new SharedArrayBuffer(12));
    shared.set([4, 5, 6]);
    assert.deepEqual(Array.from(new Tensor('int32', [3], shared).data()), [4, 5, 6]);
    const bytes = new Uint8Array([1, 2, 3]);
    const st = new Tensor('string', [1], [bytes]);
    bytes[0] = 99;
    assert.deepEqual(Array.from(st.bytes()[0]), [1, 2, 3]);
  });

  it('shape, rank, size, array() and toString()', () => {
    const t = new Tensor('int32', [2, 3, 1], new Int32Array([1, 2, 3, 4, 5, 6]));
    assert.deepEqual([t.shape, t.rank, t.size], [[2, 3, 1], 3, 6]);
    const shape = t.shape;
    shape[0] = 99; // a copy
    assert.deepEqual(t.shape, [2, 3, 1]);
    assert.deepEqual(t.array(), [
      [[1], [2], [3]],
      [[4], [5], [6]],
    ]);
    assert.equal(String(t), 'Tensor(int32, [2, 3, 1])');
    const scalar = new Tensor('float64', [], [2.5]);
    assert.deepEqual([scalar.shape, scalar.rank, scalar.size, scalar.array()], [[], 0, 1, 2.5]);
    const empty = new Tensor('float32', [2, 0], new Float32Array(0));
    assert.deepEqual([empty.size, empty.data().length, empty.array()], [0, 0, [[], []]]);
    assert.throws(() => t.strings(), { name: 'TypeError', code: 'ERR_INVALID_DTYPE' });
  });

  it('empty and scalar tensors round-trip through a run', () => {
    const p = g.placeholder('float32', [-1, 0], 'empty_in');
    const id = g.addOperation('Identity', { inputs: [p] }).output(0);
    const r = s.runSync(id, new Map([[p, new Tensor('float32', [3, 0], new Float32Array(0))]]));
    assert.deepEqual([r.shape, r.size], [[3, 0], 0]);
    const sc = s.runSync(g.constant(new Tensor('string', [], ['only'])));
    assert.deepEqual([sc.shape, sc.strings()], [[], ['only']]);
  });

  it('dispose(), [Symbol.dispose] and use after dispose', () => {
    const t = new Tensor('float32', [2], [1, 2]);
    assert.equal(t.isDisposed, false);
    t.dispose();
    t.dispose(); // idempotent
    assert.equal(t.isDisposed, true);
    assert.equal(String(t), 'Tensor(disposed)');
    for (const use of [() => t.data(), () => t.array(), () => t.strings()]) {
      assert.throws(use, { code: 'ERR_DISPOSED', message: 'Tensor already disposed.' });
    }
    const x = g.placeholder('float32', [2], 'disposed_feed');
    const y = g.addOperation('Identity', { inputs: [x] }).output(0);
    assert.throws(() => s.runSync(y, new Map<Output, Tensor>([[x, t]])), { code: 'ERR_DISPOSED' });
    assert.throws(() => g.constant(t), { code: 'ERR_DISPOSED' });

    let inner: Tensor | undefined;
    {
      using u = new Tensor('int32', [1], [5]);
      inner = u;
      assert.equal(u.isDisposed, false);
    }
    assert.equal(inner.isDisposed, true);
  });
});
