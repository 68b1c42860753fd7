// TF_Graph and TF_Operation handles.
#pragma once

#include <memory>
#include <vector>

#include "napi_config.h"
#include "tf_api.h"

namespace tfhub {

// Shared by a Graph and everything that depends on it (sessions, operations, jobs), so that finalizers may run
// in any order (as they do at environment teardown) without touching freed memory. TF_DeleteGraph runs once
// the graph is disposed (or collected) and no session or blocking job uses it any more.
struct GraphState {
  TF_Graph* graph = nullptr;
  int sessions = 0;
  int pins = 0;
  bool dispose_requested = false;
  ~GraphState();
  void MaybeFree();
  void Unpin() {
    --pins;
    MaybeFree();
  }
  void RemoveSession() {
    --sessions;
    MaybeFree();
  }
};
using GraphStatePtr = std::shared_ptr<GraphState>;

class Graph : public Napi::ObjectWrap<Graph> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x1f0e6a3c7d9b4e22ULL, 0x83a1d5c2b4e6f702ULL};
  static constexpr const char* kName = "Graph";

  static Napi::Function Init(Napi::Env env);
  explicit Graph(const Napi::CallbackInfo& info);
  ~Graph() override;

  TF_Graph* Get(Napi::Env env) const;
  // For reads: also after dispose() while sessions keep the graph alive.
  TF_Graph* GetForRead(Napi::Env env) const;
  const GraphStatePtr& state() const { return state_; }

 private:
  Napi::Value OperationByName(const Napi::CallbackInfo& info);
  Napi::Value Operations(const Napi::CallbackInfo& info);
  Napi::Value AddOperation(const Napi::CallbackInfo& info);
  Napi::Value ImportGraphDef(const Napi::CallbackInfo& info);
  Napi::Value ImportGraphDefAsync(const Napi::CallbackInfo& info);
  Napi::Value ToGraphDef(const Napi::CallbackInfo& info);
  Napi::Value OpDef(const Napi::CallbackInfo& info);
  Napi::Value TensorShape(const Napi::CallbackInfo& info);
  Napi::Value SetTensorShape(const Napi::CallbackInfo& info);
  Napi::Value UpdateEdge(const Napi::CallbackInfo& info);
  Napi::Value SetControlInputs(const Napi::CallbackInfo& info);
  Napi::Value AddGradients(const Napi::CallbackInfo& info);
  Napi::Value ImportFunctionDef(const Napi::CallbackInfo& info);
  Napi::Value FunctionDefs(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);

  GraphStatePtr state_;
};

// The graph, for changes: throws ERR_DISPOSED once dispose() was called.
TF_Graph* LiveGraph(Napi::Env env, const GraphState& state);
// The graph, for reads and runs: throws ERR_DISPOSED only once it is freed. A disposed graph that sessions still
// use stays readable (and runnable through them) until the last session closes.
TF_Graph* ReadableGraph(Napi::Env env, const GraphState& state);

class Operation : public Napi::ObjectWrap<Operation> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x5a7c2e9d1b3f4a33ULL, 0xc4b2e6a8d0f1e803ULL};
  static constexpr const char* kName = "Operation";

  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, Napi::Object graph, TF_Operation* op);
  explicit Operation(const Napi::CallbackInfo& info);

  // The operation, checked to belong to `graph` (mixing graphs would corrupt TF's state).
  TF_Operation* Get(Napi::Env env, const GraphState* graph) const;
  TF_Operation* Get(Napi::Env env) const;

 private:
  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value Type(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value NumOutputs(const Napi::CallbackInfo& info);
  Napi::Value NumInputs(const Napi::CallbackInfo& info);
  Napi::Value OutputType(const Napi::CallbackInfo& info);
  Napi::Value Input(const Napi::CallbackInfo& info);
  Napi::Value ControlInputs(const Napi::CallbackInfo& info);
  Napi::Value ControlOutputs(const Napi::CallbackInfo& info);
  Napi::Value Consumers(const Napi::CallbackInfo& info);
  Napi::Value AttrValue(const Napi::CallbackInfo& info);
  Napi::Value NodeDef(const Napi::CallbackInfo& info);
  Napi::Value GraphHandle(const Napi::CallbackInfo& info);
  int OutputIndexArg(const Napi::Value& v, TF_Operation* op) const;

  TF_Operation* op_ = nullptr;
  GraphStatePtr state_;
  Napi::ObjectReference graph_ref_;  // so that op.graph() answers while the op is reachable
};

// [Operation, index] pairs <-> TF_Output, checked against the graph.
TF_Output OutputArg(Napi::Env env, const Napi::Value& pair, const GraphState* graph, const char* what);
Napi::Value OutputPair(Napi::Env env, Napi::Object graph, TF_Output out);

}  // namespace tfhub
