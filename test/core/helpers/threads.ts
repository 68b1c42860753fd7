// The threads of this process as Linux reports them (/proc/self/task): id, name and nice value.
import * as fs from 'node:fs';

/** One thread of this process. */
export interface ThreadInfo {
  tid: number;
  /** `comm`: the name a thread gave itself (pthread_setname_np), else its creator's. */
  name: string;
  /** Field 19 of `/proc/self/task/<tid>/stat`. */
  nice: number;
}

/** Every thread of this process (threads that end while being read are left out). */
export function listThreads(): ThreadInfo[] {
  const out: ThreadInfo[] = [];
  for (const entry of fs.readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/self/task/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "tid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ')'.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' '); // fields[0] is field 3 (state)
    out.push({ tid: Number(entry), name: stat.slice(open + 1, close), nice: Number(fields[19 - 3]) });
  }
  return out;
}
