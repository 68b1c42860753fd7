/** KerasLayer over a TF2 SavedModel: the revival plan built into the caller's graphs (object_graph/graph.ts). */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TfhubError, typeError } from '../../errors';
import { Graph, Output } from '../../graph';
import { Session } from '../../session';
import { Variable } from '../../variable';
import { Concrete, GraphReviver, GraphState, RevivalPlan, dispatch, hasTrainingArgument, safeName } from '../object_graph';
import { exists, restoreV2 } from '../saved_model';
import { BoundLeaf, Structured, bindSpec, formatSpec } from '../tf2/structure';
import { writeCheckpoint, writeNewDirectory } from '../writer';
import { LayerConfig, graphBinder, invalid, isPlainObject, showGraphValue, signatureInputs, toGraphOutput } from './inputs';
import { copyModelFile } from '../../io/read_model_file';

function list(keys: Iterable<string>): string {
  return [...keys].map((k) => `'${k}'`).join(', ');
}

/** A TF2 SavedModel as a layer: `__call__` (dispatched on the inputs) or one signature. */
export class Tf2Layer {
  private readonly reviver: GraphReviver;
  private readonly signature: Concrete | null;
  private readonly signatureKeys: string[];

  constructor(
    private readonly layer: LayerConfig,
    readonly plan: RevivalPlan,
  ) {
    this.reviver = new GraphReviver(plan, { name: layer.name, trainable: layer.trainable });
    const signatures = plan.signatures();
    if (layer.signature !== undefined) {
      const c = signatures.get(layer.signature);
      if (!c)
        throw new TfhubError(
          'ERR_UNKNOWN_SIGNATURE',
          `${plan.dir} has no signature '${layer.signature}' (signatures: ${list(signatures.keys()) || 'none'})`,
        );
      const args = c.input.kind === 'tuple' ? c.input.items[0] : undefined;
      const kw = c.input.kind === 'tuple' ? c.input.items[1] : undefined;
      if (!args || args.kind !== 'tuple' || args.items.length > 0 || !kw || kw.kind !== 'dict') {
        throw new TfhubError('ERR_UNSUPPORTED_SIGNATURE', `signature '${layer.signature}' of ${plan.dir} does not take keyword tensors`);
      }
      if (layer.outputKey !== undefined && (c.output.kind !== 'dict' || !c.output.keys.includes(layer.outputKey))) {
        throw invalid(
          `KerasLayer output does not contain the output key '${layer.outputKey}' (available: ${list(c.output.kind === 'dict' ? c.output.keys : [])})`,
        );
      }
      this.signature = c;
      this.signatureKeys = kw.keys;
    } else {
      const fn = plan.callFunction();
      if (!fn || fn.concretes.length === 0) {
        throw new TfhubError(
          'ERR_NOT_CALLABLE',
          `${plan.dir}: the SavedModel's root object has no __call__; pass {signature} (signatures: ${list(signatures.keys()) || 'none'})`,
        );
      }
      this.signature = null;
      this.signatureKeys = [];
    }
  }

  private state(graph: Graph): GraphState {
    if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'expected a Graph');
    return this.reviver.state(graph);
  }

  built(graph: Graph): GraphState | undefined {
    return this.reviver.built(graph);
  }

  apply(graph: Graph, inputs: unknown, training: boolean): Structured<Output> {
    const s = this.state(graph);
    const layer = this.layer;
    const extra = { ...(layer.arguments ?? {}) };
    let c: Concrete;
    let bound: BoundLeaf[];
    if (this.signature) {
      c = this.signature;
      const dict = signatureInputs(layer.signature!, this.signatureKeys, inputs, extra);
      bound = [];
      const why = bindSpec(c.input, [[], dict], true, 'inputs', bound, graphBinder);
      if (why) throw typeError('ERR_SIGNATURE_INPUTS', `Signature '${layer.signature}': ${why.replace(/^inputs\[1\]\./, '')}`);
    } else {
      const fn = this.plan.callFunction()!;
      if (hasTrainingArgument(fn.binding)) extra.training = layer.trainable && training;
      ({ concrete: c, bound } = dispatch(fn, [inputs], extra, graphBinder, showGraphValue));
    }
    const tensors = bound.map((b) => toGraphOutput(graph, b));
    const result = this.reviver.call(s, c, tensors, this.signature ? `signature_${safeName(layer.signature!)}` : 'call');
    if (layer.signatureOutputsAsDict) return result;
    if (layer.outputKey !== undefined) {
      if (!isPlainObject(result))
        throw invalid(`Specifying outputKey is forbidden if the output is not a record (got ${formatSpec(c.output)})`);
      if (!(layer.outputKey in result))
        throw invalid(`KerasLayer output does not contain the output key '${layer.outputKey}' (available: ${list(Object.keys(result))})`);
      return (result as Record<string, Structured<Output>>)[layer.outputKey];
    }
    return result;
  }

  weights(graph: Graph, trainable: boolean): Variable[] {
    const s = this.state(graph);
    const r = this.reviver;
    const ids = trainable
      ? this.layer.trainable
        ? r.trainableOrder
        : []
      : r.weightIds.filter((id) => !(this.layer.trainable && r.trainableIds.has(id)));
    return ids.map((id) => s.variables.get(id)!);
  }

  losses(graph: Graph): Output[] {
    return [...this.state(graph).losses];
  }

  /**
   * Writes the SavedModel with the variable values of `session`: every tensor of the original checkpoint under
   * its key — the layer's variables with their current values, everything else (the object graph,
   * `save_counter`, variables not created in this graph, saveables) copied from the original checkpoint.
   */
  async export(dir: string, session: Session): Promise<void> {
    const s = this.reviver.built(session.graph);
    if (!s) throw new TfhubError('ERR_NOT_BUILT', "the layer was never applied in the session's graph: nothing to export");
    const src = this.plan.dir;
    await writeNewDirectory(dir, async (tmp) => {
      await fs.mkdir(path.join(tmp, 'variables'));
      for (const sub of ['assets', 'assets.extra']) {
        if (await exists(path.join(src, sub))) await fs.cp(path.join(src, sub), path.join(tmp, sub), { recursive: true });
      }
      if (this.plan.index) await this.saveCheckpoint(s, session, path.join(tmp, 'variables', 'variables'));
      if (await exists(path.join(src, 'fingerprint.pb')))
        await copyModelFile(path.join(src, 'fingerprint.pb'), path.join(tmp, 'fingerprint.pb'));
      // Last: its presence marks a complete SavedModel.
      await copyModelFile(path.join(src, 'saved_model.pb'), path.join(tmp, 'saved_model.pb'));
    });
  }

  private async saveCheckpoint(s: GraphState, session: Session, prefix: string): Promise<void> {
    const g = s.graph;
    const index = this.plan.index!;
    const byKey = new Map<string, Variable>();
    for (const v of this.plan.variables.values()) {
      const variable = s.variables.get(v.id);
      if (variable && v.key !== null) byKey.set(v.key, variable);
    }
    const entries = [...index.entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const sliced = entries.filter((e) => e.sliced);
    if (sliced.length > 0)
      throw new TfhubError(
        'ERR_UNSUPPORTED_CHECKPOINT',
        `${index.prefix}: partitioned checkpoint tensors (${sliced
          .map((e) => e.key)
          .slice(0, 3)
          .join(', ')}) are not supported`,
      );
    const copied = entries.filter((e) => !byKey.has(e.key));
    const scope = `${s.scope}/export/`;
    const restored =
      copied.length > 0
        ? g.withNameScope(scope, () =>
            restoreV2(g, { prefix: index.prefix, keys: copied.map((e) => e.key), dtypes: copied.map((e) => e.dtype) }),
          )
        : null;
    await writeCheckpoint(
      session,
      prefix,
      entries.map((e) => {
        const v = byKey.get(e.key);
        return { key: e.key, value: v ? v.read() : restored!.output(copied.indexOf(e)) };
      }),
      scope,
    );
  }
}
