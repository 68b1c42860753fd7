// Model lifecycle: version policies, labels, a version that fails to load, config reloads, and a new version
// appearing (and an old one disappearing) under the load of 8 concurrent clients with zero failed requests.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJson } from '../helpers/oracle';
import { ModelServer } from '../../src/serving/model_server';
import { selectVersions } from '../../src/serving/versions';
import { SERVING_FIXTURES, addVersion, call, startRest, tempDir } from './rest_helpers';

const HALF = readJson(path.join(SERVING_FIXTURES, 'half_plus.json'));
const V1 = path.join(SERVING_FIXTURES, 'half_plus', '1'); // y = 0.5x + 2
const V2 = path.join(SERVING_FIXTURES, 'half_plus', '2'); // y = 0.5x + 3
const X = HALF.versions['1'].inputs.x.values as number[];
const Y1 = HALF.versions['1'].outputs.y.values as number[];
const Y2 = HALF.versions['2'].outputs.y.values as number[];

/** Adds a version atomically: copied under a non-numeric name, then renamed (as deployment tools do). */
function publish(base: string, version: number, modelDir: string): void {
  const tmp = path.join(base, `.tmp-${version}`);
  fs.cpSync(modelDir, tmp, { recursive: true });
  fs.renameSync(tmp, path.join(base, String(version)));
}

describe('serving versions: policies, failures, reloads, swaps under load', { timeout: 180_000 }, () => {
  it('policies pick versions as TF Serving does', () => {
    const c = { name: 'm', basePath: '/x' };
    assert.deepEqual(selectVersions(c, [3, 1, 2]), [3]);
    assert.deepEqual(selectVersions({ ...c, modelVersionPolicy: { latest: { numVersions: 2 } } }, [3, 1, 2]), [2, 3]);
    assert.deepEqual(selectVersions({ ...c, modelVersionPolicy: { all: {} } }, [3, 1, 2]), [1, 2, 3]);
    assert.deepEqual(selectVersions({ ...c, modelVersionPolicy: { specific: { versions: [1, 3, 9] } } }, [3, 1, 2]), [1, 3]);
  });

  it('latest{2} / specific / labels over a base path; a broken version is END with its error while the others serve', async () => {
    const t = tempDir('tfhub-versions-');
    try {
      addVersion(t.dir, 1, V1);
      addVersion(t.dir, 2, V2);
      addVersion(t.dir, 3, V1);
      fs.mkdirSync(path.join(t.dir, '4'));
      fs.writeFileSync(path.join(t.dir, '4', 'saved_model.pb'), Buffer.from('not a protobuf \xff\xff\xff\xff'));
      fs.mkdirSync(path.join(t.dir, 'not_a_version'));
      const s = await startRest({
        allowVersionLabelsForUnavailableModels: true,
        config: {
          modelConfigList: {
            config: [{ name: 'm', basePath: t.dir, modelVersionPolicy: { latest: { numVersions: 3 } }, versionLabels: { stable: 2 } }],
          },
        },
      });
      try {
        const st = await call(`${s.url}/v1/models/m`, 'GET');
        assert.deepEqual(
          st.json.model_version_status.map((v: { version: string; state: string }) => [v.version, v.state]),
          [
            ['4', 'END'],
            ['3', 'AVAILABLE'],
            ['2', 'AVAILABLE'],
          ],
        );
        const broken = st.json.model_version_status[0].status;
        assert.notEqual(broken.error_code, 'OK');
        assert.match(broken.error_message, /saved_model\.pb|protobuf|decode/i);
        // latest takes the newest AVAILABLE version (3 = a copy of v1)
        let r = await call(`${s.url}/v1/models/m:predict`, 'POST', JSON.stringify({ inputs: { x: X } }));
        assert.deepEqual(r.json.outputs, Y1);
        r = await call(`${s.url}/v1/models/m/labels/stable:predict`, 'POST', JSON.stringify({ inputs: { x: X } }));
        assert.deepEqual(r.json.outputs, Y2);
        r = await call(`${s.url}/v1/models/m/versions/1:predict`, 'POST', JSON.stringify({ inputs: { x: X } }));
        assert.equal(r.status, 404);
        assert.equal(s.logs.filter((l) => /^Successfully loaded/.test(l)).length, 2);
        assert.equal(s.logs.filter((l) => /version: 4\}.*failed/.test(l)).length, 1, s.logs.join('\n'));
        // specific{[1]}: the config reload loads 1 and unloads 2 and 3
        await s.server.reloadConfig({
          modelConfigList: { config: [{ name: 'm', basePath: t.dir, modelVersionPolicy: { specific: { versions: [1] } } }] },
        });
        const after = s.server
          .getModelStatus('m')
          .filter((v) => v.state === 'AVAILABLE')
          .map((v) => v.version);
        assert.deepEqual(after, [1]);
        assert.equal(s.logs.filter((l) => /^Successfully unloaded/.test(l)).length, 2);
      } finally {
        await s.close();
      }
    } finally {
      t.remove();
    }
  });

  it('reloadConfig adds and removes models', async () => {
    const s = await startRest({ modelName: 'a', modelBasePath: path.join(SERVING_FIXTURES, 'half_plus') });
    try {
      await s.server.reloadConfig({
        modelConfigList: {
          config: [{ name: 'b', basePath: path.join(SERVING_FIXTURES, 'half_plus'), modelVersionPolicy: { specific: { versions: [1] } } }],
        },
      });
      const b = await call(`${s.url}/v1/models/b:predict`, 'POST', JSON.stringify({ inputs: { x: X } }));
      assert.deepEqual(b.json.outputs, Y1);
      const a = await call(`${s.url}/v1/models/a:predict`, 'POST', JSON.stringify({ inputs: { x: X } }));
      assert.equal(a.status, 404);
      await assert.rejects(s.server.reloadConfig({ modelConfigList: { config: [{ name: 'c', basePath: '' }] } }), {
        code: 'INVALID_ARGUMENT',
      });
    } finally {
      await s.close();
    }
  });

  it('a new version appears, then the old one is removed, during 8 concurrent clients: zero failed requests, answers switch', async () => {
    // 4 s of load instead of 10: with a 0.2 s poll the swap happens about 1 s in (load included), which leaves
    // more than a second of traffic on each side of both swaps; a longer run adds time, not coverage.
    const t = tempDir('tfhub-swap-');
    let stop = false;
    try {
      publish(t.dir, 1, V1);
      const s = await startRest({
        config: { modelConfigList: { config: [{ name: 'm', basePath: t.dir, modelVersionPolicy: { all: {} } }] } },
        fileSystemPollWaitSeconds: 0.2,
      });
      try {
        const seen: Array<'v1' | 'v2'> = [];
        const failures: string[] = [];
        const body = JSON.stringify({ inputs: { x: X } });
        const client = async () => {
          while (!stop) {
            const r = await call(`${s.url}/v1/models/m:predict`, 'POST', body).catch((e: Error) => ({
              status: 0,
              json: null,
              text: e.message,
            }));
            if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
            else seen.push(JSON.stringify(r.json.outputs) === JSON.stringify(Y2) ? 'v2' : 'v1');
          }
        };
        const clients = Array.from({ length: 8 }, client);
        await new Promise((r) => setTimeout(r, 800));
        publish(t.dir, 2, V2);
        await new Promise((r) => setTimeout(r, 1800));
        const atRemoval = seen.length;
        fs.rmSync(path.join(t.dir, '2'), { recursive: true });
        await new Promise((r) => setTimeout(r, 1400));
        stop = true;
        await Promise.all(clients);
        assert.deepEqual(failures, []);
        const first = seen.indexOf('v2');
        assert.ok(first > 0, 'answers switched to version 2');
        assert.ok(seen.slice(0, first).every((v) => v === 'v1'));
        assert.equal(seen[atRemoval - 1], 'v2', 'version 2 answered until its removal');
        assert.equal(seen[seen.length - 1], 'v1', 'answers switched back after version 2 was removed');
        assert.ok(seen.length > 40, `only ${seen.length} requests`);
        const st = s.server.getModelStatus('m').map((v) => `${v.version}:${v.state}`);
        assert.deepEqual(st, ['2:END', '1:AVAILABLE']);
      } finally {
        stop = true;
        await s.close();
      }
    } finally {
      t.remove();
    }
  });

  it('close() waits for in-flight requests and then refuses new ones (UNAVAILABLE)', async () => {
    const server = new ModelServer({
      modelName: 'm',
      modelBasePath: path.join(SERVING_FIXTURES, 'half_plus'),
      fileSystemPollWaitSeconds: 0,
    });
    await server.start();
    const inflight = Array.from({ length: 16 }, () => server.predict('m', { x: X }));
    const closing = server.close();
    const outs = await Promise.all(inflight);
    for (const o of outs) assert.deepEqual(Array.from(o.outputs.y.data() as Float32Array), Y2);
    await closing;
    await assert.rejects(server.predict('m', { x: X }), { code: 'UNAVAILABLE' });
  });
});
