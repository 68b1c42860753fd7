/**
 * The one way model files are opened and read: `saved_model.pb`, `tfhub_module.pb`, `variables.index`, data
 * shards, asset and metadata files. Model directories may come from anyone, so each file is opened without
 * blocking (`O_NONBLOCK`: a FIFO never waits for a writer), checked with `fstat` on the opened descriptor (only
 * regular files; a directory, FIFO, socket or device such as `/dev/zero` behind a symlink is refused) and
 * against a size limit before a byte is read.
 *
 * The limit (default 4 GiB) is `maxBytes` where an API takes it, else the environment variable
 * `TFHUB_NODE_MAX_MODEL_FILE_BYTES` (a byte count, or `512M`, `8G`, …), read at every call.
 *
 * Errors: a missing file is the system error itself (`code` `ENOENT` / `ENOTDIR`), so callers keep their own
 * not-found messages; otherwise `ERR_NOT_REGULAR_FILE`, `ERR_MODEL_FILE_TOO_LARGE` or `ERR_READ` (TfhubErrors).
 */
import { constants, promises as fs } from 'node:fs';
import { TfhubError } from '../errors';
import { parseByteSize } from '../hub/resolver/settings';

/** Default cap on the size of one model file read or copied (4 GiB). */
export const DEFAULT_MAX_MODEL_FILE_BYTES = 4 * 1024 ** 3;

/** The environment variable that overrides {@link DEFAULT_MAX_MODEL_FILE_BYTES}. */
export const MAX_MODEL_FILE_BYTES_ENV = 'TFHUB_NODE_MAX_MODEL_FILE_BYTES';

/** Options of the model-file readers. */
export interface ModelFileOptions {
  /** Cap on the file's size in bytes (default: `TFHUB_NODE_MAX_MODEL_FILE_BYTES`, else 4 GiB). */
  maxBytes?: number;
}

/** The size limit in force: `maxBytes`, else the environment variable, else the default. */
export function maxModelFileBytes(options: ModelFileOptions = {}): number {
  if (options.maxBytes !== undefined) {
    if (typeof options.maxBytes !== 'number' || !(options.maxBytes >= 0)) {
      throw new TfhubError('ERR_INVALID_ARG_VALUE', `maxBytes must be a non-negative number, got ${String(options.maxBytes)}`);
    }
    return options.maxBytes;
  }
  const raw = (process.env[MAX_MODEL_FILE_BYTES_ENV] ?? '').trim();
  if (raw === '') return DEFAULT_MAX_MODEL_FILE_BYTES;
  const v = parseByteSize(raw);
  if (v === undefined)
    throw new TfhubError(
      'ERR_INVALID_SETTING',
      `${MAX_MODEL_FILE_BYTES_ENV} must be a byte count such as 1073741824, 512M or 8G; got ${JSON.stringify(raw.slice(0, 40))}`,
    );
  return v;
}

function kindOf(st: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** An open model file: its descriptor and size (checked: a regular file within the limit). */
export interface ModelFile {
  /** The open handle (the caller closes it). */
  readonly handle: fs.FileHandle;
  /** The file's size when it was opened. */
  readonly size: number;
}

/**
 * Opens `file` for reading without blocking and checks it is a regular file of at most the limit's size.
 * A missing file is the system error (`ENOENT` / `ENOTDIR`).
 */
export async function openModelFile(file: string, options: ModelFileOptions = {}): Promise<ModelFile> {
  const limit = maxModelFileBytes(options);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const sys = (e as NodeJS.ErrnoException).code;
    if (sys === 'ENOENT' || sys === 'ENOTDIR') throw e;
    // ENXIO: a socket; ELOOP: a symlink loop; EACCES etc.
    if (sys === 'ENXIO') throw new TfhubError('ERR_NOT_REGULAR_FILE', `${file} is a socket or device, not a regular file`, { cause: e });
    throw new TfhubError('ERR_READ', `cannot open ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new TfhubError('ERR_NOT_REGULAR_FILE', `${file} is ${kindOf(st)}, not a regular file`);
    if (st.size > limit) {
      throw new TfhubError(
        'ERR_MODEL_FILE_TOO_LARGE',
        `${file} has ${st.size} bytes, more than the limit of ${limit} (option maxBytes / ${MAX_MODEL_FILE_BYTES_ENV})`,
      );
    }
    return { handle, size: st.size };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

/** Reads `[position, position + length)` of an open model file; fewer bytes than asked is `ERR_READ`. */
export async function readModelFileRange(file: string, opened: ModelFile, position: number, length: number): Promise<Buffer> {
  if (position < 0 || length < 0 || position + length > opened.size) {
    throw new TfhubError('ERR_READ', `${file}: bytes ${position}..${position + length} lie beyond its ${opened.size} bytes`);
  }
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await opened.handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0)
      throw new TfhubError('ERR_READ', `${file} shrank while being read (got ${done} of ${length} bytes at ${position})`);
    done += bytesRead;
  }
  return buf;
}

/** Reads a whole model file (a regular file within the size limit; see the module's doc). */
export async function readModelFile(file: string, options: ModelFileOptions = {}): Promise<Buffer> {
  const opened = await openModelFile(file, options);
  try {
    return await readModelFileRange(file, opened, 0, opened.size);
  } finally {
    await opened.handle.close();
  }
}

/**
 * Reads a whole model file; a missing one (`ENOENT` / `ENOTDIR`) is the error `missing` gives (callers keep their
 * own not-found messages); any other failure is a TfhubError (`ERR_READ` naming the file where it was not one).
 */
export async function readModelFileOr(file: string, missing: (cause: Error) => Error | Promise<Error>): Promise<Buffer> {
  try {
    return await readModelFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw await missing(e as Error);
    throw e instanceof TfhubError ? e : new TfhubError('ERR_READ', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** The size of a model file, checked as {@link openModelFile} checks it. */
export async function modelFileSize(file: string, options: ModelFileOptions = {}): Promise<number> {
  const opened = await openModelFile(file, options);
  await opened.handle.close();
  return opened.size;
}

/**
 * Copies a model file to `target` (created: it must not exist), with the checks of {@link openModelFile} on the
 * source, so a FIFO or device in a model directory never blocks or fills an export.
 */
export async function copyModelFile(file: string, target: string, options: ModelFileOptions = {}): Promise<void> {
  const opened = await openModelFile(file, options);
  try {
    const out = await fs.open(target, 'wx');
    try {
      const chunk = Buffer.alloc(Math.min(opened.size, 1 << 20));
      for (let pos = 0; pos < opened.size;) {
        const { bytesRead } = await opened.handle.read(chunk, 0, Math.min(chunk.length, opened.size - pos), pos);
        if (bytesRead === 0) throw new TfhubError('ERR_READ', `${file} shrank while being copied (${pos} of ${opened.size} bytes)`);
        await out.write(chunk, 0, bytesRead);
        pos += bytesRead;
      }
    } finally {
      await out.close();
    }
  } finally {
    await opened.handle.close();
  }
}
