/**
 * `tfhub-node run [handle] [--signature NAME] [--tags a,b] [--input key=JSON ...]`: prints a model's graph
 * variants and signatures, then the outputs for the given inputs. TF1 Hub modules run through `hub.Module`'s
 * eval function; SavedModels (TF1 and TF2) through `hub.load`. The default handle is the bundled example module
 * `half_plus_two` (y = 0.5·x + 2).
 */
import * as path from 'node:path';
import * as hub from '../hub';
import { ParsedTensorInfo, isTf1HubModule } from '../hub/saved_model';
import { Tensor } from '../tensor';
import { failCommand, FlagError } from './flags';
import { resolveWithProgress } from './progress';

const DEFAULT_HANDLE = path.resolve(__dirname, '..', '..', '..', 'examples', 'half_plus_two');
const DEFAULT_INPUT = '[1,2,5]';

/** What `run` prints for `--help`. */
export const RUN_USAGE = `usage: tfhub-node run [handle] [--signature NAME] [--tags a,b] [--input key=JSON ...]
  handle       a module or SavedModel directory, file:// URL, http(s) URL or archive (default: bundled half_plus_two)
  --signature  signature to run (default: 'default' for TF1 Hub modules, 'serving_default' for SavedModels)
  --tags       the graph variant's tags, comma-separated (exact set)
  --input      an input value as JSON, e.g. --input x=[1,2,5] (the key may be left out for one-input signatures)`;

interface RunArgs {
  handle: string;
  signature: string;
  tags: string[] | null;
  inputs: string[];
  help: boolean;
}

function parseRunArgs(argv: string[]): RunArgs {
  const args: RunArgs = { handle: '', signature: '', tags: null, inputs: [], help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new FlagError(`${a} needs a value`);
      return argv[++i];
    };
    const eq = /^(--[a-z]+)=([\s\S]*)$/.exec(a);
    const [name, inline] = eq ? [eq[1], eq[2]] : [a, undefined];
    const val = () => inline ?? value();
    if (name === '--help' || name === '-h') args.help = true;
    else if (name === '--signature' || name === '-s') args.signature = val();
    else if (name === '--tags' || name === '-t')
      args.tags = val()
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
    else if (name === '--input' || name === '-i') args.inputs.push(val());
    else if (a.startsWith('-')) throw new FlagError(`unknown option ${a}`);
    else rest.push(a);
  }
  if (rest.length > 1) throw new FlagError(`unexpected argument ${rest[1]}`);
  args.handle = rest[0] ?? DEFAULT_HANDLE;
  return args;
}

function describe(info: { kind: string; dtype: string; shape: number[] | null }): string {
  const shape = info.shape === null ? '<unknown>' : `[${info.shape.map((d) => (d === -1 ? '?' : d)).join(', ')}]`;
  return `${info.kind === 'Tensor' ? '' : info.kind + ' '}${info.dtype} ${shape}`;
}

function show(t: unknown): string {
  if (t instanceof Tensor)
    return `${t.dtype} [${t.shape.join(', ')}] ${JSON.stringify(t.array(), (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`;
  if (t && typeof t === 'object')
    return Object.entries(t)
      .map(([k, v]) => `${k}: ${show(v)}`)
      .join('; ');
  return String(t);
}

function parseInputs(items: string[], keys: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const looksKeyed = eq > 0 && !item.trimStart().startsWith('[');
    const key = looksKeyed ? item.slice(0, eq) : keys.length === 1 ? keys[0] : '';
    if (!key) throw new FlagError(`--input ${item}: name the input (key=JSON); inputs are ${keys.join(', ')}`);
    const text = looksKeyed ? item.slice(eq + 1) : item;
    try {
      values[key] = JSON.parse(text);
    } catch {
      throw new FlagError(`--input ${key}: not JSON: ${text}`);
    }
  }
  return values;
}

async function runHubModule(dir: string, args: RunArgs, label: string): Promise<void> {
  const spec = await hub.loadModuleSpec(dir);
  const tags = args.tags ?? [];
  const signature = args.signature || 'default';
  console.log(`module: ${label}`);
  console.log(
    `graph variants (tags): ${spec
      .getTags()
      .map((t) => `[${t.join(', ')}]`)
      .join(' ')}`,
  );
  for (const t of spec.getTags()) {
    for (const name of spec.getSignatureNames({ tags: t })) {
      const ins = Object.entries(spec.getInputInfoDict(name, { tags: t }))
        .map(([k, v]) => `${k}: ${describe(v as ParsedTensorInfo)}`)
        .join(', ');
      const outs = Object.entries(spec.getOutputInfoDict(name, { tags: t }))
        .map(([k, v]) => `${k}: ${describe(v as ParsedTensorInfo)}`)
        .join(', ');
      console.log(`  [${t.join(', ')}] signature '${name}': (${ins}) -> (${outs})`);
    }
  }
  const items = args.inputs.length > 0 ? args.inputs : args.handle === DEFAULT_HANDLE ? [DEFAULT_INPUT] : [];
  if (items.length === 0) return;
  const values = parseInputs(items, Object.keys(spec.getInputInfoDict(signature, { tags })));
  const fn = await hub.evalFunctionForModule(spec, { tags });
  try {
    console.log(`inputs: ${JSON.stringify(values)}`);
    const out = await fn.call(values, { signature, asDict: true });
    for (const [k, v] of Object.entries(out)) console.log(`output ${k}: ${show(v)}`);
  } finally {
    fn.close();
  }
}

async function runSavedModel(dir: string, args: RunArgs, label: string): Promise<void> {
  const model = await hub.load(dir, { tags: args.tags });
  try {
    console.log(`saved model: ${label} (${model.format}, tags [${model.tags.join(', ')}])`);
    for (const [name, sig] of Object.entries(model.signatures)) {
      const ins = Object.entries(sig.inputs)
        .map(([k, v]) => `${k}: ${describe(v)}`)
        .join(', ');
      const outs = Object.entries(sig.outputs)
        .map(([k, v]) => `${k}: ${describe(v)}`)
        .join(', ');
      console.log(`  signature '${name}': (${ins}) -> (${outs})`);
    }
    if (args.inputs.length === 0) return;
    const names = Object.keys(model.signatures);
    const signature = args.signature || (names.includes('serving_default') ? 'serving_default' : names.length === 1 ? names[0] : '');
    const fn = model.signatures[signature];
    if (!fn) throw new FlagError(`--signature: '${signature}' is not a signature of ${label} (${names.join(', ') || 'none'})`);
    const values = parseInputs(args.inputs, Object.keys(fn.inputs));
    console.log(`inputs: ${JSON.stringify(values)}`);
    const out = await fn(values);
    for (const [k, v] of Object.entries(out)) console.log(`output ${k}: ${show(v)}`);
  } finally {
    model.close();
  }
}

/** Runs `run` with `argv` (the arguments after `run`); resolves with the exit code. */
export async function runCommand(argv: string[]): Promise<number> {
  let args: RunArgs;
  try {
    args = parseRunArgs(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n${RUN_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  try {
    const dir = await resolveWithProgress(args.handle, hub.resolve);
    const label = args.handle === DEFAULT_HANDLE ? 'half_plus_two (bundled example)' : args.handle;
    if (await isTf1HubModule(dir)) await runHubModule(dir, args, label);
    else await runSavedModel(dir, args, label);
    return 0;
  } catch (e) {
    return failCommand('run', e);
  }
}
