// hub.load signatures with batching, on every fixture: concurrent calls merged into one run give outputs that
// are bit-identical to running each call alone. Inputs are the oracle calls of NAME.json, split into one call
// per row plus the whole call. (The fixtures of ../shared/fixtures are byte-identical copies of test/fixtures.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { hub } from '../../src';
import { Tensor } from '../../src/tensor';
import { BatchRunInfo } from '../../src/batching';
import { BatchedSignatureFunction, withBatching } from '../../src/hub/batching';
import { extractHalfPlusTwo } from './helpers';
import { CallJson, FIXTURES, OWN_FIXTURES, TensorJson, isTensorJson, readOracle, tensorOf } from '../tf2/helpers';

/**
 * A signature whose outputs mix the rows of a batch, so that merging calls must change them (as it does in TF
 * Serving): batchnorm's 'train' graph normalizes with the batch's statistics. The test checks that the
 * comparison sees the difference. (The control-flow fixtures branch on reduce_sum over the whole batch too, but
 * every row of their oracle inputs takes the same branch, so they are compared like the others.)
 */
const MIXES_ROWS = new Set(["batchnorm_v1['train']/default"]);

interface Case {
  fixture: string;
  dir: string;
  tags?: string[];
  signature: string;
  calls: Array<Record<string, TensorJson>>;
}

function cases(): Case[] {
  const out = new Map<string, Case>();
  const files = [
    ...readdirSync(FIXTURES).map((f) => path.join(FIXTURES, f)),
    ...readdirSync(OWN_FIXTURES).map((f) => path.join(OWN_FIXTURES, f)),
  ];
  for (const file of files.filter((f) => f.endsWith('.json'))) {
    const fixture = path.basename(file, '.json');
    const dir = fixture === 'half_plus_two_v1' ? '' : path.join(path.dirname(file), fixture);
    if (dir && !existsSync(dir)) continue;
    const calls = readOracle<{ calls?: CallJson[] }>(file).calls ?? [];
    for (const call of calls) {
      if (!call.signature || Array.isArray(call.inputs)) continue;
      const inputs = call.inputs as Record<string, unknown>;
      if (!Object.values(inputs).every(isTensorJson)) continue; // sparse/ragged inputs: covered by the unbatchable check
      const key = `${fixture}${call.tags ? JSON.stringify(call.tags).replace(/"/g, "'") : ''}/${call.signature}`;
      // mlp_v1's 'train' variant applies dropout: not deterministic even alone.
      if (call.tags?.includes('train') && fixture !== 'batchnorm_v1') continue;
      const c = out.get(key) ?? { fixture, dir, tags: call.tags, signature: call.signature, calls: [] };
      c.calls.push(inputs as Record<string, TensorJson>);
      out.set(key, c);
    }
  }
  return [...out.values()];
}

/** The call itself, then one call per row of it. */
function splitCall(inputs: Record<string, TensorJson>): Array<Record<string, Tensor>> {
  const whole = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tensorOf(v)]));
  const rows = Object.values(inputs)[0].shape[0];
  if (Object.values(inputs).some((v) => v.shape.length === 0 || v.shape[0] !== rows)) return [whole];
  const perRow = Array.from({ length: rows }, (_, r) =>
    Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => {
        const width = v.shape.slice(1).reduce((a, b) => a * b, 1);
        return [k, tensorOf({ dtype: v.dtype, shape: [1, ...v.shape.slice(1)], values: v.values.slice(r * width, (r + 1) * width) })];
      }),
    ),
  );
  return [whole, ...perRow];
}

function bytesOf(t: Tensor): number[][] {
  return t.dtype === 'string' ? t.bytes().map((b) => Array.from(b)) : [Array.from(new Uint8Array((t.data() as Uint8Array).buffer))];
}

describe('hub.load batching: merged calls give bit-identical outputs on every fixture', () => {
  const all = cases();

  it('covers the fixtures with a batch dimension, string inputs and multi-output signatures among them', () => {
    const names = new Set(all.map((c) => c.fixture));
    for (const n of ['tf2_mlp', 'keras_cnn_tf2', 'text_embedding_v1', 'token_embedding_v1', 'mlp_v1', 'text_table_tf2', 'functions_tf2'])
      assert.ok(names.has(n), n);
  });

  for (const c of all) {
    const label = `${c.fixture}${c.tags ? JSON.stringify(c.tags).replace(/"/g, "'") : ''}/${c.signature}`;
    it(label, async () => {
      const dir = c.dir || (await extractHalfPlusTwo());
      const plain = await hub.load(dir, { tags: c.tags });
      const runs: BatchRunInfo[] = [];
      const batched = withBatching(
        await hub.load(dir, { tags: c.tags }),
        { maxBatchSize: 1000, numBatchThreads: 1 },
        { hooks: { onBatch: (i) => runs.push(i) } },
      );
      try {
        const sig = batched.signatures[c.signature] as BatchedSignatureFunction;
        const calls = c.calls.flatMap(splitCall);
        const alone: Array<Record<string, unknown>> = [];
        for (const call of calls) alone.push(await plain.signatures[c.signature](call));
        const merged = await Promise.all(calls.map((call) => sig(call)));
        if (!sig.batcher) {
          // Not batchable from its declaration (scalar inputs, fixed dimension 0, …): the plain signature.
          assert.equal(sig, batched.signatures[c.signature]);
        } else if (sig.batcher.stats().mergeDisabled === null && calls.length > 1) {
          assert.ok(
            runs.some((r) => r.merged && r.calls > 1),
            `${label}: calls were not merged (${JSON.stringify(runs)})`,
          );
        }
        if (MIXES_ROWS.has(label)) {
          assert.ok(
            merged.some((out, i) =>
              Object.entries(out).some(([k, t]) => JSON.stringify(bytesOf(t as Tensor)) !== JSON.stringify(bytesOf(alone[i][k] as Tensor))),
            ),
          );
          return;
        }
        merged.forEach((out, i) => {
          assert.deepEqual(Object.keys(out).sort(), Object.keys(alone[i]).sort());
          for (const [k, t] of Object.entries(out)) {
            const a = alone[i][k] as Tensor;
            assert.ok(t instanceof Tensor);
            assert.equal(t.dtype, a.dtype, `${label} call ${i} '${k}': dtype`);
            assert.deepEqual(t.shape, a.shape, `${label} call ${i} '${k}': shape`);
            assert.deepEqual(bytesOf(t), bytesOf(a), `${label} call ${i} '${k}': values differ from the call run alone`);
          }
        });
      } finally {
        plain.close();
        batched.close();
      }
    });
  }

  it('signatures that cannot be merged keep working unbatched (sparse and ragged inputs, scalar inputs)', async () => {
    const model = await hub.load(path.join(FIXTURES, 'sparse_ragged_v1'), { batching: { maxBatchSize: 8 } });
    try {
      for (const sig of Object.values(model.signatures))
        assert.equal((sig as BatchedSignatureFunction).batcher, undefined, sig.signatureName);
    } finally {
      model.close();
    }
    const fns = await hub.load(path.join(OWN_FIXTURES, 'functions_tf2'), { batching: { maxBatchSize: 8 } });
    try {
      assert.equal((fns.signatures.with_training as BatchedSignatureFunction).batcher, undefined);
      assert.ok((fns.signatures.serving_default as BatchedSignatureFunction).batcher);
    } finally {
      fns.close();
    }
  });

  it('hub.load refuses bad batching parameters before loading anything', async () => {
    await assert.rejects(hub.load('/nonexistent', { batching: { max_batch_size: { value: 0 } } as never }), {
      code: 'ERR_INVALID_BATCHING_PARAMETERS',
    });
  });
});
