// A custom op library for the tests: registers `TfhubTestSquare` (float x -> x * x, CPU) through TF's C op/kernel
// API when loaded with TF_LoadLibrary. Only c_api.h ships with tfhub-node's headers, so the few op/kernel API
// functions used are declared here (they are exported by libtensorflow_framework.so.2).
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tensorflow/c/c_api.h"

typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
typedef struct TF_ShapeInferenceContext TF_ShapeInferenceContext;
typedef struct TF_ShapeHandle TF_ShapeHandle;
typedef struct TF_KernelBuilder TF_KernelBuilder;
typedef struct TF_OpKernelConstruction TF_OpKernelConstruction;
typedef struct TF_OpKernelContext TF_OpKernelContext;

extern TF_OpDefinitionBuilder* TF_NewOpDefinitionBuilder(const char* op_name);
extern void TF_OpDefinitionBuilderAddInput(TF_OpDefinitionBuilder* builder, const char* input_spec);
extern void TF_OpDefinitionBuilderAddOutput(TF_OpDefinitionBuilder* builder, const char* output_spec);
extern void TF_OpDefinitionBuilderSetShapeInferenceFunction(
    TF_OpDefinitionBuilder* builder, void (*fn)(TF_ShapeInferenceContext* ctx, TF_Status* status));
extern void TF_RegisterOpDefinition(TF_OpDefinitionBuilder* builder, TF_Status* status);
extern TF_ShapeHandle* TF_NewShapeHandle(void);
extern void TF_DeleteShapeHandle(TF_ShapeHandle* handle);
extern void TF_ShapeInferenceContextGetInput(TF_ShapeInferenceContext* ctx, int i, TF_ShapeHandle* handle, TF_Status* status);
extern void TF_ShapeInferenceContextSetOutput(TF_ShapeInferenceContext* ctx, int i, TF_ShapeHandle* handle, TF_Status* status);
extern TF_KernelBuilder* TF_NewKernelBuilder(const char* op_name, const char* device_name,
                                             void* (*create_func)(TF_OpKernelConstruction*),
                                             void (*compute_func)(void*, TF_OpKernelContext*),
                                             void (*delete_func)(void*));
extern void TF_RegisterKernelBuilder(const char* kernel_name, TF_KernelBuilder* builder, TF_Status* status);
extern void TF_GetInput(TF_OpKernelContext* ctx, int i, TF_Tensor** tensor, TF_Status* status);
extern TF_Tensor* TF_AllocateOutput(TF_OpKernelContext* ctx, int index, TF_DataType dtype, const int64_t* dims,
                                    int num_dims, size_t len, TF_Status* status);

static void SameShape(TF_ShapeInferenceContext* ctx, TF_Status* status) {
  TF_ShapeHandle* shape = TF_NewShapeHandle();
  TF_ShapeInferenceContextGetInput(ctx, 0, shape, status);
  if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(ctx, 0, shape, status);
  TF_DeleteShapeHandle(shape);
}

static void Compute(void* kernel, TF_OpKernelContext* ctx) {
  (void)kernel;
  TF_Status* status = TF_NewStatus();
  TF_Tensor* x = NULL;
  TF_GetInput(ctx, 0, &x, status);
  if (TF_GetCode(status) == TF_OK) {
    int n = TF_NumDims(x);
    int64_t dims[8];
    for (int i = 0; i < n && i < 8; i++) dims[i] = TF_Dim(x, i);
    size_t bytes = TF_TensorByteSize(x);
    TF_Tensor* y = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, n, bytes, status);
    if (TF_GetCode(status) == TF_OK) {
      const float* in = (const float*)TF_TensorData(x);
      float* out = (float*)TF_TensorData(y);
      for (size_t i = 0; i < bytes / sizeof(float); i++) out[i] = in[i] * in[i];
    }
    if (y) TF_DeleteTensor(y);
  }
  if (x) TF_DeleteTensor(x);
  TF_DeleteStatus(status);
}

__attribute__((constructor)) static void RegisterSquare(void) {
  TF_Status* status = TF_NewStatus();
  TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("TfhubTestSquare");
  TF_OpDefinitionBuilderAddInput(op, "x: float");
  TF_OpDefinitionBuilderAddOutput(op, "y: float");
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, &SameShape);
  TF_RegisterOpDefinition(op, status);
  if (TF_GetCode(status) == TF_OK) {
    TF_KernelBuilder* kernel = TF_NewKernelBuilder("TfhubTestSquare", "CPU", NULL, &Compute, NULL);
    TF_RegisterKernelBuilder("TfhubTestSquareCPU", kernel, status);
  }
  TF_DeleteStatus(status);
}
