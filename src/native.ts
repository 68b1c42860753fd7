/**
 * The only module that touches the compiled addon. It loads the `.node` file (prebuilt or built at install),
 * picks libtensorflow at run time and describes the raw binding's shape. Everything else imports `binding()`.
 */
import * as path from 'node:path';
import { ERROR_CLASSES_BY_CODE, TfhubError } from './errors';

/** TF handle kinds as the addon exposes them (branded so they cannot be mixed up in TypeScript). */
export interface NativeTensor {
  readonly __tf: 'TF_Tensor';
  dtype(): number;                       // TF_TensorType
  shape(): number[];                     // TF_NumDims + TF_Dim
  byteSize(): number;                    // TF_TensorByteSize
  data(): ArrayBuffer;                   // copy of TF_TensorData
  strings(): Buffer[];                   // TF_TString elements
  dispose(): void;                       // TF_DeleteTensor (deferred while a run uses it)
  isDisposed(): boolean;
}
export interface NativeTensorClass {
  fromData(dtype: number, shape: number[], data: ArrayBufferView): NativeTensor;  // TF_AllocateTensor + copy
  fromStrings(shape: number[], items: Uint8Array[]): NativeTensor;                // TF_TString_Copy per element
  fromDataNoCopy(dtype: number, shape: number[], data: ArrayBufferView): NativeTensor; // TF_NewTensor over the JS memory
}
export type NativeOutput = [NativeOperation, number];
export interface NativeOperation {
  readonly __tf: 'TF_Operation';
  name(): string;                        // TF_OperationName
  type(): string;                        // TF_OperationOpType
  device(): string;                      // TF_OperationDevice
  numOutputs(): number;                  // TF_OperationNumOutputs
  numInputs(): number;                   // TF_OperationNumInputs
  outputType(index: number): number;     // TF_OperationOutputType
  input(index: number): NativeOutput;    // TF_OperationInput
  controlInputs(): NativeOperation[];    // TF_OperationGetControlInputs
  controlOutputs(): NativeOperation[];   // TF_OperationGetControlOutputs
  consumers(index: number): NativeOutput[]; // TF_OperationOutputConsumers: [op, input index]
  attrValue(name: string): Buffer;       // TF_OperationGetAttrValueProto
  nodeDef(): Buffer;                     // TF_OperationToNodeDef
  graph(): NativeGraph;
}
export type NativeAttr = [string, 'proto', Uint8Array] | [string, 'tensor', NativeTensor] | [string, 'tensors', NativeTensor[]];
export interface NativeImportOptions {
  prefix?: string;
  defaultDevice?: string;
  uniquifyNames?: boolean;
  uniquifyPrefix?: boolean;
  inputMap?: Array<[string, number, NativeOutput]>;
  controlRemap?: Array<[string, NativeOperation]>;
  controlDependencies?: NativeOperation[];
  returnOutputs?: Array<[string, number]>;
  returnOperations?: string[];
}
export interface NativeImportResult {
  outputs: NativeOutput[];
  operations: NativeOperation[];
  missingUnusedInputs: Array<[string, number]>;
}
export interface NativeGraph {
  readonly __tf: 'TF_Graph';
  operationByName(name: string): NativeOperation | null;       // TF_GraphOperationByName
  operations(): NativeOperation[];                              // TF_GraphNextOperation
  addOperation(type: string, name: string, inputs: Array<NativeOutput | NativeOutput[]>, attrs: NativeAttr[],
    device: string | null, controlInputs: NativeOperation[] | null, colocateWith: NativeOperation[] | null): NativeOperation; // TF_NewOperation … TF_FinishOperation
  importGraphDef(bytes: Uint8Array, options: NativeImportOptions): NativeImportResult;            // TF_GraphImportGraphDefWithResults
  importGraphDefAsync(bytes: Uint8Array, options: NativeImportOptions): Promise<NativeImportResult>;
  toGraphDef(): Buffer;                                         // TF_GraphToGraphDef
  opDef(type: string): Buffer;                                  // TF_GraphGetOpDef
  tensorShape(output: NativeOutput): number[] | null;           // TF_GraphGetTensorShape
  setTensorShape(output: NativeOutput, dims: number[]): void;   // TF_GraphSetTensorShape
  addGradients(prefix: string | null, ys: NativeOutput[], xs: NativeOutput[], dys: NativeOutput[] | null): Array<NativeOutput | null>; // TF_AddGradientsWithPrefix
  importFunctionDef(bytes: Uint8Array, gradient?: Uint8Array | null): void; // TF_FunctionImportFunctionDef + TF_GraphCopyFunction
  functionDefs(): Buffer[];                                     // TF_GraphGetFunctions + TF_FunctionToFunctionDef
  dispose(): void;                                              // TF_DeleteGraph (when no session uses it)
  isDisposed(): boolean;
}
export interface NativeSession {
  readonly __tf: 'TF_Session';
  run(inputOps: NativeOperation[], inputIndices: Int32Array, inputs: NativeTensor[], outputOps: NativeOperation[],
    outputIndices: Int32Array, targets: NativeOperation[], runOptions?: Uint8Array | null): Promise<Array<NativeTensor | null>>; // TF_SessionRun on a run thread
  runSync(inputOps: NativeOperation[], inputIndices: Int32Array, inputs: NativeTensor[], outputOps: NativeOperation[],
    outputIndices: Int32Array, targets: NativeOperation[], runOptions?: Uint8Array | null): Array<NativeTensor | null>;
  listDevices(): Array<{ name: string; type: string; memoryBytes: number }>; // TF_SessionListDevices
  close(): void;                                                // TF_CloseSession + TF_DeleteSession (after in-flight runs)
  isClosed(): boolean;
}
export interface NativeServer {
  readonly __tf: 'TF_Server';
  start(): void;                                                // TF_ServerStart
  stop(): void;                                                 // TF_ServerStop
  join(): Promise<void>;                                        // TF_ServerJoin on its own thread
  unrefJoin(): void;
  target(): string;                                             // TF_ServerTarget
  close(): void;                                                // TF_DeleteServer unless started
  isClosed(): boolean;
  isStarted(): boolean;
}
export interface NativeBinding {
  Tensor: NativeTensorClass;
  Graph: new () => NativeGraph;                                 // TF_NewGraph
  Session: new (graph: NativeGraph, config: Uint8Array | null, target: string | null) => NativeSession; // TF_NewSession
  Server: new (serverDef: Uint8Array) => NativeServer;         // TF_NewServer
  probePort(port: number): string;                              // '' when 0.0.0.0:port can be bound
  loadTensorFlow(path: string): string;                         // dlopen + TF_Version
  loadedPath(): string | null;
  setErrorClasses(classes: ReadonlyArray<unknown>): void;
  allOpList(): Buffer;                                          // TF_GetAllOpList
  loadLibrary(path: string): Buffer;                            // TF_LoadLibrary + TF_GetOpList
}

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

let cached: NativeBinding | undefined;
let tfVersion = '';

function loadAddon(): NativeBinding {
  const override = process.env.TFHUB_NODE_BINDING; // an explicit .node path, e.g. for bundlers
  try {
    if (override) return require(override) as NativeBinding;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('node-gyp-build')(PACKAGE_ROOT) as NativeBinding;
  } catch (e) {
    throw new TfhubError('ERR_ADDON_LOAD', [
      `tfhub-node: cannot load the native addon (${(e as Error).message.split('\n')[0]}).`,
      '  - run `npm rebuild tfhub-node` (needs python3, make, a C++17 compiler and libtensorflow headers),',
      '  - or set TFHUB_NODE_BINDING to a compatible tfhub_node.node,',
      `  - supported: Linux x64/arm64 with Node >= 20 (this is ${process.platform}-${process.arch}, Node ${process.version}).`,
    ].join('\n'), { cause: e });
  }
}

function chooseLibrary(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const locate = require(path.join(PACKAGE_ROOT, 'scripts', 'libtensorflow.js')) as {
    runtimeLibrary(): { library: string | null; tried: string[] };
    notFoundMessage(tried: string[]): string;
  };
  const found = locate.runtimeLibrary();
  if (!found.library) throw new TfhubError('ERR_TF_NOT_FOUND', locate.notFoundMessage(found.tried));
  return found.library;
}

/** The raw addon with libtensorflow loaded. Throws one explanatory error if either is missing. */
export function binding(): NativeBinding {
  if (cached) return cached;
  // TensorFlow's C++ logging is chatty at start-up; keep warnings and errors unless the user chose a level.
  if (process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  const addon = loadAddon();
  const library = chooseLibrary();
  try {
    tfVersion = addon.loadTensorFlow(library);
  } catch (e) {
    throw new TfhubError('ERR_TF_LOAD', `tfhub-node: cannot load libtensorflow from ${library}: ${(e as Error).message}`, { cause: e });
  }
  addon.setErrorClasses(ERROR_CLASSES_BY_CODE);
  cached = addon;
  return addon;
}

/** TensorFlow's version string (`TF_Version()`), loading the library if needed. */
export function tensorflowVersion(): string {
  binding();
  return tfVersion;
}

/** Path of the libtensorflow this process uses. */
export function tensorflowLibraryPath(): string {
  return binding().loadedPath() ?? '';
}
