/**
 * The module cache, in tensorflow_hub's layout so that Node and Python share one cache directory:
 *
 *   <cache>/<sha1(handle)>/                 the module, exactly as the archive holds it
 *   <cache>/<sha1(handle)>.descriptor.txt   "Module: <handle>\nDownload Time: <...>\nDownloader Hostname: <host> (PID:<pid>)"
 *   <cache>/<sha1(handle)>.lock             "<hostname>.<pid>.<task uid>" while a process downloads
 *   <cache>/<sha1(handle)>.<uid>.tmp/       that process's extraction directory, renamed into place when complete
 */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sysCode } from './errors';

/**
 * The cache entry name of a handle: the SHA-1 hex digest of its UTF-8 bytes, exactly as given (Python's
 * `hashlib.sha1(handle.encode("utf8")).hexdigest()`; `.../1` and `.../1/` are different entries).
 */
export function cacheEntryName(handle: string): string {
  return createHash('sha1').update(handle, 'utf8').digest('hex');
}

/** The module directory of a handle inside a cache directory: `<cacheDir>/<sha1(handle)>`. */
export function moduleDirFor(cacheDir: string, handle: string): string {
  return path.join(cacheDir, cacheEntryName(handle));
}

/** Python's `absolute_path`: URLs unchanged, paths made absolute and normalised (trailing separators dropped). */
function absolutePath(p: string): string {
  return p.includes('://') ? p : path.resolve(p);
}

/** The lock file of a module directory (Python's `_lock_filename`): `lockFilename('/a/b/c/') === '/a/b/c.lock'`. */
export function lockFilename(moduleDir: string): string {
  return `${absolutePath(moduleDir)}.lock`;
}

/** The module directory of a lock file (Python's `_module_dir`); throws unless the name ends with `.lock`. */
export function moduleDirFromLock(lockFile: string): string {
  if (!lockFile.endsWith('.lock')) throw new Error(`Lock file name (${lockFile}) has to end with .lock.`);
  return lockFile.slice(0, -'.lock'.length);
}

/**
 * The temporary download directory of a task (Python's `_temp_download_dir`):
 * `tempDownloadDir('/a/b/', 't') === '/a/b.t.tmp'`.
 */
export function tempDownloadDir(moduleDir: string, taskUid: string): string {
  return `${absolutePath(moduleDir)}.${taskUid}.tmp`;
}

/** The descriptor file of a module directory (Python's `_module_descriptor_file`): `<moduleDir>.descriptor.txt`. */
export function descriptorFilename(moduleDir: string): string {
  return `${moduleDir}.descriptor.txt`;
}

/** A fresh task uid: 32 lower-case hex digits, like Python's `uuid.uuid4().hex`. */
export function newTaskUid(): string {
  return randomUUID().replace(/-/g, '');
}

/** The contents of a lock file written by this process (Python's `_lock_file_contents`): `<hostname>.<pid>.<uid>`. */
export function lockFileContents(taskUid: string): string {
  return `${os.hostname()}.${process.pid}.${taskUid}`;
}

/** Python's `_task_uid_from_lock_file` on the contents: everything after the last `.`. */
export function taskUidFromLockContents(contents: string): string {
  return contents.split('.').pop() ?? '';
}

/** The parts of a lock file's contents. */
export interface LockOwner {
  /** The host name (may itself contain dots). */
  hostname: string;
  /** The process id on that host. */
  pid: number;
  /** The task uid; the owner's temporary directory is `<moduleDir>.<uid>.tmp`. */
  uid: string;
}

/**
 * Parses `<hostname>.<pid>.<uid>` (the host name may contain dots). Returns null for anything else, including a uid
 * that could not safely be part of a file name.
 */
export function parseLockContents(contents: string): LockOwner | null {
  const m = /^([^\0/]*)\.(\d{1,10})\.([0-9A-Za-z_-]{1,128})$/.exec(contents);
  if (!m) return null;
  const pid = Number(m[2]);
  if (!Number.isSafeInteger(pid) || pid < 1) return null;
  return { hostname: m[1], pid, uid: m[3] };
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Python's `str(datetime.datetime.today())` for a local time: `YYYY-MM-DD HH:MM:SS.ffffff`, without the fraction
 * when the microseconds are 0.
 */
export function pythonDateTime(date: Date, microseconds = date.getMilliseconds() * 1000): string {
  const base =
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return microseconds ? `${base}.${pad(microseconds, 6)}` : base;
}

/** The descriptor text Python writes (three lines, no trailing newline). */
export function formatDescriptor(handle: string, now: { date: Date; microseconds: number } = nowWithMicros()): string {
  return (
    `Module: ${handle}\nDownload Time: ${pythonDateTime(now.date, now.microseconds)}\n` +
    `Downloader Hostname: ${os.hostname()} (PID:${process.pid})`
  );
}

function nowWithMicros(): { date: Date; microseconds: number } {
  const t = performance.timeOrigin + performance.now();
  const ms = Math.floor(t);
  return { date: new Date(ms), microseconds: Math.floor(t * 1000) % 1_000_000 };
}

/** A module descriptor file, parsed. */
export interface ModuleDescriptor {
  /** The handle the entry was downloaded for. */
  module: string;
  /** The download time as written (Python's local `datetime` string). */
  downloadTime: string;
  /** The host name of the downloading process. */
  hostname: string;
  /** The pid of the downloading process (NaN when unreadable). */
  pid: number;
  /** The file's text. */
  raw: string;
}

/**
 * Reads `<moduleDir>.descriptor.txt` (written by this library or by Python's tensorflow_hub). Returns null when it
 * does not exist. The descriptor is informational only; the resolver never relies on it.
 */
export async function readDescriptor(moduleDir: string): Promise<ModuleDescriptor | null> {
  let raw: string;
  try {
    raw = await fs.readFile(descriptorFilename(moduleDir), 'utf8');
  } catch (e) {
    if (sysCode(e) === 'ENOENT' || sysCode(e) === 'ENOTDIR') return null;
    throw e;
  }
  const field = (name: string): string => {
    const line = raw.split('\n').find((l) => l.startsWith(`${name}: `));
    return line === undefined ? '' : line.slice(name.length + 2);
  };
  const host = /^(.*) \(PID:(\d+)\)$/.exec(field('Downloader Hostname'));
  return {
    module: field('Module'),
    downloadTime: field('Download Time'),
    hostname: host ? host[1] : field('Downloader Hostname'),
    pid: host ? Number(host[2]) : NaN,
    raw,
  };
}

/** Writes the descriptor atomically (temporary file + rename, overwriting), as Python does. */
export async function writeDescriptor(handle: string, moduleDir: string): Promise<void> {
  const file = descriptorFilename(moduleDir);
  const tmp = `${file}.tmp${newTaskUid()}`;
  try {
    await fs.writeFile(tmp, formatDescriptor(handle), { flag: 'wx', mode: 0o644 });
    await fs.rename(tmp, file);
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** Total size in bytes of the regular files under a directory (Python's `_dir_size`); symlinks are not followed. */
export async function dirSize(dir: string): Promise<number> {
  let size = 0;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if (sysCode(e) === 'ENOENT') return 0;
    throw e;
  }
  for (const name of names) {
    const full = path.join(dir, name);
    const st = await fs.lstat(full).catch(() => null);
    if (!st) continue;
    if (st.isDirectory()) size += await dirSize(full);
    else if (st.isFile()) size += st.size;
  }
  return size;
}

/**
 * The size of the temporary directory of the task holding a lock (Python's `_locked_tmp_dir_size`); 0 when the lock
 * or the directory does not exist, or the lock's uid is not a safe file-name part.
 */
export async function lockedTmpDirSize(lockFile: string): Promise<number> {
  let contents: string;
  try {
    contents = await fs.readFile(lockFile, 'utf8');
  } catch {
    return 0;
  }
  const uid = taskUidFromLockContents(contents);
  if (!/^[0-9A-Za-z_-]{1,128}$/.test(uid)) return 0;
  return dirSize(tempDownloadDir(moduleDirFromLock(lockFile), uid)).catch(() => 0);
}

/** What a cache entry holds. */
export type EntryState = 'missing' | 'empty' | 'incomplete' | 'complete';

/** Names whose presence says the entry is (part of) a SavedModel / TF1 Hub module. */
const SAVED_MODEL_MARKERS = ['variables', 'assets', 'tfhub_module.pb', 'fingerprint.pb', 'keras_metadata.pb'];

/**
 * Classifies a module directory. `complete`: it has `saved_model.pb` or `saved_model.pbtxt`, or (archives that
 * are not SavedModels, e.g. TF.js or TFLite) regular files at its root and none of a SavedModel's other parts.
 * `incomplete`: pieces of a SavedModel without its graph file, only directories, or not a directory at all —
 * what an OS temp cleaner leaves behind. Python returns any non-empty directory; this library repairs those.
 */
export async function entryState(moduleDir: string): Promise<EntryState> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(moduleDir, { withFileTypes: true });
  } catch (e) {
    const code = sysCode(e);
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'incomplete';
    throw e;
  }
  if (entries.length === 0) return 'empty';
  const isFile = async (d: import('node:fs').Dirent): Promise<boolean> => {
    if (d.isFile()) return true;
    if (!d.isSymbolicLink()) return false;
    const st = await fs.stat(path.join(moduleDir, d.name)).catch(() => null);
    return !!st?.isFile();
  };
  for (const d of entries) {
    if ((d.name === 'saved_model.pb' || d.name === 'saved_model.pbtxt') && (await isFile(d))) return 'complete';
  }
  if (entries.some((d) => SAVED_MODEL_MARKERS.includes(d.name))) return 'incomplete';
  for (const d of entries) if (await isFile(d)) return 'complete';
  return 'incomplete';
}

/**
 * `mkdir -p` one level at a time. Node's recursive mkdir loops forever when a file system answers ENOENT for a
 * directory whose parent exists (e.g. under /proc); this fails with that error instead.
 */
export async function mkdirp(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  const chain: string[] = [];
  for (let cur = abs; ; cur = path.dirname(cur)) {
    const st = await fs.stat(cur).catch((e: unknown) => {
      if (sysCode(e) === 'ENOENT') return null;
      throw e;
    });
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${cur}'`), { code: 'ENOTDIR', path: cur });
      break;
    }
    chain.unshift(cur);
    if (path.dirname(cur) === cur) break;
  }
  for (const d of chain) {
    try {
      await fs.mkdir(d, { mode: 0o755 });
    } catch (e) {
      if (sysCode(e) !== 'EEXIST') throw e;
      if (!(await fs.stat(d)).isDirectory())
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${d}'`), { code: 'ENOTDIR', path: d });
    }
  }
}
