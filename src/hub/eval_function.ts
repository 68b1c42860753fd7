/** `hub.evalFunctionForModule`: outputs of a module without touching graphs or sessions. */
import { DType } from '../dtypes';
import { TfhubError, typeError } from '../errors';
import { Graph, Output } from '../graph';
import { Session, SessionOptions } from '../session';
import { Tensor } from '../tensor';
import { Module, ModuleOutput, RaggedOutputs, SparseOutputs } from './module';
import { ModuleSpec, TagsOption, loadModuleSpec } from './spec';
import { ParsedTensorInfo } from './saved_model';

/** A signature output as values: a Tensor, or the component Tensors of a sparse/ragged output. */
export type EvalOutput = Tensor | { indices: Tensor; values: Tensor; denseShape: Tensor } | { flatValues: Tensor; rowSplits: Tensor[] };

/** The callable that `evalFunctionForModule` returns. */
export interface ModuleFunction {
  /** Runs a signature on JS values or Tensors; same input rules as `Module.call`. */
  call(inputs?: unknown, options?: { signature?: string; asDict?: boolean }): Promise<EvalOutput | Record<string, EvalOutput>>;
  /** The underlying module, graph and session (for advanced use). */
  readonly module: Module;
  /** The session that runs the module (closed by `close()`). */
  readonly session: Session;
  /** Frees the session and graph. */
  close(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Feed {
  output: Output;
  dtype: DType;
}
type SignatureFeeds = Record<string, Feed | Record<string, Feed>>;

function placeholdersFor(graph: Graph, infos: Record<string, ParsedTensorInfo>): SignatureFeeds {
  const feeds: SignatureFeeds = {};
  for (const [key, info] of Object.entries(infos)) {
    const safe = key.replace(/[^A-Za-z0-9_.\-/]/g, '_');
    if (info.isSparse) {
      const rank = info.shape === null ? -1 : info.shape.length;
      feeds[key] = {
        indices: { output: graph.placeholder('int64', [-1, rank], `${safe}_indices`), dtype: 'int64' },
        values: { output: graph.placeholder(info.dtype, [-1], `${safe}_values`), dtype: info.dtype },
        denseShape: { output: graph.placeholder('int64', [rank], `${safe}_dense_shape`), dtype: 'int64' },
      };
    } else if (info.isComposite) {
      const comps = info.proto.compositeTensor?.components ?? [];
      const parts: Record<string, Feed> = {};
      comps.forEach((c, i) => {
        const dtype: DType = i === 0 ? info.dtype : 'int64';
        parts[i === 0 ? 'values' : `rowSplits${i - 1}`] = { output: graph.placeholder(dtype, null, `${safe}_component_${i}`), dtype };
      });
      feeds[key] = parts;
    } else {
      feeds[key] = { output: graph.placeholder(info.dtype, info.shape, safe), dtype: info.dtype };
    }
  }
  return feeds;
}

function moduleInputsFrom(feeds: SignatureFeeds): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(feeds)) {
    if ('output' in f) out[key] = (f as Feed).output;
    else {
      const parts = f as Record<string, Feed>;
      if ('indices' in parts)
        out[key] = { indices: parts.indices.output, values: parts.values.output, denseShape: parts.denseShape.output };
      else {
        const splits = Object.keys(parts)
          .filter((k) => k.startsWith('rowSplits'))
          .sort()
          .map((k) => parts[k].output);
        out[key] = { values: parts.values.output, rowSplits: splits };
      }
    }
  }
  return out;
}

/**
 * Outputs that are the signature's own input placeholders (e.g. a sparse output passing the input's indices
 * through) cannot be fetched while fed; Python's client returns the fed value. Fetch an Identity of them instead.
 */
function passThroughOutputs(graph: Graph, feeds: SignatureFeeds, outputs: Record<string, ModuleOutput>): Record<string, ModuleOutput> {
  const fed = new Set<Output>();
  for (const f of Object.values(feeds)) {
    if ('output' in f) fed.add((f as Feed).output);
    else for (const part of Object.values(f as Record<string, Feed>)) fed.add(part.output);
  }
  const wrap = (o: Output): Output => (fed.has(o) ? graph.addOperation('Identity', { inputs: [o] }).output(0) : o);
  const out: Record<string, ModuleOutput> = {};
  for (const [key, o] of Object.entries(outputs)) {
    if (o instanceof Output) out[key] = wrap(o);
    else if ('indices' in o) out[key] = { indices: wrap(o.indices), values: wrap(o.values), denseShape: wrap(o.denseShape) };
    else out[key] = { flatValues: wrap(o.flatValues), rowSplits: o.rowSplits.map(wrap) };
  }
  return out;
}

/**
 * Python's `hub.eval_function_for_module`: a fresh graph with the module, every signature applied to
 * placeholders, a session with variables restored and tables initialized. The session runs inline by default
 * (see `SessionOptions.inline`); pass `session: {inline: false}` to use TF's inter-op pool. Soft placement is on
 * by default, as in Python (`session: {allowSoftPlacement: false}` turns it off).
 */
export async function evalFunctionForModule(
  handleOrSpec: string | ModuleSpec,
  options: TagsOption & { session?: SessionOptions } = {},
): Promise<ModuleFunction> {
  const spec = typeof handleOrSpec === 'string' ? await loadModuleSpec(handleOrSpec) : handleOrSpec;
  const graph = new Graph();
  const module = new Module(spec, { graph, tags: options.tags });
  const applied = new Map<string, { feeds: SignatureFeeds; outputs: Record<string, ModuleOutput> }>();
  for (const name of module.getSignatureNames()) {
    const feeds = graph.withNameScope(name.replace(/[^A-Za-z0-9_.-]/g, '_'), () => placeholdersFor(graph, module.getInputInfoDict(name)));
    const outputs = passThroughOutputs(graph, feeds, module.call(moduleInputsFrom(feeds) as never, { signature: name, asDict: true }));
    applied.set(name, { feeds, outputs });
  }
  const init = graph.globalVariablesInitializer();
  const tables = graph.tablesInitializer();
  const session = new Session(graph, { inline: true, allowSoftPlacement: true, ...options.session });
  await session.run([init, tables]);
  let closed = false;

  const call = async (inputs?: unknown, callOptions: { signature?: string; asDict?: boolean } = {}) => {
    if (closed) throw new TfhubError('ERR_DISPOSED', 'the module function was closed');
    const signature = callOptions.signature || 'default';
    const entry = applied.get(signature);
    if (!entry) throw new TfhubError('ERR_UNKNOWN_SIGNATURE', `Signature '${signature}' is missing from meta graph.`);
    const keys = Object.keys(entry.feeds);
    let dict: Record<string, unknown>;
    if (inputs === undefined || inputs === null) dict = {};
    else if (
      keys.length === 1 &&
      !(
        typeof inputs === 'object' &&
        !Array.isArray(inputs) &&
        !(inputs instanceof Tensor) &&
        !ArrayBuffer.isView(inputs) &&
        Object.keys(inputs as object).length === 1 &&
        keys[0] in (inputs as object)
      )
    )
      dict = { [keys[0]]: inputs };
    else if (typeof inputs === 'object' && !Array.isArray(inputs) && !(inputs instanceof Tensor)) dict = inputs as Record<string, unknown>;
    else
      throw typeError(
        'ERR_SIGNATURE_INPUTS',
        keys.length === 0 ? 'Signature expects no inputs.' : 'Signature expects multiple inputs. Use a dict.',
      );
    const missing = keys.filter((k) => !(k in dict)).sort();
    const extra = Object.keys(dict)
      .filter((k) => !keys.includes(k))
      .sort();
    if (missing.length || extra.length) {
      const parts = [];
      if (missing.length) parts.push(`missing [${missing.map((k) => `'${k}'`).join(', ')}]`);
      if (extra.length) parts.push(`extra given [${extra.map((k) => `'${k}'`).join(', ')}]`);
      throw typeError('ERR_SIGNATURE_INPUTS', `Cannot convert dict_inputs: ${parts.join(', ')}`);
    }
    const feedMap = new Map<Output, unknown>();
    for (const [key, f] of Object.entries(entry.feeds)) {
      const value = dict[key];
      if ('output' in f) feedMap.set((f as Feed).output, value);
      else {
        const parts = f as Record<string, Feed>;
        const v = value as Record<string, unknown>;
        if (!v || typeof v !== 'object')
          throw typeError('ERR_INPUT_KIND', `Can't convert '${key}': expected a sparse or ragged value record`);
        if ('indices' in parts) {
          feedMap.set(parts.indices.output, v.indices);
          feedMap.set(parts.values.output, v.values);
          feedMap.set(parts.denseShape.output, v.denseShape);
        } else {
          feedMap.set(parts.values.output, v.flatValues ?? v.values);
          // A list of row-splits values (Tensors or arrays), or one row-splits value (a Tensor or an array of numbers).
          const list =
            Array.isArray(v.rowSplits) &&
            (v.rowSplits as unknown[]).length > 0 &&
            !['number', 'bigint'].includes(typeof (v.rowSplits as unknown[])[0]);
          const splits = list ? (v.rowSplits as unknown[]) : [v.rowSplits];
          Object.keys(parts)
            .filter((k) => k.startsWith('rowSplits'))
            .sort()
            .forEach((k, i) => feedMap.set(parts[k].output, splits[i]));
        }
      }
    }
    const fetch: Record<string, unknown> = {};
    for (const [key, out] of Object.entries(entry.outputs)) {
      if (out instanceof Output) fetch[key] = out;
      else if ('indices' in out)
        fetch[key] = {
          indices: (out as SparseOutputs).indices,
          values: (out as SparseOutputs).values,
          denseShape: (out as SparseOutputs).denseShape,
        };
      else fetch[key] = { flatValues: (out as RaggedOutputs).flatValues, rowSplits: (out as RaggedOutputs).rowSplits };
    }
    const result = (await session.run(fetch as never, feedMap as never)) as Record<string, EvalOutput>;
    if (callOptions.asDict) return result;
    if (!('default' in result)) throw typeError('ERR_NO_DEFAULT_OUTPUT', "There is no output named 'default'. Use asDict: true.");
    return result.default;
  };
  const close = () => {
    if (closed) return;
    closed = true;
    session.close();
    graph.dispose();
  };
  return { call, module, session, close, [Symbol.dispose]: close, [Symbol.asyncDispose]: async () => close() };
}
