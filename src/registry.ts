/** The process-wide op registry: OpDefs of every registered op, and custom op libraries. */
import { TfhubError } from './errors';
import { NativeGraph, binding } from './native';
import { tensorflow } from './proto';

/**
 * The registry as a map that decodes what it is asked for: `get`/`has` look one op type up (TF_GraphGetOpDef on
 * an empty graph: TF's global registry), and only iterating or `size` decode the whole OpList. Decoding all ~1800
 * OpDefs cost ~0.4 s of every cold start (hub.load checks a model's few op types; bench/RESULTS.md §5).
 */
class Registry implements ReadonlyMap<string, tensorflow.IOpDef> {
  private readonly looked = new Map<string, tensorflow.IOpDef | null>();
  private all: Map<string, tensorflow.IOpDef> | undefined;
  private scratch: NativeGraph | undefined;

  get(type: string): tensorflow.IOpDef | undefined {
    if (this.all) return this.all.get(type);
    let def = this.looked.get(type);
    if (def === undefined) {
      def = typeof type === 'string' && type !== '' ? this.lookUp(type) : null;
      this.looked.set(type, def);
    }
    return def ?? undefined;
  }

  has(type: string): boolean {
    return this.get(type) !== undefined;
  }

  get size(): number {
    return this.full().size;
  }

  forEach(fn: (value: tensorflow.IOpDef, key: string, map: ReadonlyMap<string, tensorflow.IOpDef>) => void, thisArg?: unknown): void {
    this.full().forEach((v, k) => fn.call(thisArg, v, k, this));
  }

  entries(): MapIterator<[string, tensorflow.IOpDef]> {
    return this.full().entries();
  }

  keys(): MapIterator<string> {
    return this.full().keys();
  }

  values(): MapIterator<tensorflow.IOpDef> {
    return this.full().values();
  }

  [Symbol.iterator](): MapIterator<[string, tensorflow.IOpDef]> {
    return this.full()[Symbol.iterator]();
  }

  private full(): Map<string, tensorflow.IOpDef> {
    if (!this.all) {
      const list = tensorflow.OpList.decode(binding().allOpList());
      this.all = new Map(list.op.map((op) => [op.name!, op]));
    }
    return this.all;
  }

  private lookUp(type: string): tensorflow.IOpDef | null {
    this.scratch ??= new (binding().Graph)();
    let bytes: Uint8Array;
    try {
      bytes = this.scratch.opDef(type);
    } catch (e) {
      if ((e as { code?: string }).code === 'NOT_FOUND') return null; // not a registered op
      throw e;
    }
    return tensorflow.OpDef.decode(bytes);
  }
}

let registry: Registry | undefined;

/** Every registered op type → its OpDef (including ops from loaded libraries). */
export function opDefs(): ReadonlyMap<string, tensorflow.IOpDef> {
  registry ??= new Registry();
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
  if (typeof path !== 'string' || path === '')
    throw new TfhubError('ERR_INVALID_ARG_VALUE', 'loadOpLibrary(path): path must be a non-empty string');
  const bytes = binding().loadLibrary(path);
  registry = undefined;
  return tensorflow.OpList.decode(bytes).op.map((op) => op.name!);
}
