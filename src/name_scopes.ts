/** Python-style name scopes and unique names of a graph (`tf.name_scope`, `Graph.unique_name`), kept on the JS side. */
import { typeError } from './errors';
import { NativeGraph } from './native';

function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string')
    throw typeError('ERR_INVALID_ARG_TYPE', `${what} must be a string, got ${name === null ? 'null' : typeof name}`);
  return name;
}

/** Adds the name scopes of an operation name: `a` and `a/b` for `a/b/c`. */
function addScopes(into: Set<string>, name: string): void {
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) into.add(name.slice(0, i));
}

/** @internal The name state of one Graph: the scope stack, names handed out, scopes of existing operations. */
export class NameScopes {
  private readonly native: NativeGraph;
  private readonly counters = new Map<string, number>();
  private stack: string[] = [];
  /** Name scopes of existing operations (`a`, `a/b` for `a/b/c`); built on demand, dropped when TF adds ops. */
  private scopeCache: Set<string> | null = null;

  constructor(native: NativeGraph) {
    this.native = native;
  }

  /** The current name scope (`""` at top level). */
  get current(): string {
    return this.stack.join('/');
  }

  /** Runs `fn` inside scope `name` (made unique; a name ending in `/` is absolute). */
  withScope<T>(name: string, fn: () => T): T {
    checkName(name, 'withNameScope(name)');
    if (typeof fn !== 'function') throw typeError('ERR_INVALID_ARG_TYPE', 'withNameScope(name, fn): fn must be a function');
    const unique = name.endsWith('/') ? name.slice(0, -1) : this.unique(name);
    const saved = this.stack;
    this.stack = unique === '' ? [] : unique.split('/');
    try {
      return fn();
    } finally {
      this.stack = saved;
    }
  }

  /** Whether `name` is taken: by an operation, by a name handed out, or as a scope of existing ops. */
  isUsed(name: string): boolean {
    checkName(name, 'isNameUsed(name)');
    if (this.counters.has(name.toLowerCase()) || this.native.operationByName(name) !== null) return true;
    // A scan of every operation per call made graph building quadratic: keep the scopes in a set instead.
    if (!this.scopeCache) {
      this.scopeCache = new Set();
      for (const op of this.native.operations()) addScopes(this.scopeCache, op.name());
    }
    return this.scopeCache.has(name);
  }

  /** A fresh name under the current scope: `base`, else `base_1`, `base_2`, … */
  unique(base: string, markUsed = true): string {
    checkName(base, 'uniqueName(base)');
    const name = this.current ? `${this.current}/${base}` : base;
    const key = name.toLowerCase();
    let i = this.counters.get(key) ?? 0;
    let candidate = name;
    if (i > 0 || this.isUsed(name)) {
      i = Math.max(i, 1);
      while (this.isUsed(`${name}_${i}`)) i++;
      candidate = `${name}_${i}`;
    }
    if (markUsed) {
      this.counters.set(key, i + 1);
      this.markUsed(candidate);
    }
    return candidate;
  }

  /** Records an operation name (and its scopes) as taken. */
  markUsed(name: string): void {
    const key = name.toLowerCase();
    this.counters.set(key, Math.max(this.counters.get(key) ?? 0, 1));
  }

  /** Records a new operation's name and scopes. */
  added(name: string): void {
    this.markUsed(name);
    if (this.scopeCache) addScopes(this.scopeCache, name);
  }

  /** TF added operations behind our back (imports, gradients): rebuild the scope set on next use. */
  invalidate(): void {
    this.scopeCache = null;
  }
}
