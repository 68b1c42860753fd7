// Deadlines and cancellation end to end, through real REST and gRPC clients: `--rest_api_timeout_in_ms` and gRPC
// deadlines take a request out of the batch queue with DEADLINE_EXCEEDED (HTTP 504, as TF Serving's
// ToHTTPStatusCode maps it; gRPC status 4), and a request whose client went away (socket closed, call cancelled)
// is dropped from the queue. The model (fixtures/row_counter) counts the rows it runs on, so "did not run" is
// checked: a control request queued in the same batch runs, and the counter grows by its rows only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ModelServer } from '../../src/serving/model_server';
import { createRestHandler } from '../../src/serving/rest/handler';
import { callRaw, GrpcHarness, startGrpc } from './grpc_helpers';
import { SERVING_FIXTURES, tempDir } from './rest_helpers';
import { cpSync } from 'node:fs';

/** Batch timeout: a lone request waits this long in the queue, so deadlines shorter than it drop it there. */
const BATCH_TIMEOUT_MS = 700;
const REST_TIMEOUT_MS = 250;

async function listen(handler: http.RequestListener): Promise<{ srv: http.Server; url: string }> {
  const srv = http.createServer(handler);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { srv, url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` };
}

function post(
  url: string,
  body: string,
  signal?: AbortSignal,
): Promise<{ status: number; json: { error?: string; predictions?: number[] } }> {
  return fetch(url, { method: 'POST', body, signal: signal ?? AbortSignal.timeout(30_000) }).then(async (r) => ({
    status: r.status,
    json: (await r.json()) as { error?: string; predictions?: number[] },
  }));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('serving: deadlines and cancellation drop queued work', { timeout: 120_000 }, () => {
  const tmp = tempDir('tfhub-deadlines-');
  let server: ModelServer;
  let timed: { srv: http.Server; url: string };
  let untimed: { srv: http.Server; url: string };
  let g: GrpcHarness;

  before(async () => {
    cpSync(path.join(SERVING_FIXTURES, 'row_counter'), path.join(tmp.dir, '1'), { recursive: true });
    server = new ModelServer({
      modelName: 'rc',
      modelBasePath: tmp.dir,
      fileSystemPollWaitSeconds: 0,
      batching: { maxBatchSize: 64, batchTimeoutMicros: BATCH_TIMEOUT_MS * 1000, numBatchThreads: 1, maxEnqueuedBatches: 8 },
    });
    await server.start();
    timed = await listen(createRestHandler(server, { timeoutMs: REST_TIMEOUT_MS }));
    untimed = await listen(createRestHandler(server, { timeoutMs: 0 }));
    g = await startGrpc(server);
  });
  after(async () => {
    for (const s of [timed, untimed]) {
      if (!s) continue;
      s.srv.closeAllConnections();
      await new Promise<void>((resolve) => s.srv.close(() => resolve()));
    }
    await g?.close();
    await server?.close();
    tmp.remove();
  });

  async function rowsSeen(): Promise<number> {
    const { outputs } = await server.predict('rc', {}, { signatureName: 'rows_seen' });
    return (outputs.rows.data() as Float32Array)[0];
  }

  /** A one-row request without a deadline, queued beside the dropped ones: it must run (and count 1 row). */
  function control(): Promise<number[]> {
    return server.predict('rc', { x: [5] }).then((r) => Array.from(r.outputs.y.data() as Float32Array));
  }

  it('the fixture answers as Python computed (2x + 1, rows counted)', async () => {
    const before0 = await rowsSeen();
    const r = await post(`${untimed.url}/v1/models/rc:predict`, '{"instances": [1, -2]}');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.predictions, [3, -3]);
    assert.equal(await rowsSeen(), before0 + 2);
  });

  it('--rest_api_timeout_in_ms: HTTP 504 DEADLINE_EXCEEDED at the timeout, and the queued request never runs', async () => {
    const start = await rowsSeen();
    const t0 = performance.now();
    const [r, ctl] = await Promise.all([post(`${timed.url}/v1/models/rc:predict`, '{"instances": [1, 2, 3]}'), control()]);
    const ms = performance.now() - t0;
    assert.equal(r.status, 504);
    assert.match(r.json.error ?? '', /Deadline Exceeded/);
    assert.deepEqual(ctl, [11]);
    assert.ok(ms >= BATCH_TIMEOUT_MS - 50, `control answered after ${ms} ms`);
    assert.equal(await rowsSeen(), start + 1, 'only the control row ran');
  });

  it('a REST client that closes its socket is dropped from the queue', async () => {
    const start = await rowsSeen();
    const ctl = control();
    const body = '{"instances": [1, 2, 3, 4]}';
    const closed = new Promise<string>((resolve) => {
      const req = http.request(`${untimed.url}/v1/models/rc:predict`, {
        method: 'POST',
        headers: { 'content-length': Buffer.byteLength(body) },
      });
      req.on('error', (e) => resolve(e.message));
      req.on('response', () => resolve('answered'));
      req.end(body);
      setTimeout(() => req.destroy(), 150);
    });
    assert.notEqual(await closed, 'answered');
    assert.deepEqual(await ctl, [11]);
    await sleep(50);
    assert.equal(await rowsSeen(), start + 1, 'the closed request did not run');
  });

  const predictRequest = { modelSpec: { name: 'rc' }, inputs: { x: { dtype: 1, tensorShape: { dim: [{ size: 2 }] }, floatVal: [1, 2] } } };

  it('a gRPC deadline: DEADLINE_EXCEEDED, and the queued request never runs', async () => {
    const start = await rowsSeen();
    const t0 = performance.now();
    const [r, ctl] = await Promise.all([callRaw(g, 'Predict', predictRequest, 200), control()]);
    assert.equal(r.error?.code, grpc.status.DEADLINE_EXCEEDED, r.error?.message);
    assert.ok(performance.now() - t0 >= BATCH_TIMEOUT_MS - 50);
    assert.deepEqual(ctl, [11]);
    assert.equal(await rowsSeen(), start + 1, 'only the control row ran');
  });

  it('a cancelled gRPC call is dropped from the queue', async () => {
    const start = await rowsSeen();
    const ctl = control();
    const { messageType, encodeMessage } = await import('../../src/serving/proto');
    const bytes = Buffer.from(encodeMessage(messageType('tensorflow.serving.PredictRequest'), predictRequest));
    const code = await new Promise<number>((resolve) => {
      const call = g.client.makeUnaryRequest(
        '/tensorflow.serving.PredictionService/Predict',
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        new grpc.Metadata(),
        {},
        (error) => resolve(error ? (error as grpc.ServiceError).code : 0),
      );
      setTimeout(() => call.cancel(), 150);
    });
    assert.equal(code, grpc.status.CANCELLED);
    assert.deepEqual(await ctl, [11]);
    await sleep(50);
    assert.equal(await rowsSeen(), start + 1, 'the cancelled call did not run');
  });

  it('the library: an AbortSignal.timeout drops the call with DEADLINE_EXCEEDED', async () => {
    const start = await rowsSeen();
    const [r, ctl] = await Promise.allSettled([server.predict('rc', { x: [1, 2] }, { signal: AbortSignal.timeout(100) }), control()]);
    assert.equal(r.status, 'rejected');
    assert.equal((r as PromiseRejectedResult).reason.code, 'DEADLINE_EXCEEDED');
    assert.equal(ctl.status, 'fulfilled');
    assert.equal(await rowsSeen(), start + 1);
  });
});
