// Registration only: the exported classes and the few free functions of the C API.
#include "addon.h"

#include <cstdlib>
#include <string>
#include <thread>

#include "graph.h"
#include "handles.h"
#include "server.h"
#include "session.h"
#include "status.h"
#include "tensor.h"
#include "tf_api.h"

namespace tfhub {

void RequireTensorFlow(Napi::Env env) {
  if (!TensorFlowLoaded()) throw MakeCodedError(env, "ERR_TF_NOT_LOADED", "libtensorflow is not loaded: call loadTensorFlow(path) first");
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

// setErrorClasses(ctors[17]): constructors indexed by TF_Code, used for every TF_Status error.
Napi::Value SetErrorClasses(const Napi::CallbackInfo& info) {
  Napi::Array classes = ArrayArg(info[0], "error classes");
  GetAddon(info.Env()).error_classes = Napi::Persistent(classes.As<Napi::Object>());
  return info.Env().Undefined();
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

size_t RunThreads() {
  const char* env = std::getenv("TFHUB_NODE_RUN_THREADS");
  if (env != nullptr) {
    long n = std::strtol(env, nullptr, 10);
    if (n > 0 && n <= 1024) return static_cast<size_t>(n);
  }
  size_t hw = std::thread::hardware_concurrency();
  return hw * 2 > 16 ? hw * 2 : 16;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* state = new Addon();
  env.SetInstanceData<Addon>(state);  // deleted by node-addon-api when the environment goes away
  state->construct_token = Napi::Persistent(Napi::Object::New(env));
  state->executor = std::make_unique<Executor>(env, RunThreads());
  // Join the run threads before the environment finalizes sessions and graphs they may still be using.
  napi_add_env_cleanup_hook(env, [](void* arg) { static_cast<Addon*>(arg)->executor->Shutdown(); }, state);
  // process.exit() on the main thread runs no cleanup hooks: it calls exit(), whose static destructors (oneDNN's
  // JIT code among them) would run while run threads are still inside TF_SessionRun (SIGSEGV). The 'exit'
  // event comes first: cancel and join in-flight runs there.
  Napi::Value process = env.Global().Get("process");
  if (process.IsObject() && process.As<Napi::Object>().Get("once").IsFunction()) {
    Napi::Object p = process.As<Napi::Object>();
    p.Get("once").As<Napi::Function>().Call(
        p, {Napi::String::New(env, "exit"),
            Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
              GetAddon(info.Env()).executor->Shutdown();
              return info.Env().Undefined();
            }, "tfhubNodeShutdown")});
  }

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
  exports.Set("setErrorClasses", Napi::Function::New<SetErrorClasses>(env, "setErrorClasses"));
  exports.Set("allOpList", Napi::Function::New<AllOpList>(env, "allOpList"));
  exports.Set("loadLibrary", Napi::Function::New<LoadLibrary>(env, "loadLibrary"));
  return exports;
}

}  // namespace tfhub

static Napi::Object InitTfhub(Napi::Env env, Napi::Object exports) { return tfhub::Init(env, exports); }

NODE_API_MODULE(tfhub_node, InitTfhub)
