// Child-process scenarios for test/core/child.test.ts: each is run as `node child.js <scenario>` so that a crash
// (abort, segfault) shows up as the child's exit status instead of taking the test runner down.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import { Graph, Session, Tensor, tensor } from '../../../src';
import { binding } from '../../../src/native';
import { tensorflow } from '../../../src/proto';
import { misuseCases } from './misuse';
import { listThreads } from './threads';
import { buildChain } from './util';

function log(...args: unknown[]): void {
  process.stdout.write(args.map(String).join(' ') + '\n');
}

/** A small graph checked end to end: y = x² + 1. */
function smallRun(): number[] {
  const g = new Graph();
  const x = g.placeholder('float32', [3], 'x');
  const y = g.addOperation('AddV2', { inputs: [g.addOperation('Square', { inputs: [x] }).output(0), g.constant(1, 'one')] }).output(0);
  const s = new Session(g);
  const out = Array.from(s.runSync(y, { 'x:0': [1, 2, 3] }).data() as Float32Array);
  s.close();
  g.dispose();
  return out; // [2, 5, 10]
}

/** Starts `runs` long runs (not awaited). */
function startLongRuns(runs: number, depth = 400): Promise<unknown>[] {
  const c = buildChain(256, depth);
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < runs; i++)
    pending.push(
      c.session.run(c.y, new Map([[c.x, c.ones]])).then(
        (t) => t.data()[0],
        (e) => `rejected ${(e as Error).message}`,
      ),
    );
  return pending;
}

/** Runs each case, printing one JSON line (threw, error class, code, message) per case, then 'done'. */
async function runCases(cases: Array<[string, () => unknown]>): Promise<void> {
  for (const [name, fn] of cases) {
    try {
      await fn();
      log(JSON.stringify({ name, threw: false }));
    } catch (e) {
      const err = e as Error & { code?: string };
      const message = String(err.message).slice(0, 160);
      log(JSON.stringify({ name, threw: true, errorName: err.constructor.name, code: err.code, message }));
    }
  }
  log('done');
}

function waitMessage(w: Worker, expected: string): Promise<void> {
  return new Promise((resolve, reject) => {
    w.on('message', (m) => {
      if (m === expected) resolve();
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited (${code}) before '${expected}'`)));
  });
}

// ------------------------------------------------------------------------------------------- worker side

async function workerMain(mode: string): Promise<void> {
  if (mode === 'run-then-report') {
    parentPort!.postMessage(`result ${smallRun().join(',')}`);
    return;
  }
  if (mode === 'long-run') {
    startLongRuns(2);
    setTimeout(() => parentPort!.postMessage('started'), 50);
    return;
  }
  if (mode === 'exit-in-flight') {
    startLongRuns(2);
    setTimeout(() => process.exit(3), 50);
    return;
  }
  if (mode === 'sessions') {
    // Many sessions, some closed, some with runs in flight, some just dropped.
    for (let i = 0; i < 20; i++) {
      const g = new Graph();
      const x = g.placeholder('float32', [64, 64], 'x');
      const y = g.addOperation('MatMul', { inputs: [x, x] }).output(0);
      const s = new Session(g);
      if (i % 3 === 0) s.close();
      else s.run(y, { 'x:0': new Float32Array(64 * 64).fill(1) }).catch(() => undefined);
    }
    startLongRuns(1, 200);
    // Stay alive until terminated: a worker whose runs all finished would exit by itself first, and terminate()
    // of an exited worker resolves with no code.
    setInterval(() => undefined, 60_000);
    parentPort!.postMessage('made');
  }
}

// --------------------------------------------------------------------------------------------- scenarios

const scenarios: Record<string, () => Promise<void> | void> = {
  // process.exit() while runs are in flight must not crash (exit() runs TF's static destructors).
  'exit-in-flight'() {
    const pending = startLongRuns(4);
    void pending;
    process.on('exit', (code) => log(`exit event ${code}`));
    setTimeout(() => {
      log('exiting');
      process.exit(0);
    }, 100);
  },

  // An uncaught exception with runs in flight: exit code 1, no signal.
  'throw-in-flight'() {
    startLongRuns(3);
    setTimeout(() => {
      throw new Error('boom-in-flight');
    }, 100);
  },

  // TFHUB_NODE_WAIT_US: the JS thread waits for a lone run and settles it at once. Sequential runs, a failing run,
  // concurrent runs (no waiting then) all settle correctly, and the process then exits on its own (nothing left
  // referenced).
  async 'wait-settles'() {
    process.env.TFHUB_NODE_WAIT_US = '5000'; // read at the first binding() call, below
    const g = new Graph();
    const x = g.placeholder('float32', [3], 'x');
    const y = g.addOperation('AddV2', { inputs: [g.addOperation('Square', { inputs: [x] }).output(0), g.constant(1, 'one')] }).output(0);
    const s = new Session(g, { inline: true });
    let sum = 0;
    for (let i = 0; i < 200; i++) {
      const t = await s.run(y, new Map([[x, new Tensor('float32', [3], [i, 1, 2])]]));
      sum += (t.data() as Float32Array)[0];
      t.dispose();
    }
    log(`sequential ${sum}`); // Σ (i² + 1) over 0..199 = 2646900
    const bad = g
      .addOperation('CheckNumerics', { inputs: [g.addOperation('Log', { inputs: [x] }).output(0)], attrs: { message: 'log of negative' } })
      .output(0);
    await s.run(bad, new Map([[x, new Tensor('float32', [3], [-1, 1, 2])]])).then(
      () => log('no error'),
      (e: Error) => log(`rejected ${e.constructor.name}`),
    );
    const all = await Promise.all(Array.from({ length: 16 }, (_, i) => s.run(y, new Map([[x, new Tensor('float32', [3], [i, 0, 0])]]))));
    log(`concurrent ${all.map((t) => (t.data() as Float32Array)[0]).join(',')}`);
  },

  // TFHUB_NODE_WORKER_NICE=argv[3] (unset when absent): 16 concurrent runs of a 64×64 MatMul on a session using the
  // process-wide pools and on one with its own pools, then one JSON line per thread of the process (whether it
  // existed before TensorFlow was loaded, whether it is the main thread) and the runs' results.
  async 'worker-nice'() {
    if (process.argv[3] !== undefined) process.env.TFHUB_NODE_WORKER_NICE = process.argv[3];
    const before = new Set(listThreads().map((t) => t.tid));
    const g = new Graph();
    const x = g.placeholder('float32', [64, 64], 'x');
    const y = g.addOperation('MatMul', { inputs: [x, x] }).output(0);
    const data = Float32Array.from({ length: 64 * 64 }, (_, i) => ((i * 7) % 13) / 13);
    const sums: number[] = [];
    for (const s of [new Session(g), new Session(g, { usePerSessionThreads: true, inline: true })]) {
      const out = await Promise.all(Array.from({ length: 16 }, () => s.run(y, { 'x:0': new Tensor('float32', [64, 64], data) })));
      for (const t of out) sums.push((t.data() as Float32Array).reduce((a, b) => a + b, 0));
    }
    let expected = 0; // Σ_ij (x·x)_ij = Σ_k (Σ_i x_ik)(Σ_j x_kj)
    for (let k = 0; k < 64; k++) {
      let col = 0;
      let row = 0;
      for (let i = 0; i < 64; i++) {
        col += data[i * 64 + k];
        row += data[k * 64 + i];
      }
      expected += col * row;
    }
    log(JSON.stringify({ sums, expected }));
    for (const t of listThreads()) log(JSON.stringify({ ...t, main: t.tid === process.pid, old: before.has(t.tid) }));
  },

  // A pending run keeps the process alive until it settles; then the process exits on its own.
  'natural-exit'() {
    const c = buildChain(64, 50);
    c.session.run(c.y, new Map([[c.x, c.ones]])).then((t) => log(`resolved ${t.data()[0]} ${t.shape.join('x')}`));
  },

  // Load in a worker_thread, run there, exit it normally; then terminate workers in the middle of runs.
  async 'worker-lifecycle'() {
    const w1 = new Worker(__filename, { workerData: 'run-then-report' });
    // Listen for 'exit' from the start: a worker that ends right after posting has its last messages and its
    // 'exit' emitted in one go, before an await on the message could attach the listener.
    const exited = new Promise((resolve) => w1.once('exit', resolve));
    const result = await new Promise<string>((resolve, reject) => {
      w1.once('message', resolve);
      w1.once('error', reject);
    });
    log(`worker ${result}`);
    await exited;
    for (let i = 0; i < 2; i++) {
      const w = new Worker(__filename, { workerData: 'long-run' });
      await waitMessage(w, 'started');
      const t0 = Date.now();
      const code = await w.terminate();
      log(`terminated ${i} code ${code} after ${Date.now() - t0} ms`);
    }
    const w3 = new Worker(__filename, { workerData: 'exit-in-flight' });
    const code3 = await new Promise<number>((resolve) => w3.once('exit', resolve));
    log(`worker process.exit code ${code3}`);
    log(`main ${smallRun().join(',')}`);
  },

  // Workers that create sessions (runs in flight, some closed, none disposed) and are terminated.
  async 'worker-sessions'() {
    for (let round = 0; round < 2; round++) {
      const workers = [0, 1].map(() => new Worker(__filename, { workerData: 'sessions' }));
      await Promise.all(workers.map((w) => waitMessage(w, 'made')));
      const codes = await Promise.all(workers.map((w) => w.terminate()));
      log(`round ${round} terminated ${codes.join(',')}`);
    }
    log(`main ${smallRun().join(',')}`);
  },

  // Hostile inputs: each must be a typed error, never an abort. Prints one JSON line per case.
  async hostile() {
    const b = binding();
    const g = new Graph();
    const s = new Session(g);
    const t = new Tensor('float32', [2], [1, 2]);
    const cases: Array<[string, () => unknown]> = [
      ['Tensor [2**40, 2**40]', () => new Tensor('float32', [2 ** 40, 2 ** 40], new Float32Array(1))],
      ['Tensor string [2**40, 2**40]', () => new Tensor('string', [2 ** 40, 2 ** 40], [])],
      ['Tensor dim 1e300', () => new Tensor('float32', [1e300], new Float32Array(1))],
      ['Tensor dim -1', () => new Tensor('float32', [-1], new Float32Array(0))],
      ['Tensor dim NaN', () => new Tensor('float32', [NaN], new Float32Array(0))],
      ['raw fromData [2**40, 2**40]', () => b.Tensor.fromData(1, [2 ** 40, 2 ** 40], new Float32Array(1))],
      ['raw fromData 2**64 elements', () => b.Tensor.fromData(1, [2 ** 31, 2 ** 31, 4], new Float32Array(0))],
      ['raw fromData 2**63 dim', () => b.Tensor.fromData(1, [0, 2 ** 63], new Float32Array(0))],
      ['raw fromData bad dtype', () => b.Tensor.fromData(999, [1], new Float32Array(1))],
      ['raw fromData string dtype', () => b.Tensor.fromData(7, [1], new Float32Array(1))],
      ['raw fromStrings count', () => b.Tensor.fromStrings([2 ** 40], [])],
      ['raw fromStrings non-bytes', () => b.Tensor.fromStrings([1], [{} as Uint8Array])],
      ['placeholder [2**40, 2**40]', () => g.placeholder('float32', [2 ** 40, 2 ** 40])],
      [
        'Fill fed [2**40, 2**40]',
        () => {
          const dims = g.placeholder('int64', [2], 'fill_dims');
          const f = g.addOperation('Fill', { inputs: [dims, g.constant(1, 'fill_v')] }).output(0);
          return s.runSync(f, { 'fill_dims:0': [2n ** 40n, 2n ** 40n] });
        },
      ],
      [
        'Reshape fed huge',
        () => {
          const sh = g.placeholder('int32', [2], 'rs_shape');
          const r = g.addOperation('Reshape', { inputs: [g.constant([1, 2, 3, 4], 'rs_v'), sh] }).output(0);
          return s.runSync(r, { 'rs_shape:0': [2 ** 30, 2 ** 30] });
        },
      ],
      ['output index 2**40', () => g.native.tensorShape([g.constant(1, 'oi').op.native, 2 ** 40])],
      [
        'feed index out of range',
        () => s.native.runSync([g.operation('oi')!.native], Int32Array.of(7), [t.native], [], new Int32Array(0), []),
      ],
      [
        'forged Operation handle',
        () =>
          s.native.runSync([], new Int32Array(0), [], [], new Int32Array(0), [
            Object.create(Object.getPrototypeOf(g.operation('oi')!.native)),
          ]),
      ],
      [
        'forged Tensor handle',
        () =>
          s.native.runSync(
            [g.operation('oi')!.native],
            Int32Array.of(0),
            [Object.create(Object.getPrototypeOf(t.native))],
            [],
            new Int32Array(0),
            [],
          ),
      ],
      [
        'Graph as feed value',
        () => s.native.runSync([g.operation('oi')!.native], Int32Array.of(0), [g.native as never], [], new Int32Array(0), []),
      ],
      ['malformed GraphDef', () => g.importGraphDef(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]))],
      [
        'GraphDef with dangling input',
        () => {
          const gd = new Graph();
          gd.addOperation('Identity', { name: 'id', inputs: [gd.constant(1, 'src')] });
          const bytes = gd.toGraphDef();
          const def = tensorflow.GraphDef.decode(bytes);
          def.node = def.node.filter((n) => n.name !== 'src') as typeof def.node;
          return new Graph().importGraphDef(tensorflow.GraphDef.encode(def).finish());
        },
      ],
      ['setTensorShape incompatible', () => g.native.setTensorShape(g.constant([1, 2], 'sts').native as never, [5])],
      ['tensor from ragged array', () => tensor([[1, 2], [3]])],
    ];
    await runCases(cases);
  },

  // API misuse (issue 11): typed errors, never a crash or a stack overflow. One JSON line per case.
  async misuse() {
    await runCases(misuseCases());
  },

  // Grappler's constant folding materializes a Fill with constant dims (that is not itself fetched) through a
  // CHECK-ing TensorShape constructor: TensorFlow aborts the process (a TF bug; see the todo test).
  'fill-constant-folded'() {
    const g = new Graph();
    const f = g.addOperation('Fill', { inputs: [g.constant([2 ** 40, 2 ** 40], 'dims', 'int64'), g.constant(1, 'v')] }).output(0);
    const y = g.addOperation('Identity', { inputs: [f] }).output(0);
    const s = new Session(g);
    try {
      s.runSync(y);
      log('no error');
    } catch (e) {
      log(`typed ${(e as Error).constructor.name} ${(e as { code?: string }).code}`);
    }
  },
};

if (isMainThread) {
  const name = process.argv[2];
  const scenario = scenarios[name];
  if (!scenario) {
    log(`unknown scenario ${name}`);
    process.exit(2);
  }
  Promise.resolve(scenario()).catch((e) => {
    log(`scenario failed: ${(e as Error).stack}`);
    process.exit(2);
  });
} else {
  void workerMain(workerData as string);
}
