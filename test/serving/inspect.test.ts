// `tfhub-node inspect` against Python's `saved_model_cli show`: the listings the fixture generator saved, and,
// where Python TensorFlow is installed, saved_model_cli run now on every SavedModel and TF1 Hub module of
// test/fixtures. The op set is compared as a set (Python prints it in hash order).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatShowAll, formatShowTagSet, inspectCommand } from '../../src/cli/inspect';
import { readSavedModel } from '../../src/hub/saved_model';
import { FIXTURES } from '../helpers/oracle';
import { runPython } from '../helpers/python';
import { SERVING_FIXTURES } from './helpers';

/** The listing with each op set as a sorted list, so that hash order does not matter. */
function normalize(text: string): string {
  return text.replace(/contains the following ops: (\{[^\n]*\}|set\(\))/g, (_m, set: string) => {
    const ops = set === 'set()' ? [] : [...set.matchAll(/'([^']*)'/g)].map((m) => m[1]).sort();
    return `contains the following ops: ${JSON.stringify(ops)}`;
  });
}

const ORACLES: Record<string, string> = {
  tf1_example: path.join(SERVING_FIXTURES, 'tf1_example'),
  tf2_multi: path.join(SERVING_FIXTURES, 'tf2_multi'),
  counter: path.join(SERVING_FIXTURES, 'counter'),
  half_plus_1: path.join(SERVING_FIXTURES, 'half_plus', '1'),
  mlp_v1: path.join(FIXTURES, 'mlp_v1'),
};

describe('tfhub-node inspect', () => {
  for (const [name, dir] of Object.entries(ORACLES)) {
    test(`${name}: the text saved_model_cli show --all printed`, async () => {
      const want = fs.readFileSync(path.join(SERVING_FIXTURES, `${name}.saved_model_cli.txt`), 'utf8');
      assert.equal(normalize(formatShowAll(await readSavedModel(dir))), normalize(want));
    });
  }

  test('--tag_set and --signature_def print what saved_model_cli does', async () => {
    const sm = await readSavedModel(ORACLES.tf1_example);
    assert.equal(
      formatShowTagSet(sm, 'serve'),
      'The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:\nSignatureDef key: "classify"\nSignatureDef key: "predict"\nSignatureDef key: "regress"\nSignatureDef key: "serving_default"\n',
    );
    const all = fs.readFileSync(path.join(SERVING_FIXTURES, 'tf1_example.saved_model_cli.txt'), 'utf8');
    const block = formatShowTagSet(sm, 'serve', 'regress');
    assert.ok(
      all.includes(
        block
          .split('\n')
          .map((l) => (l ? `  ${l}` : l))
          .join('\n'),
      ),
      block,
    );
  });

  test('exit codes: 0, 2 for bad flags, 1 for a missing model', async () => {
    const log = console.log,
      err = console.error,
      write = process.stdout.write;
    const out: string[] = [];
    console.log = (s: string) => out.push(s);
    console.error = (s: string) => out.push(s);
    process.stdout.write = ((s: string) => out.push(s) > 0) as unknown as typeof process.stdout.write;
    try {
      assert.equal(await inspectCommand(['--dir', ORACLES.half_plus_1, '--all']), 0, out.join('\n'));
      assert.match(out.join(''), /signature_def\['serving_default'\]/);
      assert.equal(await inspectCommand([]), 2);
      assert.equal(await inspectCommand(['--bogus', 'x']), 2);
      assert.equal(await inspectCommand([ORACLES.half_plus_1, '--signature_def', 'x']), 2);
      assert.equal(await inspectCommand([ORACLES.half_plus_1, '--tag_set', 'nope']), 2);
      assert.equal(await inspectCommand([path.join(SERVING_FIXTURES, 'no_such_model')]), 1);
      assert.equal(await inspectCommand(['--help']), 0);
    } finally {
      console.log = log;
      console.error = err;
      process.stdout.write = write;
    }
  });

  test('TF2 (bool argument) and TF1 (sparse/ragged) models of test/fixtures print as saved_model_cli prints them now', async (t) => {
    // A sample (saved_model_cli loads TF2 models, seconds each); all of them printed the same when this was written.
    const dirs = ['tf2_mlp', 'sparse_ragged_v1'].map((n) => path.join(FIXTURES, n));
    const script = [
      'import sys, io, contextlib, json',
      'from tensorflow.python.tools import saved_model_cli',
      'out = {}',
      'for d in json.load(sys.stdin):',
      '  buf = io.StringIO()',
      '  with contextlib.redirect_stdout(buf):',
      '    saved_model_cli._show_all(d)',
      '  out[d] = buf.getvalue()',
      'print(json.dumps(out))',
    ].join('\n');
    const r = runPython(script, JSON.stringify(dirs));
    if (!r) return t.skip('Python TensorFlow is not installed');
    assert.equal(r.status, 0, r.stderr);
    const want = JSON.parse(r.stdout.slice(r.stdout.indexOf('{"'))) as Record<string, string>;
    assert.equal(Object.keys(want).length, dirs.length);
    for (const d of dirs) assert.equal(normalize(formatShowAll(await readSavedModel(d))), normalize(want[d]), path.basename(d));
  });
});
