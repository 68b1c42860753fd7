/**
 * Streaming, hostile-input-safe tar extraction (plain tar, gzip; zstd where Node's zlib has it: Node 22.15+). The rules
 * follow tensorflow_hub's `file_utils.extract_tarfile_to_destination`, tightened:
 *
 * - member names: leading `/` stripped, normalised; `.` is the root; anything that leaves the target (`..`) is
 *   refused (`ERR_UNSAFE_ARCHIVE`, Python's "Relative path '../x' is invalid.");
 * - only regular files and directories; symlinks, hard links, devices, FIFOs and unknown types are refused (Python's
 *   "Unexpected object type in tar archive");
 * - parent directories are created for files (Python fails on archives without directory entries);
 * - files are written with mode 0644 and directories 0755 (archive modes, owners and times are ignored), never
 *   through a symlink (`O_NOFOLLOW`);
 * - the expanded size (declared and actual) is capped (`ERR_ARCHIVE_TOO_LARGE`), as is the number of members;
 * - anything the tar parser rejects (not a tar, bad checksums, truncated input, corrupt gzip) is
 *   `ERR_INVALID_ARCHIVE` with Python's message "<handle> does not appear to be a valid module.".
 */
import * as fs from 'node:fs';
import { once } from 'node:events';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Parser } from 'tar';
import { ResolveError, sysCode } from './errors';
import { DEFAULT_MAX_EXTRACT_ENTRIES } from './settings';

/** The most members one archive may have. */
export const MAX_ARCHIVE_ENTRIES = DEFAULT_MAX_EXTRACT_ENTRIES;

/** Options of {@link extractTar}. */
export interface ExtractOptions {
  /** The handle, for error messages. */
  handle: string;
  /** Cap on the bytes written (sum of member sizes). */
  maxBytes: number;
  /** Cap on the number of members (default {@link MAX_ARCHIVE_ENTRIES}). */
  maxEntries?: number;
  /** The response's Content-Type, to explain a non-archive body. */
  contentType?: string;
}

/** What {@link extractTar} wrote. */
export interface ExtractStats {
  /** Bytes written to files. */
  bytes: number;
  /** Members extracted (files and directories). */
  entries: number;
}

/** The error for an archive that cannot be read (Python's message, then the reason in parentheses). */
export function invalidArchive(handle: string, reason?: string, cause?: unknown): ResolveError {
  const msg = `${handle} does not appear to be a valid module.${reason ? ` (${reason})` : ''}`;
  return new ResolveError('ERR_INVALID_ARCHIVE', msg, { handle, cause });
}

function unsafe(handle: string, reason: string): ResolveError {
  return new ResolveError('ERR_UNSAFE_ARCHIVE', `Refusing to extract ${handle}: ${reason}`, { handle });
}

function quote(s: string): string {
  return JSON.stringify(s.length > 300 ? `${s.slice(0, 300)}…` : s).replace(/^"|"$/g, "'");
}

/**
 * Maps a member name to a path relative to the target: '' for the target itself. Throws `ERR_UNSAFE_ARCHIVE` for
 * names that leave it (Python's `merge_relative_path`: `hello/../bla` → `bla`; `/../`, `hello/../../bla` invalid).
 */
export function safeMemberPath(handle: string, name: string): string {
  if (name.includes('\0')) throw unsafe(handle, `member name ${quote(name)} contains a NUL character.`);
  const stripped = name.replace(/^\/+/, '');
  const norm = path.posix.normalize(stripped === '' ? '.' : stripped).replace(/(?<!\/)\/+$/, '');
  if (norm === '' || norm === '.') return '';
  if (norm === '..' || norm.startsWith('../')) throw unsafe(handle, `relative path ${quote(name)} is invalid.`);
  return norm;
}

function fsFailure(handle: string, e: unknown, what: string): ResolveError {
  const code = sysCode(e);
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new ResolveError('ERR_CACHE_NOT_WRITABLE', `Cannot write ${what} while extracting ${handle}: ${(e as Error).message}`, {
      handle,
      cause: e,
    });
  }
  return invalidArchive(handle, `${what}: ${(e as Error).message}`, e);
}

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const ZSTD_UNSUPPORTED = `zstd-compressed archives need a Node.js whose zlib has zstd (22.15 or later; this is ${process.version}); use .tar or .tar.gz`;

function isZstd(head: Buffer): boolean {
  return head.length >= 4 && head.subarray(0, 4).equals(ZSTD_MAGIC);
}

/** Whether Node's zlib can decompress zstd (the `tar` parser uses it; Node 20 has none). */
export function zstdAvailable(): boolean {
  return typeof (zlib as unknown as Record<string, unknown>).ZstdDecompress === 'function';
}

function sniffReason(head: Buffer, contentType?: string): string | undefined {
  if (isZstd(head) && !zstdAvailable()) return ZSTD_UNSUPPORTED;
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) {
    return 'bzip2-compressed archives are not supported; use .tar or .tar.gz';
  }
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    return 'xz-compressed archives are not supported; use .tar or .tar.gz';
  }
  if (head.length >= 4 && head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
    return 'this is a zip file, not a tar archive';
  }
  if (contentType && /^\s*(text\/html|application\/json|text\/plain)/i.test(contentType)) {
    return `the server sent ${contentType.split(';')[0].trim()}, not an archive`;
  }
  return undefined;
}

/**
 * Extracts a tar (optionally gzip-compressed) byte stream into `dest` (an existing, empty directory). Errors in
 * `source` itself (network failures) propagate unchanged; everything about the archive is a `ResolveError`.
 */
export async function extractTar(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  dest: string,
  options: ExtractOptions,
): Promise<ExtractStats> {
  const { handle } = options;
  const maxEntries = options.maxEntries ?? MAX_ARCHIVE_ENTRIES;
  const root = path.resolve(dest);
  const parser = new Parser({ strict: true, maxDecompressionRatio: Infinity });
  const stats: ExtractStats = { bytes: 0, entries: 0 };
  let declared = 0;
  let failure: Error | null = null;
  let head: Buffer | null = null;
  let onFail: (() => void) | null = null;
  const failed = new Promise<void>((resolve) => (onFail = resolve));
  const fail = (e: Error): void => {
    if (failure) return;
    failure = e;
    onFail!();
    // Stop parsing now: the rest of a chunk already written (a gzip chunk can expand to 100,000 members) is dropped.
    try {
      parser.abort(e);
    } catch {
      // the parser's own 'error' for the abort; the failure is already recorded
    }
  };
  const openFds = new Set<number>();
  const closeFd = (fd: number): void => {
    if (!openFds.delete(fd)) return;
    try {
      fs.closeSync(fd);
    } catch (e) {
      fail(fsFailure(handle, e, 'a file'));
    }
  };

  parser.on('error', (e: Error) => {
    const reason = (head && sniffReason(head, options.contentType)) || e.message;
    fail(invalidArchive(handle, reason, e));
  });
  parser.on('ignoredEntry', (entry: { type: string; path: string; meta?: boolean }) => {
    fail(
      entry.meta
        ? invalidArchive(handle, `oversized ${entry.type} header for ${quote(entry.path)}`)
        : unsafe(handle, `unexpected object type in tar archive: ${entry.type} (${quote(entry.path)}).`),
    );
  });
  parser.on('entry', (entry: import('tar').ReadEntry) => {
    if (failure) {
      entry.resume();
      return;
    }
    try {
      if (++stats.entries > maxEntries) {
        throw new ResolveError(
          'ERR_ARCHIVE_TOO_LARGE',
          `Refusing to extract ${handle}: more than ${maxEntries} archive members (maxExtractEntries / TFHUB_MAX_EXTRACT_ENTRIES).`,
          { handle },
        );
      }
      const rel = safeMemberPath(handle, entry.path);
      const target = rel === '' ? root : path.join(root, rel);
      if (target !== root && !target.startsWith(root + path.sep)) throw unsafe(handle, `relative path ${quote(entry.path)} is invalid.`);
      switch (entry.type) {
        case 'Directory':
        case 'GNUDumpDir':
          try {
            fs.mkdirSync(target, { recursive: true, mode: 0o755 });
          } catch (e) {
            throw fsFailure(handle, e, `directory ${quote(rel)}`);
          }
          entry.resume();
          return;
        case 'File':
        case 'OldFile':
        case 'ContiguousFile': {
          if (rel === '') throw unsafe(handle, `a file member named ${quote(entry.path)}.`);
          declared += entry.size;
          if (declared > options.maxBytes) {
            throw new ResolveError(
              'ERR_ARCHIVE_TOO_LARGE',
              `Refusing to extract ${handle}: it expands to more than ${options.maxBytes} bytes (maxExtractBytes / TFHUB_MAX_EXTRACT_BYTES).`,
              { handle },
            );
          }
          let fd: number;
          try {
            fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
            fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
          } catch (e) {
            throw fsFailure(handle, e, `file ${quote(rel)}`);
          }
          openFds.add(fd);
          entry.on('data', (chunk: Buffer) => {
            if (failure) return;
            stats.bytes += chunk.length;
            if (stats.bytes > options.maxBytes) {
              fail(
                new ResolveError(
                  'ERR_ARCHIVE_TOO_LARGE',
                  `Refusing to extract ${handle}: it expands to more than ${options.maxBytes} bytes (maxExtractBytes / TFHUB_MAX_EXTRACT_BYTES).`,
                  { handle },
                ),
              );
              return;
            }
            try {
              let off = 0;
              while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
            } catch (e) {
              fail(fsFailure(handle, e, `file ${quote(rel)}`));
            }
          });
          entry.on('end', () => closeFd(fd));
          return;
        }
        default: {
          const link = entry.linkpath ? ` -> ${quote(entry.linkpath)}` : '';
          throw unsafe(handle, `unexpected object type in tar archive: ${entry.type} (${quote(entry.path)}${link}).`);
        }
      }
    } catch (e) {
      fail(e instanceof ResolveError ? e : invalidArchive(handle, (e as Error).message, e));
      entry.resume();
    }
  });

  const ended = once(parser, 'end').then(() => undefined);
  ended.catch(() => undefined);
  try {
    for await (const raw of source) {
      if (failure) break;
      const chunk =
        typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      if (chunk.length === 0) continue;
      if (head === null || head.length < 16) head = head ? Buffer.concat([head, chunk]).subarray(0, 16) : chunk.subarray(0, 16);
      if (isZstd(head) && !zstdAvailable()) {
        fail(invalidArchive(handle, ZSTD_UNSUPPORTED));
        break;
      }
      if (!parser.write(chunk) && !failure) await Promise.race([once(parser, 'drain'), failed]);
      if (failure) break;
    }
    if (!failure) {
      if (head === null) fail(invalidArchive(handle, 'empty response'));
      else {
        parser.end();
        await Promise.race([ended, failed]);
      }
    }
  } finally {
    for (const fd of [...openFds]) closeFd(fd);
  }
  if (failure) throw failure;
  return stats;
}
