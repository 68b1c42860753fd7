/**
 * Cluster specifications (Python's `tf.train.ClusterSpec`): jobs and the `host:port` of each task, checked and
 * turned into the ClusterDef proto that servers and `replicaDeviceSetter` read.
 */
import { rangeError, typeError } from '../errors';
import { tensorflow } from '../proto';

/**
 * A cluster: job name → task addresses, as an array (task i at index i) or a record of task index → address
 * for sparse jobs (Python's `{'worker': {1: 'host:port'}}`).
 */
export type ClusterSpec = Record<string, readonly string[] | Readonly<Record<number, string>>>;

/** A checked cluster: job name → (task index → address), tasks in index order. */
export type NormalizedCluster = Map<string, Map<number, string>>;

// TF's job-name rule (DeviceNameUtils): a letter, then letters, digits or underscores.
const JOB_NAME = /^[a-zA-Z][_a-zA-Z0-9]*$/;

/** Splits `host:port` (`[v6]:port` too) and checks the port; throws ERR_INVALID_CLUSTER. */
export function parseAddress(address: unknown, where: string): { host: string; port: number } {
  if (typeof address !== 'string') throw typeError('ERR_INVALID_CLUSTER', `${where}: an address must be a 'host:port' string`);
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/[\]]+):(\d{1,5})$/.exec(address);
  if (!m) throw typeError('ERR_INVALID_CLUSTER', `${where}: '${address}' is not a 'host:port' address`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw rangeError('ERR_INVALID_CLUSTER', `${where}: port ${port} of '${address}' is not in 1..65535`);
  return { host: m[1], port };
}

/** Checks a cluster spec: job names TF accepts, integer task indices, valid unique addresses. */
export function normalizeCluster(cluster: unknown): NormalizedCluster {
  if (!cluster || typeof cluster !== 'object' || Array.isArray(cluster)) {
    throw typeError('ERR_INVALID_CLUSTER', 'cluster must be an object of job name → task addresses');
  }
  const out: NormalizedCluster = new Map();
  const seen = new Map<string, string>();
  for (const [job, tasks] of Object.entries(cluster as Record<string, unknown>)) {
    if (!JOB_NAME.test(job)) throw typeError('ERR_INVALID_CLUSTER', `job name '${job}' is not valid (a letter, then letters, digits or _)`);
    if (!tasks || typeof tasks !== 'object')
      throw typeError('ERR_INVALID_CLUSTER', `job '${job}': tasks must be an array or a record of task index → address`);
    const entries: Array<[number, unknown]> = Array.isArray(tasks)
      ? tasks.map((a, i) => [i, a])
      : Object.entries(tasks).map(([k, a]) => {
          if (!/^(0|[1-9]\d{0,8})$/.test(k))
            throw typeError('ERR_INVALID_CLUSTER', `job '${job}': task index '${k}' is not a non-negative integer`);
          return [Number(k), a];
        });
    if (entries.length === 0) throw typeError('ERR_INVALID_CLUSTER', `job '${job}' has no tasks`);
    const map = new Map<number, string>();
    for (const [i, address] of entries.sort((a, b) => a[0] - b[0])) {
      parseAddress(address, `job '${job}' task ${i}`);
      const other = seen.get(address as string);
      if (other) throw typeError('ERR_INVALID_CLUSTER', `address '${address}' is used by ${other} and by /job:${job}/task:${i}`);
      seen.set(address as string, `/job:${job}/task:${i}`);
      map.set(i, address as string);
    }
    out.set(job, map);
  }
  if (out.size === 0) throw typeError('ERR_INVALID_CLUSTER', 'cluster has no jobs');
  return out;
}

/** The ClusterDef proto of a checked cluster. */
export function clusterDef(cluster: NormalizedCluster): tensorflow.IClusterDef {
  return {
    job: [...cluster.entries()].map(([name, tasks]) => ({
      name,
      tasks: Object.fromEntries([...tasks.entries()].map(([i, a]) => [i, a])),
    })),
  };
}

/**
 * Parses the command-line form `ps=h:p,h:p;worker=h:p` (jobs separated by `;`, tasks by `,`).
 */
export function parseClusterString(text: string): ClusterSpec {
  const out: Record<string, string[]> = {};
  for (const part of text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw typeError('ERR_INVALID_CLUSTER', `'${part}' is not 'job=host:port,…'`);
    const job = part.slice(0, eq).trim();
    if (out[job]) throw typeError('ERR_INVALID_CLUSTER', `job '${job}' is given twice`);
    out[job] = part
      .slice(eq + 1)
      .split(',')
      .map((s) => s.trim());
  }
  normalizeCluster(out);
  return out;
}
