/**
 * The resolver's error type. Every error `hub.resolve` (and so `hub.load`, `hub.loadModuleSpec`, ...) throws for a
 * handle, a download, the cache or an archive is a `ResolveError` with one of the `code`s below.
 */
import { TfhubError } from '../../errors';

/**
 * The codes a {@link ResolveError} can carry.
 *
 * | code | when |
 * |---|---|
 * | `ERR_INVALID_HUB_HANDLE` | the handle is not a non-empty string, or is a malformed URL / contains control characters |
 * | `ERR_HANDLE_NOT_FOUND` | a local path or `file://` URL that does not exist (`"<handle> does not exist."`) |
 * | `ERR_UNSUPPORTED_HANDLE` | a handle kind this library cannot read (`gs://`, a GCS location returned in UNCOMPRESSED mode) |
 * | `ERR_INVALID_SETTING` | an environment variable or option with an unusable value (e.g. `TFHUB_MODEL_LOAD_FORMAT=foo`) |
 * | `ERR_HTTP_STATUS` | the server answered with an error status (404, 403, 5xx after retries); `status` and `url` are set |
 * | `ERR_HTTP_REDIRECT` | a redirect without `Location`, to a non-HTTP(S) URL, or more than 10 redirects |
 * | `ERR_UNEXPECTED_RESPONSE` | UNCOMPRESSED mode: no `303 See Other`, or a body that is not a `gs://` location |
 * | `ERR_NETWORK` | connection failures, DNS, TLS/certificate errors, proxy failures, timeouts (after retries) |
 * | `ERR_INVALID_ARCHIVE` | not a tar / tar.gz, truncated or corrupt, or without module content (`"<handle> does not appear to be a valid module."`) |
 * | `ERR_UNSAFE_ARCHIVE` | a member that leaves the target directory, a symlink, hard link, device, FIFO or other special entry |
 * | `ERR_ARCHIVE_TOO_LARGE` | the archive expands beyond `maxExtractBytes` (or has too many members) |
 * | `ERR_OFFLINE_MISS` | offline mode (`TFHUB_OFFLINE` / `offline: true`) and the handle is not (completely) in the cache |
 * | `ERR_CACHE_NOT_WRITABLE` | the cache directory, lock or entry cannot be created or written (permissions, read-only FS, not a directory) |
 * | `ABORT_ERR` | the caller's `AbortSignal` fired (`name` is `'AbortError'`) |
 */
export type ResolveErrorCode =
  | 'ERR_INVALID_HUB_HANDLE'
  | 'ERR_HANDLE_NOT_FOUND'
  | 'ERR_UNSUPPORTED_HANDLE'
  | 'ERR_INVALID_SETTING'
  | 'ERR_HTTP_STATUS'
  | 'ERR_HTTP_REDIRECT'
  | 'ERR_UNEXPECTED_RESPONSE'
  | 'ERR_NETWORK'
  | 'ERR_INVALID_ARCHIVE'
  | 'ERR_UNSAFE_ARCHIVE'
  | 'ERR_ARCHIVE_TOO_LARGE'
  | 'ERR_OFFLINE_MISS'
  | 'ERR_CACHE_NOT_WRITABLE'
  | 'ABORT_ERR';

/** Extra facts attached to a {@link ResolveError}. */
export interface ResolveErrorDetails {
  /** The handle being resolved, exactly as given. */
  handle?: string;
  /** The URL of the request that failed (after redirects). */
  url?: string;
  /** The HTTP status code, for `ERR_HTTP_STATUS` / `ERR_UNEXPECTED_RESPONSE`. */
  status?: number;
  /** The underlying error (a Node system error, a tar parser error, ...). */
  cause?: unknown;
  /** @internal whether retrying the request may help (network blips, 429, 5xx). */
  transient?: boolean;
  /** @internal a server's Retry-After, in milliseconds. */
  retryAfterMs?: number;
}

/**
 * An error raised while resolving a handle: typed by `code` (see {@link ResolveErrorCode}), with the `handle`, and
 * for HTTP failures the `url` and `status`. A subclass of the library's `TfhubError`.
 */
export class ResolveError extends TfhubError {
  /** The handle being resolved, exactly as given (when known). */
  handle?: string;
  /** The URL of the failing request (when the error comes from HTTP). */
  url?: string;
  /** The HTTP status code (when the error comes from an HTTP response). */
  status?: number;
  /** @internal */
  transient?: boolean;
  /** @internal */
  retryAfterMs?: number;

  constructor(code: ResolveErrorCode, message: string, details: ResolveErrorDetails = {}) {
    super(code, redactCredentials(message), details.cause === undefined ? undefined : { cause: details.cause });
    if (details.handle !== undefined) this.handle = details.handle;
    if (details.url !== undefined) this.url = redactCredentials(details.url);
    if (details.status !== undefined) this.status = details.status;
    if (details.transient) Object.defineProperty(this, 'transient', { value: true, enumerable: false, writable: true });
    if (details.retryAfterMs !== undefined) {
      Object.defineProperty(this, 'retryAfterMs', { value: details.retryAfterMs, enumerable: false, writable: true });
    }
  }
}
Object.defineProperty(ResolveError.prototype, 'name', { value: 'ResolveError', writable: true, configurable: true });

/**
 * Replaces the password of `scheme://user:password@host` URLs inside a text with `***`, so that error messages
 * (which end up in logs) do not carry credentials. The `handle` property keeps the handle exactly as given.
 */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^/@\s:]*):[^/@\s]*@/gi, '$1:***@');
}

/** @internal The error thrown when the caller's AbortSignal fires. */
export function abortError(signal: AbortSignal | undefined, handle?: string): ResolveError {
  const e = new ResolveError('ABORT_ERR', 'The operation was aborted', { handle, cause: signal?.reason });
  e.name = 'AbortError';
  return e;
}

/** @internal Throws {@link abortError} when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, handle?: string): void {
  if (signal?.aborted) throw abortError(signal, handle);
}

/** @internal A Node system error's code (`'ENOENT'`, ...) or undefined. */
export function sysCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}
