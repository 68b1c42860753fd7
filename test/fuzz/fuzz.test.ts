// The fast slice of the mutation harness (the long run: `npm run fuzz -- --cases 10000`, results in
// docs/fuzzing.md): 200 seeded cases over every class, in worker processes. Each must end as a success or an
// error with a `code` — no crash, hang, runaway memory or untyped error. A failure names the case id; rerun it
// alone with `node bench/fuzz/run.js --seed 7 --case ID`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz } from './runner';
import { CLASSES } from './cases';

describe('mutation harness (fast slice)', () => {
  test('200 cases (seed 7): no crash, hang, runaway allocation or error without a code', { timeout: 180_000 }, async () => {
    const results = await runFuzz({ seed: 7, cases: 200, workers: 2, caseTimeoutMs: 30_000 });
    assert.equal(results.length, 200);
    const seen = new Set(results.map((r) => r.cls));
    for (const c of CLASSES) assert.ok(seen.has(c), `class ${c} ran`);
    const bad = results.filter((r) => r.outcome !== 'ok' && r.outcome !== 'typed');
    assert.deepEqual(bad, [], JSON.stringify(bad, null, 1));
  });
});
