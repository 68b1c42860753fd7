// Lifetimes under load: finalizers free what was never disposed; create/run/dispose cycles do not leak.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Graph, Session, Tensor } from '../../src';
import { MiB, collectGarbage, hasGc, rss } from './helpers/util';

const skip = hasGc() ? false : 'needs --expose-gc (npm test passes it)';

describe('memory', { skip }, () => {
  it('tensors, graphs and sessions that are never disposed are freed by their finalizers', async (t) => {
    const ELEMENTS = 256 * 1024; // 1 MiB of float32
    let collected = 0;
    const registry = new FinalizationRegistry(() => collected++);
    let registered = 0;
    const round = async () => {
      let keep: unknown[] = [];
      for (let i = 0; i < 100; i++) {
        const tensor = new Tensor('float32', [ELEMENTS], new Float32Array(ELEMENTS).fill(i));
        registry.register(tensor.native, 0);
        registered++;
        keep.push(tensor);
      }
      for (let i = 0; i < 20; i++) {
        const g = new Graph();
        const x = g.placeholder('float32', [ELEMENTS], 'x');
        const y = g.addOperation('Neg', { inputs: [x] }).output(0);
        const s = new Session(g); // never closed
        const out = s.runSync(y, { 'x:0': new Float32Array(ELEMENTS).fill(1) }); // 1 MiB more from TF, never disposed
        assert.equal((out.data() as Float32Array)[ELEMENTS - 1], -1);
        for (const o of [g.native, s.native, out.native]) {
          registry.register(o, 0);
          registered++;
        }
        keep.push(g, s, out);
      }
      assert.equal(keep.length, 160);
      keep = [];
      await collectGarbage(4);
    };
    await round(); // warm-up: lets the allocator reach its working size
    const base = rss();
    for (let i = 0; i < 3; i++) await round();
    const growth = (rss() - base) / MiB;
    t.diagnostic(
      `finalized ${collected}/${registered} native handles; RSS growth over 3 rounds of ~120 MiB each: ${growth.toFixed(1)} MiB`,
    );
    // Without native finalizers each round would keep ~120 MiB of TF memory (360 MiB in all).
    assert.ok(growth < 60, `RSS grew by ${growth.toFixed(1)} MiB`);
    assert.ok(collected >= registered * 0.95, `only ${collected} of ${registered} native handles were finalized`);
  });

  it('10,000 create/run/dispose cycles keep RSS flat', async (t) => {
    const n = 64; // 16 KiB tensors in and out: a leak of either would add 160+ MiB
    const g = new Graph();
    const x = g.placeholder('float32', [n, n], 'x');
    const y = g.addOperation('Mul', { inputs: [x, g.constant(3, 'three')] }).output(0);
    const s = new Session(g);
    const data = new Float32Array(n * n);
    const cycle = async (i: number) => {
      data[0] = i;
      const input = new Tensor('float32', [n, n], data);
      const out = i % 2 ? await s.run(y, new Map([[x, input]])) : s.runSync(y, new Map([[x, input]]));
      if (i % 1000 === 0) assert.equal((out.data() as Float32Array)[0], 3 * i);
      out.dispose();
      input.dispose();
      if (i % 10 === 0) {
        // a whole graph and session per 10 cycles
        const g2 = new Graph();
        const a = g2.placeholder('float32', [n, n], 'a');
        const b = g2.addOperation('Square', { inputs: [a] }).output(0);
        const s2 = new Session(g2);
        const fed = new Tensor('float32', [n, n], data);
        const r = await s2.run(b, { 'a:0': fed });
        if (i % 1000 === 0) assert.equal((r.data() as Float32Array)[0], i * i);
        r.dispose();
        fed.dispose();
        s2.close();
        g2.dispose();
      }
    };
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) await cycle(i); // warm-up
    await collectGarbage();
    const before = rss();
    for (let i = 0; i < 10_000; i++) await cycle(i);
    await collectGarbage();
    const growth = (rss() - before) / MiB;
    const ms = performance.now() - t0;
    t.diagnostic(`11,000 cycles (1,100 graphs+sessions) in ${ms.toFixed(0)} ms; RSS growth after warm-up ${growth.toFixed(1)} MiB`);
    assert.ok(growth < 30, `RSS grew by ${growth.toFixed(1)} MiB over 10,000 cycles`);
    assert.ok(ms < 20_000, `took ${ms} ms`);
    s.close();
    g.dispose();
  });
});
