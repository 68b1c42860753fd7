/** Python's graph collections (`tf.compat.v1.get_collection`, `add_to_collection`), kept on the JS side. */
import { typeError } from './errors';

function checkKey(key: unknown, what: string): string {
  if (typeof key !== 'string')
    throw typeError('ERR_INVALID_ARG_TYPE', `${what}: key must be a string, got ${key === null ? 'null' : typeof key}`);
  return key;
}

/** @internal The collections of one Graph: key → values, in insertion order. */
export class Collections {
  private readonly lists = new Map<string, unknown[]>();

  /** The values in collection `key` (a copy). */
  get<T = unknown>(key: string): T[] {
    checkKey(key, 'getCollection');
    return [...((this.lists.get(key) as T[] | undefined) ?? [])];
  }

  /** Appends `value` to collection `key`; `null`/`undefined` values are refused. */
  add(key: string, value: unknown): void {
    checkKey(key, 'addToCollection');
    if (value === null || value === undefined) {
      throw typeError('ERR_INVALID_ARG_VALUE', `addToCollection('${key}', value): value must not be ${String(value)}`);
    }
    let list = this.lists.get(key);
    if (!list) this.lists.set(key, (list = []));
    list.push(value);
  }

  /** Keys of non-empty collections. */
  keys(): string[] {
    return [...this.lists.keys()].filter((k) => this.lists.get(k)!.length > 0);
  }

  /** Removes every value of collection `key`. */
  clear(key: string): void {
    checkKey(key, 'clearCollection');
    this.lists.delete(key);
  }
}
