#include "tf_api.h"

#include <dlfcn.h>

#include <mutex>

namespace tfhub {

TfApi tf;

namespace {
std::mutex load_mutex;
std::string loaded_path;
bool loaded = false;
}  // namespace

std::string LoadTensorFlow(const std::string& path) {
  std::lock_guard<std::mutex> lock(load_mutex);
  if (loaded) {
    if (path == loaded_path) return "";
    return "libtensorflow is already loaded from " + loaded_path + "; cannot also load " + path;
  }
  // RTLD_LOCAL keeps TF's bundled protobuf/absl symbols out of the global namespace (other addons may bring
  // their own); custom op libraries resolve libtensorflow_framework through their own DT_NEEDED entry.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    return std::string("cannot load libtensorflow: ") + (err ? err : path);
  }
  TfApi table;
  std::string missing;
#define TFHUB_BIND_ENTRY(name)                                            \
  table.name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name)); \
  if (table.name == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(#name);
  TFHUB_TF_FUNCTIONS(TFHUB_BIND_ENTRY)
#undef TFHUB_BIND_ENTRY
  if (!missing.empty()) {
    dlclose(handle);
    return path + " lacks C API functions: " + missing;
  }
  tf = table;
  loaded_path = path;
  loaded = true;
  return "";
}

bool TensorFlowLoaded() {
  std::lock_guard<std::mutex> lock(load_mutex);
  return loaded;
}

const std::string& LoadedTensorFlowPath() {
  return loaded_path;
}

}  // namespace tfhub
