#include "tensor.h"

#include <cstring>
#include <limits>
#include <vector>

#include "addon.h"
#include "dtype.h"
#include "handles.h"
#include "reaper.h"
#include "status.h"
#include "tensorflow/c/tf_tstring.h"

namespace tfhub {

namespace {

std::vector<int64_t> DimsArg(const Napi::Value& v, uint64_t* elements) {
  Napi::Array arr = ArrayArg(v, "shape");
  std::vector<int64_t> dims(arr.Length());
  uint64_t count = 1;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    int64_t d = IntArg(arr.Get(i), "shape entry");
    if (d < 0) throw MakeCodedError(v.Env(), "ERR_INVALID_SHAPE", "shape entries must be >= 0");
    dims[i] = d;
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
      throw MakeCodedError(v.Env(), "ERR_INVALID_SHAPE", "shape is too large");
    }
    count *= static_cast<uint64_t>(d);
  }
  *elements = count;
  return dims;
}

}  // namespace

Napi::Function Tensor::Init(Napi::Env env) {
  return DefineClass(env, "Tensor",
                     {StaticMethod<&Tensor::FromData>("fromData"), StaticMethod<&Tensor::FromStrings>("fromStrings"),
                      StaticMethod<&Tensor::FromDataNoCopy>("fromDataNoCopy"), InstanceMethod<&Tensor::DType>("dtype"),
                      InstanceMethod<&Tensor::Shape>("shape"), InstanceMethod<&Tensor::ByteSize>("byteSize"),
                      InstanceMethod<&Tensor::Data>("data"), InstanceMethod<&Tensor::Strings>("strings"),
                      InstanceMethod<&Tensor::Dispose>("dispose"), InstanceMethod<&Tensor::IsDisposed>("isDisposed")});
}

Napi::Object Tensor::Wrap(Napi::Env env, TF_Tensor* tensor) {
  Addon& addon = GetAddon(env);
  return addon.tensor_class.New({Napi::External<TF_Tensor>::New(env, tensor), addon.construct_token.Value()});
}

Tensor::Tensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tensor>(info) {
  Napi::Env env = info.Env();
  Addon& addon = GetAddon(env);
  if (info.Length() != 2 || !info[0].IsExternal() || !info[1].StrictEquals(addon.construct_token.Value())) {
    throw MakeCodedTypeError(env, "ERR_ILLEGAL_CONSTRUCTOR", "use Tensor.fromData or Tensor.fromStrings");
  }
  TagObject<Tensor>(env, info.This().As<Napi::Object>());
  tensor_ = info[0].As<Napi::External<TF_Tensor>>().Data();
  reported_bytes_ = static_cast<int64_t>(tf.TF_TensorByteSize(tensor_));
  Napi::MemoryManagement::AdjustExternalMemory(env, reported_bytes_);
}

Tensor::~Tensor() {
  if (shared_array_ != nullptr) napi_delete_reference(Env(), shared_array_);
  if (tensor_ != nullptr) {
    Napi::MemoryManagement::AdjustExternalMemory(Env(), -reported_bytes_);
    tf.TF_DeleteTensor(tensor_);
    tensor_ = nullptr;
  }
}

void Tensor::Free() {
  if (shared_array_ != nullptr) {
    napi_delete_reference(Env(), shared_array_);
    shared_array_ = nullptr;
  }
  if (tensor_ == nullptr) return;
  Napi::MemoryManagement::AdjustExternalMemory(Env(), -reported_bytes_);
  tf.TF_DeleteTensor(tensor_);
  tensor_ = nullptr;
}

TF_Tensor* Tensor::Get(Napi::Env env) const {
  if (tensor_ == nullptr || dispose_requested_) throw MakeCodedError(env, "ERR_DISPOSED", "Tensor already disposed.");
  if (shared_array_ != nullptr) CheckShared(env);
  return tensor_;
}

void Tensor::CheckShared(Napi::Env env) const {
  napi_value array = nullptr;
  napi_value buffer = nullptr;
  bool detached = false;
  // The typed array is alive while TF holds its memory (the deallocator's strong reference keeps it).
  if (napi_get_reference_value(env, shared_array_, &array) != napi_ok || array == nullptr) return;
  if (napi_get_typedarray_info(env, array, nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok) return;
  if (napi_is_detached_arraybuffer(env, buffer, &detached) == napi_ok && detached) {
    throw MakeCodedError(env, "ERR_BUFFER_DETACHED",
                         "the typed array this tensor uses in place ({copy: false}) was detached (transferred); its "
                         "memory is no longer the tensor's");
  }
}

void Tensor::Unpin() {
  if (--pins_ == 0 && dispose_requested_) Free();
}

namespace {

// fromData / fromDataNoCopy arguments (dtype, shape, data), checked against each other.
struct FlatInput {
  TF_DataType dtype;
  std::vector<int64_t> dims;
  void* data = nullptr;
  size_t length = 0;
};

FlatInput ReadFlatInput(const Napi::CallbackInfo& info, bool allow_data_view) {
  Napi::Env env = info.Env();
  FlatInput in;
  int dtype = static_cast<int>(IntArg(info[0], "dtype"));
  size_t element_size = FlatElementSize(dtype);
  if (element_size == 0) throw MakeCodedTypeError(env, "ERR_INVALID_DTYPE", "dtype has no flat representation");
  in.dtype = static_cast<TF_DataType>(dtype);
  uint64_t elements = 0;
  in.dims = DimsArg(info[1], &elements);
  bool is_view = allow_data_view && info[2].IsDataView();
  if (!info[2].IsTypedArray() && !is_view)
    throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE", "data must be a TypedArray");
  // Raw napi calls: they also accept views over SharedArrayBuffers, which Napi::ArrayBuffer does not.
  napi_status s;
  if (info[2].IsTypedArray()) {
    napi_typedarray_type type;
    size_t count;
    s = napi_get_typedarray_info(env, info[2], &type, &count, &in.data, nullptr, nullptr);
    if (s == napi_ok) in.length = count * info[2].As<Napi::TypedArray>().ElementSize();
  } else {
    s = napi_get_dataview_info(env, info[2], &in.length, &in.data, nullptr, nullptr);
  }
  if (s != napi_ok) throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE", "cannot read data");
  if (elements > std::numeric_limits<size_t>::max() / element_size || elements * element_size != in.length) {
    throw MakeCodedError(env, "ERR_INVALID_DATA_LENGTH", "data byte length does not match shape and dtype");
  }
  return in;
}

}  // namespace

// fromData(dtype: number, shape: number[], data: ArrayBufferView): copies `data` into a new TF tensor.
Napi::Value Tensor::FromData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireTensorFlow(env);
  FlatInput in = ReadFlatInput(info, /*allow_data_view=*/true);
  TF_Tensor* t = tf.TF_AllocateTensor(in.dtype, in.dims.data(), static_cast<int>(in.dims.size()), in.length);
  if (t == nullptr) throw MakeCodedError(env, "ERR_ALLOCATION", "TF_AllocateTensor failed");
  if (in.length > 0) std::memcpy(tf.TF_TensorData(t), in.data, in.length);
  return Wrap(env, t);
}

namespace {

struct PinnedBuffer {
  Reaper* reaper;
  napi_ref ref;
};

// TF calls this when the last user of the buffer goes away, on whichever thread that is.
void ReleasePinned(void*, size_t, void* arg) {
  auto* pinned = static_cast<PinnedBuffer*>(arg);
  pinned->reaper->Release(pinned->ref);
  delete pinned;
}

}  // namespace

// fromDataNoCopy(dtype, shape, data: TypedArray): a tensor over the typed array's own memory (TF copies it
// itself when it is not aligned enough). The array stays referenced until TF lets go of the buffer.
Napi::Value Tensor::FromDataNoCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireTensorFlow(env);
  FlatInput in = ReadFlatInput(info, /*allow_data_view=*/false);
  if (in.length == 0 || in.data == nullptr) return FromData(info);  // nothing to share
  napi_ref ref;
  if (napi_create_reference(env, info[2], 1, &ref) != napi_ok)
    throw MakeCodedError(env, "ERR_ALLOCATION", "cannot reference data");
  auto* pinned = new PinnedBuffer{&GetReaper(env), ref};
  TF_Tensor* t = tf.TF_NewTensor(in.dtype, in.dims.data(), static_cast<int>(in.dims.size()), in.data, in.length,
                                 &ReleasePinned, pinned);
  if (t == nullptr) {
    // TF already ran the deallocator on failure paths that reach it; a null result without it would leak a ref
    // only, which the reaper cannot tell apart: accept that over a double release.
    throw MakeCodedError(env, "ERR_ALLOCATION", "TF_NewTensor failed");
  }
  bool shared = tf.TF_TensorData(t) == in.data;  // else TF copied it (not aligned enough) and let go already
  Napi::Object wrapper = Wrap(env, t);
  if (shared) {
    Tensor* self = Napi::ObjectWrap<Tensor>::Unwrap(wrapper);
    if (napi_create_reference(env, info[2], 0, &self->shared_array_) != napi_ok) self->shared_array_ = nullptr;
  }
  return wrapper;
}

// fromStrings(shape: number[], items: Uint8Array[]): a TF_STRING tensor with one TF_TString per item.
Napi::Value Tensor::FromStrings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireTensorFlow(env);
  uint64_t elements = 0;
  std::vector<int64_t> dims = DimsArg(info[0], &elements);
  Napi::Array items = ArrayArg(info[1], "strings");
  if (items.Length() != elements) {
    throw MakeCodedError(env, "ERR_INVALID_DATA_LENGTH", "number of strings does not match shape");
  }
  // Validate every item before TF memory exists, so a bad element cannot leak a half-filled tensor.
  std::vector<std::pair<const uint8_t*, size_t>> bytes(elements);
  for (uint32_t i = 0; i < elements; i++) bytes[i] = BytesArg(items.Get(i), "string element");
  TF_Tensor* t =
      tf.TF_AllocateTensor(TF_STRING, dims.data(), static_cast<int>(dims.size()), elements * sizeof(TF_TString));
  if (t == nullptr) throw MakeCodedError(env, "ERR_ALLOCATION", "TF_AllocateTensor failed");
  TF_TString* out = static_cast<TF_TString*>(tf.TF_TensorData(t));
  for (uint64_t i = 0; i < elements; i++) {
    TF_TString_Init(&out[i]);
    TF_TString_Copy(&out[i], reinterpret_cast<const char*>(bytes[i].first), bytes[i].second);
  }
  return Wrap(env, t);
}

Napi::Value Tensor::DType(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), tf.TF_TensorType(Get(info.Env())));
}

Napi::Value Tensor::Shape(const Napi::CallbackInfo& info) {
  TF_Tensor* t = Get(info.Env());
  int n = tf.TF_NumDims(t);
  Napi::Array dims = Napi::Array::New(info.Env(), n);
  for (int i = 0; i < n; i++) dims.Set(i, Napi::Number::New(info.Env(), static_cast<double>(tf.TF_Dim(t, i))));
  return dims;
}

Napi::Value Tensor::ByteSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(tf.TF_TensorByteSize(Get(info.Env()))));
}

// data(): a fresh ArrayBuffer holding a copy of the tensor's flat memory.
Napi::Value Tensor::Data(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Tensor* t = Get(env);
  if (FlatElementSize(tf.TF_TensorType(t)) == 0) {
    throw MakeCodedTypeError(env, "ERR_INVALID_DTYPE", "tensor dtype has no flat data; use strings()");
  }
  size_t n = tf.TF_TensorByteSize(t);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, n);
  if (n > 0) std::memcpy(buffer.Data(), tf.TF_TensorData(t), n);
  return buffer;
}

// strings(): the elements of a TF_STRING tensor as Buffers (raw bytes; decoding is the caller's choice).
Napi::Value Tensor::Strings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Tensor* t = Get(env);
  if (tf.TF_TensorType(t) != TF_STRING) throw MakeCodedTypeError(env, "ERR_INVALID_DTYPE", "not a string tensor");
  int64_t count = tf.TF_TensorElementCount(t);
  const TF_TString* items = static_cast<const TF_TString*>(tf.TF_TensorData(t));
  Napi::Array out = Napi::Array::New(env, static_cast<size_t>(count));
  for (int64_t i = 0; i < count; i++) {
    out.Set(static_cast<uint32_t>(i),
            Napi::Buffer<char>::Copy(env, TF_TString_GetDataPointer(&items[i]), TF_TString_GetSize(&items[i])));
  }
  return out;
}

Napi::Value Tensor::Dispose(const Napi::CallbackInfo& info) {
  dispose_requested_ = true;
  if (pins_ == 0) Free();
  return info.Env().Undefined();
}

Napi::Value Tensor::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), tensor_ == nullptr || dispose_requested_);
}

}  // namespace tfhub
