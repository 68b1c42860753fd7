/**
 * Command-line flags in TensorFlow's style (`--name=value` or `--name value`; bools as `--name`,
 * `--name=true|false`). A spec lists each flag's type, default and help; parsing gives typed values or a
 * `FlagError` naming the flag.
 */
import { TfhubError } from '../errors';

/** A flag's value type. */
export type FlagType = 'bool' | 'int32' | 'int64' | 'float' | 'string';

/** One flag: its name (without dashes), type, default and help text. */
export interface FlagSpec {
  name: string;
  type: FlagType;
  default: boolean | number | string;
  help: string;
}

/** A command-line error (unknown flag, bad value): message names the flag; the CLI exits with code 2. */
export class FlagError extends TfhubError {
  constructor(message: string) {
    super('ERR_INVALID_FLAG', message);
  }
}

/**
 * How a subcommand ends on an error: a FlagError prints `tfhub-node <command>: message` and exits 2, anything
 * else prints `tfhub-node: [CODE] message` and exits 1. Returns the exit code.
 */
export function failCommand(command: string, e: unknown): number {
  const err = e as Error & { code?: string };
  if (e instanceof FlagError) {
    console.error(`tfhub-node ${command}: ${err.message}`);
    return 2;
  }
  console.error(`tfhub-node: ${err.code ? `[${err.code}] ` : ''}${err.message}`);
  return 1;
}

function convert(spec: FlagSpec, text: string): boolean | number | string {
  switch (spec.type) {
    case 'bool':
      if (/^(true|1)$/i.test(text)) return true;
      if (/^(false|0)$/i.test(text)) return false;
      throw new FlagError(`--${spec.name}: expected true or false, got '${text}'`);
    case 'int32':
    case 'int64': {
      if (!/^[-+]?\d+$/.test(text.trim())) throw new FlagError(`--${spec.name}: expected an integer, got '${text}'`);
      const n = Number(text);
      const limit = spec.type === 'int32' ? 2 ** 31 : 2 ** 53;
      if (!Number.isSafeInteger(n) || n >= limit || n < -limit)
        throw new FlagError(`--${spec.name}: ${text} is out of range for ${spec.type}`);
      return n;
    }
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new FlagError(`--${spec.name}: expected a number, got '${text}'`);
      return n;
    }
    default:
      return text;
  }
}

/** Parses `argv` against `specs`. Returns every flag's value (defaults filled in) and the set given explicitly. */
export function parseFlags(
  argv: string[],
  specs: readonly FlagSpec[],
): { values: Record<string, boolean | number | string>; given: Set<string>; help: boolean } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: Record<string, boolean | number | string> = {};
  for (const s of specs) values[s.name] = s.default;
  const given = new Set<string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h' || arg === '--helpfull') {
      help = true;
      continue;
    }
    const m = /^--?([A-Za-z0-9_]+)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) throw new FlagError(`unknown argument: ${arg}`);
    const spec = byName.get(m[1]);
    if (!spec) throw new FlagError(`unknown flag: --${m[1]}`);
    let text = m[2];
    if (text === undefined) {
      if (spec.type === 'bool') text = 'true';
      else {
        if (i + 1 >= argv.length) throw new FlagError(`--${spec.name}: missing value`);
        text = argv[++i];
      }
    }
    values[spec.name] = convert(spec, text);
    given.add(spec.name);
  }
  return { values, given, help };
}

/** The `--help` text: one line per flag with its type and default, then its help. */
export function formatFlagHelp(usage: string, specs: readonly FlagSpec[]): string {
  const lines = [usage, 'Flags:'];
  for (const s of specs) {
    const def = typeof s.default === 'string' ? `"${s.default}"` : String(s.default);
    lines.push(`\t--${s.name}=${def}\t${s.type}\t${s.help}`);
  }
  return lines.join('\n');
}
