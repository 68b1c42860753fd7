/**
 * Download progress of the CLI commands that resolve a handle (`run`, `inspect`): on a terminal, one line on
 * stderr rewritten in place (`\r`) at most every 100 ms; elsewhere (logs, pipes, CI) one line when the download
 * starts, at most one every 10 s while it lasts, and one when it is done — never a line per chunk. Nothing is
 * written for handles that need no download (local paths, cached modules). When TFHUB_DOWNLOAD_PROGRESS is set
 * the resolver prints its own lines and this stays quiet.
 */
import { bytesToReadableStr, ProgressEvent } from '../hub/resolver';
import { ENV } from '../hub/resolver/settings';

/** Where progress goes: a writable with `isTTY` (process.stderr by default). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** A progress reporter: pass `onProgress` to `hub.resolve`, call `finish()` after it resolved. */
export interface DownloadProgress {
  /** The resolver's progress callback. */
  onProgress(event: ProgressEvent): void;
  /** Ends the progress display: the "Downloaded …" line when something was downloaded and `ok`. */
  finish(ok: boolean): void;
}

const TTY_INTERVAL_MS = 100;
const LOG_INTERVAL_MS = 10_000;

/** A reporter for `handle` writing to `stream`; `now` is the clock (tests). */
export function downloadProgress(handle: string, stream: ProgressStream = process.stderr, now: () => number = Date.now): DownloadProgress {
  const quiet = (process.env[ENV.downloadProgress] ?? '') !== '';
  const tty = !!stream.isTTY;
  let started = false;
  let last = 0;
  let bytes = 0;
  let width = 0;
  const line = (total: number | undefined) =>
    `Downloading ${handle}: ${bytesToReadableStr(bytes, true)}${total !== undefined ? ` / ${bytesToReadableStr(total, true)}` : ''}`;
  const write = (text: string) => {
    if (tty) {
      width = Math.max(width, text.length);
      stream.write(`\r${text.padEnd(width)}`);
    } else stream.write(`${text}\n`);
  };
  return {
    onProgress(event) {
      if (quiet) return;
      bytes = event.bytes;
      const t = now();
      if (!started) {
        started = true;
        last = t;
        write(line(event.total));
        return;
      }
      if (t - last < (tty ? TTY_INTERVAL_MS : LOG_INTERVAL_MS)) return;
      last = t;
      write(line(event.total));
    },
    finish(ok) {
      if (quiet || !started) return;
      started = false;
      if (ok) write(`Downloaded ${handle}, Total size: ${bytesToReadableStr(bytes, true)}`);
      if (tty) stream.write('\n');
    },
  };
}

/** `hub.resolve(handle)` with download progress on stderr (see the module comment). */
export async function resolveWithProgress(
  handle: string,
  resolve: (handle: string, options: { onProgress(e: ProgressEvent): void }) => Promise<string>,
): Promise<string> {
  const progress = downloadProgress(handle);
  try {
    const dir = await resolve(handle, { onProgress: (e) => progress.onProgress(e) });
    progress.finish(true);
    return dir;
  } catch (e) {
    progress.finish(false);
    throw e;
  }
}
