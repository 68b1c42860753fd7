/**
 * URL helpers that reproduce Python's `urllib.parse` behaviour where tensorflow_hub relies on it
 * (`_append_format_query` = `urlparse` + `parse_qsl` + `urlencode` + `urlunparse`), plus proxy selection as urllib
 * does it from `http_proxy` / `https_proxy` / `no_proxy`.
 */
import { ResolveError } from './errors';

/** `https://hub.tensorflow.google.cn/` handles are fetched directly from this GCS mirror (no format query). */
export const HUB_TF_GOOGLE_CN = 'https://hub.tensorflow.google.cn/';
/** Python's `_GCS_GOOGLE_CN_TEMPLATE`, with `%s` = the handle after {@link HUB_TF_GOOGLE_CN}. */
export const GCS_GOOGLE_CN_TEMPLATE = 'https://gcs.tensorflow.google.cn/tfhub-modules/%s.tar.gz';

/** Whether the handle is an `http://` or `https://` URL (scheme compared case-insensitively). */
export function isHttpHandle(handle: string): boolean {
  return /^https?:\/\//i.test(handle);
}

/**
 * Python's `_is_tarfile`: whether the name ends with `.tar`, `.tar.gz` or `.tgz` (case-sensitive, on the whole
 * string). `isTarUrl('foo.tgz') === true`, `isTarUrl('footar') === false`.
 */
export function isTarUrl(name: string): boolean {
  return name.endsWith('.tar') || name.endsWith('.tar.gz') || name.endsWith('.tgz');
}

/** Whether the path of an http(s) URL (query and fragment excluded) names a tarball: a direct archive link. */
export function isDirectArchiveUrl(url: string): boolean {
  try {
    return isTarUrl(new URL(url).pathname);
  } catch {
    return false;
  }
}

const ALWAYS_SAFE = /[A-Za-z0-9_.~-]/;

/** Python's `urllib.parse.quote_plus(s)` (safe = '', UTF-8): unreserved characters kept, space → `+`. */
export function quotePlus(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (byte < 0x80 && ALWAYS_SAFE.test(ch)) out += ch;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Python's `urllib.parse.unquote_plus(s)` (UTF-8, errors='replace'): `+` → space, valid `%XX` decoded. */
export function unquotePlus(s: string): string {
  const t = s.replace(/\+/g, ' ');
  if (!t.includes('%')) return t;
  const bytes: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const cp = t.codePointAt(i)!;
      const chars = String.fromCodePoint(cp);
      for (const b of Buffer.from(chars, 'utf8')) bytes.push(b);
      i += chars.length - 1;
    }
  }
  return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
}

/**
 * Python's `urllib.parse.parse_qsl(qs)` with its defaults (`keep_blank_values=False`, separator `&`): fields
 * without `=` and fields with an empty value are dropped; names and values are `unquote_plus`-ed.
 */
export function parseQsl(qs: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!qs) return out;
  for (const field of qs.split('&')) {
    if (!field) continue;
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    const value = field.slice(eq + 1);
    if (!value.length) continue;
    out.push([unquotePlus(field.slice(0, eq)), unquotePlus(value)]);
  }
  return out;
}

/** Python's `urllib.parse.urlencode(pairs)`: `quote_plus(k)=quote_plus(v)` joined by `&`. */
export function urlencode(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&');
}

/**
 * Appends `tf-hub-format=<format>` to the URL's query exactly as tensorflow_hub's `_append_format_query` does:
 * existing parameters are kept (re-encoded by `parse_qsl`/`urlencode`, blank ones dropped), an existing
 * `tf-hub-format` stays and a second one is added, the fragment is kept, the scheme is lower-cased.
 *
 * `appendFormatQuery('https://example.com/module?extra=abc')` →
 * `'https://example.com/module?extra=abc&tf-hub-format=compressed'`.
 */
export function appendFormatQuery(url: string, format: 'compressed' | 'uncompressed' = 'compressed'): string {
  let rest = url;
  let fragment = '';
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
  }
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (scheme) rest = scheme[1].toLowerCase() + rest.slice(scheme[1].length);
  const pairs = parseQsl(query);
  pairs.push(['tf-hub-format', format]);
  return `${rest}?${urlencode(pairs)}${fragment ? `#${fragment}` : ''}`;
}

/**
 * The URL a compressed-format handle is downloaded from: `hub.tensorflow.google.cn` handles map to the GCS mirror
 * (`https://gcs.tensorflow.google.cn/tfhub-modules/<path>.tar.gz`, Python's behaviour); direct links to a
 * `.tar` / `.tar.gz` / `.tgz` are fetched as given (so signed URLs keep working); every other URL gets
 * `?tf-hub-format=compressed` appended (the TF Hub hosting protocol).
 */
export function compressedDownloadUrl(handle: string): string {
  if (handle.startsWith(HUB_TF_GOOGLE_CN)) {
    return GCS_GOOGLE_CN_TEMPLATE.replace('%s', handle.slice(HUB_TF_GOOGLE_CN.length));
  }
  if (isDirectArchiveUrl(handle)) return handle;
  return appendFormatQuery(handle, 'compressed');
}

/** Reads an environment variable the way urllib does: the lower-case name first, then the upper-case one. */
function proxyEnv(name: string): string {
  const lower = process.env[name.toLowerCase()];
  if (lower !== undefined && lower !== '') return lower;
  return process.env[name.toUpperCase()] ?? '';
}

/**
 * Python's `proxy_bypass_environment`: whether `no_proxy` / `NO_PROXY` (comma-separated host names, optional
 * leading dot, `*` for all) exempts the host. A name matches the host itself and every sub-domain; an entry with a
 * port matches only that port.
 */
export function bypassProxy(url: URL, noProxy = proxyEnv('no_proxy')): boolean {
  const list = noProxy.trim();
  if (!list) return false;
  if (list === '*') return true;
  const hostOnly = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const hostPort = `${hostOnly}:${port}`;
  for (let name of list.split(',')) {
    name = name
      .trim()
      .replace(/^\.+/, '')
      .toLowerCase()
      .replace(/^\[|\]$/g, '');
    if (!name) continue;
    if (name === '*') return true;
    if (hostOnly === name || hostPort === name) return true;
    const dotted = `.${name}`;
    if (hostOnly.endsWith(dotted) || hostPort.endsWith(dotted)) return true;
  }
  return false;
}

/**
 * The proxy for a request, as urllib chooses it: `https_proxy` / `HTTPS_PROXY` for https URLs, `http_proxy` /
 * `HTTP_PROXY` for http URLs, unless `no_proxy` / `NO_PROXY` exempts the host. A proxy value without a scheme is
 * taken as `http://`. Returns null for a direct connection.
 */
export function proxyFor(url: URL): URL | null {
  const raw = proxyEnv(url.protocol === 'https:' ? 'https_proxy' : 'http_proxy').trim();
  if (!raw) return null;
  if (bypassProxy(url)) return null;
  const name = url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  let proxy: URL;
  try {
    proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch (e) {
    throw new ResolveError('ERR_INVALID_SETTING', `${name} is not a usable proxy URL.`, { cause: e });
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new ResolveError('ERR_INVALID_SETTING', `${name} must be an http:// or https:// proxy URL; got scheme ${proxy.protocol}`);
  }
  return proxy;
}

/** Whether the string holds ASCII control characters (C0 or DEL), which no handle may contain. */
export function hasControlChars(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(s);
}
