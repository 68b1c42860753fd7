/**
 * Request spans for on-demand profiling: while a trace session is open (the profiler service's `Profile` RPC),
 * every request a ModelServer runs on a model version is recorded with its start, end and status code. Nothing is
 * recorded (and nothing is allocated) while no session is open.
 */

/** One request that ran on a model version. */
export interface RequestSpan {
  /** The model, version and signature it ran on. */
  model: string;
  version: number;
  signature: string;
  /** `OK` or the TF code of its error. */
  code: string;
  /** `process.hrtime.bigint()` at its start and end. */
  startNs: bigint;
  endNs: bigint;
}

/** An open trace session: the spans recorded so far, and its start on both clocks. */
export interface TraceSession {
  readonly spans: RequestSpan[];
  /** `process.hrtime.bigint()` when the session opened. */
  readonly startNs: bigint;
  /** Nanoseconds since the Unix epoch when the session opened. */
  readonly startEpochNs: bigint;
  /** Stops recording into this session. */
  close(): void;
}

/** Where a ModelServer reports requests; see the module comment. */
export class RequestTracer {
  private readonly sessions = new Set<RequestSpan[]>();

  /** Whether a session is open (callers skip building spans otherwise). */
  get active(): boolean {
    return this.sessions.size > 0;
  }

  /** Adds a span to every open session. */
  record(span: RequestSpan): void {
    for (const s of this.sessions) s.push(span);
  }

  /** Opens a session; spans of requests that end before `close()` are recorded into it. */
  open(): TraceSession {
    const spans: RequestSpan[] = [];
    this.sessions.add(spans);
    const startNs = process.hrtime.bigint();
    return {
      spans,
      startNs,
      startEpochNs: BigInt(Date.now()) * 1_000_000n,
      close: () => {
        this.sessions.delete(spans);
      },
    };
  }
}
