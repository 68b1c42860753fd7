// Shared helpers of the hub.KerasLayer tests (not a test file itself).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Graph, Output, Session, Tensor } from '../../src';
import { TensorJson, constant as oracleConstant } from '../helpers/oracle';

export { FIXTURES, TensorJson, assertClose, meanSquaredError, readJson, toTensor, values } from '../helpers/oracle';

/** test/tf2/fixtures (the hub.load suite's own models). */
export const TF2_FIXTURES = path.join(__dirname, '../../../test/tf2/fixtures');

/** A constant from an oracle tensor (its own dtype). */
export function constant(g: Graph, t: TensorJson, name?: string): Output {
  return oracleConstant(g, t, undefined, name);
}

/** One plain SGD step (v -= lr·grad) for each pair, as one op. */
export function sgdStep(g: Graph, pairs: Array<[Output, { handle: Output }]>, lr: number): import('../../src').Operation {
  const alpha = g.constant(new Tensor('float32', [], [lr]), 'learning_rate');
  const updates = pairs.map(([grad, v]) => g.addOperation('ResourceApplyGradientDescent', { inputs: [v.handle, alpha, grad] }));
  return g.addOperation('NoOp', { name: g.uniqueName('sgd_step'), controlInputs: updates });
}

/** A fresh temporary directory (removed by the returned cleanup). */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tfhub-keras-${label}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `fn` with a session on `g`, closing both afterwards. */
export async function withSession<T>(g: Graph, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = new Session(g);
  try {
    return await fn(s);
  } finally {
    s.close();
    g.dispose();
  }
}
