/** The signature_defs of a meta graph, parsed (what `saved_model_cli show` and a model server list). */
import { tensorflow } from '../../proto';
import { ParsedTensorInfo, parseTensorInfoMap } from './tensor_info';

/** The signature_def key of the init op a TF2 SavedModel may carry (not a callable signature). */
export const INIT_OP_SIGNATURE = '__saved_model_init_op';

/** One signature_def: method name and parsed inputs/outputs by key. */
export interface SignatureInfo {
  readonly name: string;
  readonly methodName: string;
  readonly inputs: Record<string, ParsedTensorInfo>;
  readonly outputs: Record<string, ParsedTensorInfo>;
  readonly proto: tensorflow.ISignatureDef;
}

/** The callable signatures of `metaGraph` in proto map order (the init-op entry left out). */
export function listSignatures(metaGraph: tensorflow.IMetaGraphDef): SignatureInfo[] {
  return Object.entries(metaGraph.signatureDef ?? {})
    .filter(([name]) => name !== INIT_OP_SIGNATURE)
    .map(([name, sig]) => ({
      name,
      methodName: sig.methodName ?? '',
      inputs: parseTensorInfoMap(sig.inputs),
      outputs: parseTensorInfoMap(sig.outputs),
      proto: sig,
    }));
}
