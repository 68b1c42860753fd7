/**
 * TF Serving's REST API as a `node:http` request handler (api_rest.md): model status, metadata, `:predict`,
 * `:classify` and `:regress` under `/v1/models/<name>[/versions/<v>|/labels/<l>]`. Every error is
 * `{"error": "<message>"}` with TF Serving's HTTP status for its TF code; bodies over the size limit are 413,
 * bodies that do not arrive in time are 408, and nothing a client sends can take the server down.
 */
import type * as http from 'node:http';
import { CancelledError, DeadlineExceededError, InvalidArgumentError, TFError, UnavailableError } from '../../errors';
import { httpStatusOf, toTfError } from '../errors';
import type { ModelServer, ModelSpecQuery } from '../model_server';
import { JsonDecimal, JsonValue, parseJson } from './json';
import { predictInputsFromJson, predictResponseJson, signatureNameOf } from './predict_json';
import { modelMetadataJson, modelStatusJson } from './proto_json';
import { classifyResponseJson, examplesFromJson, regressResponseJson } from './example_json';

/** Options of the REST handler. */
export interface RestOptions {
  /** Largest request body in bytes (default 64 MiB); larger ones get HTTP 413 without being buffered. */
  maxBodyBytes?: number;
  /** Time for one request, body upload included (`--rest_api_timeout_in_ms`, default 30000; 0 = none). */
  timeoutMs?: number;
  /** Add CORS headers (`--rest_api_enable_cors_support`). */
  cors?: boolean;
  /**
   * Called once per answered `/v1/` request (metrics): the model name and API as TF Serving records them
   * (`predict`, `classify`, `regress`, `''` for GET), the TF code of the answer (`OK` when it succeeded) and
   * the wall time in microseconds.
   */
  onRequest?(info: RestRequestInfo): void;
}

/** What {@link RestOptions.onRequest} receives. */
export interface RestRequestInfo {
  /** The model name of the path (`''` when it has none). */
  modelName: string;
  /** `predict`, `classify`, `regress`, or `''` (GET and malformed requests). */
  api: string;
  /** `OK` or the TF code of the error answered (408 is DEADLINE_EXCEEDED, 413 RESOURCE_EXHAUSTED). */
  code: string;
  /** Wall time from the request's arrival to its answer, in microseconds. */
  micros: number;
}

const PREDICT_PATH = /^\/v1\/models\/([^/:]+)(?:(?:\/versions\/(\d+))|(?:\/labels\/([^/:]+)))?:(classify|regress|predict)$/i;
const STATUS_PATH = /^\/v1\/models(?:\/([^/:]+))?(?:(?:\/versions\/(\d+))|(?:\/labels\/([^/:]+)))?(?:\/(metadata))?$/i;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new InvalidArgumentError(`Failed to decode ${what}:${part}`);
  }
}

function specFrom(m: RegExpExecArray): ModelSpecQuery {
  const spec: ModelSpecQuery = { name: m[1] === undefined ? '' : decode(m[1], 'model name') };
  if (m[2] !== undefined) {
    const v = Number(m[2]);
    if (!Number.isSafeInteger(v) || BigInt(m[2]) > 2n ** 63n - 1n)
      throw new InvalidArgumentError(`Failed to convert version: ${m[2]} to numeric.`);
    spec.version = v;
  }
  if (m[3] !== undefined) spec.versionLabel = decode(m[3], 'model version label');
  if (spec.version !== undefined && spec.versionLabel !== undefined) {
    throw new InvalidArgumentError(
      `Both model version (${spec.version}) and model version label (${spec.versionLabel}) cannot be supplied.`,
    );
  }
  return spec;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new HttpError(413, `Request body of ${declared} bytes is larger than the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        reject(new HttpError(413, `Request body is larger than the limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks).toString('utf8'));
      }
    });
    req.on('error', (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
  });
}

function objectBody(text: string): { [key: string]: JsonValue } {
  const doc = parseJson(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || doc instanceof JsonDecimal) {
    throw new InvalidArgumentError(`JSON Value: ${text.slice(0, 256)} Is not object`);
  }
  return doc;
}

/** The `(req, res)` handler of a ModelServer's REST API. */
export function createRestHandler(
  server: ModelServer,
  options: RestOptions = {},
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const limit = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 30000;

  async function route(req: http.IncomingMessage, signal: AbortSignal, info: Partial<RestRequestInfo>): Promise<string> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0];
    if (!/^\/v1\//i.test(path) && path !== '/v1') throw new HttpError(404, `Not found: ${method} ${path}`);
    info.modelName = '';
    if (method === 'POST') {
      const m = PREDICT_PATH.exec(path);
      if (!m) throw new InvalidArgumentError(`Malformed request: ${method} ${path}`);
      info.modelName = m[1] ?? '';
      info.api = m[4].toLowerCase();
      const spec = specFrom(m);
      const body = await readBody(req, limit);
      const doc = objectBody(body);
      const signatureName = signatureNameOf(doc);
      const query: ModelSpecQuery = { ...spec, signatureName };
      const verb = m[4].toLowerCase();
      if (verb === 'predict') {
        return server.withServable(query, signal, async (s, resolved) => {
          let infos;
          try {
            infos = s.signatureInputs(resolved.signatureName);
          } catch {
            throw new InvalidArgumentError(`Serving signature name: "${resolved.signatureName}" not found in signature def`);
          }
          const { format, inputs } = predictInputsFromJson(doc, infos, signatureName ?? '');
          const outputs = await s.predict(resolved.signatureName, inputs, [], signal);
          return predictResponseJson(outputs, format);
        });
      }
      const examples = examplesFromJson(doc, verb);
      if (verb === 'classify') return classifyResponseJson((await server.classify(query, examples, { signal })).classifications);
      return regressResponseJson((await server.regress(query, examples, { signal })).values);
    }
    if (method === 'GET') {
      const m = STATUS_PATH.exec(path);
      if (!m) throw new InvalidArgumentError(`Malformed request: ${method} ${path}`);
      info.modelName = m[1] ?? '';
      const spec = specFrom(m);
      if (spec.name === '') throw new InvalidArgumentError('Missing model name in request.');
      if (m[4] !== undefined) {
        const { modelSpec, signatureDefs } = await server.getModelMetadata(spec, { signal });
        return modelMetadataJson(modelSpec, signatureDefs);
      }
      return modelStatusJson(server.getModelStatus(spec));
    }
    throw new InvalidArgumentError(`Malformed request: ${method} ${path}`);
  }

  return (req, res) => {
    const controller = new AbortController();
    const started = process.hrtime.bigint();
    const info: Partial<RestRequestInfo> = {};
    const observe = (code: string) => {
      if (options.onRequest && info.modelName !== undefined) {
        options.onRequest({
          modelName: info.modelName,
          api: info.api ?? '',
          code,
          micros: Number(process.hrtime.bigint() - started) / 1000,
        });
      }
    };
    let finished = false;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (options.cors)
      Object.assign(headers, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'POST, GET',
        'Access-Control-Allow-Headers': 'Content-Type',
      });
    const reply = (status: number, body: string, close = false) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (res.headersSent || res.destroyed) return;
      // While the server closes, connections close after their answer.
      res.writeHead(status, close || !server.serving ? { ...headers, Connection: 'close' } : headers);
      res.end(body);
      // The rest of an unread body is drained (not buffered) so the client can read the answer.
      if (close && !req.complete) req.resume();
    };
    const replyError = (e: unknown) => {
      if (finished) return;
      if (e instanceof HttpError) {
        observe(e.status === 408 ? 'DEADLINE_EXCEEDED' : e.status === 413 ? 'RESOURCE_EXHAUSTED' : 'NOT_FOUND');
        reply(e.status, JSON.stringify({ error: e.message }, null, 4), true);
        return;
      }
      const err: TFError = toTfError(e);
      observe(err.code);
      reply(httpStatusOf(err.code), JSON.stringify({ error: err.message }, null, 4), !req.complete);
    };
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            // TF Serving maps DEADLINE_EXCEEDED to 504 (ToHTTPStatusCode); a body still uploading is 408.
            const deadline = new DeadlineExceededError('Deadline Exceeded');
            controller.abort(deadline);
            if (!req.complete) replyError(new HttpError(408, `Request body not received within ${timeoutMs} ms`));
            else replyError(deadline);
          }, timeoutMs)
        : undefined;
    // Counted from here to the answer: close() waits for it (its body may still be uploading). When the drain's
    // time is up the request is cancelled and answered UNAVAILABLE.
    const release = server.admit(controller.signal, (reason) => {
      controller.abort(reason);
      replyError(reason);
    });
    if (!release) {
      replyError(new UnavailableError('Server is shutting down'));
      return;
    }
    // A client that went away: its request leaves the batch queue without running.
    res.on('close', () => {
      release();
      if (!res.writableFinished) controller.abort(new CancelledError('The client closed the connection'));
    });
    route(req, controller.signal, info).then((body) => {
      if (!finished) observe('OK');
      reply(200, body);
    }, replyError);
  };
}
