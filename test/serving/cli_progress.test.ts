// Download progress of `tfhub-node run <URL>`: a tar.gz module served slowly by a 127.0.0.1 server; on a pipe
// (not a terminal) stderr gets one start line and one done line, not a line per chunk; a terminal gets one line
// rewritten in place at most every 100 ms; a cached handle prints nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { downloadProgress } from '../../src/cli/progress';
import { FIXTURES } from '../helpers/fixtures';
import { RunResult, runToEnd } from '../helpers/run_to_end';
import { ROOT, tempDir } from './rest_helpers';

const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const ARCHIVE = fs.readFileSync(path.join(FIXTURES, 'half_plus_two_v1.tar.gz'));

function run(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return runToEnd(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeoutMs: 90_000 });
}

describe('CLI download progress', { timeout: 180_000 }, () => {
  it('a terminal gets one line rewritten at most every 100 ms; a log gets a start line, one per 10 s, a done line', () => {
    for (const tty of [true, false]) {
      const writes: string[] = [];
      let clock = 0;
      const p = downloadProgress('https://h/m.tar.gz', { isTTY: tty, write: (t: string) => writes.push(t) }, () => clock);
      for (let i = 1; i <= 2000; i++) {
        clock = i * 10; // 2000 chunks over 20 s
        p.onProgress({ bytes: i * 1024, total: 2000 * 1024, url: 'https://h/m.tar.gz' });
      }
      p.finish(true);
      if (tty) {
        assert.ok(writes.every((w) => w.startsWith('\r') || w === '\n'));
        assert.equal(writes.length, 1 + 199 + 1 + 1); // first, every 100 ms, done, newline
        assert.equal(writes.at(-2)!.trimEnd(), '\rDownloaded https://h/m.tar.gz, Total size: 1.95MB');
      } else {
        assert.deepEqual(writes, [
          'Downloading https://h/m.tar.gz: 1.00kB / 1.95MB\n',
          'Downloading https://h/m.tar.gz: 1001.00kB / 1.95MB\n',
          'Downloaded https://h/m.tar.gz, Total size: 1.95MB\n',
        ]);
      }
    }
    const quiet: string[] = [];
    const p = downloadProgress('x', { isTTY: false, write: (t: string) => quiet.push(t) });
    p.finish(true); // nothing downloaded: nothing printed
    assert.deepEqual(quiet, []);
  });

  it('tfhub-node run <URL>: progress on stderr, the outputs on stdout; cached the second time (no progress)', async () => {
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests++;
      res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': String(ARCHIVE.length) });
      // 10 chunks, 30 ms apart: many progress events.
      let i = 0;
      const step = Math.ceil(ARCHIVE.length / 10);
      const next = () => {
        if (i * step >= ARCHIVE.length) return res.end();
        res.write(ARCHIVE.subarray(i * step, (i + 1) * step));
        i++;
        setTimeout(next, 30);
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const t = tempDir('tfhub-progress-');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/half_plus_two.tar.gz`;
      const env = { TFHUB_CACHE_DIR: t.dir, TFHUB_DOWNLOAD_PROGRESS: '' };
      const first = await run(['run', url, '--input', '[1,2,5]'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /output default: float32 \[3\] \[2\.5,3,4\.5\]/);
      const lines = first.stderr.split('\n').filter((l) => l.includes(url));
      assert.deepEqual(lines, [`Downloading ${url}: ${lines[0].split(': ')[1]}`, `Downloaded ${url}, Total size: 1.33kB`]);
      assert.match(lines[0], /^Downloading .*: \d+B \/ 1\.33kB$/);
      const second = await run(['run', url, '--input', '[1,2,5]'], env);
      assert.equal(second.code, 0, second.stderr);
      assert.doesNotMatch(second.stderr, /Download/);
      assert.equal(requests, 1);
    } finally {
      t.remove();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
