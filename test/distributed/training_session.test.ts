// train.TrainingSession: the chief initializes, saves every N steps and at the end; a restart restores the
// latest checkpoint at its global step and the losses continue as in an uninterrupted run; a non-chief on the
// same cluster waits for the chief's initialization.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Graph, Output, Server, Tensor, train } from '../../src';
import { meanSquaredError } from '../helpers/oracle';
import { freePort } from './procs';

function build(device = '') {
  const g = new Graph();
  const parts = g.withDevice(device ? train.replicaDeviceSetter({ psTasks: 1, workerDevice: device }) : '', () => {
    const step = train.getOrCreateGlobalStep(g);
    const w = train.variable(g, { name: 'w', initialValue: [[0.5], [-1], [2]] });
    const x = g.constant(new Tensor('float32', [4, 3], [1, 2, 0, 0, 1, 1, 2, 0, 1, 1, 1, 1]), 'x');
    const y = g.constant(new Tensor('float32', [4, 1], [1, 0, 2, 1]), 'y');
    const loss = meanSquaredError(g, g.addOperation('MatMul', { inputs: [x, w.value()] }).output(0), y);
    const op = new train.GradientDescentOptimizer(0.05).minimize(loss, { globalStep: step });
    return { loss, op, w };
  });
  return { g, ...parts };
}

async function stepLoss(ts: train.TrainingSession, loss: Output, op: ReturnType<typeof build>['op']): Promise<number> {
  const [l] = (await ts.run([loss, op])) as [Tensor, null];
  const v = l.array() as number;
  l.dispose();
  return v;
}

describe('train.TrainingSession', () => {
  test('saves every 3 steps and at the end; a restart resumes at the saved global step with the same losses', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-ts-'));
    try {
      // Reference: 10 uninterrupted steps.
      const ref = build();
      const refTs = new train.TrainingSession(ref.g, {});
      const refLosses: number[] = [];
      for (let i = 0; i < 10; i++) refLosses.push(await stepLoss(refTs, ref.loss, ref.op));
      await refTs.close();

      const a = build();
      const seen: number[] = [];
      const ts = new train.TrainingSession(a.g, {
        checkpointDir: dir,
        saveCheckpointSteps: 3,
        lastStep: 7,
        hooks: [
          {
            afterRun: ({ globalStep }) => {
              seen.push(globalStep);
            },
          },
        ],
      });
      const losses: number[] = [];
      while (!ts.shouldStop) losses.push(await stepLoss(ts, a.loss, a.op));
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
      assert.equal(await train.latestCheckpoint(dir), path.join(dir, 'model.ckpt-6'));
      await ts.close(); // the final save
      assert.equal(await train.latestCheckpoint(dir), path.join(dir, 'model.ckpt-7'));
      assert.deepEqual(
        fs
          .readdirSync(dir)
          .filter((f) => f.endsWith('.index'))
          .sort(),
        ['model.ckpt-3.index', 'model.ckpt-6.index', 'model.ckpt-7.index'],
      );

      // Restart in a fresh graph: restored at step 7, losses continue exactly.
      const b = build();
      const ts2 = new train.TrainingSession(b.g, { checkpointDir: dir, saveCheckpointSteps: 3, lastStep: 10 });
      await ts2.ready();
      assert.equal(ts2.restoredFrom, path.join(dir, 'model.ckpt-7'));
      assert.equal(ts2.currentStep, 7);
      while (!ts2.shouldStop) losses.push(await stepLoss(ts2, b.loss, b.op));
      await ts2.close();
      assert.equal(losses.length, 10);
      losses.forEach((l, i) =>
        assert.ok(Math.abs(l - refLosses[i]) <= 1e-6 * Math.max(1, Math.abs(refLosses[i])), `step ${i}: ${l} vs ${refLosses[i]}`),
      );
      assert.ok(losses[9] < losses[0]);
      assert.throws(() => new train.TrainingSession(new Graph()), { code: 'ERR_NO_VARIABLES' });
      assert.throws(() => new train.TrainingSession(b.g, { saveCheckpointSteps: 0 }), { code: 'ERR_INVALID_ARG_VALUE' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('on a cluster: variables on the ps, a non-chief waits for the chief, both train the shared variables', async () => {
    const [p0, p1, p2] = [await freePort(), await freePort(), await freePort()];
    const cluster = { ps: [`127.0.0.1:${p0}`], worker: [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`] };
    const servers = [
      new Server({ cluster, jobName: 'ps' }),
      new Server({ cluster, jobName: 'worker', taskIndex: 0 }),
      new Server({ cluster, jobName: 'worker', taskIndex: 1 }),
    ];
    try {
      const chief = build('/job:worker/task:0');
      const other = build('/job:worker/task:1');
      assert.equal(chief.w.op.device, '/job:ps/task:0');
      const nonChief = new train.TrainingSession(other.g, { target: servers[2].target, isChief: false, waitForChiefMs: 20_000 });
      const waiting = nonChief.ready();
      let done = false;
      void waiting.then(() => {
        done = true;
      });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(done, false, 'the non-chief must wait for the chief');
      const ts = new train.TrainingSession(chief.g, { target: servers[1].target });
      const l0 = await stepLoss(ts, chief.loss, chief.op);
      await waiting;
      const l1 = await stepLoss(nonChief, other.loss, other.op);
      assert.equal(nonChief.currentStep, 2, 'both workers increment the one global step on the ps');
      assert.ok(l1 < l0);
      await ts.close();
      await nonChief.close();
    } finally {
      for (const s of servers) s.close();
    }
  });
});
