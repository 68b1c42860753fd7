// Shared helpers of the training tests (not a test file itself).
import { Graph, Output, Tensor } from '../../src';

export { FIXTURES, TensorJson, assertClose, constant, meanSquaredError, readJson, toTensor, values } from '../helpers/oracle';

/** Reduce-sum of all elements as a scalar Output. */
export function sumAll(g: Graph, x: Output): Output {
  const rank = g.addOperation('Rank', { inputs: [x] }).output(0);
  const axes = g
    .addOperation('Range', { inputs: [g.constant(new Tensor('int32', [], [0])), rank, g.constant(new Tensor('int32', [], [1]))] })
    .output(0);
  return g.addOperation('Sum', { inputs: [x, axes] }).output(0);
}

/** sum(square(x)). */
export function sumOfSquares(g: Graph, x: Output): Output {
  return sumAll(g, g.addOperation('Square', { inputs: [x] }).output(0));
}
