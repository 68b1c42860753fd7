/**
 * Row operations of the batcher on Tensors of every dtype: concatenation along dimension 0, padding of trailing
 * dimensions and of extra rows, and splitting back. Values are copied bit for bit (raw storage; float16 bits,
 * complex pairs and string bytes included), so a split output row is exactly the row the run produced.
 */
import { DType, elementsPerValue, storageOf } from '../dtypes';
import { Tensor } from '../tensor';

/** The elements of a tensor as they are stored: a typed array (numbers) or a list of byte strings. */
type Flat = ArrayLike<unknown> & { length: number };

/** Whether tensors of this dtype can be merged (every dtype with readable data). */
export function isMergeableDType(dtype: DType): boolean {
  return dtype === 'string' || storageOf(dtype) !== undefined;
}

function flatOf(t: Tensor): Flat {
  return t.dtype === 'string' ? t.bytes() : (t.data() as unknown as Flat);
}

function allocate(dtype: DType, length: number): { out: Flat & { [i: number]: unknown }; set(src: Flat, at: number): void } {
  if (dtype === 'string') {
    const out = new Array<Uint8Array>(length);
    return {
      out,
      set: (src, at) => {
        for (let i = 0; i < src.length; i++) out[at + i] = src[i] as Uint8Array;
      },
    };
  }
  const Storage = storageOf(dtype)!;
  const out = new (Storage as Float64ArrayConstructor)(length);
  return { out: out as never, set: (src, at) => out.set(src as Float64Array, at) };
}

function make(dtype: DType, shape: number[], flat: Flat): Tensor {
  return new Tensor(dtype, shape, flat as never);
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Pads `flat` (shape `from`) to shape `to` (same rank, every dimension ≥), filling with the tensor's first element,
 * as TF Serving's AddPadding does. `width` = stored values per element (2 for complex).
 */
function padTrailing(dtype: DType, flat: Flat, from: readonly number[], to: readonly number[], width: number): Flat {
  const total = product(to) * width;
  const { out } = allocate(dtype, total);
  for (let i = 0; i < total; i++) out[i] = flat[i % width];
  const rank = from.length;
  if (product(from) === 0) return out;
  // Copy the source's innermost rows into their place in the target.
  const inner = from[rank - 1] * width;
  const outer = product(from.slice(0, -1));
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let r = 0; r < outer; r++) {
    let offset = 0;
    for (let d = 0; d < rank - 1; d++) offset = offset * to[d] + idx[d];
    offset *= to[rank - 1] * width;
    for (let j = 0; j < inner; j++) out[offset + j] = flat[r * inner + j];
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < from[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Concatenates the tensors along dimension 0 into a new Tensor. Each part is first padded to `trailing` (the
 * shape after dimension 0) when its own differs, and `padRows` copies of the first row of the last part are
 * appended (TF Serving pads a batch that way up to an allowed batch size).
 */
export function concatRows(parts: readonly Tensor[], trailing: readonly number[], padRows = 0): Tensor {
  const dtype = parts[0].dtype;
  const width = elementsPerValue(dtype);
  const rowLength = product(trailing) * width;
  const rows = parts.reduce((n, t) => n + t.shape[0], 0);
  const { out, set } = allocate(dtype, (rows + padRows) * rowLength);
  let at = 0;
  let last: Flat | null = null;
  for (const t of parts) {
    const shape = t.shape;
    let flat = flatOf(t);
    if (shape.slice(1).some((d, i) => d !== trailing[i])) flat = padTrailing(dtype, flat, shape, [shape[0], ...trailing], width);
    set(flat, at);
    at += flat.length;
    last = flat;
  }
  for (let p = 0; p < padRows; p++) {
    for (let j = 0; j < rowLength; j++) out[at + j] = last![j];
    at += rowLength;
  }
  return make(dtype, [rows + padRows, ...trailing], out);
}

/** Splits `t` along dimension 0 into new Tensors of `counts[i]` rows each, in order (rows left over are dropped). */
export function splitRows(t: Tensor, counts: readonly number[]): Tensor[] {
  const dtype = t.dtype;
  const [, ...trailing] = t.shape;
  const rowLength = product(trailing) * elementsPerValue(dtype);
  const flat = flatOf(t);
  const out: Tensor[] = [];
  let row = 0;
  for (const n of counts) {
    const start = row * rowLength;
    const end = (row + n) * rowLength;
    const part = dtype === 'string' ? (flat as Uint8Array[]).slice(start, end) : (flat as Float64Array).slice(start, end);
    out.push(make(dtype, [n, ...trailing], part));
    row += n;
  }
  return out;
}
