// Shared helpers of the resolver suites (no tests here: the name has no `.test.`): a real HTTP server on 127.0.0.1
// with scripted routes and a request log, tarball builders (from fixture directories, and raw hostile headers),
// temporary directories, and environment isolation.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, beforeEach } from 'node:test';
import { gzipSync } from 'node:zlib';
import { create as tarCreate } from 'tar';

/** Repo-root test/fixtures, from dist/test/resolver/helpers. */
export { FIXTURES } from '../../helpers/fixtures';
/** test/resolver/fixtures (TLS material). */
export const RESOLVER_FIXTURES = path.join(__dirname, '../../../../test/resolver/fixtures');

/** A logged request. */
export interface LoggedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A route handler: gets the request and the response; may be async. */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void | Promise<void>;

/** A test HTTP server with a request log. */
export interface TestServer {
  port: number;
  /** `http://127.0.0.1:<port>` */
  base: string;
  requests: LoggedRequest[];
  routes: Map<string, Route>;
  /** Requests whose path is `p` (query ignored). */
  hits(p: string): LoggedRequest[];
  close(): Promise<void>;
}

/** Starts an HTTP server on 127.0.0.1; unknown paths answer 404. */
export async function startServer(routes: Record<string, Route> = {}, server: http.Server = http.createServer()): Promise<TestServer> {
  const map = new Map(Object.entries(routes));
  const requests: LoggedRequest[] = [];
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = map.get(url.pathname);
    if (!route) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    Promise.resolve(route(req, res, url)).catch((e) => {
      res.destroy(e as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proto = 'setSecureContext' in server ? 'https' : 'http';
  return {
    port,
    base: `${proto}://127.0.0.1:${port}`,
    requests,
    routes: map,
    hits: (p) => requests.filter((r) => new URL(r.url, 'http://x').pathname === p),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A route serving bytes with Content-Length. */
export function serve(body: Buffer | string, contentType = 'application/octet-stream'): Route {
  return (_req, res) => {
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
}

/** A route answering a redirect. */
export function redirect(status: number, location: string): Route {
  return (_req, res) => {
    res.writeHead(status, { Location: location });
    res.end();
  };
}

/** A tarball of a directory's contents, entries named `./...` like tensorflow_hub's archives. */
export async function tarballOf(dir: string, gzip: boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tarCreate({ cwd: dir, gzip, portable: true }, ['.']);
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** A raw tar member for {@link rawTar}. */
export interface RawMember {
  name: string;
  /** Tar type flag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory, '6' FIFO, ... */
  type?: string;
  data?: Buffer | string;
  linkname?: string;
  /** Declared size (defaults to the data's length). */
  size?: number;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One ustar header block. */
export function tarHeader(m: RawMember, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(m.name, 0, 100, 'utf8');
  h.write(octal(m.type === '5' ? 0o755 : 0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(1_600_000_000, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(m.type ?? '0', 156, 'latin1');
  if (m.linkname) h.write(m.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** A tar archive built header by header (for hostile archives), ending with two zero blocks. */
export function rawTar(members: RawMember[], gzip = false): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = m.data === undefined ? Buffer.alloc(0) : Buffer.from(m.data);
    parts.push(tarHeader(m, m.size ?? data.length));
    if (data.length) {
      parts.push(data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  return gzip ? gzipSync(tar) : tar;
}

/** A minimal module as a raw archive: `./`, `./saved_model.pb` and an extra file. */
export function tinyModuleTar(extra: RawMember[] = [], gzip = true): Buffer {
  return rawTar([{ name: './', type: '5' }, { name: './saved_model.pb', data: 'graph' }, ...extra], gzip);
}

/** A fresh temporary directory; remove with {@link rmrf}. */
export function tmpDir(prefix = 'tfhub-resolver-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a directory tree (restoring write permission first). */
export function rmrf(p: string): void {
  try {
    fs.chmodSync(p, 0o755);
  } catch {
    // not there
  }
  fs.rmSync(p, { recursive: true, force: true });
}

/** The environment variables the resolver reads, plus the proxies. */
export const RESOLVER_ENV = [
  'TFHUB_CACHE_DIR',
  'TFHUB_MODEL_LOAD_FORMAT',
  'TFHUB_DOWNLOAD_PROGRESS',
  'TFHUB_DISABLE_CERT_VALIDATION',
  'TFHUB_OFFLINE',
  'TFHUB_LOCK_TIMEOUT_SEC',
  'TFHUB_HTTP_TIMEOUT_SEC',
  'TFHUB_MAX_EXTRACT_BYTES',
  'http_proxy',
  'HTTP_PROXY',
  'https_proxy',
  'HTTPS_PROXY',
  'no_proxy',
  'NO_PROXY',
];

/** Clears the resolver's environment variables; returns a function restoring them. */
export function isolateEnv(): () => void {
  const saved = new Map<string, string | undefined>();
  for (const k of [...RESOLVER_ENV, 'TMPDIR']) saved.set(k, process.env[k]);
  for (const k of RESOLVER_ENV) delete process.env[k];
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Runs `fn` with some environment variables set (undefined = unset), restoring them afterwards. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map<string, string | undefined>();
  for (const k of Object.keys(vars)) {
    saved.set(k, process.env[k]);
    if (vars[k] === undefined) delete process.env[k];
    else process.env[k] = vars[k];
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export { rejection } from '../../helpers/rejection';

/** Sorted names in a directory. */
export function ls(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond` every 10 ms until true or `timeoutMs` passes (then throws). */
export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Path of the compiled child helper. */
export const CHILD = path.join(__dirname, 'resolve-child.js');

/** What {@link useServerAndCache} gives each test. */
export interface ServerAndCache {
  server: TestServer;
  /** A fresh temporary directory (removed after the test). */
  root: string;
  /** `<root>/cache` */
  cache: string;
}

/**
 * Registers the hooks the archive and lock suites share: an isolated environment and one test server for the
 * suite; per test a fresh root with `<root>/cache` (created when `createCache`), cleared routes and request log.
 * `use` gets the current server, root and cache before each test.
 */
export function useServerAndCache(use: (s: ServerAndCache) => void, options: { createCache?: boolean } = {}): void {
  let restoreEnv: () => void;
  let server: TestServer;
  let root: string;
  before(async () => {
    restoreEnv = isolateEnv();
    server = await startServer();
  });
  after(async () => {
    await server.close();
    restoreEnv();
  });
  beforeEach(() => {
    root = tmpDir();
    const cache = path.join(root, 'cache');
    if (options.createCache) fs.mkdirSync(cache);
    server.routes.clear();
    server.requests.length = 0;
    use({ server, root, cache });
  });
  afterEach(() => rmrf(root));
}
