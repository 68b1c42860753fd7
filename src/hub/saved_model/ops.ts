/** The op check of a SavedModel's graph: every op it uses must be registered (custom ops loaded first). */
import { TfhubError } from '../../errors';
import { tensorflow } from '../../proto';
import { opDefs } from '../../registry';

/**
 * Throws ERR_MISSING_OPS listing the ops that neither the registry nor the graph's function library defines.
 * Looks at the nodes of `graphDef` (unless `libraryOnly`), at every function body, and at `extraOps` (e.g. a
 * meta graph's stripped op list).
 */
export function checkOpsRegistered(
  graphDef: tensorflow.IGraphDef,
  options: { libraryOnly?: boolean; extraOps?: Iterable<string> } = {},
): void {
  const functions = graphDef.library?.function ?? [];
  const library = new Set(functions.map((f) => f.signature?.name ?? ''));
  const used = new Set<string>(options.extraOps ?? []);
  if (!options.libraryOnly) for (const n of graphDef.node ?? []) used.add(n.op ?? '');
  for (const f of functions) for (const n of f.nodeDef ?? []) used.add(n.op ?? '');
  const registry = opDefs();
  const missing = [...used].filter((op) => op && !library.has(op) && !registry.has(op)).sort();
  if (missing.length > 0) {
    throw new TfhubError(
      'ERR_MISSING_OPS',
      `Graph ops missing from the registry: {${missing.map((m) => `'${m}'`).join(', ')}}. Load the library that defines them first with loadOpLibrary(path) (e.g. the .so shipped with tensorflow_text or sentencepiece).`,
    );
  }
}
