// Error classes: TF statuses become Python-style tf.errors classes; the library's own errors carry ERR_* codes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import * as tfhub from '../../src';
import {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  DataLossError,
  DeadlineExceededError,
  ERROR_CLASSES_BY_CODE,
  FailedPreconditionError,
  Graph,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  PermissionDeniedError,
  ResourceExhaustedError,
  Session,
  TFError,
  Tensor,
  TfhubError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
  UnknownError,
} from '../../src';
import { binding } from '../../src/native';

// In TF_Code order (index = TF_Code).
const TABLE: Array<[new (message: string) => TFError, string, string]> = [
  [CancelledError, 'CancelledError', 'CANCELLED'],
  [UnknownError, 'UnknownError', 'UNKNOWN'],
  [InvalidArgumentError, 'InvalidArgumentError', 'INVALID_ARGUMENT'],
  [DeadlineExceededError, 'DeadlineExceededError', 'DEADLINE_EXCEEDED'],
  [NotFoundError, 'NotFoundError', 'NOT_FOUND'],
  [AlreadyExistsError, 'AlreadyExistsError', 'ALREADY_EXISTS'],
  [PermissionDeniedError, 'PermissionDeniedError', 'PERMISSION_DENIED'],
  [ResourceExhaustedError, 'ResourceExhaustedError', 'RESOURCE_EXHAUSTED'],
  [FailedPreconditionError, 'FailedPreconditionError', 'FAILED_PRECONDITION'],
  [AbortedError, 'AbortedError', 'ABORTED'],
  [OutOfRangeError, 'OutOfRangeError', 'OUT_OF_RANGE'],
  [UnimplementedError, 'UnimplementedError', 'UNIMPLEMENTED'],
  [InternalError, 'InternalError', 'INTERNAL'],
  [UnavailableError, 'UnavailableError', 'UNAVAILABLE'],
  [DataLossError, 'DataLossError', 'DATA_LOSS'],
  [UnauthenticatedError, 'UnauthenticatedError', 'UNAUTHENTICATED'],
];

describe('errors', () => {
  it('one class per TF code, like tf.errors, indexed by TF_Code', () => {
    assert.equal(ERROR_CLASSES_BY_CODE[0], undefined); // OK
    TABLE.forEach(([cls, name, code], i) => {
      assert.equal(ERROR_CLASSES_BY_CODE[i + 1], cls, name);
      const e = new cls('details');
      assert.ok(e instanceof TFError && e instanceof Error);
      assert.deepEqual([e.name, e.code, e.message, String(e)], [name, code, 'details', `${name}: details`]);
      assert.equal(cls.name, name);
      assert.equal((tfhub as Record<string, unknown>)[name], cls); // exported from the package
      for (const [other] of TABLE) if (other !== cls) assert.ok(!(e instanceof other), `${name} is not a ${other.name}`);
    });
    const base = new TFError('m');
    assert.deepEqual([base.name, base.code], ['TFError', 'UNKNOWN']);
  });

  it("TfhubError: the library's own errors, with ERR_* codes and causes", () => {
    const cause = new Error('inner');
    const e = new TfhubError('ERR_INTERNAL', 'outer', { cause });
    assert.ok(e instanceof Error && !(e instanceof TFError));
    assert.deepEqual([e.name, e.code, e.message, e.cause], ['TfhubError', 'ERR_INTERNAL', 'outer', cause]);
  });

  it('TF statuses from real calls arrive as their classes', async () => {
    const g = new Graph();
    const s = new Session(g);
    // FAILED_PRECONDITION: reading a variable that was never initialized
    const v = g.addOperation('VarHandleOp', { attrs: { dtype: 'float32', shape: [], shared_name: 'errors_test_uninitialized' } }).output(0);
    const read = g.addOperation('ReadVariableOp', { inputs: [v], attrs: { dtype: 'float32' } }).output(0);
    await assert.rejects(s.run(read), (e: Error) => e instanceof FailedPreconditionError && (e as TFError).code === 'FAILED_PRECONDITION');
    // OUT_OF_RANGE: dequeuing from a closed, empty queue
    const q = g.addOperation('FIFOQueueV2', { attrs: { component_types: ['float32'], shapes: [[]] } }).output(0);
    const close = g.addOperation('QueueCloseV2', { inputs: [q] });
    const dequeue = g.addOperation('QueueDequeueV2', { inputs: [q], attrs: { component_types: ['float32'] } }).output(0);
    s.runSync(close);
    assert.throws(
      () => s.runSync(dequeue),
      (e: Error) => e instanceof OutOfRangeError && /closed and has insufficient elements/.test(e.message),
    );
    // NOT_FOUND and INVALID_ARGUMENT
    assert.throws(() => g.opDef('NotAnOp'), NotFoundError);
    assert.throws(() => g.importGraphDef(new Uint8Array([0xff])), InvalidArgumentError);
    // INVALID_ARGUMENT raised inside a kernel, with TF's node context in the message
    const bad = g
      .addOperation('Reshape', { name: 'bad_reshape', inputs: [g.placeholder('float32', [-1], 'rx'), g.constant([3], 'rs', 'int32')] })
      .output(0);
    await assert.rejects(s.run(bad, { 'rx:0': [1, 2] }), (e: Error) => e instanceof InvalidArgumentError && /bad_reshape/.test(e.message));
    // after every error the session still runs
    assert.deepEqual(Array.from(s.runSync(bad, { 'rx:0': [1, 2, 3] }).data() as Float32Array), [1, 2, 3]);
    s.close();
    g.dispose();
  });

  it('errors of the native layer: TfhubError with codes, TypeError for wrong kinds of arguments', () => {
    const t = new Tensor('float32', [1], [1]);
    t.dispose();
    assert.throws(
      () => t.data(),
      (e: Error) => e instanceof TfhubError && (e as TfhubError).code === 'ERR_DISPOSED',
    );
    const a = new Graph();
    const b = new Graph();
    const fromB = b.constant(1);
    assert.throws(
      () => a.native.addOperation('Identity', 'x', [fromB.native], [], null, null, null),
      (e: Error) =>
        e instanceof TfhubError && (e as TfhubError).code === 'ERR_GRAPH_MISMATCH' && /belongs to another graph/.test(e.message),
    );
    assert.throws(() => binding().Tensor.fromData(1, [2 ** 40, 2 ** 40], new Float32Array(1)), {
      name: 'TfhubError',
      code: 'ERR_INVALID_SHAPE',
    });
    assert.throws(() => binding().Tensor.fromData('float' as never, [1], new Float32Array(1)), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_TYPE',
    });
    assert.throws(() => a.native.operationByName(5 as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    a.dispose();
    b.dispose();
  });
});
