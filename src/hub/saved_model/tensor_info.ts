/** Parsed signature tensor infos (Python's `hub.ParsedTensorInfo`), for dense, sparse and composite tensors. */
import { DType, dtypeFromTf } from '../../dtypes';
import { dimsOf, tensorflow } from '../../proto';

/** What a signature declares for one input or output. */
export interface ParsedTensorInfo {
  /** Element dtype (for sparse: the values' dtype; for ragged: the flat values' dtype). */
  readonly dtype: DType;
  /** Static shape: null = unknown rank, -1 = unknown dimension. */
  readonly shape: number[] | null;
  /** A SparseTensor (indices, values, dense shape). */
  readonly isSparse: boolean;
  /** Another composite tensor (e.g. RaggedTensor), described by a TypeSpec. */
  readonly isComposite: boolean;
  /** `'Tensor' | 'SparseTensor' | 'RaggedTensor'` or the composite's TypeSpec class name. */
  readonly kind: string;
  /** Whether this library can feed/fetch it (Tensor, SparseTensor, RaggedTensor). */
  readonly isSupportedType: boolean;
  /** Graph tensor names: `dense` for a Tensor; indices/values/denseShape for sparse; components in flatten order. */
  readonly names: { dense?: string; indices?: string; values?: string; denseShape?: string; components?: string[] };
  /** Ragged rank (RaggedTensor only). */
  readonly raggedRank?: number;
  /** The raw proto. */
  readonly proto: tensorflow.ITensorInfo;
}

function structuredDims(v: tensorflow.IStructuredValue | null | undefined): number[] | null {
  return v && v.tensorShapeValue ? dimsOf(v.tensorShapeValue) : null;
}

/** Parses one TensorInfo. */
export function parseTensorInfo(info: tensorflow.ITensorInfo): ParsedTensorInfo {
  if (info.cooSparse) {
    return {
      dtype: dtypeFromTf(info.dtype ?? 0),
      shape: dimsOf(info.tensorShape ?? { unknownRank: true }),
      isSparse: true,
      isComposite: false,
      kind: 'SparseTensor',
      isSupportedType: true,
      proto: info,
      names: {
        indices: info.cooSparse.indicesTensorName ?? '',
        values: info.cooSparse.valuesTensorName ?? '',
        denseShape: info.cooSparse.denseShapeTensorName ?? '',
      },
    };
  }
  if (info.compositeTensor) {
    const spec = info.compositeTensor.typeSpec ?? {};
    const className = spec.typeSpecClassName || String(spec.typeSpecClass ?? 'composite');
    const isRagged = spec.typeSpecClass === tensorflow.TypeSpecProto.TypeSpecClass.RAGGED_TENSOR_SPEC || className === 'RaggedTensorSpec';
    const components = (info.compositeTensor.components ?? []).map((c) => c.name ?? '');
    // RaggedTensorSpec type_state: (shape, dtype, ragged_rank, row_splits_dtype, ...)
    const state = spec.typeState?.tupleValue?.values ?? [];
    const shape = structuredDims(state[0]);
    const dtypeEnum = state[1]?.tensorDtypeValue;
    const first = info.compositeTensor.components?.[0];
    const raggedRank = state[2]?.int64Value != null ? Number(state[2].int64Value) : undefined;
    return {
      dtype: dtypeFromTf(dtypeEnum ?? first?.dtype ?? 0),
      shape,
      isSparse: false,
      isComposite: true,
      kind: isRagged ? 'RaggedTensor' : className,
      isSupportedType: isRagged,
      proto: info,
      names: { components },
      raggedRank,
    };
  }
  return {
    dtype: dtypeFromTf(info.dtype ?? 0),
    shape: dimsOf(info.tensorShape ?? { unknownRank: true }),
    isSparse: false,
    isComposite: false,
    kind: 'Tensor',
    isSupportedType: true,
    proto: info,
    names: { dense: info.name ?? '' },
  };
}

/** Parses a signature's input or output map. */
export function parseTensorInfoMap(map: { [k: string]: tensorflow.ITensorInfo } | null | undefined): Record<string, ParsedTensorInfo> {
  const out: Record<string, ParsedTensorInfo> = {};
  for (const [k, v] of Object.entries(map ?? {})) out[k] = parseTensorInfo(v);
  return out;
}

/** Whether a static shape `actual` fits a declared shape `declared` (null / -1 are wildcards). */
export function isShapeCompatible(actual: number[] | null, declared: number[] | null): boolean {
  if (actual === null || declared === null) return true;
  if (actual.length !== declared.length) return false;
  return actual.every((d, i) => d === -1 || declared[i] === -1 || d === declared[i]);
}

/** Python-style shape text, e.g. `(None, 2)`. */
export function formatShape(shape: number[] | null): string {
  if (shape === null) return '<unknown>';
  const dims = shape.map((d) => (d === -1 ? 'None' : String(d)));
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}
