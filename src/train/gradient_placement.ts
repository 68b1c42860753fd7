/**
 * Device placement of gradient ops. TF's C++ gradient registry (`TF_AddGradients`) builds ops without devices,
 * and the C API cannot set a device after an op is built. So, when device scopes are active (or gradients are
 * colocated with their forward ops), the gradients are built in a scratch copy of the graph and the new ops are
 * imported into the graph with their devices, as Python places them:
 *
 * - by default, every gradient op gets the device scopes active at the gradients call (Python applies the
 *   device function stack to each op `tf.gradients` creates; under `replicaDeviceSetter`: the worker);
 * - with `colocateGradientsWithOps`, the ops of one forward op's gradient take that op's device, ignoring the
 *   scopes (Python's `colocate_with(op)` inside `_MaybeColocateWith`); the other ops (sums of gradients, the
 *   initial ones) follow the scopes.
 *
 * Costs one GraphDef round trip of the graph per gradients call (only under scopes or colocation).
 */
import { attrToJs } from '../attr_codec';
import { deviceFor } from '../device_scope';
import { GradientOptions, Graph, Operation, Output } from '../graph';
import { tensorflow } from '../proto';

/** Which forward op each gradient op belongs to (filled while building in the scratch graph). */
export interface GradientOwners {
  /** Gradient op name → forward op name (ops built by TypeScript gradient functions). */
  readonly byName: Map<string, string>;
  /** Name scope of one TF_AddGradients call → forward op name. */
  readonly byPrefix: Array<[string, string]>;
}

/** Builds the gradients in `graph` itself (no device handling): the registry-aware builder of gradients.ts. */
export type GradientBuilder = (
  graph: Graph,
  ys: Output[],
  xs: Output[],
  dys: Output[] | null,
  options: GradientOptions,
  internal: { exactPrefix: string; owners: GradientOwners | null },
) => Array<Output | null>;

function splitInput(input: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? [m[1], Number(m[2])] : [input, 0];
}

/** The owner (forward op name) of gradient op `name`, if any. */
function ownerOf(owners: GradientOwners, name: string): string | undefined {
  const direct = owners.byName.get(name);
  if (direct !== undefined) return direct;
  for (const [prefix, op] of owners.byPrefix) if (name.startsWith(prefix + '/')) return op;
  return undefined;
}

/**
 * Gradients of `ys` with respect to `xs` whose ops are placed as Python places them (see the file comment);
 * `prefix` is the (already unique) name scope of the gradient ops.
 */
export function placedGradients(
  graph: Graph,
  ys: Output[],
  xs: Output[],
  dys: Output[] | null,
  options: GradientOptions,
  prefix: string,
  build: GradientBuilder,
): Array<Output | null> {
  const colocate = options.colocateGradientsWithOps === true;
  const before = graph.toGraphDef();
  const beforeDef = tensorflow.GraphDef.decode(before);
  const existing = new Set(beforeDef.node.map((n) => n.name ?? ''));
  const existingFunctions = new Set((beforeDef.library?.function ?? []).map((f) => f.signature?.name ?? ''));
  const scratch = new Graph();
  try {
    scratch.importGraphDef(before);
    const on = (o: Output) => scratch.output(o.name);
    const owners: GradientOwners | null = colocate ? { byName: new Map(), byPrefix: [] } : null;
    const grads = build(scratch, ys.map(on), xs.map(on), dys ? dys.map(on) : null, options, { exactPrefix: prefix, owners });
    const after = tensorflow.GraphDef.decode(scratch.toGraphDef());
    const added = after.node.filter((n) => !existing.has(n.name ?? ''));
    // Edges into the existing graph become input mappings and control remappings of the import.
    const inputMap = new Map<string, Output>();
    const controlRemap: Record<string, Operation> = {};
    for (const node of added) {
      for (const input of node.input ?? []) {
        if (input.startsWith('^')) {
          const name = input.slice(1);
          if (existing.has(name)) controlRemap[name] = graph.operation(name)!;
        } else {
          const [name, index] = splitInput(input);
          if (existing.has(name)) inputMap.set(`${name}:${index}`, graph.operation(name)!.output(index));
        }
      }
    }
    const wanted = grads.filter((g): g is Output => g !== null && !existing.has(g.op.name));
    // Functions the gradients added (bodies of control-flow gradients) travel with the new nodes.
    const functions = (after.library?.function ?? []).filter((f) => !existingFunctions.has(f.signature?.name ?? ''));
    const library = functions.length > 0 ? { function: functions } : undefined;
    const bytes = tensorflow.GraphDef.encode({ node: added, versions: after.versions, library }).finish();
    const importAll = () => graph.importGraphDef(bytes, { inputMap, controlRemap, returnOutputs: wanted.map((g) => g.name) });
    let imported: Output[];
    if (!colocate) {
      imported = importAll().outputs; // the active scopes place every imported op
    } else {
      // The devices are decided here, under the caller's scopes; the import then keeps them as they are.
      const devices = new Map<string, string>();
      for (const node of added) {
        const owner = ownerOf(owners!, node.name ?? '');
        const attrs: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(node.attr ?? {})) Object.defineProperty(attrs, k, { enumerable: true, get: () => attrToJs(v) });
        devices.set(
          node.name ?? '',
          owner !== undefined
            ? (graph.operation(owner)?.device ?? '')
            : deviceFor(graph, { type: node.op ?? '', name: node.name ?? '', device: node.device, attrs }),
        );
      }
      imported = graph.withDevice(null, () => graph.withDevice((op) => devices.get(op.name) ?? '', importAll)).outputs;
    }
    const byName = new Map(wanted.map((g, i) => [g.name, imported[i]]));
    return grads.map((g) => (g === null ? null : existing.has(g.op.name) ? graph.output(g.name) : byName.get(g.name)!));
  } finally {
    scratch.dispose();
  }
}
