// The fuzz runner: hands case ids to worker child processes and records what each case did. A worker that dies
// by a signal or an exit (crash), takes longer than the case timeout (hang) or whose resident memory passes the
// cap (runaway: --max-old-space-size for the JS heap, a /proc RSS watchdog for everything else) is recorded
// against the case and replaced; the run goes on.
import { ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CaseClass, CaseResult, CLASSES, caseClassOf } from './cases';

/** A case's result, including the failures only the parent sees. */
export type FuzzResult = CaseResult | { id: number; cls: string; what: string; outcome: 'crash' | 'hang' | 'runaway'; message: string };

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  seed: number;
  cases: number;
  first?: number;
  workers?: number;
  caseTimeoutMs?: number;
  rssLimitBytes?: number;
  heapLimitMb?: number;
  classes?: readonly CaseClass[];
  onResult?: (r: FuzzResult) => void;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs cases `first .. first+cases-1` and returns their results in id order. */
export async function runFuzz(o: FuzzOptions): Promise<FuzzResult[]> {
  const first = o.first ?? 0;
  const timeout = o.caseTimeoutMs ?? 30_000;
  const rssLimit = o.rssLimitBytes ?? 3 * 1024 ** 3;
  const classes = o.classes ?? CLASSES;
  const results: FuzzResult[] = [];
  let next = first;
  const end = first + o.cases;

  const lane = async (): Promise<void> => {
    let child: ChildProcess | null = null;
    const start = async (): Promise<ChildProcess> => {
      const c = fork(path.join(__dirname, 'worker.js'), [], {
        execArgv: [`--max-old-space-size=${o.heapLimitMb ?? 1024}`],
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
        env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
      });
      await new Promise<void>((resolve, reject) => {
        c.once('message', () => resolve());
        c.once('exit', (code, sig) => reject(new Error(`fuzz worker exited at start (${code ?? sig})`)));
      });
      return c;
    };
    while (next < end) {
      const id = next++;
      child ??= await start();
      const c = child;
      const r = await new Promise<FuzzResult>((resolve) => {
        let done = false;
        const finish = (res: FuzzResult): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          clearInterval(watch);
          c.removeAllListeners('message');
          c.removeAllListeners('exit');
          resolve(res);
        };
        const kill = (outcome: 'hang' | 'runaway', message: string): void => {
          c.kill('SIGKILL');
          child = null;
          finish({ id, cls: caseClassOf(o.seed, id, classes), what: `reproduce: --seed ${o.seed} --case ${id}`, outcome, message });
        };
        const timer = setTimeout(() => kill('hang', `no answer in ${timeout} ms`), timeout);
        const watch = setInterval(() => {
          const rss = rssOf(c.pid!);
          if (rss > rssLimit) kill('runaway', `RSS ${Math.round(rss / 2 ** 20)} MiB`);
        }, 100);
        c.on('message', (m: CaseResult) => finish(m));
        c.on('exit', (code, sig) => {
          child = null;
          finish({
            id,
            cls: caseClassOf(o.seed, id, classes),
            what: `reproduce: --seed ${o.seed} --case ${id}`,
            outcome: 'crash',
            message: `worker exited (${sig ?? `code ${code}`})`,
          });
        });
        c.send({ seed: o.seed, id, classes });
      });
      results.push(r);
      o.onResult?.(r);
    }
    if (child) (child as ChildProcess).kill('SIGKILL');
  };
  await Promise.all(Array.from({ length: Math.max(1, o.workers ?? 1) }, lane));
  return results.sort((a, b) => a.id - b.id);
}
