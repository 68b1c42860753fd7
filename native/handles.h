// Type-checked unwrapping of native handles: a wrong object (another class, a plain object, a forged
// prototype) becomes a TypeError instead of a reinterpretation of memory.
#pragma once

#include <cmath>
#include <string>

#include "napi_config.h"
#include "status.h"

namespace tfhub {

template <class T>
void TagObject(Napi::Env env, Napi::Object object) {
  napi_status s = napi_type_tag_object(env, object, &T::kTypeTag);
  if (s != napi_ok) throw Napi::Error::New(env, "cannot tag native handle");
}

template <class T>
bool HasTag(Napi::Value value) {
  if (!value.IsObject()) return false;
  bool matches = false;
  napi_status s = napi_check_object_type_tag(value.Env(), value, &T::kTypeTag, &matches);
  return s == napi_ok && matches;
}

// Returns the native object behind `value` or throws ERR_INVALID_HANDLE naming `what`.
template <class T>
T* UnwrapHandle(Napi::Value value, const char* what) {
  if (!HasTag<T>(value)) {
    throw MakeCodedTypeError(value.Env(), "ERR_INVALID_HANDLE",
                             std::string(what) + " must be a native " + T::kName + " handle");
  }
  return Napi::ObjectWrap<T>::Unwrap(value.As<Napi::Object>());
}

inline std::string StringArg(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw MakeCodedTypeError(v.Env(), "ERR_INVALID_ARG_TYPE", std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

inline int64_t IntArg(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw MakeCodedTypeError(v.Env(), "ERR_INVALID_ARG_TYPE", std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  // Range first: converting a double outside int64 (2**63, 1e300, ±Infinity, NaN) to int64_t is undefined.
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != std::trunc(d)) {
    throw MakeCodedTypeError(v.Env(), "ERR_INVALID_ARG_TYPE", std::string(what) + " must be an integer");
  }
  return static_cast<int64_t>(d);
}

inline Napi::Array ArrayArg(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw MakeCodedTypeError(v.Env(), "ERR_INVALID_ARG_TYPE", std::string(what) + " must be an array");
  return v.As<Napi::Array>();
}

// Bytes of a Uint8Array / Buffer argument (a view: valid while the JS value is alive and not detached).
inline std::pair<const uint8_t*, size_t> BytesArg(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw MakeCodedTypeError(v.Env(), "ERR_INVALID_ARG_TYPE", std::string(what) + " must be a Uint8Array");
  }
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return {a.Data(), a.ByteLength()};
}

}  // namespace tfhub
