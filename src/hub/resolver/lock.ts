/**
 * `atomicDownload`: tensorflow_hub's `resolver.atomic_download` protocol, so that Node and Python processes sharing
 * a cache cooperate — one `<entry>.lock` holding `<hostname>.<pid>.<uid>`, the download in `<entry>.<uid>.tmp`,
 * renamed into place when complete — with these differences:
 *
 * - the lock is created atomically (`link()`, which fails if the lock exists) instead of check-then-rename;
 * - a lock whose owner is provably dead (same host name, pid gone or a zombie) is taken over at once and that
 *   owner's temporary directory removed; other locks are taken over when neither their contents nor their owner's
 *   temporary directory changed for `lockTimeoutMs` (Python samples every timeout, so it needs about twice that);
 * - waiting processes poll every `lockPollIntervalMs` (Python: 5 s);
 * - an entry that exists but is incomplete (see `entryState`) is deleted and downloaded again, not returned;
 * - a complete entry is returned before anything is written, so read-only caches work;
 * - the temporary directory and our lock are removed on failure, on abort and at `process.exit()`.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  entryState,
  lockFileContents,
  mkdirp,
  lockFilename,
  lockedTmpDirSize,
  newTaskUid,
  parseLockContents,
  tempDownloadDir,
  writeDescriptor,
} from './cache';
import { ResolveError, abortError, sysCode, throwIfAborted } from './errors';

/** Options of {@link atomicDownload}. */
export interface AtomicDownloadOptions {
  /** Inactivity after which another host's (or a live process's) lock is taken over. */
  lockTimeoutMs: number;
  /** How often a waiting process looks at the lock. */
  lockPollIntervalMs: number;
  /** Cancels waiting and the download. */
  signal?: AbortSignal;
  /** Receives human-readable notes (waiting, lock take-over, repair). */
  log?: (message: string) => void;
}

/** @internal in-flight downloads of this process, cleaned up synchronously at process exit. */
const inFlight = new Map<string, { lock: string; contents: string; tmp: string }>();
let exitHookInstalled = false;

function exitCleanup(): void {
  for (const { lock, contents, tmp } of inFlight.values()) {
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
    } catch {
      // best effort
    }
    try {
      if (fs.readFileSync(lock, 'utf8') === contents) fs.unlinkSync(lock);
    } catch {
      // best effort
    }
  }
  inFlight.clear();
}

const CACHE_ERRNO = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOENT',
  'ENOTDIR',
  'ENOSPC',
  'EDQUOT',
  'ELOOP',
  'ENAMETOOLONG',
  'EISDIR',
  'EEXIST',
  'EBUSY',
  'EIO',
]);

/** Wraps a file-system failure in the cache as `ERR_CACHE_NOT_WRITABLE`. */
export function cacheError(e: unknown, what: string, handle: string): ResolveError {
  if (e instanceof ResolveError) return e;
  const code = sysCode(e);
  const reason = (e as Error)?.message ?? String(e);
  const hint = code && CACHE_ERRNO.has(code) ? ' Set TFHUB_CACHE_DIR (or options.cacheDir) to a writable directory.' : '';
  return new ResolveError('ERR_CACHE_NOT_WRITABLE', `Cannot ${what} [resolving ${handle}]: ${reason}.${hint}`, { handle, cause: e });
}

/**
 * Creates the lock file with `contents` atomically: written to `<lock>.tmp<uid>` then hard-linked to the lock name
 * (which fails if it exists); where hard links are not supported, an exclusive create. True if we got it.
 */
export async function tryCreateLock(lock: string, contents: string): Promise<boolean> {
  const tmp = `${lock}.tmp${newTaskUid()}`;
  await fsp.writeFile(tmp, contents, { flag: 'wx', mode: 0o644 });
  try {
    await fsp.link(tmp, lock);
    return true;
  } catch (e) {
    const code = sysCode(e);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EMLINK') throw e;
  } finally {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
  }
  let fh: fs.promises.FileHandle;
  try {
    fh = await fsp.open(lock, 'wx', 0o644);
  } catch (e) {
    if (sysCode(e) === 'EEXIST') return false;
    throw e;
  }
  try {
    await fh.writeFile(contents);
  } finally {
    await fh.close();
  }
  return true;
}

/** The lock's contents, or null when there is no lock. */
export async function readLock(lock: string): Promise<string | null> {
  try {
    return await fsp.readFile(lock, 'utf8');
  } catch (e) {
    if (sysCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/** Deletes the lock if it still holds `contents` (Python's `finally` clause of `atomic_download`). */
export async function releaseLock(lock: string, contents: string): Promise<void> {
  const now = await readLock(lock).catch(() => null);
  if (now === contents) await fsp.unlink(lock).catch(() => undefined);
}

/**
 * Whether a local process exists: `kill(pid, 0)` succeeds or fails with EPERM, and /proc does not show it as a
 * zombie (an exited process its parent has not reaped yet).
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 1) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return sysCode(e) === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // no /proc: trust kill()
  }
  return true;
}

/**
 * Whether the lock's owner is provably gone: the lock names this host and a pid that no longer runs. Locks from
 * other hosts, or that do not parse, are never "provably" dead (they expire by inactivity instead).
 */
export function lockOwnerIsDead(contents: string): boolean {
  const owner = parseLockContents(contents);
  if (!owner || owner.hostname !== os.hostname()) return false;
  if (owner.pid === process.pid) return false;
  return !isProcessAlive(owner.pid);
}

/**
 * Removes a lock that still holds `expected`. The lock is first renamed aside (atomic), so that a lock another
 * waiter has just re-created is put back instead of deleted. With `removeOwnerTmp`, the owner's temporary
 * directory is removed too.
 */
async function takeOverLock(lock: string, moduleDir: string, expected: string, removeOwnerTmp: boolean): Promise<void> {
  const aside = `${lock}.stale${newTaskUid()}`;
  try {
    await fsp.rename(lock, aside);
  } catch (e) {
    if (sysCode(e) === 'ENOENT') return;
    throw e;
  }
  const got = await fsp.readFile(aside, 'utf8').catch(() => null);
  if (got !== expected && got !== null) {
    // Someone else's fresh lock: put it back unless the slot was taken meanwhile.
    await fsp.link(aside, lock).catch(() => undefined);
  } else if (removeOwnerTmp) {
    const owner = parseLockContents(expected);
    if (owner) await fsp.rm(tempDownloadDir(moduleDir, owner.uid), { recursive: true, force: true }).catch(() => undefined);
  }
  await fsp.rm(aside, { force: true }).catch(() => undefined);
}

async function sleep(ms: number, signal: AbortSignal | undefined, handle: string): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw abortError(signal, handle);
  }
}

/**
 * Waits until the lock disappears, its owner is found dead (then takes it over), or neither its contents nor its
 * owner's temporary directory size changed for `lockTimeoutMs` (then takes it over).
 */
async function waitForLock(handle: string, lock: string, moduleDir: string, opts: AtomicDownloadOptions): Promise<void> {
  let baseContents = await readLock(lock);
  if (baseContents === null) return;
  let baseSize = await lockedTmpDirSize(lock);
  let baseTime = Date.now();
  opts.log?.(`Module '${handle}' already being downloaded by '${baseContents}'. Waiting.`);
  for (;;) {
    throwIfAborted(opts.signal, handle);
    const contents = await readLock(lock);
    if (contents === null) return;
    if (contents !== baseContents) {
      baseContents = contents;
      baseSize = await lockedTmpDirSize(lock);
      baseTime = Date.now();
    }
    if (lockOwnerIsDead(contents)) {
      opts.log?.(`Taking over lock file ${lock}: its owner '${contents}' is no longer running.`);
      await takeOverLock(lock, moduleDir, contents, true);
      return;
    }
    if (Date.now() - baseTime >= opts.lockTimeoutMs) {
      const size = await lockedTmpDirSize(lock);
      if (size === baseSize) {
        opts.log?.(`Deleting lock file ${lock} due to inactivity.`);
        await takeOverLock(lock, moduleDir, contents, false);
        return;
      }
      baseSize = size;
      baseTime = Date.now();
    }
    await sleep(opts.lockPollIntervalMs, opts.signal, handle);
  }
}

/**
 * Makes `moduleDir` hold the module of `handle`, downloading it at most once across processes: returns at once
 * when the entry is complete (no lock written), else takes `<moduleDir>.lock` (waiting for, or taking over,
 * another owner's), runs `download(tmpDir)` into `<moduleDir>.<uid>.tmp`, writes the descriptor and renames the
 * directory into place. A failed download leaves neither the directory, nor the descriptor, nor our lock.
 */
export async function atomicDownload(
  handle: string,
  moduleDir: string,
  download: (tmpDir: string) => Promise<void>,
  opts: AtomicDownloadOptions,
): Promise<string> {
  const lock = lockFilename(moduleDir);
  const uid = newTaskUid();
  const contents = lockFileContents(uid);
  const tmp = tempDownloadDir(moduleDir, uid);

  const state = async (): Promise<string> => {
    try {
      return await entryState(moduleDir);
    } catch (e) {
      throw cacheError(e, `read the cache entry ${moduleDir}`, handle);
    }
  };
  if ((await state()) === 'complete') return moduleDir;
  throwIfAborted(opts.signal, handle);
  try {
    await mkdirp(path.dirname(moduleDir));
  } catch (e) {
    throw cacheError(e, `create the cache directory ${path.dirname(moduleDir)}`, handle);
  }

  let haveLock = false;
  try {
    for (;;) {
      throwIfAborted(opts.signal, handle);
      let got: boolean;
      try {
        got = await tryCreateLock(lock, contents);
      } catch (e) {
        // Python re-raises NotFound / PermissionDenied / ... at once instead of retrying.
        throw cacheError(e, `create the lock file ${lock}`, handle);
      }
      if (got) {
        haveLock = true;
        const s = await state();
        if (s === 'complete') return moduleDir;
        if (s !== 'missing') {
          if (s === 'incomplete') opts.log?.(`Cache entry ${moduleDir} for '${handle}' is incomplete; downloading it again.`);
          try {
            await fsp.rm(moduleDir, { recursive: true, force: true });
          } catch (e) {
            throw cacheError(e, `remove the incomplete cache entry ${moduleDir}`, handle);
          }
        }
        break;
      }
      try {
        await waitForLock(handle, lock, moduleDir, opts);
      } catch (e) {
        throw e instanceof ResolveError ? e : cacheError(e, `check the lock file ${lock}`, handle);
      }
      if ((await state()) === 'complete') return moduleDir;
    }

    inFlight.set(tmp, { lock, contents, tmp });
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', exitCleanup);
    }
    try {
      await fsp.mkdir(tmp, { recursive: false, mode: 0o755 });
    } catch (e) {
      throw cacheError(e, `create the download directory ${tmp}`, handle);
    }
    await download(tmp);
    throwIfAborted(opts.signal, handle);
    try {
      await writeDescriptor(handle, moduleDir);
    } catch (e) {
      throw cacheError(e, `write the descriptor of ${moduleDir}`, handle);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.rename(tmp, moduleDir);
        break;
      } catch (e) {
        const code = sysCode(e);
        if ((code === 'ENOTEMPTY' || code === 'EEXIST') && attempt === 0) {
          // Someone created the entry meanwhile (Python keeps it); keep it if it is complete.
          if ((await state()) === 'complete') {
            opts.log?.(`Module already exists in ${moduleDir}`);
            break;
          }
          await fsp.rm(moduleDir, { recursive: true, force: true }).catch(() => undefined);
          continue;
        }
        throw cacheError(e, `move ${tmp} to ${moduleDir}`, handle);
      }
    }
    return moduleDir;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (haveLock) await releaseLock(lock, contents);
    inFlight.delete(tmp);
  }
}
