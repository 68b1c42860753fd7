/**
 * The graph backend of the revival plan (hub.KerasLayer): a TF2 SavedModel built into graphs the caller owns,
 * its restored functions *inlined* (src/inline.ts) so `graph.addGradients` works through them. The objects
 * are created once per graph under the layer's scope: each variable a `VarHandleOp` whose `initializer`
 * restores it from the checkpoint (RestoreV2 by its object-graph key + AssignVariableOp), resources by inlining
 * `_create_resource` (`_initialize` joins the table initializers), constants and assets as Consts.
 */
import { Graph, Operation, Output } from '../../graph';
import { inlineFunctionDetailed } from '../../inline';
import { TfhubError } from '../../errors';
import { tensorflow } from '../../proto';
import { GraphKeys, Variable } from '../../variable';
import { restoreV2, stringConstant } from '../saved_model';
import { Structured, packOutputs } from '../tf2/structure';
import { Concrete } from './bind';
import { RevivalPlan, kindOf, safeName } from './plan';

/** What the model holds in one graph. */
export interface GraphState {
  readonly graph: Graph;
  /** Absolute scope of the model's nodes in this graph, e.g. `keras_layer_1`. */
  readonly scope: string;
  /** Variable object id → Variable. */
  readonly variables: Map<number, Variable>;
  /** Captured object id → the Output functions take for it. */
  readonly captures: Map<number, Output>;
  /** The regularization losses (built when the model is trainable). */
  readonly losses: Output[];
}

/** A revival plan built into graphs: one state per graph, functions inlined on demand. */
export class GraphReviver {
  private readonly states = new WeakMap<Graph, GraphState>();
  /** The weights: the root's `variables` (else every variable but `save_counter`), plus trainable ones. */
  readonly weightIds: number[];
  /** The root's `trainable_variables` (else the trainable ones of the weights), in that order. */
  readonly trainableOrder: number[];
  readonly trainableIds: Set<number>;

  /** `name`: base of the scope in each graph; `trainable`: variables join TRAINABLE_VARIABLES, losses are built. */
  constructor(
    readonly plan: RevivalPlan,
    private readonly options: { name: string; trainable: boolean },
  ) {
    this.weightIds = [...new Set(plan.variableIds())];
    this.trainableOrder = [...new Set(plan.trainableVariableIds() ?? this.weightIds.filter((id) => plan.variables.get(id)!.trainable))];
    this.trainableIds = new Set(this.trainableOrder);
    for (const id of this.trainableIds) if (!this.weightIds.includes(id)) this.weightIds.push(id);
  }

  /** The model's state in `graph`, created (variables, losses) on first use. */
  state(graph: Graph): GraphState {
    let s = this.states.get(graph);
    if (s) return s;
    if (graph.isDisposed) throw new TfhubError('ERR_DISPOSED', 'the graph was disposed');
    const losses: Output[] = [];
    s = { graph, scope: graph.uniqueName(this.options.name), variables: new Map(), captures: new Map(), losses };
    this.states.set(graph, s);
    this.createVariables(s, this.weightIds);
    if (this.options.trainable) {
      this.plan.regularizationLosses().forEach((loss, i) => {
        const out = this.inline(s!, this.plan.firstConcrete(loss.id, `regularization_losses[${i}]`), [], `regularization_loss_${i}`);
        if (out.length !== 1)
          throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${this.plan.dir}: regularization_losses[${i}] returns ${out.length} tensors`);
        losses.push(out[0]);
        graph.addToCollection(GraphKeys.REGULARIZATION_LOSSES, out[0]);
      });
    }
    return s;
  }

  /** The state in `graph` if the model was built there. */
  built(graph: Graph): GraphState | undefined {
    return this.states.get(graph);
  }

  /** Inlines `c` on `inputs` in the state's graph and packs its outputs into its output structure. */
  call(s: GraphState, c: Concrete, inputs: Output[], label: string): Structured<Output> {
    const outs = this.inline(s, c, inputs, label);
    this.plan.checkOutputs(c, outs.length);
    return packOutputs(c.output, outs);
  }

  /** Creates the variables `ids` (those not made yet) with checkpoint-restoring initializers. */
  private createVariables(s: GraphState, ids: number[]): void {
    const g = s.graph;
    const todo = [...new Set(ids)].filter((id) => !s.variables.has(id));
    if (todo.length === 0) return;
    g.withNameScope(s.scope + '/', () => {
      const made = todo.map((id) => {
        const v = this.plan.variables.get(id)!;
        const name = g.uniqueName(safeName(v.name || `variable_${id}`));
        return { v, op: g.addOperation('VarHandleOp', { name, attrs: { dtype: v.dtype, shape: v.shape, shared_name: name } }) };
      });
      const restorable = made.filter((m) => m.v.key !== null);
      const restore =
        restorable.length > 0
          ? g.withNameScope('restore', () =>
              restoreV2(g, { prefix: this.plan.prefix, keys: restorable.map((m) => m.v.key!), dtypes: restorable.map((m) => m.v.dtype) }),
            )
          : null;
      for (const m of made) {
        const handle = m.op.output(0);
        const local = m.op.name.slice(s.scope.length + 1);
        const k = restorable.indexOf(m);
        // The plan checked the checkpoint shapes at load.
        const init =
          restore && k >= 0
            ? g.addOperation('AssignVariableOp', { name: g.uniqueName(`${local}/Restore`), inputs: [handle, restore.output(k)] })
            : g.addOperation('NoOp', { name: g.uniqueName(`${local}/no_initializer`) });
        const read = g
          .addOperation('ReadVariableOp', {
            name: g.uniqueName(`${local}/Read/ReadVariableOp`),
            inputs: [handle],
            attrs: { dtype: m.v.dtype },
          })
          .output(0);
        const trainable = this.trainableIds.has(m.v.id);
        const variable = new Variable(m.op, init, read, trainable, null);
        s.variables.set(m.v.id, variable);
        s.captures.set(m.v.id, handle);
        g.addToCollection(GraphKeys.GLOBAL_VARIABLES, variable);
        if (this.options.trainable && trainable) g.addToCollection(GraphKeys.TRAINABLE_VARIABLES, variable);
      }
    });
  }

  /** The Output a function takes for captured object `id` (variables, constants, assets, resources). */
  private capture(s: GraphState, id: number): Output {
    const cached = s.captures.get(id);
    if (cached) return cached;
    const g = s.graph;
    let out: Output;
    switch (kindOf(this.plan.nodes[id])) {
      case 'variable':
        this.createVariables(s, [id]);
        return s.captures.get(id)!;
      case 'constant': {
        const def = this.plan.constantNode(id);
        out = g.withNameScope(s.scope + '/', () =>
          g
            .addOperation('Const', {
              name: g.uniqueName(`constants/${safeName(def.name ?? 'Const')}`),
              attrs: { dtype: tensorflow.AttrValue.create(def.attr!.dtype!), value: tensorflow.AttrValue.create(def.attr!.value!) },
            })
            .output(0),
        );
        break;
      }
      case 'asset': {
        const asset = this.plan.asset(id);
        out = g.withNameScope(s.scope + '/assets/', () => stringConstant(g, asset.path, safeName(asset.filename || 'asset')));
        g.addToCollection(GraphKeys.ASSET_FILEPATHS, out);
        break;
      }
      case 'resource': {
        const creator = this.plan.resourceFunction(id, '_create_resource');
        if (!creator)
          throw new TfhubError('ERR_UNSUPPORTED_SAVED_MODEL', `${this.plan.dir}: resource object ${id} has no _create_resource function`);
        const created = this.inline(s, creator, [], `resource_${id}`);
        if (created.length !== 1)
          throw new TfhubError(
            'ERR_UNSUPPORTED_SAVED_MODEL',
            `${this.plan.dir}: _create_resource of object ${id} returns ${created.length} values`,
          );
        out = created[0];
        s.captures.set(id, out);
        const init = this.plan.resourceFunction(id, '_initialize');
        if (init) {
          const { operations } = this.inlineDetailed(s, init, [], `resource_${id}_init`);
          g.addToCollection(
            GraphKeys.TABLE_INITIALIZERS,
            g.addOperation('NoOp', { name: g.uniqueName(`${s.scope}/resource_${id}_initializer`), controlInputs: operations }),
          );
        }
        return out;
      }
      default:
        throw this.plan.unsupportedCapture(id);
    }
    s.captures.set(id, out);
    return out;
  }

  private inline(s: GraphState, c: Concrete, inputs: Output[], label: string): Output[] {
    return this.inlineDetailed(s, c, inputs, label).outputs;
  }

  /** Inlines concrete function `c` (its captures wired to this graph's objects) under the model's scope. */
  private inlineDetailed(s: GraphState, c: Concrete, inputs: Output[], label: string): { outputs: Output[]; operations: Operation[] } {
    const fdef = this.plan.callable(c, inputs.length);
    const captured = c.boundInputs.map((id) => this.capture(s, id));
    const g = s.graph;
    return g.withNameScope(s.scope + '/', () =>
      inlineFunctionDetailed(g, fdef, [...inputs, ...captured], { library: this.plan.library, name: label }),
    );
  }
}
