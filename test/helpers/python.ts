// Running Python TensorFlow from tests: where it is installed, tests also check that Python reads what we write.
import { spawnSync } from 'node:child_process';

/** Python's interpreter (TFHUB_PYTHON overrides `python3`). */
export const PYTHON = process.env.TFHUB_PYTHON || 'python3';

/**
 * Runs a Python script with `input` on stdin; null when Python or its TensorFlow is missing (what
 * `python3 -c "import tensorflow"` would tell, without paying TensorFlow's import twice).
 */
export function runPython(script: string, input: string): { status: number | null; stdout: string; stderr: string } | null {
  const r = spawnSync(PYTHON, ['-c', script], {
    input,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', CUDA_VISIBLE_DEVICES: '' },
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return null;
  if (r.status !== 0 && /No module named '?tensorflow'?/.test(r.stderr)) return null;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
