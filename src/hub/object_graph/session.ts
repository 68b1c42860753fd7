/**
 * The session backend of the revival plan (hub.load): the objects of a TF2 SavedModel revived on one graph and
 * one session, the way Python's `tf.saved_model.load` does.
 *
 * - The FunctionDefs of `graph_def.library` are copied into the graph; the graph_def's own nodes (its saver and
 *   signature call ops) are not used.
 * - Every variable of the object graph gets a VarHandleOp; values are restored with one RestoreV2 using the
 *   object-graph checkpoint keys (`…/.ATTRIBUTES/VARIABLE_VALUE`) of the plan.
 * - Resources (lookup tables, …) are created by calling their `_create_resource` function inside the graph (the
 *   handle is wired to every consumer; a fetched resource tensor could not be fed back) and initialised once by
 *   `_initialize`, with asset captures bound to the real paths under `<dir>/assets`.
 * - A concrete function is called through a StatefulPartitionedCall whose inputs are placeholders for the
 *   user's tensors followed by the captured handles (`bound_inputs`); one call op per concrete function, built on
 *   first use, so a call costs one session run.
 */
import { dtypeFromTf } from '../../dtypes';
import { TfhubError, typeError } from '../../errors';
import { Graph, Operation, Output } from '../../graph';
import { Session, SessionOptions } from '../../session';
import { encodeConfigProto, encodeGraphDef, tensorflow } from '../../proto';
import { Tensor } from '../../tensor';
import { restoreV2, stringConstant } from '../saved_model';
import { ConcreteFunctionInfo, ModelParts, TensorSpecInfo } from '../tf2/model';
import { checkSignatureInput, normalizeSignatureInputs } from '../tf2/signature_inputs';
import {
  BoundLeaf,
  LeafSpec,
  Spec,
  StructuredOutput,
  anyShapeTensorBinder,
  bindSpec,
  flattenSpec,
  formatSpec,
  formatValue,
  packOutputs,
  tensorBinder,
} from '../tf2/structure';
import { toTensor } from '../tf2/values';
import { Concrete, dispatch, formatConcreteInputs } from './bind';
import { RevivalPlan, kindOf, safeName } from './plan';

interface BuiltCall {
  readonly placeholders: Output[];
  readonly op: Operation;
  readonly outputs: Output[];
}

function leafInfo(leaf: LeafSpec): TensorSpecInfo {
  return { dtype: leaf.dtype, shape: leaf.shape, kind: 'Tensor' };
}

function specInfo(spec: Spec): TensorSpecInfo {
  if (spec.kind === 'tensor') return leafInfo(spec.leaf);
  if (spec.kind === 'sparse') return { dtype: spec.dtype, shape: spec.shape, kind: 'SparseTensor' };
  if (spec.kind === 'ragged') return { dtype: spec.dtype, shape: spec.shape, kind: 'RaggedTensor' };
  throw new TfhubError('ERR_UNSUPPORTED_SIGNATURE', `signature value ${formatSpec(spec)} is not a tensor`);
}

/** Loads a TF2 SavedModel meta graph into a fresh graph and session. */
export async function loadObjectGraphModel(
  dir: string,
  metaGraph: tensorflow.IMetaGraphDef,
  sessionOptions: SessionOptions | undefined,
  strictSignatures = true,
): Promise<ModelParts> {
  const plan = await RevivalPlan.create(dir, metaGraph);
  const reviver = new SessionReviver(plan, strictSignatures);
  try {
    return await reviver.load(sessionOptions);
  } catch (e) {
    reviver.dispose();
    throw e;
  }
}

class SessionReviver {
  private readonly graph = new Graph();
  private session: Session | null = null;
  private readonly captures = new Map<number, Output>();
  private readonly built = new Map<string, BuiltCall>();
  private readonly variableHandles = new Map<number, Output>();
  private readonly variableReads = new Map<number, Output>();
  /** Python's eager runtime places function bodies with soft placement; do the same for our call ops. */
  private readonly callConfig = encodeConfigProto({ allowSoftPlacement: true });

  constructor(
    private readonly plan: RevivalPlan,
    private readonly strictSignatures = true,
  ) {}

  dispose(): void {
    this.session?.close();
    this.graph.dispose();
  }

  async load(sessionOptions: SessionOptions | undefined): Promise<ModelParts> {
    this.importLibrary();
    this.createVariables();
    this.session = new Session(this.graph, sessionOptions);
    await this.restoreVariables();
    await this.restoreSaveables();
    await this.initializeResources();
    return this.parts();
  }

  // ---------------------------------------------------------------------------------------------- graph setup

  private importLibrary(): void {
    const library = tensorflow.FunctionDefLibrary.create(this.plan.library);
    // Stateful ops inside resource creators must find the same resource in every run: each distinct run of a
    // Session instantiates functions afresh, so give anonymous ones (empty shared_name) a stable name.
    const creators = this.plan.resourceCreators();
    const enc = new TextEncoder();
    for (const f of library.function ?? []) {
      const name = f.signature?.name ?? '';
      if (!creators.has(name)) continue;
      for (const node of f.nodeDef ?? []) {
        const shared = node.attr?.shared_name;
        if (shared && (!shared.s || shared.s.length === 0) && !node.attr?.use_node_name_sharing?.b)
          shared.s = enc.encode(`${name}/${node.name}`);
      }
    }
    this.graph.importGraphDef(encodeGraphDef({ library, versions: this.plan.metaGraph.graphDef?.versions }));
  }

  private createVariables(): void {
    this.graph.withNameScope('variables', () => {
      for (const v of this.plan.variables.values()) {
        const name = this.graph.uniqueName(safeName(v.name || `variable_${v.id}`));
        const op = this.graph.addOperation('VarHandleOp', { name, attrs: { dtype: v.dtype, shape: v.shape, shared_name: name } });
        this.variableHandles.set(v.id, op.output(0));
        this.captures.set(v.id, op.output(0));
      }
    });
  }

  /** Restores every variable the checkpoint holds (shapes were checked by the plan). */
  private async restoreVariables(): Promise<void> {
    const saved = [...this.plan.variables.values()].filter((v) => v.key !== null);
    if (saved.length === 0) return;
    const g = this.graph;
    const init = g.withNameScope('restore', () => {
      const restore = restoreV2(g, { prefix: this.plan.prefix, keys: saved.map((v) => v.key!), dtypes: saved.map((v) => v.dtype) });
      const assigns = saved.map((v, i) =>
        g.addOperation('AssignVariableOp', {
          name: g.uniqueName('AssignVariableOp'),
          inputs: [this.variableHandles.get(v.id)!, restore.output(i)],
        }),
      );
      return g.addOperation('NoOp', { name: g.uniqueName('restore_all'), controlInputs: assigns });
    });
    await this.session!.run([], undefined, { targets: [init] });
  }

  /**
   * Restores objects saved through save/restore functions (e.g. MutableHashTable contents): the save function
   * names the checkpoint tensors, RestoreV2 reads them, the restore function takes them.
   */
  private async restoreSaveables(): Promise<void> {
    for (const s of this.plan.saveables) {
      const specs = (await this.invokeConcrete(s.save, [s.key])) as Array<{ name: Tensor; slice_spec: Tensor; tensor: Tensor }>;
      if (!Array.isArray(specs))
        throw new TfhubError(
          'ERR_UNSUPPORTED_SAVED_MODEL',
          `${this.plan.dir}: save function of '${s.name}' returned ${formatValue(specs)}`,
        );
      const names = specs.map((x) => x.name.strings()[0]);
      const slices = specs.map((x) => x.slice_spec.strings()[0]);
      const dtypes = specs.map((x) => x.tensor.dtype);
      for (const x of specs) {
        x.name.dispose();
        x.slice_spec.dispose();
        x.tensor.dispose();
      }
      const g = this.graph;
      const r = g.withNameScope('restore_saveables', () => restoreV2(g, { prefix: this.plan.prefix, keys: names, slices, dtypes }));
      const restored = await this.session!.run(r.outputs);
      try {
        await this.invokeConcrete(s.restore, restored);
      } finally {
        for (const t of restored) t.dispose();
      }
    }
  }

  /** Calls a concrete function with positional arguments (internal use). */
  private async invokeConcrete(c: Concrete, args: unknown[]): Promise<StructuredOutput> {
    const bound: BoundLeaf[] = [];
    const why = bindSpec(c.input, [args, {}], true, 'args', bound);
    if (why) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.plan.dir}: cannot call ${c.name}: ${why}`);
    return this.runConcrete(c, bound);
  }

  /** The Output a function takes for captured object `id` (variables, constants, assets, resources). */
  private capture(id: number): Output {
    const cached = this.captures.get(id);
    if (cached) return cached;
    const node = this.plan.nodes[id];
    const g = this.graph;
    let out: Output;
    switch (kindOf(node)) {
      case 'resource': {
        const creator = this.plan.resourceFunction(id, '_create_resource');
        if (!creator)
          throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.plan.dir}: resource object ${id} has no _create_resource function`);
        const built = this.build(creator, `resource_${id}`);
        if (built.outputs.length !== 1)
          throw new TfhubError(
            'ERR_UNSUPPORTED_SAVED_MODEL',
            `${this.plan.dir}: _create_resource of object ${id} returns ${built.outputs.length} values`,
          );
        out = built.outputs[0];
        break;
      }
      case 'asset': {
        const asset = this.plan.asset(id);
        out = g.withNameScope('assets', () => stringConstant(g, asset.path, safeName(asset.filename || 'asset')));
        break;
      }
      case 'constant': {
        const def = this.plan.constantNode(id);
        out = g.withNameScope('saved_constants', () =>
          g
            .addOperation('Const', {
              name: g.uniqueName(safeName(def.name ?? 'Const')),
              attrs: { dtype: tensorflow.AttrValue.create(def.attr!.dtype!), value: tensorflow.AttrValue.create(def.attr!.value!) },
            })
            .output(0),
        );
        break;
      }
      default:
        throw this.plan.unsupportedCapture(id);
    }
    this.captures.set(id, out);
    return out;
  }

  private async initializeResources(): Promise<void> {
    for (let id = 0; id < this.plan.nodes.length; id++) {
      if (kindOf(this.plan.nodes[id]) !== 'resource') continue;
      this.capture(id);
      const init = this.plan.resourceFunction(id, '_initialize');
      if (!init) continue;
      const built = this.build(init, `resource_${id}_init`);
      await this.session!.run([], undefined, { targets: [built.op] });
    }
  }

  // ---------------------------------------------------------------------------------------------- calls

  /** The call op of a concrete function (built once). */
  private build(c: Concrete, label?: string): BuiltCall {
    const cached = this.built.get(c.name);
    if (cached) return cached;
    const leaves = flattenSpec(c.input);
    const fdef = this.plan.callable(c, leaves.length);
    const inputArgs = fdef.signature?.inputArg ?? [];
    const g = this.graph;
    const scope = label ?? `call_${safeName(c.name.replace(/^__inference_/, ''))}`;
    return g.withNameScope(scope, () => {
      const placeholders = leaves.map((leaf, i) => g.placeholder(dtypeFromTf(inputArgs[i].type ?? 0), leaf.shape, `input_${i}`));
      const captured = c.boundInputs.map((id) => this.capture(id));
      const outTypes = (fdef.signature?.outputArg ?? []).map((a) => dtypeFromTf(a.type ?? 0));
      const op = g.addOperation('StatefulPartitionedCall', {
        name: g.uniqueName('StatefulPartitionedCall'),
        inputs: [[...placeholders, ...captured]],
        attrs: { Tout: outTypes, f: c.name, config_proto: this.callConfig },
      });
      const built: BuiltCall = { placeholders, op, outputs: op.outputs };
      this.built.set(c.name, built);
      return built;
    });
  }

  /** Runs a concrete function on bound values (already checked against its input spec). */
  private async runConcrete(c: Concrete, bound: BoundLeaf[]): Promise<StructuredOutput> {
    const built = this.build(c);
    this.plan.checkOutputs(c, built.outputs.length);
    const feeds = new Map<Output, Tensor>();
    const owned: Tensor[] = [];
    try {
      bound.forEach((b, i) => {
        const { tensor, owned: isOwned } = toTensor(b.value, b.leaf.dtype, `${c.name.replace(/^__inference_/, '')} ${b.path}`);
        if (isOwned) owned.push(tensor);
        feeds.set(built.placeholders[i], tensor);
      });
      const flat =
        built.outputs.length > 0
          ? await this.session!.run(built.outputs, feeds)
          : (await this.session!.run([], feeds, { targets: [built.op] }), []);
      return packOutputs(c.output, flat as Tensor[]);
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  private restoredFunction(nodeId: number, fnPath: string): ModelParts['functions'][number] {
    const fn = this.plan.restoredFunction(nodeId, fnPath);
    const infos: ConcreteFunctionInfo[] = fn.concretes.map((c) => ({
      name: c.name,
      inputSignature: formatConcreteInputs(c),
      outputSignature: formatSpec(c.output),
    }));
    const invoke = async (args: unknown[], kwargs: Record<string, unknown>): Promise<StructuredOutput> => {
      const { concrete, bound } = dispatch(fn, args, kwargs);
      return this.runConcrete(concrete, bound);
    };
    return { path: fnPath, concreteFunctions: infos, invoke };
  }

  // ---------------------------------------------------------------------------------------------- the API

  private variablePart(id: number): ModelParts['variables'][number] {
    const v = this.plan.variables.get(id)!;
    const read = async (): Promise<Tensor> => {
      let out = this.variableReads.get(id);
      if (!out) {
        const handle = this.variableHandles.get(id)!;
        out = this.graph
          .addOperation('ReadVariableOp', {
            name: this.graph.uniqueName(`${handle.op.name}/Read/ReadVariableOp`),
            inputs: [handle],
            attrs: { dtype: v.dtype },
          })
          .output(0);
        this.variableReads.set(id, out);
      }
      return this.session!.run(out);
    };
    return { name: `${v.name}:0`, dtype: v.dtype, shape: v.shape, trainable: v.trainable, read };
  }

  /** Signatures taking keyword tensors and returning a record (others are left out, as Python's loader does). */
  private signatures(): ModelParts['signatures'] {
    const out: ModelParts['signatures'] = [];
    for (const [name, c] of this.plan.signatures()) {
      const kw = c.input.kind === 'tuple' ? c.input.items[1] : undefined;
      const args = c.input.kind === 'tuple' ? c.input.items[0] : undefined;
      if (
        !kw ||
        kw.kind !== 'dict' ||
        !args ||
        args.kind !== 'tuple' ||
        args.items.length > 0 ||
        kw.values.some((v) => v.kind !== 'tensor')
      )
        continue;
      if (c.output.kind !== 'dict') continue;
      const leaves = new Map(kw.keys.map((k, i) => [k, (kw.values[i] as { leaf: LeafSpec }).leaf]));
      const keys = kw.keys;
      const outSpec = c.output;
      const inputs = Object.fromEntries(keys.map((k) => [k, leafInfo(leaves.get(k)!)]));
      const outputs = Object.fromEntries(outSpec.keys.map((k, i) => [k, specInfo(outSpec.values[i])]));
      const run = async (given: unknown) => {
        const dict = normalizeSignatureInputs(name, keys, given);
        for (const k of keys) checkSignatureInput(name, k, leaves.get(k)!, dict[k], this.strictSignatures);
        const bound: BoundLeaf[] = [];
        const binder = this.strictSignatures ? tensorBinder : anyShapeTensorBinder;
        const why = bindSpec(c.input, [[], dict], true, 'inputs', bound, binder);
        if (why) throw typeError('ERR_SIGNATURE_INPUTS', `Signature '${name}': ${why}`);
        return (await this.runConcrete(c, bound)) as Record<string, never>;
      };
      out.push({ name, inputs, outputs, run });
    }
    return out;
  }

  private parts(): ModelParts {
    const functions = [...this.plan.functionPaths().entries()].map(([p, id]) => this.restoredFunction(id, p));
    const varParts = new Map<number, ModelParts['variables'][number]>();
    const part = (id: number) => {
      let p = varParts.get(id);
      if (!p) varParts.set(id, (p = this.variablePart(id)));
      return p;
    };
    const variables = this.plan.variableIds().map(part);
    const trainableIds = this.plan.trainableVariableIds();
    const trainableVariables = trainableIds !== null ? trainableIds.map(part) : variables.filter((v) => v.trainable);
    return {
      format: 'tf2_saved_model',
      graph: this.graph,
      session: this.session!,
      signatures: this.signatures(),
      functions,
      variables,
      trainableVariables,
      regularizationLosses: this.plan.regularizationLosses().map((l) => l.path),
      tensorflowVersion: this.plan.metaGraph.metaInfoDef?.tensorflowVersion ?? '',
    };
  }
}
