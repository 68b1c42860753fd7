/**
 * TF1 formats through `hub.load` (Python's `load_v1_in_v2`): TF1 Hub modules and TF1 SavedModels (meta graphs
 * without an object graph) serve their signature_defs only; they are not callable.
 *
 * The meta graph is imported once into a fresh graph; assets are bound to `<dir>/assets/<file>` (Hub modules:
 * the asset Consts are rewritten, §1.7; SavedModels: the asset_file_def tensors are fed to the init op);
 * variables are restored by the saver_def's restore op, or, without one (Hub modules), by one RestoreV2 over the
 * names in the `variables` collection (partitioned variables by slice); then the main/legacy init op runs, or the
 * local-variable and table initializers.
 */
import * as path from 'node:path';
import { DType } from '../dtypes';
import { TfhubError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import { Session, SessionOptions } from '../session';
import { decodeGraphDef, decodeVariableDef, encodeGraphDef, tensorflow, toSafeNumber } from '../proto';
import { Tensor } from '../tensor';
import {
  INIT_OP_SIGNATURE,
  ParsedTensorInfo,
  assetPath,
  checkOpsRegistered,
  exists,
  opName,
  parseTensorInfo,
  restoreV2,
  rewriteHubAssets,
  sliceSpec,
} from './saved_model';
import { checkGraphDef, checkSignatureTensors } from './graph_check';
import { ModelParts, SignatureOutput, TensorSpecInfo } from './tf2/model';
import { checkSignatureInput, normalizeSignatureInputs } from './tf2/signature_inputs';
import { LeafSpec, isRecord } from './tf2/structure';
import { toTensor } from './tf2/values';
import { readValidatedCheckpoint } from './checkpoint_validate';

interface InputLeaf {
  readonly key: string;
  readonly tensor: string;
  readonly leaf: LeafSpec;
}

type OutputPlan =
  | { kind: 'dense'; name: string }
  | { kind: 'sparse'; indices: string; values: string; denseShape: string }
  | { kind: 'ragged'; flatValues: string; rowSplits: string[] }
  | { kind: 'unsupported'; what: string };

interface Tf1Variable {
  def: tensorflow.VariableDef;
  op: Operation;
  isResource: boolean;
  dtype: DType;
  shape: number[] | null;
  trainable: boolean;
}

/** Loads a TF1 Hub module or TF1 SavedModel meta graph (signatures only). */
export async function loadTf1Model(
  dir: string,
  metaGraph: tensorflow.IMetaGraphDef,
  isHubModule: boolean,
  sessionOptions: SessionOptions | undefined,
  strictSignatures = true,
): Promise<ModelParts> {
  const graph = new Graph();
  let session: Session | null = null;
  try {
    const graphDef = decodeGraphDef(encodeGraphDef(metaGraph.graphDef ?? {}), 'graph_def');
    rewriteHubAssets(metaGraph, graphDef, dir);
    checkOpsRegistered(graphDef);
    checkGraphDef(graphDef, dir);
    await graph.importGraphDefAsync(encodeGraphDef(graphDef));
    // Python refuses the model; TF Serving serves it and fails only calls of the broken signature.
    const broken = new Map<string, TfhubError>();
    checkSignatureTensors(metaGraph, graph, dir, strictSignatures ? undefined : (sig, e) => broken.set(sig, e));
    session = new Session(graph, sessionOptions);
    const variables = collectVariables(metaGraph, graph, dir);
    await restore(dir, metaGraph, graph, session, variables);
    await runInitOp(dir, metaGraph, graph, session);
    return {
      format: isHubModule ? 'tf1_hub_module' : 'tf1_saved_model',
      graph,
      session,
      signatures: buildSignatures(metaGraph, graph, session, strictSignatures, broken),
      functions: [],
      variables: variables.map((v) => variablePart(graph, session!, v)),
      trainableVariables: [],
      regularizationLosses: [],
      tensorflowVersion: metaGraph.metaInfoDef?.tensorflowVersion ?? '',
    };
  } catch (e) {
    session?.close();
    graph.dispose();
    throw e;
  }
}

function collectVariables(metaGraph: tensorflow.IMetaGraphDef, graph: Graph, dir: string): Tf1Variable[] {
  const trainable = new Set(
    (metaGraph.collectionDef?.trainable_variables?.bytesList?.value ?? []).map(
      (b) => decodeVariableDef(b, 'trainable variable').variableName ?? '',
    ),
  );
  const out: Tf1Variable[] = [];
  const seen = new Set<string>();
  for (const bytes of metaGraph.collectionDef?.variables?.bytesList?.value ?? []) {
    const def = decodeVariableDef(bytes, `variable in ${dir}`);
    const name = def.variableName ?? '';
    if (seen.has(name)) continue;
    seen.add(name);
    const op = graph.operation(opName(name));
    if (!op) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `variable ${name} is not in the graph of ${dir}`);
    const isResource = op.type === 'VarHandleOp';
    const dtype = (isResource ? op.getAttr('dtype') : op.output(0).dtype) as DType;
    let shape: number[] | null = null;
    try {
      shape = op.getAttr('shape') as number[] | null;
    } catch {
      shape = null;
    }
    out.push({ def, op, isResource, dtype, shape, trainable: trainable.has(name) || def.trainable === true });
  }
  return out;
}

function sliceOf(s: tensorflow.ISaveSliceInfoDef): string {
  return sliceSpec({
    fullShape: (s.fullShape ?? []).map((v) => toSafeNumber(v, 'full_shape')),
    varOffset: (s.varOffset ?? []).map((v) => toSafeNumber(v, 'var_offset')),
    varShape: (s.varShape ?? []).map((v) => toSafeNumber(v, 'var_shape')),
  });
}

async function restore(
  dir: string,
  metaGraph: tensorflow.IMetaGraphDef,
  graph: Graph,
  session: Session,
  variables: Tf1Variable[],
): Promise<void> {
  const prefix = path.join(dir, 'variables', 'variables');
  const saver = metaGraph.saverDef;
  if (!(await exists(prefix + '.index')) && !(await exists(prefix))) {
    // Python restores whenever there is a saver (a saver_def, or variables to make one for) and fails without files.
    if ((saver && saver.restoreOpName) || variables.length > 0) {
      throw new TfhubError(
        'ERR_CHECKPOINT_NOT_FOUND',
        `Unsuccessful TensorSliceReader constructor: Failed to find any matching files for ${prefix} (${dir} has variables but no checkpoint)`,
      );
    }
    return;
  }
  if (await exists(prefix + '.index')) await readValidatedCheckpoint(prefix); // before TF reads anything of it
  if (saver && saver.restoreOpName && saver.filenameTensorName) {
    const op = graph.operation(opName(saver.restoreOpName));
    if (!op) throw new TfhubError('ERR_INVALID_SAVED_MODEL', `${dir}: saver restore op ${saver.restoreOpName} is not in the graph`);
    const filename = new Tensor('string', [], [prefix]);
    try {
      await session.run([], new Map([[graph.output(saver.filenameTensorName), filename]]), { targets: [op] });
    } finally {
      filename.dispose();
    }
    return;
  }
  if (variables.length === 0) return;
  // No saver_def (TF1 Hub format): what tf.compat.v1.train.Saver would do over the `variables` collection.
  const keys = variables.map((v) => v.def.saveSliceInfoDef?.fullName || v.op.name);
  const specs = variables.map((v) => (v.def.saveSliceInfoDef?.fullName ? sliceOf(v.def.saveSliceInfoDef) : ''));
  const init = graph.withNameScope('restore', () => {
    const r = restoreV2(graph, { prefix, keys, slices: specs, dtypes: variables.map((v) => v.dtype) });
    const assigns = variables.map((v, i) =>
      v.isResource
        ? graph.addOperation('AssignVariableOp', { name: graph.uniqueName('AssignVariableOp'), inputs: [v.op.output(0), r.output(i)] })
        : graph.addOperation('Assign', {
            name: graph.uniqueName('Assign'),
            inputs: [v.op.output(0), r.output(i)],
            attrs: { validate_shape: true },
          }),
    );
    return graph.addOperation('NoOp', { name: graph.uniqueName('restore_all'), controlInputs: assigns });
  });
  await session.run([], undefined, { targets: [init] });
}

function nodeListOps(graph: Graph, collection: tensorflow.ICollectionDef | undefined): Operation[] {
  return (collection?.nodeList?.value ?? []).map((n) => graph.operation(opName(n))).filter((o): o is Operation => o !== null);
}

async function runInitOp(dir: string, metaGraph: tensorflow.IMetaGraphDef, graph: Graph, session: Session): Promise<void> {
  const collections = metaGraph.collectionDef ?? {};
  let targets = nodeListOps(graph, collections.saved_model_main_op);
  if (targets.length === 0) targets = nodeListOps(graph, collections.legacy_init_op);
  const initSig = metaGraph.signatureDef?.[INIT_OP_SIGNATURE];
  if (targets.length === 0 && initSig) {
    targets = Object.values(initSig.outputs ?? {})
      .map((t) => graph.operation(opName(t.name ?? '')))
      .filter((o): o is Operation => o !== null);
  }
  if (targets.length === 0) {
    // Python's default local init op: local variables and tables.
    for (const bytes of collections.local_variables?.bytesList?.value ?? []) {
      const def = decodeVariableDef(bytes, 'local variable');
      const op = def.initializerName ? graph.operation(opName(def.initializerName)) : null;
      if (op) targets.push(op);
    }
    targets.push(...nodeListOps(graph, collections.table_initializer));
  }
  if (targets.length === 0) return;
  const feeds = new Map<Output, Tensor>();
  for (const asset of metaGraph.assetFileDef ?? []) {
    const name = asset.tensorInfo?.name ?? '';
    if (!name || !graph.operation(opName(name))) continue;
    feeds.set(graph.output(name), new Tensor('string', [], [assetPath(dir, asset.filename ?? '')]));
  }
  try {
    await session.run([], feeds, { targets });
  } finally {
    for (const t of feeds.values()) t.dispose();
  }
}

function variablePart(graph: Graph, session: Session, v: Tf1Variable): ModelParts['variables'][number] {
  let readOut: Output | null = null;
  const read = async (): Promise<Tensor> => {
    if (!readOut) {
      readOut = v.isResource
        ? graph
            .addOperation('ReadVariableOp', {
              name: graph.uniqueName(`${v.op.name}/Read/ReadVariableOp`),
              inputs: [v.op.output(0)],
              attrs: { dtype: v.dtype },
            })
            .output(0)
        : graph.addOperation('Identity', { name: graph.uniqueName(`${v.op.name}/read_value`), inputs: [v.op.output(0)] }).output(0);
    }
    return session.run(readOut);
  };
  return { name: v.def.variableName ?? `${v.op.name}:0`, dtype: v.dtype, shape: v.shape, trainable: v.trainable, read };
}

function leafOf(info: tensorflow.ITensorInfo, name: string): LeafSpec {
  const p = parseTensorInfo(info);
  return { dtype: p.dtype, shape: p.shape, name };
}

function buildSignatures(
  metaGraph: tensorflow.IMetaGraphDef,
  graph: Graph,
  session: Session,
  strictSignatures: boolean,
  broken: ReadonlyMap<string, TfhubError>,
): ModelParts['signatures'] {
  const out: ModelParts['signatures'] = [];
  for (const [name, sig] of Object.entries(metaGraph.signatureDef ?? {})) {
    if (name === INIT_OP_SIGNATURE) continue;
    const leaves: InputLeaf[] = [];
    const composites = new Map<string, { kind: 'sparse' | 'ragged'; keys: string[] }>();
    const inputs: Record<string, TensorSpecInfo> = {};
    for (const [key, info] of Object.entries(sig.inputs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const p: ParsedTensorInfo = parseTensorInfo(info);
      if (p.isSparse) {
        const keys = [`${key}_indices`, `${key}_values`, `${key}_dense_shape`];
        leaves.push({ key: keys[0], tensor: p.names.indices!, leaf: { dtype: 'int64', shape: [-1, -1], name: keys[0] } });
        leaves.push({ key: keys[1], tensor: p.names.values!, leaf: { dtype: p.dtype, shape: [-1], name: keys[1] } });
        leaves.push({ key: keys[2], tensor: p.names.denseShape!, leaf: { dtype: 'int64', shape: [-1], name: keys[2] } });
        composites.set(key, { kind: 'sparse', keys });
      } else if (p.isComposite) {
        const comps = info.compositeTensor?.components ?? [];
        const keys = comps.map((_, i) => `${key}_component_${i}`);
        comps.forEach((c, i) => leaves.push({ key: keys[i], tensor: c.name ?? '', leaf: leafOf(c, keys[i]) }));
        if (p.kind === 'RaggedTensor') composites.set(key, { kind: 'ragged', keys });
      } else {
        leaves.push({ key, tensor: p.names.dense!, leaf: leafOf(info, key) });
      }
    }
    for (const l of leaves) inputs[l.key] = { dtype: l.leaf.dtype, shape: l.leaf.shape, kind: 'Tensor' };
    const plans = new Map<string, OutputPlan>();
    const outputs: Record<string, TensorSpecInfo> = {};
    for (const [key, info] of Object.entries(sig.outputs ?? {})) {
      const p = parseTensorInfo(info);
      if (p.isSparse)
        plans.set(key, { kind: 'sparse', indices: p.names.indices!, values: p.names.values!, denseShape: p.names.denseShape! });
      else if (p.isComposite) {
        const comps = p.names.components ?? [];
        plans.set(
          key,
          p.kind === 'RaggedTensor'
            ? { kind: 'ragged', flatValues: comps[0], rowSplits: comps.slice(1) }
            : { kind: 'unsupported', what: p.kind },
        );
      } else plans.set(key, { kind: 'dense', name: p.names.dense! });
      outputs[key] = {
        dtype: p.dtype,
        shape: p.shape,
        kind: p.isSparse ? 'SparseTensor' : p.kind === 'RaggedTensor' ? 'RaggedTensor' : 'Tensor',
      };
    }
    const keys = leaves.map((l) => l.key);
    const byKey = new Map(leaves.map((l) => [l.key, l]));
    const canonical = (n: string) => (/:\d+$/.test(n) ? n : `${n}:0`);
    // An output that is also an input (e.g. a sparse pass-through of indices) is the fed value, as in Python.
    const fedKeyOf = new Map(leaves.map((l) => [canonical(l.tensor), l.key]));
    const fetchNames = new Set<string>();
    for (const plan of plans.values()) {
      const names =
        plan.kind === 'dense'
          ? [plan.name]
          : plan.kind === 'sparse'
            ? [plan.indices, plan.values, plan.denseShape]
            : plan.kind === 'ragged'
              ? [plan.flatValues, ...plan.rowSplits]
              : [];
      for (const n of names) if (!fedKeyOf.has(canonical(n))) fetchNames.add(canonical(n));
    }
    let resolved: { feeds: Map<string, Output>; fetch: Record<string, Output> } | null = null;
    const resolve = () => {
      if (resolved) return resolved;
      for (const [key, plan] of plans) {
        if (plan.kind === 'unsupported')
          throw new TfhubError(
            'ERR_UNSUPPORTED_SIGNATURE',
            `Signature '${name}' returns a ${plan.what} as '${key}', which is not supported`,
          );
      }
      const feeds = new Map(leaves.map((l) => [l.key, graph.output(l.tensor)]));
      const fetch = Object.fromEntries([...fetchNames].map((n) => [n, graph.output(n)]));
      return (resolved = { feeds, fetch });
    };
    const assemble = (values: Record<string, Tensor>, fed: Map<string, Tensor>): Record<string, SignatureOutput> => {
      const get = (n: string): Tensor => {
        const c = canonical(n);
        const key = fedKeyOf.get(c);
        return key !== undefined ? fed.get(key)! : values[c];
      };
      const result: Record<string, SignatureOutput> = {};
      for (const [key, plan] of plans) {
        if (plan.kind === 'dense') result[key] = get(plan.name);
        else if (plan.kind === 'sparse')
          result[key] = { indices: get(plan.indices), values: get(plan.values), denseShape: get(plan.denseShape) };
        else if (plan.kind === 'ragged') result[key] = { flatValues: get(plan.flatValues), rowSplits: plan.rowSplits.map(get) };
      }
      return result;
    };
    const run = async (given: unknown): Promise<Record<string, SignatureOutput>> => {
      if (broken.has(name)) throw broken.get(name)!;
      // Convenience: a sparse/ragged input may also be given whole, as {indices, values, denseShape} / {flatValues, rowSplits}.
      if (isRecord(given)) {
        let expanded: Record<string, unknown> | null = null;
        for (const [key, c] of composites) {
          const v = given[key];
          if (!isRecord(v)) continue;
          expanded ??= { ...given };
          delete expanded[key];
          if (c.kind === 'sparse') {
            expanded[c.keys[0]] = v.indices;
            expanded[c.keys[1]] = v.values;
            expanded[c.keys[2]] = v.denseShape ?? v.dense_shape;
          } else {
            const splits = v.rowSplits ?? v.row_splits;
            const list =
              c.keys.length === 2 && !(Array.isArray(splits) && (splits[0] instanceof Tensor || Array.isArray(splits[0])))
                ? [splits]
                : (splits as unknown[]);
            expanded[c.keys[0]] = v.flatValues ?? v.values;
            c.keys.slice(1).forEach((k, i) => {
              expanded![k] = Array.isArray(list) ? list[i] : undefined;
            });
          }
        }
        if (expanded) given = expanded;
      }
      const dict = normalizeSignatureInputs(name, keys, given);
      for (const k of keys) checkSignatureInput(name, k, byKey.get(k)!.leaf, dict[k], strictSignatures);
      const { feeds, fetch } = resolve();
      const feedMap = new Map<Output, Tensor>();
      const fed = new Map<string, Tensor>();
      const owned: Tensor[] = [];
      let values: Record<string, Tensor>;
      try {
        for (const k of keys) {
          const { tensor, owned: isOwned } = toTensor(dict[k], byKey.get(k)!.leaf.dtype, `input '${k}'`);
          if (isOwned) owned.push(tensor);
          feedMap.set(feeds.get(k)!, tensor);
          fed.set(k, tensor);
        }
        values = (await session.run(fetch, feedMap)) as Record<string, Tensor>;
      } catch (e) {
        for (const t of owned) t.dispose();
        throw e;
      }
      const result = assemble(values, fed);
      const returned = new Set<Tensor>();
      for (const v of Object.values(result)) {
        if (v instanceof Tensor) returned.add(v);
        else if ('indices' in v) [v.indices, v.values, v.denseShape].forEach((t) => returned.add(t));
        else [v.flatValues, ...v.rowSplits].forEach((t) => returned.add(t));
      }
      for (const t of owned) if (!returned.has(t)) t.dispose();
      return result;
    };
    out.push({ name, inputs, outputs, run });
  }
  return out;
}
