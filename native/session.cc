#include "session.h"

#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "graph.h"
#include "handles.h"
#include "status.h"
#include "tensor.h"
#include "thread_priority.h"

namespace tfhub {

namespace {

// Everything one TF_SessionRun needs, read from JS on the JS thread.
//   run(inputOps, inputIndices, inputTensors, outputOps, outputIndices, targetOps, runOptions | null,
//       wantMetadata?: boolean)
// With wantMetadata the result array carries the serialized RunMetadata as its `metadata` property.
struct RunSpec {
  std::vector<TF_Output> inputs;
  std::vector<TF_Tensor*> input_values;
  std::vector<Tensor*> input_wrappers;
  std::vector<TF_Output> outputs;
  std::vector<TF_Operation*> targets;
  std::string run_options;
  bool has_run_options = false;
  bool want_metadata = false;

  void Read(const Napi::CallbackInfo& info, const GraphState* graph) {
    Napi::Env env = info.Env();
    Napi::Array in_ops = ArrayArg(info[0], "input operations");
    Napi::Array in_tensors = ArrayArg(info[2], "input tensors");
    Napi::Array out_ops = ArrayArg(info[3], "output operations");
    Napi::Array target_ops = ArrayArg(info[5], "targets");
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        !info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE", "output indices must be Int32Arrays");
    }
    Napi::Int32Array in_idx = info[1].As<Napi::Int32Array>();
    Napi::Int32Array out_idx = info[4].As<Napi::Int32Array>();
    if (in_idx.ElementLength() != in_ops.Length() || in_tensors.Length() != in_ops.Length() ||
        out_idx.ElementLength() != out_ops.Length()) {
      throw MakeCodedError(env, "ERR_INVALID_ARG_VALUE", "run argument lengths differ");
    }
    uint32_t n_in = in_ops.Length();
    inputs.resize(n_in);
    input_values.resize(n_in);
    input_wrappers.resize(n_in);
    for (uint32_t i = 0; i < n_in; i++) {
      TF_Operation* op = UnwrapHandle<Operation>(in_ops.Get(i), "feed")->Get(env, graph);
      int index = in_idx[i];
      if (index < 0 || index >= tf.TF_OperationNumOutputs(op))
        throw MakeCodedError(env, "ERR_OUT_OF_RANGE",
                             std::string("feed '") + tf.TF_OperationName(op) + "': no output " + std::to_string(index));
      inputs[i] = TF_Output{op, index};
      input_wrappers[i] = UnwrapHandle<Tensor>(in_tensors.Get(i), "feed value");
      input_values[i] = input_wrappers[i]->Get(env);
    }
    uint32_t n_out = out_ops.Length();
    outputs.resize(n_out);
    for (uint32_t i = 0; i < n_out; i++) {
      TF_Operation* op = UnwrapHandle<Operation>(out_ops.Get(i), "fetch")->Get(env, graph);
      int index = out_idx[i];
      if (index < 0 || index >= tf.TF_OperationNumOutputs(op))
        throw MakeCodedError(
            env, "ERR_OUT_OF_RANGE",
            std::string("fetch '") + tf.TF_OperationName(op) + "': no output " + std::to_string(index));
      outputs[i] = TF_Output{op, index};
    }
    targets.resize(target_ops.Length());
    for (uint32_t i = 0; i < target_ops.Length(); i++)
      targets[i] = UnwrapHandle<Operation>(target_ops.Get(i), "target")->Get(env, graph);
    if (info.Length() > 6 && info[6].IsTypedArray()) {
      auto bytes = BytesArg(info[6], "runOptions");
      run_options.assign(reinterpret_cast<const char*>(bytes.first), bytes.second);
      has_run_options = true;
    }
    want_metadata = info.Length() > 7 && info[7].IsBoolean() && info[7].As<Napi::Boolean>().Value();
  }
};

// The blocking call itself; identical for run and runSync.
struct RunResult {
  std::vector<TF_Tensor*> values;
  StatusRecord status;
  TF_Buffer* metadata = nullptr;

  void Execute(TF_Session* session, const RunSpec& spec) {
    values.assign(spec.outputs.size(), nullptr);
    if (spec.want_metadata) metadata = tf.TF_NewBuffer();
    TF_Buffer options{spec.run_options.data(), spec.run_options.size(), nullptr};
    Status s;
    tf.TF_SessionRun(session, spec.has_run_options ? &options : nullptr, spec.inputs.data(), spec.input_values.data(),
                     static_cast<int>(spec.inputs.size()), spec.outputs.data(), values.data(),
                     static_cast<int>(spec.outputs.size()), spec.targets.data(), static_cast<int>(spec.targets.size()),
                     metadata, s);
    status.Capture(s);
  }

  ~RunResult() {
    if (metadata != nullptr) tf.TF_DeleteBuffer(metadata);
    for (TF_Tensor* t : values) {
      if (t != nullptr) tf.TF_DeleteTensor(t);
    }
  }

  // Hands every output tensor to a JS Tensor (ownership moves) or throws the run's error.
  Napi::Value ToJs(Napi::Env env) {
    if (!status.ok()) throw MakeTfError(env, status.code, status.message);
    Napi::Array out = Napi::Array::New(env, values.size());
    for (size_t i = 0; i < values.size(); i++) {
      if (values[i] == nullptr) {
        out.Set(static_cast<uint32_t>(i), env.Null());
        continue;
      }
      TF_Tensor* t = values[i];
      values[i] = nullptr;
      out.Set(static_cast<uint32_t>(i), Tensor::Wrap(env, t));
    }
    if (metadata != nullptr) {
      Napi::Uint8Array bytes = Napi::Uint8Array::New(env, metadata->length);
      if (metadata->length > 0) memcpy(bytes.Data(), metadata->data, metadata->length);
      out.Set("metadata", bytes);
    }
    return out;
  }
};

class RunJob : public Job {
 public:
  RunJob(Napi::Env env, Session* session, Napi::Object session_obj, RunSpec spec, Napi::Array input_tensors)
      : deferred_(Napi::Promise::Deferred::New(env)), session_(session), spec_(std::move(spec)) {
    session_ref_ = Napi::Persistent(session_obj);
    inputs_ref_ = Napi::Persistent(input_tensors.As<Napi::Object>());
    tf_session_ = session->Get(env);
    session_->RunStarted();
    for (Tensor* t : spec_.input_wrappers) t->Pin();
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override { result_.Execute(tf_session_, spec_); }
  // Shutdown (process exit, worker termination): TF_CloseSession cancels the step in flight, so that the
  // run returns (CANCELLED) after its current kernel instead of racing with the environment's teardown.
  void Cancel() override {
    Status s;
    tf.TF_CloseSession(tf_session_, s);
  }
  void Complete(Napi::Env env) override {
    for (Tensor* t : spec_.input_wrappers) t->Unpin();
    session_->RunFinished();
    try {
      deferred_.Resolve(result_.ToJs(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Session* session_;
  TF_Session* tf_session_;
  Napi::ObjectReference session_ref_;  // keeps session, and through it the graph, alive
  Napi::ObjectReference inputs_ref_;   // keeps the fed tensors alive
  RunSpec spec_;
  RunResult result_;
};

}  // namespace

Napi::Function Session::Init(Napi::Env env) {
  return DefineClass(env, "Session",
                     {InstanceMethod<&Session::Run>("run"), InstanceMethod<&Session::RunSync>("runSync"),
                      InstanceMethod<&Session::ListDevices>("listDevices"), InstanceMethod<&Session::Close>("close"),
                      InstanceMethod<&Session::IsClosed>("isClosed")});
}

// new Session(graph, configProto: Uint8Array | null, target: string | null, jit?: boolean)
// jit: TF_EnableXLACompilation (global_jit_level ON_1, and the process-wide flags that let XLA cluster CPU ops).
Session::Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info) {
  Napi::Env env = info.Env();
  RequireTensorFlow(env);
  TagObject<Session>(env, info.This().As<Napi::Object>());
  graph_ = UnwrapHandle<Graph>(info[0], "graph")->state();
  TF_Graph* g = LiveGraph(env, *graph_);
  TF_SessionOptions* opts = tf.TF_NewSessionOptions();
  Status s;
  if (info.Length() > 1 && info[1].IsTypedArray()) {
    auto bytes = BytesArg(info[1], "config");
    tf.TF_SetConfig(opts, bytes.first, bytes.second, s);
  }
  if (s.ok() && info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value()) {
    tf.TF_EnableXLACompilation(opts, 1);
  }
  if (s.ok() && info.Length() > 2 && info[2].IsString()) {
    std::string target = info[2].As<Napi::String>().Utf8Value();
    tf.TF_SetTarget(opts, target.c_str());
  }
  // The thread pools TF builds with the process's first session (and a session's own, usePerSessionThreads)
  // inherit the priority of the thread that creates them: TFHUB_NODE_WORKER_NICE lowers it.
  if (s.ok()) RunAtWorkerPriority([&] { session_ = tf.TF_NewSession(g, opts, s); });
  tf.TF_DeleteSessionOptions(opts);
  ThrowIfNotOk(env, s);
  ++graph_->sessions;
}

Session::~Session() {
  Free();
}

void Session::Free() {
  if (session_ == nullptr) return;
  Status s;
  tf.TF_CloseSession(session_, s);
  tf.TF_DeleteSession(session_, s);
  session_ = nullptr;
  graph_->RemoveSession();
}

TF_Session* Session::Get(Napi::Env env) const {
  if (session_ == nullptr || close_requested_) throw MakeCodedError(env, "ERR_DISPOSED", "Session already closed.");
  return session_;
}

void Session::RunFinished() {
  if (--active_runs_ == 0 && close_requested_) Free();
}

Napi::Value Session::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Get(env);
  if (GetAddon(env).executor->stopping())
    throw MakeCodedError(env, "ERR_DISPOSED", "the process is exiting: no new runs");
  RunSpec spec;
  spec.Read(info, graph_.get());
  auto* job = new RunJob(env, this, info.This().As<Napi::Object>(), std::move(spec), info[2].As<Napi::Array>());
  Napi::Promise promise = job->Promise();
  Executor& executor = *GetAddon(env).executor;
  executor.Submit(env, job);
  executor.SettleIfDone(env, job);
  return promise;
}

Napi::Value Session::RunSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Session* session = Get(env);
  RunSpec spec;
  spec.Read(info, graph_.get());
  RunResult result;
  result.Execute(session, spec);
  return result.ToJs(env);
}

Napi::Value Session::ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Status s;
  TF_DeviceList* list = tf.TF_SessionListDevices(Get(env), s);
  ThrowIfNotOk(env, s);
  int n = tf.TF_DeviceListCount(list);
  Napi::Array out = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) {
    Napi::Object d = Napi::Object::New(env);
    Status ds;
    const char* name = tf.TF_DeviceListName(list, i, ds);
    const char* type = tf.TF_DeviceListType(list, i, ds);
    int64_t mem = tf.TF_DeviceListMemoryBytes(list, i, ds);
    d.Set("name", Napi::String::New(env, name ? name : ""));
    d.Set("type", Napi::String::New(env, type ? type : ""));
    d.Set("memoryBytes", Napi::Number::New(env, static_cast<double>(mem)));
    out.Set(i, d);
  }
  tf.TF_DeleteDeviceList(list);
  return out;
}

// close(): immediate when idle, otherwise when the last in-flight run settles. New runs fail at once.
Napi::Value Session::Close(const Napi::CallbackInfo& info) {
  close_requested_ = true;
  if (active_runs_ == 0) Free();
  return info.Env().Undefined();
}

Napi::Value Session::IsClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), session_ == nullptr || close_requested_);
}

}  // namespace tfhub
