/** Input handling shared by TF2 and TF1 signatures: key checks and per-input dtype/shape checks, before any run. */
import { typeError } from '../../errors';
import { LeafSpec, formatLeaf, isRecord } from './structure';
import { tensorMismatch } from './values';

function list(keys: string[]): string {
  return `[${keys.map((k) => `'${k}'`).join(', ')}]`;
}

/**
 * Turns what the user passed into a record keyed by input keys: a record as is; for a one-input signature any
 * non-record value (Tensor, array, number, string) is that input. Missing/extra keys throw a TypeError
 * (`ERR_SIGNATURE_INPUTS`) listing both, sorted.
 */
export function normalizeSignatureInputs(signature: string, keys: readonly string[], inputs: unknown): Record<string, unknown> {
  let dict: Record<string, unknown>;
  if (inputs === undefined || inputs === null) dict = {};
  else if (isRecord(inputs)) dict = inputs;
  else if (keys.length === 1) dict = { [keys[0]]: inputs };
  else if (keys.length === 0) throw typeError('ERR_SIGNATURE_INPUTS', `Signature '${signature}' expects no inputs.`);
  else throw typeError('ERR_SIGNATURE_INPUTS', `Signature '${signature}' expects multiple inputs ${list([...keys].sort())}. Use a record.`);
  const missing = keys.filter((k) => !Object.prototype.hasOwnProperty.call(dict, k) || dict[k] === undefined).sort();
  const extra = Object.keys(dict)
    .filter((k) => !keys.includes(k))
    .sort();
  if (missing.length > 0 || extra.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing ${list(missing)}`);
    if (extra.length > 0) parts.push(`extra given ${list(extra)}`);
    throw typeError(
      'ERR_SIGNATURE_INPUTS',
      `Signature '${signature}' cannot take these inputs: ${parts.join(', ')} (expected ${list([...keys].sort())})`,
    );
  }
  return dict;
}

/**
 * Throws a TypeError naming the input when `value` does not fit `leaf` (code ERR_INPUT_DTYPE / ERR_INPUT_SHAPE /
 * ERR_INPUT_VALUE); without `checkShape` any shape fits (`LoadOptions.strictSignatures: false`).
 */
export function checkSignatureInput(signature: string, key: string, leaf: LeafSpec, value: unknown, checkShape = true): void {
  const why = tensorMismatch(value, leaf, true, checkShape);
  if (why) {
    throw typeError(
      why.code,
      `Signature '${signature}': can't convert input '${key}': ${why.message} (declared: ${formatLeaf({ ...leaf, name: leaf.name || key })})`,
    );
  }
}
