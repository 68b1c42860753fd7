/**
 * GetModelStatus and GetModelMetadata responses as TF Serving prints them over REST: protobuf's JSON printer with
 * whitespace (one-space indent), proto field names, fields without presence always printed, int64 as strings.
 */
import { dataTypeName, tensorflow, toBigInt } from '../../proto';
import { VersionStatus } from '../versions';

type J = null | boolean | number | string | J[] | { [k: string]: J };

/** protobuf's `add_whitespace` layout: one space per level. */
function print(v: J): string {
  return JSON.stringify(v, null, 1);
}

/** The body of `GET /v1/models/<name>[/versions/<v>|/labels/<l>]`. */
export function modelStatusJson(statuses: VersionStatus[]): string {
  return print({
    model_version_status: statuses.map((s) => ({
      version: String(s.version),
      state: s.state,
      status: { error_code: s.status.errorCode, error_message: s.status.errorMessage },
    })),
  });
}

function shapeJson(shape: tensorflow.ITensorShapeProto): J {
  return {
    dim: (shape.dim ?? []).map((d) => ({ size: toBigInt(d.size ?? 0).toString(), name: d.name ?? '' })),
    unknown_rank: Boolean(shape.unknownRank),
  };
}

function tensorInfoJson(info: tensorflow.ITensorInfo): J {
  const out: { [k: string]: J } = { dtype: dataTypeName(info.dtype ?? 0) };
  if (info.tensorShape) out.tensor_shape = shapeJson(info.tensorShape);
  if (info.cooSparse) {
    out.coo_sparse = {
      values_tensor_name: info.cooSparse.valuesTensorName ?? '',
      indices_tensor_name: info.cooSparse.indicesTensorName ?? '',
      dense_shape_tensor_name: info.cooSparse.denseShapeTensorName ?? '',
    };
  } else if (info.compositeTensor) {
    out.composite_tensor = { components: (info.compositeTensor.components ?? []).map(tensorInfoJson) };
  } else {
    out.name = info.name ?? '';
  }
  return out;
}

function mapJson(m: Record<string, tensorflow.ITensorInfo> | null | undefined): J {
  const out: { [k: string]: J } = {};
  for (const k of Object.keys(m ?? {})) out[k] = tensorInfoJson(m![k]);
  return out;
}

/** The body of `GET /v1/models/<name>[…]/metadata`. */
export function modelMetadataJson(
  spec: { name: string; version: number; signatureName: string },
  defs: Record<string, tensorflow.ISignatureDef>,
): string {
  const signatureDef: { [k: string]: J } = {};
  for (const name of Object.keys(defs)) {
    const d = defs[name];
    const defaults: { [k: string]: J } = {};
    for (const k of Object.keys(d.defaults ?? {})) defaults[k] = { dtype: dataTypeName(d.defaults![k].dtype ?? 0) };
    signatureDef[name] = { inputs: mapJson(d.inputs), outputs: mapJson(d.outputs), method_name: d.methodName ?? '', defaults };
  }
  const modelSpec = print({ name: spec.name, signature_name: spec.signatureName, version: String(spec.version) });
  // TF Serving prints the two parts separately and joins them with this exact framing.
  return `{\n"model_spec":${modelSpec},\n"metadata": {"signature_def": ${print({ signature_def: signatureDef })}}\n}\n`;
}
