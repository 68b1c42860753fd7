// Between-graph replication with real processes on loopback: 1 ps (`tfhub-node tf-server`) + 2 Node workers
// (test/distributed/finetune_task.ts) fine-tune mlp_v1 asynchronously with replicaDeviceSetter, the variables on
// the ps. Checked: the device of every variable, the number of updates (the shared global step = the runs of
// both workers), the final variables (both workers read the same values, equal to the chief's last checkpoint
// as Python's tf.train.load_checkpoint reads it) and the loss against a single-process run of the same total
// steps (whose first two losses are Python's, test/fixtures/mlp_v1_finetune.json). Then: a worker killed
// mid-run (the other keeps training, the killed one restarts and rejoins), and the whole cluster killed and
// restarted (the chief restores the latest checkpoint at its step, with Python's values, and training goes on).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Session, Tensor, train } from '../../src';
import { readJson } from '../helpers/oracle';
import { runPython } from '../helpers/python';
import { buildFinetune, TaskOptions } from './finetune_task';
import { Child, freePort, killAll, start } from './procs';

after(killAll);

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
const TASK = path.join(__dirname, 'finetune_task.js');
const PS = '/job:ps/task:0';
const BOUND_MS = 240_000; // every task exits on its own after this

interface Cluster {
  ps: string[];
  worker: string[];
}

async function makeCluster(): Promise<Cluster> {
  const [a, b, c] = [await freePort(), await freePort(), await freePort()];
  return { ps: [`127.0.0.1:${a}`], worker: [`127.0.0.1:${b}`, `127.0.0.1:${c}`] };
}

async function startPs(cluster: Cluster): Promise<Child> {
  const spec = `ps=${cluster.ps.join(',')};worker=${cluster.worker.join(',')}`;
  const ps = start(process.execPath, [CLI, 'tf-server', '--cluster', spec, '--job', 'ps', '--task', '0']);
  await ps.waitFor(/serving at grpc:/, 60_000);
  return ps;
}

function startWorker(options: TaskOptions): Child {
  return start(process.execPath, [TASK, JSON.stringify({ maxMs: BOUND_MS, ...options })]);
}

/** The (global step after, loss) of each run a worker printed. */
function steps(w: Child): Array<{ step: number; loss: number }> {
  return w.lines
    .filter((l) => l.startsWith('STEP '))
    .map((l) => {
      const [, s, v] = l.split(' ');
      return { step: Number(s), loss: Number(v) };
    });
}

/** Resolves once `w` printed `n` STEP lines (polls its output). */
async function untilSteps(w: Child, n: number, timeoutMs: number, pred: (s: { step: number }) => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (steps(w).filter(pred).length < n) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${n} steps; stdout:\n${w.lines.slice(-20).join('\n')}\nstderr:\n${w.stderr().slice(-2000)}`);
    if (w.proc.exitCode !== null) throw new Error(`worker exited (${w.proc.exitCode}); stderr:\n${w.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends `finish` and returns what the worker printed after: its variables and loss. */
async function finish(w: Child): Promise<{ vars: Record<string, number[]>; loss: number; closed: number }> {
  w.proc.stdin!.write('finish\n');
  const closed = Number((await w.waitFor(/^CLOSED (\d+)$/, 60_000))[1]);
  return { vars: lastJson(w, 'VARS'), loss: lastNumber(w, 'LOSS'), closed };
}

function lastJson<T = Record<string, number[]>>(w: Child, tag: string): T {
  const line = [...w.lines].reverse().find((l) => l.startsWith(tag + ' '))!;
  return JSON.parse(line.slice(tag.length + 1)) as T;
}

function lastNumber(w: Child, tag: string): number {
  return Number(
    [...w.lines]
      .reverse()
      .find((l) => l.startsWith(tag + ' '))!
      .split(' ')[1],
  );
}

/** Python's tf.train.load_checkpoint of `prefix`: every variable, flattened (null without Python TF). */
function pythonCheckpoint(prefix: string): Record<string, number[]> | null {
  const r = runPython(
    `
import json, sys
import tensorflow as tf
reader = tf.train.load_checkpoint(sys.stdin.read())
print(json.dumps({k: reader.get_tensor(k).reshape(-1).tolist() for k in reader.get_variable_to_shape_map()}))
`,
    prefix,
  );
  if (!r) return null;
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number[]>;
}

/** Losses of a single-process run (in this process): `ref[k]` is the loss after k steps. */
let reference: number[] | null = null;
async function singleProcessLosses(n: number): Promise<number[]> {
  if (reference && reference.length > n) return reference;
  const { g, loss, op } = await buildFinetune({});
  const s = new Session(g);
  try {
    await s.run([], {}, { targets: [g.globalVariablesInitializer()] });
    const out: number[] = [];
    for (let k = 0; k <= n; k++) {
      const [l] = (await s.run([loss], {}, { targets: k < n ? [op] : [] })) as Tensor[];
      out.push(Number(l.array()));
      l.dispose();
    }
    // The single-process run is Python's: its loss before and after the first SGD step.
    const fx = readJson<{ loss_before: number; loss_after_one_step: number }>('mlp_v1_finetune.json');
    assert.ok(Math.abs(out[0] - fx.loss_before) <= 1e-5 * fx.loss_before, `${out[0]} vs Python ${fx.loss_before}`);
    assert.ok(Math.abs(out[1] - fx.loss_after_one_step) <= 1e-4 * fx.loss_after_one_step, `${out[1]} vs Python ${fx.loss_after_one_step}`);
    reference = out;
    return out;
  } finally {
    s.close();
    g.dispose();
  }
}

/**
 * The tolerance for asynchronous training: after T updates the loss lies between the single-process losses
 * after T + 4 and T - 8 updates. Each asynchronous update is the gradient at variables that miss the updates
 * the other worker applied while it was computed (one or two on this machine, a few when a worker is descheduled
 * under load); on this smooth, monotone curve a stale gradient is a step of nearly the same progress, so the run
 * is within a few steps' progress of the single-process one (it is even slightly ahead: stale gradients are
 * larger). A run where the workers did not share the variables would be ~T/2 steps behind and fail.
 */
function assertLossAsSingleProcess(loss: number, T: number, ref: number[], what: string): void {
  const lo = ref[Math.min(T + 4, ref.length - 1)];
  const hi = ref[Math.max(T - 8, 0)];
  assert.ok(
    loss >= lo * 0.999 && loss <= hi,
    `${what}: loss ${loss} after ${T} updates, single-process ${ref[T]} (allowed ${lo} .. ${hi})`,
  );
}

describe('between-graph replication: 1 ps + 2 worker processes fine-tune mlp_v1', () => {
  test('asynchronous training: variables on the ps, every update counted, the same final variables, the loss of a single-process run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-dist-'));
    try {
      const cluster = await makeCluster();
      await startPs(cluster);
      const T = 40;
      const w0 = startWorker({ cluster, task: 0, lastStep: T, checkpointDir: dir, saveCheckpointSteps: 10 });
      const w1 = startWorker({ cluster, task: 1, lastStep: T });
      await Promise.all([w0.waitFor(/^DONE/, 180_000), w1.waitFor(/^DONE/, 180_000)]);
      for (const w of [w0, w1]) {
        const devices = lastJson<Record<string, string>>(w, 'DEVICES');
        assert.deepEqual(Object.keys(devices).sort(), [
          'global_step',
          'module/dense/bias',
          'module/dense/kernel',
          'module/dense_1/bias',
          'module/dense_1/kernel',
          'module/fruit/k',
        ]);
        for (const [name, device] of Object.entries(devices)) assert.equal(device, PS, name);
      }
      const [f0, f1] = [await finish(w0), await finish(w1)];
      const s0 = steps(w0);
      const s1 = steps(w1);
      const total = f0.vars.global_step[0];
      // Every run incremented the one global step on the ps once; both workers trained.
      assert.equal(s0.length + s1.length, total, `runs ${s0.length} + ${s1.length} vs global step ${total}`);
      assert.ok(total >= T && total <= T + 1, `global step ${total}`);
      assert.ok(s0.length >= 5 && s1.length >= 5, `runs per worker: ${s0.length}, ${s1.length}`);
      // Both read the same variables from the ps; the chief's final checkpoint holds them, as Python reads it.
      assert.deepEqual(f1.vars, f0.vars);
      assert.equal(f1.loss, f0.loss);
      assert.equal(await train.latestCheckpoint(dir), path.join(dir, `model.ckpt-${total}`));
      const fromPython = pythonCheckpoint(path.join(dir, `model.ckpt-${total}`));
      if (fromPython) assert.deepEqual(fromPython, f0.vars);
      // Each worker's losses fall; the final loss is the single-process run's after the same number of steps.
      const ref = await singleProcessLosses(T + 8);
      for (const s of [s0, s1]) assert.ok(s[s.length - 1].loss < s[0].loss * 0.5, JSON.stringify(s));
      assert.ok(f0.loss < ref[0] / 20);
      assertLossAsSingleProcess(f0.loss, total, ref, 'final');
    } finally {
      killAll();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a killed worker: the other keeps training, the killed one restarts and rejoins; all killed: the chief resumes from the last checkpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfhub-dist-'));
    try {
      const cluster = await makeCluster();
      // Paced steps, no last step: the test says when to stop.
      const chiefOptions = { cluster, task: 0, lastStep: 100_000, checkpointDir: dir, saveCheckpointSteps: 10, stepDelayMs: 100 };
      const otherOptions = { cluster, task: 1, lastStep: 100_000, stepDelayMs: 100 };
      let ps = await startPs(cluster);
      let w0 = startWorker(chiefOptions);
      let w1 = startWorker(otherOptions);
      await untilSteps(w1, 5, 180_000);
      w1.kill();
      await w1.exited();
      const stepAtKill = Math.max(...steps(w0).map((s) => s.step), ...steps(w1).map((s) => s.step));
      const lossesBefore = steps(w1);
      // The chief trains on alone.
      await untilSteps(w0, 5, 60_000, (s) => s.step > stepAtKill);
      // The restarted worker (same task, same port) finds the variables initialized, starts at the shared
      // global step and from the shared variables.
      w1 = startWorker(otherOptions);
      const ready = Number((await w1.waitFor(/^READY (\d+) -$/, 90_000))[1]);
      assert.ok(ready >= stepAtKill + 5, `rejoined at step ${ready}, killed at ${stepAtKill}`);
      await untilSteps(w1, 3, 60_000);
      const rejoined = steps(w1);
      assert.ok(rejoined[0].step > stepAtKill + 5);
      assert.ok(
        rejoined[0].loss < lossesBefore[lossesBefore.length - 1].loss,
        `first loss after rejoining ${rejoined[0].loss} vs ${lossesBefore[lossesBefore.length - 1].loss} before the kill`,
      );
      // Both train the shared variables again: the chief's step counter jumps by the other's runs.
      const chiefNow = steps(w0).length;
      await untilSteps(w0, chiefNow + 3, 60_000);
      assert.ok(
        steps(w0)
          .slice(chiefNow - 1)
          .some((s, i, a) => i > 0 && s.step - a[i - 1].step >= 2),
        "the chief sees the other worker's updates",
      );

      const deadline = Date.now() + 120_000;
      let latest: string | null = null;
      while (!(latest = await train.latestCheckpoint(dir)) || Number(/-(\d+)$/.exec(latest)![1]) < 30) {
        if (Date.now() > deadline)
          throw new Error(
            `no checkpoint at step >= 30 (latest ${latest}); chief:\n${w0.lines.slice(-5).join('\n')}\n${w0.stderr().slice(-2000)}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const c of [ps, w0, w1]) c.kill();
      await Promise.all([ps.exited(), w0.exited(), w1.exited()]);
      const stepBeforeCrash = Math.max(...steps(w0).map((s) => s.step));
      latest = (await train.latestCheckpoint(dir))!;
      const saved = Number(/-(\d+)$/.exec(latest)![1]);
      assert.ok(saved >= 30 && saved <= stepBeforeCrash, `checkpoint ${saved}, last step ${stepBeforeCrash}`);
      const fromPython = pythonCheckpoint(latest);

      // Restart: a fresh ps (no variables), the chief restores, then the other worker joins.
      ps = await startPs(cluster);
      w0 = startWorker({ ...chiefOptions, printAtReady: true });
      const [, readyStep, restoredFrom] = await w0.waitFor(/^READY (\d+) (\S+)$/, 60_000);
      assert.equal(restoredFrom, latest);
      // The chief names a checkpoint after the global step it read before saving; the other worker's updates can
      // land before the variables are read (asynchronous training, as in Python), so the global step stored in
      // model.ckpt-N can be a little above N. The restored step is the stored one.
      const base = Number(readyStep);
      assert.ok(base >= saved && base <= saved + 5, `restored global step ${base} from model.ckpt-${saved}`);
      await w0.waitFor(/^LOSS /, 30_000);
      const restored = lastJson(w0, 'VARS');
      assert.equal(restored.global_step[0], base);
      if (fromPython) assert.deepEqual(restored, fromPython);
      const restoredLoss = lastNumber(w0, 'LOSS');
      assertLossAsSingleProcess(restoredLoss, base, await singleProcessLosses(base + 8), 'restored');
      await untilSteps(w0, 1, 60_000);
      // The first run after the restart starts from the checkpoint's variables: its loss is the restored loss.
      assert.equal(steps(w0)[0].loss, restoredLoss);
      assert.equal(steps(w0)[0].step, base + 1);
      w1 = startWorker(otherOptions);
      await untilSteps(w1, 3, 90_000);
      for (const w of [w0, w1]) w.proc.stdin!.write('stop\n');
      await Promise.all([w0.waitFor(/^DONE/, 60_000), w1.waitFor(/^DONE/, 60_000)]);
      const [f0, f1] = [await finish(w0), await finish(w1)];
      assert.deepEqual(f1.vars, f0.vars);
      assert.ok(steps(w1)[0].step > base + 1);
      const total = f0.vars.global_step[0];
      assert.equal(steps(w0).length + steps(w1).length, total - base, 'the runs after the restart continue the saved global step');
      assert.ok(f0.loss < restoredLoss);
      assert.equal(await train.latestCheckpoint(dir), path.join(dir, `model.ckpt-${total}`));
    } finally {
      killAll();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
