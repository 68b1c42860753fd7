'use strict';
// What the serve benchmarks (run.js, cpu.js, profile.js) send: the input row every server gets and the batching
// parameters of their `--enable_batching` cells.
const os = require('node:os');

/** The input row of one instance: x[i] = ((i*37) % 101)/101 - 0.5 (bench/c/mlp_input.h), nested to `shape`. */
function inputRow(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const flat = Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 101 - 0.5);
  const nest = (dims, at) =>
    dims.length === 1
      ? flat.slice(at, at + dims[0])
      : Array.from({ length: dims[0] }, (_, i) => nest(dims.slice(1), at + i * dims.slice(1).reduce((a, b) => a * b, 1)));
  return nest(shape, 0);
}

/** Batching parameters of the batched cells, as an object (library servers) and as a BatchingParameters text file (serve). */
const BATCHING = { maxBatchSize: 64, batchTimeoutMicros: 0, maxEnqueuedBatches: 64, numBatchThreads: os.availableParallelism() };
const BATCHING_TEXT = `max_batch_size { value: 64 }\nbatch_timeout_micros { value: 0 }\nmax_enqueued_batches { value: 64 }\nnum_batch_threads { value: ${os.availableParallelism()} }\n`;

module.exports = { inputRow, BATCHING, BATCHING_TEXT };
