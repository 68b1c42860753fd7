// Runs blocking TensorFlow calls (session runs, large imports) on the addon's own threads, so they never
// occupy libuv's small pool (fs, dns, zlib keep working), and settles their promises on the JS thread.
//
// Completions: a finished job goes on a done list and wakes the event loop through one uv_async handle; its
// callback settles the jobs finished before it started and returns to the loop. (A thread-safe function settles
// up to 1000 calls per wake-up while more keep arriving, so a steady stream of runs starved timers and I/O for
// whole seconds; see bench/RESULTS.md §5.)
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "napi_config.h"

namespace tfhub {

class Job {
 public:
  virtual ~Job() = default;
  virtual void Execute() = 0;                // worker thread: no JS access
  virtual void Complete(Napi::Env env) = 0;  // JS thread
  // JS thread, while Execute() may be running on a worker: asks the blocking call to return early (used at
  // shutdown). Must be thread-safe with respect to Execute().
  virtual void Cancel() {}

  std::atomic<bool> finished{false};  // set by the worker once the job is on the done list
};

class Executor {
 public:
  explicit Executor(Napi::Env env);
  // Sets the most run threads and the idle poll time (JS thread; from init(), before the first run).
  // wait: how long the JS thread may wait for a lone job it just submitted (see SettleIfDone).
  void Configure(size_t threads, std::chrono::microseconds spin, std::chrono::microseconds wait);
  ~Executor();
  void Submit(Napi::Env env, Job* job);  // JS thread; takes ownership of job
  // JS thread, right after Submit(job): when no other job is pending, waits up to the configured wait for the job
  // to finish on its run thread (TF never runs on the JS thread) and settles it at once, saving the event loop's
  // wake-up. Returns whether it did; job is deleted then. Does nothing when the wait is 0 (the default).
  bool SettleIfDone(Napi::Env env, Job* job);
  // Cancels running jobs, then joins workers; jobs not yet finished are dropped. Runs on process 'exit'
  // (main thread) and at environment cleanup (workers), so that no TF call outlives the environment or races
  // with the static destructors that exit() runs.
  void Shutdown();
  bool stopping();

 private:
  static void OnAsync(uv_async_t* handle);
  void Drain();
  void WorkerLoop();

  napi_env env_;
  uv_async_t* async_;           // owned by the loop once closed (freed by its close callback)
  Napi::AsyncContext context_;  // async_hooks resource of the completion callbacks
  std::vector<Job*> done_;      // finished jobs to settle, guarded by mutex_
  std::vector<Job*> settling_;  // JS thread only: the batch being settled
  size_t max_threads_;
  size_t pending_ = 0;  // JS thread only
  std::vector<std::thread> threads_;
  std::deque<Job*> queue_;
  std::vector<Job*> running_;  // jobs inside Execute(), guarded by mutex_
  std::mutex mutex_;
  std::condition_variable cv_;
  size_t idle_ = 0;      // workers polling or waiting for a job
  size_t spinning_ = 0;  // workers polling (they re-check the queue before they sleep)
  bool stopping_ = false;
  std::atomic<size_t> queued_{0};  // queue_.size(), readable without the mutex by polling workers
  std::chrono::microseconds spin_;
  std::chrono::microseconds wait_{0};
};

}  // namespace tfhub
