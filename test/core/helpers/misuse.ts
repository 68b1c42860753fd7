// API misuse from issue 11 (what a mutation run found), run in a child process by child.ts ('misuse') so that a
// crash, a V8 fatal error or a stack overflow shows up as the child's exit status. Each case must throw a typed
// error with a code; `[name, fn]` pairs, run in order.
import { Graph, Session, Tensor, tensor } from '../../../src';

/** A nested array (or record) `depth` levels deep around `leaf`. */
function nest(leaf: unknown, depth: number, asRecord = false): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asRecord ? { a: v } : [v];
  return v;
}

/** A Proxy over an empty array that claims `length` elements (every element reads as 1). */
function lyingArray(length: number): unknown[] {
  return new Proxy([] as unknown[], {
    get: (t, k) => (k === 'length' ? length : typeof k === 'string' && /^\d+$/.test(k) ? 1 : Reflect.get(t, k)),
  });
}

export function misuseCases(): Array<[string, () => unknown]> {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 2], 'x');
  const y = g.addOperation('Identity', { inputs: [x] }).output(0);
  const s = new Session(g);
  const opt = (options: unknown) => () => new Session(g, options as never);
  return [
    // Tensor constructor: the dtype is a name, never taken as a native handle.
    ['new Tensor(3)', () => new Tensor(3 as never, [1], [1])],
    ['new Tensor(null)', () => new Tensor(null as never, [1], [1])],
    ['new Tensor(undefined)', () => new Tensor(undefined as never, [1], [1])],
    ['new Tensor({})', () => new Tensor({} as never, [1], [1])],
    ['new Tensor(true)', () => new Tensor(true as never, [1], [1])],
    ['new Tensor(Symbol)', () => new Tensor(Symbol('x') as never, [1], [1])],
    ['new Tensor(forged handle)', () => new Tensor(Object.create(Object.getPrototypeOf(new Tensor('float32', [], [1]).native)) as never)],
    ['new Tensor(unknown dtype)', () => new Tensor('float33' as never, [1], [1])],
    ['new Tensor(rank 10000)', () => new Tensor('float32', new Array(10000).fill(1), [1])],
    // Sizes before walking.
    ['tensor(new Array(2**32-1))', () => tensor(new Array(2 ** 32 - 1))],
    ['tensor(Proxy length 2**32-1)', () => tensor(lyingArray(2 ** 32 - 1))],
    ['tensor(nested 2**16 x 2**16)', () => tensor(new Array(2 ** 16).fill(new Array(2 ** 16).fill(0)))],
    ['new Tensor float32 new Array(2**32-1)', () => new Tensor('float32', [2 ** 32 - 1], new Array(2 ** 32 - 1))],
    ['new Tensor string new Array(2**32-1)', () => new Tensor('string', [2 ** 32 - 1], new Array(2 ** 32 - 1))],
    ['new Tensor float32 Proxy length', () => new Tensor('float32', [3], lyingArray(2 ** 32 - 1) as never)],
    ['feed new Array(2**32-1)', () => s.runSync(y, { 'x:0': new Array(2 ** 32 - 1) })],
    ['feed Proxy length 2**32-1', () => s.runSync(y, { 'x:0': lyingArray(2 ** 32 - 1) })],
    ['feed nested 20000 deep', () => s.runSync(y, { 'x:0': nest(1, 20000) as never })],
    ['tensor nested 20000 deep', () => tensor(nest(1, 20000))],
    // Fetch structures.
    ['fetch array 20000 deep', () => s.runSync(nest(y, 20000) as never, { 'x:0': [[1, 2]] })],
    ['fetch record 20000 deep', () => s.runSync(nest(y, 20000, true) as never, { 'x:0': [[1, 2]] })],
    ['async fetch 20000 deep', () => s.run(nest(y, 20000) as never, { 'x:0': [[1, 2]] })],
    // Names, collections, run arguments.
    ['withNameScope(null)', () => g.withNameScope(null as never, () => 1)],
    ['withNameScope(name, null)', () => g.withNameScope('a', null as never)],
    ['uniqueName(null)', () => g.uniqueName(null as never)],
    ['uniqueName(5)', () => g.uniqueName(5 as never)],
    ['isNameUsed(undefined)', () => g.isNameUsed(undefined as never)],
    ['addToCollection(variables, null)', () => g.addToCollection('variables', null)],
    ['addToCollection(variables, undefined)', () => g.addToCollection('variables', undefined)],
    ['addToCollection(null, 1)', () => g.addToCollection(null as never, 1)],
    ['getCollection({})', () => g.getCollection({} as never)],
    ['run(x, 5)', () => s.runSync(y, 5 as never)],
    ['run(x, [])', () => s.runSync(y, [] as never)],
    ['run(x, feeds, 5)', () => s.runSync(y, { 'x:0': [[1, 2]] }, 5 as never)],
    ['run targets not an array', () => s.runSync(y, { 'x:0': [[1, 2]] }, { targets: 'x' as never })],
    ['run timeoutMs -1', () => s.runSync(y, { 'x:0': [[1, 2]] }, { timeoutMs: -1 })],
    ['run timeoutMs NaN', () => s.runSync(y, { 'x:0': [[1, 2]] }, { timeoutMs: NaN })],
    ['addOperation inputs not an array', () => g.addOperation('Identity', { inputs: x as never })],
    // Session options are range-checked before TensorFlow sees them.
    ['intraOpParallelism 1e9', opt({ intraOpParallelism: 1e9 })],
    ['intraOpParallelism -1', opt({ intraOpParallelism: -1 })],
    ['intraOpParallelism 1.5', opt({ intraOpParallelism: 1.5 })],
    ['intraOpParallelism NaN', opt({ intraOpParallelism: NaN })],
    ['intraOpParallelism Infinity', opt({ intraOpParallelism: Infinity })],
    ['intraOpParallelism "4"', opt({ intraOpParallelism: '4' })],
    ['interOpParallelism 1e9', opt({ interOpParallelism: 1e9 })],
    ['interOpParallelism -3', opt({ interOpParallelism: -3 })],
    ['deviceCount CPU 1e9', opt({ deviceCount: { CPU: 1e9 } })],
    ['deviceCount GPU -1', opt({ deviceCount: { GPU: -1 } })],
    ['deviceCount CPU 0.5', opt({ deviceCount: { CPU: 0.5 } })],
    ['deviceCount not a record', opt({ deviceCount: 3 })],
    ['deviceFilters a string', opt({ deviceFilters: '/job:ps' })],
    ['deviceFilters [1]', opt({ deviceFilters: [1] })],
    ['deviceFilters 5000 entries', opt({ deviceFilters: new Array(5000).fill('/job:ps') })],
    ['unknown session option', opt({ intraOpParalelism: 2 })],
    ['allowSoftPlacement "yes"', opt({ allowSoftPlacement: 'yes' })],
    ['config not bytes', opt({ config: 'abc' })],
    ['options 5', opt(5)],
    // Shapes: null / -1 are unknown dimensions; anything else names the element.
    ['placeholder [-2, 2]', () => g.placeholder('float32', [-2, 2])],
    ['placeholder [2, "a"]', () => g.placeholder('float32', [2, 'a' as never])],
    ['placeholder [2, 1.5]', () => g.placeholder('float32', [2, 1.5])],
    ['placeholder shape "abc"', () => g.placeholder('float32', 'abc' as never)],
    ['placeholder shape new Array(2**32-1)', () => g.placeholder('float32', new Array(2 ** 32 - 1))],
    ['Placeholder attr shape [null, NaN]', () => g.addOperation('Placeholder', { attrs: { dtype: 'float32', shape: [null, NaN] } })],
    [
      'list(shape) attr with a bad shape',
      () => g.addOperation('FIFOQueueV2', { attrs: { component_types: ['float32'], shapes: [[1, -5]] } }),
    ],
    ['list attr new Array(2**32-1)', () => g.addOperation('FIFOQueueV2', { attrs: { component_types: new Array(2 ** 32 - 1) } })],
  ];
}
