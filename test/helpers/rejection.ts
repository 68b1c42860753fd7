// The error a promise rejects with (a test fails if it resolves).

/** Awaits `p` and returns its rejection; throws if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; status?: number; url?: string; handle?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
