/**
 * `replicaDeviceSetter`: Python's `tf.compat.v1.train.replica_device_setter` — a device function for
 * between-graph replication: variables (and the other ps ops) on the ps tasks, everything else on the worker.
 */
import { DType, elementsPerValue, storageOf } from '../dtypes';
import { DeviceFunction, DeviceOp, DeviceSpec } from '../device_scope';
import { typeError } from '../errors';
import { ClusterSpec, normalizeCluster } from '../distributed/cluster';

/** Op types placed on ps tasks by default (Python's `STANDARD_PS_OPS`). */
export const STANDARD_PS_OPS: readonly string[] = [
  'Variable',
  'VariableV2',
  'AutoReloadVariable',
  'MutableHashTable',
  'MutableHashTableV2',
  'MutableHashTableOfTensors',
  'MutableHashTableOfTensorsV2',
  'MutableDenseHashTable',
  'MutableDenseHashTableV2',
  'VarHandleOp',
  'BoostedTreesEnsembleResourceHandleOp',
  'BoostedTreesQuantileStreamResourceHandleOp',
  'ResourceConditionalAccumulator',
  'DecisionTreeResource',
];

/** Chooses the ps task of a ps op: `'roundRobin'` (default), `'greedy'` (least bytes so far) or a function. */
export type PsStrategy = 'roundRobin' | 'greedy' | ((op: DeviceOp) => number);

/** Options of `replicaDeviceSetter`. */
export interface ReplicaDeviceSetterOptions {
  /** Number of ps tasks (ignored when `cluster` is given). */
  psTasks?: number;
  /** Device of the ps job (default `/job:ps`; `''` for none). */
  psDevice?: string;
  /** Device of this worker (default `/job:worker`). */
  workerDevice?: string;
  /** Merge into devices ops already have (default true); false keeps any device an op has. */
  mergeDevices?: boolean;
  /** A cluster: `psTasks` is the size of the ps job in it. */
  cluster?: ClusterSpec;
  /** Op types to place on ps tasks (default `STANDARD_PS_OPS`). */
  psOps?: readonly string[];
  /** How ps ops are spread over the ps tasks (default round robin). */
  psStrategy?: PsStrategy;
}

const VARIABLE_OPS = new Set(['Variable', 'VariableV2', 'VarHandleOp']);

/**
 * Bytes of a variable op's value (Python's `byte_size_load_fn`): its shape's element count times the dtype's
 * size; 4-byte elements for other ops. A shape not fully known is ERR_INVALID_ARG_VALUE.
 */
export function byteSizeLoad(op: DeviceOp): number {
  let elem = 4;
  if (VARIABLE_OPS.has(op.type) && typeof op.attrs.dtype === 'string') {
    const d = op.attrs.dtype as DType;
    elem = (storageOf(d)?.BYTES_PER_ELEMENT ?? 4) * elementsPerValue(d);
  }
  const shape = op.attrs.shape;
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || d < 0)) {
    throw typeError('ERR_INVALID_ARG_VALUE', `greedy ps placement needs the full shape of ${op.name}`);
  }
  return (shape as number[]).reduce((a, b) => a * b, 1) * elem;
}

function strategyOf(psTasks: number, s: PsStrategy | undefined): (op: DeviceOp) => number {
  if (s === undefined || s === 'roundRobin') {
    let next = 0;
    return () => {
      const task = next;
      next = (next + 1) % psTasks;
      return task;
    };
  }
  if (s === 'greedy') {
    // Python's GreedyLoadBalancingStrategy(num_tasks, byte_size_load_fn): the least loaded task, first on ties.
    const loads = new Array<number>(psTasks).fill(0);
    return (op) => {
      const task = loads.indexOf(Math.min(...loads));
      loads[task] += byteSizeLoad(op);
      return task;
    };
  }
  if (typeof s === 'function') return s;
  throw typeError('ERR_INVALID_ARG_TYPE', "psStrategy must be 'roundRobin', 'greedy' or a function");
}

/**
 * A device function for `graph.withDevice(...)`: ops of a type in `psOps` go to `psDevice` with the task chosen
 * by `psStrategy`, every other op to `workerDevice`, each merged with the device the op already has. Returns
 * null (no placement; `withDevice(null, …)` clears) when there are no ps tasks, as Python returns None.
 */
export function replicaDeviceSetter(options: ReplicaDeviceSetterOptions = {}): DeviceFunction | null {
  const psDevice = options.psDevice ?? '/job:ps';
  const workerDevice = options.workerDevice ?? '/job:worker';
  const merge = options.mergeDevices ?? true;
  let psTasks = options.psTasks ?? 0;
  if (options.cluster !== undefined) {
    const cluster = normalizeCluster(options.cluster);
    const psJob = DeviceSpec.fromString(psDevice).job;
    const tasks = psJob === null ? undefined : cluster.get(psJob);
    if (!tasks) return null;
    psTasks = tasks.size;
  }
  if (!Number.isInteger(psTasks) || psTasks < 0)
    throw typeError('ERR_INVALID_ARG_VALUE', `psTasks must be a non-negative integer, got ${String(psTasks)}`);
  if (psTasks === 0) return null;
  const psOps = new Set(options.psOps ?? STANDARD_PS_OPS);
  const strategy = strategyOf(psTasks, options.psStrategy);
  const ps = DeviceSpec.fromString(psDevice);
  const worker = DeviceSpec.fromString(workerDevice);
  return (op: DeviceOp): string => {
    if (!merge && op.device) return op.device;
    const current = DeviceSpec.fromString(op.device || '');
    if (psDevice && psOps.has(op.type)) {
      let spec = ps;
      if (ps.job !== null && (current.job === null || current.job === ps.job)) spec = ps.replace({ task: strategy(op) });
      return spec.mergedWith(current).toString();
    }
    return worker.mergedWith(current).toString();
  };
}
