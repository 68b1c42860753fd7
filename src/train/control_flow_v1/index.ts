/**
 * Gradients through TF1 (v1) control flow, as imported from TF1 Hub modules and TF1 SavedModels: while loops
 * (Enter/Merge/Switch/LoopCond/NextIteration/Exit frames) are differentiated as regions (while_grad.ts), conds
 * outside loops by the Switch and Merge gradients (cond_grad.ts). Loaded for its registrations.
 */
import { registerGradient, registerGradientRegions } from '../gradients';
import { switchGradient, mergeGradient } from './cond_grad';
import { outermostLoops } from './frame';
import { loopRegion } from './while_grad';

for (const type of ['Switch', 'RefSwitch']) registerGradient(type, switchGradient);
for (const type of ['Merge', 'RefMerge']) registerGradient(type, mergeGradient);
registerGradientRegions((_graph, between) => outermostLoops(between).map(loopRegion));
