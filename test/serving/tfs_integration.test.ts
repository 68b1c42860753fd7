// TF Serving's own integration tests (tensorflow_serving/model_servers/tensorflow_model_server_test.py and its
// base test_util/tensorflow_model_server_test_base.py, at commit 9d981c5c) against `tfhub-node serve` in place of
// tensorflow_model_server: every server is started with the flags upstream's RunServer passes (on 127.0.0.1 free
// ports, --bind_address=127.0.0.1 added), and every case sends upstream's requests with a Python grpcio / urllib
// client (test/serving/py/tfs_integration.py) and checks what upstream asserts. Test names are upstream's.
// Models: TF Serving's testdata (test/published, test/serving/fixtures/tfs_testdata; SOURCE.md there), laid
// out under a temporary TEST_SRCDIR-like directory with upstream's version directory 00000123.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROTO_INCLUDE_DIRS } from '../../src/serving/proto';
import { freePort } from '../helpers/free_port';
import { PYTHON, runPython } from '../helpers/python';
import { RunResult, runToEnd } from '../helpers/run_to_end';
import { ROOT, SERVING_FIXTURES, tempDir } from './rest_helpers';

const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const DRIVER = path.join(ROOT, 'test', 'serving', 'py', 'tfs_integration.py');
const TFS_TESTDATA = path.join(SERVING_FIXTURES, 'tfs_testdata');
const PUBLISHED = path.join(ROOT, 'test', 'published');
const VERSION = 123; // upstream's _GetModelVersion: the one version directory, 00000123

const probe = spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools'], { encoding: 'utf8', timeout: 60_000 });
const skip =
  probe.status === 0
    ? false
    : `python3 with grpcio and grpcio-tools is not available (${(probe.error?.message ?? probe.stderr ?? '').trim().split('\n').pop()}); CI must install them (test/requirements.txt)`;

/** How upstream's RunServer was called. */
interface RunServerArgs {
  modelName?: string;
  modelPath?: string;
  modelConfigFile?: string;
  monitoringConfigFile?: string;
  batchingParametersFile?: string;
  grpcChannelArguments?: string;
  waitForServerReady?: boolean;
  modelConfigFilePollPeriod?: number;
  /** `--grpc_socket_path`: upstream gives every server /tmp/tf-serving.sock; here each its own unless named. */
  grpcSocketPath?: string;
}

interface RunningServer {
  proc: ChildProcess;
  grpc: string;
  rest: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

describe("TF Serving's tensorflow_model_server_test.py against tfhub-node serve", { skip, timeout: 600_000 }, () => {
  let tmp: { dir: string; remove(): void };
  let testdata: string; // TEST_SRCDIR/tf_serving/tensorflow_serving/servables/tensorflow/testdata
  let protos: string;
  let socketPath: string; // upstream's GRPC_SOCKET_PATH, for the UDS cases
  let sockets = 0;
  const servers = new Map<string, RunningServer>();

  const halfPlusTwo = () => path.join(testdata, 'saved_model_half_plus_two_cpu');
  const halfPlusTwoTf2 = () => path.join(testdata, 'saved_model_half_plus_two_tf2_cpu');
  const halfPlusThree = () => path.join(testdata, 'saved_model_half_plus_three');
  const goodModelConfigFile = () => path.join(tmp.dir, 'good_model_config.conf');

  /** Runs the Python driver without blocking the event loop (the servers' stderr keeps flowing in). */
  function driver(kase: string, args: Record<string, unknown>, timeoutMs = 90_000): Promise<RunResult> {
    return runToEnd(PYTHON, [DRIVER, kase, protos, JSON.stringify(args)], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      timeoutMs,
    });
  }

  /** Runs one case of the Python client; fails the test with its reason when an upstream assertion fails. */
  async function client(kase: string, args: Record<string, unknown>): Promise<void> {
    const r = await driver(kase, args);
    assert.equal(r.code, 0, `${kase} ${JSON.stringify(args)}:\n${r.stderr}`);
  }

  function stopServer(key: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const s = servers.get(key);
    servers.delete(key);
    if (!s) return Promise.resolve();
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill(signal);
    const kill = setTimeout(() => s.proc.kill('SIGKILL'), 15_000);
    return s.exited.then(() => clearTimeout(kill));
  }

  /** Upstream's RunServer: the same flags, one server per set of arguments (reused, as upstream does). */
  async function runServer(a: RunServerArgs): Promise<RunningServer> {
    const key = JSON.stringify(a);
    const cached = servers.get(key);
    if (cached) return cached;
    const port = await freePort();
    const restPort = await freePort();
    const args = [
      CLI,
      'serve',
      `--port=${port}`,
      `--rest_api_port=${restPort}`,
      '--rest_api_timeout_in_ms=5000',
      `--grpc_socket_path=${a.grpcSocketPath ?? path.join(tmp.dir, `s${++sockets}.sock`)}`,
      '--bind_address=127.0.0.1',
    ];
    if (a.modelConfigFile) args.push(`--model_config_file=${a.modelConfigFile}`);
    else args.push(`--model_name=${a.modelName}`, `--model_base_path=${a.modelPath}`);
    if (a.monitoringConfigFile) args.push(`--monitoring_config_file=${a.monitoringConfigFile}`);
    if (a.modelConfigFilePollPeriod !== undefined) args.push(`--model_config_file_poll_wait_seconds=${a.modelConfigFilePollPeriod}`);
    if (a.batchingParametersFile) args.push('--enable_batching', `--batching_parameters_file=${a.batchingParametersFile}`);
    args.push(`--grpc_channel_arguments=${[a.grpcChannelArguments, 'grpc.so_reuseaddr=1'].filter(Boolean).join(',')}`);
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
    const s: RunningServer = { proc, grpc: `127.0.0.1:${port}`, rest: `127.0.0.1:${restPort}`, stderr: () => stderr, exited };
    servers.set(key, s);
    if (a.waitForServerReady !== false) {
      const r = await driver('wait_ready', { address: s.grpc, timeout: 90 }, 120_000);
      assert.equal(r.code, 0, `server not ready: ${r.stderr}\nserver stderr:\n${stderr}`);
    }
    return s;
  }

  /** A base path holding one TF Serving testdata model as version 00000123. */
  function layOut(name: string, from: string): void {
    fs.cpSync(from, path.join(testdata, name, '00000123'), { recursive: true });
  }

  before(() => {
    tmp = tempDir('tfhub-tfs-');
    testdata = path.join(tmp.dir, 'tf_serving', 'tensorflow_serving', 'servables', 'tensorflow', 'testdata');
    layOut('saved_model_half_plus_two_cpu', path.join(PUBLISHED, 'serving_half_plus_two_cpu'));
    layOut('saved_model_half_plus_two_tf2_cpu', path.join(PUBLISHED, 'serving_half_plus_two_tf2_cpu'));
    layOut('saved_model_half_plus_three', path.join(PUBLISHED, 'serving_half_plus_three'));
    for (const name of fs.readdirSync(TFS_TESTDATA)) {
      if (name !== 'SOURCE.md') fs.cpSync(path.join(TFS_TESTDATA, name), path.join(testdata, name), { recursive: true });
    }
    // upstream's setUp: __BuildModelConfigFile
    const template = fs.readFileSync(path.join(testdata, 'good_model_config.txt'), 'utf8');
    fs.writeFileSync(
      goodModelConfigFile(),
      template.replace('${TEST_HALF_PLUS_TWO_DIR}', halfPlusTwo()).replace('${TEST_HALF_PLUS_THREE_DIR}', halfPlusThree()),
    );
    socketPath = path.join(tmp.dir, 'tf-serving.sock');
    protos = path.join(tmp.dir, 'protos');
    fs.mkdirSync(protos);
    const r = spawnSync(PYTHON, [DRIVER, 'compile', protos, PROTO_INCLUDE_DIRS.join(path.delimiter)], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
  });

  after(async () => {
    await Promise.all([...servers.keys()].map((k) => stopServer(k)));
    tmp?.remove();
  });

  const predict = (address: string, args: Record<string, unknown>) =>
    client('predict', { address, expected_output: 3.0, expected_version: VERSION, ...args });

  test('testGetModelStatus', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await client('model_status', { address: s.grpc, expected_version: VERSION });
  });

  test('testGetModelMetadata', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await client('model_metadata', { address: s.grpc, expected_version: VERSION });
  });

  for (const [kase, name] of [
    ['classify', 'testClassify'],
    ['regress', 'testRegress'],
    ['multi_inference', 'testMultiInference'],
  ]) {
    test(name, async () => {
      const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
      await client(kase, { address: s.grpc, expected_version: VERSION });
    });
    test(`${name}Tf2`, async () => {
      const s = await runServer({ modelName: 'default', modelPath: halfPlusTwoTf2() });
      await client(kase, { address: s.grpc, expected_version: VERSION });
    });
  }

  test('testPredictSavedModel', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await predict(s.grpc, {});
    await predict(s.grpc, { specify_output: false });
  });

  test('testPredictSavedModel with --enable_batching --batching_parameters_file=batching_config.txt (upstream _TestPredict with batching_parameters_file)', async () => {
    const s = await runServer({
      modelName: 'default',
      modelPath: halfPlusTwo(),
      batchingParametersFile: path.join(testdata, 'batching_config.txt'),
    });
    await predict(s.grpc, {});
    await predict(s.grpc, { specify_output: false });
  });

  test('tensorflow_model_server_test_client.py: Predict with a scalar x (no tensor_shape)', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await predict(s.grpc, { scalar_input: true, signature_name: '', expected_signature: 'serving_default' });
  });

  test('_TestBadModel (an upstream helper no test calls): a bad export keeps the server from starting, as tensorflow_model_server', async () => {
    const a = { modelName: 'default', modelPath: path.join(testdata, 'bad_half_plus_two'), waitForServerReady: false };
    const s = await runServer(a);
    const code = await s.exited;
    servers.delete(JSON.stringify(a));
    assert.notEqual(code, 0, s.stderr());
    assert.match(s.stderr(), /did not become available/);
    assert.match(s.stderr(), /bad_half_plus_two/);
  });

  test('testGoodModelConfig', async () => {
    const s = await runServer({ modelConfigFile: goodModelConfigFile() });
    await predict(s.grpc, { model_name: 'half_plus_two' });
    await predict(s.grpc, { model_name: 'half_plus_two', specify_output: false });
    await predict(s.grpc, { model_name: 'half_plus_three', expected_output: 4.0 });
    await predict(s.grpc, { model_name: 'half_plus_three', expected_output: 4.0, specify_output: false });
  });

  test('testBadModelConfig', async () => {
    const a = { modelConfigFile: path.join(testdata, 'bad_model_config.txt'), waitForServerReady: false };
    const s = await runServer(a);
    await s.exited;
    servers.delete(JSON.stringify(a));
    assert.ok(s.stderr().includes('Error parsing text-format tensorflow.serving.ModelServerConfig'), s.stderr());
  });

  const configProto = (name: string, modelPath: string) =>
    `\n    model_config_list: {\n      config: {\n        name: "${name}",\n        base_path: "${modelPath}",\n        model_platform: "tensorflow"\n      }\n    }\n    `;

  test('testModelConfigReload', async () => {
    const configPath = path.join(tmp.dir, 'model_config_reload.txt');
    fs.writeFileSync(configPath, configProto('half_plus_two', halfPlusTwo()));
    const a = { modelConfigFile: configPath, modelConfigFilePollPeriod: 1 };
    const s = await runServer(a);
    try {
      await predict(s.grpc, { model_name: 'half_plus_two', specify_output: false });
      fs.writeFileSync(configPath, configProto('half_plus_three', halfPlusThree()));
      // upstream sleeps 10 s, then expects the new model: here the same bound, polled
      const deadline = Date.now() + 10_000;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        try {
          await predict(s.grpc, { model_name: 'half_plus_three', expected_output: 4.0, specify_output: false });
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
        }
      }
    } finally {
      await stopServer(JSON.stringify(a));
    }
  });

  test('testModelConfigReloadWithZeroPollPeriod', async () => {
    const configPath = path.join(tmp.dir, 'model_config_zero.txt');
    fs.writeFileSync(configPath, configProto('half_plus_two', halfPlusTwo()));
    const a = { modelConfigFile: configPath, modelConfigFilePollPeriod: 0 };
    const s = await runServer(a);
    try {
      await predict(s.grpc, { model_name: 'half_plus_two', specify_output: false });
      fs.writeFileSync(configPath, configProto('half_plus_three', halfPlusThree()));
      await new Promise((r) => setTimeout(r, 1000 + 1000));
      await predict(s.grpc, { model_name: 'half_plus_two', specify_output: false });
    } finally {
      await stopServer(JSON.stringify(a));
    }
  });

  test('testGoodGrpcChannelArgs', async () => {
    const a = {
      modelName: 'default',
      modelPath: halfPlusTwo(),
      grpcChannelArguments: 'grpc.max_connection_age_ms=2000,grpc.lb_policy_name=grpclb',
    };
    const s = await runServer(a);
    try {
      await predict(s.grpc, { specify_output: false });
    } finally {
      await stopServer(JSON.stringify(a));
    }
  });

  // `body` is JSON text, so that upstream's 2.0 stays a float (JSON.stringify would write 2)
  const rest = (s: RunningServer, route: string, body: string | null, expected: Record<string, unknown>) =>
    client('rest', { url: `http://${s.rest}${route}`, body, ...expected });

  test('testClassifyREST', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await rest(s, '/v1/models/default:classify', '{"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}', {
      expected_json: { results: [[['', 3.0]]] },
    });
  });

  test('testRegressREST', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await rest(s, '/v1/models/default:regress', '{"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}', {
      expected_json: { results: [3.0] },
    });
  });

  test('testPredictREST', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await rest(s, '/v1/models/default:predict', '{"instances": [2.0, 3.0, 4.0]}', { expected_json: { predictions: [3.0, 3.5, 4.0] } });
  });

  test('testPredictColumnarREST', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await rest(s, '/v1/models/default:predict', '{"inputs": [2.0, 3.0, 4.0]}', { expected_json: { outputs: [3.0, 3.5, 4.0] } });
  });

  test('testGetStatusREST', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await rest(s, '/v1/models/default', null, {
      expected_json: {
        model_version_status: [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
      },
    });
  });

  test('testGetModelMetadataREST', async () => {
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await rest(s, '/v1/models/default/metadata', null, { expected_json_file: path.join(testdata, 'half_plus_two_model_metadata.json') });
  });

  test('testPrometheusEndpoint', async () => {
    const a = { modelName: 'default', modelPath: halfPlusTwo(), monitoringConfigFile: path.join(testdata, 'monitoring_config.txt') };
    const s = await runServer(a);
    try {
      await rest(s, '/monitoring/prometheus/metrics', null, { expected_substring: '# TYPE' });
    } finally {
      await stopServer(JSON.stringify(a));
    }
  });

  test('testPredictUDS', async () => {
    await runServer({ modelName: 'default', modelPath: halfPlusTwo(), grpcSocketPath: socketPath });
    await predict(`unix:${socketPath}`, { specify_output: false });
  });

  test('testPredictUDS: a later server takes over the socket path, live or left by a killed server, as gRPC does', async () => {
    // upstream starts every server with the same --grpc_socket_path: the last one started answers on it
    const three = { modelName: 'default', modelPath: halfPlusThree(), grpcSocketPath: socketPath };
    await runServer(three);
    await predict(`unix:${socketPath}`, { specify_output: false, expected_output: 4.0 });
    await stopServer(JSON.stringify(three), 'SIGKILL');
    assert.ok(fs.existsSync(socketPath), 'a killed server leaves its socket file');
    const two = {
      modelName: 'default',
      modelPath: halfPlusTwo(),
      grpcSocketPath: socketPath,
      grpcChannelArguments: 'grpc.keepalive_time_ms=60000',
    };
    await runServer(two);
    try {
      await predict(`unix:${socketPath}`, { specify_output: false });
    } finally {
      await stopServer(JSON.stringify(two));
    }
  });

  test('testPredictOnTfLite', { skip: 'TF Lite models (--prefer_tflite_model): libtensorflow has no TF Lite interpreter' }, () => {});
  test(
    'testPredictWithSignatureDefOnTfLite',
    { skip: 'TF Lite models (--prefer_tflite_model): libtensorflow has no TF Lite interpreter' },
    () => {},
  );

  const oracle = () => JSON.parse(fs.readFileSync(path.join(TFS_TESTDATA, 'tfs_testdata.json'), 'utf8'));

  test('test_tf_saved_model_save', async () => {
    const a = { modelName: 'default', modelPath: path.join(testdata, 'tf_saved_model_save') };
    const s = await runServer(a);
    try {
      assert.deepEqual(oracle().tf_saved_model_save.serving_default.y, [12.0]);
      await predict(s.grpc, { expected_output: 12.0, specify_output: false });
    } finally {
      await stopServer(JSON.stringify(a));
    }
  });

  test('test_tf_saved_model_save_multiple_signatures', async () => {
    const a = { modelName: 'default', modelPath: path.join(testdata, 'tf_saved_model_save_multiple_signatures') };
    const s = await runServer(a);
    try {
      await predict(s.grpc, { expected_output: 2.0, signature_name: 'custom_signature_key' });
      await predict(s.grpc, { expected_output: 1.0 });
    } finally {
      await stopServer(JSON.stringify(a));
    }
  });

  // Keras 3 (TensorFlow 2.16 on) names a saved Sequential's serving_default input `inputs` and its output
  // `output_0`; upstream's request (`x` in, `y` out) is for Keras 2's names. So: upstream's request gets TF Serving's
  // INVALID_ARGUMENT (saved_model's GetInputValues), and the same request with the model's names gets upstream's 2.0.
  for (const [name, upstream] of [
    ['keras_sequential_saved_model_save', 'test_sequential_keras_saved_model_save'],
    ['distrat_keras_sequential_saved_model_save', 'test_distrat_sequential_keras_saved_model_save'],
  ]) {
    test(upstream, async () => {
      const sig = oracle()[name].serving_default;
      assert.deepEqual([sig.input, sig.outputs, sig.y], ['inputs', ['output_0'], [2.0]]);
      const a = { modelName: 'default', modelPath: path.join(testdata, name) };
      const s = await runServer(a);
      try {
        await predict(s.grpc, {
          specify_output: false,
          batch_input: true,
          expected_code: 'INVALID_ARGUMENT',
          expected_details:
            'Signature input alias: inputs(feed name: serving_default_inputs:0) not found in request and no default value provided. Inputs expected to be in the request {x}, or default input alias set: ',
        });
        await predict(s.grpc, {
          expected_output: 2.0,
          specify_output: false,
          batch_input: true,
          input_key: 'inputs',
          output_key: 'output_0',
        });
      } finally {
        await stopServer(JSON.stringify(a));
      }
    });
  }

  test('test_profiler_service_with_valid_trace_request', async (t) => {
    // the client is Python TensorFlow's profiler client
    if (runPython('import tensorflow.python.profiler.profiler_client', '')?.status !== 0) {
      t.skip('Python TensorFlow is not available');
      return;
    }
    const s = await runServer({ modelName: 'default', modelPath: halfPlusTwo() });
    await client('profiler_trace', {
      address: s.grpc,
      url: `http://${s.rest}/v1/models/default:predict`,
      logdir: path.join(tmp.dir, 'logs'),
    });
  });

  test(
    'test_tf_text',
    { skip: "the tf_text_regression model needs TF Text's custom op library (tensorflow-text), which libtensorflow does not include" },
    () => {},
  );
});
