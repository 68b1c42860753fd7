// Releases JS references from any thread. A zero-copy tensor pins its JS buffer with a napi_ref; TF may free the
// tensor on one of its own threads, where no JS call is allowed, so the release is posted to the JS thread.
#pragma once

#include "napi_config.h"

namespace tfhub {

class Reaper {
 public:
  explicit Reaper(Napi::Env env);
  // Any thread: deletes `ref` on the JS thread (at once when called there outside a TF call is not assumed).
  void Release(napi_ref ref);

 private:
  static void CallJs(Napi::Env env, Napi::Function, Reaper* self, napi_ref* ref);
  using Tsfn = Napi::TypedThreadSafeFunction<Reaper, napi_ref, &Reaper::CallJs>;
  Tsfn tsfn_;
};

// The environment's reaper, created on first use.
Reaper& GetReaper(Napi::Env env);

}  // namespace tfhub
