// Server-side batching in the model server (`batching` option; `--enable_batching`, `--batching_parameters_file`):
// batched answers equal the model's, a lone request waits for batch_timeout_micros (so batching is really on),
// and a full batch runs at once; a bad parameters file is a usage error (exit 2).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { serving } from '../../src';
import { SERVING_FIXTURES } from './rest_helpers';

const CLI = path.join(__dirname, '../../src/cli.js');

describe('ModelServer with server-side batching', { timeout: 120_000 }, () => {
  let server: serving.ModelServer;
  before(async () => {
    server = new serving.ModelServer({
      modelName: 'half',
      modelBasePath: path.join(SERVING_FIXTURES, 'half_plus'),
      fileSystemPollWaitSeconds: 0,
      batching: { maxBatchSize: 4, batchTimeoutMicros: 400_000, numBatchThreads: 1 },
    });
    await server.start();
  });
  after(async () => server?.close());

  it('merged requests answer as the model does (version 2: y = 0.5x + 3)', async () => {
    const xs = [[0], [1], [2], [-4]]; // one row each (the signature's input is x: float32 [None])
    const t0 = performance.now();
    const outs = await Promise.all(xs.map((x) => server.predict('half', { x })));
    const ms = performance.now() - t0;
    assert.deepEqual(
      outs.map((o) => Array.from(o.outputs.y.data() as Float32Array)),
      [[3], [3.5], [4], [1]],
    );
    assert.ok(outs.every((o) => o.modelSpec.version === 2));
    // Four rows fill max_batch_size, so the batch runs without waiting for the 400 ms timeout (bound kept loose).
    assert.ok(ms < 4000, `${ms} ms`);
  });

  it('a lone request waits for batch_timeout_micros: batching is on', async () => {
    const t0 = performance.now();
    const out = await server.predict('half', { x: [10] });
    const ms = performance.now() - t0;
    assert.deepEqual(Array.from(out.outputs.y.data() as Float32Array), [8]);
    assert.ok(ms >= 390, `answered after ${ms} ms, before the batch timeout`);
  });
});

describe('tfhub-node serve --batching_parameters_file', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tfhub-batching-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, text, why] of [
    ['syntax', 'max_batch_size { value: ', /batching/],
    ['unknown field', 'max_batch_sizes { value: 4 }', /max_batch_sizes/],
    ['bad value', 'max_batch_size { value: 0 }', /max_batch_size/],
  ] as const) {
    it(`a ${name} error exits with code 2 and names the problem`, () => {
      const file = path.join(dir, `${name.replace(' ', '_')}.txt`);
      writeFileSync(file, text);
      const r = spawnSync(
        process.execPath,
        [
          CLI,
          'serve',
          '--enable_batching',
          `--batching_parameters_file=${file}`,
          '--model_name=half',
          `--model_base_path=${path.join(SERVING_FIXTURES, 'half_plus')}`,
          '--rest_api_port=0',
          '--port=0',
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, why);
    });
  }
});
