// Registration only: the exported classes and the few free functions of the C API.
#include "addon.h"

#include <chrono>
#include <string>
#include <thread>

#include "graph.h"
#include "handles.h"
#include "server.h"
#include "session.h"
#include "status.h"
#include "tensor.h"
#include "tf_api.h"
#include "thread_priority.h"

namespace tfhub {

void RequireTensorFlow(Napi::Env env) {
  if (!TensorFlowLoaded())
    throw MakeCodedError(env, "ERR_TF_NOT_LOADED", "libtensorflow is not loaded: call loadTensorFlow(path) first");
}

namespace {

// loadTensorFlow(path): dlopens libtensorflow and binds the C API. Idempotent for the same path.
Napi::Value LoadTensorFlowJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info[0], "path");
  std::string error = LoadTensorFlow(path);
  if (!error.empty()) throw MakeCodedError(env, "ERR_TF_LOAD", error);
  return Napi::String::New(env, tf.TF_Version());
}

Napi::Value LoadedPath(const Napi::CallbackInfo& info) {
  if (!TensorFlowLoaded()) return info.Env().Null();
  return Napi::String::New(info.Env(), LoadedTensorFlowPath());
}

// init({statusErrors, libraryError, runThreads, spinMicros}): called once by the TypeScript loader (src/addon.ts)
// before anything else. statusErrors: constructors indexed by TF_Code, used for every TF_Status error;
// libraryError: the class of the binding's own coded errors (TfhubError); runThreads: the most run threads;
// spinMicros: how long an idle run thread polls before it sleeps (0: never); waitMicros (optional, default 0):
// how long the JS thread waits for a lone run it just submitted before it returns to the event loop; workerNice
// (optional, default 0): how many nice levels run threads and the threads TF creates for sessions sit below the
// JS thread (thread_priority.h). The TypeScript
// side reads and checks the environment; C++ reads none of it.
Napi::Value InitJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject())
    throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE", "init(options): options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Array classes = ArrayArg(o.Get("statusErrors"), "init: statusErrors");
  Napi::Value library = o.Get("libraryError");
  if (!library.IsFunction())
    throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE", "init: libraryError must be a class");
  int64_t threads = IntArg(o.Get("runThreads"), "init: runThreads");
  int64_t spin = IntArg(o.Get("spinMicros"), "init: spinMicros");
  int64_t wait = o.Get("waitMicros").IsUndefined() ? 0 : IntArg(o.Get("waitMicros"), "init: waitMicros");
  int64_t nice = o.Get("workerNice").IsUndefined() ? 0 : IntArg(o.Get("workerNice"), "init: workerNice");
  if (threads < 1 || threads > 1024)
    throw MakeCodedRangeError(env, "ERR_OUT_OF_RANGE", "init: runThreads must be in [1, 1024]");
  if (spin < 0 || spin > 100000)
    throw MakeCodedRangeError(env, "ERR_OUT_OF_RANGE", "init: spinMicros must be in [0, 100000]");
  if (wait < 0 || wait > 100000)
    throw MakeCodedRangeError(env, "ERR_OUT_OF_RANGE", "init: waitMicros must be in [0, 100000]");
  if (nice < 0 || nice > 19) throw MakeCodedRangeError(env, "ERR_OUT_OF_RANGE", "init: workerNice must be in [0, 19]");
  Addon& addon = GetAddon(env);
  addon.error_classes = Napi::Persistent(classes.As<Napi::Object>());
  addon.library_error = Napi::Persistent(library.As<Napi::Function>());
  SetWorkerNice(static_cast<int>(nice));
  addon.executor->Configure(static_cast<size_t>(threads), std::chrono::microseconds(spin),
                            std::chrono::microseconds(wait));
  return env.Undefined();
}

// shutdown(): cancels in-flight runs and joins the run threads. The TypeScript loader calls it on the process
// 'exit' event: process.exit() on the main thread runs no cleanup hooks but calls exit(), whose static
// destructors (oneDNN's JIT code among them) would run while run threads are still inside TF_SessionRun.
Napi::Value ShutdownJs(const Napi::CallbackInfo& info) {
  GetAddon(info.Env()).executor->Shutdown();
  return info.Env().Undefined();
}

// defaultRunThreads(): the run-thread limit when the environment sets none (2 per core, at least 16).
Napi::Value DefaultRunThreads(const Napi::CallbackInfo& info) {
  size_t hw = std::thread::hardware_concurrency();
  return Napi::Number::New(info.Env(), static_cast<double>(hw * 2 > 16 ? hw * 2 : 16));
}

// allOpList() -> serialized OpList of every registered op (including loaded libraries).
Napi::Value AllOpList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireTensorFlow(env);
  TF_Buffer* buffer = tf.TF_GetAllOpList();
  Napi::Value out = Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(buffer->data), buffer->length);
  tf.TF_DeleteBuffer(buffer);
  return out;
}

// loadLibrary(path) -> serialized OpList of the ops it registered. Libraries stay loaded for the process
// lifetime: unloading code whose kernels are registered is unsafe.
Napi::Value LoadLibrary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireTensorFlow(env);
  std::string path = StringArg(info[0], "path");
  Status s;
  TF_Library* lib = tf.TF_LoadLibrary(path.c_str(), s);
  ThrowIfNotOk(env, s);
  TF_Buffer ops = tf.TF_GetOpList(lib);
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(ops.data), ops.length);
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* state = new Addon();
  env.SetInstanceData<Addon>(state);  // deleted by node-addon-api when the environment goes away
  state->construct_token = Napi::Persistent(Napi::Object::New(env));
  state->executor = std::make_unique<Executor>(env);
  // Join the run threads before the environment finalizes sessions and graphs they may still be using.
  napi_add_env_cleanup_hook(env, [](void* arg) { static_cast<Addon*>(arg)->executor->Shutdown(); }, state);

  Napi::Function tensor = Tensor::Init(env);
  Napi::Function graph = Graph::Init(env);
  Napi::Function operation = Operation::Init(env);
  Napi::Function session = Session::Init(env);
  state->tensor_class = Napi::Persistent(tensor);
  state->graph_class = Napi::Persistent(graph);
  state->operation_class = Napi::Persistent(operation);
  state->session_class = Napi::Persistent(session);

  exports.Set("Tensor", tensor);
  exports.Set("Graph", graph);
  exports.Set("Operation", operation);
  exports.Set("Session", session);
  exports.Set("Server", Server::Init(env));
  exports.Set("probePort", Napi::Function::New<ProbePort>(env, "probePort"));
  exports.Set("loadTensorFlow", Napi::Function::New<LoadTensorFlowJs>(env, "loadTensorFlow"));
  exports.Set("loadedPath", Napi::Function::New<LoadedPath>(env, "loadedPath"));
  exports.Set("init", Napi::Function::New<InitJs>(env, "init"));
  exports.Set("shutdown", Napi::Function::New<ShutdownJs>(env, "shutdown"));
  exports.Set("defaultRunThreads", Napi::Function::New<DefaultRunThreads>(env, "defaultRunThreads"));
  exports.Set("allOpList", Napi::Function::New<AllOpList>(env, "allOpList"));
  exports.Set("loadLibrary", Napi::Function::New<LoadLibrary>(env, "loadLibrary"));
  return exports;
}

}  // namespace tfhub

static Napi::Object InitTfhub(Napi::Env env, Napi::Object exports) {
  return tfhub::Init(env, exports);
}

NODE_API_MODULE(tfhub_node, InitTfhub)
