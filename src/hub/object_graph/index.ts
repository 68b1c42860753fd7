/**
 * The object-graph layer: a session-free revival plan of a TF2 SavedModel (`RevivalPlan`) and its two
 * backends, a Session running call ops (hub.load) and inlining into a caller's graph (hub.KerasLayer).
 */
export { RevivalPlan, PlannedVariable, PlannedSaveable, safeName } from './plan';
export { Concrete, RestoredFunctionPlan, dispatch, hasTrainingArgument } from './bind';
export { loadObjectGraphModel } from './session';
export { GraphReviver, GraphState } from './graph';
