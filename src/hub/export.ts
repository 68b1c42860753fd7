/**
 * Building TF1 Hub modules: `hub.createModuleSpec` + `hub.addSignature` / `hub.attachMessage` inside the module
 * function. Writing them (`ModuleSpec.export`, `Module.export`) is src/hub/module_writer.ts.
 */
import { tfDataType } from '../dtypes';
import { TfhubError, typeError } from '../errors';
import { Graph, Operation, Output } from '../graph';
import { encodeModuleAttachment, encodeVariableDef, shapeProto, tensorflow } from '../proto';
import { tensorflowVersion } from '../native';
import { opDefs } from '../registry';
import { GraphKeys, Variable } from '../variable';
import { ATTACHMENTS_COLLECTION, ModuleSpec, getUnsupportedCollections } from './spec';
import { formatTags, tagSetKey } from './saved_model';

/** A signature value: a dense Output or a sparse one. */
export type SignatureTensor = Output | { indices: Output; values: Output; denseShape: Output };

interface SpecBuilder {
  graph: Graph;
  signatures: Map<string, tensorflow.ISignatureDef>;
  attachments: Map<string, Uint8Array>;
}

const builders: SpecBuilder[] = [];

function currentBuilder(what: string): SpecBuilder {
  const b = builders[builders.length - 1];
  if (!b) throw new TfhubError('ERR_NOT_IN_MODULE_FN', `hub.${what}() must be called inside the module function of hub.createModuleSpec()`);
  return b;
}

function tensorInfo(graph: Graph, key: string, value: unknown, signature: string, kind: string): tensorflow.ITensorInfo {
  const check = (o: unknown): Output => {
    if (!(o instanceof Output)) {
      throw new TfhubError(
        'ERR_UNSUPPORTED_SIGNATURE_TYPE',
        `The inputs and outputs declared in hub.addSignature() for signature '${signature}' should have one of the types that are supported by this version of tfhub-node: Output, {indices, values, denseShape}.\n  * ${kind} '${key}' has type ${o === null ? 'null' : typeof o}`,
      );
    }
    if (o.graph !== graph)
      throw new TfhubError('ERR_GRAPH_MISMATCH', `${kind} '${key}' of signature '${signature}' is not from the module's graph`);
    return o;
  };
  if (value && typeof value === 'object' && !(value instanceof Output) && 'indices' in value) {
    const v = value as { indices: unknown; values: unknown; denseShape: unknown };
    const values = check(v.values);
    const indices = check(v.indices);
    const denseShape = check(v.denseShape);
    const rank = denseShape.shape?.[0];
    return {
      cooSparse: { valuesTensorName: values.name, indicesTensorName: indices.name, denseShapeTensorName: denseShape.name },
      dtype: tfDataType(values.dtype),
      tensorShape: rank === undefined || rank < 0 ? { unknownRank: true } : shapeProto(new Array(rank).fill(-1)),
    };
  }
  const o = check(value);
  return { name: o.name, dtype: tfDataType(o.dtype), tensorShape: shapeProto(o.shape) };
}

/**
 * Declares a signature of the module being built (Python's `hub.add_signature`). `inputs`/`outputs`: a record
 * of Outputs (or sparse `{indices, values, denseShape}`), or a single one (becomes `{default: x}`). The last
 * definition of a name wins.
 */
export function addSignature(
  name: string | null | undefined,
  inputs?: SignatureTensor | Record<string, SignatureTensor> | null,
  outputs?: SignatureTensor | Record<string, SignatureTensor> | null,
): void {
  const b = currentBuilder('addSignature');
  const sigName = name || 'default';
  const asDict = (v: unknown): Record<string, unknown> => {
    if (v === undefined || v === null) return {};
    if (v instanceof Output || (typeof v === 'object' && 'indices' in (v as object) && 'values' in (v as object))) return { default: v };
    if (typeof v !== 'object' || Array.isArray(v)) return { default: v };
    return v as Record<string, unknown>;
  };
  const sig: tensorflow.ISignatureDef = { inputs: {}, outputs: {}, methodName: '' };
  for (const [k, v] of Object.entries(asDict(inputs))) sig.inputs![k] = tensorInfo(b.graph, k, v, sigName, 'input');
  for (const [k, v] of Object.entries(asDict(outputs))) sig.outputs![k] = tensorInfo(b.graph, k, v, sigName, 'output');
  b.signatures.set(sigName, sig);
}

/** Attaches a serialized message under `key` to the module being built (last one wins). */
export function attachMessage(
  key: string,
  message: Uint8Array | { finish(): Uint8Array } | { constructor: { encode(m: unknown): { finish(): Uint8Array } } },
): void {
  const b = currentBuilder('attachMessage');
  if (typeof key !== 'string' || key === '')
    throw typeError('ERR_INVALID_ARG_TYPE', 'attachMessage(key, bytes): key must be a non-empty string');
  let bytes: Uint8Array;
  if (message instanceof Uint8Array) bytes = message;
  else if (message && typeof (message as { finish?: unknown }).finish === 'function')
    bytes = (message as { finish(): Uint8Array }).finish();
  else if (message && typeof (message.constructor as { encode?: unknown })?.encode === 'function')
    bytes = (message.constructor as { encode(m: unknown): { finish(): Uint8Array } }).encode(message).finish();
  else throw typeError('ERR_INVALID_ARG_TYPE', 'attachMessage(key, message): message must be bytes or a protobufjs message');
  b.attachments.set(key, Uint8Array.from(bytes));
}

/** Options of `createModuleSpec`. */
export interface CreateModuleSpecOptions<A> {
  /** One graph variant per entry: its tag set and the arguments passed to the module function. */
  tagsAndArgs?: Array<[Iterable<string>, A]>;
  /** Collections to empty before serializing (e.g. custom ones hub modules cannot hold). */
  dropCollections?: string[];
}

function nodeListValue(v: unknown): string | null {
  if (v instanceof Output) return v.name;
  if (v instanceof Operation) return v.name;
  if (v instanceof Variable) return v.name;
  return null;
}

function collectionDefs(graph: Graph, drop: Set<string>): { [k: string]: tensorflow.ICollectionDef } {
  const out: { [k: string]: tensorflow.ICollectionDef } = {};
  const keys = graph.getAllCollectionKeys().filter((k) => !drop.has(k));
  const unsupported = getUnsupportedCollections(keys);
  if (unsupported.length > 0) {
    throw new TfhubError(
      'ERR_UNSUPPORTED_COLLECTIONS',
      `Unsupported collections in graph: [${unsupported.map((k) => `'${k}'`).join(', ')}]\nUse hub.createModuleSpec(..., {dropCollections: [...]}) as appropriate.`,
    );
  }
  for (const key of keys) {
    const values = graph.getCollection(key);
    if (values.length === 0) continue;
    if (key === GraphKeys.GLOBAL_VARIABLES || key === GraphKeys.TRAINABLE_VARIABLES || key === GraphKeys.MODEL_VARIABLES) {
      out[key] = {
        bytesList: {
          value: values.map((v) => {
            if (!(v instanceof Variable)) throw new TfhubError('ERR_INVALID_COLLECTION', `collection '${key}' holds a non-variable`);
            return encodeVariableDef(v.toVariableDef());
          }),
        },
      };
    } else {
      const names = values.map(nodeListValue);
      if (names.some((n) => n === null))
        throw new TfhubError('ERR_INVALID_COLLECTION', `collection '${key}' must hold Outputs or Operations`);
      out[key] = { nodeList: { value: names as string[] } };
    }
  }
  return out;
}

function strippedOpList(graphDef: tensorflow.IGraphDef): tensorflow.IOpList {
  const used = new Set<string>();
  for (const n of graphDef.node ?? []) used.add(n.op ?? '');
  for (const f of graphDef.library?.function ?? []) for (const n of f.nodeDef ?? []) used.add(n.op ?? '');
  const registry = opDefs();
  return {
    op: [...used]
      .sort()
      .filter((t) => registry.has(t))
      .map((t) => registry.get(t)!),
  };
}

/**
 * Builds a module spec by running `moduleFn(graph, args)` once per graph variant in a fresh Graph (Python's
 * `hub.create_module_spec`). Inside it, use `hub.addSignature` and `hub.attachMessage`. The spec has no
 * checkpoint: instantiating it runs the module function's own initializers.
 */
export function createModuleSpec<A = Record<string, unknown>>(
  moduleFn: (graph: Graph, args: A) => void,
  options: CreateModuleSpecOptions<A> = {},
): ModuleSpec {
  if (typeof moduleFn !== 'function') throw typeError('ERR_INVALID_ARG_TYPE', 'createModuleSpec(moduleFn): moduleFn must be a function');
  const variants = options.tagsAndArgs ?? [[[], {} as A]];
  const drop = new Set(options.dropCollections ?? []);
  const savedModel = new tensorflow.SavedModel();
  const attachments = new Map<string, Map<string, Uint8Array>>();
  const seen = new Set<string>();
  for (const [tagsIn, args] of variants) {
    const tags = [...new Set(tagsIn)].sort();
    const key = tagSetKey(tags);
    if (seen.has(key)) throw new TfhubError('ERR_DUPLICATE_TAGS', `Tags ${formatTags(tags)} used repeatedly`);
    seen.add(key);
    const graph = new Graph();
    const builder: SpecBuilder = { graph, signatures: new Map(), attachments: new Map() };
    builders.push(builder);
    try {
      const r = moduleFn(graph, args) as unknown;
      if (r && typeof (r as Promise<unknown>).then === 'function')
        throw typeError('ERR_ASYNC_MODULE_FN', 'the module function must be synchronous');
    } finally {
      builders.pop();
    }
    if (builder.signatures.size === 0) {
      throw new TfhubError(
        'ERR_NO_SIGNATURES',
        'No signatures present. Please call hub.addSignature(...) at least once in the module function.',
      );
    }
    const graphDef = tensorflow.GraphDef.decode(graph.toGraphDef());
    const collections = collectionDefs(graph, drop);
    if (builder.attachments.size > 0) {
      collections[ATTACHMENTS_COLLECTION] = {
        bytesList: { value: [...builder.attachments].map(([k, v]) => encodeModuleAttachment({ key: k, value: v })) },
      };
    }
    savedModel.metaGraphs.push(
      tensorflow.MetaGraphDef.create({
        metaInfoDef: {
          tags,
          strippedOpList: strippedOpList(graphDef),
          tensorflowVersion: tensorflowVersion(),
          strippedDefaultAttrs: false,
        },
        graphDef,
        signatureDef: Object.fromEntries(builder.signatures),
        collectionDef: collections,
      }),
    );
    attachments.set(key, builder.attachments);
    graph.dispose();
  }
  return new ModuleSpec('', savedModel, null, attachments);
}
