/**
 * `hub.resolve(handle)`: turns a module handle into a local directory, downloading and caching remote modules in
 * tensorflow_hub's cache layout (shared with Python). See docs/resolver.md.
 *
 * Handle kinds, in the order they are recognised:
 *   - `http://` / `https://` URLs — `TFHUB_MODEL_LOAD_FORMAT` AUTO/COMPRESSED (default): downloaded as a tar / tar.gz
 *     (`?tf-hub-format=compressed` appended, except for direct `.tar`/`.tar.gz`/`.tgz` links and
 *     `hub.tensorflow.google.cn`, which maps to its GCS mirror) into `<cache>/<sha1(handle)>`;
 *     UNCOMPRESSED: the 303 protocol (`?tf-hub-format=uncompressed`, the body names a `gs://` location);
 *   - `gs://` — not supported (no GCS file system here): `ERR_UNSUPPORTED_HANDLE`;
 *   - `file://` URLs and local paths — a directory is returned as is (a path exactly as given); a local
 *     `.tar` / `.tar.gz` / `.tgz` file is extracted into the cache like a download; missing → `ERR_HANDLE_NOT_FOUND`.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { extractTar, invalidArchive } from './archive';
import { entryState, moduleDirFor } from './cache';
import { ResolveError, abortError, throwIfAborted } from './errors';
import { discard, getFollowingRedirects, getOnce, readText, responseBody, statusError, TRANSIENT_STATUSES } from './http';
import type { GetOptions } from './http';
import { atomicDownload } from './lock';
import { ResolvedSettings, SettingsOptions, LoadFormat, resolveSettings, cacheDirFromSettings } from './settings';
import { appendFormatQuery, compressedDownloadUrl, hasControlChars, isHttpHandle, isTarUrl } from './url';

export { ResolveError, ResolveErrorCode, ResolveErrorDetails } from './errors';
export {
  cacheEntryName,
  moduleDirFor,
  lockFilename,
  tempDownloadDir,
  descriptorFilename,
  readDescriptor,
  ModuleDescriptor,
  lockFileContents,
  parseLockContents,
  taskUidFromLockContents,
  LockOwner,
  entryState,
  EntryState,
  dirSize,
  lockedTmpDirSize,
  formatDescriptor,
  pythonDateTime,
} from './cache';
export {
  appendFormatQuery,
  isTarUrl,
  isHttpHandle,
  isDirectArchiveUrl,
  compressedDownloadUrl,
  proxyFor,
  bypassProxy,
  HUB_TF_GOOGLE_CN,
  GCS_GOOGLE_CN_TEMPLATE,
} from './url';
export {
  LoadFormat,
  LOAD_FORMATS,
  ENV,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_HTTP_TIMEOUT_MS,
  DEFAULT_MAX_EXTRACT_BYTES,
  DEFAULT_MAX_EXTRACT_ENTRIES,
  DEFAULT_RETRIES,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_LOCK_POLL_INTERVAL_MS,
  certValidationDisabled,
} from './settings';
export { safeMemberPath, MAX_ARCHIVE_ENTRIES } from './archive';
export { lockOwnerIsDead, isProcessAlive } from './lock';

/** A progress report of a download: bytes received so far, the total when the server declared it, the URL. */
export interface ProgressEvent {
  /** Bytes received so far (compressed bytes, as sent by the server). */
  bytes: number;
  /** The Content-Length, when the server sent one. */
  total?: number;
  /** The URL being downloaded (after redirects), or the `file://` URL of a local archive. */
  url: string;
}

/**
 * Options of {@link resolve}. Each one overrides its environment variable (read at every call), which overrides
 * the default.
 */
export interface ResolveOptions {
  /** Called for every chunk received while downloading. */
  onProgress?: (event: ProgressEvent) => void;
  /** Cache directory (`TFHUB_CACHE_DIR`; default `<os.tmpdir()>/tfhub_modules`). `file://` URLs accepted. */
  cacheDir?: string;
  /** How http(s) handles are fetched (`TFHUB_MODEL_LOAD_FORMAT`; default `AUTO` = `COMPRESSED`). */
  loadFormat?: LoadFormat;
  /** Resolve remote handles from the cache only, never the network (`TFHUB_OFFLINE`; default false). */
  offline?: boolean;
  /** Inactivity after which another process's lock is taken over (`TFHUB_LOCK_TIMEOUT_SEC`; default 10 min). */
  lockTimeoutMs?: number;
  /** How often a waiting process checks the lock (default 250 ms). */
  lockPollIntervalMs?: number;
  /** Cap on the bytes an archive may expand to (`TFHUB_MAX_EXTRACT_BYTES`; default 32 GiB). */
  maxExtractBytes?: number;
  /** Cap on the members of one archive, checked as they stream in (`TFHUB_MAX_EXTRACT_ENTRIES`; default 100 000). */
  maxExtractEntries?: number;
  /** Connect / idle timeout of each HTTP request (`TFHUB_HTTP_TIMEOUT_SEC`; default 60 s). */
  httpTimeoutMs?: number;
  /** Retries after transient failures (network errors, 408, 425, 429, 5xx; default 3). */
  retries?: number;
  /** First back-off delay between retries, doubled each time with jitter, at most 30 s (default 1000 ms). */
  retryDelayMs?: number;
  /** Cancels waiting for a lock and the download (the error has code `ABORT_ERR`). */
  signal?: AbortSignal;
}

/**
 * Python's `tf_utils.bytes_to_readable_str`: `< 1024` → `N`, then `%.2fk`, `%.2fM`, `%.2fG`; `B` appended when
 * `includeB`. `bytesToReadableStr(1536, true) === '1.50kB'`.
 */
export function bytesToReadableStr(numBytes: number, includeB = false): string {
  let s: string;
  if (numBytes < 1024) s = String(Math.trunc(numBytes));
  else if (numBytes < 1024 ** 2) s = `${(numBytes / 1024).toFixed(2)}k`;
  else if (numBytes < 1024 ** 3) s = `${(numBytes / 1024 ** 2).toFixed(2)}M`;
  else s = `${(numBytes / 1024 ** 3).toFixed(2)}G`;
  return includeB ? `${s}B` : s;
}

/** The cache directory `resolve()` would use with these options (absolute). */
export function resolveCacheDir(options: Pick<ResolveOptions, 'cacheDir'> = {}): string {
  return cacheDirFromSettings(options.cacheDir);
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined || typeof v !== 'object') return String(v);
  return Object.prototype.toString.call(v);
}

function checkUrlHandle(handle: string): void {
  if (hasControlChars(handle) || /\s/.test(handle)) {
    throw new ResolveError(
      'ERR_INVALID_HUB_HANDLE',
      `Invalid handle ${JSON.stringify(handle)}: URLs may not contain whitespace or control characters.`,
      { handle },
    );
  }
  try {
    new URL(handle);
  } catch (e) {
    throw new ResolveError('ERR_INVALID_HUB_HANDLE', `Invalid handle ${JSON.stringify(handle)}: not a valid URL.`, { handle, cause: e });
  }
}

/** Writes Python-style progress lines to stderr (`\r`-overwritten), throttled. */
class StderrProgress {
  private maxLen = 0;
  private last = 0;
  constructor(private readonly handle: string) {}
  update(bytes: number, total: number | undefined, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const msg = `Downloading ${this.handle}: ${bytesToReadableStr(bytes, true)}${total !== undefined ? ` / ${bytesToReadableStr(total, true)}` : ''}`;
    this.write(msg);
  }
  done(bytes: number): void {
    this.write(`Downloaded ${this.handle}, Total size: ${bytesToReadableStr(bytes, true)}`);
    process.stderr.write('\n');
  }
  private write(msg: string): void {
    this.maxLen = Math.max(this.maxLen, msg.length);
    process.stderr.write(`\r${msg.padEnd(this.maxLen)}`);
  }
}

function logger(s: ResolvedSettings): ((m: string) => void) | undefined {
  return s.progressToStderr ? (m: string) => process.stderr.write(`${m}\n`) : undefined;
}

function backoffMs(attempt: number, base: number, err: ResolveError): number {
  const exp = Math.min(30_000, base * 2 ** attempt);
  const jittered = exp / 2 + Math.random() * (exp / 2);
  const retryAfter = err.retryAfterMs !== undefined ? Math.min(60_000, err.retryAfterMs) : 0;
  return Math.max(jittered, retryAfter);
}

async function sleep(ms: number, signal: AbortSignal | undefined, handle: string): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw abortError(signal, handle);
  }
}

/** Runs `attempt` with retries after transient `ResolveError`s, with exponential back-off. */
async function withRetries<T>(
  s: ResolvedSettings,
  handle: string,
  signal: AbortSignal | undefined,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (!(e instanceof ResolveError) || !e.transient || n >= s.retries || signal?.aborted) throw e;
      const wait = backoffMs(n, s.retryDelayMs, e);
      logger(s)?.(`Retrying '${handle}' in ${Math.round(wait)} ms after: ${e.message}`);
      await sleep(wait, signal, handle);
    }
  }
}

async function emptyDir(dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(dir, { mode: 0o755 });
}

/** Checks that an extracted archive holds a module (see `entryState`), else `ERR_INVALID_ARCHIVE`. */
async function checkExtracted(handle: string, dir: string): Promise<void> {
  const state = await entryState(dir);
  if (state === 'complete') return;
  if (state === 'empty' || state === 'missing') throw invalidArchive(handle, 'the archive is empty');
  const names = await fsp.readdir(dir, { withFileTypes: true });
  if (names.length === 1 && names[0].isDirectory()) {
    throw invalidArchive(handle, `the archive holds a single directory '${names[0].name}/'; a module's files must be at the archive root`);
  }
  throw invalidArchive(handle, 'no saved_model.pb or saved_model.pbtxt at the archive root');
}

/** Downloads `url` and extracts it into `tmp`, with retries (each attempt starts from an empty directory). */
async function downloadInto(handle: string, url: string, tmp: string, s: ResolvedSettings, options: ResolveOptions): Promise<void> {
  const getOpts: GetOptions = { handle, timeoutMs: s.httpTimeoutMs, certValidation: s.certValidation, signal: options.signal };
  await withRetries(s, handle, options.signal, async (n) => {
    if (n > 0) await emptyDir(tmp);
    const r = await getFollowingRedirects(url, getOpts);
    const progress = s.progressToStderr ? new StderrProgress(handle) : null;
    let received = 0;
    const body = responseBody(r, {
      ...getOpts,
      maxBytes: s.maxExtractBytes,
      onProgress: (bytes, total) => {
        received = bytes;
        progress?.update(bytes, total);
        options.onProgress?.({ bytes, total, url: r.url });
      },
    });
    try {
      await extractTar(body, tmp, {
        handle,
        maxBytes: s.maxExtractBytes,
        maxEntries: s.maxExtractEntries,
        contentType: r.res.headers['content-type'],
      });
    } finally {
      r.res.destroy();
    }
    await checkExtracted(handle, tmp);
    progress?.done(received);
  });
}

async function offlineMiss(handle: string, moduleDir: string, why?: string): Promise<never> {
  const state = await entryState(moduleDir).catch(() => 'missing');
  const detail =
    why ?? (state === 'missing' ? `not in the cache (expected ${moduleDir})` : `only partly in the cache (${moduleDir} is ${state})`);
  throw new ResolveError(
    'ERR_OFFLINE_MISS',
    `Offline mode (TFHUB_OFFLINE / options.offline): '${handle}' is ${detail}. ` +
      'Resolve it once with network access, or copy the module directory there.',
    { handle },
  );
}

async function resolveCompressed(handle: string, s: ResolvedSettings, options: ResolveOptions): Promise<string> {
  const moduleDir = moduleDirFor(s.cacheDir, handle);
  if (s.offline && (await entryState(moduleDir).catch(() => 'missing')) !== 'complete') return offlineMiss(handle, moduleDir);
  const url = compressedDownloadUrl(handle);
  return atomicDownload(handle, moduleDir, (tmp) => downloadInto(handle, url, tmp, s, options), {
    lockTimeoutMs: s.lockTimeoutMs,
    lockPollIntervalMs: s.lockPollIntervalMs,
    signal: options.signal,
    log: logger(s),
  });
}

async function resolveUncompressed(handle: string, s: ResolvedSettings, options: ResolveOptions): Promise<string> {
  if (s.offline) {
    throw new ResolveError(
      'ERR_OFFLINE_MISS',
      `Offline mode (TFHUB_OFFLINE / options.offline): '${handle}' cannot be resolved with TFHUB_MODEL_LOAD_FORMAT=UNCOMPRESSED, which has no local cache.`,
      { handle },
    );
  }
  const url = appendFormatQuery(handle, 'uncompressed');
  const getOpts: GetOptions = { handle, timeoutMs: s.httpTimeoutMs, certValidation: s.certValidation, signal: options.signal };
  const location = await withRetries(s, handle, options.signal, async () => {
    const r = await getOnce(url, getOpts);
    if (r.status !== 303) {
      const err = r.status >= 400 ? statusError(r.res, url, handle) : null;
      discard(r);
      const msg = `Expected 303 See other HTTP response but received code ${r.status} (GET ${url}) [resolving ${handle}]`;
      throw new ResolveError(r.status >= 400 ? 'ERR_HTTP_STATUS' : 'ERR_UNEXPECTED_RESPONSE', msg, {
        handle,
        url,
        status: r.status,
        transient: TRANSIENT_STATUSES.has(r.status),
        retryAfterMs: err?.retryAfterMs,
      });
    }
    return readText(r);
  });
  if (!location.startsWith('gs://')) {
    // eslint-disable-next-line no-control-regex
    const shown = location.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 200);
    throw new ResolveError('ERR_UNEXPECTED_RESPONSE', `Expected server to return a GCS location but received ${shown}`, {
      handle,
      url,
      status: 303,
    });
  }
  const gs = location.trim();
  throw new ResolveError(
    'ERR_UNSUPPORTED_HANDLE',
    `The server resolved '${handle}' to the GCS location ${gs}, which tfhub-node cannot read (no gs:// file system). ` +
      'Unset TFHUB_MODEL_LOAD_FORMAT (or use COMPRESSED) to download the compressed module instead.',
    { handle, url },
  );
}

async function resolveLocalArchive(handle: string, file: string, size: number, options: ResolveOptions): Promise<string> {
  const s = resolveSettings(options);
  const moduleDir = moduleDirFor(s.cacheDir, handle);
  const url = pathToFileURL(path.resolve(file)).href;
  return atomicDownload(
    handle,
    moduleDir,
    async (tmp) => {
      const progress = s.progressToStderr ? new StderrProgress(handle) : null;
      let bytes = 0;
      async function* read(): AsyncGenerator<Buffer> {
        for await (const chunk of createReadStream(file, { signal: options.signal })) {
          const b = chunk as Buffer;
          bytes += b.length;
          progress?.update(bytes, size);
          options.onProgress?.({ bytes, total: size, url });
          yield b;
        }
      }
      try {
        await extractTar(read(), tmp, { handle, maxBytes: s.maxExtractBytes, maxEntries: s.maxExtractEntries });
      } catch (e) {
        if (options.signal?.aborted) throw abortError(options.signal, handle);
        throw e;
      }
      await checkExtracted(handle, tmp);
      progress?.done(bytes);
    },
    { lockTimeoutMs: s.lockTimeoutMs, lockPollIntervalMs: s.lockPollIntervalMs, signal: options.signal, log: logger(s) },
  );
}

/**
 * Resolves a module handle to a local directory (Python's `hub.resolve`).
 *
 * - local directory / `file://` URL → the path (a local path exactly as given); missing → `ERR_HANDLE_NOT_FOUND`
 *   ("<handle> does not exist.");
 * - local `.tar` / `.tar.gz` / `.tgz` file → extracted into the cache entry of the handle;
 * - `http(s)://` → `<cache>/<sha1(handle)>`, downloaded once (across processes, with `<entry>.lock`) and reused;
 *   an incomplete entry is repaired; with `offline` only the cache is consulted.
 *
 * Errors are {@link ResolveError}s (see {@link ResolveErrorCode} for the codes).
 */
export async function resolve(handle: string, options: ResolveOptions = {}): Promise<string> {
  if (typeof handle !== 'string' || handle === '') {
    throw new ResolveError('ERR_INVALID_HUB_HANDLE', `Expected a non-empty string handle, got ${describeValue(handle)}.`);
  }
  if (handle.includes('\0'))
    throw new ResolveError('ERR_INVALID_HUB_HANDLE', `Invalid handle ${JSON.stringify(handle)}: contains a NUL character.`, { handle });
  if (options === null || typeof options !== 'object') {
    throw new ResolveError('ERR_INVALID_SETTING', `options must be an object; got ${describeValue(options)}.`, { handle });
  }
  throwIfAborted(options.signal, handle);

  if (isHttpHandle(handle)) {
    checkUrlHandle(handle);
    const s = resolveSettings(options as SettingsOptions);
    if (s.loadFormat === 'UNCOMPRESSED') return resolveUncompressed(handle, s, options);
    return resolveCompressed(handle, s, options);
  }
  if (/^gs:\/\//i.test(handle)) {
    throw new ResolveError(
      'ERR_UNSUPPORTED_HANDLE',
      `${handle}: gs:// handles need TensorFlow's GCS file system, which tfhub-node does not have. ` +
        'Download the module (e.g. from https://storage.googleapis.com/<bucket>/<path>) and pass a local path or http(s) URL.',
      { handle },
    );
  }

  let local = handle;
  if (/^file:\/\//i.test(handle)) {
    try {
      local = fileURLToPath(handle);
    } catch (e) {
      throw new ResolveError('ERR_INVALID_HUB_HANDLE', `Invalid handle ${JSON.stringify(handle)}: ${(e as Error).message}`, {
        handle,
        cause: e,
      });
    }
  }
  let st: import('node:fs').Stats;
  try {
    st = await fsp.stat(local);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const msg =
      code === 'ENOENT' || code === 'ENOTDIR' ? `${handle} does not exist.` : `${handle} cannot be accessed: ${(e as Error).message}`;
    throw new ResolveError('ERR_HANDLE_NOT_FOUND', msg, { handle, cause: e });
  }
  if (st.isFile() && isTarUrl(local)) {
    if (hasControlChars(handle))
      throw new ResolveError('ERR_INVALID_HUB_HANDLE', `Invalid handle ${JSON.stringify(handle)}: contains control characters.`, {
        handle,
      });
    return resolveLocalArchive(handle, local, st.size, options);
  }
  return local;
}

/**
 * The cache directory of a remote (or local-archive) handle if it is completely in the cache, else null. Never
 * touches the network or writes anything.
 */
export async function cachedModulePath(handle: string, options: Pick<ResolveOptions, 'cacheDir'> = {}): Promise<string | null> {
  const dir = moduleDirFor(resolveCacheDir(options), handle);
  return (await entryState(dir).catch(() => 'missing')) === 'complete' ? dir : null;
}
