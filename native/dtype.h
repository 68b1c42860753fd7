// Element sizes of the numeric TF_DataTypes this binding moves between JS and TF.
#pragma once

#include <cstddef>

#include "tensorflow/c/tf_datatype.h"

namespace tfhub {

static_assert(TF_FLOAT == 1 && TF_DOUBLE == 2 && TF_INT32 == 3 && TF_UINT8 == 4 && TF_INT16 == 5 && TF_INT8 == 6 &&
                  TF_STRING == 7 && TF_COMPLEX64 == 8 && TF_INT64 == 9 && TF_BOOL == 10 && TF_BFLOAT16 == 14 &&
                  TF_UINT16 == 17 && TF_COMPLEX128 == 18 && TF_HALF == 19 && TF_RESOURCE == 20 && TF_VARIANT == 21 &&
                  TF_UINT32 == 22 && TF_UINT64 == 23,
              "TF_DataType values changed; update src/dtypes.ts too");

// Bytes per element for types whose memory is a flat array; 0 for string/resource/variant and unknown values.
constexpr size_t FlatElementSize(int dtype) {
  switch (dtype) {
    case TF_FLOAT:
    case TF_INT32:
    case TF_UINT32:
    case TF_QINT32: return 4;
    case TF_DOUBLE:
    case TF_INT64:
    case TF_UINT64:
    case TF_COMPLEX64: return 8;
    case TF_COMPLEX128: return 16;
    case TF_UINT8:
    case TF_INT8:
    case TF_BOOL:
    case TF_QINT8:
    case TF_QUINT8: return 1;
    case TF_INT16:
    case TF_UINT16:
    case TF_HALF:
    case TF_BFLOAT16:
    case TF_QINT16:
    case TF_QUINT16: return 2;
    default: return 0;
  }
}

}  // namespace tfhub
