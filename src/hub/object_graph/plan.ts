/**
 * The revival plan of a TF2 SavedModel: everything about its object graph that needs no Graph and no Session —
 * nodes and children, concrete functions and their captures, variables with their checkpoint keys (shapes
 * checked against the checkpoint index at load), saveables, resources, constants, assets, signatures, function
 * paths and regularization losses. Two backends build on it: `session.ts` (hub.load: call ops run by a
 * Session) and `graph.ts` (hub.KerasLayer: functions inlined into the caller's graph).
 */
import * as path from 'node:path';
import { DType, dtypeFromTf } from '../../dtypes';
import { TfhubError } from '../../errors';
import { decodeTrackableObjectGraph, tensorflow, toSafeNumber } from '../../proto';
import { CheckpointIndex, readCheckpointString } from '../checkpoint';
import { readValidatedCheckpoint } from '../checkpoint_validate';
import { checkModelGraph } from '../graph_check';
import { assetPath, checkOpsRegistered, exists, formatShape, isShapeCompatible } from '../saved_model';
import { decodeSpec, flattenSpec, unsupportedIn } from '../tf2/structure';
import { ArgBinding, Concrete, RestoredFunctionPlan, bindingFromFunctionSpec } from './bind';

type SavedObject = tensorflow.ISavedObject;

/** The kind of a SavedObject (`'variable'`, `'function'`, `'userObject'`, …; `''` when unset). */
export function kindOf(node: SavedObject | undefined): string {
  return (node as { kind?: string } | undefined)?.kind ?? '';
}

/** A name TF accepts for an op, made from an arbitrary string. */
export function safeName(s: string): string {
  return (
    s
      .replace(/[^A-Za-z0-9_.\-/]/g, '_')
      .replace(/^[^A-Za-z0-9.]+/, '')
      .replace(/(?<!\/)\/+$/, '') || 'x'
  ); // lookbehind: linear on long runs of '/'
}

/** A variable of the object graph. */
export interface PlannedVariable {
  readonly id: number;
  /** The variable's name in the SavedModel (may be empty). */
  readonly name: string;
  readonly dtype: DType;
  /** Declared shape (null: unknown rank, -1: unknown dimension). */
  readonly shape: number[] | null;
  readonly trainable: boolean;
  /** Checkpoint key (`…/.ATTRIBUTES/VARIABLE_VALUE`); null when the checkpoint does not hold it. */
  readonly key: string | null;
}

/** An object saved through save/restore functions (Python's RestoredSaveableObject), e.g. a mutable table. */
export interface PlannedSaveable {
  readonly id: number;
  readonly name: string;
  readonly key: string;
  readonly save: Concrete;
  readonly restore: Concrete;
}

const CHECKPOINT_OBJECT_GRAPH = '_CHECKPOINTABLE_OBJECT_GRAPH';

/** The session-free description of a TF2 SavedModel's objects (see the file comment). */
export class RevivalPlan {
  readonly nodes: SavedObject[];
  readonly library: tensorflow.IFunctionDefLibrary;
  /** Checkpoint prefix `<dir>/variables/variables`. */
  readonly prefix: string;
  readonly variables = new Map<number, PlannedVariable>();
  readonly saveables: PlannedSaveable[] = [];
  private readonly concrete = new Map<string, Concrete>();
  private readonly fdefs = new Map<string, tensorflow.IFunctionDef>();

  private constructor(
    readonly dir: string,
    readonly metaGraph: tensorflow.IMetaGraphDef,
    readonly index: CheckpointIndex | null,
  ) {
    this.nodes = metaGraph.objectGraphDef?.nodes ?? [];
    this.prefix = path.join(dir, 'variables', 'variables');
    for (const [name, cf] of Object.entries(metaGraph.objectGraphDef?.concreteFunctions ?? {})) {
      this.concrete.set(name, {
        name,
        boundInputs: [...(cf.boundInputs ?? [])],
        input: decodeSpec(cf.canonicalizedInputSignature),
        output: decodeSpec(cf.outputSignature),
      });
    }
    this.library = metaGraph.graphDef?.library ?? {};
    for (const f of this.library.function ?? []) this.fdefs.set(f.signature?.name ?? '', f);
  }

  /**
   * Plans the revival of `metaGraph` (a TF2 meta graph of the SavedModel in `dir`): checks its ops, reads the
   * checkpoint's index and object graph, and checks every saved variable's shape against the checkpoint
   * (ERR_CHECKPOINT_SHAPE) before anything is built.
   */
  static async create(dir: string, metaGraph: tensorflow.IMetaGraphDef): Promise<RevivalPlan> {
    if ((metaGraph.objectGraphDef?.nodes?.length ?? 0) === 0)
      throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${dir}: the meta graph has an empty object graph`);
    checkModelGraph(metaGraph, dir);
    checkOpsRegistered({ library: metaGraph.graphDef?.library }, { libraryOnly: true });
    const prefix = path.join(dir, 'variables', 'variables');
    const index = (await exists(`${prefix}.index`)) ? await readValidatedCheckpoint(prefix) : null; // checked against the data files before TF reads them
    const plan = new RevivalPlan(dir, metaGraph, index);
    const ckpt = index
      ? decodeTrackableObjectGraph(await readCheckpointString(index, CHECKPOINT_OBJECT_GRAPH), `${prefix} (${CHECKPOINT_OBJECT_GRAPH})`)
      : null;
    plan.planVariables(ckpt);
    if (ckpt) plan.planSaveables(ckpt);
    return plan;
  }

  private planVariables(ckpt: tensorflow.TrackableObjectGraph | null): void {
    const map = ckpt ? this.matchCheckpoint(ckpt) : new Map<number, number>();
    this.nodes.forEach((n, id) => {
      if (kindOf(n) !== 'variable') return;
      const v = n.variable!;
      const cid = map.get(id);
      const attr = cid === undefined ? undefined : (ckpt!.nodes[cid]?.attributes ?? []).find((a) => a.name === 'VARIABLE_VALUE');
      const shape = v.shape && !v.shape.unknownRank ? (v.shape.dim ?? []).map((d) => toSafeNumber(d.size ?? 0, 'variable shape')) : null;
      this.variables.set(id, {
        id,
        name: v.name ?? '',
        dtype: dtypeFromTf(v.dtype ?? 0),
        shape,
        trainable: !!v.trainable,
        key: attr?.checkpointKey || null,
      });
    });
    if (!this.index) {
      if (this.variables.size > 0)
        throw new TfhubError('ERR_CHECKPOINT_NOT_FOUND', `${this.dir} has variables but no checkpoint at ${this.prefix}.index`);
      return;
    }
    // AssignVariableOp takes any shape: a checkpoint tensor of another shape would be restored as it is and
    // broadcast later into wrong numbers. Python refuses such a restore; so do we, from the index, before any run.
    for (const v of this.variables.values()) {
      if (v.key === null) continue;
      const stored = this.index.entries.get(v.key)?.shape ?? null;
      if (!isShapeCompatible(stored, v.shape)) {
        throw new TfhubError(
          'ERR_CHECKPOINT_SHAPE',
          `Received incompatible tensor with shape ${formatShape(stored)} when attempting to restore variable ${v.name || v.key} with shape ${formatShape(v.shape)} (checkpoint key ${v.key} in ${this.prefix})`,
        );
      }
    }
  }

  private planSaveables(ckpt: tensorflow.TrackableObjectGraph): void {
    const map = this.matchCheckpoint(ckpt);
    this.nodes.forEach((node, id) => {
      const cid = map.get(id);
      if (cid === undefined) return;
      for (const [name, fns] of Object.entries(node.saveableObjects ?? {})) {
        const attr = (ckpt.nodes[cid]?.attributes ?? []).find((a) => a.name === name);
        if (!attr?.checkpointKey) continue;
        const save = this.concrete.get(this.concreteNamesOf(fns.saveFunction ?? -1)[0] ?? '');
        const restore = this.concrete.get(this.concreteNamesOf(fns.restoreFunction ?? -1)[0] ?? '');
        if (!save || !restore)
          throw new TfhubError(
            'ERR_UNSUPPORTED_SAVED_MODEL',
            `${this.dir}: saveable '${name}' of object ${id} has no save/restore function`,
          );
        this.saveables.push({ id, name, key: attr.checkpointKey, save, restore });
      }
    });
  }

  /** Saved-object id → checkpoint node id, walking both object graphs from the root along child names. */
  private matchCheckpoint(ckpt: tensorflow.TrackableObjectGraph): Map<number, number> {
    const map = new Map<number, number>([[0, 0]]);
    const queue = [0];
    while (queue.length > 0) {
      const id = queue.shift()!;
      const ckChildren = new Map((ckpt.nodes[map.get(id)!]?.children ?? []).map((c) => [c.localName ?? '', c.nodeId ?? 0]));
      for (const c of this.nodes[id]?.children ?? []) {
        const target = ckChildren.get(c.localName ?? '');
        if (target === undefined || map.has(c.nodeId ?? 0)) continue;
        map.set(c.nodeId ?? 0, target);
        queue.push(c.nodeId ?? 0);
      }
    }
    return map;
  }

  // -------------------------------------------------------------------------------------------- the object tree

  /** The node id of child `name` of `nodeId`. */
  child(nodeId: number, name: string): number | undefined {
    const id = (this.nodes[nodeId]?.children ?? []).find((c) => c.localName === name)?.nodeId;
    return id === null || id === undefined ? undefined : id;
  }

  /** Elements of a (nested) trackable list, in index order. */
  listChildren(nodeId: number): number[] {
    const node = this.nodes[nodeId];
    if (kindOf(node) !== 'userObject') return [nodeId];
    const children = [...(node.children ?? [])].filter((c) => /^\d+$/.test(c.localName ?? ''));
    children.sort((a, b) => Number(a.localName) - Number(b.localName));
    return children.flatMap((c) => this.listChildren(c.nodeId ?? 0));
  }

  /** The layer's weights: the root's `variables` list, else every variable but `save_counter`. */
  variableIds(): number[] {
    const isVar = (id: number) => this.variables.has(id);
    const varsId = this.child(0, 'variables');
    if (varsId !== undefined) return this.listChildren(varsId).filter(isVar);
    const saveCounter = this.child(0, 'save_counter');
    return [...this.variables.keys()].filter((id) => id !== saveCounter);
  }

  /** The root's `trainable_variables` list (null when it has none). */
  trainableVariableIds(): number[] | null {
    const trainId = this.child(0, 'trainable_variables');
    return trainId === undefined ? null : this.listChildren(trainId).filter((id) => this.variables.has(id));
  }

  /** The functions of the root's `regularization_losses`: attribute path and node id, in index order. */
  regularizationLosses(): Array<{ path: string; id: number }> {
    const lossesId = this.child(0, 'regularization_losses');
    if (lossesId === undefined || kindOf(this.nodes[lossesId]) !== 'userObject') return [];
    return [...(this.nodes[lossesId].children ?? [])]
      .filter((c) => /^\d+$/.test(c.localName ?? ''))
      .sort((a, b) => Number(a.localName) - Number(b.localName))
      .filter((r) => ['function', 'bareConcreteFunction'].includes(kindOf(this.nodes[r.nodeId ?? 0])))
      .map((r) => ({ path: `regularization_losses.${r.localName}`, id: r.nodeId ?? 0 }));
  }

  // -------------------------------------------------------------------------------------------- functions

  /** Names of the concrete functions of a function node (its traces). */
  concreteNamesOf(nodeId: number): string[] {
    const n = this.nodes[nodeId];
    if (kindOf(n) === 'function') return [...(n.function?.concreteFunctions ?? [])];
    if (kindOf(n) === 'bareConcreteFunction') return [n.bareConcreteFunction?.concreteFunctionName ?? ''];
    return [];
  }

  /** The first concrete function of a function node (ERR_INVALID_SAVED_MODEL naming `what` when none). */
  firstConcrete(nodeId: number, what: string): Concrete {
    const name = this.concreteNamesOf(nodeId)[0];
    const c = name ? this.concrete.get(name) : undefined;
    if (!c) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: ${what} has no concrete function`);
    return c;
  }

  /** The concrete function of a resource's `_create_resource` / `_initialize` child; null when absent. */
  resourceFunction(resourceId: number, name: string): Concrete | null {
    const id = this.child(resourceId, name);
    if (id === undefined) return null;
    const names = this.concreteNamesOf(id);
    return (names.length > 0 ? this.concrete.get(names[0]) : undefined) ?? null;
  }

  /** Concrete function names of every `_create_resource` (their stateful ops need stable shared names). */
  resourceCreators(): Set<string> {
    const out = new Set<string>();
    this.nodes.forEach((n, id) => {
      if (kindOf(n) !== 'resource') return;
      const c = this.child(id, '_create_resource');
      if (c !== undefined) for (const name of this.concreteNamesOf(c)) out.add(name);
    });
    return out;
  }

  /** A restored function (a `function` or `bareConcreteFunction` node) at attribute path `fnPath`. */
  restoredFunction(nodeId: number, fnPath: string): RestoredFunctionPlan {
    const node = this.nodes[nodeId];
    const binding: ArgBinding =
      kindOf(node) === 'function'
        ? bindingFromFunctionSpec(node.function?.functionSpec)
        : {
            kind: 'keywords',
            keywords: [...(node.bareConcreteFunction?.argumentKeywords ?? [])],
            positional: Number(node.bareConcreteFunction?.allowedPositionalArguments ?? 0),
          };
    const concretes = this.concreteNamesOf(nodeId)
      .map((n) => this.concrete.get(n))
      .filter((c): c is Concrete => !!c);
    return { path: fnPath, binding, concretes };
  }

  /** The root's restored `__call__`, or null. */
  callFunction(): RestoredFunctionPlan | null {
    const id = this.child(0, '__call__');
    if (id === undefined || !['function', 'bareConcreteFunction'].includes(kindOf(this.nodes[id]))) return null;
    return this.restoredFunction(id, '__call__');
  }

  /** Attribute paths of every function reachable from the root (signature maps excluded), then the losses. */
  functionPaths(): Map<string, number> {
    const paths = new Map<string, number>();
    const visited = new Set<number>([0]);
    const queue: Array<[number, string]> = [[0, '']];
    const LIMIT = 20000;
    while (queue.length > 0 && paths.size < LIMIT) {
      const [id, prefix] = queue.shift()!;
      for (const c of this.nodes[id]?.children ?? []) {
        const cid = c.nodeId ?? 0;
        const child = this.nodes[cid];
        if (!child) continue;
        const p = prefix ? `${prefix}.${c.localName}` : (c.localName ?? '');
        const kind = kindOf(child);
        if (kind === 'function' || kind === 'bareConcreteFunction') {
          if (!paths.has(p)) paths.set(p, cid);
        } else if (kind === 'userObject' && child.userObject?.identifier !== 'signature_map' && !visited.has(cid)) {
          visited.add(cid);
          queue.push([cid, p]);
        }
      }
    }
    for (const loss of this.regularizationLosses()) if (!paths.has(loss.path)) paths.set(loss.path, loss.id);
    return paths;
  }

  /** Signature name → its concrete function (the root's `signatures` map). */
  signatures(): Map<string, Concrete> {
    const out = new Map<string, Concrete>();
    const mapId = this.child(0, 'signatures');
    if (mapId === undefined || this.nodes[mapId]?.userObject?.identifier !== 'signature_map') return out;
    for (const ref of this.nodes[mapId].children ?? []) {
      const name = this.concreteNamesOf(ref.nodeId ?? 0)[0];
      const c = name ? this.concrete.get(name) : undefined;
      if (c) out.set(ref.localName ?? '', c);
    }
    return out;
  }

  /**
   * The FunctionDef of `c`, checked for being called with `nInputs` tensors: no unsupported values in its
   * structure, present in the library, inputs + captures = its arguments.
   */
  callable(c: Concrete, nInputs: number): tensorflow.IFunctionDef {
    const unsupported = unsupportedIn(c.input) ?? unsupportedIn(c.output);
    if (unsupported)
      throw new TfhubError('ERR_UNSUPPORTED_SIGNATURE', `function ${c.name} uses ${unsupported} values, which are not supported`);
    const fdef = this.fdefs.get(c.name);
    if (!fdef) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: function ${c.name} is not in the graph's library`);
    const nArgs = fdef.signature?.inputArg?.length ?? 0;
    if (nInputs + c.boundInputs.length !== nArgs) {
      throw new TfhubError(
        'ERR_INVALID_SAVED_MODEL',
        `${this.dir}: function ${c.name} takes ${nArgs} inputs, but its signature has ${nInputs} tensors and ${c.boundInputs.length} captures`,
      );
    }
    return fdef;
  }

  /** Throws unless `c` returned as many tensors as its output structure holds. */
  checkOutputs(c: Concrete, count: number): void {
    const expected = flattenSpec(c.output).length;
    if (count !== expected)
      throw new TfhubError(
        'ERR_INVALID_SAVED_MODEL',
        `${this.dir}: function ${c.name} returns ${count} tensors but its output signature has ${expected}`,
      );
  }

  // -------------------------------------------------------------------------------------------- captured objects

  /** The NodeDef of a captured constant (a Const of the meta graph's graph_def). */
  constantNode(id: number): tensorflow.INodeDef {
    const op = this.nodes[id]?.constant?.operation ?? '';
    const def = (this.metaGraph.graphDef?.node ?? []).find((n) => n.name === op);
    if (!def || def.op !== 'Const')
      throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: captured constant '${op}' is not a Const of the graph`);
    return def;
  }

  /** The file of a captured asset: `<dir>/assets/<filename>`, kept inside `assets/`. */
  asset(id: number): { path: string; filename: string } {
    const index = this.nodes[id]?.asset?.assetFileDefIndex ?? 0;
    const def = this.metaGraph.assetFileDef?.[index];
    if (!def) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: asset ${index} is not in asset_file_def`);
    return { path: assetPath(this.dir, def.filename ?? ''), filename: def.filename ?? '' };
  }

  /** The error for a function capturing an object of a kind no backend can provide. */
  unsupportedCapture(id: number): TfhubError {
    if (!this.nodes[id])
      return new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.dir}: a function captures object ${id}, which does not exist`);
    return new TfhubError(
      'ERR_UNSUPPORTED_SAVED_MODEL',
      `${this.dir}: functions capturing a '${kindOf(this.nodes[id])}' object (node ${id}) are not supported`,
    );
  }
}
