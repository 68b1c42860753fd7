/**
 * The only module that touches the compiled addon. It reads the core's environment variables once, loads the
 * `.node` file (prebuilt or built at install), initialises it explicitly (error classes, run threads, polling),
 * owns the process `exit` hook, loads the libtensorflow recorded at install time and describes the raw binding's
 * shape. Everything else imports `binding()`.
 */
import * as path from 'node:path';
import { ERROR_CLASSES_BY_CODE, TfhubError, rangeError } from './errors';

/** TF handle kinds as the addon exposes them (branded so they cannot be mixed up in TypeScript). */
export interface NativeTensor {
  readonly __tf: 'TF_Tensor';
  dtype(): number; // TF_TensorType
  shape(): number[]; // TF_NumDims + TF_Dim
  byteSize(): number; // TF_TensorByteSize
  data(): ArrayBuffer; // copy of TF_TensorData
  strings(): Buffer[]; // TF_TString elements
  dispose(): void; // TF_DeleteTensor (deferred while a run uses it)
  isDisposed(): boolean;
}
export interface NativeTensorClass {
  fromData(dtype: number, shape: number[], data: ArrayBufferView): NativeTensor; // TF_AllocateTensor + copy
  fromStrings(shape: number[], items: Uint8Array[]): NativeTensor; // TF_TString_Copy per element
  fromDataNoCopy(dtype: number, shape: number[], data: ArrayBufferView): NativeTensor; // TF_NewTensor over the JS memory
}
export type NativeOutput = [NativeOperation, number];
export interface NativeOperation {
  readonly __tf: 'TF_Operation';
  name(): string; // TF_OperationName
  type(): string; // TF_OperationOpType
  device(): string; // TF_OperationDevice
  numOutputs(): number; // TF_OperationNumOutputs
  numInputs(): number; // TF_OperationNumInputs
  outputType(index: number): number; // TF_OperationOutputType
  input(index: number): NativeOutput; // TF_OperationInput
  controlInputs(): NativeOperation[]; // TF_OperationGetControlInputs
  controlOutputs(): NativeOperation[]; // TF_OperationGetControlOutputs
  consumers(index: number): NativeOutput[]; // TF_OperationOutputConsumers: [op, input index]
  attrValue(name: string): Buffer; // TF_OperationGetAttrValueProto
  nodeDef(): Buffer; // TF_OperationToNodeDef
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
  operationByName(name: string): NativeOperation | null; // TF_GraphOperationByName
  operations(): NativeOperation[]; // TF_GraphNextOperation
  addOperation(
    type: string,
    name: string,
    inputs: Array<NativeOutput | NativeOutput[]>,
    attrs: NativeAttr[],
    // TF_NewOperation … TF_FinishOperation
    device: string | null,
    controlInputs: NativeOperation[] | null,
    colocateWith: NativeOperation[] | null,
  ): NativeOperation;
  importGraphDef(bytes: Uint8Array, options: NativeImportOptions): NativeImportResult; // TF_GraphImportGraphDefWithResults
  importGraphDefAsync(bytes: Uint8Array, options: NativeImportOptions): Promise<NativeImportResult>;
  toGraphDef(): Buffer; // TF_GraphToGraphDef
  opDef(type: string): Buffer; // TF_GraphGetOpDef
  tensorShape(output: NativeOutput): number[] | null; // TF_GraphGetTensorShape
  setTensorShape(output: NativeOutput, dims: number[]): void; // TF_GraphSetTensorShape
  updateEdge(source: NativeOutput, input: [NativeOperation, number]): void; // TF_UpdateEdge
  setControlInputs(op: NativeOperation, controls: NativeOperation[]): void; // TF_RemoveAllControlInputs + TF_AddOperationControlInput
  // TF_AddGradientsWithPrefix
  addGradients(prefix: string | null, ys: NativeOutput[], xs: NativeOutput[], dys: NativeOutput[] | null): Array<NativeOutput | null>;
  importFunctionDef(bytes: Uint8Array, gradient?: Uint8Array | null): void; // TF_FunctionImportFunctionDef + TF_GraphCopyFunction
  functionDefs(): Buffer[]; // TF_GraphGetFunctions + TF_FunctionToFunctionDef
  dispose(): void; // TF_DeleteGraph (when no session uses it)
  isDisposed(): boolean;
}

/** The arguments of a session run: feeds (ops, output indices, tensors), fetches (ops, indices), targets, RunOptions, and whether to hand back RunMetadata. */
export type NativeRunArgs = [
  inputOps: NativeOperation[],
  inputIndices: Int32Array,
  inputs: NativeTensor[],
  outputOps: NativeOperation[],
  outputIndices: Int32Array,
  targets: NativeOperation[],
  runOptions?: Uint8Array | null,
  wantMetadata?: boolean,
];
export interface NativeSession {
  readonly __tf: 'TF_Session';
  /** TF_SessionRun on a run thread. */
  run(...args: NativeRunArgs): Promise<Array<NativeTensor | null> & { metadata?: Uint8Array }>;
  /** TF_SessionRun on the calling (JS) thread. */
  runSync(...args: NativeRunArgs): Array<NativeTensor | null> & { metadata?: Uint8Array };
  listDevices(): Array<{ name: string; type: string; memoryBytes: number }>; // TF_SessionListDevices
  close(): void; // TF_CloseSession + TF_DeleteSession (after in-flight runs)
  isClosed(): boolean;
}
export interface NativeServer {
  readonly __tf: 'TF_Server';
  start(): void; // TF_ServerStart
  stop(): void; // TF_ServerStop
  join(): Promise<void>; // TF_ServerJoin on its own thread
  unrefJoin(): void;
  target(): string; // TF_ServerTarget
  close(): void; // TF_DeleteServer unless started
  isClosed(): boolean;
  isStarted(): boolean;
}
export interface NativeBinding {
  Tensor: NativeTensorClass;
  Graph: new () => NativeGraph; // TF_NewGraph
  Session: new (graph: NativeGraph, config: Uint8Array | null, target: string | null, jit?: boolean) => NativeSession; // TF_NewSession (+ TF_EnableXLACompilation)
  Server: new (serverDef: Uint8Array) => NativeServer; // TF_NewServer
  probePort(port: number): string; // '' when 0.0.0.0:port can be bound
  init(options: NativeInitOptions): void; // once, before anything else
  shutdown(): void; // cancel in-flight runs and join the run threads
  defaultRunThreads(): number; // max(16, 2 × hardware threads)
  loadTensorFlow(path: string): string; // dlopen + TF_Version
  loadedPath(): string | null;
  allOpList(): Buffer; // TF_GetAllOpList
  loadLibrary(path: string): Buffer; // TF_LoadLibrary + TF_GetOpList
}
/** What the addon's `init` takes: everything it would otherwise read from the environment or guess. */
export interface NativeInitOptions {
  /** Error constructors indexed by TF_Code (0 = OK has none). */
  statusErrors: ReadonlyArray<unknown>;
  /** The class of the binding's own coded errors: `new libraryError(code, message)`. */
  libraryError: new (code: never, message: string) => Error;
  /** The most threads that run blocking TF calls, 1..1024. */
  runThreads: number;
  /** How long an idle run thread polls for the next run before sleeping, in µs, 0..100000 (0 = never). */
  spinMicros: number;
  /** How long the JS thread waits for a lone run it just submitted, in µs, 0..100000 (0 = never). */
  waitMicros?: number;
  /** Nice levels added to run threads and to the threads TF creates for sessions, 0..19 (0 = unchanged). */
  workerNice?: number;
}

/**
 * @internal
 * The environment variables the core reads, each read once (at the first `binding()` call) and checked here.
 */
export interface AddonEnvironment {
  /** `TFHUB_NODE_BINDING`: an explicit `.node` path, e.g. for bundlers. */
  bindingPath: string | undefined;
  /** `TFHUB_NODE_LIBTENSORFLOW`: the libtensorflow file or directory to load instead of the recorded one. */
  libtensorflow: string | undefined;
  /** `TFHUB_NODE_RUN_THREADS` (1..1024); undefined: the addon's default. */
  runThreads: number | undefined;
  /** `TFHUB_NODE_SPIN_US` (0..100000); default 100. */
  spinMicros: number;
  /** `TFHUB_NODE_WAIT_US` (0..100000); default 0. */
  waitMicros: number;
  /** `TFHUB_NODE_WORKER_NICE` (0..19); default {@link DEFAULT_WORKER_NICE}. */
  workerNice: number;
  /** `TF_CPP_MIN_LOG_LEVEL`: TensorFlow's log level; tfhub-node sets it to `'2'` when unset. */
  tfLogLevel: string | undefined;
  /** The variables `scripts/libtensorflow.js` consults to find the library (`LIBTENSORFLOW_DIR`, cache dirs). */
  search: Record<string, string | undefined>;
}

/** Limits of the numeric environment variables (documented in the README). */
const RUN_THREADS_RANGE: [number, number] = [1, 1024];
const SPIN_MICROS_RANGE: [number, number] = [0, 100000];
const DEFAULT_SPIN_MICROS = 100;
const DEFAULT_WAIT_MICROS = 0;
const WORKER_NICE_RANGE: [number, number] = [0, 19];
/**
 * @internal How many nice levels the threads that run TensorFlow sit below the JS thread unless
 * `TFHUB_NODE_WORKER_NICE` says otherwise (bench/RESULTS.md §5f).
 */
export const DEFAULT_WORKER_NICE = 10;

function integerVariable(env: NodeJS.ProcessEnv, name: string, [min, max]: [number, number]): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw rangeError('ERR_INVALID_ENV', `${name}=${JSON.stringify(raw)} must be an integer in [${min}, ${max}]`);
  }
  return n;
}

/** @internal Reads and checks the core's environment variables (see {@link AddonEnvironment}). */
export function readAddonEnvironment(env: NodeJS.ProcessEnv = process.env): AddonEnvironment {
  return {
    bindingPath: env.TFHUB_NODE_BINDING || undefined,
    libtensorflow: env.TFHUB_NODE_LIBTENSORFLOW || undefined,
    runThreads: integerVariable(env, 'TFHUB_NODE_RUN_THREADS', RUN_THREADS_RANGE),
    spinMicros: integerVariable(env, 'TFHUB_NODE_SPIN_US', SPIN_MICROS_RANGE) ?? DEFAULT_SPIN_MICROS,
    waitMicros: integerVariable(env, 'TFHUB_NODE_WAIT_US', SPIN_MICROS_RANGE) ?? DEFAULT_WAIT_MICROS,
    workerNice: integerVariable(env, 'TFHUB_NODE_WORKER_NICE', WORKER_NICE_RANGE) ?? DEFAULT_WORKER_NICE,
    tfLogLevel: env.TF_CPP_MIN_LOG_LEVEL,
    search: {
      TFHUB_NODE_LIBTENSORFLOW: env.TFHUB_NODE_LIBTENSORFLOW,
      LIBTENSORFLOW_DIR: env.LIBTENSORFLOW_DIR,
      TFHUB_NODE_CACHE: env.TFHUB_NODE_CACHE,
      XDG_CACHE_HOME: env.XDG_CACHE_HOME,
    },
  };
}

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

let cached: NativeBinding | undefined; // addon initialised and libtensorflow loaded
let initialised: NativeBinding | undefined; // addon initialised (libtensorflow may have failed to load)
let tfVersion = '';

function loadAddon(env: AddonEnvironment): NativeBinding {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (env.bindingPath) return require(env.bindingPath) as NativeBinding;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('node-gyp-build')(PACKAGE_ROOT) as NativeBinding;
  } catch (e) {
    throw new TfhubError(
      'ERR_ADDON_LOAD',
      [
        `tfhub-node: cannot load the native addon (${(e as Error).message.split('\n')[0]}).`,
        '  - run `npm rebuild tfhub-node` (needs python3, make, a C++17 compiler and libtensorflow headers),',
        '  - or set TFHUB_NODE_BINDING to a compatible tfhub_node.node,',
        `  - supported: Linux x64/arm64 with Node >= 20 (this is ${process.platform}-${process.arch}, Node ${process.version}).`,
      ].join('\n'),
      { cause: e },
    );
  }
}

/** The libtensorflow to load, found without spawning anything (install time did the search and recorded it). */
function chooseLibrary(env: AddonEnvironment): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const locate = require(path.join(PACKAGE_ROOT, 'scripts', 'libtensorflow.js')) as {
    runtimeLibrary(env: Record<string, string | undefined>): { library: string | null; tried: string[] };
    notFoundMessage(tried: string[]): string;
  };
  const found = locate.runtimeLibrary(env.search);
  if (!found.library) throw new TfhubError('ERR_TF_NOT_FOUND', locate.notFoundMessage(found.tried));
  return found.library;
}

/** The raw addon with libtensorflow loaded. Throws one explanatory error if either is missing. */
export function binding(): NativeBinding {
  if (cached) return cached;
  const env = readAddonEnvironment();
  // TensorFlow's C++ logging is chatty at start-up; keep warnings and errors unless the user chose a level.
  // (TF reads the variable itself, at its first log line: it has to be in the environment.)
  if (env.tfLogLevel === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  const addon = initialised ?? loadAddon(env);
  if (!initialised) {
    addon.init({
      statusErrors: ERROR_CLASSES_BY_CODE,
      libraryError: TfhubError,
      runThreads: env.runThreads ?? addon.defaultRunThreads(),
      spinMicros: env.spinMicros,
      waitMicros: env.waitMicros,
      workerNice: env.workerNice,
    });
    // The 'exit' event comes before exit()'s static destructors: cancel and join in-flight runs there.
    process.once('exit', () => addon.shutdown());
    initialised = addon;
  }
  const library = chooseLibrary(env);
  try {
    tfVersion = addon.loadTensorFlow(library);
  } catch (e) {
    throw new TfhubError('ERR_TF_LOAD', `tfhub-node: cannot load libtensorflow from ${library}: ${(e as Error).message}`, { cause: e });
  }
  cached = addon;
  return addon;
}

/** @internal Whether `value` is a tensor handle of the addon (what TensorFlow returns), not user data. */
export function isNativeTensor(value: unknown): value is NativeTensor {
  return typeof value === 'object' && value !== null && value instanceof (binding().Tensor as unknown as new () => NativeTensor);
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
