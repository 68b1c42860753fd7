/**
 * What a closing ModelServer waits for: the front ends' requests (REST, gRPC), counted from their arrival to their
 * answer, and the calls running on a version (library calls included). `settle` waits until none is left, for at
 * most a bound, then cancels the requests still waiting and waits for the runs in progress.
 */
export class Drain {
  private inflight = 0;
  /** Admitted requests: their signal → how to cancel them. */
  private readonly admitted = new Map<AbortSignal, (reason: Error) => void>();
  private onIdle: (() => void) | null = null;
  private cancelled = false;

  /** Counts a front end's request until the returned function is called (once it is answered). */
  admit(signal: AbortSignal, cancel: (reason: Error) => void): () => void {
    this.admitted.set(signal, cancel);
    return () => {
      if (this.admitted.delete(signal)) this.check();
    };
  }

  /** Whether `signal` is an admitted request's. */
  has(signal: AbortSignal | undefined): boolean {
    return signal !== undefined && this.admitted.has(signal);
  }

  /** A call starts running on a version. */
  enter(): void {
    this.inflight++;
  }

  /** A call running on a version returned. */
  leave(): void {
    if (--this.inflight === 0) this.check();
  }

  /**
   * Resolves once nothing is in progress, waiting at most `ms`; then cancels the admitted requests left with
   * `reason()` and waits for the runs in progress (a model run cannot be interrupted). Resolves with the number
   * of requests cancelled.
   */
  async settle(ms: number, reason: () => Error): Promise<number> {
    if (await this.whenIdle(ms)) return 0;
    const left = [...this.admitted.values()];
    this.cancelled = true;
    const r = reason();
    for (const cancel of left) cancel(r);
    await this.whenIdle(Infinity);
    return left.length;
  }

  private isIdle(): boolean {
    return this.inflight === 0 && (this.cancelled || this.admitted.size === 0);
  }

  /** Resolves true once nothing is in progress, false after `ms`. */
  private whenIdle(ms: number): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms)
        ? setTimeout(() => {
            this.onIdle = null;
            resolve(false);
          }, ms)
        : undefined;
      this.onIdle = () => {
        clearTimeout(timer);
        this.onIdle = null;
        resolve(true);
      };
    });
  }

  private check(): void {
    if (this.onIdle && this.isIdle()) this.onIdle();
  }
}
