/**
 * Settings of the resolver: options given to `resolve()` win over environment variables, which win over defaults.
 * Environment variables are read at every call (never cached), and validated: an unusable value is an
 * `ERR_INVALID_SETTING` error naming the variable rather than a silent fallback.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResolveError } from './errors';

/** How http(s) handles are fetched (Python's `TFHUB_MODEL_LOAD_FORMAT`). `AUTO` means `COMPRESSED`. */
export type LoadFormat = 'AUTO' | 'COMPRESSED' | 'UNCOMPRESSED';

/** The load formats, as Python spells them (case-sensitive). */
export const LOAD_FORMATS: readonly LoadFormat[] = ['AUTO', 'COMPRESSED', 'UNCOMPRESSED'];

/** Python's `LOCK_FILE_TIMEOUT_SEC` (10 minutes), in milliseconds. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10 * 60 * 1000;
/** Default connect / idle timeout of one HTTP request. */
export const DEFAULT_HTTP_TIMEOUT_MS = 60 * 1000;
/** Default cap on the bytes one archive may expand to (32 GiB). */
export const DEFAULT_MAX_EXTRACT_BYTES = 32 * 1024 ** 3;
/** Default cap on the members one archive may have. */
export const DEFAULT_MAX_EXTRACT_ENTRIES = 10_000;
/** Default number of retries of a download after a transient failure. */
export const DEFAULT_RETRIES = 3;
/** Default first back-off delay between retries (doubled each time, with jitter, at most 30 s). */
export const DEFAULT_RETRY_DELAY_MS = 1000;
/** Default interval at which a waiting process looks at another process's lock. */
export const DEFAULT_LOCK_POLL_INTERVAL_MS = 250;

/** The environment variables the resolver reads. */
export const ENV = {
  cacheDir: 'TFHUB_CACHE_DIR',
  loadFormat: 'TFHUB_MODEL_LOAD_FORMAT',
  downloadProgress: 'TFHUB_DOWNLOAD_PROGRESS',
  disableCertValidation: 'TFHUB_DISABLE_CERT_VALIDATION',
  offline: 'TFHUB_OFFLINE',
  lockTimeout: 'TFHUB_LOCK_TIMEOUT_SEC',
  httpTimeout: 'TFHUB_HTTP_TIMEOUT_SEC',
  maxExtractBytes: 'TFHUB_MAX_EXTRACT_BYTES',
  maxExtractEntries: 'TFHUB_MAX_EXTRACT_ENTRIES',
} as const;

/** The settings one `resolve()` call runs with. */
export interface ResolvedSettings {
  /** Absolute cache directory. */
  cacheDir: string;
  /** How http(s) handles are fetched. */
  loadFormat: LoadFormat;
  /** Resolve remote handles from the cache only. */
  offline: boolean;
  /** Inactivity after which a lock is taken over, ms. */
  lockTimeoutMs: number;
  /** Lock polling interval, ms. */
  lockPollIntervalMs: number;
  /** Connect / idle timeout per request, ms. */
  httpTimeoutMs: number;
  /** Cap on the extracted (and downloaded) bytes. */
  maxExtractBytes: number;
  /** Cap on the members of one archive. */
  maxExtractEntries: number;
  /** Retries after transient failures. */
  retries: number;
  /** First back-off delay, ms. */
  retryDelayMs: number;
  /** TFHUB_DOWNLOAD_PROGRESS is set (non-empty): progress lines on stderr. */
  progressToStderr: boolean;
  /** False only when TFHUB_DISABLE_CERT_VALIDATION is exactly "true". */
  certValidation: boolean;
}

/** The options of `resolve()` that feed {@link ResolvedSettings} (documented on `ResolveOptions`). */
export interface SettingsOptions {
  /** See `ResolveOptions.cacheDir`. */
  cacheDir?: string;
  /** See `ResolveOptions.loadFormat`. */
  loadFormat?: LoadFormat;
  /** See `ResolveOptions.offline`. */
  offline?: boolean;
  /** See `ResolveOptions.lockTimeoutMs`. */
  lockTimeoutMs?: number;
  /** See `ResolveOptions.lockPollIntervalMs`. */
  lockPollIntervalMs?: number;
  /** See `ResolveOptions.httpTimeoutMs`. */
  httpTimeoutMs?: number;
  /** See `ResolveOptions.maxExtractBytes`. */
  maxExtractBytes?: number;
  /** See `ResolveOptions.maxExtractEntries`. */
  maxExtractEntries?: number;
  /** See `ResolveOptions.retries`. */
  retries?: number;
  /** See `ResolveOptions.retryDelayMs`. */
  retryDelayMs?: number;
}

function env(name: string): string {
  const v = process.env[name];
  return typeof v === 'string' ? v : '';
}

function invalid(what: string, value: unknown, expected: string): ResolveError {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value) : String(value);
  return new ResolveError('ERR_INVALID_SETTING', `${what} must be ${expected}; got ${shown}.`);
}

function checkNumber(what: string, v: unknown, min: number, integer: boolean): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || (integer && Number.isFinite(v) && !Number.isInteger(v))) {
    throw invalid(what, v, `a${integer ? 'n integer' : ' number'} >= ${min}`);
  }
  return v;
}

function envSeconds(name: string, min: number): number | undefined {
  const raw = env(name).trim();
  if (raw === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw)) throw invalid(name, raw, `a number of seconds >= ${min}`);
  const v = Number(raw);
  if (v < min) throw invalid(name, raw, `a number of seconds >= ${min}`);
  return v * 1000;
}

/** Parses a byte count such as `1073741824`, `512M`, `20GiB`, `1.5g` (binary multiples). */
export function parseByteSize(raw: string): number | undefined {
  // Trimmed first: surrounding `\s*` in the pattern would backtrack quadratically on long runs of spaces.
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?$/i.exec(raw.trim());
  if (!m) return undefined;
  const mult = m[2] ? 1024 ** ('kmgt'.indexOf(m[2].toLowerCase()) + 1) : 1;
  const v = Math.floor(Number(m[1]) * mult);
  return Number.isFinite(v) ? v : undefined;
}

/** Parses a boolean-ish environment value: ''/0/false/no/off → false, 1/true/yes/on → true, else undefined. */
export function parseFlag(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if (v === '' || v === '0' || v === 'false' || v === 'no' || v === 'off') return false;
  if (v === '1' || v === 'true' || v === 'yes' || v === 'on') return true;
  return undefined;
}

/**
 * The cache directory (Python's `tfhub_cache_dir(use_temp=True)`): `options.cacheDir`, else `TFHUB_CACHE_DIR` when
 * non-empty, else `<os.tmpdir()>/tfhub_modules`. `file://` URLs are accepted; other URL schemes (`gs://`) are not.
 * Returned absolute.
 */
export function cacheDirFromSettings(cacheDir?: string): string {
  let dir: string;
  let what: string;
  if (cacheDir !== undefined) {
    if (typeof cacheDir !== 'string' || cacheDir === '') throw invalid('options.cacheDir', cacheDir, 'a non-empty string');
    dir = cacheDir;
    what = 'options.cacheDir';
  } else if (env(ENV.cacheDir) !== '') {
    dir = env(ENV.cacheDir);
    what = ENV.cacheDir;
  } else {
    return path.join(path.resolve(os.tmpdir()), 'tfhub_modules');
  }
  if (dir.includes('\0')) throw invalid(what, dir, 'a directory path without NUL characters');
  if (/^file:\/\//i.test(dir)) {
    try {
      dir = fileURLToPath(dir);
    } catch (e) {
      throw new ResolveError('ERR_INVALID_SETTING', `${what} is not a usable file:// URL: ${(e as Error).message}`, { cause: e });
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) {
    throw invalid(what, dir, 'a local directory or a file:// URL (remote file systems such as gs:// are not supported)');
  }
  return path.resolve(dir);
}

/** Computes the settings of one call from `options`, the environment and the defaults. */
export function resolveSettings(options: SettingsOptions = {}): ResolvedSettings {
  let loadFormat: LoadFormat;
  if (options.loadFormat !== undefined) {
    if (!LOAD_FORMATS.includes(options.loadFormat)) throw invalid('options.loadFormat', options.loadFormat, LOAD_FORMATS.join(', '));
    loadFormat = options.loadFormat;
  } else {
    const raw = env(ENV.loadFormat);
    if (raw === '') loadFormat = 'AUTO';
    else if ((LOAD_FORMATS as readonly string[]).includes(raw)) loadFormat = raw as LoadFormat;
    // Python accepts any value here and then no HTTP resolver claims the URL ("<url> does not exist."); say why.
    else throw invalid(ENV.loadFormat, raw, `one of ${LOAD_FORMATS.join(', ')} (case-sensitive)`);
  }

  let offline: boolean;
  if (options.offline !== undefined) {
    if (typeof options.offline !== 'boolean') throw invalid('options.offline', options.offline, 'a boolean');
    offline = options.offline;
  } else {
    const f = parseFlag(env(ENV.offline));
    if (f === undefined) throw invalid(ENV.offline, env(ENV.offline), '1/true/yes/on or 0/false/no/off');
    offline = f;
  }

  const lockTimeoutMs =
    options.lockTimeoutMs !== undefined
      ? checkNumber('options.lockTimeoutMs', options.lockTimeoutMs, 0, false)
      : (envSeconds(ENV.lockTimeout, 0) ?? DEFAULT_LOCK_TIMEOUT_MS);
  const httpTimeoutMs =
    options.httpTimeoutMs !== undefined
      ? checkNumber('options.httpTimeoutMs', options.httpTimeoutMs, 1, false)
      : (envSeconds(ENV.httpTimeout, 0.001) ?? DEFAULT_HTTP_TIMEOUT_MS);

  let maxExtractBytes: number;
  if (options.maxExtractBytes !== undefined) {
    maxExtractBytes = checkNumber('options.maxExtractBytes', options.maxExtractBytes, 0, true);
  } else if (env(ENV.maxExtractBytes).trim() !== '') {
    const v = parseByteSize(env(ENV.maxExtractBytes));
    if (v === undefined) throw invalid(ENV.maxExtractBytes, env(ENV.maxExtractBytes), 'a byte count such as 1073741824, 512M or 20G');
    maxExtractBytes = v;
  } else {
    maxExtractBytes = DEFAULT_MAX_EXTRACT_BYTES;
  }

  let maxExtractEntries: number;
  if (options.maxExtractEntries !== undefined) {
    maxExtractEntries = checkNumber('options.maxExtractEntries', options.maxExtractEntries, 0, true);
  } else if (env(ENV.maxExtractEntries).trim() !== '') {
    const raw = env(ENV.maxExtractEntries).trim();
    if (!/^\d{1,15}$/.test(raw))
      throw invalid(ENV.maxExtractEntries, env(ENV.maxExtractEntries), 'a whole number of archive members such as 100000');
    maxExtractEntries = Number(raw);
  } else {
    maxExtractEntries = DEFAULT_MAX_EXTRACT_ENTRIES;
  }

  const retries = options.retries !== undefined ? checkNumber('options.retries', options.retries, 0, true) : DEFAULT_RETRIES;
  const retryDelayMs =
    options.retryDelayMs !== undefined ? checkNumber('options.retryDelayMs', options.retryDelayMs, 0, false) : DEFAULT_RETRY_DELAY_MS;
  const lockPollIntervalMs =
    options.lockPollIntervalMs !== undefined
      ? checkNumber('options.lockPollIntervalMs', options.lockPollIntervalMs, 1, false)
      : DEFAULT_LOCK_POLL_INTERVAL_MS;

  return {
    cacheDir: cacheDirFromSettings(options.cacheDir),
    loadFormat,
    offline,
    lockTimeoutMs,
    lockPollIntervalMs,
    httpTimeoutMs,
    maxExtractBytes,
    maxExtractEntries,
    retries: Number.isFinite(retries) ? retries : 1000,
    retryDelayMs,
    progressToStderr: env(ENV.downloadProgress) !== '',
    certValidation: !certValidationDisabled(),
  };
}

/**
 * Python's rule for `TFHUB_DISABLE_CERT_VALIDATION`: certificate and host name checks are off only when the
 * variable is exactly the string `"true"` (`"TRUE"`, `"1"`, `""` keep them on).
 */
export function certValidationDisabled(): boolean {
  return process.env[ENV.disableCertValidation] === 'true';
}
