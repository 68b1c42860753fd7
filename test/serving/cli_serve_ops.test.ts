// `tfhub-node serve` with --monitoring_config_file, --num_request_iterations_for_warmup and
// --enable_model_warmup in a child process: the warmup ran the requested number of times before the version
// served (the counter), the metrics page is at the configured path and counts the requests made; a bad
// MonitoringConfig is exit code 2 naming file:line:col.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, call, freePort, tempDir, versionWithWarmup } from './rest_helpers';

const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');

/** Starts `serve` with `args`; resolves once REST is up (or rejects with what it printed). */
function startServe(args: string[]): {
  child: ChildProcess;
  ready: Promise<string>;
  exited: Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${stderr}`)), 60_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (/Exporting HTTP\/REST API at/.test(stderr)) {
        clearTimeout(timer);
        resolve(stderr);
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`exited: ${stderr}`));
    });
  });
  return { child, ready, exited };
}

describe('tfhub-node serve: warmup and monitoring flags', { timeout: 180_000 }, () => {
  it('--num_request_iterations_for_warmup=2 and --monitoring_config_file (custom path): counter 8, scraped counts', async () => {
    const t = tempDir('tfhub-serve-ops-');
    const port = await freePort();
    versionWithWarmup(t.dir, 1, 'counter', 'counter_predict');
    const monitoring = path.join(t.dir, 'monitoring.config');
    fs.writeFileSync(monitoring, 'prometheus_config {\n  enable: true,\n  path: "/monitoring/prometheus/metrics/custom"\n}\n');
    const s = startServe([
      '--port=0',
      `--rest_api_port=${port}`,
      '--bind_address=127.0.0.1',
      '--model_name=counter',
      `--model_base_path=${t.dir}`,
      '--file_system_poll_wait_seconds=0',
      '--num_request_iterations_for_warmup',
      '2',
      `--monitoring_config_file=${monitoring}`,
    ]);
    try {
      const log = await s.ready;
      assert.match(log, /Finished reading warmup data for \{name: counter version: 1\}: 2 records/);
      assert.doesNotMatch(log, /accepted and ignored/);
      const url = `http://127.0.0.1:${port}`;
      const n = 3;
      for (let i = 0; i < n; i++) {
        const c = await call(`${url}/v1/models/counter:predict`, 'POST', '{"signature_name": "incr_counter_by", "inputs": {"delta": 0.0}}');
        assert.equal(c.status, 200, c.text);
        assert.deepEqual(c.json, { outputs: 8.0 }); // (3 + 1) per replay, 2 replays
      }
      assert.equal(
        (await call(`${url}/v1/models/counter:predict`, 'POST', '{"signature_name": "incr_counter_by", "inputs": {"x": 1.0}}')).status,
        400,
      );
      const page = await fetch(`${url}/monitoring/prometheus/metrics/custom`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(page.status, 200);
      const text = await page.text();
      assert.match(text, new RegExp(`^:tensorflow:serving:request_count\\{model_name="counter",status="OK"\\} ${n}$`, 'm'));
      assert.match(text, /^:tensorflow:serving:request_count\{model_name="counter",status="INVALID_ARGUMENT"\} 1$/m);
      assert.match(
        text,
        new RegExp(`^:tensorflow:serving:request_latency_count\\{model_name="counter",API="predict",entrypoint="REST"\\} ${n}$`, 'm'),
      );
      assert.match(
        text,
        new RegExp(
          `^:tensorflow:serving:model_warmup_records_read\\{model_path="${path.join(t.dir, '1').replace(/[/\\\\.]/g, '\\$&')}",status="OK"\\} 2$`,
          'm',
        ),
      );
      assert.equal((await call(`${url}/monitoring/prometheus/metrics`, 'GET')).status, 404);
      s.child.kill('SIGTERM');
      assert.equal((await s.exited).code, 0);
    } finally {
      s.child.kill('SIGKILL');
      t.remove();
    }
  });

  it('--enable_model_warmup=false skips the replay; a bad MonitoringConfig is exit code 2 with file:line:col', async () => {
    const t = tempDir('tfhub-serve-ops-');
    const port = await freePort();
    versionWithWarmup(t.dir, 1, 'counter', 'bad_crc');
    const bad = path.join(t.dir, 'bad.config');
    fs.writeFileSync(bad, 'prometheus_config {\n  enable: true\n  pth: "/x"\n}\n');
    try {
      const b = startServe(['--rest_api_port=0', '--model_name=counter', `--model_base_path=${t.dir}`, `--monitoring_config_file=${bad}`]);
      b.ready.catch(() => undefined);
      const r = await b.exited;
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`${bad.replace(/[/\\\\.]/g, '\\$&')}:3:3: .*pth`));
      // The damaged warmup file is not read at all with warmup off.
      const s = startServe([
        '--port=0',
        `--rest_api_port=${port}`,
        '--bind_address=127.0.0.1',
        '--model_name=counter',
        `--model_base_path=${t.dir}`,
        '--file_system_poll_wait_seconds=0',
        '--enable_model_warmup=false',
      ]);
      try {
        await s.ready;
        const c = await call(
          `http://127.0.0.1:${port}/v1/models/counter:predict`,
          'POST',
          '{"signature_name": "incr_counter_by", "inputs": {"delta": 0.0}}',
        );
        assert.equal(c.status, 200, c.text);
        assert.deepEqual(c.json, { outputs: 0.0 });
        s.child.kill('SIGTERM');
        assert.equal((await s.exited).code, 0);
      } finally {
        s.child.kill('SIGKILL');
      }
    } finally {
      t.remove();
    }
  });
});
