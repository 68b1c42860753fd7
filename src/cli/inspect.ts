/**
 * `tfhub-node inspect <handle>` (also `--dir D`, `--all`, `--tag_set`, `--signature_def`): what Python's
 * `saved_model_cli show` prints, for TF1 SavedModels, TF2 SavedModels (with the "Concrete Functions" section
 * built from the object graph) and TF1 Hub modules (every graph variant). Byte for byte the same text, except
 * that the op set is printed sorted (Python prints it in its hash order, which changes between runs).
 */
import * as hub from '../hub';
import { readSavedModel } from '../hub/saved_model';
import { decodeSpec, formatLeaf, Spec } from '../hub/tf2/structure';
import { dataTypeName, tensorflow } from '../proto';
import { failCommand, FlagError } from './flags';
import { resolveWithProgress } from './progress';

/** What `inspect` prints for `--help`. */
export const INSPECT_USAGE = `usage: tfhub-node inspect <handle> [--all] [--tag_set TAGS [--signature_def KEY]]
  handle           a SavedModel or TF1 Hub module: directory, file:// or http(s) URL, archive (also --dir DIR)
  --all            everything, as \`saved_model_cli show --all\` (the default without --tag_set)
  --tag_set        one meta graph, tags comma-separated: its signature keys (as \`saved_model_cli show --tag_set\`)
  --signature_def  with --tag_set: that signature's inputs and outputs`;

function shapeText(shape: tensorflow.ITensorShapeProto | null | undefined): string {
  if (shape?.unknownRank) return 'unknown_rank';
  return `(${(shape?.dim ?? []).map((d) => String(d.size ?? 0)).join(', ')})`;
}

function tensorInfoLines(info: tensorflow.ITensorInfo, indent: string): string[] {
  return [
    `${indent}    dtype: ${dataTypeName(info.dtype)}`,
    `${indent}    shape: ${shapeText(info.tensorShape)}`,
    `${indent}    name: ${info.name ?? ''}`,
  ];
}

/** `_show_inputs_outputs`: a signature's inputs, outputs and method name. */
export function signatureLines(sig: tensorflow.ISignatureDef, indent = '  '): string[] {
  const out = [`${indent}The given SavedModel SignatureDef contains the following input(s):`];
  for (const k of Object.keys(sig.inputs ?? {}).sort())
    out.push(`${indent}  inputs['${k}'] tensor_info:`, ...tensorInfoLines(sig.inputs![k], indent + '  '));
  out.push(`${indent}The given SavedModel SignatureDef contains the following output(s):`);
  for (const k of Object.keys(sig.outputs ?? {}).sort())
    out.push(`${indent}  outputs['${k}'] tensor_info:`, ...tensorInfoLines(sig.outputs![k], indent + '  '));
  out.push(`${indent}Method name is: ${sig.methodName ?? ''}`);
  return out;
}

/** meta_graph.ops_used_by_graph_def: node ops, following PartitionedCall's `f` into library functions. */
export function opsUsedByGraph(graph: tensorflow.IGraphDef | null | undefined): string[] {
  const functions = new Map((graph?.library?.function ?? []).map((f) => [f.signature?.name ?? '', f]));
  const used = new Set<string>();
  const todo: tensorflow.IFunctionDef[] = [];
  const mark = (op: string): void => {
    if (!used.has(op) && functions.has(op)) todo.push(functions.get(op)!);
    used.add(op);
  };
  const visit = (node: tensorflow.INodeDef): void => {
    mark(node.op ?? '');
    if (node.op === 'PartitionedCall' || node.op === 'StatefulPartitionedCall') mark(node.attr?.f?.func?.name ?? '');
  };
  for (const n of graph?.node ?? []) visit(n);
  while (todo.length) for (const n of todo.pop()!.nodeDef ?? []) visit(n);
  return [...used].filter((op) => !functions.has(op)).sort();
}

function pyStr(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function pyList(items: string[]): string {
  return `[${items.map(pyStr).join(', ')}]`;
}

function pyValue(spec: Spec): string {
  if (spec.kind === 'literal')
    return typeof spec.value === 'string'
      ? pyStr(spec.value)
      : typeof spec.value === 'boolean'
        ? spec.value
          ? 'True'
          : 'False'
        : spec.float && Number.isInteger(spec.value)
          ? spec.value.toFixed(1)
          : String(spec.value);
  if (spec.kind === 'none') return 'None';
  if (spec.kind === 'tensor') return formatLeaf(spec.leaf);
  return `<${spec.kind}>`;
}

const PY_TYPE: Record<string, string> = {
  list: 'list',
  tuple: 'tuple',
  dict: 'dict',
  none: 'NoneType',
  sparse: 'SparseTensorSpec',
  ragged: 'RaggedTensorSpec',
};

/** saved_model_cli's `_print_args` (its `\b\b` included). */
function argLines(items: Array<Spec | string>, kind: string): string[] {
  const ind = '        ';
  const out: string[] = [];
  items.forEach((el, i) => {
    out.push(`${ind}${kind} #${i + 1}`);
    if (typeof el === 'string') out.push(`${ind}  ${el}`);
    else if (el.kind === 'tensor') out.push(`${ind}  ${el.leaf.name}: ${formatLeaf(el.leaf)}`);
    else if (el.kind === 'list' || el.kind === 'tuple' || el.kind === 'namedtuple') {
      const values = el.kind === 'namedtuple' ? el.values : el.items;
      out.push(
        `${ind}  DType: ${el.kind === 'namedtuple' ? el.name : PY_TYPE[el.kind]}`,
        `${ind}  Value: [${values.map((v) => `${pyValue(v)}, `).join('')}\b\b]`,
      );
    } else if (el.kind === 'dict') {
      out.push(`${ind}  DType: dict`, `${ind}  Value: {${el.keys.map((k, j) => `'${k}': ${pyValue(el.values[j])}, `).join('')}\b\b}`);
    } else if (el.kind === 'literal') {
      const t =
        typeof el.value === 'boolean'
          ? 'bool'
          : typeof el.value === 'string'
            ? 'str'
            : el.float || !Number.isInteger(el.value)
              ? 'float'
              : 'int';
      out.push(`${ind}  DType: ${t}`, `${ind}  Value: ${typeof el.value === 'string' ? el.value : pyValue(el)}`);
    } else out.push(`${ind}  DType: ${PY_TYPE[el.kind] ?? el.kind}`, `${ind}  Value: ${pyValue(el)}`);
  });
  return out;
}

/** The "Concrete Functions" section: the root object's functions, as `saved_model_cli` lists them after load. */
export function concreteFunctionLines(graph: tensorflow.ISavedObjectGraph): string[] {
  const nodes = graph.nodes ?? [];
  const children = [...(nodes[0]?.children ?? [])].sort((a, b) => ((a.localName ?? '') < (b.localName ?? '') ? -1 : 1));
  const out: string[] = [];
  for (const child of children) {
    const node = nodes[child.nodeId ?? 0];
    let names: string[];
    if (node?.function) names = [...(node.function.concreteFunctions ?? [])];
    else if (node?.bareConcreteFunction) names = [node.bareConcreteFunction.concreteFunctionName ?? ''];
    else continue;
    out.push('', `  Function Name: '${child.localName}'`);
    names.sort().forEach((name, i) => {
      const cf = graph.concreteFunctions?.[name];
      const sig = decodeSpec(cf?.canonicalizedInputSignature);
      let args: Array<Spec | string> = [];
      let kwargs: string[] = [];
      if (sig.kind === 'tuple' && sig.items.length === 2) {
        const [a, k] = sig.items;
        args = a.kind === 'tuple' || a.kind === 'list' ? a.items : [];
        kwargs = k.kind === 'dict' ? k.keys : [];
      } else if (!cf?.canonicalizedInputSignature && node?.bareConcreteFunction) {
        args = [...(node.bareConcreteFunction.argumentKeywords ?? [])];
      }
      if (args.length) out.push(`    Option #${i + 1}`, '      Callable with:', ...argLines(args, 'Argument'));
      if (kwargs.length) out.push(...argLines(kwargs, 'Named Argument'));
    });
  }
  // Python prints 'Concrete Functions:' without a newline and each function after one: the first function
  // follows on the next line, the others after a blank line.
  return ['', 'Concrete Functions:', ...out.slice(1)];
}

function sortedMetaGraphs(sm: tensorflow.ISavedModel): tensorflow.IMetaGraphDef[] {
  const key = (m: tensorflow.IMetaGraphDef) => m.metaInfoDef?.tags ?? [];
  return [...(sm.metaGraphs ?? [])].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    return x.length - y.length;
  });
}

/** What `saved_model_cli show --dir D --all` prints for a SavedModel (the trailing newline included). */
export function formatShowAll(sm: tensorflow.ISavedModel): string {
  const lines: string[] = [];
  for (const mg of sortedMetaGraphs(sm)) {
    const tags = mg.metaInfoDef?.tags ?? [];
    lines.push('', `MetaGraphDef with tag-set: '${tags.join(', ')}' contains the following SignatureDefs:`);
    for (const key of Object.keys(mg.signatureDef ?? {}).sort())
      lines.push('', `signature_def['${key}']:`, ...signatureLines(mg.signatureDef![key]));
    const ops = opsUsedByGraph(mg.graphDef);
    lines.push(
      `The MetaGraph with tag set ${pyList(tags)} contains the following ops: ${ops.length ? `{${ops.map(pyStr).join(', ')}}` : 'set()'}`,
    );
  }
  const withObjects = (sm.metaGraphs ?? []).find((m) => m.objectGraphDef);
  if (!withObjects) return lines.join('\n') + '\n';
  const fns = concreteFunctionLines(withObjects.objectGraphDef!);
  return [...lines, ...fns].join('\n') + (fns.length > 2 ? '\n' : '');
}

/** `saved_model_cli show --tag_set T [--signature_def K]`. */
export function formatShowTagSet(sm: tensorflow.ISavedModel, tagSet: string, signatureKey?: string): string {
  const want = tagSet
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .sort()
    .join(',');
  const mg = (sm.metaGraphs ?? []).find((m) => [...(m.metaInfoDef?.tags ?? [])].sort().join(',') === want);
  if (!mg) throw new FlagError(`--tag_set: MetaGraphDef associated with tag-set ${tagSet} could not be found in SavedModel`);
  if (signatureKey === undefined) {
    return `The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:\n${Object.keys(mg.signatureDef ?? {})
      .sort()
      .map((k) => `SignatureDef key: "${k}"\n`)
      .join('')}`;
  }
  const sig = mg.signatureDef?.[signatureKey];
  if (!sig)
    throw new FlagError(
      `--signature_def: Could not find signature "${signatureKey}". Please choose from: ${Object.keys(mg.signatureDef ?? {}).join(', ')}`,
    );
  return signatureLines(sig, '').join('\n') + '\n';
}

interface InspectArgs {
  handle: string;
  tagSet?: string;
  signatureDef?: string;
  help: boolean;
}

function parseArgs(argv: string[]): InspectArgs {
  const args: InspectArgs = { handle: '', help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const eq = /^(--?[a-z_]+)=([\s\S]*)$/.exec(argv[i]);
    const [name, inline] = eq ? [eq[1].replace(/^-(?=[a-z])/, '--'), eq[2]] : [argv[i].replace(/^-(?=[a-z_]{2})/, '--'), undefined];
    const val = (): string => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new FlagError(`${name} needs a value`);
      return argv[++i];
    };
    if (name === '--help' || name === '-h') args.help = true;
    else if (name === '--all') {
      if (inline !== undefined) throw new FlagError('--all takes no value');
    } else if (name === '--dir') rest.push(val());
    else if (name === '--tag_set') args.tagSet = val();
    else if (name === '--signature_def') args.signatureDef = val();
    else if (name.startsWith('-')) throw new FlagError(`unknown option ${argv[i]}`);
    else rest.push(argv[i]);
  }
  if (args.help) return args;
  if (rest.length !== 1) throw new FlagError(rest.length ? `unexpected argument ${rest[1]}` : 'a handle (or --dir) is required');
  if (args.signatureDef !== undefined && args.tagSet === undefined) throw new FlagError('--signature_def needs --tag_set');
  args.handle = rest[0];
  return args;
}

/** Runs `inspect` with `argv` (the arguments after `inspect`); resolves with the exit code (2: bad flags). */
export async function inspectCommand(argv: string[]): Promise<number> {
  let args: InspectArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    console.error(`tfhub-node inspect: ${(e as Error).message}\n${INSPECT_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(INSPECT_USAGE);
    return 0;
  }
  try {
    const sm = await readSavedModel(await resolveWithProgress(args.handle, hub.resolve));
    process.stdout.write(args.tagSet === undefined ? formatShowAll(sm) : formatShowTagSet(sm, args.tagSet, args.signatureDef));
    return 0;
  } catch (e) {
    return failCommand('inspect', e);
  }
}
