/**
 * Shapes as users write them where a dimension or the rank may be unknown (placeholders, variables, shape attrs):
 * `null` or `-1` for an unknown dimension (Python's `None`, tfjs's `null`), `null`/`undefined` for an unknown rank.
 */
import { rangeError, typeError } from './errors';

/** A shape that may be partially known: dimensions (integers ≥ 0, `null` or `-1` = unknown), or null = unknown rank. */
export type PartialShape = ReadonlyArray<number | null> | null;

/** TensorFlow's largest rank (TensorShape's kMaxDims). */
export const MAX_RANK = 254;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * @internal
 * `shape` as TensorFlow's dims: `null` for an unknown rank (from null/undefined), `-1` for each unknown dimension
 * (from null or -1). Anything else is a typed error naming `what` and the wrong element; the length is checked
 * before any element is read, so a huge array-like cannot make this walk billions of elements.
 */
export function partialShape(shape: unknown, what: string): number[] | null {
  if (shape === null || shape === undefined) return null;
  if (!Array.isArray(shape)) {
    throw typeError(
      'ERR_INVALID_SHAPE',
      `${what} must be an array of dimensions (null or -1 for an unknown dimension) or null for an unknown rank, got ${describe(shape)}`,
    );
  }
  const rank = shape.length;
  if (rank > MAX_RANK)
    throw rangeError('ERR_INVALID_SHAPE', `${what} has ${rank} dimensions, more than TensorFlow's maximum rank ${MAX_RANK}`);
  const dims: number[] = new Array(rank);
  for (let i = 0; i < rank; i++) {
    const d: unknown = shape[i];
    if (d === null || d === -1) dims[i] = -1;
    else if (typeof d === 'number' && Number.isSafeInteger(d) && d >= 0) dims[i] = d;
    else {
      throw typeError(
        'ERR_INVALID_SHAPE',
        `${what}: element ${i} is ${describe(d)}; a dimension is an integer >= 0, or null / -1 when unknown`,
      );
    }
  }
  return dims;
}
