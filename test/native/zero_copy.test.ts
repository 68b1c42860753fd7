// Zero-copy input tensors: TF works on the typed array's memory, which stays referenced until TF releases it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Session, Tensor } from '../../src';

const gc = (globalThis as { gc?: () => void }).gc;

test('copy: false shares 64-byte-aligned typed array memory (aliasing is visible) and results are right', async () => {
  // TF uses caller memory in place only when it is aligned to 64 bytes (else it copies). V8 buffers are at least
  // 16-byte aligned, so one of the four views at offsets 0/16/32/48 is 64-byte aligned.
  const g = new Graph();
  const x = g.placeholder('float32', [-1], 'x');
  const y = g.addOperation('Mul', { inputs: [x, g.constant([2])] }).output(0);
  const s = new Session(g);
  try {
    const backing = new ArrayBuffer(4096 * 4 + 64);
    let aliased = 0;
    for (const offset of [0, 16, 32, 48]) {
      const arr = new Float32Array(backing, offset, 4096).fill(1.5);
      const t = new Tensor('float32', [4096], arr, { copy: false });
      const r = await s.run(y, new Map([[x, t]]));
      assert.equal(r.data()[17], 3);
      arr[0] = 42; // documented: callers must not do this; here it shows whether a copy was made
      if (t.data()[0] === 42) aliased++;
      else assert.equal(t.data()[0], 1.5, 'a copy keeps the original values');
      t.dispose();
      r.dispose();
    }
    assert.equal(aliased, 1, 'exactly the 64-byte-aligned view is used in place');
  } finally {
    s.close();
    g.dispose();
  }
});

test('copy: false falls back to a copy for SharedArrayBuffer views and keeps length checks', () => {
  const shared = new Float32Array(new SharedArrayBuffer(16));
  const t = new Tensor('float32', [4], shared, { copy: false });
  shared[0] = 7;
  assert.equal(t.data()[0], 0, 'copied, not aliased');
  assert.throws(() => new Tensor('float32', [5], new Float32Array(4), { copy: false }), {
    name: 'RangeError',
    code: 'ERR_INVALID_DATA_LENGTH',
  });
  t.dispose();
});

test(
  'copy: false releases the JS array once TF lets go of it (reference dropped on the JS thread)',
  { skip: gc ? false : 'needs --expose-gc' },
  async () => {
    let collected = false;
    const registry = new FinalizationRegistry(() => {
      collected = true;
    });
    (() => {
      const arr = new Float64Array(1 << 16).fill(3);
      registry.register(arr, 'arr');
      const t = new Tensor('float64', [1 << 16], arr, { copy: false });
      t.dispose();
    })();
    for (let i = 0; i < 20 && !collected; i++) {
      await new Promise((r) => setTimeout(r, 20));
      gc!();
    }
    assert.ok(collected, 'the typed array was garbage-collected after dispose');
  },
);

test('copy: false under load: 2000 runs with fresh arrays do not grow memory', async () => {
  const g = new Graph();
  const x = g.placeholder('float32', [-1], 'x');
  const y = g.addOperation('Neg', { inputs: [x] }).output(0);
  const s = new Session(g);
  try {
    const run = async (i: number) => {
      const t = new Tensor('float32', [1 << 14], new Float32Array(1 << 14).fill(i), { copy: false });
      const r = await s.run(y, new Map([[x, t]]));
      assert.equal(r.data()[3], -i);
      t.dispose();
      r.dispose();
    };
    for (let i = 0; i < 200; i++) await run(i);
    gc?.();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 2000; i++) await run(i);
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
    const growth = (process.memoryUsage().rss - before) / 1e6;
    assert.ok(growth < 40, `RSS grew ${growth.toFixed(1)} MB`);
  } finally {
    s.close();
    g.dispose();
  }
});

test('copy: false: a typed array detached (transferred) after the tensor was made gives ERR_BUFFER_DETACHED, not freed memory', async () => {
  const g = new Graph();
  const x = g.placeholder('float32', [-1], 'x');
  const y = g.addOperation('Neg', { inputs: [x] }).output(0);
  const s = new Session(g);
  try {
    // Find the 64-byte-aligned view (the one TF uses in place), as above.
    for (const offset of [0, 16, 32, 48]) {
      const backing = new ArrayBuffer(4096 * 4 + 64);
      const arr = new Float32Array(backing, offset, 4096).fill(1.5);
      const t = new Tensor('float32', [4096], arr, { copy: false });
      arr[0] = 42;
      const shared = t.data()[0] === 42;
      let moved: ArrayBuffer | null = structuredClone(backing, { transfer: [backing] });
      assert.equal(arr.byteLength, 0, 'detached');
      if (shared) {
        assert.throws(() => t.data(), { code: 'ERR_BUFFER_DETACHED' });
        await assert.rejects(s.run(y, new Map([[x, t]])), { code: 'ERR_BUFFER_DETACHED' });
        assert.throws(() => s.runSync(y, new Map([[x, t]])), { code: 'ERR_BUFFER_DETACHED' });
      } else {
        assert.equal(t.data()[0], 1.5, 'a copy does not care');
      }
      moved = null;
      t.dispose(); // still fine
      assert.equal(moved, null);
    }
  } finally {
    s.close();
    g.dispose();
  }
});
