// Scheduling priority of the threads that run TensorFlow. With many runs queued, TF's pool threads and our run
// threads keep every core busy, and the JS thread (the event loop) waits for a time slice whenever it wakes. Giving
// those threads a higher nice value than the thread that created them lets the kernel run the JS thread at once,
// while they still get every core the event loop leaves idle. Linux keeps the nice value per thread
// (setpriority on a thread id), and a new thread inherits its creator's; elsewhere this does nothing.
#pragma once

#include <functional>

namespace tfhub {

// Process-wide, set by init() from TFHUB_NODE_WORKER_NICE (0..19; 0: threads keep their creator's priority).
void SetWorkerNice(int increment);
int WorkerNice();

// Raises the calling thread's nice value by WorkerNice() (capped at 19). Only ever the calling thread: the main
// thread, libuv's threads and V8's never call it. Failures (a sandbox that forbids it) are ignored.
void LowerThisThreadPriority();

// Runs fn on a new thread named "tfhub-session", lowered by WorkerNice(), and waits for it: the threads fn makes
// TensorFlow create (the thread pools built with the first session, a session's own pools) inherit its priority,
// and those TF leaves unnamed (the intra-op pool) its name.
void RunAtWorkerPriority(const std::function<void()>& fn);

}  // namespace tfhub
