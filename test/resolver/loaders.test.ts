// The loaders take handles through hub.resolve: URLs served by a real HTTP server on 127.0.0.1 load and run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Graph, Output, Session, Tensor, hub } from '../../src';
import { FIXTURES, TestServer, isolateEnv, rmrf, serve, startServer, tarballOf, tmpDir } from './helpers/util';

describe('hub loaders resolve remote handles', () => {
  let restoreEnv: () => void;
  let server: TestServer;
  let cache: string;

  before(async () => {
    restoreEnv = isolateEnv();
    cache = tmpDir();
    process.env.TFHUB_CACHE_DIR = cache;
    server = await startServer({
      '/google/half_plus_two/1': serve(fs.readFileSync(path.join(FIXTURES, 'half_plus_two_v1.tar.gz'))),
      '/models/my_mul.tar.gz': serve(await tarballOf(path.join(FIXTURES, 'tf2_my_mul'), true)),
    });
  });
  after(async () => {
    await server.close();
    rmrf(cache);
    restoreEnv();
  });

  it('hub.resolve is exported in the hub namespace and downloads once', async () => {
    const handle = `${server.base}/google/half_plus_two/1`;
    const events: number[] = [];
    const dir = await hub.resolve(handle, { onProgress: (e) => events.push(e.bytes) });
    assert.ok(fs.existsSync(path.join(dir, 'saved_model.pb')));
    assert.ok(events.length > 0, 'progress reported');
    assert.equal(await hub.resolve(handle), dir);
    assert.equal(server.hits('/google/half_plus_two/1').length, 1);
    await assert.rejects(hub.resolve(`${server.base}/missing/1`, { retries: 0 }), { name: 'ResolveError', code: 'ERR_HTTP_STATUS' });
  });

  it('hub.evalFunctionForModule(url) and hub.Module.load(url) run half_plus_two', async () => {
    const handle = `${server.base}/google/half_plus_two/1`;
    const f = await hub.evalFunctionForModule(handle);
    try {
      const out = (await f.call(new Tensor('float32', [3], new Float32Array([1, 2, 5])))) as Tensor;
      assert.deepEqual([...out.data()], [2.5, 3, 4.5]);
    } finally {
      f.close();
    }
    const g = new Graph();
    const m = await hub.Module.load(handle, { graph: g });
    const y = m.call(g.constant(new Tensor('float32', [1], new Float32Array([4])))) as Output;
    const s = new Session(g);
    try {
      await s.run(g.globalVariablesInitializer());
      assert.deepEqual([...(await s.run(y)).data()], [4]);
    } finally {
      s.close();
      g.dispose();
    }
  });

  it('hub.load(url of a .tar.gz) loads a TF2 SavedModel', async () => {
    const model = await hub.load(`${server.base}/models/my_mul.tar.gz`);
    try {
      const out = (await model.call(new Tensor('float32', [2], new Float32Array([10, 20])))) as Tensor;
      assert.deepEqual([...out.data()], [20, 40]);
    } finally {
      await model.close();
    }
  });
});
