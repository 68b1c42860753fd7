/**
 * Calling restored functions: how call arguments bind to a concrete function's `(args, kwargs)` structure
 * (Python's FunctionSpec / a bare concrete function's keywords), and the dispatch over a function's traces with
 * the one ERR_NO_MATCHING_FUNCTION message. Shared by hub.load (values) and KerasLayer (graph Outputs).
 */
import { typeError } from '../../errors';
import { tensorflow } from '../../proto';
import { BoundLeaf, LeafBinder, Spec, bindSpec, decodeSpec, formatSpec, formatValue, tensorBinder } from '../tf2/structure';

/** A concrete function of the object graph: its name, captures and (args, kwargs) input structure. */
export interface Concrete {
  readonly name: string;
  readonly boundInputs: number[];
  /** `(args_tuple, kwargs_dict)` */
  readonly input: Spec;
  readonly output: Spec;
}

/** A restored function: its attribute path, traces and how it binds arguments. */
export interface RestoredFunctionPlan {
  readonly path: string;
  readonly binding: ArgBinding;
  readonly concretes: Concrete[];
}

/** How a restored function binds call arguments (Python's FunctionSpec / bare concrete function keywords). */
export type ArgBinding =
  | {
      kind: 'spec';
      args: string[];
      defaults: Map<string, unknown>;
      kwonly: string[];
      kwonlyDefaults: Map<string, unknown>;
      varargs: boolean;
      varkw: boolean;
    }
  | { kind: 'keywords'; keywords: string[]; positional: number };

const MISSING = Symbol('missing');

/** A JS value for a Python default argument stored as a StructuredValue. */
function specToJs(spec: Spec): unknown {
  switch (spec.kind) {
    case 'none':
      return null;
    case 'literal':
      return spec.value;
    case 'list':
    case 'tuple':
      return spec.items.map(specToJs);
    case 'dict':
    case 'namedtuple':
      return Object.fromEntries(spec.keys.map((k, i) => [k, specToJs(spec.values[i])]));
    default:
      return MISSING;
  }
}

function stringsOf(spec: Spec | undefined): string[] {
  if (!spec || (spec.kind !== 'list' && spec.kind !== 'tuple')) return [];
  return spec.items.map((s) => (s.kind === 'literal' ? String(s.value) : ''));
}

/** The argument binding of a restored tf.function (Python's FunctionSpec). */
export function bindingFromFunctionSpec(fs: tensorflow.IFunctionSpec | null | undefined): ArgBinding {
  const full = decodeSpec(fs?.fullargspec);
  const field = (k: string): Spec | undefined => (full.kind === 'namedtuple' ? full.values[full.keys.indexOf(k)] : undefined);
  let args = stringsOf(field('args'));
  if (fs?.isMethod && args[0] === 'self') args = args.slice(1);
  const defaults = new Map<string, unknown>();
  const d = field('defaults');
  if (d && (d.kind === 'tuple' || d.kind === 'list')) {
    const offset = args.length - d.items.length;
    d.items.forEach((item, i) => {
      const v = specToJs(item);
      if (v !== MISSING && offset + i >= 0) defaults.set(args[offset + i], v);
    });
  }
  const kwonly = stringsOf(field('kwonlyargs'));
  const kwonlyDefaults = new Map<string, unknown>();
  const kd = field('kwonlydefaults');
  if (kd && kd.kind === 'dict')
    kd.keys.forEach((k, i) => {
      const v = specToJs(kd.values[i]);
      if (v !== MISSING) kwonlyDefaults.set(k, v);
    });
  const varargs = field('varargs');
  const varkw = field('varkw');
  return {
    kind: 'spec',
    args,
    defaults,
    kwonly,
    kwonlyDefaults,
    varargs: !!varargs && varargs.kind !== 'none',
    varkw: !!varkw && varkw.kind !== 'none',
  };
}

/** Binds call arguments to the `(args, kwargs)` structure of a concrete function; a string is an error. */
export function bindArguments(
  b: ArgBinding,
  c: Concrete,
  args: unknown[],
  kwargs: Record<string, unknown>,
): [unknown[], Record<string, unknown>] | string {
  const argsLen = c.input.kind === 'tuple' && c.input.items[0]?.kind === 'tuple' ? c.input.items[0].items.length : 0;
  if (b.kind === 'keywords') {
    if (args.length > b.positional)
      return `takes ${b.positional} positional argument${b.positional === 1 ? '' : 's'} but ${args.length} were given`;
    const values = new Map<string, unknown>();
    b.keywords.forEach((k, i) => {
      if (i < args.length) values.set(k, args[i]);
    });
    for (const [k, v] of Object.entries(kwargs)) {
      if (!b.keywords.includes(k)) return `got an unexpected keyword argument '${k}'`;
      if (values.has(k)) return `got multiple values for argument '${k}'`;
      values.set(k, v);
    }
    const missing = b.keywords.filter((k) => !values.has(k));
    if (missing.length > 0) return `missing required argument${missing.length > 1 ? 's' : ''}: ${missing.map((m) => `'${m}'`).join(', ')}`;
    const positional = b.keywords.slice(0, argsLen).map((k) => values.get(k));
    const kw = Object.fromEntries(b.keywords.slice(argsLen).map((k) => [k, values.get(k)]));
    return [positional, kw];
  }
  if (args.length > b.args.length && !b.varargs)
    return `takes ${b.args.length} positional argument${b.args.length === 1 ? '' : 's'} but ${args.length} were given`;
  const positional: unknown[] = [];
  const used = new Set<string>();
  for (let i = 0; i < b.args.length; i++) {
    const name = b.args[i];
    if (i < args.length) {
      if (Object.prototype.hasOwnProperty.call(kwargs, name)) return `got multiple values for argument '${name}'`;
      positional.push(args[i]);
    } else if (Object.prototype.hasOwnProperty.call(kwargs, name)) {
      positional.push(kwargs[name]);
      used.add(name);
    } else if (b.defaults.has(name)) positional.push(b.defaults.get(name));
    else return `missing a required argument: '${name}'`;
  }
  if (args.length > b.args.length) positional.push(...args.slice(b.args.length));
  const kw: Record<string, unknown> = {};
  for (const name of b.kwonly) {
    if (Object.prototype.hasOwnProperty.call(kwargs, name)) {
      kw[name] = kwargs[name];
      used.add(name);
    } else if (b.kwonlyDefaults.has(name)) kw[name] = b.kwonlyDefaults.get(name);
    else return `missing a required keyword-only argument: '${name}'`;
  }
  for (const [k, v] of Object.entries(kwargs)) {
    if (used.has(k)) continue;
    if (!b.varkw) return `got an unexpected keyword argument '${k}'`;
    kw[k] = v;
  }
  return [positional, kw];
}

/** A concrete function's inputs as Python writes them: `(x, training=True)`. */
export function formatConcreteInputs(c: Concrete): string {
  if (c.input.kind !== 'tuple' || c.input.items.length !== 2) return formatSpec(c.input);
  const [a, k] = c.input.items;
  const parts: string[] = [];
  if (a.kind === 'tuple') parts.push(...a.items.map(formatSpec));
  if (k.kind === 'dict') parts.push(...k.keys.map((key, i) => `${key}=${formatSpec(k.values[i])}`));
  return `(${parts.join(', ')})`;
}

/** Whether a restored function takes a `training` argument (Python's `func_has_training_argument`). */
export function hasTrainingArgument(b: ArgBinding): boolean {
  return b.kind === 'spec' ? b.args.includes('training') || b.kwonly.includes('training') : b.keywords.includes('training');
}

/**
 * Python's concrete-function dispatch: the first trace the arguments bind to, tensors first without conversion,
 * then with. Throws ERR_NO_MATCHING_FUNCTION listing every option and why it did not match.
 */
export function dispatch(
  fn: RestoredFunctionPlan,
  args: unknown[],
  kwargs: Record<string, unknown>,
  binder: LeafBinder = tensorBinder,
  show: (v: unknown) => string = (v) => formatValue(v),
): { concrete: Concrete; bound: BoundLeaf[] } {
  const reasons = new Map<Concrete, string>();
  for (const allowConversion of [false, true]) {
    for (const c of fn.concretes) {
      const b = bindArguments(fn.binding, c, args, kwargs);
      if (typeof b === 'string') {
        reasons.set(c, b);
        continue;
      }
      const bound: BoundLeaf[] = [];
      const why = bindSpec(c.input, b, allowConversion, 'args', bound, binder);
      if (why === null) return { concrete: c, bound };
      reasons.set(c, why.replace(/^args\[0\]\[(\d+)\]/, 'args[$1]').replace(/^args\[1\]\./, 'kwargs.'));
    }
  }
  const got = [...args.map(show), ...Object.entries(kwargs).map(([k, v]) => `${k}=${show(v)}`)].join(', ');
  const options = fn.concretes
    .map((c, i) => `  Option ${i + 1}: ${formatConcreteInputs(c)}\n    (${reasons.get(c) ?? 'no match'})`)
    .join('\n');
  throw typeError(
    'ERR_NO_MATCHING_FUNCTION',
    `Could not find matching concrete function to call loaded from the SavedModel for '${fn.path}'. Got: (${got}).\n` +
      `Expected these arguments to match one of the following ${fn.concretes.length} option(s):\n${options}`,
  );
}
