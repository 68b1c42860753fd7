/**
 * Checks the node references of a SavedModel's object graph (children, dependencies, slot variables, the bound
 * inputs of concrete functions) before anything walks it: an id outside the node list would otherwise surface as
 * a TypeError deep inside the loaders. Errors are `ERR_INVALID_SAVED_MODEL` naming the file and the reference.
 */
import { TfhubError } from '../errors';
import { tensorflow } from '../proto';

/** Throws ERR_INVALID_SAVED_MODEL when a node id of an object graph in `savedModel` is out of range. */
export function checkObjectGraphRefs(savedModel: tensorflow.ISavedModel, file: string): void {
  for (const mg of savedModel.metaGraphs ?? []) {
    const og = mg.objectGraphDef;
    if (!og) continue;
    const n = og.nodes?.length ?? 0;
    const check = (id: unknown, what: string): void => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= n) {
        throw new TfhubError(
          'ERR_INVALID_SAVED_MODEL',
          `${file}: object graph ${what} refers to node ${String(id)}, but there are ${n} nodes`,
        );
      }
    };
    (og.nodes ?? []).forEach((node, i) => {
      for (const c of node.children ?? []) check(c.nodeId ?? 0, `node ${i} child '${c.localName ?? ''}'`);
      for (const c of node.dependencies ?? []) check(c.nodeId ?? 0, `node ${i} dependency '${c.localName ?? ''}'`);
      for (const s of node.slotVariables ?? []) {
        check(s.originalVariableNodeId ?? 0, `node ${i} slot variable`);
        check(s.slotVariableNodeId ?? 0, `node ${i} slot variable`);
      }
    });
    for (const [name, f] of Object.entries(og.concreteFunctions ?? {})) {
      for (const id of f.boundInputs ?? []) check(id, `concrete function ${name} bound input`);
    }
  }
}
