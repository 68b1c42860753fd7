// The TensorFlow C API, bound at run time.
//
// The addon never links libtensorflow: LoadTensorFlow() dlopens the library chosen by the TypeScript loader
// (install record or TFHUB_NODE_LIBTENSORFLOW), so one compiled addon runs against a CPU wheel, an official
// libtensorflow archive or a CUDA build. Each entry has the exact type of its header declaration (decltype), so
// calls stay type-checked.
#pragma once

#include <string>

#include "tensorflow/c/c_api.h"
#include "tensorflow/c/c_api_experimental.h"

// The X(...) list is laid out by hand (clang-format cannot lay out this macro).
// clang-format off
#define TFHUB_TF_FUNCTIONS(X)                                                                            \
  X(TF_Version) X(TF_NewBuffer) X(TF_NewStatus) X(TF_DeleteStatus) X(TF_GetCode) X(TF_Message) X(TF_NewBufferFromString) \
  X(TF_DeleteBuffer) X(TF_DataTypeSize)                                                                  \
  /* tensors */                                                                                          \
  X(TF_AllocateTensor) X(TF_NewTensor) X(TF_DeleteTensor) X(TF_TensorType) X(TF_NumDims) X(TF_Dim)       \
  X(TF_TensorByteSize) X(TF_TensorData) X(TF_TensorElementCount)                                         \
  /* graphs */                                                                                           \
  X(TF_NewGraph) X(TF_DeleteGraph) X(TF_GraphOperationByName) X(TF_GraphNextOperation)                   \
  X(TF_GraphToGraphDef) X(TF_GraphGetOpDef) X(TF_GraphGetTensorNumDims) X(TF_GraphGetTensorShape)        \
  X(TF_GraphSetTensorShape) X(TF_UpdateEdge) X(TF_RemoveAllControlInputs) X(TF_AddOperationControlInput)  \
  /* building operations */                                                                              \
  X(TF_NewOperation) X(TF_SetDevice) X(TF_AddInput) X(TF_AddInputList) X(TF_AddControlInput)             \
  X(TF_ColocateWith) X(TF_SetAttrValueProto) X(TF_SetAttrTensor) X(TF_SetAttrTensorList)                 \
  X(TF_FinishOperation)                                                                                  \
  /* reading operations */                                                                               \
  X(TF_OperationName) X(TF_OperationOpType) X(TF_OperationDevice) X(TF_OperationNumOutputs)              \
  X(TF_OperationOutputType) X(TF_OperationNumInputs) X(TF_OperationInput) X(TF_OperationNumControlInputs) \
  X(TF_OperationGetControlInputs) X(TF_OperationOutputNumConsumers) X(TF_OperationOutputConsumers)       \
  X(TF_OperationGetAttrValueProto) X(TF_OperationToNodeDef) X(TF_OperationNumControlOutputs)             \
  X(TF_OperationGetControlOutputs)                                                                       \
  /* import */                                                                                           \
  X(TF_NewImportGraphDefOptions) X(TF_DeleteImportGraphDefOptions) X(TF_ImportGraphDefOptionsSetPrefix)  \
  X(TF_ImportGraphDefOptionsSetDefaultDevice) X(TF_ImportGraphDefOptionsSetUniquifyNames)                \
  X(TF_ImportGraphDefOptionsSetUniquifyPrefix) X(TF_ImportGraphDefOptionsAddInputMapping)                \
  X(TF_ImportGraphDefOptionsRemapControlDependency) X(TF_ImportGraphDefOptionsAddControlDependency)      \
  X(TF_ImportGraphDefOptionsAddReturnOutput) X(TF_ImportGraphDefOptionsAddReturnOperation)               \
  X(TF_GraphImportGraphDefWithResults) X(TF_ImportGraphDefResultsReturnOutputs)                          \
  X(TF_ImportGraphDefResultsReturnOperations) X(TF_ImportGraphDefResultsMissingUnusedInputMappings)      \
  X(TF_DeleteImportGraphDefResults)                                                                      \
  /* gradients and functions */                                                                          \
  X(TF_AddGradientsWithPrefix) X(TF_FunctionImportFunctionDef) X(TF_GraphCopyFunction) X(TF_DeleteFunction) \
  X(TF_GraphNumFunctions) X(TF_GraphGetFunctions) X(TF_FunctionToFunctionDef)                            \
  /* sessions */                                                                                         \
  X(TF_NewSessionOptions) X(TF_DeleteSessionOptions) X(TF_SetTarget) X(TF_SetConfig) X(TF_EnableXLACompilation) X(TF_NewSession)    \
  X(TF_CloseSession) X(TF_DeleteSession) X(TF_SessionRun) X(TF_SessionListDevices) X(TF_DeleteDeviceList) \
  X(TF_DeviceListCount) X(TF_DeviceListName) X(TF_DeviceListType) X(TF_DeviceListMemoryBytes)            \
  /* op registry and libraries */                                                                        \
  X(TF_LoadLibrary) X(TF_GetOpList) X(TF_DeleteLibraryHandle) X(TF_GetAllOpList)                      \
  /* in-process servers */                                                                               \
  X(TF_NewServer) X(TF_ServerStart) X(TF_ServerStop) X(TF_ServerJoin) X(TF_ServerTarget) X(TF_DeleteServer)
// clang-format on

namespace tfhub {

struct TfApi {
#define TFHUB_DECLARE_ENTRY(name) decltype(&::name) name = nullptr;
  TFHUB_TF_FUNCTIONS(TFHUB_DECLARE_ENTRY)
#undef TFHUB_DECLARE_ENTRY
};

// Process-wide: the dynamic loader itself is process-wide, so is this table.
extern TfApi tf;

// Loads `path` once per process. Returns "" on success, else a message naming the path and the missing piece.
// A second call with another path fails: two libtensorflows cannot coexist in one process.
std::string LoadTensorFlow(const std::string& path);
bool TensorFlowLoaded();
const std::string& LoadedTensorFlowPath();

}  // namespace tfhub
