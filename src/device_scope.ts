/**
 * Device placement while building graphs: Python's `DeviceSpec` (parse, merge, to string) and the per-graph
 * stack of `tf.device` scopes that `Graph.withDevice` pushes and every new operation is placed by.
 */
import { typeError } from './errors';
import type { Graph } from './graph';
import { tensorflow } from './proto';

/** A (possibly partial) device name: `/job:<j>/replica:<r>/task:<t>/device:<TYPE>:<i>` (Python's `DeviceSpec`). */
export class DeviceSpec {
  constructor(
    /** Job name, or null when unset. */
    readonly job: string | null = null,
    /** Replica index, or null. */
    readonly replica: number | null = null,
    /** Task index, or null. */
    readonly task: number | null = null,
    /** Device type (`CPU`, `GPU`, …), or null. */
    readonly deviceType: string | null = null,
    /** Device index, or null (`*`). */
    readonly deviceIndex: number | null = null,
  ) {}

  /**
   * Parses a device string as Python's `DeviceSpec.from_string` does: `/job:ps/task:0`, `/device:GPU:1`,
   * `/cpu:0`, `GPU:*`, `''`. Unknown parts are ERR_INVALID_DEVICE.
   */
  static fromString(spec: string): DeviceSpec {
    if (typeof spec !== 'string') throw typeError('ERR_INVALID_DEVICE', `a device must be a string, got ${typeof spec}`);
    let job: string | null = null;
    let replica: number | null = null;
    let task: number | null = null;
    let type: string | null = null;
    let index: number | null = null;
    const int = (v: string, what: string): number => {
      if (!/^\d+$/.test(v)) throw typeError('ERR_INVALID_DEVICE', `${what} '${v}' of device '${spec}' is not an integer`);
      return Number(v);
    };
    const setType = (t: string, i: string | undefined) => {
      if (type !== null) throw typeError('ERR_INVALID_DEVICE', `multiple device types in device '${spec}'`);
      type = t;
      if (i !== undefined && i !== '*') index = int(i, 'device index');
    };
    for (const part of spec.split('/')) {
      if (part === '') continue;
      const y = part.split(':');
      if (y.length === 2 && y[0] === 'job') job = y[1];
      else if (y.length === 2 && y[0] === 'replica') replica = int(y[1], 'replica');
      else if (y.length === 2 && y[0] === 'task') task = int(y[1], 'task');
      else if ((y.length === 1 || y.length === 2) && SHORT_TYPES.has(y[0].toUpperCase())) setType(y[0].toUpperCase(), y[1]);
      else if (y.length === 3 && y[0] === 'device') setType(y[1] === 'cpu' || y[1] === 'gpu' ? y[1].toUpperCase() : y[1], y[2]);
      else throw typeError('ERR_INVALID_DEVICE', `unknown part '${part}' in device '${spec}'`);
    }
    return new DeviceSpec(job, replica, task, type, index);
  }

  /** `dev`'s fields where set, this spec's elsewhere (Python's `make_merged_spec`). */
  mergedWith(dev: DeviceSpec): DeviceSpec {
    return new DeviceSpec(
      dev.job ?? this.job,
      dev.replica ?? this.replica,
      dev.task ?? this.task,
      dev.deviceType ?? this.deviceType,
      dev.deviceIndex ?? this.deviceIndex,
    );
  }

  /** A copy with some fields replaced (Python's `DeviceSpec.replace`). */
  replace(fields: Partial<Pick<DeviceSpec, 'job' | 'replica' | 'task' | 'deviceType' | 'deviceIndex'>>): DeviceSpec {
    const f = {
      job: this.job,
      replica: this.replica,
      task: this.task,
      deviceType: this.deviceType,
      deviceIndex: this.deviceIndex,
      ...fields,
    };
    return new DeviceSpec(f.job, f.replica, f.task, f.deviceType, f.deviceIndex);
  }

  /** The canonical string, e.g. `/job:ps/task:0/device:CPU:0` (`''` when nothing is set). */
  toString(): string {
    let s = '';
    if (this.job !== null) s += `/job:${this.job}`;
    if (this.replica !== null) s += `/replica:${this.replica}`;
    if (this.task !== null) s += `/task:${this.task}`;
    if (this.deviceType !== null) s += `/device:${this.deviceType}:${this.deviceIndex ?? '*'}`;
    return s;
  }
}

const SHORT_TYPES = new Set(['CPU', 'GPU', 'TPU', 'CUSTOM', 'EPU']);

/** What a device function sees of the operation being placed (Python passes the Operation / NodeDef). */
export interface DeviceOp {
  /** Op type, e.g. `VarHandleOp`. */
  readonly type: string;
  /** Full name of the operation. */
  readonly name: string;
  /** Its device so far: as requested, merged with the scopes inside this one. */
  readonly device: string;
  /** Its attributes as JS values (`dtype` → dtype name, `shape` → dims or null, …). */
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** A device function: the device for an operation (`''`/null: none). */
export type DeviceFunction = (op: DeviceOp) => string | DeviceSpec | null | undefined;

/** What `graph.withDevice` accepts: a device string, a DeviceSpec, a device function, or null to clear. */
export type DeviceScope = string | DeviceSpec | DeviceFunction | null;

type Entry = { spec: DeviceSpec; empty: boolean } | { fn: DeviceFunction } | null;

const stacks = new WeakMap<Graph, Entry[]>();

function entryOf(device: DeviceScope): Entry {
  if (device === null) return null;
  if (typeof device === 'function') return { fn: device };
  const spec = device instanceof DeviceSpec ? device : DeviceSpec.fromString(device);
  return { spec, empty: spec.toString() === '' };
}

/** Runs `fn` with `device` pushed on `graph`'s device stack (Python's `with tf.device(device):`). */
export function withDevice<T>(graph: Graph, device: DeviceScope, fn: () => T): T {
  if (device !== null && typeof device !== 'string' && typeof device !== 'function' && !(device instanceof DeviceSpec)) {
    throw typeError('ERR_INVALID_DEVICE', 'withDevice(device, fn): device must be a string, a DeviceSpec, a function or null');
  }
  if (typeof fn !== 'function') throw typeError('ERR_INVALID_ARG_TYPE', 'withDevice(device, fn): fn must be a function');
  const entry = entryOf(device);
  let stack = stacks.get(graph);
  if (!stack) stacks.set(graph, (stack = []));
  stack.push(entry);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

/** Whether any device scope is active on `graph`. */
export function hasDeviceScope(graph: Graph): boolean {
  return (stacks.get(graph)?.length ?? 0) > 0;
}

/**
 * The device of a new operation under `graph`'s scopes, innermost first (Python's `_apply_device_functions`):
 * a string scope fills the fields the op's device leaves unset; a function decides from the op; null stops.
 */
export function deviceFor(graph: Graph, op: Omit<DeviceOp, 'device'> & { device?: string | null }): string {
  let device = op.device ?? '';
  const stack = stacks.get(graph);
  if (!stack) return device;
  for (let i = stack.length - 1; i >= 0; i--) {
    const e = stack[i];
    if (e === null) break;
    if ('fn' in e) {
      const out = e.fn({ type: op.type, name: op.name, device, attrs: op.attrs });
      device = out === null || out === undefined ? '' : String(out);
    } else if (!e.empty) {
      device = e.spec.mergedWith(DeviceSpec.fromString(device)).toString();
    }
  }
  return device;
}

/**
 * A serialized GraphDef with every node placed by `graph`'s scopes, as Python's `import_graph_def` places the
 * ops it creates (`_ProcessNewOps`): a node without colocation constraints gets the scopes applied to its own
 * device; a node with `_class: loc:@x` constraints ignores the scopes and takes the device of the first such
 * `x` that has one (imported or already in the graph), so an initializer stays with its variable. The bytes are
 * unchanged when no scope is active. `decodeAttr` turns an AttrValue into the JS value device functions see.
 */
export function placeGraphDef(
  graph: Graph,
  bytes: Uint8Array,
  prefix: string | undefined,
  decodeAttr: (a: tensorflow.IAttrValue) => unknown,
): Uint8Array {
  if (!hasDeviceScope(graph)) return bytes;
  const def = tensorflow.GraphDef.decode(bytes);
  const scope = prefix ? prefix.replace(/\/$/, '') + '/' : '';
  const byName = new Map(def.node.map((n) => [n.name ?? '', n]));
  const colocated: Array<[tensorflow.INodeDef, string[]]> = [];
  for (const node of def.node) {
    const groups = colocationNames(node);
    if (groups.length > 0) {
      colocated.push([node, groups]);
      node.device = '';
      continue;
    }
    const attrs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node.attr ?? {})) {
      Object.defineProperty(attrs, k, { enumerable: true, get: () => decodeAttr(v) });
    }
    node.device = deviceFor(graph, { type: node.op ?? '', name: scope + (node.name ?? ''), device: node.device, attrs });
  }
  for (const [node, groups] of colocated) {
    for (const name of groups) {
      const imported = byName.get(name);
      // As Python: a colocated target's device as set so far (targets handled earlier in this loop have theirs).
      const device = imported ? imported.device : graph.operation(name)?.device;
      if (device) {
        node.device = device;
        break;
      }
    }
  }
  return tensorflow.GraphDef.encode(def).finish();
}

const utf8 = new TextDecoder();

/** The op names of a node's `_class` colocation constraints (`loc:@name`), itself excepted (as Python). */
function colocationNames(node: tensorflow.INodeDef): string[] {
  const list = node.attr?._class?.list?.s ?? [];
  const out: string[] = [];
  for (const b of list) {
    const s = utf8.decode(b);
    if (s.startsWith('loc:@') && s.slice(5) !== node.name) out.push(s.slice(5));
  }
  return out;
}
