// Published SavedModels (test/published/SOURCES.md) against Python TF 2.21 (gen/make_oracles.py): each loads and
// matches Python's outputs to 1e-5 (and Python's call errors by class), or is refused at load as Python refuses it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { load } from '../../src/hub/tf2';
import { TFError } from '../../src/errors';
import { Tensor } from '../../src/tensor';
import { ValueJson, assertValue, disposeAll } from '../tf2/helpers';

/** test/published from dist/test/published. */
const DIR = path.join(__dirname, '../../../test/published');

interface InputJson { dtype: string; shape: number[]; values?: unknown[]; values_b64?: string[] }
interface CallJson { inputs: Record<string, InputJson>; outputs?: ValueJson; error?: { class: string; message: string } }
interface OracleJson {
  model: string;
  signatures?: Record<string, CallJson>;
  load_error?: { class: string; message: string };
  tf1_session?: Record<string, CallJson>;
}

/**
 * How each model Python's `tf.saved_model.load` refuses is decided here.
 * - `refuse`: refused at load too, with this code (Python's reason is the same).
 * - `todo`: known not to load yet, for the reason given.
 * - `tf1Session`: Python's TF2 loader refuses it for a reason of its own (below) while Python's TF1 loader, which is
 *   what TF Serving uses, loads it; hub.load serves it and matches Python's TF1 session outputs.
 */
const DECISIONS: Record<string, { refuse?: string; tf1Session?: string; todo?: string }> = {
  // Decision forests' custom ops are not in TF: Python "Op type not registered".
  df_adult_rf: { refuse: 'ERR_MISSING_OPS' },
  // variables/ is missing: Python NotFoundError "Unsuccessful TensorSliceReader constructor".
  tfnet_example1: { refuse: 'ERR_CHECKPOINT_NOT_FOUND' },
  serving_counter: { tf1Session: 'its signatures return ref-typed tensors (float_ref), which a tf.function cannot return' },
  // Its regress signature declares the string input tf_example:0 as DT_FLOAT: Python fails pruning it at load.
  serving_half_plus_three: { refuse: 'ERR_INVALID_SIGNATURE' },
  // Written by TF 2.14 with snappy-compressed checkpoint index blocks (read once they are supported).
  serving_half_plus_two_tf2_cpu: { todo: 'snappy-compressed checkpoint index blocks (ERR_UNSUPPORTED_CHECKPOINT)' },
  tfx_keras_serving: { tf1Session: "restoring the saved Keras optimizer's slots needs Keras 2 ('_UserObject' object has no attribute 'add_slot')" },
};

function inputTensor(j: InputJson): Tensor {
  if (j.values_b64) return new Tensor('string', j.shape, j.values_b64.map((b) => new Uint8Array(Buffer.from(b, 'base64'))));
  const values = j.dtype === 'int64' || j.dtype === 'uint64' ? (j.values as number[]).map(BigInt) : j.values;
  return new Tensor(j.dtype as never, j.shape, values as never);
}

async function checkCalls(name: string, model: Awaited<ReturnType<typeof load>>, calls: Record<string, CallJson>): Promise<void> {
  // In the oracle's (sorted) order: some models are stateful (serving_counter).
  for (const key of Object.keys(calls).sort()) {
    const call = calls[key];
    const fn = model.signatures[key];
    assert.ok(fn, `${name}: signature ${key} (has ${Object.keys(model.signatures).join(', ')})`);
    const inputs = Object.fromEntries(Object.entries(call.inputs).map(([k, v]) => [k, inputTensor(v)]));
    try {
      if (call.error) {
        await assert.rejects(fn(inputs), (e: Error) => e instanceof TFError && e.name === call.error!.class,
          `${name} ${key}: Python raised ${call.error.class}: ${call.error.message}`);
        continue;
      }
      const out = await fn(inputs);
      try {
        assertValue(out, call.outputs!, `${name} ${key}`);
      } finally {
        disposeAll(out);
      }
    } finally {
      disposeAll(inputs);
    }
  }
}

const names = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

describe('published models vs Python TF 2.21', () => {
  test('the collection has at least 20 models, each with an oracle and a source', () => {
    assert.ok(names.length >= 20, `${names.length} models`);
    const sources = readFileSync(path.join(DIR, 'SOURCES.md'), 'utf8');
    for (const n of names) assert.ok(sources.includes(`| ${n} |`), `${n} is listed in SOURCES.md`);
  });

  for (const name of names) {
    const oracle = JSON.parse(readFileSync(path.join(DIR, `${name}.json`), 'utf8')) as OracleJson;
    const decision = DECISIONS[name] ?? {};
    test(name, { todo: decision.todo }, async () => {
      const dir = path.join(DIR, name);
      if (oracle.load_error) {
        assert.ok(decision.refuse || decision.tf1Session, `${name}: Python refuses it at load (${oracle.load_error.class}: ${oracle.load_error.message}); decide`);
        if (decision.refuse) {
          await assert.rejects(load(dir), (e: Error & { code?: string }) => {
            assert.equal(e.code, decision.refuse, `${name}: ${e.message}`);
            return true;
          });
          return;
        }
        assert.ok(oracle.tf1_session, `${name}: no TF1-loader oracle`);
      } else {
        assert.equal(decision.refuse, undefined, `${name}: Python loads it`);
      }
      const model = await load(dir);
      try {
        await checkCalls(name, model, oracle.signatures ?? oracle.tf1_session!);
      } finally {
        model.close();
      }
    });
  }
});
