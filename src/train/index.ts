/**
 * The `train` namespace: gradients beyond TF's C++ registry, variables and optimizers (Python's
 * `tf.compat.v1.train`).
 */
export { registerGradient, registeredGradients, addSymbolicGradients, GradientFunction, GradientTarget } from './gradients';
export { whileGradient, condGradient, callGradient, buildFunction, FunctionLibrary } from './control_flow';
export { variable, VariableOptions, Variable, GraphKeys } from '../variable';
export {
  Optimizer,
  getGlobalStep,
  getOrCreateGlobalStep,
  GradAndVar,
  Hyperparameter,
  ComputeGradientsOptions,
  ApplyGradientsOptions,
  MinimizeOptions,
} from './optimizer';
export {
  GradientDescentOptimizer,
  MomentumOptimizer,
  AdamOptimizer,
  AdagradOptimizer,
  RMSPropOptimizer,
  OptimizerOptions,
  MomentumOptions,
  AdamOptions,
  AdagradOptions,
  RMSPropOptions,
} from './optimizers';
export { replicaDeviceSetter, ReplicaDeviceSetterOptions, PsStrategy, STANDARD_PS_OPS, byteSizeLoad } from './replica_device_setter';
export { Saver, SaverOptions, SaveOptions } from './saver';
export { latestCheckpoint, getCheckpointState, CheckpointState } from './checkpoint_state';
export { replicate, ReplicateOptions, Replicated } from './replicate';
export { TrainingSession, TrainingSessionOptions, TrainingHook } from './training_session';
