/*
 * Profiling probe (bench only, not part of the package): a minimal N-API addon in C that runs the benchmark
 * MLP through the same libtensorflow, inside the Node process, with no tfhub-node code in the way.
 * bench/node/profile.js interleaves it with tfhub-node's Session to split Node's per-run overhead into parts.
 *
 *   load(graphDef: Uint8Array, runOptions?: Uint8Array)
 *                                     own TF_Graph + TF_Session (default options), inputs for batch 1 and 256;
 *                                     runOptions (a serialized RunOptions) is passed to every TF_SessionRun
 *   loop(batch, n) -> Float64Array    n back-to-back TF_SessionRun in C; per-run µs  (the in-process floor)
 *   loopThreads(batch, n, threads) -> elapsed µs   `threads` pthreads, each n back-to-back runs (own input)
 *   once(batch)                       one TF_SessionRun from JS, sync, no arguments to unpack
 *   onceAsync(batch) -> Promise       one TF_SessionRun via napi_async_work (libuv pool + uv_async completion)
 *   timedAsync(batch, spin) -> Promise<Float64Array [submit, start, end, complete] (µs, CLOCK_MONOTONIC)>
 *                                     one TF_SessionRun on the probe's own persistent worker thread (condvar
 *                                     wake-up, like tfhub-node's executor; with spin > 0 the worker first polls
 *                                     for up to `spin` µs before sleeping), completed through a threadsafe
 *                                     function (uv_async, like the addon's TSFN); timestamps split the hand-off
 *   noop()                            an empty N-API call
 */
#define _POSIX_C_SOURCE 200809L
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensorflow/c/c_api.h"

#include "../c/mlp_input.h"
static TF_Session* session;
static TF_Output in_x, out_logits;
static TF_Tensor* inputs[2];
static TF_Buffer* run_options;

#define CHECK_NAPI(call) \
  do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int run_once(int batch) {
  TF_Status* s = TF_NewStatus();
  TF_Tensor* out = NULL;
  TF_SessionRun(session, run_options, &in_x, &inputs[batch == 1 ? 0 : 1], 1, &out_logits, &out, 1, NULL, 0, NULL, s);
  int ok = TF_GetCode(s) == TF_OK;
  if (out) TF_DeleteTensor(out);
  TF_DeleteStatus(s);
  return ok;
}

static int32_t int_arg(napi_env env, napi_callback_info info, size_t i) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t v = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (i < argc) napi_get_value_int32(env, argv[i], &v);
  return v;
}

static napi_value Load(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* data;
  size_t len;
  CHECK_NAPI(napi_get_typedarray_info(env, argv[0], NULL, &len, &data, NULL, NULL));
  bool is_typed = false;
  if (argc > 1) napi_is_typedarray(env, argv[1], &is_typed);
  if (is_typed) {
    void* opts;
    size_t opts_len;
    CHECK_NAPI(napi_get_typedarray_info(env, argv[1], NULL, &opts_len, &opts, NULL, NULL));
    run_options = TF_NewBufferFromString(opts, opts_len);
  }
  TF_Status* s = TF_NewStatus();
  TF_Graph* graph = TF_NewGraph();
  TF_Buffer* def = TF_NewBufferFromString(data, len);
  TF_ImportGraphDefOptions* io = TF_NewImportGraphDefOptions();
  TF_GraphImportGraphDef(graph, def, io, s);
  TF_DeleteImportGraphDefOptions(io);
  TF_DeleteBuffer(def);
  if (TF_GetCode(s) != TF_OK) { napi_throw_error(env, NULL, TF_Message(s)); return NULL; }
  in_x = (TF_Output){TF_GraphOperationByName(graph, "x"), 0};
  out_logits = (TF_Output){TF_GraphOperationByName(graph, "logits"), 0};
  TF_SessionOptions* so = TF_NewSessionOptions();
  session = TF_NewSession(graph, so, s);
  TF_DeleteSessionOptions(so);
  if (TF_GetCode(s) != TF_OK) { napi_throw_error(env, NULL, TF_Message(s)); return NULL; }
  TF_DeleteStatus(s);
  inputs[0] = make_input(1);
  inputs[1] = make_input(256);
  return NULL;
}

static napi_value Loop(napi_env env, napi_callback_info info) {
  int32_t batch = int_arg(env, info, 0), n = int_arg(env, info, 1);
  napi_value buf, arr;
  double* lat;
  CHECK_NAPI(napi_create_arraybuffer(env, sizeof(double) * (size_t)n, (void**)&lat, &buf));
  double t0 = now_us();
  for (int i = 0; i < n; i++) {
    run_once(batch);
    double t1 = now_us();
    lat[i] = t1 - t0;
    t0 = t1;
  }
  CHECK_NAPI(napi_create_typedarray(env, napi_float64_array, (size_t)n, buf, 0, &arr));
  return arr;
}

typedef struct {
  pthread_t thread;
  int batch, n;
  TF_Tensor* input;
} LoopThread;

static void* LoopThreadMain(void* arg) {
  LoopThread* t = arg;
  TF_Status* s = TF_NewStatus();
  for (int i = 0; i < t->n; i++) {
    TF_Tensor* out = NULL;
    TF_SessionRun(session, run_options, &in_x, &t->input, 1, &out_logits, &out, 1, NULL, 0, NULL, s);
    if (out) TF_DeleteTensor(out);
  }
  TF_DeleteStatus(s);
  return NULL;
}

static napi_value LoopThreads(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  int32_t batch = 1, n = 1, threads = 1;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_get_value_int32(env, argv[0], &batch);
  napi_get_value_int32(env, argv[1], &n);
  napi_get_value_int32(env, argv[2], &threads);
  if (threads < 1 || threads > 16) threads = 1;
  LoopThread t[16];
  for (int i = 0; i < threads; i++) t[i] = (LoopThread){.batch = batch, .n = n, .input = make_input(batch)};
  double start = now_us();
  for (int i = 0; i < threads; i++) pthread_create(&t[i].thread, NULL, LoopThreadMain, &t[i]);
  for (int i = 0; i < threads; i++) pthread_join(t[i].thread, NULL);
  double elapsed = now_us() - start;
  for (int i = 0; i < threads; i++) TF_DeleteTensor(t[i].input);
  CHECK_NAPI(napi_create_double(env, elapsed, &result));
  return result;
}

static napi_value Once(napi_env env, napi_callback_info info) {
  run_once(int_arg(env, info, 0));
  return NULL;
}

static napi_value Noop(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  return NULL;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int batch;
} AsyncRun;

static void AsyncExecute(napi_env env, void* data) {
  (void)env;
  AsyncRun* r = data;
  run_once(r->batch);
}

static void AsyncComplete(napi_env env, napi_status status, void* data) {
  (void)status;
  AsyncRun* r = data;
  napi_value undef;
  napi_get_undefined(env, &undef);
  napi_resolve_deferred(env, r->deferred, undef);
  napi_delete_async_work(env, r->work);
  free(r);
}

static napi_value OnceAsync(napi_env env, napi_callback_info info) {
  AsyncRun* r = calloc(1, sizeof(AsyncRun));
  r->batch = int_arg(env, info, 0);
  napi_value promise, name;
  CHECK_NAPI(napi_create_promise(env, &r->deferred, &promise));
  CHECK_NAPI(napi_create_string_utf8(env, "probe.run", NAPI_AUTO_LENGTH, &name));
  CHECK_NAPI(napi_create_async_work(env, NULL, name, AsyncExecute, AsyncComplete, r, &r->work));
  CHECK_NAPI(napi_queue_async_work(env, r->work));
  return promise;
}

/* ---- persistent worker + threadsafe-function completion (timedAsync) ---- */
typedef struct {
  napi_deferred deferred;
  int batch;
  double t[4]; /* submit, worker start, TF done, JS complete */
} TimedRun;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  _Atomic(TimedRun*) job;
  atomic_int sleeping;
  double spin_us;
  napi_threadsafe_function tsfn;
  bool started;
} w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, NULL, false};

static void* WorkerMain(void* arg) {
  (void)arg;
  for (;;) {
    TimedRun* r = NULL;
    double spin_end = now_us() + w.spin_us;
    while ((r = atomic_exchange(&w.job, NULL)) == NULL && now_us() < spin_end) {
    }
    if (r == NULL) {
      pthread_mutex_lock(&w.mu);
      atomic_store(&w.sleeping, 1);
      while ((r = atomic_exchange(&w.job, NULL)) == NULL) pthread_cond_wait(&w.cv, &w.mu);
      atomic_store(&w.sleeping, 0);
      pthread_mutex_unlock(&w.mu);
    }
    r->t[1] = now_us();
    run_once(r->batch);
    r->t[2] = now_us();
    napi_call_threadsafe_function(w.tsfn, r, napi_tsfn_nonblocking);
  }
  return NULL;
}

static void TimedComplete(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)js_cb;
  (void)context;
  TimedRun* r = data;
  if (env == NULL) { free(r); return; }
  r->t[3] = now_us();
  napi_value buf, arr;
  double* out;
  napi_create_arraybuffer(env, sizeof r->t, (void**)&out, &buf);
  memcpy(out, r->t, sizeof r->t);
  napi_create_typedarray(env, napi_float64_array, 4, buf, 0, &arr);
  napi_resolve_deferred(env, r->deferred, arr);
  free(r);
  napi_unref_threadsafe_function(env, w.tsfn);
}

static napi_value TimedAsync(napi_env env, napi_callback_info info) {
  if (!w.started) {
    napi_value name;
    CHECK_NAPI(napi_create_string_utf8(env, "probe.timed", NAPI_AUTO_LENGTH, &name));
    CHECK_NAPI(napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, TimedComplete, &w.tsfn));
    pthread_t t;
    pthread_create(&t, NULL, WorkerMain, NULL);
    pthread_detach(t);
    w.started = true;
  }
  napi_ref_threadsafe_function(env, w.tsfn);
  TimedRun* r = calloc(1, sizeof(TimedRun));
  r->batch = int_arg(env, info, 0);
  w.spin_us = int_arg(env, info, 1);
  napi_value promise;
  CHECK_NAPI(napi_create_promise(env, &r->deferred, &promise));
  r->t[0] = now_us();
  atomic_store(&w.job, r);
  if (atomic_load(&w.sleeping)) {
    pthread_mutex_lock(&w.mu);
    pthread_cond_signal(&w.cv);
    pthread_mutex_unlock(&w.mu);
  }
  return promise;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"load", NULL, Load, NULL, NULL, NULL, napi_default, NULL},
      {"loop", NULL, Loop, NULL, NULL, NULL, napi_default, NULL},
      {"once", NULL, Once, NULL, NULL, NULL, napi_default, NULL},
      {"loopThreads", NULL, LoopThreads, NULL, NULL, NULL, napi_default, NULL},
      {"onceAsync", NULL, OnceAsync, NULL, NULL, NULL, napi_default, NULL},
      {"noop", NULL, Noop, NULL, NULL, NULL, napi_default, NULL},
      {"timedAsync", NULL, TimedAsync, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
