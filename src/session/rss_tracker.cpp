// The RSS tracker of rss_tracker.hpp: one pthread (std::thread would allocate), atomics.
#include "session/rss_tracker.hpp"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "memx/config.hpp"
#include "memx/rss.hpp"
#include "memx/uncounted.hpp"

namespace memx::detail {
namespace {

std::atomic<std::int64_t> g_latest{0};
std::atomic<std::int64_t> g_peak{0};
std::atomic<bool> g_running{false};
std::atomic<bool> g_stop{false};
std::atomic<long> g_interval_ns{10'000'000};
std::mutex g_control;  // start/stop
pthread_t g_thread{};

void raise_peak(std::int64_t v) noexcept {
  std::int64_t p = g_peak.load(std::memory_order_relaxed);
  while (v > p && !g_peak.compare_exchange_weak(p, v, std::memory_order_relaxed)) {
  }
}

void* sampler(void*) noexcept {
  Uncounted guard;
  while (!g_stop.load(std::memory_order_acquire)) {
    const std::int64_t v = current_rss_bytes();
    g_latest.store(v, std::memory_order_relaxed);
    raise_peak(v);
    const long ns = g_interval_ns.load(std::memory_order_relaxed);
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), ns % 1'000'000'000};
    ::nanosleep(&ts, nullptr);
  }
  return nullptr;
}

}  // namespace

void rss_tracker_start(std::chrono::microseconds interval) {
  std::lock_guard<std::mutex> lock(g_control);
  if (g_running.load()) return;
  if (interval.count() <= 0) interval = sample_interval();
  g_interval_ns.store(static_cast<long>(interval.count()) * 1000);
  const std::int64_t v = current_rss_bytes();
  g_latest.store(v);
  g_peak.store(v);
  g_stop.store(false);
  g_running.store(::pthread_create(&g_thread, nullptr, sampler, nullptr) == 0);
}

void rss_tracker_stop() noexcept {
  std::lock_guard<std::mutex> lock(g_control);
  if (!g_running.load()) return;
  g_stop.store(true, std::memory_order_release);
  ::pthread_join(g_thread, nullptr);
  g_running.store(false);
}

std::int64_t rss_tracker_restart_peak() noexcept {
  const std::int64_t v =
      g_running.load(std::memory_order_relaxed) ? g_latest.load(std::memory_order_relaxed) : current_rss_bytes();
  g_peak.store(v, std::memory_order_relaxed);
  return v;
}

std::int64_t rss_tracker_peak(std::int64_t also) noexcept {
  raise_peak(also);
  return g_peak.load(std::memory_order_relaxed);
}

}  // namespace memx::detail
