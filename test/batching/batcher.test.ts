// The batcher against scripted run functions: merging, padding, calls that run alone, queue limits, aborts,
// concurrency, timeouts, overload. Numbers are exact (row copies are bit for bit).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Tensor } from '../../src/tensor';
import { CancelledError, DeadlineExceededError, InvalidArgumentError, TFError, UnavailableError } from '../../src/errors';
import { BatchRunInfo, TensorFunction, createBatcher } from '../../src/batching';

const f32 = (shape: number[], values: number[]) => new Tensor('float32', shape, Float32Array.from(values));

/** y = 2x + row index within the run (so a wrong split shows), plus a record of every run. */
function recorder(opts: { delayMs?: number; gate?: () => Promise<void> } = {}) {
  const runs: Array<{ shapes: number[][]; x: number[] }> = [];
  let active = 0;
  let maxActive = 0;
  const run: TensorFunction = async (inputs) => {
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      runs.push({ shapes: Object.values(inputs).map((t) => t.shape), x: Array.from(inputs.x.data() as Float32Array) });
      if (opts.gate) await opts.gate();
      if (opts.delayMs) await sleep(opts.delayMs);
      const x = inputs.x;
      const d = x.data() as Float32Array;
      return {
        y: new Tensor(
          'float32',
          x.shape,
          d.map((v) => v * 2),
        ),
      };
    } finally {
      active--;
    }
  };
  return { run, runs, maxActive: () => maxActive };
}

/** Waits (polling) until `cond()` holds; fails after 10 s. */
async function until(cond: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > 10_000) throw new Error('condition not reached in 10 s');
    await sleep(1);
  }
}

function deferred() {
  let release!: () => void;
  const p = new Promise<void>((r) => {
    release = r;
  });
  return { p, release };
}

describe('createBatcher', () => {
  it('merges concurrent calls into one run and splits the outputs back per call', async () => {
    const r = recorder();
    const batches: BatchRunInfo[] = [];
    const b = createBatcher(
      r.run,
      { maxBatchSize: 8, batchTimeoutMicros: 0, numBatchThreads: 1 },
      { hooks: { onBatch: (i) => batches.push(i) } },
    );
    const outs = await Promise.all([b({ x: f32([1, 2], [1, 2]) }), b({ x: f32([2, 2], [3, 4, 5, 6]) }), b({ x: f32([1, 2], [7, 8]) })]);
    assert.equal(r.runs.length, 1);
    assert.deepEqual(r.runs[0].shapes, [[4, 2]]);
    assert.deepEqual(
      outs.map((o) => o.y.shape),
      [
        [1, 2],
        [2, 2],
        [1, 2],
      ],
    );
    assert.deepEqual(
      outs.map((o) => Array.from(o.y.data() as Float32Array)),
      [
        [2, 4],
        [6, 8, 10, 12],
        [14, 16],
      ],
    );
    assert.equal(batches.length, 1);
    assert.equal(batches[0].calls, 3);
    assert.equal(batches[0].rows, 4);
    assert.equal(batches[0].merged, true);
  });

  it('pads a batch to the next allowed size with copies of the first row of the last call, and drops the padding', async () => {
    const r = recorder();
    const infos: BatchRunInfo[] = [];
    const b = createBatcher(
      r.run,
      { maxBatchSize: 8, allowedBatchSizes: [2, 4, 8], numBatchThreads: 1 },
      { hooks: { onBatch: (i) => infos.push(i) } },
    );
    const outs = await Promise.all([b({ x: f32([2, 1], [1, 2]) }), b({ x: f32([3, 1], [3, 4, 5]) })]);
    assert.deepEqual(r.runs[0].shapes, [[8, 1]]);
    assert.deepEqual(r.runs[0].x, [1, 2, 3, 4, 5, 3, 3, 3]);
    assert.deepEqual(
      outs.map((o) => Array.from(o.y.data() as Float32Array)),
      [
        [2, 4],
        [6, 8, 10],
      ],
    );
    assert.deepEqual(
      infos.map((i) => [i.rows, i.batchSize, i.padding]),
      [[5, 8, 3]],
    );
    // A single call is padded too.
    const one = await b({ x: f32([3, 1], [9, 8, 7]) });
    assert.deepEqual(r.runs[1].x, [9, 8, 7, 9]);
    assert.deepEqual(Array.from(one.y.data() as Float32Array), [18, 16, 14]);
  });

  it('puts calls with other trailing shapes or dtypes in other batches; scalars and ragged calls run alone', async () => {
    const seen: string[] = [];
    const run: TensorFunction = async (inputs) => {
      seen.push(
        Object.entries(inputs)
          .map(([k, t]) => `${k}:${t.dtype}[${t.shape}]`)
          .join(','),
      );
      return inputs.x.rank === 0 ? { y: inputs.x } : { y: new Tensor(inputs.x.dtype, inputs.x.shape, inputs.x.data() as never) };
    };
    const b = createBatcher(run, { maxBatchSize: 16, numBatchThreads: 1 });
    const outs = await Promise.all([
      b({ x: f32([1, 2], [1, 2]) }),
      b({ x: f32([1, 3], [1, 2, 3]) }),
      b({ x: new Tensor('float64', [1, 2], Float64Array.of(5, 6)) }),
      b({ x: f32([1, 2], [3, 4]) }),
      b({ x: f32([], [7]) }),
      b({ x: f32([2, 1], [1, 2]), z: f32([3, 1], [1, 2, 3]) }),
    ]);
    assert.deepEqual(seen.sort(), ['x:float32[1,3]', 'x:float32[2,1],z:float32[3,1]', 'x:float32[2,2]', 'x:float32[]', 'x:float64[1,2]']);
    assert.deepEqual(Array.from(outs[3].y.data() as Float32Array), [3, 4]);
    assert.deepEqual(Array.from(outs[2].y.data() as Float64Array), [5, 6]);
    assert.equal(outs[4].y.shape.length, 0);
  });

  it('re-runs call by call, and stops merging, when the outputs lack the batch dimension', async () => {
    let runs = 0;
    const run: TensorFunction = async (inputs) => {
      runs++;
      const d = inputs.x.data() as Float32Array;
      return { sum: f32([1], [d.reduce((a, v) => a + v, 0)]) };
    };
    const reasons: string[] = [];
    const b = createBatcher(run, { maxBatchSize: 8, numBatchThreads: 1 }, { hooks: { onMergeDisabled: (r) => reasons.push(r) } });
    const outs = await Promise.all([b({ x: f32([2, 1], [1, 2]) }), b({ x: f32([2, 1], [10, 20]) })]);
    assert.deepEqual(
      outs.map((o) => o.sum.data()[0]),
      [3, 30],
    );
    assert.equal(runs, 3); // the merged run, then each call alone
    assert.match(reasons[0], /output 'sum' has 1 rows for a batch of 4/);
    assert.match(b.stats().mergeDisabled ?? '', /output 'sum'/);
    await Promise.all([b({ x: f32([1, 1], [1]) }), b({ x: f32([1, 1], [2]) })]);
    assert.equal(runs, 5);
  });

  it('a merged run that fails is re-run call by call: only the bad call fails', async () => {
    const run: TensorFunction = async (inputs) => {
      const d = inputs.x.data() as Float32Array;
      if (d.some((v) => v < 0)) throw new InvalidArgumentError('negative input');
      return {
        y: f32(
          inputs.x.shape,
          Array.from(d, (v) => v + 1),
        ),
      };
    };
    const b = createBatcher(run, { maxBatchSize: 8, numBatchThreads: 1 });
    const [ok1, bad, ok2] = await Promise.allSettled([b({ x: f32([1], [1]) }), b({ x: f32([1], [-1]) }), b({ x: f32([1], [5]) })]);
    assert.equal(ok1.status === 'fulfilled' && ok1.value.y.data()[0], 2);
    assert.equal(ok2.status === 'fulfilled' && ok2.value.y.data()[0], 6);
    assert.ok(bad.status === 'rejected' && bad.reason instanceof InvalidArgumentError);
  });

  it('a full queue refuses at once with UnavailableError (TF Serving message); a call over maxBatchSize is INVALID_ARGUMENT', async () => {
    const gate = deferred();
    const r = recorder({ gate: () => gate.p });
    const rejected: TFError[] = [];
    const b = createBatcher(
      r.run,
      { maxBatchSize: 2, maxEnqueuedBatches: 2, numBatchThreads: 1 },
      { hooks: { onReject: (e) => rejected.push(e) } },
    );
    const first = b({ x: f32([2, 1], [0, 0]) }); // runs, holds the only thread
    await until(() => b.stats().running === 1);
    const queued = [1, 2, 3, 4].map((v) => b({ x: f32([1, 1], [v]) })); // two batches of two
    const t0 = performance.now();
    await assert.rejects(
      b({ x: f32([1, 1], [5]) }),
      (e: Error) =>
        e instanceof UnavailableError &&
        e.code === 'UNAVAILABLE' &&
        /The batch scheduling queue to which this task was submitted is full/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 1000);
    await assert.rejects(
      b({ x: f32([3, 1], [1, 2, 3]) }),
      (e: Error) => e instanceof InvalidArgumentError && e.message === 'Task size 3 is larger than maximum input batch size 2',
    );
    assert.deepEqual(b.stats(), { calls: 4, rows: 4, batches: 2, running: 1, mergeDisabled: null });
    gate.release();
    await first;
    assert.deepEqual(
      (await Promise.all(queued)).map((o) => o.y.data()[0]),
      [2, 4, 6, 8],
    );
    assert.deepEqual(
      rejected.map((e) => e.code),
      ['UNAVAILABLE', 'INVALID_ARGUMENT'],
    );
  });

  it('an aborted call leaves the queue and never runs (DeadlineExceededError for a timeout, CancelledError otherwise)', async () => {
    const gate = deferred();
    const r = recorder({ gate: () => gate.p });
    const b = createBatcher(r.run, { maxBatchSize: 4, numBatchThreads: 1 });
    const first = b({ x: f32([1, 1], [1]) });
    await until(() => b.stats().running === 1);
    const keepAlive = setInterval(() => {}, 1000); // AbortSignal.timeout's timer does not keep the process alive
    const ctl = new AbortController();
    const cancelled = b({ x: f32([1, 1], [100]) }, { signal: ctl.signal });
    const timedOut = b({ x: f32([1, 1], [200]) }, { signal: AbortSignal.timeout(20) });
    const kept = b({ x: f32([1, 1], [3]) });
    ctl.abort();
    await assert.rejects(cancelled, (e: Error) => e instanceof CancelledError && e.code === 'CANCELLED');
    await assert.rejects(timedOut, (e: Error) => e instanceof DeadlineExceededError && e.code === 'DEADLINE_EXCEEDED');
    await assert.rejects(b({ x: f32([1, 1], [300]) }, { signal: AbortSignal.abort() }), CancelledError);
    gate.release();
    await first;
    assert.equal((await kept).y.data()[0], 6);
    assert.deepEqual(
      r.runs.map((x) => x.x),
      [[1], [3]],
    );
    clearInterval(keepAlive);
  });

  it('runs at most numBatchThreads batches at once', async () => {
    for (const threads of [1, 3]) {
      const r = recorder({ delayMs: 20 });
      const b = createBatcher(r.run, { maxBatchSize: 1, maxEnqueuedBatches: 100, numBatchThreads: threads });
      await Promise.all(Array.from({ length: 12 }, (_, i) => b({ x: f32([1, 1], [i]) })));
      assert.equal(r.maxActive(), threads);
      assert.equal(r.runs.length, 12);
    }
  });

  it('a lone call waits about batchTimeoutMicros for company, then runs (bounds ≥ 10× the timeout)', async () => {
    const r = recorder();
    const b = createBatcher(r.run, { maxBatchSize: 8, batchTimeoutMicros: 100_000, numBatchThreads: 1 });
    const t0 = performance.now();
    const one = b({ x: f32([1, 1], [1]) });
    await sleep(5);
    const two = b({ x: f32([1, 1], [2]) }); // joins the open batch
    await Promise.all([one, two]);
    const ms = performance.now() - t0;
    assert.ok(ms >= 95, `ran after ${ms} ms, before the timeout`);
    assert.ok(ms < 1000, `ran after ${ms} ms`);
    assert.equal(r.runs.length, 1);
    // A full batch does not wait for the timeout (10 s here).
    const slow = createBatcher(r.run, { maxBatchSize: 8, batchTimeoutMicros: 10_000_000, numBatchThreads: 1 });
    const t1 = performance.now();
    await Promise.all(Array.from({ length: 8 }, (_, i) => slow({ x: f32([1, 1], [i]) })));
    assert.ok(performance.now() - t1 < 1000, 'a full batch waited for the timeout');
  });

  it('10,000 calls against a slow model: the limits refuse the excess at once, every call gets an answer', async () => {
    const r = recorder({ delayMs: 30 });
    let maxQueued = 0;
    const b = createBatcher(
      r.run,
      { maxBatchSize: 16, maxEnqueuedBatches: 4, numBatchThreads: 2, batchTimeoutMicros: 1000 },
      {
        hooks: {
          onQueueDepth: (d) => {
            maxQueued = Math.max(maxQueued, d.rows);
          },
        },
      },
    );
    const results = await Promise.allSettled(Array.from({ length: 10_000 }, (_, i) => b({ x: f32([1, 1], [i]) })));
    const ok = results.filter((x) => x.status === 'fulfilled') as Array<PromiseFulfilledResult<Record<string, Tensor>>>;
    const refused = results.filter((x) => x.status === 'rejected' && x.reason instanceof UnavailableError);
    assert.equal(ok.length + refused.length, 10_000);
    assert.ok(ok.length <= 16 * 4 + 16 * 2, `${ok.length} accepted`);
    assert.ok(maxQueued <= 16 * 4);
    for (const o of ok) assert.equal(o.value.y.shape[0], 1);
    assert.deepEqual(b.stats(), { calls: 0, rows: 0, batches: 0, running: 0, mergeDisabled: null });
  });

  it('a batch that filled up leaves no timer behind: the process exits long before batchTimeoutMicros', () => {
    const src = path.join(__dirname, '../../src');
    const script = `
      const { Tensor } = require(${JSON.stringify(path.join(src, 'tensor'))});
      const { createBatcher } = require(${JSON.stringify(path.join(src, 'batching'))});
      const b = createBatcher(async (i) => ({ y: i.x }), { maxBatchSize: 2, batchTimeoutMicros: 60000000, numBatchThreads: 1 });
      const x = () => new Tensor('float32', [1, 1], Float32Array.of(1));
      const first = b({ x: x() }); // waits for company: a 60 s timer
      setTimeout(() => Promise.all([first, b({ x: x() })]).then(() => console.log('done')), 200);`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 50_000 });
    assert.equal(r.stdout.trim(), 'done', r.stderr);
    assert.equal(r.status, 0);
    assert.ok(Date.now() - t0 < 50_000);
  });

  it('pads variable-length inputs with their first element when padVariableLengthInputs', async () => {
    const r = recorder();
    const b = createBatcher(r.run, { maxBatchSize: 4, padVariableLengthInputs: true, numBatchThreads: 1 });
    const outs = await Promise.all([b({ x: f32([1, 2], [1, 2]) }), b({ x: f32([1, 3], [4, 5, 6]) })]);
    assert.deepEqual(r.runs[0].shapes, [[2, 3]]);
    assert.deepEqual(r.runs[0].x, [1, 2, 1, 4, 5, 6]);
    assert.deepEqual(
      outs.map((o) => o.y.shape),
      [
        [1, 3],
        [1, 3],
      ],
    );
  });

  it('close() runs what is queued at once and refuses new calls', async () => {
    const r = recorder();
    const b = createBatcher(r.run, { maxBatchSize: 4, batchTimeoutMicros: 10_000_000, numBatchThreads: 1 });
    const p = b({ x: f32([1, 1], [1]) });
    await sleep(5);
    const t0 = performance.now();
    await b.close();
    assert.ok(performance.now() - t0 < 1000);
    assert.equal((await p).y.data()[0], 2);
    await assert.rejects(b({ x: f32([1, 1], [1]) }), UnavailableError);
  });

  it('merges every dtype bit for bit: strings (binary), int64, float16 NaN payloads, complex, bool', async () => {
    const echo: TensorFunction = async (inputs) =>
      Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new Tensor(t.dtype, t.shape, t.data() as never)]));
    let runs = 0;
    const b = createBatcher(
      async (i) => {
        runs++;
        return echo(i);
      },
      { maxBatchSize: 8, numBatchThreads: 1 },
    );
    const make = (seed: number) => ({
      s: new Tensor('string', [2, 1], [Uint8Array.of(0, 255, seed), new TextEncoder().encode(`é${seed}`)]),
      i: new Tensor('int64', [2], BigInt64Array.of(-(2n ** 63n), BigInt(seed))),
      h: new Tensor('float16', [2], Uint16Array.of(0x7e01 + seed, 0x8000)),
      c: new Tensor('complex64', [2], Float32Array.of(1, -0, seed, NaN)),
      b: new Tensor('bool', [2, 2], Uint8Array.of(1, 0, seed % 2, 1)),
    });
    const calls = [make(1), make(2), make(3)];
    const outs = await Promise.all(calls.map((c) => b(c)));
    assert.equal(runs, 1);
    outs.forEach((o, n) => {
      for (const k of Object.keys(calls[n]) as Array<keyof ReturnType<typeof make>>) {
        const a = calls[n][k];
        assert.deepEqual(o[k].shape, a.shape);
        if (a.dtype === 'string')
          assert.deepEqual(
            o[k].bytes().map((x) => Array.from(x)),
            a.bytes().map((x) => Array.from(x)),
          );
        else assert.deepEqual(new Uint8Array((o[k].data() as Uint8Array).buffer), new Uint8Array((a.data() as Uint8Array).buffer));
      }
    });
  });
});
