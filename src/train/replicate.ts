/**
 * In-graph replication: one tower per device (several GPUs, or CPUs made with `deviceCount: {CPU: n}`), each
 * building the loss of its share of the batch on shared variables, and the tower gradients averaged — what
 * Python users write by hand with `tf.device` towers and an `average_gradients` helper.
 */
import { TfhubError, typeError } from '../errors';
import { Graph, Output } from '../graph';
import { GraphKeys, Variable } from '../variable';
import { GradAndVar } from './optimizer';

/** Options of `replicate`. */
export interface ReplicateOptions {
  /** Variables to differentiate (default: the graph's trainable variables after the towers are built). */
  varList?: Variable[];
  /** Name scope prefix of the towers (default `tower`: `tower_0`, `tower_1`, …). */
  towerName?: string;
  /** Device of the averaging ops (default: no device, TF places them). */
  averageDevice?: string;
}

/** What `replicate` built. */
export interface Replicated {
  /** The averaged gradients with their variables, for `optimizer.applyGradients`. */
  gradsAndVars: GradAndVar[];
  /** Each tower's loss. */
  towerLosses: Output[];
  /** The mean of the tower losses. */
  loss: Output;
}

/**
 * Builds `fn(device, i)` once per device, under `graph.withDevice(device)` and name scope `tower_<i>`; `fn`
 * returns that tower's scalar loss (towers share variables made outside `fn`). Returns the per-variable mean
 * of the tower gradients: with equal shares of a batch and mean losses, the gradient of the whole batch.
 */
export function replicate(
  graph: Graph,
  devices: string[],
  fn: (device: string, index: number) => Output,
  options: ReplicateOptions = {},
): Replicated {
  if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'replicate(graph, devices, fn): graph must be a Graph');
  if (!Array.isArray(devices) || devices.length === 0 || devices.some((d) => typeof d !== 'string')) {
    throw typeError('ERR_INVALID_ARG_TYPE', 'replicate: devices must be a non-empty array of device strings');
  }
  if (typeof fn !== 'function') throw typeError('ERR_INVALID_ARG_TYPE', 'replicate: fn must be a function returning the tower loss');
  const prefix = options.towerName ?? 'tower';
  const towerLosses = devices.map((device, i) =>
    graph.withDevice(device, () =>
      graph.withNameScope(`${prefix}_${i}`, () => {
        const loss = fn(device, i);
        if (!(loss instanceof Output) || loss.graph !== graph)
          throw typeError('ERR_INVALID_ARG_TYPE', `tower ${i}: fn must return an Output of the graph`);
        if (loss.shape !== null && loss.shape.length !== 0)
          throw new TfhubError('ERR_INVALID_ARG_VALUE', `tower ${i}: the loss must be a scalar, got shape [${loss.shape.join(', ')}]`);
        return loss;
      }),
    ),
  );
  const vars = options.varList ?? graph.getCollection<Variable>(GraphKeys.TRAINABLE_VARIABLES);
  if (vars.length === 0) throw new TfhubError('ERR_NO_VARIABLES', 'replicate: no variables to differentiate');
  // Each tower's backward pass on its device, as Python's towers compute gradients inside `tf.device(d)`.
  const perTower = towerLosses.map((loss, i) =>
    graph.withDevice(devices[i], () =>
      graph.withNameScope(`${prefix}_${i}_gradients`, () => graph.addGradients([loss], vars, null, { unconnected: 'null' })),
    ),
  );
  const n = devices.length;
  return graph.withDevice(options.averageDevice ?? '', () =>
    graph.withNameScope('average_gradients', () => {
      const mean = (xs: Output[], name: string): Output => {
        const sum =
          xs.length === 1 ? xs[0] : graph.addOperation('AddN', { name: graph.uniqueName(`${name}/AddN`), inputs: [xs] }).output(0);
        const count = graph.constant(n, `${name}/count`, sum.dtype);
        return graph.addOperation('RealDiv', { name: graph.uniqueName(`${name}/mean`), inputs: [sum, count] }).output(0);
      };
      const gradsAndVars: GradAndVar[] = vars.map((v, j) => {
        const grads = perTower.map((g) => g[j]).filter((g): g is Output => g !== null && g !== undefined);
        if (grads.length === 0) return [null, v];
        if (grads.length !== n)
          throw new TfhubError('ERR_INVALID_ARG_VALUE', `variable ${v.name} has gradients in ${grads.length} of ${n} towers`);
        return [mean(grads, v.opName.replace(/[^A-Za-z0-9_.\-/]/g, '_')), v];
      });
      return { gradsAndVars, towerLosses, loss: mean(towerLosses, 'loss') };
    }),
  );
}
