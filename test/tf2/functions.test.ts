// Restored tf.functions (test/tf2/fixtures/functions_tf2, made by test/tf2/gen/make_functions_tf2.py):
// trace selection by Python literals, keyword arguments and defaults, attribute paths of child objects,
// nested input/output structures, state shared between calls, a checkpointed MutableHashTable, cached call ops.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { LoadedModel, kwargs, load } from '../../src/hub/tf2';
import { Tensor, tensor } from '../../src/tensor';
import { CallJson, OWN_FIXTURES, assertValue, disposeAll, inputOf, readOracle } from './helpers';

const DIR = path.join(OWN_FIXTURES, 'functions_tf2');
const oracle = readOracle<{ calls: CallJson[]; increment: { args: number[]; results: number[] }; variables: string[] }>(`${DIR}.json`);

describe('restored functions: functions_tf2', () => {
  let model: LoadedModel;
  before(async () => {
    model = await load(DIR);
  });
  after(() => model.close());

  test('every function by attribute path, signatures, variables', () => {
    assert.deepEqual(Object.keys(model.functions).sort(), ['__call__', 'combine', 'encoder.__call__', 'increment', 'scale', 'tokens']);
    assert.deepEqual(Object.keys(model.signatures).sort(), ['serving_default', 'with_training']);
    assert.deepEqual(model.variables.map((v) => v.name).sort(), oracle.variables);
    assert.deepEqual(model.trainableVariables.map((v) => v.name).sort(), ['bias:0', 'w:0']);
    assert.equal(model.functions.__call__.concreteFunctions.length, 2);
    assert.match(model.functions.scale.concreteFunctions.map((c) => c.inputSignature).join(' '), /, 2\.0\).*, 3\.0\)/);
  });

  test('every call of the Python oracle (literals, kwargs, defaults, dict in, tuple/None out, table)', async () => {
    for (const [i, call] of oracle.calls.entries()) {
      const what = `call ${i} ${call.callable ?? call.signature} ${JSON.stringify(call.kwargs ?? {})}`;
      let out: unknown;
      if (call.signature) out = await model.signatures[call.signature](inputOf(call.inputs));
      else {
        const args = (call.inputs as unknown[]).map(inputOf);
        out = await model.functions[call.callable!].callWithKwargs(args, call.kwargs);
      }
      assertValue(out, call.outputs, what);
      disposeAll(out);
    }
  });

  test('a Python bool literal selects the trace; kwargs() and callWithKwargs agree', async () => {
    const x = [
      [1, 0, -1],
      [0.5, 2, 1],
    ];
    const plain = (await model.call(x)) as Tensor;
    const train = (await model.call(x, true)) as Tensor;
    const kw = (await model.call(x, kwargs({ training: true }))) as Tensor;
    const viaCall = (await model.functions.__call__.callWithKwargs([x], { training: true })) as Tensor;
    assert.deepEqual(
      train.array(),
      (plain.array() as number[][]).map((r) => r.map((v) => v * 2)),
    );
    assert.deepEqual(kw.array(), train.array());
    assert.deepEqual(viaCall.array(), train.array());
  });

  test('no matching trace: a typed error listing the options', async () => {
    await assert.rejects(model.functions.scale([1, 2], 5), (e: Error & { code: string }) => {
      assert.equal(e.code, 'ERR_NO_MATCHING_FUNCTION');
      assert.match(e.message, /Could not find matching concrete function.*'scale'/);
      assert.match(e.message, /Option 1: .*2\.0\)/);
      assert.match(e.message, /expected the Python value 2\.0, got 5/);
      return true;
    });
    await assert.rejects(model.functions['encoder.__call__']([[1, 2]]), {
      code: 'ERR_NO_MATCHING_FUNCTION',
      message: /Got shape \(1, 2\), expected \(None, 3\)/,
    });
    await assert.rejects(model.functions['encoder.__call__'](new Tensor('int32', [1, 3], [1, 2, 3])), {
      code: 'ERR_NO_MATCHING_FUNCTION',
      message: /Got a int32 Tensor, expected float32/,
    });
    await assert.rejects(model.functions.combine({ a: [1], c: [2] }), {
      code: 'ERR_NO_MATCHING_FUNCTION',
      message: /expected keys \[a, b\], got \[a, c\]/,
    });
    await assert.rejects(model.call([[1, 2, 3]], kwargs({ nope: 1 })), {
      code: 'ERR_NO_MATCHING_FUNCTION',
      message: /unexpected keyword argument 'nope'/,
    });
    await assert.rejects(model.functions.increment(), { code: 'ERR_NO_MATCHING_FUNCTION', message: /missing a required argument: 'n'/ });
    await assert.rejects(model.functions.tokens([1, 2]), { code: 'ERR_NO_MATCHING_FUNCTION', message: /Expected string, got numbers/ });
  });

  test('signature inputs are checked by key, dtype and shape before the run', async () => {
    const sig = model.signatures.with_training;
    assert.deepEqual(Object.keys(sig.inputs).sort(), ['training', 'x']);
    await assert.rejects(sig({ x: [[1, 2, 3]] }), { name: 'TypeError', code: 'ERR_SIGNATURE_INPUTS', message: /missing \['training'\]/ });
    await assert.rejects(sig({ x: [[1, 2, 3]], training: true, extra: 1 }), {
      code: 'ERR_SIGNATURE_INPUTS',
      message: /extra given \['extra'\]/,
    });
    await assert.rejects(sig({ x: [[1, 2]], training: true }), {
      code: 'ERR_INPUT_SHAPE',
      message: /input 'x'.*Got shape \(1, 2\), expected \(None, 3\)/,
    });
    await assert.rejects(sig({ x: [[1, 2, 3]], training: 1 }), { code: 'ERR_INPUT_DTYPE', message: /input 'training'.*Expected bool/ });
    await assert.rejects(sig({ x: new Tensor('float64', [1, 3], [1, 2, 3]), training: true }), {
      code: 'ERR_INPUT_DTYPE',
      message: /input 'x': Got a float64 Tensor, expected float32/,
    });
    await assert.rejects(sig([[1, 2, 3]]), { code: 'ERR_SIGNATURE_INPUTS', message: /expects multiple inputs/ });
    // One-input signatures take the value alone.
    const y = await model.signatures.serving_default([[1, 0, -1]]);
    assert.deepEqual((y.y as Tensor).shape, [1, 2]);
  });

  test('state is shared between calls (and with variable reads)', async () => {
    const fresh = await load(DIR);
    try {
      const results: number[] = [];
      for (const n of oracle.increment.args) results.push(((await fresh.functions.increment(n)) as Tensor).array() as number);
      assert.deepEqual(results, oracle.increment.results);
      const counter = fresh.variables.find((v) => v.name === 'counter:0')!;
      assert.equal((await counter.read()).array(), oracle.increment.results.at(-1));
    } finally {
      fresh.close();
    }
  });

  test('call ops are built once: repeated and concurrent calls add nothing to the graph', async () => {
    const x = tensor([[1, 2, 3]]);
    await model.call(x);
    await model.signatures.serving_default({ x });
    const ops = model.graph.operations().length;
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? model.call(x) : model.signatures.serving_default({ x }).then((r) => r.y))),
    );
    assert.equal(model.graph.operations().length, ops);
    const first = (results[0] as Tensor).array();
    for (const r of results) assert.deepEqual((r as Tensor).array(), first);
  });
});
