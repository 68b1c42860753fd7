#include "thread_priority.h"

#include <atomic>
#include <exception>
#include <thread>

#if defined(__linux__)
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace tfhub {

namespace {
std::atomic<int> worker_nice{0};
}  // namespace

void SetWorkerNice(int increment) {
  worker_nice.store(increment < 0 ? 0 : increment > 19 ? 19 : increment, std::memory_order_relaxed);
}

int WorkerNice() {
  return worker_nice.load(std::memory_order_relaxed);
}

void LowerThisThreadPriority() {
#if defined(__linux__)
  int increment = WorkerNice();
  if (increment == 0) return;
  // PRIO_PROCESS with a thread id addresses that one thread on Linux (the nice value is per thread).
  auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  int current = getpriority(PRIO_PROCESS, tid);
  if (current == -1 && errno != 0) return;
  int target = current + increment > 19 ? 19 : current + increment;
  if (target > current) setpriority(PRIO_PROCESS, tid, target);
#endif
}

void RunAtWorkerPriority(const std::function<void()>& fn) {
  std::exception_ptr error;
  std::thread t([&] {
#if defined(__linux__)
    // TF's intra-op (Eigen) pool threads set no name of their own: they inherit this one, so `top -H` and
    // /proc/<pid>/task/*/comm tell them from Node's threads.
    pthread_setname_np(pthread_self(), "tfhub-session");
#endif
    LowerThisThreadPriority();
    try {
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace tfhub
