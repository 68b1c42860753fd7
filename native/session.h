// TF_Session: runs on the executor's threads; close() waits for in-flight runs.
#pragma once

#include "graph.h"
#include "napi_config.h"
#include "tf_api.h"

namespace tfhub {

class Session : public Napi::ObjectWrap<Session> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x2c4e6a8b0d1f3a44ULL, 0xe5f7a9c1b3d5e604ULL};
  static constexpr const char* kName = "Session";

  static Napi::Function Init(Napi::Env env);
  explicit Session(const Napi::CallbackInfo& info);
  ~Session() override;

  TF_Session* Get(Napi::Env env) const;
  void RunStarted() { ++active_runs_; }
  void RunFinished();

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value RunSync(const Napi::CallbackInfo& info);
  Napi::Value ListDevices(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsClosed(const Napi::CallbackInfo& info);
  void Free();

  TF_Session* session_ = nullptr;
  GraphStatePtr graph_;
  int active_runs_ = 0;
  bool close_requested_ = false;
};

}  // namespace tfhub
