// The RSS sampler thread and the windows it feeds.
//
// One thread for the whole process, created with pthread_create (std::thread would
// allocate its state with operator new) while at least one RssWindow is open. It never
// allocates, reads /proc/self/statm with read(2) outside the lock, and takes the lock only
// to hand samples to the open windows, so a test thread opening or reading a window waits
// at most for that short hand-over.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <new>

#include "memx/config.hpp"
#include "memx/counters.hpp"
#include "memx/rss.hpp"
#include "sys/quiet_thread.hpp"

namespace memx {

using Clock = std::chrono::steady_clock;

struct RssWindow::State {
  std::chrono::microseconds interval{};
  Clock::time_point next_due{};
  std::int64_t start = 0, peak = 0, end = 0;
  bool open = false;
  RssSample* samples = nullptr;
  std::size_t capacity = 0, size = 0;
  std::uint64_t stride = 1, seen = 0;  // keep one sample in `stride` once decimated
  std::uint64_t background = 0;
  State* prev = nullptr;
  State* next = nullptr;

  void add(Clock::time_point t, std::int64_t rss, std::int64_t heap) noexcept {
    peak = std::max(peak, rss);
    if (seen++ % stride != 0) return;
    if (size == capacity) {  // keep every other sample and halve the rate
      for (std::size_t i = 0; i < size / 2; ++i) samples[i] = samples[2 * i];
      size /= 2;
      stride *= 2;
    }
    samples[size++] = RssSample{t, rss, heap};
  }
};

namespace {

struct Sampler {
  std::mutex mutex;
  std::condition_variable cv;
  RssWindow::State* windows = nullptr;
  bool running = false;   // a sampler thread exists
  bool stopping = false;  // it has been asked to finish
  bool exiting = false;   // exit() has begun: no new thread
  pthread_t thread{};
};

Sampler* g_sampler = nullptr;
// The quick per-test readings: written by the sampler thread, read without the lock.
std::atomic<std::int64_t> g_latest{0};
std::atomic<std::int64_t> g_quick_peak{0};
std::atomic<bool> g_thread_alive{false};

void raise_quick_peak(std::int64_t v) noexcept {
  std::int64_t p = g_quick_peak.load(std::memory_order_relaxed);
  while (v > p && !g_quick_peak.compare_exchange_weak(p, v, std::memory_order_relaxed)) {
  }
}
pthread_once_t g_sampler_once = PTHREAD_ONCE_INIT;
alignas(Sampler) unsigned char g_sampler_storage[sizeof(Sampler)];

void stop_thread_locked(std::unique_lock<std::mutex>& lock);

void sampler_prepare_fork() noexcept { g_sampler->mutex.lock(); }
void sampler_parent_fork() noexcept { g_sampler->mutex.unlock(); }
void sampler_child_fork() noexcept {
  // Only the forking thread survives: there is no sampler thread in the child. The
  // condition variable may hold the state of a waiter that no longer exists.
  g_sampler->running = false;
  g_thread_alive.store(false);
  g_sampler->stopping = false;
  new (&g_sampler->cv) std::condition_variable();
  g_sampler->mutex.unlock();
}

void stop_at_exit() noexcept {
  std::unique_lock<std::mutex> lock(g_sampler->mutex);
  g_sampler->exiting = true;
  stop_thread_locked(lock);
}

void init_sampler() noexcept {
  // Never destroyed: the thread may outlive static destruction, so its state must too.
  g_sampler = new (g_sampler_storage) Sampler();
  pthread_atfork(sampler_prepare_fork, sampler_parent_fork, sampler_child_fork);
  std::atexit(stop_at_exit);
}

Sampler& sampler() noexcept {
  pthread_once(&g_sampler_once, init_sampler);
  return *g_sampler;
}

void* sampler_main(void*) noexcept {
  Uncounted guard;  // the thread allocates nothing, and must never be charged if it did
  Sampler& s = *g_sampler;
  std::unique_lock<std::mutex> lock(s.mutex);
  while (!s.stopping) {
    Clock::time_point due = Clock::time_point::max();
    for (auto* w = s.windows; w != nullptr; w = w->next) due = std::min(due, w->next_due);
    if (due == Clock::time_point::max()) {
      s.cv.wait(lock);
      continue;
    }
    if (s.cv.wait_until(lock, due) != std::cv_status::timeout && Clock::now() < due) continue;
    if (s.stopping) break;
    lock.unlock();
    const std::int64_t rss = current_rss_bytes();
    const std::int64_t heap = counters().live_bytes;  // a short lock, never the sampler's
    const Clock::time_point now = Clock::now();
    g_latest.store(rss, std::memory_order_relaxed);
    raise_quick_peak(rss);
    lock.lock();
    for (auto* w = s.windows; w != nullptr; w = w->next) {
      if (now >= w->next_due) {
        w->add(now, rss, heap);
        ++w->background;
        w->next_due = now + w->interval;
      } else {
        w->peak = std::max(w->peak, rss);
      }
    }
  }
  return nullptr;
}

void start_thread_locked(Sampler& s) noexcept {
  if (s.exiting) return;  // windows still open at exit keep their boundary readings
  s.stopping = false;
  g_latest.store(current_rss_bytes(), std::memory_order_relaxed);
  s.running = detail::start_quiet_thread(s.thread, sampler_main, nullptr, "memx-rss");
  g_thread_alive.store(s.running, std::memory_order_release);
}

void stop_thread_locked(std::unique_lock<std::mutex>& lock) {
  Sampler& s = *g_sampler;
  if (!s.running || s.stopping) return;
  s.stopping = true;
  s.cv.notify_all();
  const pthread_t thread = s.thread;
  lock.unlock();
  pthread_join(thread, nullptr);
  lock.lock();
  s.running = false;
  g_thread_alive.store(false, std::memory_order_release);
  s.stopping = false;
  // A window may have opened while we were joining: it needs a thread again.
  if (s.windows != nullptr) start_thread_locked(s);
}

}  // namespace

RssWindow::RssWindow(std::chrono::microseconds interval, std::size_t max_samples) {
  Uncounted guard;
  if (interval.count() <= 0) interval = sample_interval();
  max_samples = std::max<std::size_t>(max_samples, 2);
  void* mem = uncounted_malloc(sizeof(State));
  auto* samples = static_cast<RssSample*>(uncounted_malloc(max_samples * sizeof(RssSample)));
  if (mem == nullptr || samples == nullptr) {
    uncounted_free(mem);
    uncounted_free(samples);
    throw std::bad_alloc();
  }
  state_ = new (mem) State();
  state_->samples = samples;
  state_->capacity = max_samples;
  state_->interval = interval;
  const std::int64_t rss = current_rss_bytes();
  const std::int64_t heap = counters().live_bytes;
  const Clock::time_point now = Clock::now();

  Sampler& s = sampler();
  std::lock_guard<std::mutex> lock(s.mutex);
  state_->start = state_->end = state_->peak = rss;
  state_->add(now, rss, heap);
  state_->next_due = now + interval;
  state_->open = true;
  state_->next = s.windows;
  if (s.windows != nullptr) s.windows->prev = state_;
  s.windows = state_;
  if (!s.running) start_thread_locked(s);
  s.cv.notify_all();  // the new window may be due sooner than the thread's current wait
}

RssWindow::~RssWindow() {
  close();
  state_->~State();
  uncounted_free(state_->samples);
  uncounted_free(state_);
}

std::int64_t RssWindow::start_bytes() const noexcept {
  std::lock_guard<std::mutex> lock(sampler().mutex);
  return state_->start;
}

std::int64_t RssWindow::peak_bytes() const noexcept {
  const std::int64_t rss = state_->open ? current_rss_bytes() : 0;
  std::lock_guard<std::mutex> lock(sampler().mutex);
  if (state_->open) state_->peak = std::max(state_->peak, rss);
  return state_->peak;
}

std::int64_t RssWindow::end_bytes() const noexcept {
  if (state_->open) return current_rss_bytes();
  std::lock_guard<std::mutex> lock(sampler().mutex);
  return state_->end;
}

Timeline RssWindow::timeline() const {
  Uncounted guard;
  std::lock_guard<std::mutex> lock(sampler().mutex);
  return Timeline(state_->samples, state_->samples + state_->size);
}

std::uint64_t RssWindow::background_samples() const noexcept {
  std::lock_guard<std::mutex> lock(sampler().mutex);
  return state_->background;
}

void RssWindow::close() noexcept {
  if (!state_->open) return;  // only the owner closes: no race on `open` with itself
  const std::int64_t rss = current_rss_bytes();
  const std::int64_t heap = counters().live_bytes;
  const Clock::time_point now = Clock::now();
  Sampler& s = sampler();
  std::unique_lock<std::mutex> lock(s.mutex);
  state_->end = rss;
  state_->stride = 1;  // the closing sample is always kept
  state_->seen = 0;
  state_->add(now, rss, heap);
  state_->open = false;
  if (state_->prev != nullptr) state_->prev->next = state_->next; else s.windows = state_->next;
  if (state_->next != nullptr) state_->next->prev = state_->prev;
  state_->prev = state_->next = nullptr;
  if (s.windows == nullptr) stop_thread_locked(lock);
}

void RssWindow::restart() noexcept {
  if (!state_->open) return;
  const Clock::time_point now = Clock::now();
  std::lock_guard<std::mutex> lock(sampler().mutex);
  state_->size = 0;
  state_->stride = 1;
  state_->seen = 0;
  state_->background = 0;
  state_->next_due = now + state_->interval;
}

bool rss_sampler_running() noexcept {
  Sampler& s = sampler();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.running;
}

std::int64_t rss_latest_bytes() noexcept {
  if (g_thread_alive.load(std::memory_order_acquire)) {
    const std::int64_t v = g_latest.load(std::memory_order_relaxed);
    if (v > 0) return v;
  }
  return current_rss_bytes();
}

std::int64_t rss_quick_peak_restart() noexcept {
  const std::int64_t v = rss_latest_bytes();
  g_quick_peak.store(v, std::memory_order_relaxed);
  return v;
}

std::int64_t rss_quick_peak(std::int64_t also) noexcept {
  raise_quick_peak(also);
  return g_quick_peak.load(std::memory_order_relaxed);
}

}  // namespace memx
