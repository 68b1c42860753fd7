// Hostile REST requests: each gets its documented error (status + {"error"}), and the server keeps answering.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { REST_FIXTURES, RestServer, call, startRest } from './rest_helpers';

const LIMIT = 1024 * 1024;

/** Sends raw bytes on a socket and resolves with what comes back (bounded in time). */
function raw(url: string, chunks: Array<string | Buffer>, opts: { gapMs?: number; endAfter?: boolean } = {}): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(got);
    }, 20_000);
    sock.on('data', (d) => {
      got += d.toString('latin1');
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      if (got) resolve(got);
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.on('connect', async () => {
      for (const c of chunks) {
        if (sock.destroyed) return;
        sock.write(c);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      if (opts.endAfter) sock.end();
    });
  });
}

describe('serving REST: hostile requests', { timeout: 180_000 }, () => {
  let s: RestServer;
  let predict: string;
  before(async () => {
    s = await startRest({
      modelName: 'm',
      modelBasePath: path.join(REST_FIXTURES, 'half_plus_three'),
      rest: { maxBodyBytes: LIMIT, timeoutMs: 1500 },
    });
    predict = `${s.url}/v1/models/m:predict`;
  });
  after(async () => s?.close());

  async function stillServes(): Promise<void> {
    const r = await call(predict, 'POST', '{"instances": [1.0]}');
    assert.deepEqual([r.status, r.json], [200, { predictions: [3.5] }]);
  }

  it('malformed JSON of every kind: 400 with a JSON Parse error naming the offset', async () => {
    const bodies = [
      '',
      '{',
      '{"instances": [1.0,',
      '{"instances": [1.0]}}',
      '{"instances": [1.0] "x": 1}',
      '[1, 2]',
      '"str"',
      'nul',
      '{"instances": [01]}',
      '{"instances": ["\\x"]}',
      '\u0000',
      '{"a":1,}',
      '{"instances": [1.0]} trailing',
    ];
    for (const b of bodies) {
      const r = await call(predict, 'POST', b);
      assert.equal(r.status, 400, `${JSON.stringify(b)}: ${r.text}`);
      assert.equal(typeof r.json.error, 'string', r.text);
      assert.match(r.json.error, /JSON Parse error|Is not object|document is empty/, b);
    }
    await stillServes();
  });

  it('deep nesting (100k brackets) is refused, not a stack overflow', async () => {
    const r = await call(predict, 'POST', `{"instances": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    assert.equal(r.status, 400);
    assert.match(r.json.error, /Nesting deeper than 512/);
    await stillServes();
  });

  it('a body over the limit is 413 without being buffered (declared, and streamed without a length)', async () => {
    const big = Buffer.alloc(LIMIT + 10, 0x20);
    const r = await call(predict, 'POST', big.toString());
    assert.equal(r.status, 413);
    assert.match(r.json.error, /larger than the limit/);
    // chunked: no content-length; the server stops at the limit
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const chunks: Array<string | Buffer> = [`POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`];
    for (let i = 0; i < 8; i++) chunks.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    const resp = await raw(s.url, chunks);
    assert.match(resp, /^HTTP\/1\.1 413/);
    await stillServes();
  });

  it('a 100 MB body is refused by its declared length; the server still answers', async () => {
    const resp = await raw(s.url, [
      `POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`,
      Buffer.alloc(64 * 1024, 0x20),
    ]);
    assert.match(resp, /^HTTP\/1\.1 413/);
    assert.match(resp, /"error": "Request body of 104857600 bytes is larger than the limit of 1048576 bytes"/);
    await stillServes();
  });

  it("wrong dtypes, ragged lists and wrong keys: 400 with TF Serving's messages", async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"instances": ["a"]}', /Type: String is not of expected type: float/],
      ['{"instances": [true]}', /Type: True is not of expected type: float/],
      ['{"instances": [null]}', /Type: Null is not of expected type: float/],
      ['{"instances": [{"b64": "AAAA"}]}', /is not of expected type: float|Expecting value\/list but got object/],
      ['{"inputs": [[1.0], 2.0]}', /found at incorrect level|Encountered list at unexpected/],
      ['{"inputs": [[1.0, 2.0], [3.0]]}', /Encountered list at unexpected size: 1 at level: 1 expected size: 2/],
      ['{"inputs": {"y": [1.0]}}', /Missing named input: x in 'inputs' object/],
      ['{"instances": [{"y": 1.0}]}', /does not have named input: y/],
      ['{"instances": [1.0], "inputs": [1.0]}', /expecting only one of 'inputs' or 'instances'/],
      ['{"instances": []}', /No values in 'instances' array/],
      ['{"instances": 1.0}', /Expecting 'instances' to be an list\/array/],
      ['{"signature_name": 5, "instances": [1.0]}', /'signature_name' key must be a string value/],
      ['{"nothing": 1}', /Missing 'inputs' or 'instances' key/],
    ];
    for (const [body, re] of cases) {
      const r = await call(predict, 'POST', body);
      assert.equal(r.status, 400, `${body}: ${r.text}`);
      assert.match(r.json.error, re, body);
    }
    // a shape the signature does not declare is fed as given, as TF Serving does (the graph decides)
    assert.deepEqual((await call(predict, 'POST', '{"inputs": [[1.0, 2.0]]}')).json, { outputs: [[3.5, 4.0]] });
    await stillServes();
  });

  it('a large batch (2^17 floats in one body) is served; shapes come from the body, so REST cannot claim more elements than it sends', async () => {
    const n = 1 << 17;
    const r = await call(predict, 'POST', `{"inputs": [${new Array(n).fill('1.0').join(',')}]}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.outputs.length, n);
    await stillServes();
  });

  it('unknown model, version, label, signature and verb', async () => {
    const cases: Array<[string, 'GET' | 'POST' | 'PUT', number, RegExp]> = [
      ['/v1/models/zz:predict', 'POST', 404, /Servable not found for request: Latest\(zz\)/],
      ['/v1/models/m/versions/7:predict', 'POST', 404, /Specific\(m, 7\)/],
      ['/v1/models/m/versions/99999999999999999999:predict', 'POST', 400, /Failed to convert version/],
      ['/v1/models/m/labels/x:predict', 'POST', 400, /Unrecognized servable version label: x/],
      ['/v1/models/m:explode', 'POST', 400, /Malformed request: POST/],
      ['/v1/models/m', 'PUT', 400, /Malformed request: PUT/],
      ['/v1/models', 'GET', 400, /Missing model name in request/],
      ['/v2/anything', 'GET', 404, /Not found/],
      ['/v1/models/%E0%A4%A:predict', 'POST', 400, /Failed to decode model name/],
    ];
    for (const [p, m, status, re] of cases) {
      const r = await call(`${s.url}${p}`, m, m === 'POST' ? '{"instances": [1.0]}' : undefined);
      assert.equal(r.status, status, `${m} ${p}: ${r.text}`);
      assert.match(r.json.error, re, p);
    }
    const sig = await call(predict, 'POST', '{"signature_name": "nope", "instances": [1.0]}');
    assert.deepEqual([sig.status, sig.json], [400, { error: 'Serving signature name: "nope" not found in signature def' }]);
    await stillServes();
  });

  it('a slow client that never finishes its body gets 408 after the timeout; others are served meanwhile', async () => {
    const slow = raw(s.url, [`POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"inst`]);
    await stillServes();
    const resp = await slow;
    assert.match(resp, /^HTTP\/1\.1 408/);
    // a client trickling one byte at a time also ends at the deadline
    const body = '{"instances": [1.0]}';
    const trickle = await raw(
      s.url,
      [`POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`, ...body.split('')],
      { gapMs: 120 },
    );
    assert.match(trickle, /^HTTP\/1\.1 408/);
    await stillServes();
  });

  it('200 concurrent bad and good requests: every one answered, none failed wrongly', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => call(predict, 'POST', i % 2 ? '{"instances": [1.0]}' : '{"instances": ["x"]}')),
    );
    results.forEach((r, i) => assert.equal(r.status, i % 2 ? 200 : 400));
    await stillServes();
  });
});
