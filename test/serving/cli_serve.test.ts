// `tfhub-node serve` and `run` in child processes: exit code 2 and one line for bad flags, values and config
// files (file:line:col), --help, a real server answering curl's request, SIGTERM with a request in flight → exit 0.
import * as http from 'node:http';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RunResult, runToEnd } from '../helpers/run_to_end';
import { callRaw } from './grpc_helpers';
import { REST_FIXTURES, ROOT, SERVING_FIXTURES, call, freePort, tempDir } from './rest_helpers';

const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');

function cli(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return runToEnd(process.execPath, [CLI, ...args], { timeoutMs });
}

function waitFor(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}: ${seen}`)), timeoutMs);
    const on = (d: Buffer) => {
      seen += d;
      if (re.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    };
    child.stderr!.on('data', on);
    child.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`exited: ${seen}`));
    });
  });
}

describe('tfhub-node serve / run (child processes)', { timeout: 180_000, concurrency: 2 }, () => {
  it('bad flags and values: one line naming the flag, exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['serve', '--bogus=1'], /unknown flag: --bogus/],
      [['serve', '--port=abc'], /--port: expected an integer, got 'abc'/],
      [['serve', '--rest_api_port', '99999999999'], /--rest_api_port: 99999999999 is out of range for int32/],
      [['serve', '--rest_api_port=70000', '--model_base_path=/x'], /--rest_api_port: 70000 is not a port number/],
      [['serve', '--enable_batching=maybe'], /--enable_batching: expected true or false, got 'maybe'/],
      [['serve', '--model_name'], /--model_name: missing value/],
      [['serve', 'stray'], /unknown argument: stray/],
      [['serve', '--rest_api_port=8500'], /--rest_api_port cannot be the same as --port/],
      [['serve', '--port=0'], /--model_base_path is required/],
      [['serve', '--ssl_config_file=/tmp/x.pbtxt', '--model_base_path=/x'], /--ssl_config_file is not supported/],
      [['serve', '--model_config_file=/nonexistent/models.config'], /--model_config_file: .*no such file/i],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['run', '--nope'], /unknown option --nope/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
  });

  it('a config file that does not parse: file:line:col and exit code 2', async () => {
    const t = tempDir('tfhub-cli-');
    try {
      const cases: Array<[string, RegExp]> = [
        [
          'model_config_list {\n  config {\n    name: "a"\n    base_path: "/x"\n    bogus_field: 3\n  }\n}\n',
          /:5:5: Message type "tensorflow.serving.ModelConfig" has no field named "bogus_field"\./,
        ],
        ['model_config_list {\n  config {\n    name: "a"\n', /:4:1: Expected identifier, got: end of input/],
        ['model_config_list { config { name: a } }', /:1:36: Expected string, got: a/],
        [
          'model_config_list { config { name: "a" base_path: "/x" model_version_policy { latest { num_versions: -1 } } } }',
          /:1:102: Integer out of range \(-1\)/,
        ], // num_versions is a uint32
        ['model_config_list { config { name: "a\n" } }', /:1:36: String literal is not terminated/],
      ];
      for (const [text, re] of cases) {
        const file = path.join(t.dir, 'models.config');
        fs.writeFileSync(file, text);
        const r = await cli(['serve', `--model_config_file=${file}`]);
        assert.equal(r.code, 2, r.stderr);
        assert.ok(r.stderr.includes(`${file}:`), r.stderr);
        assert.match(r.stderr, re);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
    } finally {
      t.remove();
    }
  });

  it("--help lists tensorflow_model_server's flags, exit 0", async () => {
    const r = await cli(['serve', '--help']);
    assert.equal(r.code, 0);
    for (const f of [
      'port',
      'grpc_socket_path',
      'rest_api_port',
      'rest_api_timeout_in_ms',
      'model_name',
      'model_base_path',
      'model_config_file',
      'model_config_file_poll_wait_seconds',
      'file_system_poll_wait_seconds',
      'saved_model_tags',
      'tensorflow_intra_op_parallelism',
      'tensorflow_inter_op_parallelism',
      'enable_batching',
      'batching_parameters_file',
      'monitoring_config_file',
      'enable_model_warmup',
      'grpc_channel_arguments',
      'rest_api_num_threads',
    ]) {
      assert.match(r.stdout, new RegExp(`--${f}=`), f);
    }
    const top = await cli(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /serve/);
  });

  it('serves a --model_config_file over REST and gRPC (TCP and Unix socket); SIGTERM with a request in flight finishes it and exits 0', async () => {
    const t = tempDir('tfhub-cli-');
    const port = await freePort();
    const grpcPort = await freePort();
    const socket = path.join(t.dir, 'grpc.sock');
    const file = path.join(t.dir, 'models.config');
    fs.writeFileSync(
      file,
      `# two models\nmodel_config_list {\n  config {\n    name: 'saved_model_half_plus_three'\n    base_path: "${path.join(REST_FIXTURES, 'half_plus_three')}"\n  }\n  config: {\n    name: "half"\n    base_path: "${path.join(SERVING_FIXTURES, 'half_plus')}"\n    model_version_policy { specific { versions: 1 } }\n    version_labels { key: "stable" value: 1 }\n  }\n}\n`,
    );
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        `--port=${grpcPort}`,
        `--grpc_socket_path=${socket}`,
        '--grpc_channel_arguments=grpc.max_concurrent_streams=64,grpc.not_a_grpc_js_arg=1',
        '--rest_api_port',
        String(port),
        '--bind_address=127.0.0.1',
        `--model_config_file=${file}`,
        '--allow_version_labels_for_unavailable_models',
        '--file_system_poll_wait_seconds',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<RunResult>((resolve) => {
      let stderr = '';
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code, signal) => resolve({ code, signal, stdout: '', stderr }));
    });
    try {
      const started = await waitFor(child, /Exporting HTTP\/REST API at:127\.0\.0\.1:\d+/, 60_000);
      assert.match(started, /Running gRPC ModelServer at 127\.0\.0\.1:\d+/);
      assert.match(started, /ignored \(not grpc-js server options\): grpc\.not_a_grpc_js_arg/);
      for (const address of [`127.0.0.1:${grpcPort}`, `unix:${socket}`]) {
        const client = new grpc.Client(address, grpc.credentials.createInsecure());
        try {
          const st = await callRaw({ address, client, close: async () => undefined }, 'GetModelStatus', { modelSpec: { name: 'half' } });
          assert.equal(st.error, undefined, String(st.error));
          assert.equal(st.response.modelVersionStatus[0].version, '1');
          assert.equal(st.response.modelVersionStatus[0].state, 'AVAILABLE');
        } finally {
          client.close();
        }
      }
      const url = `http://127.0.0.1:${port}`;
      const r = await call(`${url}/v1/models/saved_model_half_plus_three:predict`, 'POST', '{"instances": [1.0,2.0,5.0]}');
      assert.deepEqual(r.json, { predictions: [3.5, 4.0, 5.5] });
      const l = await call(`${url}/v1/models/half/labels/stable:predict`, 'POST', '{"instances": [1.0]}');
      assert.deepEqual(l.json, { predictions: [2.5] });
      // a large request in flight when SIGTERM arrives is still answered
      // (Expect: 100-continue: the server's "continue" says it has parsed the headers, so the request is in
      // progress when the signal arrives; the body is sent only after the signal.)
      const body = `{"inputs": [${new Array(400_000).fill('1.0').join(',')}]}`;
      const answered = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(
          `${url}/v1/models/saved_model_half_plus_three:predict`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
            timeout: 30_000,
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              text += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('continue', () => {
          child.kill('SIGTERM');
          setTimeout(() => req.end(body), 50);
        });
      });
      assert.equal(answered.status, 200, answered.text);
      assert.equal(JSON.parse(answered.text).outputs.length, 400_000);
      const res = await exited;
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.signal, null);
      assert.match(res.stderr, /Received SIGTERM/);
      assert.equal((res.stderr.match(/Successfully loaded servable version/g) ?? []).length, 2);
      assert.equal((res.stderr.match(/Successfully unloaded servable version/g) ?? []).length, 2);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      t.remove();
    }
  });

  it('run works on a TF2 SavedModel and a TF1 SavedModel', async () => {
    const r = await cli(['run', path.join(SERVING_FIXTURES, 'tf2_multi'), '--signature=multi_output', '--input', 'x=[[1,2],[3,-4]]']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /output sum: float32 \[2\] \[3,-1\]/);
    assert.match(r.stdout, /output prod: float32 \[2\] \[2,-12\]/);
    const v1 = await cli(['run', path.join(REST_FIXTURES, 'half_plus_three', '00000123'), '--input', '[1,2,5]']);
    assert.equal(v1.code, 0, v1.stderr);
    assert.match(v1.stdout, /output y: float32 \[3\] \[3.5,4,5.5\]/);
  });
});
