/**
 * Python structures of restored functions (`StructuredValue` protos): the input signatures of concrete functions
 * (tensor specs, Python literals such as `training=False`, tuples, lists, dicts, named tuples, sparse/ragged
 * specs), matching JS arguments against them in `tf.nest.flatten` order, and packing flat outputs back into the
 * output structure.
 */
import { DType, dtypeFromTf, isDType } from '../../dtypes';
import { typeError } from '../../errors';
import { dimsOf, tensorflow, toSafeNumber } from '../../proto';
import { Tensor } from '../../tensor';
import { formatShape } from '../saved_model';
import { LeafSpec, tensorMismatch } from './values';

export { LeafSpec } from './values';

/** A decoded StructuredValue. */
export type Spec =
  | { kind: 'tensor'; leaf: LeafSpec }
  | { kind: 'sparse'; dtype: DType; shape: number[] | null }
  | { kind: 'ragged'; dtype: DType; shape: number[] | null; raggedRank: number; splitsDtype: DType }
  | { kind: 'none' }
  | { kind: 'literal'; value: boolean | number | string; float?: boolean }
  | { kind: 'list' | 'tuple'; items: Spec[] }
  | { kind: 'dict'; keys: string[]; values: Spec[] }
  | { kind: 'namedtuple'; name: string; keys: string[]; values: Spec[] }
  | { kind: 'unsupported'; what: string };

/** Keyword arguments for a restored function: `model.call(x, kwargs({training: true}))`. */
export class Kwargs {
  /** @internal */
  constructor(/** The keyword arguments by name. */ readonly values: Readonly<Record<string, unknown>>) {}
}

/** Marks keyword arguments for `model.call` / `model.functions[path]` (Python's `f(x, training=True)`). */
export function kwargs(values: Record<string, unknown>): Kwargs {
  if (!values || typeof values !== 'object' || Array.isArray(values))
    throw typeError('ERR_INVALID_ARG_TYPE', 'kwargs(values): values must be a plain object');
  return new Kwargs({ ...values });
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function dtypeOf(v: unknown): DType {
  return dtypeFromTf(typeof v === 'number' ? v : 0);
}

/** Decodes a StructuredValue (from a SavedObjectGraph) into a Spec. */
export function decodeSpec(v: tensorflow.IStructuredValue | null | undefined): Spec {
  if (!v) return { kind: 'none' };
  const kind = (v as { kind?: string }).kind;
  switch (kind) {
    case 'noneValue':
      return { kind: 'none' };
    case 'boolValue':
      return { kind: 'literal', value: !!v.boolValue };
    case 'int64Value':
      return { kind: 'literal', value: toSafeNumber(v.int64Value as never, 'int64 literal') };
    case 'float64Value':
      return { kind: 'literal', value: Number(v.float64Value), float: true };
    case 'stringValue':
      return { kind: 'literal', value: v.stringValue ?? '' };
    case 'tensorSpecValue':
    case 'boundedTensorSpecValue': {
      const s = (v.tensorSpecValue ?? v.boundedTensorSpecValue)!;
      return { kind: 'tensor', leaf: { dtype: dtypeOf(s.dtype), shape: dimsOf(s.shape ?? { unknownRank: true }), name: s.name ?? '' } };
    }
    case 'listValue':
      return { kind: 'list', items: (v.listValue?.values ?? []).map(decodeSpec) };
    case 'tupleValue':
      return { kind: 'tuple', items: (v.tupleValue?.values ?? []).map(decodeSpec) };
    case 'dictValue': {
      const entries = Object.entries(v.dictValue?.fields ?? {}).sort(([a], [b]) => compareKeys(a, b));
      return { kind: 'dict', keys: entries.map(([k]) => k), values: entries.map(([, x]) => decodeSpec(x)) };
    }
    case 'namedTupleValue': {
      const pairs = v.namedTupleValue?.values ?? [];
      return {
        kind: 'namedtuple',
        name: v.namedTupleValue?.name ?? '',
        keys: pairs.map((p) => p.key ?? ''),
        values: pairs.map((p) => decodeSpec(p.value)),
      };
    }
    case 'typeSpecValue': {
      const t = v.typeSpecValue!;
      const C = tensorflow.TypeSpecProto.TypeSpecClass;
      const state = t.typeState?.tupleValue?.values ?? [];
      const shapeOf = (s: tensorflow.IStructuredValue | undefined) => (s?.tensorShapeValue ? dimsOf(s.tensorShapeValue) : null);
      if (t.typeSpecClass === C.SPARSE_TENSOR_SPEC) {
        return { kind: 'sparse', shape: shapeOf(state[0]), dtype: dtypeOf(state[1]?.tensorDtypeValue) };
      }
      if (t.typeSpecClass === C.RAGGED_TENSOR_SPEC) {
        const raggedRank = state[2]?.int64Value != null ? toSafeNumber(state[2].int64Value as never, 'ragged_rank') : 1;
        const splits = state[3]?.tensorDtypeValue;
        return {
          kind: 'ragged',
          shape: shapeOf(state[0]),
          dtype: dtypeOf(state[1]?.tensorDtypeValue),
          raggedRank,
          splitsDtype: splits ? dtypeOf(splits) : 'int64',
        };
      }
      return { kind: 'unsupported', what: t.typeSpecClassName || `TypeSpec class ${t.typeSpecClass}` };
    }
    case 'tensorDtypeValue':
      return { kind: 'literal', value: dtypeOf(v.tensorDtypeValue) };
    default:
      return { kind: 'unsupported', what: kind ?? 'unknown value' };
  }
}

/** The tensors of a spec in `tf.nest.flatten(expand_composites=True)` order. */
export function flattenSpec(spec: Spec, out: LeafSpec[] = []): LeafSpec[] {
  switch (spec.kind) {
    case 'tensor':
      out.push(spec.leaf);
      break;
    case 'sparse': {
      const rank = spec.shape === null ? -1 : spec.shape.length;
      out.push(
        { dtype: 'int64', shape: [-1, rank], name: 'indices' },
        { dtype: spec.dtype, shape: [-1], name: 'values' },
        { dtype: 'int64', shape: [rank], name: 'dense_shape' },
      );
      break;
    }
    case 'ragged': {
      const inner = spec.shape === null ? null : spec.shape.slice(spec.raggedRank + 1);
      out.push({ dtype: spec.dtype, shape: inner === null ? null : [-1, ...inner], name: 'flat_values' });
      for (let i = 0; i < spec.raggedRank; i++) out.push({ dtype: spec.splitsDtype, shape: [-1], name: `row_splits_${i}` });
      break;
    }
    case 'list':
    case 'tuple':
      for (const s of spec.items) flattenSpec(s, out);
      break;
    case 'dict':
    case 'namedtuple':
      for (const s of spec.values) flattenSpec(s, out);
      break;
    default:
      break;
  }
  return out;
}

/** Whether the spec contains something this library cannot feed or fetch. */
export function unsupportedIn(spec: Spec): string | null {
  if (spec.kind === 'unsupported') return spec.what;
  const children =
    spec.kind === 'list' || spec.kind === 'tuple' ? spec.items : spec.kind === 'dict' || spec.kind === 'namedtuple' ? spec.values : [];
  for (const c of children) {
    const u = unsupportedIn(c);
    if (u) return u;
  }
  return null;
}

// ------------------------------------------------------------------------------------------ formatting

function pyDtype(d: DType): string {
  return `tf.${d}`;
}

/** Python-style text of a tensor spec, e.g. `TensorSpec(shape=(None, 16), dtype=tf.float32, name='x')`. */
export function formatLeaf(leaf: LeafSpec): string {
  return `TensorSpec(shape=${formatShape(leaf.shape)}, dtype=${pyDtype(leaf.dtype)}, name=${leaf.name ? `'${leaf.name}'` : 'None'})`;
}

function formatLiteral(v: boolean | number | string, float = false): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return `'${v}'`;
  return float && Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** Python-style text of a spec. */
export function formatSpec(spec: Spec): string {
  switch (spec.kind) {
    case 'tensor':
      return formatLeaf(spec.leaf);
    case 'sparse':
      return `SparseTensorSpec(shape=${formatShape(spec.shape)}, dtype=${pyDtype(spec.dtype)})`;
    case 'ragged':
      return `RaggedTensorSpec(shape=${formatShape(spec.shape)}, dtype=${pyDtype(spec.dtype)}, ragged_rank=${spec.raggedRank})`;
    case 'none':
      return 'None';
    case 'literal':
      return formatLiteral(spec.value, spec.float);
    case 'list':
      return `[${spec.items.map(formatSpec).join(', ')}]`;
    case 'tuple':
      return `(${spec.items.map(formatSpec).join(', ')}${spec.items.length === 1 ? ',' : ''})`;
    case 'dict':
      return `{${spec.keys.map((k, i) => `'${k}': ${formatSpec(spec.values[i])}`).join(', ')}}`;
    case 'namedtuple':
      return `${spec.name}(${spec.keys.map((k, i) => `${k}=${formatSpec(spec.values[i])}`).join(', ')})`;
    default:
      return `<${spec.what}>`;
  }
}

/** Short text of a JS argument for error messages. */
export function formatValue(v: unknown, depth = 0): string {
  if (v instanceof Tensor) return v.isDisposed ? 'Tensor(disposed)' : `Tensor(shape=${formatShape(v.shape)}, dtype=${v.dtype})`;
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (depth > 2) return '…';
  if (Array.isArray(v)) {
    const inner = v.slice(0, 6).map((x) => formatValue(x, depth + 1));
    if (v.length > 6) inner.push('…');
    return `[${inner.join(', ')}]`;
  }
  if (typeof v === 'object')
    return `{${Object.entries(v as object)
      .slice(0, 8)
      .map(([k, x]) => `${k}: ${formatValue(x, depth + 1)}`)
      .join(', ')}}`;
  return typeof v;
}

// ------------------------------------------------------------------------------------------ JS values

/** True for a plain record (not a Tensor, array, typed array or Kwargs). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Tensor) && !ArrayBuffer.isView(v) && !(v instanceof Kwargs)
  );
}

// ------------------------------------------------------------------------------------------ matching

/** One JS value bound to one function input tensor. */
export interface BoundLeaf {
  readonly leaf: LeafSpec;
  readonly value: unknown;
  /** Where it came from, e.g. `args[0]` or `inputs['x']`. */
  readonly path: string;
}

function literalEquals(spec: boolean | number | string, v: unknown): boolean {
  // Python compares literals with ==, so True matches 1 (and False 0) as well.
  if (typeof spec === 'boolean') return v === spec || (typeof v === 'number' && v === Number(spec));
  if (typeof spec === 'number')
    return (
      (typeof v === 'number' && v === spec) ||
      (typeof v === 'bigint' && Number.isInteger(spec) && v === BigInt(spec)) ||
      (typeof v === 'boolean' && Number(v) === spec)
    );
  if (typeof spec === 'string' && isDType(spec)) return v === spec;
  return v === spec;
}

/**
 * What a leaf of a spec accepts. The default takes Tensors (and JS values with `allowConversion`), for eager
 * calls; a graph-building caller adds its symbolic values (graph Outputs).
 */
export interface LeafBinder {
  /** Why `value` cannot be bound to `leaf` (a message without the path), or null. */
  mismatch(value: unknown, leaf: LeafSpec, allowConversion: boolean): string | null;
  /** True for values that are leaves themselves: never taken for a record, a list or a list of row splits. */
  isLeaf(value: unknown): boolean;
  /** The value as error messages show it. */
  describe(value: unknown): string;
}

/** Binds Tensors, and with `allowConversion` JS values, to tensor specs. */
export const tensorBinder: LeafBinder = {
  mismatch: (value, leaf, allowConversion) => tensorMismatch(value, leaf, allowConversion)?.message ?? null,
  isLeaf: (value) => value instanceof Tensor,
  describe: (value) => formatValue(value),
};

/** `tensorBinder` that takes tensors of any shape (dtypes are still checked). */
export const anyShapeTensorBinder: LeafBinder = {
  ...tensorBinder,
  mismatch: (value, leaf, allowConversion) => tensorMismatch(value, leaf, allowConversion, false)?.message ?? null,
};

/**
 * Binds `value` to `spec`, appending the tensors to `out` in flatten order. Returns null on success or the
 * reason of the first mismatch. Without `allowConversion` only Tensors match tensor specs (Python's first pass);
 * with it, JS arrays/numbers/strings/booleans are converted to the spec's dtype.
 */
export function bindSpec(
  spec: Spec,
  value: unknown,
  allowConversion: boolean,
  path: string,
  out: BoundLeaf[],
  binder: LeafBinder = tensorBinder,
): string | null {
  const asRecord = (v: unknown): Record<string, unknown> | null => (isRecord(v) && !binder.isLeaf(v) ? v : null);
  const bindLeaf = (leaf: LeafSpec, v: unknown, at: string): string | null => {
    const why = binder.mismatch(v, leaf, allowConversion);
    if (why) return `${at}: ${why}`;
    out.push({ leaf, value: v, path: at });
    return null;
  };
  switch (spec.kind) {
    case 'tensor':
      return bindLeaf(spec.leaf, value, path);
    case 'sparse':
    case 'ragged': {
      const record = asRecord(value);
      if (!record)
        return `${path}: expected ${spec.kind === 'sparse' ? 'a sparse value {indices, values, denseShape}' : 'a ragged value {flatValues, rowSplits}'}`;
      const leaves = flattenSpec(spec);
      let parts: unknown[];
      if (spec.kind === 'sparse') parts = [record.indices, record.values, record.denseShape ?? record.dense_shape];
      else {
        let splits = record.rowSplits ?? record.row_splits;
        // Ragged rank 1 takes its one row-splits value bare or in a list: a list of leaves or of nested arrays
        // is the list form; a list of numbers is the value itself.
        const isList = Array.isArray(splits) && splits.length > 0 && typeof splits[0] === 'object' && splits[0] !== null;
        if (spec.raggedRank === 1 && !isList) splits = [splits];
        if (!Array.isArray(splits) || splits.length !== spec.raggedRank) return `${path}: expected ${spec.raggedRank} rowSplits`;
        parts = [record.flatValues ?? record.values, ...splits];
      }
      for (let i = 0; i < leaves.length; i++) {
        const why = bindLeaf(leaves[i], parts[i], `${path}.${leaves[i].name}`);
        if (why) return why;
      }
      return null;
    }
    case 'none':
      return value === null || value === undefined ? null : `${path}: expected None (null), got ${binder.describe(value)}`;
    case 'literal':
      return literalEquals(spec.value, value)
        ? null
        : `${path}: expected the Python value ${formatLiteral(spec.value, spec.float)}, got ${binder.describe(value)}`;
    case 'list':
    case 'tuple': {
      if (!Array.isArray(value)) return `${path}: expected a ${spec.kind} of ${spec.items.length}, got ${binder.describe(value)}`;
      if (value.length !== spec.items.length) return `${path}: expected a ${spec.kind} of ${spec.items.length}, got ${value.length} items`;
      for (let i = 0; i < spec.items.length; i++) {
        const why = bindSpec(spec.items[i], value[i], allowConversion, `${path}[${i}]`, out, binder);
        if (why) return why;
      }
      return null;
    }
    case 'dict':
    case 'namedtuple': {
      let get: (k: string, i: number) => unknown;
      const record = asRecord(value);
      if (spec.kind === 'namedtuple' && Array.isArray(value) && value.length === spec.keys.length) get = (_k, i) => value[i];
      else if (record) {
        const keys = Object.keys(record).sort(compareKeys);
        const want = [...spec.keys].sort(compareKeys);
        if (keys.length !== want.length || keys.some((k, i) => k !== want[i]))
          return `${path}: expected keys [${want.join(', ')}], got [${keys.join(', ')}]`;
        get = (k) => record[k];
      } else return `${path}: expected a record with keys [${spec.keys.join(', ')}], got ${binder.describe(value)}`;
      for (let i = 0; i < spec.keys.length; i++) {
        const why = bindSpec(spec.values[i], get(spec.keys[i], i), allowConversion, `${path}.${spec.keys[i]}`, out, binder);
        if (why) return why;
      }
      return null;
    }
    default:
      return `${path}: ${spec.what} values are not supported`;
  }
}

// ------------------------------------------------------------------------------------------ outputs

/** A function's outputs in its output structure, with leaves of type `T` (Tensors, or graph Outputs). */
export type Structured<T> =
  | T
  | null
  | boolean
  | number
  | string
  | { indices: T; values: T; denseShape: T }
  | { flatValues: T; rowSplits: T[] }
  | Structured<T>[]
  | { [key: string]: Structured<T> };

/** What a restored function returns: Tensors in the function's output structure. */
export type StructuredOutput = Structured<Tensor>;

/** Packs flat outputs into `spec` (Python's nest.pack_sequence_as with expand_composites). */
export function packOutputs<T>(spec: Spec, flat: T[]): Structured<T> {
  let pos = 0;
  const next = (): T => {
    if (pos >= flat.length)
      throw typeError('ERR_OUTPUT_STRUCTURE', `the function returned ${flat.length} tensors, fewer than its output signature needs`);
    return flat[pos++];
  };
  const pack = (s: Spec): Structured<T> => {
    switch (s.kind) {
      case 'tensor':
        return next();
      case 'sparse':
        return { indices: next(), values: next(), denseShape: next() };
      case 'ragged': {
        const flatValues = next();
        const rowSplits = Array.from({ length: s.raggedRank }, () => next());
        return { flatValues, rowSplits };
      }
      case 'none':
        return null;
      case 'literal':
        return s.value;
      case 'list':
      case 'tuple':
        return s.items.map(pack);
      case 'dict':
      case 'namedtuple':
        return Object.fromEntries(s.keys.map((k, i) => [k, pack(s.values[i])]));
      default:
        return null;
    }
  };
  return pack(spec);
}
