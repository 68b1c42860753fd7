#include "reaper.h"

#include "addon.h"

namespace tfhub {

Reaper::Reaper(Napi::Env env) {
  tsfn_ = Tsfn::New(env, "tfhub-node.release", 0, 1, this);
  tsfn_.Unref(env);  // pending releases never keep the process alive
}

void Reaper::Release(napi_ref ref) {
  auto* boxed = new napi_ref(ref);
  if (tsfn_.NonBlockingCall(boxed) != napi_ok) delete boxed;  // environment gone: nothing left to release
}

void Reaper::CallJs(Napi::Env env, Napi::Function, Reaper*, napi_ref* ref) {
  if (env != nullptr && ref != nullptr) napi_delete_reference(env, *ref);
  delete ref;
}

Reaper& GetReaper(Napi::Env env) {
  Addon& addon = GetAddon(env);
  if (!addon.reaper) addon.reaper = std::make_unique<Reaper>(env);
  return *addon.reaper;
}

}  // namespace tfhub
