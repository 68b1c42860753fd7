// Helpers of the serving suites (not a test file itself): a ModelServer behind node:http on 127.0.0.1, always
// closed; fixture paths; temporary base paths.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';
import { ModelServer, ModelServerOptions } from '../../src/serving/model_server';

/** test/serving/fixtures (serving models written by Python) and test/serving/rest_fixtures. */
export const SERVING_FIXTURES = path.join(__dirname, '../../../test/serving/fixtures');
export const REST_FIXTURES = path.join(__dirname, '../../../test/serving/rest_fixtures');
/** The repository root (for the CLI). */
export const ROOT = path.join(__dirname, '../../..');

/** A started ModelServer with its REST API on 127.0.0.1. */
export interface RestServer {
  server: ModelServer;
  http: http.Server;
  url: string;
  logs: string[];
  close(): Promise<void>;
}

/** Starts a ModelServer and a node:http server on 127.0.0.1, port 0. */
export async function startRest(options: ModelServerOptions): Promise<RestServer> {
  const logs: string[] = [];
  const server = new ModelServer({ fileSystemPollWaitSeconds: 0, log: (l) => logs.push(l), ...options });
  await server.start();
  const srv = http.createServer(server.restHandler());
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return {
    server,
    http: srv,
    url,
    logs,
    close: async () => {
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      await server.close();
    },
  };
}

/** A request; resolves with the status and the parsed JSON body (or the raw text when it is not JSON). */
export async function call(
  url: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  body?: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; json: any; text: string }> {
  const r = await fetch(url, { method, body, signal: AbortSignal.timeout(30_000) });
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text.replace(/\bNaN\b/g, '"NaN"').replace(/-?\bInfinity\b/g, '"Infinity"'));
  } catch {
    /* not JSON */
  }
  return { status: r.status, json, text };
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Copies a model directory to `<base>/<version>` (a real copy, so removing it cannot touch the fixture). */
export function addVersion(base: string, version: number, modelDir: string): void {
  fs.cpSync(modelDir, path.join(base, String(version)), { recursive: true });
}

/** Free ports (the CLI takes port numbers; 0 means "disabled" there, as in TF Serving). */
export { freePort } from '../helpers/free_port';

/** Copies fixture `model` to `<base>/<version>` with warmup file `warmup` (fixtures/warmup/NAME.tfrecord), if any. */
export function versionWithWarmup(base: string, version: number, model: string, warmup: string | null): void {
  addVersion(base, version, path.join(SERVING_FIXTURES, model));
  if (warmup === null) return;
  const file = path.join(base, String(version), 'assets.extra', 'tf_serving_warmup_requests');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.copyFileSync(path.join(SERVING_FIXTURES, 'warmup', `${warmup}.tfrecord`), file);
}
