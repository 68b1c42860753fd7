// TF_Tensor: owned, immutable once created; data is copied across the boundary.
#pragma once

#include "napi_config.h"
#include "tf_api.h"

namespace tfhub {

class Tensor : public Napi::ObjectWrap<Tensor> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x6b2f6c1e0a3d4f11ULL, 0x9e1c4a55d2b7e901ULL};
  static constexpr const char* kName = "Tensor";

  static Napi::Function Init(Napi::Env env);
  // Wraps a tensor TF handed us (e.g. a session output); takes ownership.
  static Napi::Object Wrap(Napi::Env env, TF_Tensor* tensor);

  explicit Tensor(const Napi::CallbackInfo& info);
  ~Tensor() override;

  // The live handle; throws ERR_DISPOSED after dispose().
  TF_Tensor* Get(Napi::Env env) const;
  // In-flight runs pin their inputs: dispose() then waits for the last Unpin.
  void Pin() { ++pins_; }
  void Unpin();

 private:
  static Napi::Value FromData(const Napi::CallbackInfo& info);
  static Napi::Value FromStrings(const Napi::CallbackInfo& info);
  static Napi::Value FromDataNoCopy(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value ByteSize(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value Strings(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  void Free();
  // Throws ERR_BUFFER_DETACHED when the tensor uses a typed array's memory in place and that array's buffer
  // was detached (transferred): the memory then belongs to another ArrayBuffer that may already be freed.
  void CheckShared(Napi::Env env) const;

  TF_Tensor* tensor_ = nullptr;
  napi_ref shared_array_ = nullptr;  // weak: the typed array a zero-copy tensor uses in place
  int64_t reported_bytes_ = 0;
  int pins_ = 0;
  bool dispose_requested_ = false;
};

}  // namespace tfhub
