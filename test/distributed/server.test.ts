// Server: typed errors before anything starts, sessions on a cluster target, and interoperability with Python
// TF in both directions: a Python tf.compat.v1.Session drives a Node Server, a Node Session runs on a Python
// tf.distribute.Server, and both give the numbers an in-process session gives.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Graph, Output, Server, Session } from '../../src';
import { PYTHON } from '../helpers/python';
import { freePort, killAll, start } from './procs';

after(killAll);

const X = [
  [1, 2, 3],
  [4, 5, 6],
];
const W = [
  [0.5, -1],
  [2, 0.25],
  [-3, 1.5],
];

/** y = tanh(x @ w) + 1 on `device` (x, w constants). */
function build(device: string): { g: Graph; y: Output } {
  const g = new Graph();
  const y = g.withDevice(device, () => {
    const mm = g.addOperation('MatMul', { inputs: [g.constant(X, 'x', 'float32'), g.constant(W, 'w', 'float32')] }).output(0);
    const t = g.addOperation('Tanh', { inputs: [mm] }).output(0);
    return g.addOperation('AddV2', { inputs: [t, g.constant(1, 'one', 'float32')] }).output(0);
  });
  return { g, y };
}

async function compute(device: string, target?: string): Promise<number[][]> {
  const { g, y } = build(device);
  const s = new Session(g, target ? { target } : {});
  try {
    const t = await s.run(y);
    const v = t.array() as number[][];
    t.dispose();
    return v;
  } finally {
    s.close();
    g.dispose();
  }
}

describe('Server', () => {
  test('bad cluster specs, task indices, jobs and ports in use are typed errors before anything starts', async () => {
    const bad: Array<[unknown, string]> = [
      [null, 'ERR_INVALID_CLUSTER'],
      [[], 'ERR_INVALID_CLUSTER'],
      [{}, 'ERR_INVALID_CLUSTER'],
      [{ '1ps': ['127.0.0.1:2222'] }, 'ERR_INVALID_CLUSTER'],
      [{ 'w/x': ['127.0.0.1:2222'] }, 'ERR_INVALID_CLUSTER'],
      [{ worker: [] }, 'ERR_INVALID_CLUSTER'],
      [{ worker: 'h:1' }, 'ERR_INVALID_CLUSTER'],
      [{ worker: ['127.0.0.1'] }, 'ERR_INVALID_CLUSTER'],
      [{ worker: ['127.0.0.1:0'] }, 'ERR_INVALID_CLUSTER'],
      [{ worker: ['127.0.0.1:70000'] }, 'ERR_INVALID_CLUSTER'],
      [{ worker: ['127.0.0.1:x'] }, 'ERR_INVALID_CLUSTER'],
      [{ worker: [42] }, 'ERR_INVALID_CLUSTER'],
      [{ worker: { '-1': '127.0.0.1:1' } }, 'ERR_INVALID_CLUSTER'],
      [{ worker: ['127.0.0.1:5', '127.0.0.1:5'] }, 'ERR_INVALID_CLUSTER'],
    ];
    for (const [cluster, code] of bad) {
      assert.throws(() => new Server({ cluster: cluster as never, jobName: 'worker' }), { code }, JSON.stringify(cluster));
    }
    const port = await freePort();
    const cluster = { worker: [`127.0.0.1:${port}`] };
    assert.throws(() => new Server({ cluster, jobName: 'ps' }), { code: 'ERR_INVALID_CLUSTER' });
    assert.throws(() => new Server({ cluster, jobName: 'worker', taskIndex: 1 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => new Server({ cluster, jobName: 'worker', taskIndex: 0.5 }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => new Server({ cluster: { worker: { 3: `127.0.0.1:${port}` } }, jobName: 'worker', taskIndex: 0 }), {
      code: 'ERR_OUT_OF_RANGE',
    });
    // A port some other socket listens on.
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      assert.throws(() => new Server({ cluster, jobName: 'worker' }), { code: 'ERR_PORT_IN_USE' });
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    // Not started: stop and close release it (the port can be bound again).
    const idle = new Server({ cluster, jobName: 'worker', start: false });
    assert.equal(idle.isStarted, false);
    idle.stop();
    await idle.join();
    idle.close();
    assert.throws(() => idle.start(), { code: 'ERR_DISPOSED' });
  });

  test('a Node session on a Node server: listDevices shows the cluster, numbers equal in-process, join does not block', async () => {
    const [p0, p1] = [await freePort(), await freePort()];
    const cluster = { worker: [`127.0.0.1:${p0}`], ps: [`127.0.0.1:${p1}`] };
    const ps = new Server({ cluster, jobName: 'ps', config: { deviceCount: { CPU: 2 } } });
    const worker = new Server({ cluster, jobName: 'worker' });
    assert.equal(worker.target, `grpc://127.0.0.1:${p0}`);
    const { g } = build('');
    const s = new Session(g, { target: worker.target });
    const names = s
      .listDevices()
      .map((d) => d.name)
      .sort();
    s.close();
    g.dispose();
    assert.ok(names.includes('/job:worker/replica:0/task:0/device:CPU:0'), names.join());
    assert.ok(
      names.includes('/job:ps/replica:0/task:0/device:CPU:0') && names.includes('/job:ps/replica:0/task:0/device:CPU:1'),
      names.join(),
    );
    const local = await compute('');
    assert.deepEqual(await compute('/job:ps/task:0/device:CPU:1', worker.target), local);
    // join() runs off the event loop: timers keep firing while it is pending; close() settles it.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const joined = worker.join();
    await new Promise((r) => setTimeout(r, 60));
    clearInterval(timer);
    assert.ok(ticks >= 3, `event loop ran ${ticks} ticks during join`);
    assert.throws(() => worker.stop(), { code: 'UNIMPLEMENTED' });
    worker.close();
    await joined;
    ps.close();
  });

  test('Python drives a Node server and Node drives a Python server: same numbers', async (t) => {
    const [nodePort, pyPort] = [await freePort(), await freePort()];
    const server = new Server({ cluster: { node: [`127.0.0.1:${nodePort}`] }, jobName: 'node' });
    const script = `
import json, sys
import numpy as np
import tensorflow as tf
tf1 = tf.compat.v1
tf1.disable_eager_execution()
node_port, py_port = sys.argv[1], sys.argv[2]
server = tf.distribute.Server({'py': ['127.0.0.1:' + py_port]}, job_name='py', task_index=0)
g = tf.Graph()
with g.as_default(), tf1.device('/job:node/task:0'):
  y = tf.tanh(tf.matmul(tf.constant(${JSON.stringify(X)}, tf.float32), tf.constant(${JSON.stringify(W)}, tf.float32))) + 1
with tf1.Session('grpc://127.0.0.1:' + node_port, graph=g) as s:
  devices = [d.name for d in s.list_devices()]
  out = s.run(y)
print('RESULT ' + json.dumps({'y': out.tolist(), 'devices': devices}), flush=True)
print('READY', flush=True)
server.join()
`;
    const py = start(PYTHON, ['-c', script, String(nodePort), String(pyPort)]);
    try {
      let m: RegExpMatchArray;
      try {
        m = await py.waitFor(/^RESULT (.*)$/, 110_000);
      } catch (e) {
        if (/No module named '?tensorflow/.test(py.stderr()) || /ENOENT/.test(String(e)))
          return t.skip('Python TensorFlow is not installed');
        throw e;
      }
      const fromPython = JSON.parse(m[1]) as { y: number[][]; devices: string[] };
      assert.ok(fromPython.devices.includes('/job:node/replica:0/task:0/device:CPU:0'), fromPython.devices.join());
      await py.waitFor(/^READY$/, 10_000);
      const local = await compute('');
      const onPython = await compute('/job:py/task:0', `grpc://127.0.0.1:${pyPort}`);
      assert.deepEqual(onPython, local);
      // Float32 throughout: Python's client, the Python server and in-process runs agree to the last bit.
      assert.deepEqual(fromPython.y, local);
    } finally {
      py.kill();
      server.close();
    }
  });
});
