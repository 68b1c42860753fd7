// The drain belongs to ModelServer: a user who mounts `restHandler()` on their own node:http server (and the
// gRPC services on their own grpc-js server) and calls `close()` gets every request in progress answered before
// the models unload; requests that arrive after `close()` get HTTP 503 / gRPC UNAVAILABLE at once; a request
// that does not finish within `drainTimeoutMs` is cancelled (503) and `close()` still resolves. The model
// (fixtures/row_counter, 2x + 1) is batched with a long batch timeout, so requests wait in the queue while
// `close()` is called.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { cpSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ModelServer } from '../../src/serving/model_server';
import type { ServingBackend } from '../../src/serving/grpc';
import { callRaw, GrpcHarness, startGrpc } from './grpc_helpers';
import { SERVING_FIXTURES, tempDir } from './rest_helpers';

const BATCH_TIMEOUT_MS = 400;

interface Answer {
  status: number;
  connection: string | undefined;
  json: { predictions?: number[]; error?: string };
}

/** POSTs `body` to `url`; with `bodyLater`, the headers go first (Expect: 100-continue) and the body once it resolves. */
function post(url: string, body: string, bodyLater?: Promise<void>, onContinue?: () => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (bodyLater) headers.expect = '100-continue';
    const req = http.request(url, { method: 'POST', headers, timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, json: JSON.parse(text) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    if (!bodyLater) req.end(body);
    else
      req.on('continue', () => {
        onContinue?.();
        void bodyLater.then(() => req.end(body));
      });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('serving: ModelServer.close() drains an embedded server (own node:http + restHandler, own grpc-js)', { timeout: 120_000 }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function embedded(drainTimeoutMs?: number) {
    const tmp = tempDir('tfhub-drain-');
    cleanups.push(() => tmp.remove());
    cpSync(path.join(SERVING_FIXTURES, 'row_counter'), path.join(tmp.dir, '1'), { recursive: true });
    const server = new ModelServer({
      modelName: 'rc',
      modelBasePath: tmp.dir,
      fileSystemPollWaitSeconds: 0,
      drainTimeoutMs,
      batching: { maxBatchSize: 64, batchTimeoutMicros: BATCH_TIMEOUT_MS * 1000, numBatchThreads: 1, maxEnqueuedBatches: 8 },
    });
    cleanups.push(() => server.close());
    await server.start();
    let restArrived = 0;
    const srv = http.createServer(server.restHandler());
    srv.on('request', () => restArrived++);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    });
    // The gRPC services over the server, counting the Predict calls that reached it.
    let grpcArrived = 0;
    const backend: ServingBackend = {
      predict: (...a) => {
        grpcArrived++;
        return server.predict(...a);
      },
      classify: (...a) => server.classify(...a),
      regress: (...a) => server.regress(...a),
      getModelMetadata: (...a) => server.getModelMetadata(...a),
      getModelStatus: (...a) => server.getModelStatus(...a),
      reloadConfig: (...a) => server.reloadConfig(...a),
      admit: (...a) => server.admit(...a),
    };
    const g: GrpcHarness = await startGrpc(backend);
    cleanups.push(() => g.close());
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1/models/rc:predict`;
    return { server, srv, g, url, arrived: () => ({ rest: restArrived, grpc: grpcArrived }) };
  }

  const grpcPredict = (g: GrpcHarness, x: number[]) =>
    callRaw(g, 'Predict', {
      modelSpec: { name: 'rc' },
      inputs: { x: { dtype: 1, tensorShape: { dim: [{ size: x.length }] }, floatVal: x } },
    });

  async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  }

  it('requests in progress when close() is called all get their answers; new ones get 503 / UNAVAILABLE; close() resolves', async () => {
    const { server, g, url, arrived } = await embedded();
    // Six REST and three gRPC requests wait in the batch queue; one more REST request has only sent its headers.
    const rest = Array.from({ length: 6 }, (_, i) => post(url, JSON.stringify({ instances: [i, -i] })));
    const calls = Array.from({ length: 3 }, (_, i) => grpcPredict(g, [10 + i]));
    let sendBody!: () => void;
    const bodyLater = new Promise<void>((resolve) => {
      sendBody = resolve;
    });
    let continued = false;
    const uploading = post(url, '{"instances": [100]}', bodyLater, () => {
      continued = true;
    });
    await until('the requests to arrive', () => arrived().rest === 7 && arrived().grpc === 3 && continued);

    const t0 = performance.now();
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    // New work is refused at once, while the admitted requests wait in the queue.
    const late = await post(url, '{"instances": [1]}');
    assert.equal(late.status, 503);
    assert.equal(late.json.error, 'Server is shutting down');
    assert.equal(late.connection, 'close');
    const lateCall = await grpcPredict(g, [1]);
    assert.equal(lateCall.error?.code, grpc.status.UNAVAILABLE, lateCall.error?.message);
    assert.match(lateCall.error?.details ?? '', /shutting down/);
    await assert.rejects(server.predict('rc', { x: [1] }), { code: 'UNAVAILABLE' });
    assert.equal(closed, false, 'close() waits for the requests in progress');
    sendBody();

    const answers = await Promise.all(rest);
    answers.forEach((a, i) => {
      assert.equal(a.status, 200, JSON.stringify(a.json));
      assert.deepEqual(a.json.predictions, [2 * i + 1, -2 * i + 1]);
      assert.equal(a.connection, 'close', 'connections close after their answer while the server closes');
    });
    const up = await uploading;
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.deepEqual(up.json.predictions, [201]);
    const got = await Promise.all(calls);
    got.forEach((r, i) => {
      assert.ifError(r.error);
      assert.deepEqual(r.response.outputs.y.floatVal, [2 * (10 + i) + 1]);
    });
    await closing;
    assert.ok(performance.now() - t0 < 15_000, 'close() resolved within the drain');
    assert.deepEqual(
      server.getModelStatus('rc').map((s) => s.state),
      ['END'],
    );
    // Closing again is the same finished close; the server keeps refusing.
    await server.close();
    assert.equal((await post(url, '{"instances": [1]}')).status, 503);
  });

  it('a request that does not finish within drainTimeoutMs is cancelled with 503 and close() resolves', async () => {
    const { server, url, arrived } = await embedded(300);
    let continued = false;
    // Headers only: the body never comes.
    const stuck = post(url, '{"instances": [1]}', new Promise<void>(() => undefined), () => {
      continued = true;
    });
    const queued = post(url, '{"instances": [2]}');
    await until('the requests to arrive', () => arrived().rest === 2 && continued);
    const t0 = performance.now();
    await server.close();
    const ms = performance.now() - t0;
    assert.ok(ms >= 250 && ms < 10_000, `close() took ${ms} ms`);
    const s = await stuck;
    assert.equal(s.status, 503);
    assert.equal(s.json.error, 'Server is shutting down');
    // The queued request got an answer too: run (its batch timeout passed within the drain) or cancelled.
    const q = await queued;
    assert.ok(q.status === 200 || q.status === 503, JSON.stringify(q));
    if (q.status === 200) assert.deepEqual(q.json.predictions, [5]);
    assert.deepEqual(
      server.getModelStatus('rc').map((v) => v.state),
      ['END'],
    );
  });

  it('a library call in progress is waited for; close() before start() and twice resolves', async () => {
    const { server } = await embedded();
    const running = server.predict('rc', { x: [3] });
    await sleep(20);
    const closing = server.close();
    const r = await running;
    assert.deepEqual(Array.from(r.outputs.y.data() as Float32Array), [7]);
    await Promise.all([closing, server.close()]);
    const fresh = new ModelServer({
      modelName: 'rc',
      modelBasePath: path.join(SERVING_FIXTURES, 'row_counter'),
      fileSystemPollWaitSeconds: 0,
    });
    await fresh.close();
    await assert.rejects(fresh.start(), { code: 'INVALID_ARGUMENT' });
  });
});
