// One worker task of the between-graph fine-tuning tests (test/distributed/cluster_finetune.test.ts) and of
// bench/dist: `node finetune_task.js '<json options>'`. It starts its tf server, builds mlp_v1 fine-tuning
// (hub.Module, trainable) under train.replicaDeviceSetter so the variables live on the ps, and trains with a
// train.TrainingSession until the shared global step reaches `lastStep`. Without a cluster it trains in-process
// (the single-process reference). Lines on stdout:
//   DEVICES {var: device}      READY <step> <restored checkpoint|->     STEP <global step> <loss>
//   DONE <step>   then, after a `finish` line on stdin:   VARS {name: values} / LOSS <loss> / CLOSED <step>
// A `stop` line on stdin ends the training loop after the current step (as a hook returning 'stop'); `pause`
// and `resume` hold and restart it between steps (bench/dist takes turns with them).
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Graph, GraphKeys, Output, Server, Tensor, Variable, hub, train } from '../../src';
import { FIXTURES } from '../helpers/fixtures';
import { constant, meanSquaredError, readJson, TensorJson } from '../helpers/oracle';

/** Options of one task (the JSON argument). */
export interface TaskOptions {
  cluster?: { ps: string[]; worker: string[] };
  task?: number;
  lastStep: number;
  learningRate?: number;
  checkpointDir?: string;
  saveCheckpointSteps?: number;
  /** Pause between steps (ms), so tests can kill a task mid-run. */
  stepDelayMs?: number;
  /** Print VARS and LOSS right after READY (restore checks). */
  printAtReady?: boolean;
  /** Wait for `finish` on stdin before printing the final values and closing (default true with a cluster). */
  waitFinish?: boolean;
  /** Exit on its own after this many ms (a bound for tests). */
  maxMs?: number;
}

interface Oracle {
  x: TensorJson;
  target: TensorJson;
  learning_rate: number;
}

/** The fine-tuning graph of mlp_v1: loss = mean((module(x) - target)^2), SGD with a global step. */
export async function buildFinetune(options: { setter?: ReturnType<typeof train.replicaDeviceSetter>; learningRate?: number }) {
  const fx = readJson<Oracle>('mlp_v1_finetune.json');
  const g = new Graph();
  const spec = await hub.loadModuleSpec(path.join(FIXTURES, 'mlp_v1'));
  const parts = g.withDevice(options.setter ?? null, () => {
    const step = train.getOrCreateGlobalStep(g);
    const m = new hub.Module(spec, { graph: g, trainable: true });
    const out = m.call(constant(g, fx.x, 'float32', 'x')) as Output;
    const loss = meanSquaredError(g, out, constant(g, fx.target, 'float32', 'target'));
    const op = new train.GradientDescentOptimizer(options.learningRate ?? fx.learning_rate).minimize(loss, { globalStep: step });
    return { step, loss, op };
  });
  return { g, ...parts };
}

function scalar(t: Tensor): number {
  const v = Number(t.array());
  t.dispose();
  return v;
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]) as TaskOptions;
  if (o.maxMs)
    setTimeout(() => {
      console.error(`task bound of ${o.maxMs} ms reached`);
      process.exit(3);
    }, o.maxMs).unref();
  const task = o.task ?? 0;
  const server = o.cluster ? new Server({ cluster: o.cluster, jobName: 'worker', taskIndex: task }) : null;
  const setter = o.cluster ? train.replicaDeviceSetter({ cluster: o.cluster, workerDevice: `/job:worker/task:${task}` }) : undefined;
  const { g, loss, op } = await buildFinetune({ setter, learningRate: o.learningRate });
  const vars = g.getCollection<Variable>(GraphKeys.GLOBAL_VARIABLES);
  console.log(`DEVICES ${JSON.stringify(Object.fromEntries(vars.map((v) => [v.opName, v.op.device])))}`);
  const ts = new train.TrainingSession(g, {
    target: server?.target,
    isChief: task === 0,
    checkpointDir: o.checkpointDir,
    saveCheckpointSteps: o.saveCheckpointSteps,
    lastStep: o.lastStep,
    waitForChiefMs: 60_000,
    // As Python's between-graph workers: the session involves the ps and this task only, so it neither waits
    // for the other workers to start nor fails when one dies.
    config: o.cluster ? { deviceFilters: ['/job:ps', `/job:worker/task:${task}`] } : undefined,
  });
  const printValues = async () => {
    const ts_ = await ts.session.run(vars.map((v) => v.value()));
    console.log(
      `VARS ${JSON.stringify(Object.fromEntries(vars.map((v, i) => [v.opName, Array.from(ts_[i].data() as ArrayLike<number>, Number)])))}`,
    );
    for (const t of ts_) t.dispose();
    console.log(`LOSS ${scalar(await ts.session.run(loss))}`);
  };
  let stop = false;
  let paused: Promise<void> | null = null;
  let resume: () => void = () => undefined;
  let finished: () => void = () => undefined;
  const finishing = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (l) => {
    if (l.trim() === 'stop') stop = true;
    if (l.trim() === 'pause')
      paused = new Promise<void>((resolve) => {
        resume = resolve;
      });
    if (l.trim() === 'resume') resume();
    if (l.trim() === 'finish') finished();
  });
  // In a cluster the parent drives the task: when it goes away, so does the task.
  if (o.cluster) rl.on('close', () => process.exit(4));
  await ts.ready();
  console.log(`READY ${ts.currentStep} ${ts.restoredFrom ?? '-'}`);
  if (o.printAtReady) await printValues();
  while (!ts.shouldStop && !stop) {
    const [l] = (await ts.run([loss, op])) as [Tensor, null];
    console.log(`STEP ${ts.currentStep} ${scalar(l)}`);
    if (o.stepDelayMs) await new Promise((r) => setTimeout(r, o.stepDelayMs));
    if (paused) {
      console.log(`PAUSED ${ts.currentStep}`);
      await paused;
      paused = null;
    }
  }
  console.log(`DONE ${ts.currentStep}`);
  if (o.waitFinish ?? Boolean(o.cluster)) await finishing;
  rl.removeAllListeners('close');
  rl.close();
  await printValues();
  await ts.close();
  console.log(`CLOSED ${ts.currentStep}`);
  server?.close();
  process.exit(0);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(2);
  });
}
