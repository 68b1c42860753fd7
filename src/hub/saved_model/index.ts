/**
 * The SavedModel layer: reading `saved_model.pb`, choosing a meta graph (graph variant) and listing its
 * signatures, the asset containment rule, the op check, and RestoreV2/SaveV2 builders. Everything above it
 * (hub.load, hub.Module, hub.KerasLayer, export, serving) reads SavedModels through this module.
 * See docs/architecture.md ("saved_model layer").
 */
export {
  readSavedModel,
  selectMetaGraph,
  chooseMetaGraph,
  noSuchGraphVariant,
  tagsOption,
  metaGraphTags,
  tagSetKey,
  formatTags,
  availableTagSets,
  exists,
  resolveModelDir,
  isTf1HubModule,
} from './meta_graph';
export { listSignatures, SignatureInfo, INIT_OP_SIGNATURE } from './signatures';
export { ParsedTensorInfo, parseTensorInfo, parseTensorInfoMap, isShapeCompatible, formatShape } from './tensor_info';
export { ASSETS_COLLECTION, assetPath, opName, rewriteHubAssets } from './assets';
export { checkOpsRegistered } from './ops';
export { SliceInfo, RestoreSpec, restoreV2, saveV2, sliceSpec, stringConstant } from './checkpoint_ops';
