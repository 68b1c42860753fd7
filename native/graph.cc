#include "graph.h"

#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "handles.h"
#include "status.h"
#include "tensor.h"

namespace tfhub {

namespace {

struct BufferDeleter {
  void operator()(TF_Buffer* b) const { tf.TF_DeleteBuffer(b); }
};
using BufferPtr = std::unique_ptr<TF_Buffer, BufferDeleter>;

Napi::Value BufferToJs(Napi::Env env, const TF_Buffer* b) {
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(b->data), b->length);
}

BufferPtr NewBuffer() {
  return BufferPtr(tf.TF_NewBuffer());
}

}  // namespace

TF_Output OutputArg(Napi::Env env, const Napi::Value& pair, const GraphState* graph, const char* what) {
  if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) {
    throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE", std::string(what) + " must be an [Operation, index] pair");
  }
  Napi::Array arr = pair.As<Napi::Array>();
  Operation* op = UnwrapHandle<Operation>(arr.Get(0u), what);
  TF_Operation* oper = op->Get(env, graph);
  int64_t index = IntArg(arr.Get(1u), what);
  int n = tf.TF_OperationNumOutputs(oper);
  if (index < 0 || index >= n) {
    throw MakeCodedError(env, "ERR_OUT_OF_RANGE",
                         std::string(what) + ": operation '" + tf.TF_OperationName(oper) + "' has " +
                             std::to_string(n) + " outputs, no output " + std::to_string(index));
  }
  return TF_Output{oper, static_cast<int>(index)};
}

Napi::Value OutputPair(Napi::Env env, Napi::Object graph, TF_Output out) {
  if (out.oper == nullptr) return env.Null();
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Operation::Wrap(env, graph, out.oper));
  pair.Set(1u, Napi::Number::New(env, out.index));
  return pair;
}

// ---------------------------------------------------------------------------------------------- Graph

Napi::Function Graph::Init(Napi::Env env) {
  return DefineClass(
      env, "Graph",
      {InstanceMethod<&Graph::OperationByName>("operationByName"), InstanceMethod<&Graph::Operations>("operations"),
       InstanceMethod<&Graph::AddOperation>("addOperation"), InstanceMethod<&Graph::ImportGraphDef>("importGraphDef"),
       InstanceMethod<&Graph::ImportGraphDefAsync>("importGraphDefAsync"),
       InstanceMethod<&Graph::ToGraphDef>("toGraphDef"), InstanceMethod<&Graph::OpDef>("opDef"),
       InstanceMethod<&Graph::TensorShape>("tensorShape"), InstanceMethod<&Graph::SetTensorShape>("setTensorShape"),
       InstanceMethod<&Graph::UpdateEdge>("updateEdge"), InstanceMethod<&Graph::SetControlInputs>("setControlInputs"),
       InstanceMethod<&Graph::AddGradients>("addGradients"),
       InstanceMethod<&Graph::ImportFunctionDef>("importFunctionDef"),
       InstanceMethod<&Graph::FunctionDefs>("functionDefs"), InstanceMethod<&Graph::Dispose>("dispose"),
       InstanceMethod<&Graph::IsDisposed>("isDisposed")});
}

GraphState::~GraphState() {
  if (graph != nullptr) tf.TF_DeleteGraph(graph);
}

void GraphState::MaybeFree() {
  if (graph != nullptr && dispose_requested && sessions == 0 && pins == 0) {
    tf.TF_DeleteGraph(graph);
    graph = nullptr;
  }
}

TF_Graph* LiveGraph(Napi::Env env, const GraphState& state) {
  if (state.graph == nullptr || state.dispose_requested)
    throw MakeCodedError(env, "ERR_DISPOSED", "Graph already disposed.");
  return state.graph;
}

Graph::Graph(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Graph>(info), state_(std::make_shared<GraphState>()) {
  RequireTensorFlow(info.Env());
  TagObject<Graph>(info.Env(), info.This().As<Napi::Object>());
  state_->graph = tf.TF_NewGraph();
}

Graph::~Graph() {
  state_->dispose_requested = true;
  state_->MaybeFree();
}

TF_Graph* ReadableGraph(Napi::Env env, const GraphState& state) {
  if (state.graph == nullptr) throw MakeCodedError(env, "ERR_DISPOSED", "Graph already disposed.");
  return state.graph;
}

TF_Graph* Graph::Get(Napi::Env env) const {
  return LiveGraph(env, *state_);
}
TF_Graph* Graph::GetForRead(Napi::Env env) const {
  return ReadableGraph(env, *state_);
}

Napi::Value Graph::Dispose(const Napi::CallbackInfo& info) {
  // Sessions and in-flight imports still use the graph: it is freed when the last of them lets go.
  state_->dispose_requested = true;
  state_->MaybeFree();
  return info.Env().Undefined();
}

Napi::Value Graph::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), state_->graph == nullptr || state_->dispose_requested);
}

Napi::Value Graph::OperationByName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info[0], "name");
  TF_Operation* op = tf.TF_GraphOperationByName(GetForRead(env), name.c_str());
  if (op == nullptr) return env.Null();
  return Operation::Wrap(env, info.This().As<Napi::Object>(), op);
}

Napi::Value Graph::Operations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = GetForRead(env);
  Napi::Array out = Napi::Array::New(env);
  size_t pos = 0;
  uint32_t i = 0;
  while (TF_Operation* op = tf.TF_GraphNextOperation(g, &pos))
    out.Set(i++, Operation::Wrap(env, info.This().As<Napi::Object>(), op));
  return out;
}

// addOperation(type, name, inputs, attrs, device, controlInputs, colocateWith)
//   inputs: ([Operation, index] | [Operation, index][])[]   (a nested array is a list input)
//   attrs:  [name, 'proto', Uint8Array (AttrValue)] | [name, 'tensor', Tensor] | [name, 'tensors', Tensor[]]
Napi::Value Graph::AddOperation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = Get(env);
  std::string type = StringArg(info[0], "type");
  std::string name = StringArg(info[1], "name");

  // Everything is validated before TF_NewOperation: a started description cannot be abandoned.
  struct InputSpec {
    bool is_list;
    std::vector<TF_Output> outputs;
  };
  std::vector<InputSpec> inputs;
  Napi::Array in = ArrayArg(info[2], "inputs");
  for (uint32_t i = 0; i < in.Length(); i++) {
    Napi::Value item = in.Get(i);
    if (!item.IsArray()) throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE", "each input must be an array");
    Napi::Array arr = item.As<Napi::Array>();
    bool single = arr.Length() == 2 && HasTag<Operation>(arr.Get(0u));
    InputSpec spec{!single, {}};
    if (single) {
      spec.outputs.push_back(OutputArg(env, item, state_.get(), "input"));
    } else {
      for (uint32_t j = 0; j < arr.Length(); j++)
        spec.outputs.push_back(OutputArg(env, arr.Get(j), state_.get(), "list input"));
    }
    inputs.push_back(std::move(spec));
  }

  struct AttrSpec {
    std::string name;
    std::string kind;
    std::string proto;
    std::vector<TF_Tensor*> tensors;
  };
  std::vector<AttrSpec> attrs;
  Napi::Array at = ArrayArg(info[3], "attrs");
  for (uint32_t i = 0; i < at.Length(); i++) {
    Napi::Array entry = ArrayArg(at.Get(i), "attr");
    AttrSpec spec{StringArg(entry.Get(0u), "attr name"), StringArg(entry.Get(1u), "attr kind"), {}, {}};
    Napi::Value value = entry.Get(2u);
    if (spec.kind == "proto") {
      auto bytes = BytesArg(value, "attr value");
      spec.proto.assign(reinterpret_cast<const char*>(bytes.first), bytes.second);
    } else if (spec.kind == "tensor") {
      spec.tensors.push_back(UnwrapHandle<Tensor>(value, "attr tensor")->Get(env));
    } else if (spec.kind == "tensors") {
      Napi::Array list = ArrayArg(value, "attr tensors");
      for (uint32_t j = 0; j < list.Length(); j++)
        spec.tensors.push_back(UnwrapHandle<Tensor>(list.Get(j), "attr tensor")->Get(env));
    } else {
      throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE", "unknown attr kind " + spec.kind);
    }
    attrs.push_back(std::move(spec));
  }
  std::string device = info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
  std::vector<TF_Operation*> control;
  if (info[5].IsArray()) {
    Napi::Array c = info[5].As<Napi::Array>();
    for (uint32_t i = 0; i < c.Length(); i++)
      control.push_back(UnwrapHandle<Operation>(c.Get(i), "control input")->Get(env, state_.get()));
  }
  std::vector<TF_Operation*> colocate;
  if (info[6].IsArray()) {
    Napi::Array c = info[6].As<Napi::Array>();
    for (uint32_t i = 0; i < c.Length(); i++)
      colocate.push_back(UnwrapHandle<Operation>(c.Get(i), "colocateWith")->Get(env, state_.get()));
  }

  TF_OperationDescription* desc = tf.TF_NewOperation(g, type.c_str(), name.c_str());
  for (auto& spec : inputs) {
    if (spec.is_list)
      tf.TF_AddInputList(desc, spec.outputs.data(), static_cast<int>(spec.outputs.size()));
    else
      tf.TF_AddInput(desc, spec.outputs[0]);
  }
  StatusRecord attr_error;
  for (auto& spec : attrs) {
    Status s;
    if (spec.kind == "proto")
      tf.TF_SetAttrValueProto(desc, spec.name.c_str(), spec.proto.data(), spec.proto.size(), s);
    else if (spec.kind == "tensor")
      tf.TF_SetAttrTensor(desc, spec.name.c_str(), spec.tensors[0], s);
    else
      tf.TF_SetAttrTensorList(desc, spec.name.c_str(), spec.tensors.data(), static_cast<int>(spec.tensors.size()), s);
    if (!s.ok() && attr_error.ok()) {
      attr_error.code = s.code();
      attr_error.message = "attr '" + spec.name + "' of " + type + " '" + name + "': " + s.message();
    }
  }
  if (!device.empty()) tf.TF_SetDevice(desc, device.c_str());
  for (TF_Operation* c : control) tf.TF_AddControlInput(desc, c);
  for (TF_Operation* c : colocate) tf.TF_ColocateWith(desc, c);
  Status status;
  // Always finish: it is the only way to release the description, even after an attr error.
  TF_Operation* op = tf.TF_FinishOperation(desc, status);
  if (!attr_error.ok()) throw MakeTfError(env, attr_error.code, attr_error.message);
  ThrowIfNotOk(env, status);
  return Operation::Wrap(env, info.This().As<Napi::Object>(), op);
}

namespace {

// Import options read from JS on the JS thread; applied to a TF_ImportGraphDefOptions on any thread.
struct ImportSpec {
  std::string graph_def;
  std::string prefix;
  std::string default_device;
  bool uniquify_names = false;
  bool uniquify_prefix = false;
  struct Mapping {
    std::string src_name;
    int src_index;
    TF_Output dst;
  };
  std::vector<Mapping> input_map;
  std::vector<std::pair<std::string, TF_Operation*>> control_remap;
  std::vector<TF_Operation*> control_deps;
  std::vector<std::pair<std::string, int>> return_outputs;
  std::vector<std::string> return_operations;

  void Read(Napi::Env env, const Napi::Value& bytes, const Napi::Value& options, const GraphState* graph) {
    auto b = BytesArg(bytes, "graphDef");
    graph_def.assign(reinterpret_cast<const char*>(b.first), b.second);
    if (!options.IsObject()) return;
    Napi::Object o = options.As<Napi::Object>();
    if (o.Has("prefix") && !o.Get("prefix").IsUndefined()) prefix = StringArg(o.Get("prefix"), "prefix");
    if (o.Has("defaultDevice") && !o.Get("defaultDevice").IsUndefined())
      default_device = StringArg(o.Get("defaultDevice"), "defaultDevice");
    uniquify_names = o.Get("uniquifyNames").ToBoolean();
    uniquify_prefix = o.Get("uniquifyPrefix").ToBoolean();
    if (o.Get("inputMap").IsArray()) {
      Napi::Array m = o.Get("inputMap").As<Napi::Array>();
      for (uint32_t i = 0; i < m.Length(); i++) {
        Napi::Array e = ArrayArg(m.Get(i), "inputMap entry");
        if (e.Length() != 3)
          throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE",
                                   "inputMap entries are [name, index, [Operation, index]]");
        int64_t idx = IntArg(e.Get(1u), "inputMap source index");
        if (idx < -1 || idx > INT32_MAX)
          throw MakeCodedError(env, "ERR_OUT_OF_RANGE", "inputMap source index out of range");
        input_map.push_back({StringArg(e.Get(0u), "inputMap source name"), static_cast<int>(idx),
                             OutputArg(env, e.Get(2u), graph, "inputMap target")});
      }
    }
    if (o.Get("controlRemap").IsArray()) {
      Napi::Array m = o.Get("controlRemap").As<Napi::Array>();
      for (uint32_t i = 0; i < m.Length(); i++) {
        Napi::Array e = ArrayArg(m.Get(i), "controlRemap entry");
        control_remap.emplace_back(StringArg(e.Get(0u), "controlRemap source"),
                                   UnwrapHandle<Operation>(e.Get(1u), "controlRemap target")->Get(env, graph));
      }
    }
    if (o.Get("controlDependencies").IsArray()) {
      Napi::Array m = o.Get("controlDependencies").As<Napi::Array>();
      for (uint32_t i = 0; i < m.Length(); i++)
        control_deps.push_back(UnwrapHandle<Operation>(m.Get(i), "controlDependencies")->Get(env, graph));
    }
    if (o.Get("returnOutputs").IsArray()) {
      Napi::Array m = o.Get("returnOutputs").As<Napi::Array>();
      for (uint32_t i = 0; i < m.Length(); i++) {
        Napi::Array e = ArrayArg(m.Get(i), "returnOutputs entry");
        int64_t idx = IntArg(e.Get(1u), "returnOutputs index");
        if (idx < 0 || idx > INT32_MAX)
          throw MakeCodedError(env, "ERR_OUT_OF_RANGE", "returnOutputs index out of range");
        return_outputs.emplace_back(StringArg(e.Get(0u), "returnOutputs name"), static_cast<int>(idx));
      }
    }
    if (o.Get("returnOperations").IsArray()) {
      Napi::Array m = o.Get("returnOperations").As<Napi::Array>();
      for (uint32_t i = 0; i < m.Length(); i++)
        return_operations.push_back(StringArg(m.Get(i), "returnOperations entry"));
    }
  }
};

// Runs the import; results stay in `results` (owned) for the JS thread to wrap.
struct ImportRun {
  TF_ImportGraphDefResults* results = nullptr;
  StatusRecord status;

  void Execute(TF_Graph* g, const ImportSpec& spec) {
    TF_ImportGraphDefOptions* opts = tf.TF_NewImportGraphDefOptions();
    tf.TF_ImportGraphDefOptionsSetPrefix(opts, spec.prefix.c_str());
    if (!spec.default_device.empty()) tf.TF_ImportGraphDefOptionsSetDefaultDevice(opts, spec.default_device.c_str());
    tf.TF_ImportGraphDefOptionsSetUniquifyNames(opts, spec.uniquify_names);
    tf.TF_ImportGraphDefOptionsSetUniquifyPrefix(opts, spec.uniquify_prefix);
    for (auto& m : spec.input_map)
      tf.TF_ImportGraphDefOptionsAddInputMapping(opts, m.src_name.c_str(), m.src_index, m.dst);
    for (auto& m : spec.control_remap)
      tf.TF_ImportGraphDefOptionsRemapControlDependency(opts, m.first.c_str(), m.second);
    for (TF_Operation* op : spec.control_deps) tf.TF_ImportGraphDefOptionsAddControlDependency(opts, op);
    for (auto& r : spec.return_outputs) tf.TF_ImportGraphDefOptionsAddReturnOutput(opts, r.first.c_str(), r.second);
    for (auto& r : spec.return_operations) tf.TF_ImportGraphDefOptionsAddReturnOperation(opts, r.c_str());
    TF_Buffer buffer{spec.graph_def.data(), spec.graph_def.size(), nullptr};
    Status s;
    results = tf.TF_GraphImportGraphDefWithResults(g, &buffer, opts, s);
    status.Capture(s);
    tf.TF_DeleteImportGraphDefOptions(opts);
  }

  ~ImportRun() {
    if (results != nullptr) tf.TF_DeleteImportGraphDefResults(results);
  }

  Napi::Value ToJs(Napi::Env env, Napi::Object graph) {
    if (!status.ok()) throw MakeTfError(env, status.code, status.message);
    Napi::Object out = Napi::Object::New(env);
    int n = 0;
    TF_Output* outputs = nullptr;
    tf.TF_ImportGraphDefResultsReturnOutputs(results, &n, &outputs);
    Napi::Array outs = Napi::Array::New(env, n);
    for (int i = 0; i < n; i++) outs.Set(i, OutputPair(env, graph, outputs[i]));
    out.Set("outputs", outs);
    TF_Operation** ops = nullptr;
    tf.TF_ImportGraphDefResultsReturnOperations(results, &n, &ops);
    Napi::Array opsJs = Napi::Array::New(env, n);
    for (int i = 0; i < n; i++) opsJs.Set(i, Operation::Wrap(env, graph, ops[i]));
    out.Set("operations", opsJs);
    const char** names = nullptr;
    int* indices = nullptr;
    tf.TF_ImportGraphDefResultsMissingUnusedInputMappings(results, &n, &names, &indices);
    Napi::Array missing = Napi::Array::New(env, n);
    for (int i = 0; i < n; i++) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, names[i]));
      pair.Set(1u, Napi::Number::New(env, indices[i]));
      missing.Set(i, pair);
    }
    out.Set("missingUnusedInputs", missing);
    return out;
  }
};

class ImportJob : public Job {
 public:
  ImportJob(Napi::Env env, GraphStatePtr state, Napi::Object graph_obj, ImportSpec spec)
      : deferred_(Napi::Promise::Deferred::New(env)), state_(std::move(state)), spec_(std::move(spec)) {
    graph_ref_ = Napi::Persistent(graph_obj);
    g_ = LiveGraph(env, *state_);
    ++state_->pins;
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override { run_.Execute(g_, spec_); }
  void Complete(Napi::Env env) override {
    state_->Unpin();
    try {
      deferred_.Resolve(run_.ToJs(env, graph_ref_.Value()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  GraphStatePtr state_;
  TF_Graph* g_;
  Napi::ObjectReference graph_ref_;
  ImportSpec spec_;
  ImportRun run_;
};

}  // namespace

// importGraphDef(bytes, {prefix, defaultDevice, uniquifyNames, uniquifyPrefix, inputMap, controlRemap,
//                        controlDependencies, returnOutputs, returnOperations})
Napi::Value Graph::ImportGraphDef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = Get(env);
  ImportSpec spec;
  spec.Read(env, info[0], info[1], state_.get());
  ImportRun run;
  run.Execute(g, spec);
  return run.ToJs(env, info.This().As<Napi::Object>());
}

Napi::Value Graph::ImportGraphDefAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Get(env);
  if (GetAddon(env).executor->stopping())
    throw MakeCodedError(env, "ERR_DISPOSED", "the process is exiting: no new imports");
  ImportSpec spec;
  spec.Read(env, info[0], info[1], state_.get());
  auto* job = new ImportJob(env, state_, info.This().As<Napi::Object>(), std::move(spec));
  Napi::Promise promise = job->Promise();
  GetAddon(env).executor->Submit(env, job);
  return promise;
}

Napi::Value Graph::ToGraphDef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BufferPtr buffer = NewBuffer();
  Status s;
  tf.TF_GraphToGraphDef(GetForRead(env), buffer.get(), s);
  ThrowIfNotOk(env, s);
  return BufferToJs(env, buffer.get());
}

Napi::Value Graph::OpDef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string type = StringArg(info[0], "op type");
  BufferPtr buffer = NewBuffer();
  Status s;
  tf.TF_GraphGetOpDef(GetForRead(env), type.c_str(), buffer.get(), s);
  ThrowIfNotOk(env, s);
  return BufferToJs(env, buffer.get());
}

// tensorShape([op, index]) -> number[] (-1 unknown dims) | null (unknown rank)
Napi::Value Graph::TensorShape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = GetForRead(env);
  TF_Output out = OutputArg(env, info[0], state_.get(), "output");
  Status s;
  int n = tf.TF_GraphGetTensorNumDims(g, out, s);
  ThrowIfNotOk(env, s);
  if (n < 0) return env.Null();
  std::vector<int64_t> dims(n);
  tf.TF_GraphGetTensorShape(g, out, dims.data(), n, s);
  ThrowIfNotOk(env, s);
  Napi::Array arr = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) arr.Set(i, Napi::Number::New(env, static_cast<double>(dims[i])));
  return arr;
}

Napi::Value Graph::SetTensorShape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = Get(env);
  TF_Output out = OutputArg(env, info[0], state_.get(), "output");
  Napi::Array arr = ArrayArg(info[1], "dims");
  std::vector<int64_t> dims(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) dims[i] = IntArg(arr.Get(i), "dim");
  Status s;
  tf.TF_GraphSetTensorShape(g, out, dims.data(), static_cast<int>(dims.size()), s);
  ThrowIfNotOk(env, s);
  return env.Undefined();
}

// updateEdge([op, index] source, [op, index] input): the input now reads source (TF_UpdateEdge; TF checks the
// shapes, sessions that already ran the consumer refuse their next run).
Napi::Value Graph::UpdateEdge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = Get(env);
  TF_Output source = OutputArg(env, info[0], state_.get(), "source");
  if (!info[1].IsArray() || info[1].As<Napi::Array>().Length() != 2) {
    throw MakeCodedTypeError(env, "ERR_INVALID_ARG_TYPE", "input must be an [Operation, index] pair");
  }
  Napi::Array pair = info[1].As<Napi::Array>();
  TF_Operation* consumer = UnwrapHandle<Operation>(pair.Get(0u), "input")->Get(env, state_.get());
  int64_t index = IntArg(pair.Get(1u), "input");
  int n = tf.TF_OperationNumInputs(consumer);
  if (index < 0 || index >= n) {
    throw MakeCodedError(env, "ERR_OUT_OF_RANGE",
                         std::string("input: operation '") + tf.TF_OperationName(consumer) + "' has " +
                             std::to_string(n) + " inputs, no input " + std::to_string(index));
  }
  Status s;
  tf.TF_UpdateEdge(g, source, TF_Input{consumer, static_cast<int>(index)}, s);
  ThrowIfNotOk(env, s);
  return env.Undefined();
}

// setControlInputs(op, ops): op's control inputs become exactly ops (TF_RemoveAllControlInputs, then
// TF_AddOperationControlInput for each).
Napi::Value Graph::SetControlInputs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = Get(env);
  TF_Operation* op = UnwrapHandle<Operation>(info[0], "op")->Get(env, state_.get());
  Napi::Array arr = ArrayArg(info[1], "control inputs");
  std::vector<TF_Operation*> inputs(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++)
    inputs[i] = UnwrapHandle<Operation>(arr.Get(i), "control input")->Get(env, state_.get());
  tf.TF_RemoveAllControlInputs(g, op);
  for (TF_Operation* input : inputs) tf.TF_AddOperationControlInput(g, op, input);
  return env.Undefined();
}

// addGradients(prefix | null, ys, xs, dys | null) -> ([Operation, index] | null)[]; null = x unreachable.
Napi::Value Graph::AddGradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = Get(env);
  std::string prefix;
  bool has_prefix = info[0].IsString();
  if (has_prefix) prefix = info[0].As<Napi::String>().Utf8Value();
  auto read = [&](const Napi::Value& v, const char* what) {
    Napi::Array a = ArrayArg(v, what);
    std::vector<TF_Output> outs(a.Length());
    for (uint32_t i = 0; i < a.Length(); i++) outs[i] = OutputArg(env, a.Get(i), state_.get(), what);
    return outs;
  };
  std::vector<TF_Output> ys = read(info[1], "ys");
  std::vector<TF_Output> xs = read(info[2], "xs");
  std::vector<TF_Output> dxs;
  bool has_dys = info[3].IsArray();
  if (has_dys) {
    dxs = read(info[3], "dys");
    if (dxs.size() != ys.size()) throw MakeCodedError(env, "ERR_INVALID_ARG_VALUE", "dys must have one entry per y");
  }
  if (ys.empty() || xs.empty()) throw MakeCodedError(env, "ERR_INVALID_ARG_VALUE", "ys and xs must not be empty");
  std::vector<TF_Output> dy(xs.size(), TF_Output{nullptr, 0});
  Status s;
  tf.TF_AddGradientsWithPrefix(g, has_prefix ? prefix.c_str() : nullptr, ys.data(), static_cast<int>(ys.size()),
                               xs.data(), static_cast<int>(xs.size()), has_dys ? dxs.data() : nullptr, s, dy.data());
  ThrowIfNotOk(env, s);
  Napi::Array result = Napi::Array::New(env, dy.size());
  for (size_t i = 0; i < dy.size(); i++)
    result.Set(static_cast<uint32_t>(i), OutputPair(env, info.This().As<Napi::Object>(), dy[i]));
  return result;
}

// importFunctionDef(bytes, gradientBytes | null): adds a FunctionDef (and optionally its gradient) to the graph.
Napi::Value Graph::ImportFunctionDef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = Get(env);
  auto bytes = BytesArg(info[0], "functionDef");
  Status s;
  TF_Function* fn = tf.TF_FunctionImportFunctionDef(bytes.first, bytes.second, s);
  ThrowIfNotOk(env, s);
  TF_Function* grad = nullptr;
  if (info.Length() > 1 && info[1].IsTypedArray()) {
    auto gb = BytesArg(info[1], "gradient functionDef");
    grad = tf.TF_FunctionImportFunctionDef(gb.first, gb.second, s);
    if (!s.ok()) {
      tf.TF_DeleteFunction(fn);
      ThrowIfNotOk(env, s);
    }
  }
  tf.TF_GraphCopyFunction(g, fn, grad, s);
  tf.TF_DeleteFunction(fn);
  if (grad != nullptr) tf.TF_DeleteFunction(grad);
  ThrowIfNotOk(env, s);
  return env.Undefined();
}

// functionDefs() -> Buffer[]: every FunctionDef in the graph's library.
Napi::Value Graph::FunctionDefs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Graph* g = GetForRead(env);
  int n = tf.TF_GraphNumFunctions(g);
  std::vector<TF_Function*> fns(n > 0 ? n : 0, nullptr);
  Status s;
  int got = n > 0 ? tf.TF_GraphGetFunctions(g, fns.data(), n, s) : 0;
  ThrowIfNotOk(env, s);
  Napi::Array out = Napi::Array::New(env, got);
  StatusRecord err;
  for (int i = 0; i < got; i++) {
    BufferPtr buffer = NewBuffer();
    Status fs;
    tf.TF_FunctionToFunctionDef(fns[i], buffer.get(), fs);
    if (fs.ok())
      out.Set(i, BufferToJs(env, buffer.get()));
    else if (err.ok())
      err.Capture(fs);
    tf.TF_DeleteFunction(fns[i]);
  }
  if (!err.ok()) throw MakeTfError(env, err.code, err.message);
  return out;
}

// ------------------------------------------------------------------------------------------ Operation

Napi::Function Operation::Init(Napi::Env env) {
  return DefineClass(
      env, "Operation",
      {InstanceMethod<&Operation::Name>("name"), InstanceMethod<&Operation::Type>("type"),
       InstanceMethod<&Operation::Device>("device"), InstanceMethod<&Operation::NumOutputs>("numOutputs"),
       InstanceMethod<&Operation::NumInputs>("numInputs"), InstanceMethod<&Operation::OutputType>("outputType"),
       InstanceMethod<&Operation::Input>("input"), InstanceMethod<&Operation::ControlInputs>("controlInputs"),
       InstanceMethod<&Operation::ControlOutputs>("controlOutputs"), InstanceMethod<&Operation::Consumers>("consumers"),
       InstanceMethod<&Operation::AttrValue>("attrValue"), InstanceMethod<&Operation::NodeDef>("nodeDef"),
       InstanceMethod<&Operation::GraphHandle>("graph")});
}

Napi::Object Operation::Wrap(Napi::Env env, Napi::Object graph, TF_Operation* op) {
  Addon& addon = GetAddon(env);
  return addon.operation_class.New({Napi::External<TF_Operation>::New(env, op), graph, addon.construct_token.Value()});
}

Operation::Operation(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Operation>(info) {
  Napi::Env env = info.Env();
  Addon& addon = GetAddon(env);
  if (info.Length() != 3 || !info[0].IsExternal() || !info[2].StrictEquals(addon.construct_token.Value())) {
    throw MakeCodedTypeError(env, "ERR_ILLEGAL_CONSTRUCTOR", "operations come from a Graph");
  }
  TagObject<Operation>(env, info.This().As<Napi::Object>());
  op_ = info[0].As<Napi::External<TF_Operation>>().Data();
  state_ = UnwrapHandle<Graph>(info[1], "graph")->state();
  graph_ref_ = Napi::Persistent(info[1].As<Napi::Object>());
}

TF_Operation* Operation::Get(Napi::Env env) const {
  ReadableGraph(env, *state_);  // throws once the graph is freed
  return op_;
}

TF_Operation* Operation::Get(Napi::Env env, const GraphState* graph) const {
  if (state_.get() != graph) {
    throw MakeCodedError(env, "ERR_GRAPH_MISMATCH",
                         std::string("operation '") + tf.TF_OperationName(op_) + "' belongs to another graph");
  }
  return Get(env);
}

int Operation::OutputIndexArg(const Napi::Value& v, TF_Operation* op) const {
  int64_t i = IntArg(v, "output index");
  int n = tf.TF_OperationNumOutputs(op);
  if (i < 0 || i >= n) throw MakeCodedError(v.Env(), "ERR_OUT_OF_RANGE", "output index out of range");
  return static_cast<int>(i);
}

Napi::Value Operation::Name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tf.TF_OperationName(Get(info.Env())));
}
Napi::Value Operation::Type(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tf.TF_OperationOpType(Get(info.Env())));
}
Napi::Value Operation::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tf.TF_OperationDevice(Get(info.Env())));
}
Napi::Value Operation::NumOutputs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), tf.TF_OperationNumOutputs(Get(info.Env())));
}
Napi::Value Operation::NumInputs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), tf.TF_OperationNumInputs(Get(info.Env())));
}
Napi::Value Operation::GraphHandle(const Napi::CallbackInfo&) {
  return graph_ref_.Value();
}

Napi::Value Operation::OutputType(const Napi::CallbackInfo& info) {
  TF_Operation* op = Get(info.Env());
  return Napi::Number::New(info.Env(), tf.TF_OperationOutputType(TF_Output{op, OutputIndexArg(info[0], op)}));
}

// input(i) -> [Operation, index] feeding input i
Napi::Value Operation::Input(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Operation* op = Get(env);
  int64_t i = IntArg(info[0], "input index");
  if (i < 0 || i >= tf.TF_OperationNumInputs(op))
    throw MakeCodedError(env, "ERR_OUT_OF_RANGE", "input index out of range");
  return OutputPair(env, graph_ref_.Value(), tf.TF_OperationInput(TF_Input{op, static_cast<int>(i)}));
}

Napi::Value Operation::ControlInputs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Operation* op = Get(env);
  int n = tf.TF_OperationNumControlInputs(op);
  std::vector<TF_Operation*> ops(n);
  int got = n > 0 ? tf.TF_OperationGetControlInputs(op, ops.data(), n) : 0;
  Napi::Array out = Napi::Array::New(env, got);
  for (int i = 0; i < got; i++) out.Set(i, Wrap(env, graph_ref_.Value(), ops[i]));
  return out;
}

Napi::Value Operation::ControlOutputs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Operation* op = Get(env);
  int n = tf.TF_OperationNumControlOutputs(op);
  std::vector<TF_Operation*> ops(n);
  int got = n > 0 ? tf.TF_OperationGetControlOutputs(op, ops.data(), n) : 0;
  Napi::Array out = Napi::Array::New(env, got);
  for (int i = 0; i < got; i++) out.Set(i, Wrap(env, graph_ref_.Value(), ops[i]));
  return out;
}

// consumers(outputIndex) -> [Operation, inputIndex][]
Napi::Value Operation::Consumers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Operation* op = Get(env);
  TF_Output out{op, OutputIndexArg(info[0], op)};
  int n = tf.TF_OperationOutputNumConsumers(out);
  std::vector<TF_Input> consumers(n);
  int got = n > 0 ? tf.TF_OperationOutputConsumers(out, consumers.data(), n) : 0;
  Napi::Array arr = Napi::Array::New(env, got);
  for (int i = 0; i < got; i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Wrap(env, graph_ref_.Value(), consumers[i].oper));
    pair.Set(1u, Napi::Number::New(env, consumers[i].index));
    arr.Set(i, pair);
  }
  return arr;
}

// attrValue(name) -> serialized AttrValue
Napi::Value Operation::AttrValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Operation* op = Get(env);
  std::string name = StringArg(info[0], "attr name");
  BufferPtr buffer = NewBuffer();
  Status s;
  tf.TF_OperationGetAttrValueProto(op, name.c_str(), buffer.get(), s);
  ThrowIfNotOk(env, s);
  return BufferToJs(env, buffer.get());
}

Napi::Value Operation::NodeDef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BufferPtr buffer = NewBuffer();
  Status s;
  tf.TF_OperationToNodeDef(Get(env), buffer.get(), s);
  ThrowIfNotOk(env, s);
  return BufferToJs(env, buffer.get());
}

}  // namespace tfhub
