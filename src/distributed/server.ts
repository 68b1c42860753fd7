/**
 * `Server`: this process as a task of a TensorFlow cluster (Python's `tf.distribute.Server`), over the C API's
 * `TF_NewServer` / `TF_ServerStart` / `TF_ServerJoin` / `TF_ServerStop` / `TF_ServerTarget`.
 */
import { TfhubError, rangeError, typeError } from '../errors';
import { NativeServer, binding } from '../native';
import { tensorflow } from '../proto';
import { SessionOptions, encodeConfig } from '../session';
import { ClusterSpec, NormalizedCluster, clusterDef, normalizeCluster, parseAddress } from './cluster';

/** Options of `new Server(options)`. */
export interface ServerOptions {
  /** The whole cluster: job name → task addresses (`{ps: ['127.0.0.1:2222'], worker: [...]}`). */
  cluster: ClusterSpec;
  /** This task's job (must be in `cluster`). */
  jobName: string;
  /** This task's index in its job (default 0). */
  taskIndex?: number;
  /** Default options of the sessions this server runs (device counts, threads, soft placement …). */
  config?: SessionOptions;
  /** Start serving at once (default true, as in Python). */
  start?: boolean;
}

/**
 * A task of a TensorFlow cluster, serving TF's master and worker gRPC services on the port its cluster entry
 * names. Sessions of any process (Node or Python) reach it at `target`.
 *
 * TensorFlow cannot shut a started gRPC server down: `stop()` then fails with UNIMPLEMENTED (as Python's does)
 * and the server keeps serving until the process exits; `close()` only releases it on the JS side.
 */
export class Server {
  /** The task's job name. */
  readonly jobName: string;
  /** The task's index in its job. */
  readonly taskIndex: number;
  /** The checked cluster. */
  readonly cluster: NormalizedCluster;
  private readonly native: NativeServer;
  private joinPromise: Promise<void> | null = null;
  private releaseJoin: (() => void) | null = null;

  constructor(options: ServerOptions) {
    if (!options || typeof options !== 'object') throw typeError('ERR_INVALID_ARG_TYPE', 'new Server(options): options must be an object');
    const cluster = normalizeCluster(options.cluster);
    const { jobName } = options;
    const taskIndex = options.taskIndex ?? 0;
    if (typeof jobName !== 'string') throw typeError('ERR_INVALID_ARG_TYPE', 'jobName must be a string');
    const tasks = cluster.get(jobName);
    if (!tasks) throw typeError('ERR_INVALID_CLUSTER', `job '${jobName}' is not in the cluster (jobs: ${[...cluster.keys()].join(', ')})`);
    if (!Number.isInteger(taskIndex)) throw typeError('ERR_INVALID_ARG_TYPE', `taskIndex must be an integer, got ${String(taskIndex)}`);
    const address = tasks.get(taskIndex);
    if (address === undefined) {
      throw rangeError('ERR_OUT_OF_RANGE', `task ${taskIndex} is not in job '${jobName}' (its tasks: ${[...tasks.keys()].join(', ')})`);
    }
    const { port } = parseAddress(address, `job '${jobName}' task ${taskIndex}`);
    // TF binds 0.0.0.0:port with SO_REUSEPORT: a second TF server would share the port silently, and a failed
    // bind surfaces late. Probe it first.
    const why = binding().probePort(port);
    if (why)
      throw new TfhubError('ERR_PORT_IN_USE', `port ${port} of /job:${jobName}/task:${taskIndex} (${address}) cannot be bound: ${why}`);
    const config = options.config === undefined ? null : encodeConfig(options.config);
    const def: tensorflow.IServerDef = {
      cluster: clusterDef(cluster),
      jobName,
      taskIndex,
      protocol: 'grpc',
      defaultSessionConfig: config ? tensorflow.ConfigProto.decode(config) : undefined,
    };
    this.native = new (binding().Server)(tensorflow.ServerDef.encode(def).finish());
    this.cluster = cluster;
    this.jobName = jobName;
    this.taskIndex = taskIndex;
    if (options.start ?? true) {
      try {
        this.start();
      } catch (e) {
        this.native.close();
        throw e;
      }
    }
  }

  /** The session target of this task, `grpc://localhost:<port>`. */
  get target(): string {
    return this.native.target();
  }

  /** Whether `start()` succeeded. */
  get isStarted(): boolean {
    return this.native.isStarted();
  }

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.native.isClosed();
  }

  /** Starts serving (idempotent). */
  start(): void {
    this.native.start();
  }

  /**
   * `TF_ServerStop`. A server that never started becomes unusable; a started one cannot be stopped by
   * TensorFlow (UnimplementedError, as in Python).
   */
  stop(): void {
    this.native.stop();
  }

  /**
   * Waits for the server to finish (`TF_ServerJoin`, on its own thread: the event loop keeps running). A started
   * server never finishes by itself, so this keeps the process alive until it exits, or until `close()`, which
   * settles the promise.
   */
  join(): Promise<void> {
    if (!this.joinPromise) {
      const closed = new Promise<void>((resolve) => {
        this.releaseJoin = resolve;
      });
      this.joinPromise = Promise.race([this.native.join(), closed]);
    }
    return this.joinPromise;
  }

  /**
   * Releases the server on the JS side: a server that never started is deleted and its port freed; a started
   * one keeps serving until the process exits (TensorFlow cannot shut it down). A pending `join()` resolves.
   */
  close(): void {
    if (this.native.isClosed()) return;
    this.native.close();
    this.releaseJoin?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
