// Version labels as ServerCore::UpdateModelVersionLabelMap checks them: a label may only point to an AVAILABLE
// version (so labels in the initial config are refused), unless --allow_version_labels_for_unavailable_models,
// which admits new labels (or unchanged ones) for any version but still refuses moving a label to a version
// that is not available. A refused config changes nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelServer, ModelServerConfigObject } from '../../src/serving/model_server';
import { ROOT, SERVING_FIXTURES, tempDir } from './rest_helpers';

const HALF = path.join(SERVING_FIXTURES, 'half_plus');
const config = (labels?: Record<string, number>): ModelServerConfigObject => ({
  modelConfigList: {
    config: [{ name: 'half', basePath: HALF, modelVersionPolicy: { all: {} }, ...(labels ? { versionLabels: labels } : {}) }],
  },
});
const refused = (version: number) => ({
  code: 'FAILED_PRECONDITION',
  message: `Request to assign label to version ${version} of model half, which is not currently available for inference`,
});

async function versionFor(s: ModelServer, label: string): Promise<number> {
  return (await s.predict({ name: 'half', versionLabel: label }, { x: [1] })).modelSpec.version;
}

describe('serving: version labels (server_core.cc)', { timeout: 120_000 }, () => {
  it('default: labels in the initial config are refused; added by a reload once the version is available', async () => {
    const early = new ModelServer({ config: config({ stable: 1 }), fileSystemPollWaitSeconds: 0 });
    await assert.rejects(early.start(), refused(1));
    await early.close();

    const s = new ModelServer({ config: config(), fileSystemPollWaitSeconds: 0 });
    try {
      await s.start();
      await s.reloadConfig(config({ stable: 1, canary: 2 }));
      assert.equal(await versionFor(s, 'stable'), 1);
      assert.equal(await versionFor(s, 'canary'), 2);
      // A version that is not available (not on disk): refused, and nothing changes.
      await assert.rejects(s.reloadConfig(config({ stable: 3, canary: 2 })), refused(3));
      await assert.rejects(s.reloadConfig(config({ stable: 1, canary: 2, next: 7 })), refused(7));
      assert.equal(await versionFor(s, 'stable'), 1);
      await assert.rejects(versionFor(s, 'next'), { code: 'INVALID_ARGUMENT', message: 'Unrecognized servable version label: next' });
      // Moving a label between available versions is fine.
      await s.reloadConfig(config({ stable: 2, canary: 2 }));
      assert.equal(await versionFor(s, 'stable'), 2);
    } finally {
      await s.close();
    }
  });

  it('--allow_version_labels_for_unavailable_models: new labels may point anywhere; moving one still needs an available version', async () => {
    const s = new ModelServer({
      config: config({ stable: 1, canary: 2 }),
      fileSystemPollWaitSeconds: 0,
      allowVersionLabelsForUnavailableModels: true,
    });
    try {
      await s.start();
      assert.equal(await versionFor(s, 'stable'), 1);
      // A new label to a version that is not there: accepted (requests for it are NOT_FOUND until it loads).
      await s.reloadConfig(config({ stable: 1, canary: 2, next: 3 }));
      await assert.rejects(versionFor(s, 'next'), { code: 'NOT_FOUND', message: 'Servable not found for request: Specific(half, 3)' });
      // The same label kept on the same unavailable version: accepted.
      await s.reloadConfig(config({ stable: 1, canary: 2, next: 3 }));
      // Moving an existing label to an unavailable version: refused even with the flag.
      await assert.rejects(s.reloadConfig(config({ stable: 4, canary: 2, next: 3 })), refused(4));
      assert.equal(await versionFor(s, 'stable'), 1);
      // Moving it to an available one: accepted.
      await s.reloadConfig(config({ stable: 2, canary: 2, next: 3 }));
      assert.equal(await versionFor(s, 'stable'), 2);
    } finally {
      await s.close();
    }
  });

  it('tfhub-node serve: a config file with labels fails to start without the flag (exit 1, the message)', async () => {
    const t = tempDir('tfhub-labels-');
    try {
      const file = path.join(t.dir, 'models.config');
      fs.writeFileSync(
        file,
        `model_config_list { config { name: "half" base_path: "${HALF}" model_version_policy { all {} } version_labels { key: "stable" value: 1 } } }\n`,
      );
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'dist/src/cli.js'),
          'serve',
          '--port=0',
          '--rest_api_port=0',
          `--model_config_file=${file}`,
          '--file_system_poll_wait_seconds=0',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      clearTimeout(timer);
      assert.equal(code, 1, stderr);
      assert.match(
        stderr,
        /Failed to start server\. Error: Request to assign label to version 1 of model half, which is not currently available for inference/,
      );
    } finally {
      t.remove();
    }
  });
});
