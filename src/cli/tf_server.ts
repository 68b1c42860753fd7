/**
 * `tfhub-node tf-server --cluster "ps=h:p,…;worker=h:p,…" --job worker --task 0 [--cpus N]`: starts a standard
 * TensorFlow task (what Python's `tf.distribute.Server(...).join()` scripts do) and serves until killed.
 */
import { parseClusterString } from '../distributed/cluster';
import { Server } from '../distributed/server';

/** Usage text of the tf-server command. */
export const TF_SERVER_USAGE = `usage: tfhub-node tf-server --cluster "ps=host:port,...;worker=host:port,..." --job NAME [--task N] [--cpus N]
  --cluster  every job of the cluster and its task addresses (jobs separated by ';', tasks by ',')
  --job      this task's job name; --task its index (default 0)
  --cpus     virtual CPU devices of this task (ConfigProto device_count {CPU: N})`;

/** Runs the command with its arguments (after `tf-server`); resolves to the exit code (serves until killed). */
export async function tfServerMain(argv: string[]): Promise<number> {
  let cluster = '';
  let job = '';
  let task = 0;
  let cpus: number | undefined;
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      const eq = a.indexOf('=');
      const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
      const value = (): string => {
        if (inline !== undefined) return inline;
        if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
        return argv[++i];
      };
      const int = (v: string): number => {
        if (!/^\d+$/.test(v)) throw new Error(`${flag} needs a non-negative integer, got '${v}'`);
        return Number(v);
      };
      if (flag === '--help' || flag === '-h') {
        console.log(TF_SERVER_USAGE);
        return 0;
      } else if (flag === '--cluster') cluster = value();
      else if (flag === '--job') job = value();
      else if (flag === '--task') task = int(value());
      else if (flag === '--cpus') cpus = int(value());
      else throw new Error(`unknown option ${a}`);
    }
    if (!cluster || !job) throw new Error('--cluster and --job are required');
  } catch (e) {
    console.error(`${(e as Error).message}\n${TF_SERVER_USAGE}`);
    return 2;
  }
  let server: Server;
  try {
    server = new Server({
      cluster: parseClusterString(cluster),
      jobName: job,
      taskIndex: task,
      config: cpus === undefined ? undefined : { deviceCount: { CPU: cpus } },
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    console.error(`tfhub-node tf-server: ${err.code ? `[${err.code}] ` : ''}${err.message}`);
    return 1;
  }
  console.log(`tfhub-node tf-server: /job:${job}/task:${task} serving at ${server.target}`);
  await server.join();
  return 0;
}
