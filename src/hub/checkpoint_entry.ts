/**
 * One tensor of a checkpoint index (a BundleEntryProto), checked as it is parsed: TensorFlow `CHECK`-fails
 * (aborts the process) on entries it trusts, so nothing unchecked may reach a restore op. A dtype must be a
 * value type this library knows (no reference types ≥ 100, no resource or variant handles), dims ≥ 0 with a
 * known rank, offsets and sizes non-negative safe integers, slices well-formed against the shape. Errors are
 * `ERR_INVALID_CHECKPOINT` naming the file and key.
 */
import { DType, dtypeFromTf, elementsPerValue, isKnownDtype, isRefDtype, storageOf } from '../dtypes';
import { TfhubError } from '../errors';
import { tensorflow, toBigInt } from '../proto';

/** @internal One extent of a slice: `length` -1 is the whole dimension. */
export interface SliceExtent {
  readonly start: number;
  readonly length: number;
}

/** @internal One tensor of a checkpoint (a BundleEntryProto of its `.index` table). */
export interface CheckpointEntry {
  readonly key: string;
  readonly dtype: DType;
  readonly shape: number[] | null;
  readonly shardId: number;
  readonly offset: number;
  readonly size: number;
  readonly sliced: boolean;
  /** The slices of a partitioned tensor (their data lies under other keys); empty otherwise. */
  readonly slices: ReadonlyArray<readonly SliceExtent[]>;
}

/** The most elements one checkpoint tensor may declare (2^53 - 1: exact in a JS number). */
const MAX_ELEMENTS = Number.MAX_SAFE_INTEGER;

function bad(file: string, key: string, what: string): TfhubError {
  return new TfhubError(
    'ERR_INVALID_CHECKPOINT',
    `${file}: checkpoint entry '${key.length > 200 ? `${key.slice(0, 200)}…` : key}' ${what}`,
  );
}

function safeInt(v: unknown, file: string, key: string, what: string): number {
  const b = toBigInt(v as number);
  if (b < 0n || b > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(file, key, `has ${what} ${b}, not a size`);
  return Number(b);
}

/** Bytes per element of a fixed-size dtype; 0 for string. */
export function checkpointElementBytes(dtype: DType): number {
  if (dtype === 'string') return 0;
  const ctor = storageOf(dtype)!;
  return ctor.BYTES_PER_ELEMENT * elementsPerValue(dtype);
}

/** Elements of a known shape, or -1 beyond {@link MAX_ELEMENTS}. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > MAX_ELEMENTS) return -1;
  }
  return n;
}

/** @internal Converts and checks one decoded BundleEntryProto (see the module's doc). */
export function checkedEntry(key: string, e: tensorflow.BundleEntryProto, file: string): CheckpointEntry {
  const raw = e.dtype ?? 0;
  if (isRefDtype(raw)) throw bad(file, key, `has the reference dtype ${raw}; a checkpoint holds values`);
  if (!isKnownDtype(raw) || raw === 0) throw bad(file, key, `has the unknown dtype ${raw}`);
  let dtype: DType;
  try {
    dtype = dtypeFromTf(raw);
  } catch {
    throw bad(file, key, `has dtype ${raw}, which tfhub-node does not support`);
  }
  if (dtype === 'resource' || dtype === 'variant') throw bad(file, key, `has dtype ${dtype}, which tfhub-node does not restore`);
  if (e.shape?.unknownRank) throw bad(file, key, 'has a shape of unknown rank');
  const shape = (e.shape?.dim ?? []).map((d, i) => {
    const b = toBigInt(d?.size ?? 0);
    if (b < 0n || b > BigInt(MAX_ELEMENTS)) throw bad(file, key, `has dimension ${i} of size ${b}`);
    return Number(b);
  });
  if (elementCount(shape) < 0) throw bad(file, key, `has shape [${shape.join(', ')}] with more than 2^53 elements`);
  const slices = (e.slices ?? []).map((s, si) => {
    const extents = s.extent ?? [];
    if (extents.length !== shape.length)
      throw bad(file, key, `has slice ${si} of rank ${extents.length} for a tensor of rank ${shape.length}`);
    return extents.map((x, d) => {
      const start = safeInt(x.start ?? 0, file, key, `slice ${si} start`);
      const length = x.hasLength === 'length' ? safeInt(x.length, file, key, `slice ${si} length`) : -1;
      if (length === -1 ? start !== 0 : start + length > shape[d]) {
        throw bad(
          file,
          key,
          `has slice ${si} extent ${d} (start ${start}, length ${length === -1 ? 'full' : length}) outside dimension ${shape[d]}`,
        );
      }
      return { start, length };
    });
  });
  return {
    key,
    dtype,
    shape,
    shardId: safeInt(e.shardId ?? 0, file, key, 'shard id'),
    offset: safeInt(e.offset ?? 0, file, key, 'offset'),
    size: safeInt(e.size ?? 0, file, key, 'size'),
    sliced: slices.length > 0,
    slices,
  };
}
