/**
 * Serving errors: every failure a request can meet becomes one of the TF error classes of src/errors.ts (its
 * `code` is the TF code name), and REST maps that code to TF Serving's HTTP status.
 */
import { InvalidArgumentError, NotFoundError, TFError, UnknownError } from '../errors';

/** TF Serving's HTTP status for each TF code (`ToHTTPStatusCode` in model_servers/http_server.cc). */
export const HTTP_STATUS_BY_TF_CODE: Readonly<Record<string, number>> = Object.freeze({
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
});

/** The HTTP status TF Serving answers for a TF code name (500 for anything unknown). */
export function httpStatusOf(code: string): number {
  return HTTP_STATUS_BY_TF_CODE[code] ?? 500;
}

// Library error codes that describe a bad request (wrong keys, dtypes, shapes, values) rather than a server fault.
const BAD_INPUT_CODES = /^ERR_(INPUT_|SIGNATURE_INPUTS|OUT_OF_RANGE|INVALID_ARG|INVALID_SHAPE|INVALID_DATA_LENGTH|INVALID_DTYPE)/;

/**
 * The TF error for anything thrown while serving a request: TF errors as they are; the library's input errors
 * (ERR_INPUT_DTYPE, ERR_INPUT_SHAPE, ERR_SIGNATURE_INPUTS, ERR_OUT_OF_RANGE, …) as INVALID_ARGUMENT; anything
 * a missing SavedModel or graph variant as NOT_FOUND; anything else as UNKNOWN with its message.
 */
export function toTfError(e: unknown): TFError {
  if (e instanceof TFError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const message = typeof err?.message === 'string' ? err.message : String(e);
  if (typeof err?.code === 'string' && BAD_INPUT_CODES.test(err.code)) return new InvalidArgumentError(message);
  if (typeof err?.code === 'string' && /^ERR_(SAVED_MODEL_NOT_FOUND|HANDLE_NOT_FOUND|NO_SUCH_GRAPH_VARIANT)$/.test(err.code))
    return new NotFoundError(message);
  if (e instanceof RangeError && /Array buffer allocation failed|Invalid typed array length|Invalid array length/.test(message)) {
    return new InvalidArgumentError(message);
  }
  return new UnknownError(message);
}
