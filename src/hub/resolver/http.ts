/**
 * A small HTTP(S) GET client over node:http / node:https / node:tls: redirects (301/302/303/307/308, at most 10,
 * http(s) targets only), `http_proxy` / `https_proxy` / `no_proxy` (absolute-form requests to the proxy for http
 * URLs, CONNECT tunnels for https URLs; `user:pass@` in the proxy URL becomes Basic Proxy-Authorization), a
 * connect / idle timeout, TLS validation switchable by TFHUB_DISABLE_CERT_VALIDATION, and typed errors that say
 * whether retrying may help.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { ResolveError, abortError, sysCode } from './errors';
import { proxyFor } from './url';

/** Redirect statuses followed, as urllib does. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Statuses worth retrying. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);
/** urllib's `HTTPRedirectHandler.max_redirections`. */
export const MAX_REDIRECTS = 10;

const USER_AGENT = `tfhub-node (Node.js ${process.version})`;

/** Options of one GET. */
export interface GetOptions {
  /** The handle being resolved (for error messages). */
  handle: string;
  /** Connect and idle timeout, ms. */
  timeoutMs: number;
  /** Verify TLS certificates and host names. */
  certValidation: boolean;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/** A response whose body has not been read yet. */
export interface OpenResponse {
  /** The response (a readable stream of the body). */
  res: http.IncomingMessage;
  /** The URL that produced this response (after redirects). */
  url: string;
  /** The HTTP status code. */
  status: number;
  /** Whether the idle timer fired (the body stream then errors). */
  timedOut(): boolean;
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'ECONNABORTED',
  'EHOSTDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'HPE_INVALID_CONSTANT',
]);

const TLS_HINT =
  ' (to trust a private CA set NODE_EXTRA_CA_CERTS=<ca.pem>; TFHUB_DISABLE_CERT_VALIDATION=true turns checks off, insecurely)';

/** Maps a socket / TLS / DNS failure to `ERR_NETWORK` (transient where a retry may help). */
export function networkError(e: unknown, url: string, handle: string, what = 'GET'): ResolveError {
  if (e instanceof ResolveError) return e;
  const code = sysCode(e);
  const msg = (e as Error)?.message ?? String(e);
  const tlsProblem = !!code && /CERT|SIGNATURE|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL/.test(code);
  return new ResolveError(
    'ERR_NETWORK',
    `${what} ${url} failed: ${msg}${code && !msg.includes(code) ? ` (${code})` : ''}` +
      `${tlsProblem ? TLS_HINT : ''} [resolving ${handle}]`,
    {
      handle,
      url,
      cause: e,
      transient: !!code && TRANSIENT_CODES.has(code),
    },
  );
}

function retryAfterMs(res: http.IncomingMessage): number | undefined {
  const raw = res.headers['retry-after'];
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/** The error for an HTTP error status (`ERR_HTTP_STATUS`); 408/425/429/5xx are marked transient. */
export function statusError(res: http.IncomingMessage, url: string, handle: string): ResolveError {
  const status = res.statusCode ?? 0;
  // eslint-disable-next-line no-control-regex
  const text = (res.statusMessage ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 100);
  let hint = '';
  if (status === 404) hint = ' Check the handle: the model may not exist, or may have moved.';
  else if (status === 401 || status === 403) hint = ' The model may be private, gated, moved, or the URL may have expired.';
  return new ResolveError('ERR_HTTP_STATUS', `HTTP ${status}${text ? ` ${text}` : ''} for GET ${url} [resolving ${handle}].${hint}`, {
    handle,
    url,
    status,
    transient: TRANSIENT_STATUSES.has(status),
    retryAfterMs: retryAfterMs(res),
  });
}

function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '');
}

function portOf(u: URL): number {
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username && !proxy.password) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/** Opens a CONNECT tunnel through `proxy` to the target's host:port. */
function connectTunnel(proxy: URL, target: URL, opts: GetOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const hostPort = `${target.hostname}:${portOf(target)}`;
    const mod = proxy.protocol === 'https:' ? https : http;
    const req = mod.request({
      host: hostOf(proxy),
      port: portOf(proxy),
      method: 'CONNECT',
      path: hostPort,
      headers: { Host: hostPort, 'User-Agent': USER_AGENT, ...proxyAuth(proxy) },
      agent: false,
      timeout: opts.timeoutMs,
      rejectUnauthorized: opts.certValidation,
      signal: opts.signal,
    });
    req.on('connect', (res: http.IncomingMessage, socket: Socket, head: Buffer) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        const auth = res.statusCode === 407 ? ' (proxy authentication required: put user:password in the proxy URL)' : '';
        reject(
          new ResolveError(
            'ERR_NETWORK',
            `Proxy ${proxy.host} refused CONNECT ${hostPort}: HTTP ${res.statusCode}${auth} [resolving ${opts.handle}]`,
            { handle: opts.handle, url: target.href, status: res.statusCode, transient: TRANSIENT_STATUSES.has(res.statusCode ?? 0) },
          ),
        );
        return;
      }
      if (head && head.length) socket.unshift(head);
      resolve(socket);
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`proxy connection timed out after ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (e) =>
      reject(
        opts.signal?.aborted
          ? abortError(opts.signal, opts.handle)
          : networkError(e, target.href, opts.handle, `CONNECT (via proxy ${proxy.host})`),
      ),
    );
    req.end();
  });
}

let warnedInsecure = false;
function warnInsecureOnce(): void {
  if (warnedInsecure) return;
  warnedInsecure = true;
  process.emitWarning('TFHUB_DISABLE_CERT_VALIDATION=true: TLS certificates and host names are not verified for module downloads.', {
    code: 'TFHUB_INSECURE_TLS',
  });
}

/** One GET without following redirects. Resolves once the response headers arrived (any status). */
export async function getOnce(urlString: string, opts: GetOptions): Promise<OpenResponse> {
  let url: URL;
  try {
    url = new URL(urlString);
  } catch (e) {
    throw new ResolveError('ERR_INVALID_HUB_HANDLE', `Invalid URL ${JSON.stringify(urlString)} [resolving ${opts.handle}]`, {
      handle: opts.handle,
      cause: e,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ResolveError('ERR_HTTP_REDIRECT', `Refusing to fetch ${url.protocol} URL ${urlString} [resolving ${opts.handle}]`, {
      handle: opts.handle,
      url: urlString,
    });
  }
  if (opts.signal?.aborted) throw abortError(opts.signal, opts.handle);
  if (!opts.certValidation && url.protocol === 'https:') warnInsecureOnce();
  const proxy = proxyFor(url);
  const headers: Record<string, string> = {
    Host: url.host,
    'User-Agent': USER_AGENT,
    Accept: '*/*',
    'Accept-Encoding': 'identity',
  };
  if (url.username || url.password) {
    headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  }
  const path = `${url.pathname}${url.search}`;
  const tlsOptions = { rejectUnauthorized: opts.certValidation, servername: isIP(hostOf(url)) ? undefined : hostOf(url) };

  let request: () => http.ClientRequest;
  if (!proxy) {
    const mod = url.protocol === 'https:' ? https : http;
    request = () =>
      mod.request({
        protocol: url.protocol,
        host: hostOf(url),
        port: portOf(url),
        path,
        method: 'GET',
        headers,
        agent: false,
        timeout: opts.timeoutMs,
        ...tlsOptions,
      });
  } else if (url.protocol === 'http:') {
    const mod = proxy.protocol === 'https:' ? https : http;
    request = () =>
      mod.request({
        host: hostOf(proxy),
        port: portOf(proxy),
        path: url.href,
        method: 'GET',
        headers: { ...headers, ...proxyAuth(proxy) },
        agent: false,
        timeout: opts.timeoutMs,
        rejectUnauthorized: opts.certValidation,
      });
  } else {
    const raw = await connectTunnel(proxy, url, opts);
    // No `agent` here: with `agent: false` Node would make its own Agent and ignore createConnection.
    request = () =>
      http.request({
        host: hostOf(url),
        port: portOf(url),
        path,
        method: 'GET',
        headers,
        timeout: opts.timeoutMs,
        createConnection: () => tls.connect({ socket: raw, ...tlsOptions, ALPNProtocols: ['http/1.1'] }),
      });
  }

  return new Promise<OpenResponse>((resolve, reject) => {
    let timedOut = false;
    let req: http.ClientRequest;
    try {
      req = request();
    } catch (e) {
      reject(networkError(e, url.href, opts.handle));
      return;
    }
    const onAbort = (): void => {
      req.destroy(abortError(opts.signal, opts.handle));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
    req.on('timeout', () => {
      timedOut = true;
      req.destroy(Object.assign(new Error(`no data for ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
    req.on('error', (e) => {
      if (opts.signal?.aborted) reject(abortError(opts.signal, opts.handle));
      else reject(networkError(e, url.href, opts.handle));
    });
    req.on('response', (res) => {
      resolve({ res, url: url.href, status: res.statusCode ?? 0, timedOut: () => timedOut });
    });
    req.end();
  });
}

/** Discards a response's body and frees its socket. */
export function discard(r: OpenResponse): void {
  r.res.resume();
  r.res.destroy();
}

/**
 * GET with redirects followed: resolves with a 2xx response, throws `ERR_HTTP_STATUS` for an error status,
 * `ERR_HTTP_REDIRECT` for a bad redirect, `ERR_UNEXPECTED_RESPONSE` for any other status.
 */
export async function getFollowingRedirects(url: string, opts: GetOptions): Promise<OpenResponse> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const r = await getOnce(current, opts);
    if (REDIRECT_STATUSES.has(r.status)) {
      const location = r.res.headers.location;
      discard(r);
      if (!location) {
        throw new ResolveError(
          'ERR_HTTP_REDIRECT',
          `HTTP ${r.status} without a Location header from ${current} [resolving ${opts.handle}]`,
          { handle: opts.handle, url: current, status: r.status },
        );
      }
      if (hop >= MAX_REDIRECTS) {
        throw new ResolveError(
          'ERR_HTTP_REDIRECT',
          `More than ${MAX_REDIRECTS} redirects, the last to ${current} [resolving ${opts.handle}]`,
          { handle: opts.handle, url: current, status: r.status },
        );
      }
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (e) {
        throw new ResolveError('ERR_HTTP_REDIRECT', `Invalid redirect Location from ${current} [resolving ${opts.handle}]`, {
          handle: opts.handle,
          url: current,
          status: r.status,
          cause: e,
        });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new ResolveError(
          'ERR_HTTP_REDIRECT',
          `Refusing a redirect from ${current} to a ${next.protocol} URL [resolving ${opts.handle}]`,
          { handle: opts.handle, url: current, status: r.status },
        );
      }
      next.hash = '';
      current = next.href;
      continue;
    }
    if (r.status >= 200 && r.status < 300) return r;
    const err =
      r.status >= 400
        ? statusError(r.res, current, opts.handle)
        : new ResolveError('ERR_UNEXPECTED_RESPONSE', `Unexpected HTTP ${r.status} for GET ${current} [resolving ${opts.handle}]`, {
            handle: opts.handle,
            url: current,
            status: r.status,
          });
    discard(r);
    throw err;
  }
}

/** Reads a (small) response body as text, at most `limit` bytes. */
export async function readText(r: OpenResponse, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of r.res) {
    const b = c as Buffer;
    chunks.push(b);
    n += b.length;
    if (n >= limit) break;
  }
  r.res.destroy();
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** Byte progress of a body. */
export type BodyProgress = (bytes: number, total: number | undefined) => void;

/**
 * The body of a response as an async iterable of Buffers, with progress, a check that a declared Content-Length
 * was fully received, the idle timeout and socket failures mapped to transient `ERR_NETWORK` errors, a byte cap,
 * and the abort signal honoured.
 */
export async function* responseBody(
  r: OpenResponse,
  opts: GetOptions & { onProgress?: BodyProgress; maxBytes?: number },
): AsyncGenerator<Buffer> {
  const lenHeader = r.res.headers['content-length'];
  const total = typeof lenHeader === 'string' && /^\d+$/.test(lenHeader) ? Number(lenHeader) : undefined;
  let bytes = 0;
  const it = r.res[Symbol.asyncIterator]();
  try {
    for (;;) {
      let step: IteratorResult<Buffer>;
      try {
        step = await it.next();
      } catch (e) {
        if (opts.signal?.aborted) throw abortError(opts.signal, opts.handle);
        if (r.timedOut()) {
          throw new ResolveError('ERR_NETWORK', `GET ${r.url} timed out: no data for ${opts.timeoutMs} ms [resolving ${opts.handle}]`, {
            handle: opts.handle,
            url: r.url,
            cause: e,
            transient: true,
          });
        }
        throw new ResolveError(
          'ERR_NETWORK',
          `GET ${r.url}: the connection was lost after ${bytes} bytes: ${(e as Error).message} [resolving ${opts.handle}]`,
          { handle: opts.handle, url: r.url, cause: e, transient: true },
        );
      }
      if (step.done) break;
      const chunk = step.value;
      bytes += chunk.length;
      if (opts.maxBytes !== undefined && bytes > opts.maxBytes) {
        throw new ResolveError(
          'ERR_ARCHIVE_TOO_LARGE',
          `Refusing to download more than ${opts.maxBytes} bytes from ${r.url} [resolving ${opts.handle}]`,
          { handle: opts.handle, url: r.url },
        );
      }
      opts.onProgress?.(bytes, total);
      yield chunk;
    }
    if (total !== undefined && bytes < total) {
      throw new ResolveError(
        'ERR_NETWORK',
        `GET ${r.url}: the connection closed after ${bytes} of ${total} bytes [resolving ${opts.handle}]`,
        { handle: opts.handle, url: r.url, transient: true },
      );
    }
  } finally {
    r.res.destroy();
  }
}
