#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "addon.h"
#include "handles.h"
#include "status.h"

namespace tfhub {

// One pending join: the thread blocked in TF_ServerJoin settles the promise through the thread-safe function.
struct Server::JoinState {
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  StatusRecord status;
  explicit JoinState(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

Napi::Function Server::Init(Napi::Env env) {
  return DefineClass(env, "Server",
                     {InstanceMethod<&Server::Start>("start"), InstanceMethod<&Server::Stop>("stop"),
                      InstanceMethod<&Server::Join>("join"), InstanceMethod<&Server::UnrefJoin>("unrefJoin"),
                      InstanceMethod<&Server::Target>("target"), InstanceMethod<&Server::Close>("close"),
                      InstanceMethod<&Server::IsClosed>("isClosed"), InstanceMethod<&Server::IsStarted>("isStarted")});
}

// new Server(serverDef: Uint8Array): TF_NewServer (binds the task's port; serves once started).
Server::Server(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Server>(info) {
  Napi::Env env = info.Env();
  RequireTensorFlow(env);
  TagObject<Server>(env, info.This().As<Napi::Object>());
  auto bytes = BytesArg(info[0], "serverDef");
  Status s;
  server_ = tf.TF_NewServer(bytes.first, bytes.second, s);
  ThrowIfNotOk(env, s);
}

Server::~Server() {
  Free();
}

void Server::Free() {
  if (server_ == nullptr) return;
  // A started server cannot be stopped, and deleting it aborts the process: it is left to the process exit.
  if (!started_) tf.TF_DeleteServer(server_);
  server_ = nullptr;
}

TF_Server* Server::Get(Napi::Env env) const {
  if (server_ == nullptr || closed_) throw MakeCodedError(env, "ERR_DISPOSED", "Server already closed.");
  return server_;
}

Napi::Value Server::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Server* server = Get(env);
  Status s;
  tf.TF_ServerStart(server, s);
  ThrowIfNotOk(env, s);
  started_ = true;
  return env.Undefined();
}

Napi::Value Server::Stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Server* server = Get(env);
  if (joining_) {
    // TF_ServerJoin holds the server's lock for ever: TF_ServerStop would block the JS thread.
    throw MakeTfError(env, TF_UNIMPLEMENTED, "Clean shutdown is not currently implemented (a join is pending)");
  }
  Status s;
  tf.TF_ServerStop(server, s);
  ThrowIfNotOk(env, s);
  return env.Undefined();
}

// join() -> Promise<void>: settles when TF_ServerJoin returns. A started server's join returns only when the
// process ends; the pending join keeps the event loop alive until unrefJoin().
Napi::Value Server::Join(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TF_Server* server = Get(env);
  if (!started_) {
    // Never started: TF returns at once (and the server can no longer start), no thread needed.
    Status s;
    tf.TF_ServerJoin(server, s);
    auto deferred = Napi::Promise::Deferred::New(env);
    if (s.ok())
      deferred.Resolve(env.Undefined());
    else
      deferred.Reject(MakeTfError(env, s.code(), s.message()).Value());
    return deferred.Promise();
  }
  if (join_) return join_->deferred.Promise();
  auto state = std::make_shared<JoinState>(env);
  state->tsfn = Napi::ThreadSafeFunction::New(
      env, Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return i.Env().Undefined(); }), "tfhubServerJoin",
      0, 1);
  join_ = state;
  joining_ = true;
  std::thread([server, state]() {
    Status s;
    tf.TF_ServerJoin(server, s);
    state->status.Capture(s);
    state->tsfn.BlockingCall([state](Napi::Env env, Napi::Function) {
      if (state->status.ok())
        state->deferred.Resolve(env.Undefined());
      else
        state->deferred.Reject(MakeTfError(env, state->status.code, state->status.message).Value());
    });
    state->tsfn.Release();
  }).detach();
  return state->deferred.Promise();
}

// unrefJoin(): a pending join no longer keeps the process alive (the JS side settles its own promise).
Napi::Value Server::UnrefJoin(const Napi::CallbackInfo& info) {
  if (join_) join_->tsfn.Unref(info.Env());
  return info.Env().Undefined();
}

Napi::Value Server::Target(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tf.TF_ServerTarget(Get(info.Env())));
}

// close(): a server that never started is deleted (its port is released); a started one cannot be, so it
// only becomes unusable from JS and keeps serving until the process exits, as in Python.
Napi::Value Server::Close(const Napi::CallbackInfo& info) {
  if (closed_) return info.Env().Undefined();
  closed_ = true;
  if (join_) join_->tsfn.Unref(info.Env());
  Free();
  return info.Env().Undefined();
}

Napi::Value Server::IsClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), closed_);
}
Napi::Value Server::IsStarted(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), started_);
}

Napi::Value ProbePort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t port = IntArg(info[0], "port");
  if (port < 1 || port > 65535) throw MakeCodedTypeError(env, "ERR_OUT_OF_RANGE", "port must be in 1..65535");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Napi::String::New(env, std::string("socket: ") + std::strerror(errno));
  // SO_REUSEADDR as gRPC sets it: a port in TIME_WAIT is free for TF, a listening one is not.
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string result;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) result = std::strerror(errno);
  close(fd);
  return Napi::String::New(env, result);
}

}  // namespace tfhub
