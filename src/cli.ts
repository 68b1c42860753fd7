#!/usr/bin/env node
/**
 * `tfhub-node` command line.
 *   tfhub-node run [handle] [--signature NAME] [--tags a,b] [--input key=JSON ...]
 * Prints the module's graph variants and signatures, then the outputs for the given inputs. The default
 * handle is the bundled example module `half_plus_two` (y = 0.5·x + 2).
 */
import * as path from 'node:path';
import { hub } from './index';
import { typeError } from './errors';
import { Tensor } from './tensor';
import { ParsedTensorInfo } from './hub/saved_model';
import { tfServerMain } from './cli/tf_server';

const DEFAULT_HANDLE = path.resolve(__dirname, '..', '..', 'examples', 'half_plus_two');
const DEFAULT_INPUT = '[1,2,5]';

interface Args { command: string; handle: string; signature: string; tags: string[]; inputs: string[]; help: boolean }

function parseArgs(argv: string[]): Args {
  const args: Args = { command: '', handle: '', signature: 'default', tags: [], inputs: [], help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw typeError('ERR_INVALID_ARG_VALUE', `${a} needs a value`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--signature' || a === '-s') args.signature = value();
    else if (a === '--tags' || a === '-t') args.tags = value().split(',').map((t) => t.trim()).filter(Boolean);
    else if (a === '--input' || a === '-i') args.inputs.push(value());
    else if (a.startsWith('--input=')) args.inputs.push(a.slice(8));
    else if (a.startsWith('-')) throw typeError('ERR_INVALID_ARG_VALUE', `unknown option ${a}`);
    else rest.push(a);
  }
  args.command = rest[0] ?? 'run';
  args.handle = rest[1] ?? DEFAULT_HANDLE;
  return args;
}

function describe(info: ParsedTensorInfo): string {
  const shape = info.shape === null ? '<unknown>' : `[${info.shape.map((d) => (d === -1 ? '?' : d)).join(', ')}]`;
  return `${info.kind === 'Tensor' ? '' : info.kind + ' '}${info.dtype} ${shape}`;
}

function show(t: unknown): string {
  if (t instanceof Tensor) return `${t.dtype} [${t.shape.join(', ')}] ${JSON.stringify(t.array(), (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`;
  if (t && typeof t === 'object') return Object.entries(t).map(([k, v]) => `${k}: ${show(v)}`).join('; ');
  return String(t);
}

async function run(args: Args): Promise<void> {
  const spec = await hub.loadModuleSpec(args.handle);
  console.log(`module: ${args.handle === DEFAULT_HANDLE ? 'half_plus_two (bundled example)' : args.handle}`);
  console.log(`graph variants (tags): ${spec.getTags().map((t) => `[${t.join(', ')}]`).join(' ')}`);
  for (const tags of spec.getTags()) {
    for (const name of spec.getSignatureNames({ tags })) {
      const ins = Object.entries(spec.getInputInfoDict(name, { tags })).map(([k, v]) => `${k}: ${describe(v)}`).join(', ');
      const outs = Object.entries(spec.getOutputInfoDict(name, { tags })).map(([k, v]) => `${k}: ${describe(v)}`).join(', ');
      console.log(`  [${tags.join(', ')}] signature '${name}': (${ins}) -> (${outs})`);
    }
  }
  const inputs = args.inputs.length > 0 ? args.inputs : (args.handle === DEFAULT_HANDLE ? [DEFAULT_INPUT] : []);
  if (inputs.length === 0) return;
  const infos = spec.getInputInfoDict(args.signature, { tags: args.tags });
  const values: Record<string, unknown> = {};
  for (const item of inputs) {
    const eq = item.indexOf('=');
    const looksKeyed = eq > 0 && !item.trimStart().startsWith('[');
    const key = looksKeyed ? item.slice(0, eq) : Object.keys(infos).length === 1 ? Object.keys(infos)[0] : '';
    if (!key) throw typeError('ERR_INVALID_ARG_VALUE', `--input ${item}: name the input (key=JSON); inputs are ${Object.keys(infos).join(', ')}`);
    const text = looksKeyed ? item.slice(eq + 1) : item;
    try {
      values[key] = JSON.parse(text);
    } catch {
      throw typeError('ERR_INVALID_ARG_VALUE', `--input ${key}: not JSON: ${text}`);
    }
  }
  const fn = await hub.evalFunctionForModule(spec, { tags: args.tags });
  try {
    console.log(`inputs: ${JSON.stringify(values)}`);
    const out = await fn.call(values, { signature: args.signature, asDict: true });
    for (const [k, v] of Object.entries(out)) console.log(`output ${k}: ${show(v)}`);
  } finally {
    fn.close();
  }
}

const USAGE = `usage: tfhub-node run [handle] [--signature NAME] [--tags a,b] [--input key=JSON ...]
  handle     a module directory, file:// URL, http(s) URL or archive (default: bundled half_plus_two)
  --input    an input value as JSON, e.g. --input x=[1,2,5] (the key may be left out for one-input signatures)`;

async function main(): Promise<number> {
  if (process.argv[2] === 'tf-server') return tfServerMain(process.argv.slice(3));
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.command !== 'run') {
    console.error(`unknown command '${args.command}'\n${USAGE}`);
    return 2;
  }
  try {
    await run(args);
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    console.error(`tfhub-node: ${err.code ? `[${err.code}] ` : ''}${err.message}`);
    return 1;
  }
}

void main().then((code) => { process.exitCode = code; });
