// Per-environment state of the addon (one per main thread / worker_thread that loads it).
#pragma once

#include <memory>

#include "executor.h"
#include "napi_config.h"
#include "reaper.h"

namespace tfhub {

struct Addon {
  Napi::FunctionReference tensor_class;
  Napi::FunctionReference graph_class;
  Napi::FunctionReference operation_class;
  Napi::FunctionReference session_class;
  // Proof that a constructor call comes from C++ (wrapping an existing TF handle), not from user code.
  Napi::ObjectReference construct_token;
  // Error classes by TF_Code and the class of the binding's own coded errors, passed by init() (src/addon.ts).
  Napi::ObjectReference error_classes;
  Napi::FunctionReference library_error;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<Reaper> reaper;  // created on first zero-copy tensor
};

inline Addon& GetAddon(Napi::Env env) {
  return *env.GetInstanceData<Addon>();
}

// Throws ERR_TF_NOT_LOADED unless loadTensorFlow() succeeded.
void RequireTensorFlow(Napi::Env env);

}  // namespace tfhub
