// HTTPS (a self-signed server on 127.0.0.1), TFHUB_DISABLE_CERT_VALIDATION as Python, and proxies: an HTTPS_PROXY
// CONNECT tunnel, an HTTP_PROXY absolute-form request, NO_PROXY, proxy authentication, and the
// hub.tensorflow.google.cn → gcs.tensorflow.google.cn mapping observed through the proxy.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';

import { resolve } from '../../src/hub/resolver';
import {
  FIXTURES,
  RESOLVER_FIXTURES,
  TestServer,
  isolateEnv,
  ls,
  rejection,
  rmrf,
  serve,
  startServer,
  tarballOf,
  tmpDir,
  withEnv,
} from './helpers/util';

interface Proxy {
  port: number;
  url: string;
  connects: Array<{ target: string; auth?: string }>;
  forwards: Array<{ url: string; auth?: string }>;
  close(): Promise<void>;
}

/**
 * A forward proxy: CONNECT tunnels go to `tunnelPort` on 127.0.0.1 whatever the requested host (so that
 * gcs.tensorflow.google.cn:443 reaches the local HTTPS server); absolute-form requests are forwarded.
 */
async function startProxy(tunnelPort: number, requireAuth?: string): Promise<Proxy> {
  const connects: Proxy['connects'] = [];
  const forwards: Proxy['forwards'] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const auth = req.headers['proxy-authorization'];
    forwards.push({ url: req.url ?? '', auth });
    if (requireAuth && auth !== requireAuth) {
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic' });
      res.end();
      return;
    }
    const target = new URL(req.url ?? '');
    const up = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    up.end();
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
    const auth = req.headers['proxy-authorization'];
    connects.push({ target: req.url ?? '', auth });
    if (requireAuth && auth !== requireAuth) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = net.connect(tunnelPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connects,
    forwards,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('resolver: TLS and proxies', () => {
  let restoreEnv: () => void;
  let secure: TestServer;
  let plain: TestServer;
  let tgz: Buffer;
  let root: string;
  let cache: string;
  const opts = (extra: Record<string, unknown> = {}) => ({ cacheDir: cache, retries: 0, ...extra });

  before(async () => {
    restoreEnv = isolateEnv();
    tgz = await tarballOf(path.join(FIXTURES, 'mlp_v1'), true);
    const tls = {
      cert: fs.readFileSync(path.join(RESOLVER_FIXTURES, 'tls/cert.pem')),
      key: fs.readFileSync(path.join(RESOLVER_FIXTURES, 'tls/key.pem')),
    };
    secure = await startServer(
      {
        '/mock_module.tar.gz': serve(tgz),
        '/tfhub-modules/google/bit/s-r50x1/1.tar.gz': serve(tgz),
      },
      https.createServer(tls) as unknown as http.Server,
    );
    plain = await startServer({ '/mock_module.tar.gz': serve(tgz) });
  });
  after(async () => {
    await secure.close();
    await plain.close();
    restoreEnv();
  });
  beforeEach(() => {
    root = tmpDir();
    cache = path.join(root, 'cache');
    secure.requests.length = 0;
    plain.requests.length = 0;
  });
  afterEach(() => rmrf(root));

  describe('compressed_module_resolver_test.py', () => {
    it('testGetModulePathTarGz_withEnvVariable: "" and "TRUE" keep certificate checks, "true" disables them', async () => {
      const handle = `${secure.base}/mock_module.tar.gz`;
      assert.match(handle, /^https:\/\/127\.0\.0\.1:/);
      for (const value of [undefined, '', 'TRUE']) {
        const e = await withEnv({ TFHUB_DISABLE_CERT_VALIDATION: value }, () => rejection(resolve(handle, opts())));
        assert.equal(e.code, 'ERR_NETWORK', String(value));
        assert.match(e.message, /self[- ]signed certificate/i);
        assert.match(e.message, /NODE_EXTRA_CA_CERTS/);
        assert.deepEqual(ls(cache), []);
      }
      assert.equal(secure.requests.length, 0);
      const p = await withEnv({ TFHUB_DISABLE_CERT_VALIDATION: 'true' }, () => resolve(handle, opts()));
      assert.deepEqual(ls(p), ['saved_model.pb', 'tfhub_module.pb', 'variables']);
      assert.equal(secure.requests.length, 1);
    });

    it('testLoadFromCn: hub.tensorflow.google.cn/<path> fetches gcs.tensorflow.google.cn/tfhub-modules/<path>.tar.gz once', async () => {
      const proxy = await startProxy(secure.port);
      try {
        const handle = 'https://hub.tensorflow.google.cn/google/bit/s-r50x1/1';
        const p = await withEnv({ HTTPS_PROXY: proxy.url, TFHUB_DISABLE_CERT_VALIDATION: 'true' }, () => resolve(handle, opts()));
        assert.deepEqual(ls(p), ['saved_model.pb', 'tfhub_module.pb', 'variables']);
        assert.deepEqual(
          proxy.connects.map((c) => c.target),
          ['gcs.tensorflow.google.cn:443'],
        );
        assert.deepEqual(
          secure.requests.map((r) => [r.url, r.headers.host]),
          [['/tfhub-modules/google/bit/s-r50x1/1.tar.gz', 'gcs.tensorflow.google.cn']],
        );
      } finally {
        await proxy.close();
      }
    });
  });

  it('HTTPS_PROXY: https URLs go through a CONNECT tunnel (with Basic proxy auth from the URL); TLS is still verified', async () => {
    const proxy = await startProxy(secure.port, `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    try {
      const handle = `${secure.base}/mock_module.tar.gz`;
      const e = await withEnv({ https_proxy: proxy.url }, () => rejection(resolve(handle, opts())));
      assert.equal(e.code, 'ERR_NETWORK');
      assert.match(e.message, /refused CONNECT .*407.*proxy authentication required/);
      const authed = `http://user:p%40ss@127.0.0.1:${proxy.port}`;
      const bad = await withEnv({ https_proxy: authed }, () => rejection(resolve(handle, opts())));
      assert.match(bad.message, /self[- ]signed certificate/i, 'certificates are checked through the tunnel');
      const p = await withEnv({ https_proxy: authed, TFHUB_DISABLE_CERT_VALIDATION: 'true' }, () => resolve(handle, opts()));
      assert.deepEqual(ls(p), ['saved_model.pb', 'tfhub_module.pb', 'variables']);
      assert.equal(proxy.connects.length, 3);
      assert.equal(proxy.connects[2].target, `127.0.0.1:${secure.port}`);
      assert.equal(secure.requests.length, 1);
    } finally {
      await proxy.close();
    }
  });

  it('HTTP_PROXY: http URLs are sent to the proxy in absolute form; NO_PROXY bypasses it', async () => {
    const proxy = await startProxy(0);
    try {
      const handle = `${plain.base}/mock_module.tar.gz`;
      await withEnv({ HTTP_PROXY: proxy.url }, () => resolve(handle, opts()));
      assert.deepEqual(
        proxy.forwards.map((f) => f.url),
        [handle],
      );
      assert.equal(plain.requests.length, 1);
      rmrf(cache);
      // A dead proxy that must not be used.
      await withEnv({ HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: 'localhost,127.0.0.1' }, () => resolve(handle, opts()));
      assert.equal(plain.requests.length, 2);
      const dead = await withEnv({ http_proxy: 'http://127.0.0.1:9' }, () =>
        rejection(resolve(handle, opts({ cacheDir: path.join(root, 'c2') }))),
      );
      assert.equal(dead.code, 'ERR_NETWORK');
      assert.match(dead.message, /ECONNREFUSED/);
    } finally {
      await proxy.close();
    }
  });
});
