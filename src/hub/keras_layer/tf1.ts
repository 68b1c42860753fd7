/** KerasLayer over a TF1 Hub module: one `hub.Module` per graph, a signature called through it. */
import { TfhubError, typeError } from '../../errors';
import { Graph, Output } from '../../graph';
import { Session } from '../../session';
import { GraphKeys, Variable } from '../../variable';
import { Module, ModuleOutput } from '../module';
import { ModuleSpec } from '../spec';
import { LayerConfig, invalid, signatureInputs } from './inputs';

/** A TF1 Hub module as a layer. */
export class Tf1Layer {
  private readonly modules = new WeakMap<Graph, Module>();

  constructor(
    private readonly layer: LayerConfig,
    readonly spec: ModuleSpec,
    readonly tags: string[],
  ) {
    const names = spec.getSignatureNames({ tags });
    if (!names.includes(layer.signature!)) {
      throw new TfhubError(
        'ERR_UNKNOWN_SIGNATURE',
        `${spec.path} has no signature '${layer.signature}' (signatures: ${names.map((k) => `'${k}'`).join(', ')})`,
      );
    }
    if (layer.outputKey !== undefined) {
      const outputs = Object.keys(spec.getOutputInfoDict(layer.signature!, { tags }));
      if (!outputs.includes(layer.outputKey)) {
        throw invalid(
          `KerasLayer output does not contain the output key '${layer.outputKey}' (available: ${outputs.map((k) => `'${k}'`).join(', ')})`,
        );
      }
    }
  }

  module(graph: Graph): Module {
    if (!(graph instanceof Graph)) throw typeError('ERR_INVALID_ARG_TYPE', 'expected a Graph');
    let m = this.modules.get(graph);
    if (!m) {
      m = new Module(this.spec, { graph, trainable: this.layer.trainable, tags: this.tags, name: this.layer.name });
      this.modules.set(graph, m);
    }
    return m;
  }

  built(graph: Graph): Module | undefined {
    return this.modules.get(graph);
  }

  apply(graph: Graph, inputs: unknown): Record<string, ModuleOutput> | ModuleOutput {
    const m = this.module(graph);
    const layer = this.layer;
    const keys = Object.keys(m.getInputInfoDict(layer.signature!));
    const extra = layer.arguments ?? {};
    let given: unknown = inputs;
    if (Object.keys(extra).length > 0) given = signatureInputs(layer.signature!, keys, inputs, extra);
    const outputs = m.call(given as never, { signature: layer.signature, asDict: true }) as Record<string, ModuleOutput>;
    if (layer.signatureOutputsAsDict) return outputs;
    return outputs[layer.outputKey!];
  }

  weights(graph: Graph, trainable: boolean): Variable[] {
    return this.module(graph).variables.filter((v) => (this.layer.trainable && v.trainable) === trainable);
  }

  losses(graph: Graph): Output[] {
    const m = this.module(graph);
    if (!this.layer.trainable) return [];
    return graph
      .getCollection<unknown>(GraphKeys.REGULARIZATION_LOSSES)
      .filter((l): l is Output => l instanceof Output && l.op.name.startsWith(`${m.scope}/`));
  }

  async export(dir: string, session: Session): Promise<void> {
    const m = this.modules.get(session.graph);
    if (!m) throw new TfhubError('ERR_NOT_BUILT', "the layer was never applied in the session's graph: nothing to export");
    await m.export(dir, session);
  }
}
