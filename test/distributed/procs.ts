// Child processes and ports for the distributed tests: free loopback ports, children whose output lines can be
// awaited with a deadline, and a cleanup that always kills them.
import { ChildProcess, spawn } from 'node:child_process';

export { freePort } from '../helpers/free_port';

/** A spawned process whose stdout lines are collected. */
export interface Child {
  readonly proc: ChildProcess;
  readonly lines: string[];
  /** The first line matching `re` (now or later); rejects after `timeoutMs` or when the process exits first. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal) once the process ended. */
  exited(): Promise<number | string>;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns `cmd args` with stdout lines collected; every child is killed by `killAll`. */
export function start(cmd: string, args: string[], env: Record<string, string> = {}, input?: string): Child {
  const proc = spawn(cmd, args, {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', CUDA_VISIBLE_DEVICES: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(proc);
  const lines: string[] = [];
  let err = '';
  let partial = '';
  const waiters: Array<() => void> = [];
  let exitValue: number | string | null = null;
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-20000);
  });
  proc.on('exit', (code, signal) => {
    exitValue = code ?? signal ?? 'unknown';
    live.delete(proc);
    for (const w of waiters.splice(0)) w();
  });
  if (input !== undefined) proc.stdin!.end(input);
  return {
    proc,
    lines,
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out after ${timeoutMs} ms waiting for ${re} from ${cmd}; stdout:\n${lines.join('\n')}\nstderr:\n${err.slice(-3000)}`,
              ),
            ),
          timeoutMs,
        );
        const check = () => {
          for (const l of lines) {
            const m = l.match(re);
            if (m) {
              clearTimeout(timer);
              resolve(m);
              return;
            }
          }
          if (exitValue !== null) {
            clearTimeout(timer);
            reject(
              new Error(`${cmd} exited (${exitValue}) before printing ${re}; stdout:\n${lines.join('\n')}\nstderr:\n${err.slice(-3000)}`),
            );
            return;
          }
          waiters.push(check);
        };
        check();
      });
    },
    exited() {
      return new Promise((resolve) => {
        const check = () => (exitValue !== null ? resolve(exitValue) : waiters.push(check));
        check();
      });
    },
    stderr: () => err,
    kill(signal = 'SIGKILL') {
      if (exitValue === null) proc.kill(signal);
    },
  };
}

const live = new Set<ChildProcess>();

/** Kills every child still running (test cleanup; also on the runner's exit). */
export function killAll(): void {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
}
process.on('exit', killAll);
