// BatchingParameters: both spellings (camelCase, TF Serving's snake_case with {value} wrappers), defaults, errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { parseBatchingParameters } from '../../src/batching';

const CODE = { code: 'ERR_INVALID_BATCHING_PARAMETERS' };

describe('parseBatchingParameters', () => {
  it("applies TF Serving's BasicBatchScheduler defaults", () => {
    assert.deepEqual(parseBatchingParameters({}), {
      maxBatchSize: 1000,
      batchTimeoutMicros: 0,
      maxEnqueuedBatches: 10,
      numBatchThreads: availableParallelism(),
      allowedBatchSizes: [],
      padVariableLengthInputs: false,
    });
  });

  it('reads the batching_parameters_file example of serving_config.md in both spellings', () => {
    const expected = {
      maxBatchSize: 128,
      batchTimeoutMicros: 0,
      maxEnqueuedBatches: 1000000,
      numBatchThreads: 8,
      allowedBatchSizes: [],
      padVariableLengthInputs: false,
    };
    // max_batch_size { value: 128 } … after a text-format parse
    assert.deepEqual(
      parseBatchingParameters({
        max_batch_size: { value: 128 },
        batch_timeout_micros: { value: 0 },
        max_enqueued_batches: { value: 1000000 },
        num_batch_threads: { value: 8 },
      }),
      expected,
    );
    assert.deepEqual(
      parseBatchingParameters({ maxBatchSize: 128, batchTimeoutMicros: 0, maxEnqueuedBatches: 1000000, numBatchThreads: 8 }),
      expected,
    );
    // int64 as protobufjs gives them: decimal strings, Longs, bigints; unwrapped snake_case too.
    const long = { toNumber: () => 128, low: 128, high: 0 };
    assert.equal(parseBatchingParameters({ max_batch_size: { value: '128' } }).maxBatchSize, 128);
    assert.equal(parseBatchingParameters({ max_batch_size: { value: long } }).maxBatchSize, 128);
    assert.equal(parseBatchingParameters({ max_batch_size: 128n }).maxBatchSize, 128);
    // An empty wrapper is the default.
    assert.equal(parseBatchingParameters({ max_batch_size: {} }).maxBatchSize, 1000);
    assert.deepEqual(
      parseBatchingParameters({ max_batch_size: { value: 8 }, allowed_batch_sizes: [2, '4', 8], pad_variable_length_inputs: true }),
      {
        ...expected,
        maxBatchSize: 8,
        maxEnqueuedBatches: 10,
        numBatchThreads: availableParallelism(),
        allowedBatchSizes: [2, 4, 8],
        padVariableLengthInputs: true,
      },
    );
    // Accepted and without effect here.
    assert.equal(
      parseBatchingParameters({
        thread_pool_name: { value: 'batch_threads' },
        enable_large_batch_splitting: { value: false },
        max_execution_batch_size: { value: 4 },
      }).maxBatchSize,
      1000,
    );
  });

  it('refuses what TF Serving refuses, naming the field', () => {
    assert.throws(() => parseBatchingParameters({ max_batch_size: { value: 8 }, allowed_batch_sizes: [2, 4] }), {
      ...CODE,
      name: 'RangeError',
      message: 'Last entry in allowed_batch_sizes must match max_batch_size; last entry was 4; expected 8',
    });
    assert.throws(() => parseBatchingParameters({ maxBatchSize: 8, allowedBatchSizes: [4, 2, 8] }), {
      ...CODE,
      message: /increasing order/,
    });
    assert.throws(() => parseBatchingParameters({ max_batch_sise: 8 }), {
      ...CODE,
      name: 'TypeError',
      message: /no field 'max_batch_sise'/,
    });
    assert.throws(() => parseBatchingParameters({ maxBatchSize: 8, max_batch_size: 8 }), { ...CODE, message: /given twice/ });
    for (const [field, bad] of [
      ['max_batch_size', 0],
      ['max_batch_size', 1.5],
      ['max_batch_size', 'x'],
      ['num_batch_threads', 0],
      ['max_enqueued_batches', -1],
      ['batch_timeout_micros', -1],
      ['max_batch_size', 2 ** 60],
      ['max_batch_size', null],
      ['max_batch_size', [1]],
    ] as const) {
      assert.throws(() => parseBatchingParameters({ [field]: { value: bad } }), {
        ...CODE,
        message: new RegExp(`BatchingParameters.${field} must`),
      });
    }
    assert.throws(() => parseBatchingParameters({ pad_variable_length_inputs: 1 }), { ...CODE, message: /must be a boolean/ });
    assert.throws(() => parseBatchingParameters({ allowed_batch_sizes: 8 }), { ...CODE, message: /must be an array/ });
    assert.throws(() => parseBatchingParameters({ enable_large_batch_splitting: { value: true } }), { ...CODE, message: /not supported/ });
    for (const bad of [null, 5, 'x', [1]]) assert.throws(() => parseBatchingParameters(bad), { ...CODE, message: /must be an object/ });
  });
});
