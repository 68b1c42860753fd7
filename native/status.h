// TF_Status ownership and its translation into the JS error classes registered by the TypeScript layer.
#pragma once

#include <string>

#include "napi_config.h"
#include "tf_api.h"

namespace tfhub {

class Status {
 public:
  Status() : status_(tf.TF_NewStatus()) {}
  ~Status() { tf.TF_DeleteStatus(status_); }
  Status(const Status&) = delete;
  Status& operator=(const Status&) = delete;

  TF_Status* get() const { return status_; }
  operator TF_Status*() const { return status_; }
  bool ok() const { return tf.TF_GetCode(status_) == TF_OK; }
  TF_Code code() const { return tf.TF_GetCode(status_); }
  std::string message() const { return tf.TF_Message(status_); }

 private:
  TF_Status* status_;
};

// A status captured on a worker thread, turned into a JS error later on the JS thread.
struct StatusRecord {
  TF_Code code = TF_OK;
  std::string message;
  void Capture(const Status& s) {
    code = s.code();
    message = s.message();
  }
  bool ok() const { return code == TF_OK; }
};

const char* CodeName(TF_Code code);

// An instance of the registered error class for `code` (e.g. InvalidArgumentError), with .code = 'INVALID_ARGUMENT'.
Napi::Error MakeTfError(Napi::Env env, TF_Code code, const std::string& message);

// Throws (as a C++ exception carrying the JS error) when `status` is not OK.
inline void ThrowIfNotOk(Napi::Env env, const Status& status) {
  if (!status.ok()) throw MakeTfError(env, status.code(), status.message());
}

// Errors raised by the binding itself (disposed object, graph mismatch, ...): a TfhubError (a plain Error before
// the TypeScript layer registered its classes) with a string code; TypeErrors for arguments of the wrong kind.
Napi::Error MakeCodedError(Napi::Env env, const char* code, const std::string& message);
Napi::TypeError MakeCodedTypeError(Napi::Env env, const char* code, const std::string& message);
Napi::RangeError MakeCodedRangeError(Napi::Env env, const char* code, const std::string& message);

}  // namespace tfhub
