// Crash-prone situations, each in its own node process: a crash shows up as the child's exit status.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { DEFAULT_WORKER_NICE } from '../../src/native';
import { describeChild, runChild } from './helpers/util';

describe('child processes: typed errors, never a crash', { concurrency: 2 }, () => {
  it('process.exit() with runs in flight exits cleanly (3 times)', async () => {
    // Without cancelling in-flight runs at 'exit', exit()'s static destructors (oneDNN JIT code) raced with
    // running kernels: SIGSEGV about every other time.
    for (let i = 0; i < 3; i++) {
      const r = await runChild('exit-in-flight');
      assert.equal(r.signal, null, describeChild(r));
      assert.equal(r.code, 0, describeChild(r));
      assert.match(r.stdout, /^exiting\nexit event 0\n$/, describeChild(r));
      assert.ok(r.ms < 20_000, `exit took ${r.ms} ms`);
    }
  });

  it('an uncaught exception with runs in flight exits with code 1, not a signal', async () => {
    const r = await runChild('throw-in-flight');
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 1, describeChild(r));
    assert.match(r.stderr, /boom-in-flight/);
  });

  it('TFHUB_NODE_WAIT_US (runs settled without an event-loop wake-up): same results, errors, exit', async () => {
    const r = await runChild('wait-settles');
    assert.equal(r.code, 0, describeChild(r));
    const squares = Array.from({ length: 16 }, (_, i) => i * i + 1).join(',');
    assert.equal(r.stdout, `sequential 2646900\nrejected InvalidArgumentError\nconcurrent ${squares}\n`, describeChild(r));
  });

  it(
    "TFHUB_NODE_WORKER_NICE: run threads and the threads TF creates for sessions get it; Node's threads keep theirs",
    { skip: process.platform !== 'linux' },
    async () => {
      for (const nice of ['7', '0', undefined]) {
        const r = await runChild('worker-nice', nice === undefined ? [] : [nice]);
        assert.equal(r.code, 0, describeChild(r));
        const [result, ...threads] = r.stdout
          .trim()
          .split('\n')
          .map(
            (l) =>
              JSON.parse(l) as { tid: number; name: string; nice: number; main: boolean; old: boolean } & {
                sums: number[];
                expected: number;
              },
          );
        assert.equal(result.sums.length, 32);
        for (const sum of result.sums) assert.ok(Math.abs(sum - result.expected) <= 1e-5 * result.expected, `${sum} vs ${result.expected}`);
        const base = threads.find((t) => t.main)!.nice;
        const want = Math.min(19, base + Number(nice ?? DEFAULT_WORKER_NICE));
        const show = JSON.stringify(threads);
        // Threads of Node (main, V8's platform workers) and those TF made on the JS thread (tf_graph_runner, used while
        // building graphs) keep the process's priority; libuv's pool is Node's too.
        for (const t of threads.filter((x) => x.old || x.name === 'libuv-worker' || x.name === 'tf_graph_runner'))
          assert.equal(t.nice, base, show);
        const ours = threads.filter((x) => !x.old && x.name !== 'libuv-worker' && x.name !== 'tf_graph_runner');
        assert.ok(ours.filter((t) => t.name === 'tfhub-run').length >= 1, show);
        // TF's inter-op pools name their threads tf_Compute; its intra-op pool's threads inherit "tfhub-session".
        assert.ok(ours.filter((t) => t.name === 'tf_Compute').length >= 2, show);
        assert.ok(ours.filter((t) => t.name === 'tfhub-session').length >= 1, show);
        for (const t of ours) assert.equal(t.nice, want, `${nice}: ${show}`);
      }
    },
  );

  it('a pending run keeps the process alive until it resolves', async () => {
    const r = await runChild('natural-exit');
    assert.equal(r.code, 0, describeChild(r));
    assert.equal(r.stdout, 'resolved 1 64x64\n');
  });

  it('loads in a worker_thread; terminating workers or process.exit() in a worker mid-run is safe', async () => {
    const r = await runChild('worker-lifecycle');
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 0, describeChild(r));
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 5, describeChild(r));
    assert.equal(lines[0], 'worker result 2,5,10');
    assert.match(lines[1], /^terminated 0 code 1 after \d+ ms$/);
    assert.match(lines[2], /^terminated 1 code 1 after \d+ ms$/);
    assert.equal(lines[3], 'worker process.exit code 3');
    assert.equal(lines[4], 'main 2,5,10');
    // Termination cancels the in-flight step instead of waiting for the whole (multi-second) chain.
    for (const line of lines.slice(1, 3)) assert.ok(Number(/after (\d+)/.exec(line)![1]) < 5000, line);
  });

  it('workers that create sessions (runs in flight, nothing disposed) can be terminated', async () => {
    const r = await runChild('worker-sessions');
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 0, describeChild(r));
    assert.equal(r.stdout, 'round 0 terminated 1,1\nround 1 terminated 1,1\nmain 2,5,10\n');
  });

  it('hostile inputs (huge shapes, forged handles, bad indices, malformed protos) give typed errors', async () => {
    const r = await runChild('hostile');
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 0, describeChild(r));
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.at(-1), 'done', describeChild(r));
    const results = new Map<string, { threw: boolean; errorName: string; code: string; message: string }>(
      lines.slice(0, -1).map((l) => {
        const o = JSON.parse(l);
        return [o.name, o];
      }),
    );
    const expected: Array<[string, string, string | RegExp]> = [
      ['Tensor [2**40, 2**40]', 'RangeError', 'ERR_INVALID_SHAPE'],
      ['Tensor string [2**40, 2**40]', 'RangeError', 'ERR_INVALID_SHAPE'],
      ['Tensor dim 1e300', 'TypeError', 'ERR_INVALID_SHAPE'],
      ['Tensor dim -1', 'TypeError', 'ERR_INVALID_SHAPE'],
      ['Tensor dim NaN', 'TypeError', 'ERR_INVALID_SHAPE'],
      ['raw fromData [2**40, 2**40]', 'TfhubError', 'ERR_INVALID_SHAPE'],
      ['raw fromData 2**64 elements', 'TfhubError', 'ERR_INVALID_SHAPE'],
      ['raw fromData 2**63 dim', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['raw fromData bad dtype', 'TypeError', 'ERR_INVALID_DTYPE'],
      ['raw fromData string dtype', 'TypeError', 'ERR_INVALID_DTYPE'],
      ['raw fromStrings count', 'TfhubError', 'ERR_INVALID_DATA_LENGTH'],
      ['raw fromStrings non-bytes', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['placeholder [2**40, 2**40]', 'InvalidArgumentError', 'INVALID_ARGUMENT'],
      ['Fill fed [2**40, 2**40]', 'InvalidArgumentError', 'INVALID_ARGUMENT'],
      ['Reshape fed huge', 'InvalidArgumentError', 'INVALID_ARGUMENT'],
      ['output index 2**40', 'TfhubError', 'ERR_OUT_OF_RANGE'],
      ['feed index out of range', 'TfhubError', 'ERR_OUT_OF_RANGE'],
      ['forged Operation handle', 'TypeError', 'ERR_INVALID_HANDLE'],
      ['forged Tensor handle', 'TypeError', 'ERR_INVALID_HANDLE'],
      ['Graph as feed value', 'TypeError', 'ERR_INVALID_HANDLE'],
      ['malformed GraphDef', 'InvalidArgumentError', 'INVALID_ARGUMENT'],
      ['GraphDef with dangling input', 'InvalidArgumentError', 'INVALID_ARGUMENT'],
      ['setTensorShape incompatible', 'InvalidArgumentError', 'INVALID_ARGUMENT'],
      ['tensor from ragged array', 'TypeError', 'ERR_INVALID_ARG_VALUE'],
    ];
    for (const [name, errorName, code] of expected) {
      const got = results.get(name);
      assert.ok(got, `case '${name}' missing\n${describeChild(r)}`);
      assert.equal(got.threw, true, `${name} did not throw`);
      assert.deepEqual([got.errorName, got.code], [errorName, code], `${name}: ${got.message}`);
    }
    assert.match(results.get('Fill fed [2**40, 2**40]')!.message, /more than 2\*\*63 - 1 elements/);
  });

  it(
    'Fill with constant huge dims feeding another op: a typed error instead of an abort',
    {
      todo: 'TensorFlow 2.21 bug: grappler ConstantFolding::MaterializeConstantValuedNode CHECK-fails (abort) on shape [2**40, 2**40]',
    },
    async () => {
      const r = await runChild('fill-constant-folded');
      assert.equal(r.signal, null, describeChild(r));
      assert.equal(r.code, 0, describeChild(r));
      assert.equal(r.stdout, 'typed InvalidArgumentError INVALID_ARGUMENT\n');
    },
  );
});

describe('API misuse (issue 11): typed errors with codes, in a child process', () => {
  it('every case throws a TypeError/RangeError/TfhubError with a code; nothing crashes', async () => {
    const r = await runChild('misuse');
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 0, describeChild(r));
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.at(-1), 'done', describeChild(r));
    const results = new Map<string, { threw: boolean; errorName: string; code: string; message: string }>(
      lines.slice(0, -1).map((l) => {
        const o = JSON.parse(l);
        return [o.name, o];
      }),
    );
    const expected: Array<[string, string, string, RegExp?]> = [
      ['new Tensor(3)', 'TypeError', 'ERR_INVALID_DTYPE', /got number/],
      ['new Tensor(null)', 'TypeError', 'ERR_INVALID_DTYPE', /got null/],
      ['new Tensor(undefined)', 'TypeError', 'ERR_INVALID_DTYPE'],
      ['new Tensor({})', 'TypeError', 'ERR_INVALID_DTYPE'],
      ['new Tensor(true)', 'TypeError', 'ERR_INVALID_DTYPE'],
      ['new Tensor(Symbol)', 'TypeError', 'ERR_INVALID_DTYPE'],
      ['new Tensor(forged handle)', 'TypeError', 'ERR_INVALID_HANDLE'],
      ['new Tensor(unknown dtype)', 'TypeError', 'ERR_INVALID_DTYPE'],
      ['new Tensor(rank 10000)', 'RangeError', 'ERR_INVALID_SHAPE'],
      ['tensor(new Array(2**32-1))', 'RangeError', 'ERR_VALUE_TOO_LARGE'],
      ['tensor(Proxy length 2**32-1)', 'RangeError', 'ERR_VALUE_TOO_LARGE'],
      ['tensor(nested 2**16 x 2**16)', 'RangeError', 'ERR_VALUE_TOO_LARGE'],
      ['new Tensor float32 new Array(2**32-1)', 'RangeError', 'ERR_VALUE_TOO_LARGE'],
      ['new Tensor string new Array(2**32-1)', 'RangeError', 'ERR_VALUE_TOO_LARGE'],
      ['new Tensor float32 Proxy length', 'RangeError', 'ERR_INVALID_DATA_LENGTH'],
      ['feed new Array(2**32-1)', 'RangeError', 'ERR_VALUE_TOO_LARGE', /cannot feed x:0/],
      ['feed Proxy length 2**32-1', 'RangeError', 'ERR_VALUE_TOO_LARGE'],
      ['feed nested 20000 deep', 'TypeError', 'ERR_INVALID_ARG_VALUE'],
      ['tensor nested 20000 deep', 'TypeError', 'ERR_INVALID_ARG_VALUE'],
      ['fetch array 20000 deep', 'TypeError', 'ERR_INVALID_ARG_VALUE', /deeper than 254/],
      ['fetch record 20000 deep', 'TypeError', 'ERR_INVALID_ARG_VALUE', /deeper than 254/],
      ['async fetch 20000 deep', 'TypeError', 'ERR_INVALID_ARG_VALUE'],
      ['withNameScope(null)', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['withNameScope(name, null)', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['uniqueName(null)', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['uniqueName(5)', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['isNameUsed(undefined)', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['addToCollection(variables, null)', 'TypeError', 'ERR_INVALID_ARG_VALUE'],
      ['addToCollection(variables, undefined)', 'TypeError', 'ERR_INVALID_ARG_VALUE'],
      ['addToCollection(null, 1)', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['getCollection({})', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['run(x, 5)', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['run(x, [])', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['run(x, feeds, 5)', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['run targets not an array', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['run timeoutMs -1', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['run timeoutMs NaN', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['addOperation inputs not an array', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['intraOpParallelism 1e9', 'RangeError', 'ERR_OUT_OF_RANGE', /\[0, 4096\]/],
      ['intraOpParallelism -1', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['intraOpParallelism 1.5', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['intraOpParallelism NaN', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['intraOpParallelism Infinity', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['intraOpParallelism "4"', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['interOpParallelism 1e9', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['interOpParallelism -3', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['deviceCount CPU 1e9', 'RangeError', 'ERR_OUT_OF_RANGE', /deviceCount\.CPU/],
      ['deviceCount GPU -1', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['deviceCount CPU 0.5', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['deviceCount not a record', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['deviceFilters a string', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['deviceFilters [1]', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['deviceFilters 5000 entries', 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['unknown session option', 'TypeError', 'ERR_INVALID_ARG_VALUE', /intraOpParalelism/],
      ['allowSoftPlacement "yes"', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['config not bytes', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['options 5', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ['placeholder [-2, 2]', 'TypeError', 'ERR_INVALID_SHAPE', /element 0 is -2/],
      ['placeholder [2, "a"]', 'TypeError', 'ERR_INVALID_SHAPE', /element 1 is "a"/],
      ['placeholder [2, 1.5]', 'TypeError', 'ERR_INVALID_SHAPE', /element 1 is 1\.5/],
      ['placeholder shape "abc"', 'TypeError', 'ERR_INVALID_SHAPE'],
      ['placeholder shape new Array(2**32-1)', 'RangeError', 'ERR_INVALID_SHAPE'],
      ['Placeholder attr shape [null, NaN]', 'TypeError', 'ERR_INVALID_SHAPE', /element 1 is NaN/],
      ['list(shape) attr with a bad shape', 'TypeError', 'ERR_INVALID_SHAPE', /shape 0: element 1 is -5/],
      ['list attr new Array(2**32-1)', 'RangeError', 'ERR_VALUE_TOO_LARGE'],
    ];
    assert.deepEqual([...results.keys()].sort(), expected.map(([n]) => n).sort(), 'every case has an expectation');
    for (const [name, errorName, code, message] of expected) {
      const got = results.get(name)!;
      assert.equal(got.threw, true, `${name} did not throw`);
      assert.deepEqual([got.errorName, got.code], [errorName, code], `${name}: ${got.message}`);
      if (message) assert.match(got.message, message, name);
    }
  });
});
