// Child process for the resolver's multi-process tests (no `.test.` in the name, so all.ts does not load it).
// argv[2]: JSON {handle, options, env}. Prints one JSON line: {ok: true, path} or {ok: false, code, message}.
import { resolve } from '../../../src/hub/resolver';

async function main(): Promise<void> {
  const { handle, options, env } = JSON.parse(process.argv[2]) as {
    handle: string;
    options?: Record<string, unknown>;
    env?: Record<string, string>;
  };
  for (const [k, v] of Object.entries(env ?? {})) process.env[k] = v;
  process.stdout.write(`${JSON.stringify({ started: process.pid })}\n`);
  try {
    const p = await resolve(handle, options ?? {});
    process.stdout.write(`${JSON.stringify({ ok: true, path: p })}\n`);
  } catch (e) {
    const err = e as Error & { code?: string };
    process.stdout.write(`${JSON.stringify({ ok: false, code: err.code, message: err.message })}\n`);
  }
}

void main();
