/** The process-wide op registry: OpDefs of every registered op, and custom op libraries. */
import { TfhubError } from './errors';
import { binding } from './native';
import { tensorflow } from './proto';

let registry: Map<string, tensorflow.IOpDef> | undefined;

/** Every registered op type → its OpDef (including ops from loaded libraries). */
export function opDefs(): ReadonlyMap<string, tensorflow.IOpDef> {
  if (!registry) {
    const list = tensorflow.OpList.decode(binding().allOpList());
    registry = new Map(list.op.map((op) => [op.name!, op]));
  }
  return registry;
}

/**
 * Whether a node of an op with OpDef `def` may not carry attr `name`: the OpDef lacks it and it is not an internal
 * attr (`_class`, `_output_shapes`, … start with `_`). TF only logs and ignores such attrs when an op is built, so
 * a misspelt attr would silently do nothing.
 */
export function isUnknownAttr(def: tensorflow.IOpDef, name: string): boolean {
  return !name.startsWith('_') && !(def.attr ?? []).some((a) => a.name === name);
}

/** Whether `type` is a registered op. */
export function isRegisteredOp(type: string): boolean {
  return opDefs().has(type);
}

/**
 * Loads a custom op library (TF_LoadLibrary), e.g. one that defines SentencepieceOp, and returns the names of
 * the ops it registered. Libraries stay loaded for the life of the process.
 */
export function loadOpLibrary(path: string): string[] {
  if (typeof path !== 'string' || path === '') throw new TfhubError('ERR_INVALID_ARG_VALUE', 'loadOpLibrary(path): path must be a non-empty string');
  const bytes = binding().loadLibrary(path);
  registry = undefined;
  return tensorflow.OpList.decode(bytes).op.map((op) => op.name!);
}
