// A module that needs a custom op: loading fails naming the op until loadOpLibrary() registers it, then the module
// runs with the library's kernel. The op library is compiled here from custom_op/square_op.c (skipped, visibly, when
// no C compiler is available).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

import { Session, Tensor, hub, loadOpLibrary, opDefs, tensorflowLibraryPath } from '../../src';
import { REPO, assertThrowsCode, copyFixture, editSavedModel, graphFor, tempDir } from './helpers';

const CC = process.env.CC || 'cc';
const hasCompiler = spawnSync(CC, ['--version'], { stdio: 'ignore' }).status === 0;

test(
  'a module using a custom op: ERR_MISSING_OPS naming it, then loadOpLibrary() makes it run',
  { skip: hasCompiler ? false : `no C compiler (${CC})` },
  async (t) => {
    const dir = copyFixture('stateless_square_v1', tempDir(t));
    let replaced = 0;
    editSavedModel(dir, (sm) => {
      for (const mg of sm.metaGraphs) {
        for (const node of mg.graphDef!.node!) {
          // x * x (Mul of one input with itself) becomes the custom op
          if (node.op === 'Mul' && node.input!.length === 2 && node.input![0] === node.input![1]) {
            node.op = 'TfhubTestSquare';
            node.input = [node.input![0]];
            node.attr = {};
            replaced++;
          }
        }
      }
    });
    assert.ok(replaced > 0, 'the fixture computes its output as x * x');
    const spec = await hub.loadModuleSpec(dir);
    assertThrowsCode(() => new hub.Module(spec, { graph: graphFor(t) }), 'ERR_MISSING_OPS', "'TfhubTestSquare'", 'loadOpLibrary');

    // Build the op library against the libtensorflow this process uses.
    const lib = path.join(tempDir(t), 'libtfhub_test_square.so');
    const includeDir = execFileSync(process.execPath, [path.join(REPO, 'scripts', 'libtensorflow.js'), 'include-dir'], {
      encoding: 'utf8',
    }).trim();
    const libDir = path.dirname(tensorflowLibraryPath());
    execFileSync(
      CC,
      [
        '-shared',
        '-fPIC',
        '-O1',
        '-o',
        lib,
        path.join(REPO, 'test', 'hub', 'custom_op', 'square_op.c'),
        `-I${includeDir}`,
        `-L${libDir}`,
        '-l:libtensorflow_framework.so.2',
        `-Wl,-rpath,${libDir}`,
      ],
      { stdio: 'pipe' },
    );

    const ops = loadOpLibrary(lib);
    assert.deepEqual(ops, ['TfhubTestSquare'], 'the library reports the ops it registered');
    assert.ok(opDefs().has('TfhubTestSquare'), 'the registry sees the new op');

    const g = graphFor(t);
    const m = new hub.Module(spec, { graph: g });
    const y = m.call(new Tensor('float32', [4], new Float32Array([1, -2, 3, 0.5])));
    const s = new Session(g);
    try {
      const out = (await s.run(y as never)) as Tensor;
      assert.deepEqual([...(out.data() as Float32Array)], [1, 4, 9, 0.25]);
    } finally {
      s.close();
    }
  },
);
