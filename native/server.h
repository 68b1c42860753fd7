// TF_Server: an in-process TensorFlow gRPC server (a task of a cluster).
//
// TensorFlow cannot stop a started gRPC server (TF_ServerStop answers UNIMPLEMENTED) and its destructor
// CHECK-fails on one, so a started server is never deleted: like Python's tf.distribute.Server, it lives until
// the process exits. TF_ServerJoin on a started server blocks for ever while holding the server's lock, so it
// runs on its own detached thread and nothing calls TF_ServerStop once a join is pending.
#pragma once

#include <memory>

#include "napi_config.h"
#include "tf_api.h"

namespace tfhub {

class Server : public Napi::ObjectWrap<Server> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x5a17c3e9b2d84f61ULL, 0x9e0b4d6f8a2c1e35ULL};
  static constexpr const char* kName = "Server";

  static Napi::Function Init(Napi::Env env);
  explicit Server(const Napi::CallbackInfo& info);
  ~Server() override;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Join(const Napi::CallbackInfo& info);
  Napi::Value UnrefJoin(const Napi::CallbackInfo& info);
  Napi::Value Target(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsClosed(const Napi::CallbackInfo& info);
  Napi::Value IsStarted(const Napi::CallbackInfo& info);
  TF_Server* Get(Napi::Env env) const;
  void Free();

  TF_Server* server_ = nullptr;
  bool started_ = false;
  bool closed_ = false;
  bool joining_ = false;
  struct JoinState;
  std::shared_ptr<JoinState> join_;
};

// probePort(port): "" when 0.0.0.0:port can be bound (as TF's gRPC server binds it), else why not.
Napi::Value ProbePort(const Napi::CallbackInfo& info);

}  // namespace tfhub
