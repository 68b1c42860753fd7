#include "executor.h"

#include <algorithm>
#include <chrono>

#include "thread_priority.h"

#if defined(__linux__)
#include <pthread.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TFHUB_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define TFHUB_CPU_RELAX() asm volatile("yield")
#else
#define TFHUB_CPU_RELAX() std::this_thread::yield()
#endif

namespace tfhub {

// Defaults until init() configures the executor: 16 run threads; an idle worker polls 100 us for the next job
// before it sleeps. A caller awaiting runs one after another submits the next run a few microseconds after the
// last completes; catching it while polling saves a futex wake-up (tens of microseconds on virtual machines).
Executor::Executor(Napi::Env env)
    : env_(env),
      async_(new uv_async_t),
      context_(env, "tfhub-node.complete"),
      max_threads_(16),
      spin_(std::chrono::microseconds(100)) {
  uv_loop_t* loop = nullptr;
  NAPI_THROW_IF_FAILED_VOID(env, napi_get_uv_event_loop(env, &loop));
  uv_async_init(loop, async_, &Executor::OnAsync);
  async_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));  // only pending jobs keep the process alive
}

Executor::~Executor() {
  Shutdown();
}

void Executor::Configure(size_t threads, std::chrono::microseconds spin, std::chrono::microseconds wait) {
  std::lock_guard<std::mutex> lock(mutex_);
  max_threads_ = threads == 0 ? 1 : threads;
  spin_ = spin;
  wait_ = wait;
}

bool Executor::SettleIfDone(Napi::Env env, Job* job) {
  if (wait_.count() == 0 || pending_ != 1) return false;
  auto deadline = std::chrono::steady_clock::now() + wait_;
  for (int i = 0; !job->finished.load(std::memory_order_acquire); ++i) {
    TFHUB_CPU_RELAX();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() >= deadline) return false;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_.erase(std::find(done_.begin(), done_.end(), job));
  }
  try {
    job->Complete(env);
  } catch (const Napi::Error& e) {
    (void)e;
  }
  delete job;
  if (--pending_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(async_));
  return true;
}

void Executor::Submit(Napi::Env, Job* job) {
  if (pending_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(async_));
  std::unique_lock<std::mutex> lock(mutex_);
  queue_.push_back(job);
  queued_.store(queue_.size(), std::memory_order_release);
  // Threads start lazily, when the queued jobs outnumber the idle threads: a blocked TF_SessionRun holds a
  // thread. (Comparing with idle_ == 0 was not enough: threads notified but not yet awake still count as idle,
  // so a burst of runs could queue behind two runs blocked in TF, e.g. waiting on a queue, and deadlock.)
  if (queue_.size() > idle_ && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  // A polling worker re-checks the queue under the mutex before it sleeps, so it will take this job: waking a
  // sleeping one as well would only cost a futex call here and a thread that finds nothing to do.
  bool wake = queue_.size() > spinning_;
  lock.unlock();
  if (wake) cv_.notify_one();
}

void Executor::WorkerLoop() {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "tfhub-run");  // shows in top -H, perf and /proc/<pid>/task/*/comm
#endif
  LowerThisThreadPriority();  // TFHUB_NODE_WORKER_NICE: the event loop's thread comes first when it wakes
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ++idle_;
      // Poll only on a core nobody needs: while another run is inside TF, its threads want every core (a large
      // batch keeps them all busy), and one poller is enough to catch the next job.
      if (queue_.empty() && !stopping_ && spin_.count() > 0 && running_.empty() && spinning_ == 0) {
        ++spinning_;
        std::chrono::microseconds spin = spin_;  // Configure() may change spin_ under the mutex
        lock.unlock();
        auto deadline = std::chrono::steady_clock::now() + spin;
        for (int i = 0; queued_.load(std::memory_order_acquire) == 0; ++i) {
          TFHUB_CPU_RELAX();
          if ((i & 63) == 63 && std::chrono::steady_clock::now() >= deadline) break;
        }
        lock.lock();
        --spinning_;
      }
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      --idle_;
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
      queued_.store(queue_.size(), std::memory_order_release);
      running_.push_back(job);
    }
    job->Execute();
    bool first;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_.erase(std::find(running_.begin(), running_.end(), job));
      // After Shutdown() the job cannot be settled; leaking it is the only safe choice because its destructor
      // would touch JS references of a dead environment.
      if (stopping_) continue;
      first = done_.empty();
      done_.push_back(job);
      job->finished.store(true, std::memory_order_release);
    }
    if (first) uv_async_send(async_);  // coalesces; a non-empty list was already signalled
  }
}

void Executor::OnAsync(uv_async_t* handle) {
  if (handle->data != nullptr) static_cast<Executor*>(handle->data)->Drain();
}

// JS thread: settles the jobs that finished before this callback started, in one callback scope (promise
// reactions run when it closes), then returns to the event loop. Jobs finishing meanwhile signal again and are
// settled on the next turn, after timers and I/O had theirs.
void Executor::Drain() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    settling_.swap(done_);
  }
  if (settling_.empty()) return;
  Napi::Env env(env_);
  Napi::HandleScope handles(env);
  {
    Napi::CallbackScope scope(env, context_);
    for (Job* job : settling_) {
      try {
        job->Complete(env);
      } catch (const Napi::Error& e) {
        // Complete() settles its own promise; anything escaping is a bug we must not turn into a crash.
        (void)e;
      }
      delete job;
    }
  }
  pending_ -= settling_.size();
  settling_.clear();
  if (pending_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(async_));
}

void Executor::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    for (Job* job : running_) job->Cancel();
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // No worker is left to signal: detach the handle from this object and let the loop free it.
  async_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
}

bool Executor::stopping() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

}  // namespace tfhub
