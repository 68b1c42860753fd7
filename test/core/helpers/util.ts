// Shared helpers of the core suites (no tests here: the name has no `.test.`).
import { spawn } from 'node:child_process';
import { after, before } from 'node:test';
import * as path from 'node:path';

import { Graph, Output, Session, SessionOptions, Tensor } from '../../../src';

/** Settles after pending native finalizers had a chance to run: gc, a macrotask, gc again. */
export async function collectGarbage(rounds = 3): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the tests with --expose-gc');
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * One Graph and one Session for the tests of the enclosing describe(): made before them, closed and disposed
 * after them. `use` receives them (assign them to the suite's variables).
 */
export function graphAndSessionPerSuite(use: (graph: Graph, session: Session) => void): void {
  let g: Graph;
  let s: Session;
  before(() => {
    g = new Graph();
    s = new Session(g);
    use(g, s);
  });
  after(() => {
    s.close();
    g.dispose();
  });
}

export function hasGc(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

export const MiB = 1024 * 1024;

export function rss(): number {
  return process.memoryUsage().rss;
}

export { rejection } from '../../helpers/rejection';

/** A chain of `depth` MatMuls y = x·W·W·…·W on n×n float32, W = 1/n everywhere: x of ones stays ones. */
export interface Chain {
  graph: Graph;
  session: Session;
  x: Output;
  y: Output;
  n: number;
  depth: number;
  ones: Tensor;
  dispose(): void;
}

/** Options that give a session its own single-threaded pools (this machine has 2 cores). */
export const SINGLE_THREADED: SessionOptions = { intraOpParallelism: 1, interOpParallelism: 1, usePerSessionThreads: true };

export function buildChain(n: number, depth: number, options: SessionOptions = SINGLE_THREADED): Chain {
  const graph = new Graph();
  const x = graph.placeholder('float32', [n, n], 'x');
  const w = graph.constant(new Tensor('float32', [n, n], new Float32Array(n * n).fill(1 / n)), 'w');
  let y = x;
  for (let i = 0; i < depth; i++) y = graph.addOperation('MatMul', { inputs: [y, w] }).output(0);
  const session = new Session(graph, options);
  const ones = new Tensor('float32', [n, n], new Float32Array(n * n).fill(1));
  return {
    graph,
    session,
    x,
    y,
    n,
    depth,
    ones,
    dispose() {
      session.close();
      graph.dispose();
      ones.dispose();
    },
  };
}

/**
 * A chain whose run takes about `targetMs` on this machine: times a short chain (after a warm-up run, which
 * includes graph optimization), then scales the depth.
 */
export function calibratedChain(targetMs: number, n = 512, options: SessionOptions = SINGLE_THREADED): Chain {
  const probe = buildChain(n, 10, options);
  try {
    probe.session.runSync(probe.y, new Map([[probe.x, probe.ones]])).dispose();
    const t0 = performance.now();
    probe.session.runSync(probe.y, new Map([[probe.x, probe.ones]])).dispose();
    const perOp = Math.max((performance.now() - t0) / 10, 0.05);
    return buildChain(n, Math.max(10, Math.min(4000, Math.round(targetMs / perOp))), options);
  } finally {
    probe.dispose();
  }
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs dist/test/core/helpers/child.js (or another compiled `script`) with a scenario name in a fresh node process. */
export function runChild(
  scenario: string,
  args: string[] = [],
  timeoutMs = 60_000,
  script = path.join(__dirname, 'child.js'),
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [script, scenario, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** A readable account of a child's end, for assertion messages. */
export function describeChild(r: ChildResult): string {
  return `exit code ${r.code}, signal ${r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr.slice(-3000)}`;
}
