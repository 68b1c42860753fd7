/**
 * Error classes. TensorFlow status errors mirror Python's `tf.errors` (same class names, `code` = the TF code
 * name such as `'INVALID_ARGUMENT'`, message = TensorFlow's full message). Errors raised by this library itself
 * carry a Node-style `code` (`'ERR_…'`, listed with their meanings in `ERROR_CODES` and docs/errors.md).
 */
import { ErrorCode } from './error_codes';

export { ERROR_CODES, ErrorCode, isErrorCode } from './error_codes';

/** Base class of every error that comes from a TensorFlow status. */
export class TFError extends Error {
  /** TensorFlow's code name, e.g. `'NOT_FOUND'`. */
  readonly code: string;
  constructor(message: string, code = 'UNKNOWN') {
    super(message);
    this.code = code;
  }
}
Object.defineProperty(TFError.prototype, 'name', { value: 'TFError', writable: true, configurable: true });

function tfErrorClass(name: string, code: string) {
  const cls = class extends TFError {
    constructor(message: string) {
      super(message, code);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  return cls;
}

/** TF_CANCELLED */
export const CancelledError = tfErrorClass('CancelledError', 'CANCELLED');
/** TF_UNKNOWN */
export const UnknownError = tfErrorClass('UnknownError', 'UNKNOWN');
/** TF_INVALID_ARGUMENT */
export const InvalidArgumentError = tfErrorClass('InvalidArgumentError', 'INVALID_ARGUMENT');
/** TF_DEADLINE_EXCEEDED */
export const DeadlineExceededError = tfErrorClass('DeadlineExceededError', 'DEADLINE_EXCEEDED');
/** TF_NOT_FOUND */
export const NotFoundError = tfErrorClass('NotFoundError', 'NOT_FOUND');
/** TF_ALREADY_EXISTS */
export const AlreadyExistsError = tfErrorClass('AlreadyExistsError', 'ALREADY_EXISTS');
/** TF_PERMISSION_DENIED */
export const PermissionDeniedError = tfErrorClass('PermissionDeniedError', 'PERMISSION_DENIED');
/** TF_RESOURCE_EXHAUSTED */
export const ResourceExhaustedError = tfErrorClass('ResourceExhaustedError', 'RESOURCE_EXHAUSTED');
/** TF_FAILED_PRECONDITION */
export const FailedPreconditionError = tfErrorClass('FailedPreconditionError', 'FAILED_PRECONDITION');
/** TF_ABORTED */
export const AbortedError = tfErrorClass('AbortedError', 'ABORTED');
/** TF_OUT_OF_RANGE */
export const OutOfRangeError = tfErrorClass('OutOfRangeError', 'OUT_OF_RANGE');
/** TF_UNIMPLEMENTED */
export const UnimplementedError = tfErrorClass('UnimplementedError', 'UNIMPLEMENTED');
/** TF_INTERNAL */
export const InternalError = tfErrorClass('InternalError', 'INTERNAL');
/** TF_UNAVAILABLE */
export const UnavailableError = tfErrorClass('UnavailableError', 'UNAVAILABLE');
/** TF_DATA_LOSS */
export const DataLossError = tfErrorClass('DataLossError', 'DATA_LOSS');
/** TF_UNAUTHENTICATED */
export const UnauthenticatedError = tfErrorClass('UnauthenticatedError', 'UNAUTHENTICATED');

/** Constructors indexed by TF_Code (0 = OK has none). */
export const ERROR_CLASSES_BY_CODE: ReadonlyArray<(new (message: string) => TFError) | undefined> = [
  undefined,
  CancelledError,
  UnknownError,
  InvalidArgumentError,
  DeadlineExceededError,
  NotFoundError,
  AlreadyExistsError,
  PermissionDeniedError,
  ResourceExhaustedError,
  FailedPreconditionError,
  AbortedError,
  OutOfRangeError,
  UnimplementedError,
  InternalError,
  UnavailableError,
  DataLossError,
  UnauthenticatedError,
];

/** An error raised by this library (not by TensorFlow), with a Node-style `code`. */
export class TfhubError extends Error {
  /** A stable, Node-style error code, e.g. `'ERR_NOT_FOUND'` (see `ERROR_CODES`); match on it rather than on the message. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
Object.defineProperty(TfhubError.prototype, 'name', { value: 'TfhubError', writable: true, configurable: true });

/** A TypeError with a `code`, for arguments of the wrong kind. */
export function typeError(code: ErrorCode, message: string): TypeError & { code: ErrorCode } {
  const e = new TypeError(message) as TypeError & { code: ErrorCode };
  e.code = code;
  return e;
}

/** A RangeError with a `code`, for values out of range (e.g. data length vs shape). */
export function rangeError(code: ErrorCode, message: string): RangeError & { code: ErrorCode } {
  const e = new RangeError(message) as RangeError & { code: ErrorCode };
  e.code = code;
  return e;
}

/**
 * @internal
 * The caller's frames, captured before an `await` on the native layer: a promise settled from a native thread
 * carries no JavaScript frames, so `withCallerStack` grafts these onto its error (as sharp does).
 */
export function callerStack(skip: (...args: never[]) => unknown): { stack?: string } {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, skip);
  return holder;
}

/** @internal `e` with the frames of `caller` (from `callerStack`) appended to its own stack; returns `e`. */
export function withCallerStack<T>(e: T, caller: { stack?: string }): T {
  if (!(e instanceof Error) || !caller.stack) return e;
  const frames = caller.stack.slice(caller.stack.indexOf('\n') + 1);
  if (!frames) return e;
  const own = typeof e.stack === 'string' ? e.stack : `${e.name}: ${e.message}`;
  try {
    e.stack = `${own}\n${frames}`;
  } catch {
    // a frozen error keeps its own stack
  }
  return e;
}
