/**
 * Every `code` an error raised by tfhub-node itself can carry (`TfhubError`, and the `TypeError`s / `RangeError`s
 * made by `typeError` / `rangeError`), with its meaning. TensorFlow status errors (`TFError` and subclasses) carry
 * TensorFlow's own code names instead (`'INVALID_ARGUMENT'`, …). docs/errors.md is generated from this table
 * (`npm run gen:docs`); a test keeps both in step and fails on a code used in `src/` or `native/` that is not here.
 */
export const ERROR_CODES = {
  // Installation and the native addon
  ERR_ADDON_LOAD:
    'The native addon (`tfhub_node.node`) or a dependency the package needs cannot be loaded: not built for this platform, `TFHUB_NODE_BINDING` names an unusable file, or the installation is incomplete.',
  ERR_TF_NOT_FOUND:
    'No libtensorflow was found: neither `TFHUB_NODE_LIBTENSORFLOW` nor the library recorded at install time (`deps/libtensorflow.json`) exists.',
  ERR_TF_LOAD: 'libtensorflow was found but cannot be loaded (dlopen failed or its C API is incomplete).',
  ERR_TF_NOT_LOADED: 'The raw binding was used before libtensorflow was loaded.',
  ERR_INVALID_ENV:
    'An environment variable read by tfhub-node (`TFHUB_NODE_RUN_THREADS`, `TFHUB_NODE_SPIN_US`, …) holds a value outside its documented range.',
  ERR_ILLEGAL_CONSTRUCTOR: 'A native class was constructed from JavaScript; its objects only come from the binding.',
  ERR_INVALID_HANDLE:
    'The raw binding got an object of the wrong native kind (e.g. a Graph where a Tensor handle is expected) or a forged one.',
  ERR_ALLOCATION: 'TensorFlow or V8 could not allocate memory for a tensor or a reference to its data.',
  ERR_BUFFER_DETACHED: 'The ArrayBuffer behind a tensor was detached or transferred, so its memory can no longer be read.',
  ERR_INTERNAL: 'An internal invariant does not hold (a bug in tfhub-node; please report it).',

  // Arguments
  ERR_INVALID_ARG_TYPE: 'An argument has the wrong type (e.g. a number where an Output is expected).',
  ERR_INVALID_ARG_VALUE:
    'An argument has the right type but an unusable value (e.g. a fetch structure that contains itself or nests too deep).',
  ERR_OUT_OF_RANGE: 'A number is outside its allowed range (an element for an integer dtype, an output index, a session option).',
  ERR_VALUE_TOO_LARGE: 'A value is too large to convert (an array or array-like claiming more elements than a tensor can hold).',
  ERR_INVALID_DTYPE: 'Unknown dtype name or TF_DataType number, or an operation the dtype does not allow (`resource` tensors from data).',
  ERR_INVALID_SHAPE:
    'A shape is not an array of dimensions (integers ≥ 0, or `null` / `-1` where a dimension may be unknown), or its element count is too large.',
  ERR_INVALID_DATA_LENGTH: 'The number of data elements does not match the shape.',
  ERR_INVALID_ATTR: 'An operation attribute has a value of the wrong kind, or the op has no such attribute.',
  ERR_INVALID_FEED: "A value fed to a session cannot be converted to the fed tensor's dtype.",

  // Graphs and sessions
  ERR_DISPOSED: 'The object (tensor, graph, session, model) was disposed or closed, or the process is exiting.',
  ERR_GRAPH_MISMATCH: 'An Output or Operation of another graph was used.',
  ERR_NOT_FOUND: 'No operation or tensor with that name in the graph.',
  ERR_FEED_SHAPE: "A fed value's shape is incompatible with the fed tensor's static shape.",
  ERR_INLINE_DEPTH: 'Function calls nest too deep to inline (recursion).',
  ERR_INVALID_FUNCTION: 'A FunctionDef is malformed (an unknown input or output reference).',

  // Gradients and training
  ERR_NO_GRADIENT: 'An operation on the path from ys to xs has no gradient function (register one with `train.registerGradient`).',
  ERR_GRADIENT_FUNCTION: 'A registered gradient function returned the wrong number of gradients.',
  ERR_UNCONNECTED_GRADIENT: "An x does not influence any y, and `unconnected` is `'error'` (or zeros cannot be made for it).",
  ERR_NO_VARIABLES: 'An optimizer was given no variables to optimize.',
  ERR_NO_VARIABLE_GRADIENTS: 'An optimizer got no gradient for any of its variables (none of them influences the loss).',

  // Hub handles and the resolver
  ERR_INVALID_HUB_HANDLE: 'A hub handle is not a non-empty string, is a malformed URL, or contains whitespace, control characters or NUL.',
  ERR_UNSUPPORTED_HANDLE: 'A hub handle names a scheme or location the resolver does not support.',
  ERR_HANDLE_NOT_FOUND: 'A hub handle names a local path that does not exist or is not a directory.',
  ERR_INVALID_SETTING: 'A resolver setting (option or environment variable) has an unusable value.',
  ERR_OFFLINE_MISS: 'Offline mode is on and the handle is not in the cache.',
  ERR_NETWORK: 'A network error (connection refused or reset, DNS, TLS, timeout) while downloading.',
  ERR_HTTP_STATUS: 'The server answered a download with an HTTP error status.',
  ERR_HTTP_REDIRECT: 'A redirect was refused (to another scheme, without a Location, or too many).',
  ERR_UNEXPECTED_RESPONSE: 'The server answered with something other than the expected archive or location.',
  ERR_ARCHIVE_TOO_LARGE: 'A download or an archive exceeds the byte or entry limit.',
  ERR_INVALID_ARCHIVE: 'A downloaded archive is corrupt or not a supported archive format.',
  ERR_UNSAFE_ARCHIVE: 'An archive member would be written outside the extraction directory, or is a link or device.',
  ERR_CACHE_NOT_WRITABLE: 'The cache directory (or a lock file in it) cannot be written.',
  ABORT_ERR: "The caller's `AbortSignal` fired (the error's `name` is `'AbortError'`, as Node's own).",

  // Model files
  ERR_READ: 'A model file exists but cannot be read.',
  ERR_INVALID_PROTO: 'Bytes are not a valid protocol buffer of the expected message type (truncated, wrong wire types, …).',
  ERR_SAVED_MODEL_NOT_FOUND: 'The directory holds no `saved_model.pb` (or `saved_model.pbtxt`).',
  ERR_MODULE_NOT_FOUND: 'The directory of a TF1 Hub module does not exist or holds no `tfhub_module.pb`.',
  ERR_NOT_TF1_HUB_MODULE: 'A TF2 SavedModel was given where a TF1 Hub module is expected.',
  ERR_UNSUPPORTED_MODULE_FORMAT: 'A TF1 Hub module declares a module format this version does not support.',
  ERR_UNSUPPORTED_MODULE_FEATURES: 'A TF1 Hub module requires features this version does not support.',
  ERR_INVALID_MODULE: 'A TF1 Hub module is internally inconsistent (a variable or stateful op missing from its graph).',
  ERR_INVALID_SAVED_MODEL:
    'A SavedModel is internally inconsistent (dangling object-graph references, functions without concrete functions, …).',
  ERR_INVALID_GRAPH:
    "A model's GraphDef or function library is malformed in a way TensorFlow could crash on (a Const whose dtype clashes with its value, a missing function or input, a call with the wrong arity, recursion, an attr the op lacks); checked before import.",
  ERR_INVALID_SIGNATURE: "A TF1 signature names a tensor the graph lacks, or declares a dtype other than its tensor's.",
  ERR_UNSUPPORTED_SAVED_MODEL: 'A SavedModel uses a feature this version does not support.',
  ERR_NO_SUCH_GRAPH_VARIANT: 'No meta graph has the requested tags.',
  ERR_DUPLICATE_TAGS: 'Two meta graphs have the same tags.',
  ERR_TAGS_REQUIRED: 'The SavedModel has several meta graphs and no tags were given to choose one.',
  ERR_MISSING_OPS: 'The graph uses ops that are not registered (load their library first with `loadOpLibrary`).',
  ERR_INVALID_ASSET: 'An asset of a model is malformed: its path leaves `assets/`, or its tensor is not a scalar string Const.',
  ERR_ASSET_COPY: 'An asset file could not be copied during export.',
  ERR_INVALID_CHECKPOINT:
    'A checkpoint is malformed or inconsistent with its data files (bad varint, block out of range, bad CRC, an entry whose dtype, shape, slices or size TensorFlow would abort on), checked before any restore op runs.',
  ERR_NOT_REGULAR_FILE: 'A model file is a directory, FIFO, socket or device (e.g. a symlink to /dev/zero), not a regular file.',
  ERR_MODEL_FILE_TOO_LARGE: 'A model file is larger than TFHUB_NODE_MAX_MODEL_FILE_BYTES (default 4 GiB).',
  ERR_UNSUPPORTED_CHECKPOINT:
    'A checkpoint uses a feature this version does not read (an unknown block compression, big-endian data, partitioned tensors in a KerasLayer export).',
  ERR_CHECKPOINT_NOT_FOUND: 'The model has variables but its checkpoint (`variables/variables.index`) is missing.',
  ERR_CHECKPOINT_KEY_NOT_FOUND: "A variable's tensor is not in the checkpoint.",
  ERR_CHECKPOINT_SHAPE: "A checkpoint tensor's shape does not match its variable's shape.",
  ERR_NO_ATTACHED_MESSAGE: 'A TF1 Hub module has no attached message for the requested key.',

  // Signatures and calls
  ERR_UNKNOWN_SIGNATURE: 'The model has no signature with that name.',
  ERR_UNSUPPORTED_SIGNATURE: 'A signature or function takes or returns values this version does not support.',
  ERR_UNSUPPORTED_SIGNATURE_TYPE: 'A signature input or output is of a kind (e.g. a composite tensor) this version does not support.',
  ERR_SIGNATURE_INPUTS: "The inputs given do not match the signature's inputs (missing, extra, or one input where several are expected).",
  ERR_INPUT_KIND: 'A signature input is of the wrong kind (a record where a tensor is expected, a dense tensor for a sparse input, …).',
  ERR_INPUT_DTYPE: 'A signature input has the wrong dtype.',
  ERR_INPUT_SHAPE: 'A signature input has an incompatible shape.',
  ERR_INPUT_VALUE: 'A signature input cannot be used (a disposed tensor, a value that does not match the input spec).',
  ERR_INPUT_CONVERSION: 'A signature input cannot be converted to a tensor.',
  ERR_NO_MATCHING_FUNCTION: 'No traced concrete function of a restored function accepts the given arguments.',
  ERR_OUTPUT_STRUCTURE: 'A function returned fewer tensors than its output structure needs.',
  ERR_NO_DEFAULT_OUTPUT: 'The signature has no output named `default`; call with `asDict: true`.',
  ERR_NOT_CALLABLE: 'The object of a SavedModel is not a callable function.',
  ERR_NOT_BUILT: 'A KerasLayer was never applied in this graph, so there is nothing to export.',

  // Export
  ERR_ALREADY_EXISTS: 'The export directory exists and is not empty (or is not a directory).',
  ERR_NOT_IN_MODULE_FN: 'A `hub.addSignature`-style call was made outside the module function of `hub.createModuleSpec`.',
  ERR_ASYNC_MODULE_FN: 'The module function of `hub.createModuleSpec` returned a promise; it must be synchronous.',
  ERR_NO_SIGNATURES: 'The module function added no signature.',
  ERR_INVALID_COLLECTION: 'A graph collection holds values of the wrong kind for export.',
  ERR_UNSUPPORTED_COLLECTIONS: 'The graph has collections a TF1 Hub module cannot hold (drop them with `dropCollections`).',

  // Serving and the command line
  ERR_TEXT_FORMAT:
    'A protobuf text-format file (`--model_config_file`, …) does not parse or names an unknown field; the message starts with `file:line:col`.',
  ERR_INVALID_FLAG: 'A command-line flag is unknown or has an unusable value (the CLI prints the message and exits with code 2).',

  // Distributed runtime, device placement and training checkpoints
  ERR_INVALID_DEVICE:
    'A device string cannot be parsed as a DeviceSpec (`/job:<j>/replica:<r>/task:<t>/device:<TYPE>:<i>`), or a device scope is not a string, DeviceSpec, function or null.',
  ERR_INVALID_CLUSTER:
    'A cluster spec is malformed (job names, task indices, `host:port` addresses, duplicate addresses) or does not hold the job asked for.',
  ERR_PORT_IN_USE: 'The port of the task a `Server` is asked to run cannot be bound (another process listens on it).',
  ERR_INVALID_CHECKPOINT_STATE: "A checkpoint directory's `checkpoint` state file is not a text-format CheckpointState.",
  ERR_CHECKPOINT_DIR: 'The directory a checkpoint is saved into does not exist.',
  ERR_CHIEF_TIMEOUT: 'A non-chief `TrainingSession` waited longer than `waitForChiefMs` for the chief to initialize the variables.',
  ERR_CHECKPOINT_DTYPE: "A checkpoint tensor's dtype differs from its variable's.",

  // Batching
  ERR_INVALID_BATCHING_PARAMETERS:
    'A BatchingParameters field has the wrong type or an unusable value (the message names the field), or asks for a feature tfhub-node does not have.',
} as const;

/** A code of an error raised by tfhub-node itself (a key of {@link ERROR_CODES}). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether `code` is one of tfhub-node's own error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}
