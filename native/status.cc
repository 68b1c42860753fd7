#include "status.h"

#include "addon.h"

namespace tfhub {

const char* CodeName(TF_Code code) {
  switch (code) {
    case TF_OK: return "OK";
    case TF_CANCELLED: return "CANCELLED";
    case TF_UNKNOWN: return "UNKNOWN";
    case TF_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case TF_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case TF_NOT_FOUND: return "NOT_FOUND";
    case TF_ALREADY_EXISTS: return "ALREADY_EXISTS";
    case TF_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case TF_UNAUTHENTICATED: return "UNAUTHENTICATED";
    case TF_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case TF_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case TF_ABORTED: return "ABORTED";
    case TF_OUT_OF_RANGE: return "OUT_OF_RANGE";
    case TF_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case TF_INTERNAL: return "INTERNAL";
    case TF_UNAVAILABLE: return "UNAVAILABLE";
    case TF_DATA_LOSS: return "DATA_LOSS";
  }
  return "UNKNOWN";
}

Napi::Error MakeTfError(Napi::Env env, TF_Code code, const std::string& message) {
  Addon* addon = env.GetInstanceData<Addon>();
  int index = static_cast<int>(code);
  if (addon != nullptr && !addon->error_classes.IsEmpty() && index >= 0 && index <= 16) {
    Napi::Value ctor = addon->error_classes.Value().Get(static_cast<uint32_t>(index));
    if (ctor.IsFunction()) {
      Napi::Object err = ctor.As<Napi::Function>().New({Napi::String::New(env, message)});
      return Napi::Error(env, err);
    }
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, CodeName(code)));
  return err;
}

Napi::Error MakeCodedError(Napi::Env env, const char* code, const std::string& message) {
  // init() passes the TypeScript layer's TfhubError class, so that these errors are `instanceof TfhubError` like
  // the ones it raises itself.
  Addon* addon = env.GetInstanceData<Addon>();
  if (addon != nullptr && !addon->library_error.IsEmpty()) {
    Napi::Object err =
        addon->library_error.Value().New({Napi::String::New(env, code), Napi::String::New(env, message)});
    return Napi::Error(env, err);
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

Napi::RangeError MakeCodedRangeError(Napi::Env env, const char* code, const std::string& message) {
  Napi::RangeError err = Napi::RangeError::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

Napi::TypeError MakeCodedTypeError(Napi::Env env, const char* code, const std::string& message) {
  Napi::TypeError err = Napi::TypeError::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

}  // namespace tfhub
