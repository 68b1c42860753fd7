/* The benchmark MLP's input, shared by bench/c/mlp_bench.c and bench/node/probe.c (both compiled by
 * bench/run.js): 256 features, and the deterministic values every implementation feeds,
 * x[i] = ((i * 37) % 101) / 101 - 0.5. */
#ifndef TFHUB_BENCH_MLP_INPUT_H
#define TFHUB_BENCH_MLP_INPUT_H

#include <stdint.h>

#include "tensorflow/c/c_api.h"

#define FEATURES 256

static TF_Tensor* make_input(int batch) {
  int64_t dims[2] = {batch, FEATURES};
  TF_Tensor* t = TF_AllocateTensor(TF_FLOAT, dims, 2, sizeof(float) * (size_t)batch * FEATURES);
  float* p = (float*)TF_TensorData(t);
  for (int i = 0; i < batch * FEATURES; i++) p[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
  return t;
}

#endif
