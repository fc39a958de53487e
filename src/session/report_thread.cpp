// The report thread: one for the whole process, started by the first session that writes a
// report to a file, idle on a condition variable between jobs, joined at exit. While jobs
// come often it looks for them every kPollEvery instead: handing one over then wakes no one.
#include "session/report_thread.hpp"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <new>
#include <utility>

#include "memx/uncounted.hpp"
#include "sys/quiet_thread.hpp"

namespace memx::detail {
namespace {

/// How often the thread looks for jobs while it polls, and for how long after its latest
/// job it polls before it waits on the condition variable. A job handed to a thread waiting
/// there costs the test thread a wake-up: 15-35 us on a PVM guest (a hypercall for the other
/// vCPU), 400 of them (populate steps, record spares, report blocks) in a run of 100,000
/// trivial tests. Polling costs that thread a timer wake-up per kPollEvery on its own CPU,
/// and a job waits at most kPollEvery to start (each kind of job is handed well ahead).
constexpr std::chrono::microseconds kPollEvery{500};
constexpr std::chrono::milliseconds kPollFor{20};

struct ReportThread {
  std::mutex mutex;
  std::condition_variable work;
  std::deque<std::function<void()>> jobs;  // allocated and freed under memx::Uncounted
  bool running = false;   // the thread exists (in this process)
  bool stopping = false;  // exit() has begun (or a forked child): nothing more is taken
  bool polling = false;   // the thread looks for jobs by itself: no notify needed
  pthread_t thread{};
  Background background;
};

ReportThread* g_thread = nullptr;
pthread_once_t g_once = PTHREAD_ONCE_INIT;
alignas(ReportThread) unsigned char g_storage[sizeof(ReportThread)];

bool hand_over(std::function<void()> job);

void* thread_main(void*) noexcept {
  Uncounted guard;  // everything it does is memx's own
  ReportThread& t = *g_thread;
  std::unique_lock<std::mutex> lock(t.mutex);
  const auto ready = [&] { return !t.jobs.empty() || t.stopping; };
  for (;;) {
    if (!ready()) {
      const auto until = std::chrono::steady_clock::now() + kPollFor;
      t.polling = true;
      // Woken early only by the exit's notify_all (hand_over does not notify meanwhile).
      while (!ready() && std::chrono::steady_clock::now() < until) t.work.wait_for(lock, kPollEvery);
      t.polling = false;
      t.work.wait(lock, ready);
    }
    if (t.jobs.empty()) return nullptr;  // stopping, nothing left
    std::function<void()> job = std::move(t.jobs.front());
    t.jobs.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // its captures are freed here, under the guard
    lock.lock();
  }
}

void stop_at_exit() noexcept {
  std::unique_lock<std::mutex> lock(g_thread->mutex);
  if (!g_thread->running || g_thread->stopping) return;
  g_thread->stopping = true;
  g_thread->work.notify_all();
  const pthread_t thread = g_thread->thread;
  lock.unlock();
  pthread_join(thread, nullptr);  // waits for what it was given: a file closed, a block written
  lock.lock();
  g_thread->running = false;
}

void prepare_fork() noexcept { g_thread->mutex.lock(); }
void parent_fork() noexcept { g_thread->mutex.unlock(); }
void child_fork() noexcept {
  // The thread is not in the child, and none is started there (a forked child writes no
  // report): the queue, whose jobs are the parent's, and the condition variable are never
  // used again.
  g_thread->running = false;
  g_thread->stopping = true;
  g_thread->mutex.unlock();
}

void init() noexcept {
  Uncounted guard;  // the queue allocates when it is made
  // Never destroyed: the thread may run during static destruction's start.
  g_thread = new (g_storage) ReportThread();
  g_thread->background.run = [](std::function<void()> job) { return hand_over(std::move(job)); };
  pthread_atfork(prepare_fork, parent_fork, child_fork);
}

ReportThread& state() noexcept {
  pthread_once(&g_once, init);
  return *g_thread;
}

bool hand_over(std::function<void()> job) {
  Uncounted guard;  // the queue's node and the job's captures
  ReportThread& t = state();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (!t.running || t.stopping) return false;
  t.jobs.push_back(std::move(job));
  if (!t.polling) t.work.notify_one();
  return true;
}

}  // namespace

bool start_report_thread() noexcept {
  ReportThread& t = state();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (t.running) return true;
  if (t.stopping) return false;  // exit has begun, or a forked child
  t.running = start_quiet_thread(t.thread, thread_main, nullptr, "memx-report");
  // Joined at exit, before the C++ statics go (registered after the thread exists: the
  // handlers registered before it, a session's last write at exit included, run later and
  // then do their work themselves).
  static const bool registered = std::atexit(stop_at_exit) == 0;
  (void)registered;
  return t.running;
}

const Background& report_thread() noexcept { return state().background; }

}  // namespace memx::detail
