// The published artifact: `npm run prebuild` writes prebuilds/linux-x64/…, `npm pack` packs it, and a scratch
// project installs the tarball and loads the prebuilt addon without compiling anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test(
  'npm pack tarball installs into a scratch project and loads the prebuilt addon with no compiler',
  { timeout: 15 * 60 * 1000, skip: process.env.TFHUB_SKIP_PACK_TEST ? 'TFHUB_SKIP_PACK_TEST is set' : false },
  () => {
    const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    const hasPrebuild = fs.existsSync(prebuildDir) && fs.readdirSync(prebuildDir).some((f) => f.endsWith('.node'));
    if (!hasPrebuild) execFileSync(npm, ['run', 'prebuild'], { cwd: root, stdio: 'pipe' });
    assert.ok(
      fs.readdirSync(prebuildDir).some((f) => f.endsWith('.node')),
      'prebuild written',
    );

    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-pack-'));
    try {
      const packed = execFileSync(npm, ['pack', '--pack-destination', scratch, '--ignore-scripts'], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
        .trim()
        .split('\n')
        .pop()!;
      const tarball = path.join(scratch, packed);
      assert.ok(fs.existsSync(tarball), `tarball ${tarball}`);
      const project = path.join(scratch, 'app');
      fs.mkdirSync(project);
      fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
      // A compiler or node-gyp run would fail: only the prebuilt addon can satisfy the install.
      const env = { ...process.env, npm_config_node_gyp: '/bin/false', CC: '/bin/false', CXX: '/bin/false', TFHUB_NODE_QUIET: '1' };
      execFileSync(npm, ['install', '--no-audit', '--no-fund', tarball], { cwd: project, env, stdio: 'pipe' });
      const installed = path.join(project, 'node_modules', 'tfhub-node');
      assert.equal(fs.existsSync(path.join(installed, 'build')), false, 'nothing was compiled');
      const script = `
      const { Graph, Session, hub } = require('tfhub-node');
      const g = new Graph();
      const x = g.placeholder('float32', [2], 'x');
      const y = g.addOperation('Mul', { inputs: [x, g.constant([3, 4])] }).output(0);
      const s = new Session(g);
      s.run(y, { 'x:0': [1, 2] }).then(async (t) => {
        const fn = await hub.evalFunctionForModule(require('path').join(require.resolve('tfhub-node/package.json'), '..', 'examples', 'half_plus_two'));
        const hp = await fn.call([1, 2, 5]);
        console.log(JSON.stringify({ y: Array.from(t.data()), hp: Array.from(hp.data()) }));
        fn.close(); s.close();
      });`;
      const out = execFileSync(process.execPath, ['-e', script], { cwd: project, env, encoding: 'utf8' });
      const result = JSON.parse(out.trim().split('\n').pop()!);
      assert.deepEqual(result, { y: [3, 8], hp: [2.5, 3, 4.5] });
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  },
);
