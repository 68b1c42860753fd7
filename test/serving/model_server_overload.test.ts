// Overload: 10,000 concurrent requests against a slow model (fixtures/row_counter `slow`, a chain of matmuls)
// served by `tfhub-node serve --enable_batching` with small queue limits. The limits refuse what does not fit
// (gRPC UNAVAILABLE, HTTP 503) without running it, every request gets an answer, the accepted ones answer
// correctly, and the server's memory stays bounded (its RSS sampled from /proc while the load runs, with a
// generous bound: the point is "flat", not a number).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { encodeMessage, messageType } from '../../src/serving/proto';
import { ROOT, SERVING_FIXTURES, call, freePort, tempDir } from './rest_helpers';

const N = 10_000;
/** The server's RSS may grow by this much over its idle size under the load. */
const RSS_BOUND = 256 * 1024 * 1024;
const MAX_BATCH = 8;
const BATCHING_TEXT = `max_batch_size { value: ${MAX_BATCH} }\nbatch_timeout_micros { value: 0 }\nnum_batch_threads { value: 1 }\nmax_enqueued_batches { value: 4 }\n`;
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface Tally {
  ok: number;
  refused: number;
  other: string[];
  refusedMs: number[];
  okMs: number[];
  peakRss: number;
  baseRss: number;
}

/** Runs `n` requests at once through `send`, sampling the server's RSS while they are in flight. */
async function load(pid: number, n: number, send: (i: number) => Promise<'ok' | 'refused' | string>): Promise<Tally> {
  const baseRss = rssOf(pid);
  let peakRss = baseRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssOf(pid));
  }, 20);
  const t: Tally = { ok: 0, refused: 0, other: [], refusedMs: [], okMs: [], peakRss: 0, baseRss };
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const r = await send(i);
        const ms = performance.now() - t0;
        if (r === 'ok') {
          t.ok++;
          t.okMs.push(ms);
        } else if (r === 'refused') {
          t.refused++;
          t.refusedMs.push(ms);
        } else t.other.push(r);
      }),
    );
  } finally {
    clearInterval(sampler);
  }
  t.peakRss = Math.max(peakRss, rssOf(pid));
  return t;
}

function check(t: Tally, what: string): void {
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const summary =
    `${what}: ${t.ok} answered, ${t.refused} refused (median at ${median(t.refusedMs)?.toFixed(0)} ms), ` +
    `${t.other.length} other, RSS ${(t.baseRss / 2 ** 20).toFixed(0)} -> peak ${(t.peakRss / 2 ** 20).toFixed(0)} MiB`;
  process.stderr.write(`# ${summary}\n`);
  assert.deepEqual(t.other.slice(0, 5), [], summary);
  assert.equal(t.ok + t.refused, N, summary);
  assert.ok(t.refused > N / 2, `most requests are refused by the queue limits: ${summary}`);
  assert.ok(t.ok >= MAX_BATCH, summary);
  assert.ok(t.peakRss - t.baseRss < RSS_BOUND, summary);
}

describe('serving under overload: queue limits refuse at once, every request answered, memory bounded', { timeout: 300_000 }, () => {
  const tmp = tempDir('tfhub-overload-');
  let child: ChildProcess | undefined;
  let restUrl = '';
  let client: grpc.Client;

  before(async () => {
    cpSync(path.join(SERVING_FIXTURES, 'row_counter'), path.join(tmp.dir, 'rc', '1'), { recursive: true });
    const params = path.join(tmp.dir, 'batching.txt');
    writeFileSync(params, BATCHING_TEXT);
    const [grpcPort, restPort] = [await freePort(), await freePort()];
    child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        `--port=${grpcPort}`,
        `--rest_api_port=${restPort}`,
        '--model_name=rc',
        `--model_base_path=${path.join(tmp.dir, 'rc')}`,
        '--enable_batching',
        `--batching_parameters_file=${params}`,
        '--rest_api_timeout_in_ms=0',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${log}`)), 120_000);
      child!.stderr!.on('data', (d) => {
        log += d;
        if (/Exporting HTTP\/REST API/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child!.on('exit', () => reject(new Error(`serve exited: ${log}`)));
    });
    restUrl = `http://127.0.0.1:${restPort}`;
    client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    tmp.remove();
  });

  /** The rows the model has run on (over gRPC: TF Serving's REST API refuses a signature without inputs). */
  function rowsSeen(): Promise<number> {
    const type = messageType('tensorflow.serving.PredictRequest');
    const resType = messageType('tensorflow.serving.PredictResponse');
    const bytes = Buffer.from(encodeMessage(type, { modelSpec: { name: 'rc', signatureName: 'rows_seen' }, inputs: {} }));
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        '/tensorflow.serving.PredictionService/Predict',
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        new grpc.Metadata(),
        { deadline: Date.now() + 30_000 },
        (error, response) => {
          if (error) reject(error);
          else
            resolve(
              (resType.toObject(resType.decode(response as Buffer)) as { outputs: { rows: { floatVal: number[] } } }).outputs.rows
                .floatVal[0],
            );
        },
      );
    });
  }

  it('the slow signature answers 2x + 1 (and is slow enough to back the queue up)', async () => {
    const t0 = performance.now();
    const r = await call(`${restUrl}/v1/models/rc:predict`, 'POST', '{"signature_name": "slow", "instances": [0.5]}');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.predictions, [2]);
    process.stderr.write(`# one slow request: ${(performance.now() - t0).toFixed(1)} ms\n`);
  });

  it(`gRPC: ${N} concurrent Predict calls on one channel: UNAVAILABLE at once or the right answer; refused calls never run`, async () => {
    const type = messageType('tensorflow.serving.PredictRequest');
    const resType = messageType('tensorflow.serving.PredictResponse');
    const rows0 = await rowsSeen();
    const t = await load(
      child!.pid!,
      N,
      (i) =>
        new Promise((resolve) => {
          const x = i % 7;
          const bytes = Buffer.from(
            encodeMessage(type, {
              modelSpec: { name: 'rc', signatureName: 'slow' },
              inputs: { x: { dtype: 1, tensorShape: { dim: [{ size: 1 }] }, floatVal: [x] } },
            }),
          );
          client.makeUnaryRequest(
            '/tensorflow.serving.PredictionService/Predict',
            (b: Buffer) => b,
            (b: Buffer) => b,
            bytes,
            new grpc.Metadata(),
            { deadline: Date.now() + 240_000 },
            (error, response) => {
              if (error) {
                const e = error as grpc.ServiceError;
                resolve(e.code === grpc.status.UNAVAILABLE && /queue .* is full/.test(e.details) ? 'refused' : `${e.code} ${e.details}`);
                return;
              }
              const out = resType.toObject(resType.decode(response as Buffer)) as { outputs: { y: { floatVal: number[] } } };
              resolve(out.outputs.y.floatVal[0] === 2 * x + 1 ? 'ok' : `wrong answer ${JSON.stringify(out.outputs.y)} for ${x}`);
            },
          );
        }),
    );
    check(t, 'gRPC');
    assert.equal(await rowsSeen(), rows0 + t.ok, 'only the accepted calls ran');
  });

  it(`REST: ${N} requests over 1000 connections: HTTP 503 at once or the right answer; refused requests never run`, async () => {
    const agent = new http.Agent({ keepAlive: false, maxSockets: 1000 });
    const url = new URL(`${restUrl}/v1/models/rc:predict`);
    const rows0 = await rowsSeen();
    try {
      const t = await load(
        child!.pid!,
        N,
        (i) =>
          new Promise((resolve) => {
            const x = i % 7;
            const body = `{"signature_name": "slow", "instances": [${x}]}`;
            const req = http.request(
              { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-length': body.length } },
              (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (c: string) => {
                  text += c;
                });
                res.on('end', () => {
                  if (res.statusCode === 503 && /queue .* is full/.test(text)) resolve('refused');
                  else if (res.statusCode === 200 && JSON.parse(text).predictions[0] === 2 * x + 1) resolve('ok');
                  else resolve(`${res.statusCode} ${text.slice(0, 200)}`);
                });
              },
            );
            req.on('error', (e) => resolve(`socket error ${e.message}`));
            req.end(body);
          }),
      );
      check(t, 'REST');
      assert.equal(await rowsSeen(), rows0 + t.ok, 'only the accepted requests ran');
    } finally {
      agent.destroy();
    }
  });

  it('the server answers normally afterwards', async () => {
    const r = await call(`${restUrl}/v1/models/rc:predict`, 'POST', '{"instances": [3]}');
    assert.deepEqual(r.json.predictions, [7]);
  });
});
